//! Literals, SQL type names and implicit casts: how operands of different
//! types are brought to one.
//!
//! A literal compared with a column takes the column's type when it fits
//! exactly (`amount >= 0` compares decimals, `order_date > '2026-01-01'`
//! compares dates): the cast happens once, at plan time, and the column is
//! read as it is. Otherwise both sides go to [`types::common`].

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array,
    NullArray, StringArray,
};
use arrow_cast::cast_with_options;
use arrow_schema::DataType;
use sqlparser::ast::{self, ExactNumberInfo, Value as SqlValue};

use crate::typed::{Node, Typed};
use crate::types::{self, Family, STRICT, sql_name};

/// A literal value of the AST.
pub fn literal(value: &SqlValue) -> Result<ArrayRef, String> {
    let array: ArrayRef = match value {
        SqlValue::Number(text, _) => number(text)?,
        SqlValue::SingleQuotedString(s)
        | SqlValue::EscapedStringLiteral(s)
        | SqlValue::UnicodeStringLiteral(s)
        | SqlValue::NationalStringLiteral(s)
        | SqlValue::TripleSingleQuotedString(s)
        | SqlValue::TripleDoubleQuotedString(s) => Arc::new(StringArray::from(vec![s.as_str()])),
        SqlValue::Boolean(b) => Arc::new(BooleanArray::from(vec![*b])),
        SqlValue::Null => Arc::new(NullArray::new(1)),
        other => return Err(format!("the literal `{other}` is not supported")),
    };
    Ok(array)
}

/// Integers are INT or BIGINT (DECIMAL(p,0) past that), numbers with a
/// point are exact DECIMALs, numbers with an exponent are DOUBLEs.
fn number(text: &str) -> Result<ArrayRef, String> {
    let too_long = || format!("the number {text} has more than 38 digits");
    if text.contains(['e', 'E']) {
        let v: f64 = text
            .parse()
            .map_err(|_| format!("`{text}` is not a number"))?;
        return Ok(Arc::new(Float64Array::from(vec![v])));
    }
    if let Some((int, frac)) = text.split_once('.') {
        let digits = format!("{int}{frac}");
        let unscaled: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| too_long())?
        };
        let scale = frac.len();
        let significant = int.trim_start_matches('0').len() + scale;
        let precision = significant.max(scale).max(1);
        if precision > 38 {
            return Err(too_long());
        }
        let (p, s) = (
            u8::try_from(precision).map_err(|_| too_long())?,
            i8::try_from(scale).map_err(|_| too_long())?,
        );
        let array = Decimal128Array::from(vec![unscaled])
            .with_precision_and_scale(p, s)
            .map_err(|e| e.to_string())?;
        return Ok(Arc::new(array));
    }
    if let Ok(v) = text.parse::<i32>() {
        return Ok(Arc::new(Int32Array::from(vec![v])));
    }
    if let Ok(v) = text.parse::<i64>() {
        return Ok(Arc::new(Int64Array::from(vec![v])));
    }
    let v: i128 = text.parse().map_err(|_| too_long())?;
    let digits = u8::try_from(text.trim_start_matches('0').len()).map_err(|_| too_long())?;
    if digits > 38 {
        return Err(too_long());
    }
    let array = Decimal128Array::from(vec![v])
        .with_precision_and_scale(digits, 0)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(array))
}

/// The smallest DECIMAL that holds an integer constant: `amount > 5` then
/// compares as DECIMAL without widening `amount`.
pub fn integer_literal_decimal(c: &ArrayRef) -> Option<DataType> {
    let v = cast_with_options(c, &DataType::Int64, &STRICT).ok()?;
    let v = v.as_any().downcast_ref::<Int64Array>()?;
    if v.is_null(0) {
        return None;
    }
    let digits = v.value(0).unsigned_abs().checked_ilog10().unwrap_or(0) + 1;
    Some(DataType::Decimal128(u8::try_from(digits).ok()?, 0))
}

const TYPE_NAMES: &str =
    "INT, BIGINT, DOUBLE, DECIMAL(p,s), STRING, VARCHAR, DATE, TIMESTAMP, BOOLEAN";

/// The Arrow type of a SQL type name in `CAST` or a typed literal.
pub fn sql_type(dt: &ast::DataType) -> Result<DataType, String> {
    use ast::DataType as D;
    let ty = match dt {
        D::Int(_)
        | D::Integer(_)
        | D::Int4(_)
        | D::Int32
        | D::SmallInt(_)
        | D::Int2(_)
        | D::TinyInt(_)
        | D::MediumInt(_) => DataType::Int32,
        D::BigInt(_) | D::Int8(_) | D::Int64 => DataType::Int64,
        D::Double(_)
        | D::DoublePrecision
        | D::Float8
        | D::Float64
        | D::Float(_)
        | D::Real
        | D::Float4
        | D::Float32 => DataType::Float64,
        D::Decimal(info) | D::Numeric(info) | D::Dec(info) => decimal_type(info)?,
        D::Varchar(_)
        | D::Nvarchar(_)
        | D::String(_)
        | D::Text
        | D::Char(_)
        | D::Character(_)
        | D::CharVarying(_)
        | D::CharacterVarying(_) => DataType::Utf8,
        D::Date => DataType::Date32,
        D::Timestamp(..) | D::Datetime(_) | D::TimestampNtz(_) => types::timestamp(),
        D::Bool | D::Boolean => DataType::Boolean,
        other => {
            return Err(format!(
                "the type `{other}` is not supported; use one of {TYPE_NAMES}"
            ));
        }
    };
    Ok(ty)
}

