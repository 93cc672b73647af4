//! Arithmetic with SQL's answers where Arrow's kernels would stop the batch:
//! division or remainder by zero is NULL, and so is a result that overflows
//! its type (the expectation then fails on that row, not the whole flow).

use arrow_arith::numeric;
use arrow_array::{Array, ArrayRef, Datum, Int64Array, Scalar, new_empty_array, new_null_array};
use arrow_cast::cast_with_options;
use arrow_schema::{ArrowError, DataType};

use crate::typed::ArithOp;
use crate::types::STRICT;
use crate::value::Value;

type Kernel = fn(&dyn Datum, &dyn Datum) -> Result<ArrayRef, ArrowError>;

fn kernel(op: ArithOp) -> Kernel {
    match op {
        ArithOp::Add => numeric::add,
        ArithOp::Sub => numeric::sub,
        ArithOp::Mul => numeric::mul,
        ArithOp::Div => numeric::div,
        ArithOp::Rem => numeric::rem,
    }
}

/// The type Arrow gives `left op right`, found by running the kernel on no
/// rows (so the planner and the kernels cannot disagree, e.g. on decimal
/// precision and scale).
pub fn result_type(op: ArithOp, left: &DataType, right: &DataType) -> Result<DataType, ArrowError> {
    let l = new_empty_array(left);
    let r = new_empty_array(right);
    Ok(kernel(op)(&l, &r)?.data_type().clone())
}

/// `left op right`; operands have the types the planner chose.
pub fn binary(
    op: ArithOp,
    left: &Value,
    right: &Value,
    result: &DataType,
    len: usize,
) -> Result<Value, ArrowError> {
    let scalar = left.is_scalar() && right.is_scalar();
    let divisor;
    let right = if matches!(op, ArithOp::Div | ArithOp::Rem) {
        match without_zeros(right)? {
            Some(d) => {
                divisor = d;
                &divisor
            }
            // A zero or NULL constant divisor: NULL whatever the dividend.
            None => return Ok(Value::null(result)),
        }
    } else {
        right
    };
    match kernel(op)(left.datum(), right.datum()) {
        Ok(values) => Value::from_result(values, scalar),
        Err(ArrowError::ArithmeticOverflow(_) | ArrowError::DivideByZero) => {
            let n = if scalar { 1 } else { len };
            let values = row_by_row(n, result, |i| kernel(op)(&row(left, i), &row(right, i)))?;
            Value::from_result(values, scalar)
        }
        Err(e) => Err(e),
    }
}

/// `-value`.
pub fn negate(value: &Value, len: usize) -> Result<Value, ArrowError> {
    match numeric::neg(value.array()) {
        Ok(values) => Value::from_result(values, value.is_scalar()),
        Err(ArrowError::ArithmeticOverflow(_)) => {
            let n = if value.is_scalar() { 1 } else { len };
            let ty = value.array().data_type().clone();
            let values = row_by_row(n, &ty, |i| numeric::neg(row(value, i).get().0))?;
            Value::from_result(values, value.is_scalar())
        }
        Err(e) => Err(e),
    }
}

/// The divisor with zeros turned into NULLs; `None` when it is a constant
/// zero or NULL.
fn without_zeros(divisor: &Value) -> Result<Option<Value>, ArrowError> {
    let ty = divisor.array().data_type();
    let zero = cast_with_options(&Int64Array::from(vec![0]), ty, &STRICT)?;
    let mut is_zero = arrow_ord::cmp::eq(divisor.datum(), &Scalar::new(zero))?;
    if *ty == DataType::Float64 {
        // Arrow compares floats by total order, where -0.0 is not 0.0.
        let negative_zero = Scalar::new(arrow_array::Float64Array::from(vec![-0.0]));
        let also = arrow_ord::cmp::eq(divisor.datum(), &negative_zero)?;
        is_zero = arrow_arith::boolean::or(&is_zero, &also)?;
    }
    match divisor {
        Value::Scalar(s) => {
            let d = s.get().0;
            if d.is_null(0) || is_zero.value(0) {
                Ok(None)
            } else {
                Ok(Some(divisor.clone()))
            }
        }
        Value::Array(a) => {
            if is_zero.true_count() == 0 {
                return Ok(Some(divisor.clone()));
            }
            Ok(Some(Value::Array(arrow_select::nullif::nullif(
                a, &is_zero,
            )?)))
        }
    }
}

/// Row `i` of a column, or the scalar itself.
fn row(value: &Value, i: usize) -> Scalar<ArrayRef> {
    match value {
        Value::Scalar(s) => s.clone(),
        Value::Array(a) => Scalar::new(a.slice(i, 1)),
    }
}

/// Row by row, only once a whole-column kernel has hit an overflow: each row
/// alone, NULL where it overflows.
fn row_by_row(
    n: usize,
    ty: &DataType,
    mut one: impl FnMut(usize) -> Result<ArrayRef, ArrowError>,
) -> Result<ArrayRef, ArrowError> {
    let mut rows: Vec<ArrayRef> = Vec::with_capacity(n);
    for i in 0..n {
        rows.push(match one(i) {
            Ok(v) => v,
            Err(ArrowError::ArithmeticOverflow(_) | ArrowError::DivideByZero) => {
                new_null_array(ty, 1)
            }
            Err(e) => return Err(e),
        });
    }
    if rows.is_empty() {
        return Ok(new_empty_array(ty));
    }
    let refs: Vec<&dyn Array> = rows.iter().map(AsRef::as_ref).collect();
    arrow_select::concat::concat(&refs)
}
