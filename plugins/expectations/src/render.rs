//! One row as a JSON object, for error messages: `{"x": -1, "y": "a"}`.

use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::{as_date, as_datetime};
use arrow_array::types::{
    Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type, DecimalType, Float32Type,
    Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::SecondsFormat;

/// Long strings are cut in messages.
const MAX_STRING_CHARS: usize = 200;

/// Row `row` of `batch`, every column.
pub fn row_json(batch: &RecordBatch, row: usize) -> String {
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    columns_json(&names, batch.columns(), row)
}

/// Row `row` of the given columns.
pub fn columns_json(names: &[&str], columns: &[ArrayRef], row: usize) -> String {
    let fields: Vec<String> = names
        .iter()
        .zip(columns)
        .map(|(name, column)| {
            format!(
                "{}: {}",
                json_string(name),
                value_json(column.as_ref(), row)
            )
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

pub fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn value_json(a: &dyn Array, i: usize) -> String {
    if i >= a.len() || a.is_null(i) {
        return "null".into();
    }
    match a.data_type() {
        DataType::Boolean => a.as_boolean().value(i).to_string(),
        DataType::Int8 => a.as_primitive::<Int8Type>().value(i).to_string(),
        DataType::Int16 => a.as_primitive::<Int16Type>().value(i).to_string(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(i).to_string(),
        DataType::UInt16 => a.as_primitive::<UInt16Type>().value(i).to_string(),
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(i).to_string(),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i).to_string(),
        DataType::Float32 => float(f64::from(a.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => float(a.as_primitive::<Float64Type>().value(i)),
        // Decimals as JSON numbers, digit for digit.
        DataType::Decimal32(p, s) => decimal::<Decimal32Type>(a, i, *p, *s),
        DataType::Decimal64(p, s) => decimal::<Decimal64Type>(a, i, *p, *s),
        DataType::Decimal128(p, s) => decimal::<Decimal128Type>(a, i, *p, *s),
        DataType::Utf8 => string(a.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => string(a.as_string::<i64>().value(i)),
        DataType::Utf8View => string(a.as_string_view().value(i)),
        DataType::Date32 => date(as_date::<Date32Type>(i64::from(
            a.as_primitive::<Date32Type>().value(i),
        ))),
        DataType::Date64 => date(as_date::<Date64Type>(
            a.as_primitive::<Date64Type>().value(i),
        )),
        DataType::Timestamp(unit, _) => {
            let t = match unit {
                TimeUnit::Second => as_datetime::<TimestampSecondType>(
                    a.as_primitive::<TimestampSecondType>().value(i),
                ),
                TimeUnit::Millisecond => as_datetime::<TimestampMillisecondType>(
                    a.as_primitive::<TimestampMillisecondType>().value(i),
                ),
                TimeUnit::Microsecond => as_datetime::<TimestampMicrosecondType>(
                    a.as_primitive::<TimestampMicrosecondType>().value(i),
                ),
                TimeUnit::Nanosecond => as_datetime::<TimestampNanosecondType>(
                    a.as_primitive::<TimestampNanosecondType>().value(i),
                ),
            };
            // Stored instants are UTC whatever zone the type names.
            match t {
                Some(t) => json_string(&t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)),
                None => "null".into(),
            }
        }
        _ => {
            let options = arrow_cast::display::FormatOptions::default();
            match arrow_cast::display::ArrayFormatter::try_new(a, &options) {
                Ok(f) => string(&f.value(i).to_string()),
                Err(_) => json_string(&format!("<{}>", a.data_type())),
            }
        }
    }
}

fn float(v: f64) -> String {
    if v.is_finite() {
        serde_json::Number::from_f64(v)
            .map_or_else(|| json_string(&v.to_string()), |n| n.to_string())
    } else {
        json_string(&v.to_string())
    }
}

fn decimal<T: DecimalType>(a: &dyn Array, i: usize, p: u8, s: i8) -> String {
    T::format_decimal(a.as_primitive::<T>().value(i), p, s)
}

fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map_or_else(
        || "null".into(),
        |d| json_string(&d.format("%Y-%m-%d").to_string()),
    )
}

fn string(s: &str) -> String {
    match s.char_indices().nth(MAX_STRING_CHARS) {
        Some((cut, _)) => json_string(&format!("{}…", &s[..cut])),
        None => json_string(s),
    }
}
