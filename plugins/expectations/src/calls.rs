//! Function calls: `length`, `lower`, `upper`, `trim` and friends,
//! `substring`, `regexp_like`, `coalesce`.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_schema::DataType;
use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectNamePart,
};

use crate::coerce::{null_const, unify};
use crate::planner::Planner;
use crate::typed::{CaseMap, Node, Typed};

const FUNCTIONS: &str = "length (char_length), lower, upper, trim, ltrim, rtrim, substring (substr), \
                         regexp_like, coalesce";

impl Planner<'_> {
    pub(crate) fn function(&self, f: &Function, d: usize, e: &Expr) -> Result<Typed, String> {
        let name = match f.name.0.as_slice() {
            [ObjectNamePart::Identifier(ident)] => ident.value.to_lowercase(),
            _ => {
                return Err(format!(
                    "unknown function `{}`; supported: {FUNCTIONS}",
                    f.name
                ));
            }
        };
        if f.filter.is_some()
            || f.over.is_some()
            || f.null_treatment.is_some()
            || !f.within_group.is_empty()
            || !matches!(f.parameters, FunctionArguments::None)
        {
            return Err(format!("`{e}`: only plain function calls are supported"));
        }
        let args = arguments(f, e)?;
        let arity = |min: usize, max: usize| -> Result<(), String> {
            if (min..=max).contains(&args.len()) {
                return Ok(());
            }
            let wanted = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            Err(format!(
                "`{e}`: {name} takes {wanted} arguments, got {}",
                args.len()
            ))
        };
        match name.as_str() {
            "length" | "char_length" | "character_length" => {
                arity(1, 1)?;
                let s = self.string(args[0], d, "the argument of length")?;
                self.make(Node::Length(Box::new(s)), DataType::Int32, e)
            }
            "lower" | "upper" => {
                arity(1, 1)?;
                let s = self.string(args[0], d, &format!("the argument of {name}"))?;
                let map = if name == "lower" {
                    CaseMap::Lower
                } else {
                    CaseMap::Upper
                };
                self.make(Node::CaseMap(map, Box::new(s)), DataType::Utf8, e)
            }
            "trim" | "btrim" | "ltrim" | "rtrim" => {
                arity(1, 2)?;
                let input = self.expr(args[0], d)?;
                let chars = args.get(1).map(|c| self.expr(c, d)).transpose()?;
                self.trim(input, chars, name != "rtrim", name != "ltrim", e)
            }
            "substring" | "substr" => {
                arity(2, 3)?;
                let input = self.expr(args[0], d)?;
                let start = self.expr(args[1], d)?;
                let count = args.get(2).map(|c| self.expr(c, d)).transpose()?;
                self.substring(input, start, count, e)
            }
            "regexp_like" => {
                arity(2, 3)?;
                let input = self.string(args[0], d, "the string of regexp_like")?;
                let pattern = self.string(args[1], d, "the pattern of regexp_like")?;
                let flags = match args.get(2) {
                    None => None,
                    Some(f) => {
                        let f = self.string(f, d, "the flags of regexp_like")?;
                        let Some(value) = f.constant() else {
                            return Err(format!(
                                "`{e}`: the flags of regexp_like must be a constant"
                            ));
                        };
                        let value = value.as_string::<i32>();
                        if value.is_null(0) {
                            return Ok(null_const(&DataType::Boolean, e.to_string()));
                        }
                        Some(value.value(0).to_string()).filter(|f| !f.is_empty())
                    }
                };
                self.regex(input, pattern, flags, false, e)
            }
            "coalesce" => {
                arity(1, usize::MAX)?;
                let items = args
                    .iter()
                    .map(|a| self.expr(a, d))
                    .collect::<Result<Vec<_>, _>>()?;
                let (items, ty) = unify(items)?;
                if ty == DataType::Null {
                    return Ok(null_const(&DataType::Null, e.to_string()));
                }
                self.make(Node::Coalesce(items), ty, e)
            }
            _ => Err(format!("unknown function `{name}`; supported: {FUNCTIONS}")),
        }
    }
}

fn arguments<'e>(f: &'e Function, e: &Expr) -> Result<Vec<&'e Expr>, String> {
    let list = match &f.args {
        FunctionArguments::List(list) => list,
        FunctionArguments::None => return Ok(Vec::new()),
        FunctionArguments::Subquery(_) => {
            return Err(format!("`{e}`: subqueries are not supported"));
        }
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return Err(format!("`{e}`: only plain function calls are supported"));
    }
    list.args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Ok(x),
            _ => Err(format!("`{e}`: only plain arguments are supported")),
        })
        .collect()
}
