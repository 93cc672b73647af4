//! Runs a type-checked expression over a whole batch with Arrow kernels.
//! Every operator sees whole columns (or a scalar standing for every row);
//! nothing here loops over rows except through `functions` and `arith`,
//! which say where they must.

use std::sync::Arc;

use arrow_arith::boolean::{and_kleene, is_not_null, is_null, not, or_kleene};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, Datum};
use arrow_cast::cast_with_options;
use arrow_ord::cmp;
use arrow_schema::ArrowError;
use arrow_select::filter::prep_null_mask_filter;
use arrow_select::zip::zip;

use crate::arith;
use crate::functions;
use crate::text_match::TextSet;
use crate::typed::{CmpOp, Node, Typed};
use crate::types::SAFE;
use crate::value::Value;

/// The batch being evaluated: `columns[i]` is input column `i` at its
/// evaluation type, present for the columns the expressions read.
pub struct Batch<'a> {
    pub columns: &'a [Option<ArrayRef>],
    pub len: usize,
    /// Where several expressions are evaluated over one batch, the
    /// comparisons they share are computed once.
    pub memo: Option<&'a Memo>,
}

/// The results of comparisons between columns and literals over one batch,
/// by their SQL: data-quality rules repeat such guards (five of the seed's
/// order rules begin `operation = 'DELETE' OR`). The SQL names the columns
/// and literals, so within one batch the same text is the same result.
#[derive(Default)]
pub struct Memo(std::cell::RefCell<std::collections::HashMap<String, Value>>);

fn column_or_literal(expr: &Typed) -> bool {
    match &expr.node {
        Node::Column(_) | Node::Const(_) => true,
        Node::Cast(x) => column_or_literal(x),
        _ => false,
    }
}

/// Evaluates `expr` over `batch`.
pub fn eval(expr: &Typed, batch: &Batch<'_>) -> Result<Value, ArrowError> {
    let len = batch.len;
    match &expr.node {
        Node::Column(i) => batch
            .columns
            .get(*i)
            .and_then(Clone::clone)
            .map(Value::Array)
            .ok_or_else(|| ArrowError::ComputeError(format!("column {i} was not prepared"))),
        Node::Const(a) => Value::scalar(a.clone()),
        Node::Cast(x) => eval(x, batch)?.map(|a| cast_with_options(a, &expr.ty, &SAFE)),
        Node::Not(x) => {
            let v = eval(x, batch)?;
            v.map(|a| Ok(Arc::new(not(booleans(a)?)?)))
        }
        Node::And(a, b) => logical(eval(a, batch)?, eval(b, batch)?, len, and_kleene),
        Node::Or(a, b) => logical(eval(a, batch)?, eval(b, batch)?, len, or_kleene),
        Node::Compare(op, a, b) => {
            let memo = batch
                .memo
                .filter(|_| column_or_literal(a) && column_or_literal(b));
            if let Some(known) = memo.and_then(|m| m.0.borrow().get(&expr.sql).cloned()) {
                return Ok(known);
            }
            let value = compare(*op, &eval(a, batch)?, &eval(b, batch)?)?;
            if let Some(memo) = memo {
                memo.0.borrow_mut().insert(expr.sql.clone(), value.clone());
            }
            Ok(value)
        }
        Node::Between {
            input,
            low,
            high,
            negated,
        } => {
            let x = eval(input, batch)?;
            let above = compare(CmpOp::GtEq, &x, &eval(low, batch)?)?;
            let below = compare(CmpOp::LtEq, &x, &eval(high, batch)?)?;
            negate_if(logical(above, below, len, and_kleene)?, *negated)
        }
        Node::InList {
            input,
            list,
            negated,
        } => {
            let x = eval(input, batch)?;
            let items = list
                .iter()
                .map(|item| eval(item, batch))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(hits) = in_texts(&x, &items, *negated) {
                return Value::from_booleans(hits, false);
            }
            // x IN (a, b) is x = a OR x = b, with OR's NULL rules: no match
            // and a NULL item give NULL.
            let mut any: Option<Value> = None;
            for item in &items {
                let hit = compare(CmpOp::Eq, &x, item)?;
                any = Some(match any {
                    None => hit,
                    Some(prev) => logical(prev, hit, len, or_kleene)?,
                });
            }
            match any {
                Some(v) => negate_if(v, *negated),
                None => Value::from_booleans(BooleanArray::from(vec![*negated]), true),
            }
        }
        Node::IsNull { input, negated } => {
            let v = eval(input, batch)?;
            v.map(|a| {
                let r = if *negated {
                    is_not_null(a)?
                } else {
                    is_null(a)?
                };
                Ok(Arc::new(r))
            })
        }
        Node::Truth {
            input,
            value,
            negated,
        } => {
            let v = eval(input, batch)?;
            v.map(|a| {
                let b = booleans(a)?;
                let wanted = if *value { b.clone() } else { not(b)? };
                // NULL is neither TRUE nor FALSE.
                let holds = prep_null_mask_filter(&wanted);
                Ok(Arc::new(if *negated { not(&holds)? } else { holds }))
            })
        }
        Node::Like {
            input,
            pattern,
            negated,
            case_insensitive,
        } => {
            let x = eval(input, batch)?;
            let p = eval(pattern, batch)?;
            let kernel = match (*negated, *case_insensitive) {
                (false, false) => arrow_string::like::like,
                (true, false) => arrow_string::like::nlike,
                (false, true) => arrow_string::like::ilike,
                (true, true) => arrow_string::like::nilike,
            };
            let r = kernel(x.datum(), p.datum())?;
            Value::from_booleans(r, x.is_scalar() && p.is_scalar())
        }
        Node::Regex {
            input,
            pattern,
            flags,
            negated,
        } => {
            let x = eval(input, batch)?;
            let p = eval(pattern, batch)?;
            negate_if(regex(&x, &p, flags.as_deref(), len)?, *negated)
        }
        Node::Arith(op, a, b) => {
            arith::binary(*op, &eval(a, batch)?, &eval(b, batch)?, &expr.ty, len)
        }
        Node::Neg(x) => arith::negate(&eval(x, batch)?, len),
        Node::Case {
            operand,
            branches,
            otherwise,
        } => case(
            expr,
            operand.as_deref(),
            branches,
            otherwise.as_deref(),
            batch,
        ),
        Node::Coalesce(args) => coalesce(expr, args, batch),
        Node::Length(x) => eval(x, batch)?.map(functions::char_length),
        Node::CaseMap(map, x) => eval(x, batch)?.map(|a| functions::case_map(a, *map)),
        Node::Trim {
            input,
            chars,
            leading,
            trailing,
        } => eval(input, batch)?.map(|a| functions::trim(a, chars, *leading, *trailing)),
        Node::Substring {
            input,
            start,
            len: count,
        } => substring(input, start, count.as_deref(), batch),
    }
}

