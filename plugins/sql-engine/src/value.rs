//! What evaluating an expression gives: a column of the batch's length, or
//! one value that stands for every row (a literal, or an expression of
//! literals), which Arrow kernels take as a scalar without expanding it.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, Datum, Scalar, UInt32Array, new_null_array};
use arrow_buffer::BooleanBuffer;
use arrow_schema::{ArrowError, DataType};

#[derive(Debug, Clone)]
pub enum Value {
    Array(ArrayRef),
    Scalar(Scalar<ArrayRef>),
}

impl Value {
    /// A scalar from a one-element array.
    pub fn scalar(array: ArrayRef) -> Result<Value, ArrowError> {
        if array.len() != 1 {
            return Err(ArrowError::ComputeError(format!(
                "a scalar needs one value, got {}",
                array.len()
            )));
        }
        Ok(Value::Scalar(Scalar::new(array)))
    }

    pub fn null(data_type: &DataType) -> Value {
        Value::Scalar(Scalar::new(new_null_array(data_type, 1)))
    }

    /// Wraps a kernel's result: a scalar when every operand was one (the
    /// kernels then return one value).
    pub fn from_result(array: ArrayRef, scalar: bool) -> Result<Value, ArrowError> {
        if scalar {
            Value::scalar(array)
        } else {
            Ok(Value::Array(array))
        }
    }

    pub fn from_booleans(array: BooleanArray, scalar: bool) -> Result<Value, ArrowError> {
        Value::from_result(Arc::new(array), scalar)
    }

    pub fn is_scalar(&self) -> bool {
        matches!(self, Value::Scalar(_))
    }

    pub fn datum(&self) -> &dyn Datum {
        match self {
            Value::Array(a) => a,
            Value::Scalar(s) => s,
        }
    }

    /// The values: all of them, or the scalar's one.
    pub fn array(&self) -> &dyn Array {
        match self {
            Value::Array(a) => a.as_ref(),
            Value::Scalar(s) => s.get().0,
        }
    }

    /// The scalar's value when it is a non-null Boolean.
    pub fn scalar_bool(&self) -> Option<Option<bool>> {
        match self {
            Value::Scalar(s) => {
                let a = s.get().0.as_boolean_opt()?;
                Some(a.is_valid(0).then(|| a.value(0)))
            }
            Value::Array(_) => None,
        }
    }

    /// Applies a kernel that maps values one to one, keeping a scalar a scalar.
    pub fn map(
        &self,
        kernel: impl FnOnce(&dyn Array) -> Result<ArrayRef, ArrowError>,
    ) -> Result<Value, ArrowError> {
        Value::from_result(kernel(self.array())?, self.is_scalar())
    }

    /// The values as a column of `len` rows.
    pub fn into_array(self, len: usize) -> Result<ArrayRef, ArrowError> {
        match self {
            Value::Array(a) => Ok(a),
            Value::Scalar(s) => {
                let indices = UInt32Array::from(vec![0u32; len]);
                arrow_select::take::take(s.get().0, &indices, None)
            }
        }
    }

    /// Boolean values as a column of `len` rows.
    pub fn into_booleans(self, len: usize) -> Result<BooleanArray, ArrowError> {
        if let Some(value) = self.scalar_bool() {
            return Ok(match value {
                None => BooleanArray::new_null(len),
                Some(true) => BooleanArray::new(BooleanBuffer::new_set(len), None),
                Some(false) => BooleanArray::new(BooleanBuffer::new_unset(len), None),
            });
        }
        let array = self.into_array(len)?;
        array.as_boolean_opt().cloned().ok_or_else(|| {
            ArrowError::ComputeError(format!("expected booleans, got {}", array.data_type()))
        })
    }
}

/// Where a Boolean value is TRUE, as a column of `len` rows without nulls:
/// NULL and FALSE both fail an expectation.
pub fn is_true(value: Value, len: usize) -> Result<BooleanArray, ArrowError> {
    let booleans = value.into_booleans(len)?;
    Ok(if booleans.null_count() == 0 {
        booleans
    } else {
        arrow_select::filter::prep_null_mask_filter(&booleans)
    })
}
