//! Whole Arrow arrays to declared types, with per-row rescue of what does
//! not fit (used for Parquet, whose columns arrive typed).

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt64Type,
};
use arrow_array::{Array, ArrayRef, TimestampMicrosecondArray, new_null_array};
use arrow_buffer::NullBuffer;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_cast::{CastOptions, can_cast_types, cast_with_options};
use arrow_schema::{DataType, TimeUnit};
use lfhost_plugin_sdk::Error;
use serde_json::{Map, Number, Value};

use crate::builders::ColumnBuilder;
use crate::options::Column;
use crate::rows::rescued_text;

/// The rescued values of a batch's rows, allocated on the first rescue.
pub struct Rescued {
    rows: usize,
    values: Vec<Option<Map<String, Value>>>,
}

impl Rescued {
    pub fn new(rows: usize) -> Self {
        Rescued {
            rows,
            values: Vec::new(),
        }
    }

    pub fn put(&mut self, row: usize, name: &str, value: Value) {
        if self.values.is_empty() {
            self.values.resize(self.rows, None);
        }
        self.values[row]
            .get_or_insert_with(Map::new)
            .insert(name.to_string(), value);
    }

    pub fn count(&self) -> u64 {
        self.values.iter().filter(|v| v.is_some()).count() as u64
    }

    /// The `_rescued_data` column.
    pub fn finish(self) -> Result<ArrayRef, Error> {
        if self.values.is_empty() {
            return Ok(new_null_array(&DataType::Utf8, self.rows));
        }
        let mut builder = StringBuilder::with_capacity(self.rows, 0);
        for value in &self.values {
            match value {
                Some(map) => builder.append_value(rescued_text(map)?),
                None => builder.append_null(),
            }
        }
        Ok(Arc::new(builder.finish()))
    }
}

/// `array` as `column`'s type. Values that do not convert become null and
/// their originals, rendered as strings, are rescued under the column name.
pub fn conform(
    array: &ArrayRef,
    column: &Column,
    rescued: &mut Rescued,
) -> Result<ArrayRef, Error> {
    let target = column.ty.data_type();
    if *array.data_type() == target {
        return Ok(Arc::clone(array));
    }
    if target != DataType::Utf8 && is_text(array.data_type()) {
        // Text parses by the same rules as CSV, not by arrow-cast's.
        return parse_text(array, column, rescued);
    }
    let options = CastOptions {
        safe: true,
        ..CastOptions::default()
    };
    let cast = if let Some(micros) = timestamp_to_utc_micros(array, &target) {
        Some(micros)
    } else if can_cast_types(array.data_type(), &target) {
        cast_with_options(array, &target, &options).ok()
    } else {
        None
    };
    let Some(cast) = cast else {
        rescue_as_strings(array, &column.name, rescued, |_| true)?;
        return Ok(new_null_array(&target, array.len()));
    };
    // A safe cast keeps the input's nulls and adds one per value it could
    // not convert; only then is a per-row look needed.
    if cast.logical_null_count() > array.logical_null_count() {
        let after = cast.logical_nulls();
        rescue_as_strings(array, &column.name, rescued, |i| {
            !is_valid(after.as_ref(), i)
        })?;
    }
    Ok(cast)
}

/// A timestamp of any unit and zone as microseconds UTC, when that is the
/// target. The stored values are already instants (UTC), so the zone only
/// needs relabelling; finer units are floored, like extra digits in text
/// (arrow-cast would round toward zero, i.e. up before 1970); coarser ones
/// that overflow become null.
fn timestamp_to_utc_micros(array: &ArrayRef, target: &DataType) -> Option<ArrayRef> {
    let (DataType::Timestamp(unit, _), DataType::Timestamp(TimeUnit::Microsecond, Some(_))) =
        (array.data_type(), target)
    else {
        return None;
    };
    let micros: TimestampMicrosecondArray = match unit {
        TimeUnit::Second => array
            .as_primitive::<TimestampSecondType>()
            .unary_opt(|v| v.checked_mul(1_000_000)),
        TimeUnit::Millisecond => array
            .as_primitive::<TimestampMillisecondType>()
            .unary_opt(|v| v.checked_mul(1_000)),
        TimeUnit::Microsecond => array
            .as_primitive::<TimestampMicrosecondType>()
            .unary(|v| v),
        TimeUnit::Nanosecond => array
            .as_primitive::<TimestampNanosecondType>()
            .unary(|v| v.div_euclid(1_000)),
    };
    Some(Arc::new(micros.with_data_type(target.clone())))
}

fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => matches!(
            **values,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ),
        _ => false,
    }
}

fn parse_text(array: &ArrayRef, column: &Column, rescued: &mut Rescued) -> Result<ArrayRef, Error> {
    let strings = to_utf8(array)?;
    let strings = strings.as_string::<i32>();
    let mut builder = ColumnBuilder::new(column.ty, strings.len())?;
    for (row, value) in strings.iter().enumerate() {
        match value {
            Some(text) => {
                if !builder.append_text(text) {
                    rescued.put(row, &column.name, Value::String(text.to_string()));
                }
            }
            None => builder.append_null(),
        }
    }
    Ok(builder.finish())
}

fn to_utf8(array: &ArrayRef) -> Result<ArrayRef, Error> {
    cast_with_options(array, &DataType::Utf8, &CastOptions::default())
        .map_err(|e| Error::internal(format!("cannot read {} as text: {e}", array.data_type())))
}

fn is_valid(nulls: Option<&NullBuffer>, row: usize) -> bool {
    nulls.is_none_or(|n| n.is_valid(row))
}

/// Rescues, as display strings, the non-null values of the rows `pick` selects.
fn rescue_as_strings(
    array: &ArrayRef,
    name: &str,
    rescued: &mut Rescued,
    pick: impl Fn(usize) -> bool,
) -> Result<(), Error> {
    let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
        .map_err(|e| Error::internal(format!("cannot render column `{name}`: {e}")))?;
    let nulls = array.logical_nulls();
    for row in 0..array.len() {
        if is_valid(nulls.as_ref(), row) && pick(row) {
            rescued.put(row, name, Value::String(formatter.value(row).to_string()));
        }
    }
    Ok(())
}

/// Rescues every non-null value of a column no declared column takes, as a
/// JSON scalar where one fits (numbers, booleans, strings).
pub fn rescue_all(array: &ArrayRef, name: &str, rescued: &mut Rescued) -> Result<(), Error> {
    let array = match array.data_type() {
        DataType::Dictionary(_, values) => cast_to(array, values)?,
        _ => Arc::clone(array),
    };
    let nulls = array.logical_nulls();
    let valid_rows = (0..array.len()).filter(|&row| is_valid(nulls.as_ref(), row));
    match array.data_type() {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let wide = cast_to(&array, &DataType::Int64)?;
            let wide = wide.as_primitive::<Int64Type>();
            valid_rows.for_each(|row| rescued.put(row, name, Value::from(wide.value(row))));
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            let wide = cast_to(&array, &DataType::UInt64)?;
            let wide = wide.as_primitive::<UInt64Type>();
            valid_rows.for_each(|row| rescued.put(row, name, Value::from(wide.value(row))));
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let wide = cast_to(&array, &DataType::Float64)?;
            let wide = wide.as_primitive::<Float64Type>();
            valid_rows.for_each(|row| {
                let v = wide.value(row);
                let value =
                    Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number);
                rescued.put(row, name, value);
            });
        }
        DataType::Boolean => {
            let bools = array.as_boolean();
            valid_rows.for_each(|row| rescued.put(row, name, Value::Bool(bools.value(row))));
        }
        data_type if is_text(data_type) => {
            let strings = to_utf8(&array)?;
            let strings = strings.as_string::<i32>();
            valid_rows.for_each(|row| {
                rescued.put(row, name, Value::String(strings.value(row).to_string()))
            });
        }
        _ => rescue_as_strings(&array, name, rescued, |_| true)?,
    }
    Ok(())
}

fn cast_to(array: &ArrayRef, data_type: &DataType) -> Result<ArrayRef, Error> {
    cast_with_options(array, data_type, &CastOptions::default()).map_err(|e| {
        Error::internal(format!(
            "cannot convert {} to {data_type}: {e}",
            array.data_type()
        ))
    })
}