fn booleans(a: &dyn Array) -> Result<&BooleanArray, ArrowError> {
    a.as_boolean_opt().ok_or_else(|| {
        ArrowError::ComputeError(format!("expected booleans, got {}", a.data_type()))
    })
}

fn negate_if(v: Value, negated: bool) -> Result<Value, ArrowError> {
    if !negated {
        return Ok(v);
    }
    v.map(|a| Ok(Arc::new(not(booleans(a)?)?)))
}

/// AND / OR with Kleene's NULL rules.
fn logical(
    a: Value,
    b: Value,
    len: usize,
    kernel: fn(&BooleanArray, &BooleanArray) -> Result<BooleanArray, ArrowError>,
) -> Result<Value, ArrowError> {
    if a.is_scalar() && b.is_scalar() {
        let r = kernel(booleans(a.array())?, booleans(b.array())?)?;
        return Value::from_booleans(r, true);
    }
    let r = kernel(&a.into_booleans(len)?, &b.into_booleans(len)?)?;
    Value::from_booleans(r, false)
}

/// `x [NOT] IN (texts)` for a text column and non-NULL text literals, in
/// one pass over the column: the general path compares the whole column
/// once per item and then ORs the results, and a data-quality rule such as
/// `status IN ('PLACED', 'SHIPPED', ...)` runs over every row of a table.
/// With no NULL item, a non-NULL row is TRUE or FALSE and a NULL row stays
/// NULL, which is what OR-ing the comparisons gives. `None` leaves any other
/// case to the general path.
fn in_texts(x: &Value, items: &[Value], negated: bool) -> Option<BooleanArray> {
    let Value::Array(column) = x else {
        return None;
    };
    let column = column.as_string_opt::<i32>()?;
    let texts = items
        .iter()
        .map(|item| match item {
            Value::Scalar(s) => {
                let one = s.get().0.as_string_opt::<i32>()?;
                one.is_valid(0).then(|| one.value(0).as_bytes())
            }
            Value::Array(_) => None,
        })
        .collect::<Option<Vec<&[u8]>>>()?;
    Some(TextSet::new(&texts).matches(column, negated))
}

