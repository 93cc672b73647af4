//! From sqlparser's AST to a type-checked expression ([`Typed`]): resolves
//! columns, checks operand types, inserts casts and folds constants.
//! Messages name the SQL they are about; the caller adds which expectation.

use arrow_array::{Array, StringArray};
use arrow_schema::{DataType, Schema};
use sqlparser::ast::{
    BinaryOperator, CaseWhen, Expr, TrimWhereField, UnaryOperator, Value as SqlValue,
};

use crate::coerce::{self, cast, expect, null_const, unify};
use crate::eval::{Batch, eval};
use crate::typed::{ArithOp, CmpOp, Node, Typed};
use crate::types::{self, Family, sql_name};

/// Deeper expressions are rejected: planning and evaluation recurse once per
/// level, and the component's stack is small.
pub const MAX_DEPTH: usize = 128;

pub struct Planner<'a> {
    schema: &'a Schema,
}

impl<'a> Planner<'a> {
    pub fn new(schema: &'a Schema) -> Self {
        Planner { schema }
    }

    pub fn plan(&self, expr: &Expr) -> Result<Typed, String> {
        self.expr(expr, 0)
    }

    // The SQL text of a node is rendered after its operands are planned, so
    // that an over-deep expression is rejected before anything recurses
    // through all of it.
    pub fn expr(&self, e: &Expr, depth: usize) -> Result<Typed, String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "the expression nests more than {MAX_DEPTH} levels deep"
            ));
        }
        let d = depth + 1;
        // Chains of binary operators are the one nesting sqlparser does not
        // bound: they take this short path with small stack frames.
        match e {
            Expr::BinaryOp { left, op, right } => self.binary(left, op, right, d, e),
            Expr::Nested(inner) => self.expr(inner, d),
            other => self.node(other, d),
        }
    }

    // Everything but binary operators; not inlined into `expr`, whose frame
    // every level of an operator chain pays for.
    #[inline(never)]
    fn node(&self, e: &Expr, d: usize) -> Result<Typed, String> {
        match e {
            Expr::Identifier(ident) => self.column(&ident.value),
            Expr::CompoundIdentifier(parts) => Err(format!(
                "qualified names such as `{}` are not supported; quote a column name that contains a dot",
                parts
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(".")
            )),
            Expr::Nested(inner) => self.expr(inner, d),
            Expr::Value(v) => {
                let value = coerce::literal(&v.value)?;
                let ty = value.data_type().clone();
                Ok(Typed::new(Node::Const(value), ty, e.to_string()))
            }
            Expr::TypedString(ts) => {
                let ty = coerce::sql_type(&ts.data_type)?;
                let text = match &ts.value.value {
                    SqlValue::SingleQuotedString(s) => s.clone(),
                    other => return Err(format!("`{e}`: expected a quoted string, got {other}")),
                };
                let quoted = format!("'{}'", text.replace('\'', "''"));
                let value = Typed::new(
                    Node::Const(std::sync::Arc::new(StringArray::from(vec![text]))),
                    DataType::Utf8,
                    quoted,
                );
                let mut typed = cast(value, &ty)?;
                typed.sql = e.to_string();
                Ok(typed)
            }
            Expr::IsNull(x) | Expr::IsNotNull(x) => {
                let input = Box::new(self.expr(x, d)?);
                let negated = matches!(e, Expr::IsNotNull(_));
                self.make(Node::IsNull { input, negated }, DataType::Boolean, e)
            }
            Expr::IsTrue(x) | Expr::IsNotTrue(x) | Expr::IsFalse(x) | Expr::IsNotFalse(x) => {
                let input = Box::new(self.boolean(x, d, "the operand of IS TRUE / IS FALSE")?);
                let value = matches!(e, Expr::IsTrue(_) | Expr::IsNotTrue(_));
                let negated = matches!(e, Expr::IsNotTrue(_) | Expr::IsNotFalse(_));
                self.make(
                    Node::Truth {
                        input,
                        value,
                        negated,
                    },
                    DataType::Boolean,
                    e,
                )
            }
            Expr::IsUnknown(x) | Expr::IsNotUnknown(x) => {
                let input = Box::new(self.boolean(x, d, "the operand of IS UNKNOWN")?);
                let negated = matches!(e, Expr::IsNotUnknown(_));
                self.make(Node::IsNull { input, negated }, DataType::Boolean, e)
            }
            Expr::IsDistinctFrom(a, b) => self.compare(CmpOp::Distinct, a, b, d, e),
            Expr::IsNotDistinctFrom(a, b) => self.compare(CmpOp::NotDistinct, a, b, d, e),
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let mut items = vec![self.expr(expr, d)?];
                for item in list {
                    items.push(self.expr(item, d)?);
                }
                let (mut items, ty) = unify(items)?;
                if ty == DataType::Null {
                    return Ok(null_const(&DataType::Boolean, e.to_string()));
                }
                let input = Box::new(items.remove(0));
                let node = Node::InList {
                    input,
                    list: items,
                    negated: *negated,
                };
                self.make(node, DataType::Boolean, e)
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let items = vec![self.expr(expr, d)?, self.expr(low, d)?, self.expr(high, d)?];
                let (items, ty) = unify(items)?;
                if ty == DataType::Null {
                    return Ok(null_const(&DataType::Boolean, e.to_string()));
                }
                let [input, low, high] = boxed3(items)?;
                let node = Node::Between {
                    input,
                    low,
                    high,
                    negated: *negated,
                };
                self.make(node, DataType::Boolean, e)
            }
            Expr::UnaryOp { op, expr } => self.unary(op, expr, d, e),
            Expr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | Expr::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any {
                    return Err(format!("`{e}`: LIKE ANY is not supported"));
                }
                if let Some(esc) = escape_char {
                    // Arrow's LIKE escapes with a backslash and nothing else.
                    if !matches!(&esc.value, SqlValue::SingleQuotedString(s) if s == "\\") {
                        return Err(format!("`{e}`: only ESCAPE '\\' is supported"));
                    }
                }
                let case_insensitive = matches!(e, Expr::ILike { .. });
                self.like(expr, pattern, *negated, case_insensitive, d, e)
            }
            Expr::RLike {
                negated,
                expr,
                pattern,
                ..
            } => {
                let input = self.string(expr, d, "the operand of RLIKE")?;
                let pattern = self.string(pattern, d, "the pattern of RLIKE")?;
                self.regex(input, pattern, None, *negated, e)
            }
            Expr::Cast {
                expr,
                data_type,
                array: false,
                format: None,
                ..
            } => {
                let to = coerce::sql_type(data_type)?;
                let input = self.expr(expr, d)?;
                let mut typed = cast(input, &to)?;
                typed.sql = e.to_string();
                Ok(typed)
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand.as_deref(), conditions, else_result.as_deref(), d, e),
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let Some(from) = substring_from else {
                    return Err(format!("`{e}`: SUBSTRING needs a start position"));
                };
                let input = self.expr(expr, d)?;
                let start = self.expr(from, d)?;
                let count = substring_for
                    .as_deref()
                    .map(|c| self.expr(c, d))
                    .transpose()?;
                self.substring(input, start, count, e)
            }
            Expr::Trim {
                trim_where,
                trim_what,
                expr,
                trim_characters,
            } => {
                let (leading, trailing) = match trim_where {
                    None | Some(TrimWhereField::Both) => (true, true),
                    Some(TrimWhereField::Leading) => (true, false),
                    Some(TrimWhereField::Trailing) => (false, true),
                };
                let chars = match (trim_what, trim_characters.as_deref()) {
                    (Some(what), None) => Some(self.expr(what, d)?),
                    (None, Some([what])) => Some(self.expr(what, d)?),
                    (None, None) => None,
                    _ => return Err(format!("`{e}`: give the characters to trim once")),
                };
                let input = self.expr(expr, d)?;
                self.trim(input, chars, leading, trailing, e)
            }
            Expr::Function(f) => self.function(f, d, e),
            other => Err(format!("`{other}` is not supported")),
        }
    }

    fn column(&self, name: &str) -> Result<Typed, String> {
        let Ok(index) = self.schema.index_of(name) else {
            let available: Vec<&str> = self
                .schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            return Err(format!(
                "unknown column `{name}`; the input has {}",
                available.join(", ")
            ));
        };
        let field = self.schema.field(index);
        let ty = types::eval_type(field.data_type()).ok_or_else(|| {
            format!(
                "column `{name}` has type {}, which expressions cannot use",
                field.data_type()
            )
        })?;
        let sql = if is_plain_identifier(name) {
            name.to_string()
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        };
        Ok(Typed::new(Node::Column(index), ty, sql))
    }

    /// Builds a node, folding it into a constant when all its operands are.
    pub fn make(&self, node: Node, ty: DataType, e: &Expr) -> Result<Typed, String> {
        let typed = Typed::new(node, ty, e.to_string());
        let children = typed.children();
        if children.is_empty() || !children.iter().all(|c| c.is_const()) {
            return Ok(typed);
        }
        let batch = Batch {
            columns: &[],
            len: 1,
            memo: None,
        };
        let value = eval(&typed, &batch)
            .and_then(|v| v.into_array(1))
            .map_err(|err| format!("`{}`: {err}", typed.sql))?;
        Ok(Typed::new(Node::Const(value), typed.ty, typed.sql))
    }

    // On the AND/OR recursion path (see `logical`): kept a small frame.
    #[inline(never)]
    pub fn boolean(&self, e: &Expr, depth: usize, role: &str) -> Result<Typed, String> {
        expect(
            self.expr(e, depth)?,
            Family::Boolean,
            &DataType::Boolean,
            role,
        )
    }

    pub fn string(&self, e: &Expr, depth: usize, role: &str) -> Result<Typed, String> {
        expect(self.expr(e, depth)?, Family::String, &DataType::Utf8, role)
    }

    fn compare(&self, op: CmpOp, a: &Expr, b: &Expr, d: usize, e: &Expr) -> Result<Typed, String> {
        let (items, ty) = unify(vec![self.expr(a, d)?, self.expr(b, d)?])?;
        if ty == DataType::Null {
            let value = matches!(op, CmpOp::Distinct | CmpOp::NotDistinct)
                .then_some(op == CmpOp::NotDistinct);
            let array = arrow_array::BooleanArray::from(vec![value]);
            return Ok(Typed::new(
                Node::Const(std::sync::Arc::new(array)),
                DataType::Boolean,
                e.to_string(),
            ));
        }
        let [l, r] = boxed2(items)?;
        self.make(Node::Compare(op, l, r), DataType::Boolean, e)
    }

    // On every operator chain's recursion path: dispatches only.
    #[inline(never)]
    fn binary(
        &self,
        left: &Expr,
        op: &BinaryOperator,
        right: &Expr,
        d: usize,
        e: &Expr,
    ) -> Result<Typed, String> {
        let cmp = match op {
            BinaryOperator::Eq => Some(CmpOp::Eq),
            BinaryOperator::NotEq => Some(CmpOp::NotEq),
            BinaryOperator::Lt => Some(CmpOp::Lt),
            BinaryOperator::LtEq => Some(CmpOp::LtEq),
            BinaryOperator::Gt => Some(CmpOp::Gt),
            BinaryOperator::GtEq => Some(CmpOp::GtEq),
            _ => None,
        };
        if let Some(cmp) = cmp {
            return self.compare(cmp, left, right, d, e);
        }
        let arith = match op {
            BinaryOperator::Plus => Some(ArithOp::Add),
            BinaryOperator::Minus => Some(ArithOp::Sub),
            BinaryOperator::Multiply => Some(ArithOp::Mul),
            BinaryOperator::Divide => Some(ArithOp::Div),
            BinaryOperator::Modulo => Some(ArithOp::Rem),
            _ => None,
        };
        if let Some(arith) = arith {
            return self.arith_expr(arith, left, right, d, e);
        }
        match op {
            BinaryOperator::And => self.logical(true, left, right, d, e),
            BinaryOperator::Or => self.logical(false, left, right, d, e),
            other => Err(format!("`{e}`: the operator {other} is not supported")),
        }
    }

    // Kept apart from `binary`, and holding only boxes while it recurses:
    // long AND/OR chains recurse through here once per operator.
    #[inline(never)]
    fn logical(
        &self,
        and: bool,
        left: &Expr,
        right: &Expr,
        d: usize,
        e: &Expr,
    ) -> Result<Typed, String> {
        let role = if and {
            "each operand of AND"
        } else {
            "each operand of OR"
        };
        let l = self.boolean_boxed(left, d, role)?;
        let r = self.boolean_boxed(right, d, role)?;
        let node = if and { Node::And(l, r) } else { Node::Or(l, r) };
        self.make(node, DataType::Boolean, e)
    }

    // Boxes as soon as the operand is planned, so `logical` holds pointers.
    #[inline(never)]
    fn boolean_boxed(&self, e: &Expr, depth: usize, role: &str) -> Result<Box<Typed>, String> {
        self.boolean(e, depth, role).map(Box::new)
    }

    // Chains of `+` recurse through here: kept out of `binary`.
    #[inline(never)]
    fn arith_expr(
        &self,
        op: ArithOp,
        left: &Expr,
        right: &Expr,
        d: usize,
        e: &Expr,
    ) -> Result<Typed, String> {
        let l = self.expr(left, d)?;
        let r = self.expr(right, d)?;
        self.arith(op, l, r, e)
    }

    /// Integers compute in BIGINT and `/` of integers in DOUBLE; a DOUBLE
    /// makes both sides DOUBLE; otherwise DECIMAL with Arrow's result
    /// precision and scale.
    pub fn arith(&self, op: ArithOp, l: Typed, r: Typed, e: &Expr) -> Result<Typed, String> {
        for side in [&l, &r] {
            if !(types::is_numeric(&side.ty) || side.ty == DataType::Null) {
                return Err(format!(
                    "`{e}`: arithmetic needs numbers, but `{}` is {}",
                    side.sql,
                    sql_name(&side.ty)
                ));
            }
        }
        let lt = if l.ty == DataType::Null { &r.ty } else { &l.ty };
        let rt = if r.ty == DataType::Null { &l.ty } else { &r.ty };
        let (lt, rt) = if *lt == DataType::Null {
            (DataType::Int64, DataType::Int64)
        } else if *lt == DataType::Float64 || *rt == DataType::Float64 {
            (DataType::Float64, DataType::Float64)
        } else if matches!(lt, DataType::Decimal128(..)) || matches!(rt, DataType::Decimal128(..)) {
            (decimal_operand(&l, lt), decimal_operand(&r, rt))
        } else if op == ArithOp::Div {
            (DataType::Float64, DataType::Float64)
        } else {
            (DataType::Int64, DataType::Int64)
        };
        let ty = crate::arith::result_type(op, &lt, &rt).map_err(|err| format!("`{e}`: {err}"))?;
        let (l, r) = (Box::new(cast(l, &lt)?), Box::new(cast(r, &rt)?));
        self.make(Node::Arith(op, l, r), ty, e)
    }

    fn unary(&self, op: &UnaryOperator, x: &Expr, d: usize, e: &Expr) -> Result<Typed, String> {
        match op {
            UnaryOperator::Not => {
                let input = Box::new(self.boolean(x, d, "the operand of NOT")?);
                self.make(Node::Not(input), DataType::Boolean, e)
            }
            UnaryOperator::Minus | UnaryOperator::Plus => {
                let input = expect(
                    self.expr(x, d)?,
                    Family::Numeric,
                    &DataType::Int64,
                    "the operand of a sign",
                )?;
                if *op == UnaryOperator::Plus {
                    return Ok(input);
                }
                let ty = input.ty.clone();
                self.make(Node::Neg(Box::new(input)), ty, e)
            }
            other => Err(format!("`{e}`: the operator {other} is not supported")),
        }
    }

    fn case(
        &self,
        operand: Option<&Expr>,
        conditions: &[CaseWhen],
        otherwise: Option<&Expr>,
        d: usize,
        e: &Expr,
    ) -> Result<Typed, String> {
        let (operand, whens) = match operand {
            Some(o) => {
                let mut items = vec![self.expr(o, d)?];
                for c in conditions {
                    items.push(self.expr(&c.condition, d)?);
                }
                let (mut items, ty) = unify(items)?;
                let operand = items.remove(0);
                if ty == DataType::Null {
                    // A NULL operand equals nothing: no WHEN holds.
                    let never = items
                        .iter()
                        .map(|w| null_const(&DataType::Boolean, w.sql.clone()));
                    (None, never.collect())
                } else {
                    (Some(Box::new(operand)), items)
                }
            }
            None => {
                let whens = conditions
                    .iter()
                    .map(|c| self.boolean(&c.condition, d, "a WHEN condition"))
                    .collect::<Result<Vec<_>, _>>()?;
                (None, whens)
            }
        };
        let mut results = conditions
            .iter()
            .map(|c| self.expr(&c.result, d))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(o) = otherwise {
            results.push(self.expr(o, d)?);
        }
        let (mut results, ty) = unify(results)?;
        if ty == DataType::Null {
            // Every result is NULL, so the CASE is.
            return Ok(null_const(&DataType::Null, e.to_string()));
        }
        let otherwise = otherwise.map(|_| Box::new(results.remove(results.len() - 1)));
        let branches = whens.into_iter().zip(results).collect();
        let node = Node::Case {
            operand,
            branches,
            otherwise,
        };
        self.make(node, ty, e)
    }
}

/// The DECIMAL an operand of decimal arithmetic is read as: integer
/// constants take just their digits, so `amount * 2` keeps a small precision.
fn decimal_operand(item: &Typed, ty: &DataType) -> DataType {
    if let (Some(c), true) = (item.constant(), types::is_integer(ty))
        && let Some(d) = coerce::integer_literal_decimal(c)
    {
        return d;
    }
    match types::integer_decimal(ty) {
        Some((p, s)) => DataType::Decimal128(p, s),
        None => ty.clone(),
    }
}

fn boxed2(items: Vec<Typed>) -> Result<[Box<Typed>; 2], String> {
    let mut it = items.into_iter().map(Box::new);
    match (it.next(), it.next()) {
        (Some(a), Some(b)) => Ok([a, b]),
        _ => Err("internal: expected two operands".into()),
    }
}

fn boxed3(items: Vec<Typed>) -> Result<[Box<Typed>; 3], String> {
    let mut it = items.into_iter().map(Box::new);
    match (it.next(), it.next(), it.next()) {
        (Some(a), Some(b), Some(c)) => Ok([a, b, c]),
        _ => Err("internal: expected three operands".into()),
    }
}

fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
