//! String operators and function calls: `LIKE`, regular expressions,
//! `length`, `lower`, `upper`, `trim` and friends, `substring`, `coalesce`.

use arrow_array::cast::AsArray;
use arrow_array::{Array, StringArray};
use arrow_schema::DataType;
use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectNamePart,
};

use crate::coerce::{cast, expect, null_const, unify};
use crate::planner::Planner;
use crate::typed::{CaseMap, Node, Typed};
use crate::types::{self, Family, sql_name};

const FUNCTIONS: &str = "length (char_length), lower, upper, trim, ltrim, rtrim, substring (substr), \
                         regexp_like, coalesce";

impl Planner<'_> {
    pub fn function(&self, f: &Function, d: usize, e: &Expr) -> Result<Typed, String> {
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

/// String operators and functions that are syntax of their own.
impl Planner<'_> {
    pub fn like(
        &self,
        x: &Expr,
        pattern: &Expr,
        negated: bool,
        case_insensitive: bool,
        d: usize,
        e: &Expr,
    ) -> Result<Typed, String> {
        let input = self.string(x, d, "the operand of LIKE")?;
        let pattern = self.string(pattern, d, "the pattern of LIKE")?;
        if let Some(p) = pattern.constant() {
            // Checks the pattern now rather than on the first batch.
            let none = StringArray::from(Vec::<&str>::new());
            arrow_string::like::like(&none, &arrow_array::Scalar::new(p.clone()))
                .map_err(|err| format!("`{e}`: {err}"))?;
        }
        let node = Node::Like {
            input: Box::new(input),
            pattern: Box::new(pattern),
            negated,
            case_insensitive,
        };
        self.make(node, DataType::Boolean, e)
    }

    pub fn regex(
        &self,
        input: Typed,
        pattern: Typed,
        flags: Option<String>,
        negated: bool,
        e: &Expr,
    ) -> Result<Typed, String> {
        if let Some(p) = pattern.constant() {
            let p = p.as_string::<i32>();
            if p.is_valid(0) {
                // Compiles the expression now, so that a bad one is an options error.
                let none = StringArray::from(Vec::<&str>::new());
                crate::functions::regexp_const(&none, p.value(0), flags.as_deref())
                    .map_err(|err| format!("`{e}`: {err}"))?;
            }
        }
        let node = Node::Regex {
            input: Box::new(input),
            pattern: Box::new(pattern),
            flags,
            negated,
        };
        self.make(node, DataType::Boolean, e)
    }

    pub fn substring(
        &self,
        input: Typed,
        start: Typed,
        count: Option<Typed>,
        e: &Expr,
    ) -> Result<Typed, String> {
        let input = expect(
            input,
            Family::String,
            &DataType::Utf8,
            "the string of SUBSTRING",
        )?;
        let start = integer(start, "the start of SUBSTRING")?;
        let count = count
            .map(|c| integer(c, "the length of SUBSTRING"))
            .transpose()?;
        if let Some(c) = count.as_ref().and_then(Typed::constant) {
            let c = c.as_primitive::<arrow_array::types::Int64Type>();
            if c.is_valid(0) && c.value(0) < 0 {
                return Err(format!("`{e}`: the length must not be negative"));
            }
        }
        let node = Node::Substring {
            input: Box::new(input),
            start: Box::new(start),
            len: count.map(Box::new),
        };
        self.make(node, DataType::Utf8, e)
    }

    pub fn trim(
        &self,
        input: Typed,
        chars: Option<Typed>,
        leading: bool,
        trailing: bool,
        e: &Expr,
    ) -> Result<Typed, String> {
        let input = expect(input, Family::String, &DataType::Utf8, "the string of TRIM")?;
        let chars = match chars {
            // SQL trims spaces by default (not tabs or newlines).
            None => vec![' '],
            Some(c) => {
                let c = expect(c, Family::String, &DataType::Utf8, "the characters of TRIM")?;
                let Some(value) = c.constant() else {
                    return Err(format!("`{e}`: the characters to trim must be a constant"));
                };
                let value = value.as_string::<i32>();
                if value.is_null(0) {
                    return Ok(null_const(&DataType::Utf8, e.to_string()));
                }
                value.value(0).chars().collect()
            }
        };
        let node = Node::Trim {
            input: Box::new(input),
            chars,
            leading,
            trailing,
        };
        self.make(node, DataType::Utf8, e)
    }
}

/// An integer operand as BIGINT.
fn integer(item: Typed, role: &str) -> Result<Typed, String> {
    if types::is_integer(&item.ty) || item.ty == DataType::Null {
        return cast(item, &DataType::Int64);
    }
    Err(format!(
        "{role} must be an integer, but `{}` is {}",
        item.sql,
        sql_name(&item.ty)
    ))
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