pub fn compare(op: CmpOp, a: &Value, b: &Value) -> Result<Value, ArrowError> {
    let kernel = match op {
        CmpOp::Eq => cmp::eq,
        CmpOp::NotEq => cmp::neq,
        CmpOp::Lt => cmp::lt,
        CmpOp::LtEq => cmp::lt_eq,
        CmpOp::Gt => cmp::gt,
        CmpOp::GtEq => cmp::gt_eq,
        CmpOp::Distinct => cmp::distinct,
        CmpOp::NotDistinct => cmp::not_distinct,
    };
    // A text column against a text literal, either way round: `in_texts`
    // gives the same answer, NULL rows included, in one faster pass.
    if matches!(op, CmpOp::Eq | CmpOp::NotEq) {
        let (column, literal) = if a.is_scalar() { (b, a) } else { (a, b) };
        if let Some(hits) = in_texts(column, std::slice::from_ref(literal), op == CmpOp::NotEq) {
            return Value::from_booleans(hits, false);
        }
    }
    let r = kernel(a.datum(), b.datum())?;
    Value::from_booleans(r, a.is_scalar() && b.is_scalar())
}

fn regex(x: &Value, p: &Value, flags: Option<&str>, len: usize) -> Result<Value, ArrowError> {
    let scalar = x.is_scalar() && p.is_scalar();
    if let Value::Scalar(s) = p {
        let pattern = s.get().0.as_string::<i32>();
        if pattern.is_null(0) {
            let n = if x.is_scalar() { 1 } else { len };
            return Value::from_booleans(BooleanArray::new_null(n), x.is_scalar());
        }
        let r = functions::regexp_const(x.array(), pattern.value(0), flags)?;
        return Value::from_booleans(r, scalar);
    }
    let n = if scalar { 1 } else { len };
    let values = x.clone().into_array(n)?;
    let patterns = p.clone().into_array(n)?;
    Value::from_booleans(functions::regexp_rows(&values, &patterns, flags)?, scalar)
}

/// Evaluates every branch on every row, then picks per row from the last
/// branch to the first, so the first `WHEN` that holds wins.
fn case(
    expr: &Typed,
    operand: Option<&Typed>,
    branches: &[(Typed, Typed)],
    otherwise: Option<&Typed>,
    batch: &Batch<'_>,
) -> Result<Value, ArrowError> {
    let operand = operand.map(|o| eval(o, batch)).transpose()?;
    let mut result = match otherwise {
        Some(e) => eval(e, batch)?,
        None => Value::null(&expr.ty),
    };
    for (when, then) in branches.iter().rev() {
        let when = eval(when, batch)?;
        let holds = match &operand {
            Some(o) => compare(CmpOp::Eq, o, &when)?,
            None => when,
        };
        let then = eval(then, batch)?;
        result = choose(holds, then, result, batch.len)?;
    }
    Ok(result)
}

/// `then` where `holds` is TRUE, `otherwise` elsewhere (NULL counts as not).
fn choose(holds: Value, then: Value, otherwise: Value, len: usize) -> Result<Value, ArrowError> {
    if let Some(h) = holds.scalar_bool() {
        return Ok(if h == Some(true) { then } else { otherwise });
    }
    let mask = crate::value::is_true(holds, len)?;
    Ok(Value::Array(zip(&mask, then.datum(), otherwise.datum())?))
}

fn coalesce(expr: &Typed, args: &[Typed], batch: &Batch<'_>) -> Result<Value, ArrowError> {
    let mut result = Value::null(&expr.ty);
    for arg in args.iter().rev() {
        let v = eval(arg, batch)?;
        let present = v.map(|a| Ok(Arc::new(is_not_null(a)?)))?;
        result = choose(present, v, result, batch.len)?;
    }
    Ok(result)
}

fn substring(
    input: &Typed,
    start: &Typed,
    count: Option<&Typed>,
    batch: &Batch<'_>,
) -> Result<Value, ArrowError> {
    let s = eval(input, batch)?;
    let from = eval(start, batch)?;
    let count = count.map(|c| eval(c, batch)).transpose()?;
    let bounds_constant = from.is_scalar() && count.as_ref().is_none_or(Value::is_scalar);
    if bounds_constant {
        let from = scalar_i64(&from);
        let count = count.as_ref().map(scalar_i64);
        return match (from, count) {
            (Some(f), None) => s.map(|a| functions::substring_const(a, f, None)),
            (Some(f), Some(Some(c))) => s.map(|a| functions::substring_const(a, f, Some(c))),
            // A NULL bound: every substring is NULL.
            _ => Ok(Value::null(&input.ty)),
        };
    }
    let n = batch.len;
    let values = s.into_array(n)?;
    let starts = from.into_array(n)?;
    let counts = count.map(|c| c.into_array(n)).transpose()?;
    Ok(Value::Array(functions::substring_rows(
        &values,
        &starts,
        counts.as_deref(),
    )?))
}

/// A constant Int64 bound; `None` for NULL.
fn scalar_i64(v: &Value) -> Option<i64> {
    let a = v
        .array()
        .as_primitive_opt::<arrow_array::types::Int64Type>()?;
    a.is_valid(0).then(|| a.value(0))
}