fn decimal_type(info: &ExactNumberInfo) -> Result<DataType, String> {
    // Spark's default when no precision is given.
    let (p, s) = match info {
        ExactNumberInfo::None => (10, 0),
        ExactNumberInfo::Precision(p) => (*p, 0),
        ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
    };
    let bad = || {
        format!("DECIMAL({p},{s}): the precision must be 1 to 38 and the scale 0 to the precision")
    };
    let precision = u8::try_from(p).map_err(|_| bad())?;
    let scale = i8::try_from(s).map_err(|_| bad())?;
    if !(1..=38).contains(&precision) || scale < 0 || i16::from(scale) > i16::from(precision) {
        return Err(bad());
    }
    Ok(DataType::Decimal128(precision, scale))
}

/// A constant cast to `to` when the cast loses nothing (it casts back to the
/// same value); only within one family, so `TRUE` never becomes `1`.
pub fn exact_cast(c: &ArrayRef, to: &DataType) -> Option<ArrayRef> {
    let from = c.data_type();
    if types::family(from) != types::family(to) {
        return None;
    }
    let v = cast_with_options(c, to, &STRICT).ok()?;
    let back = cast_with_options(&v, from, &STRICT).ok()?;
    let same = arrow_ord::cmp::not_distinct(&back, c).ok()?;
    (same.true_count() == same.len()).then_some(v)
}

/// Whether a constant can take type `t` without widening it.
fn fits(c: &Typed, t: &DataType) -> bool {
    let Some(value) = c.constant() else {
        return false;
    };
    c.ty == *t
        || c.ty == DataType::Null
        || (c.ty == DataType::Utf8 && types::is_temporal(t))
        || exact_cast(value, t).is_some()
}

fn mismatch(a: &Typed, b: &Typed) -> String {
    format!(
        "cannot compare `{}` ({}) with `{}` ({})",
        a.sql,
        sql_name(&a.ty),
        b.sql,
        sql_name(&b.ty)
    )
}

/// Brings operands that are compared with each other (or are alternative
/// results) to one type, which it returns with them.
pub fn unify(items: Vec<Typed>) -> Result<(Vec<Typed>, DataType), String> {
    let mut target: Option<(DataType, usize)> = None;
    for (i, item) in items.iter().enumerate() {
        if item.is_const() {
            continue;
        }
        target = Some(match target {
            None => (item.ty.clone(), i),
            Some((t, anchor)) => {
                let merged =
                    types::common(&t, &item.ty).ok_or_else(|| mismatch(&items[anchor], item))?;
                (merged, anchor)
            }
        });
    }
    // Other constants first, so that in `'2026-01-01' = DATE '2026-01-01'`
    // the string is read as a date.
    let mut consts: Vec<usize> = (0..items.len()).filter(|i| items[*i].is_const()).collect();
    consts.sort_by_key(|i| items[*i].ty == DataType::Utf8);
    for i in consts {
        let item = &items[i];
        target = Some(match target {
            None => (item.ty.clone(), i),
            Some((t, anchor)) if fits(item, &t) => (t, anchor),
            Some((t, anchor)) => {
                let merged =
                    types::common(&t, &item.ty).ok_or_else(|| mismatch(&items[anchor], item))?;
                (merged, anchor)
            }
        });
    }
    let target = target.map(|(t, _)| t).unwrap_or(DataType::Null);
    let items = items
        .into_iter()
        .map(|item| cast(item, &target))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, target))
}

/// `item` as type `to`: constants are cast now (a value that does not fit is
/// an error), anything else gets a cast node.
pub fn cast(item: Typed, to: &DataType) -> Result<Typed, String> {
    if item.ty == *to {
        return Ok(item);
    }
    if let Some(value) = item.constant() {
        let cast = match exact_cast(value, to) {
            Some(v) => Ok(v),
            None => cast_with_options(value, to, &STRICT),
        };
        return match cast {
            Ok(v) => Ok(Typed::new(Node::Const(v), to.clone(), item.sql)),
            Err(e) if item.ty == DataType::Utf8 => {
                Err(format!("cannot read {} as {}: {e}", item.sql, sql_name(to)))
            }
            Err(e) => Err(format!("`{}` does not fit {}: {e}", item.sql, sql_name(to))),
        };
    }
    if !arrow_cast::can_cast_types(&item.ty, to) {
        return Err(format!(
            "`{}` ({}) cannot be cast to {}",
            item.sql,
            sql_name(&item.ty),
            sql_name(to)
        ));
    }
    let sql = item.sql.clone();
    Ok(Typed::new(Node::Cast(Box::new(item)), to.clone(), sql))
}

/// Requires a type family of an operand, e.g. BOOLEAN for `AND`; a NULL
/// constant takes the wanted type.
pub fn expect(item: Typed, family: Family, wanted: &DataType, role: &str) -> Result<Typed, String> {
    match types::family(&item.ty) {
        Some(f) if f == family => Ok(item),
        Some(Family::Null) => cast(item, wanted),
        _ => Err(format!(
            "{role} must be {}, but `{}` is {}",
            if family == Family::Numeric {
                "a number".to_string()
            } else {
                sql_name(wanted)
            },
            item.sql,
            sql_name(&item.ty)
        )),
    }
}

/// A NULL of `ty` standing for every row.
pub fn null_const(ty: &DataType, sql: String) -> Typed {
    Typed::new(
        Node::Const(arrow_array::new_null_array(ty, 1)),
        ty.clone(),
        sql,
    )
}
