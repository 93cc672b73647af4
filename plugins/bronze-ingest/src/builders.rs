//! Typed column builders fed from text or JSON values.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use lfhost_plugin_sdk::Error;
use serde_json::Value;

use crate::options::ColumnType;
use crate::values;

/// One declared column under construction.
pub enum ColumnBuilder {
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    String(StringBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Decimal(Decimal128Builder, u8, i8),
}

impl ColumnBuilder {
    pub fn new(ty: ColumnType, capacity: usize) -> Result<Self, Error> {
        Ok(match ty {
            ColumnType::Int32 => ColumnBuilder::Int32(Int32Builder::with_capacity(capacity)),
            ColumnType::Int64 => ColumnBuilder::Int64(Int64Builder::with_capacity(capacity)),
            ColumnType::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(capacity)),
            ColumnType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(capacity)),
            ColumnType::String => {
                ColumnBuilder::String(StringBuilder::with_capacity(capacity, capacity * 16))
            }
            ColumnType::Date => ColumnBuilder::Date(Date32Builder::with_capacity(capacity)),
            ColumnType::Timestamp => ColumnBuilder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
            ),
            ColumnType::Decimal { precision, scale } => {
                let builder = Decimal128Builder::with_capacity(capacity)
                    .with_precision_and_scale(precision, scale)
                    .map_err(|e| Error::internal(format!("decimal({precision},{scale}): {e}")))?;
                ColumnBuilder::Decimal(builder, precision, scale)
            }
        })
    }

    pub fn append_null(&mut self) {
        match self {
            ColumnBuilder::Int32(b) => b.append_null(),
            ColumnBuilder::Int64(b) => b.append_null(),
            ColumnBuilder::Float64(b) => b.append_null(),
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::String(b) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
            ColumnBuilder::Decimal(b, _, _) => b.append_null(),
        }
    }

    /// Appends `text` parsed as the column's type. Returns false, having
    /// appended a null, when it is not such a value.
    pub fn append_text(&mut self, text: &str) -> bool {
        match self {
            ColumnBuilder::Int32(b) => put(b, values::parse_i32(text)),
            ColumnBuilder::Int64(b) => put(b, values::parse_i64(text)),
            ColumnBuilder::Float64(b) => put(b, values::parse_f64(text)),
            ColumnBuilder::Boolean(b) => {
                let v = values::parse_bool(text);
                b.append_option(v);
                v.is_some()
            }
            ColumnBuilder::String(b) => {
                b.append_value(text);
                true
            }
            ColumnBuilder::Date(b) => put(b, values::parse_date(text)),
            ColumnBuilder::Timestamp(b) => put(b, values::parse_timestamp(text)),
            ColumnBuilder::Decimal(b, p, s) => put(b, values::parse_decimal(text, *p, *s)),
        }
    }

    /// Appends a non-null JSON value. Returns false, having appended a null,
    /// when the JSON type or the value does not fit the column.
    pub fn append_json(&mut self, value: &Value) -> bool {
        if let Value::String(text) = value {
            return self.append_json_str(text);
        }
        match (self, value) {
            (ColumnBuilder::Int32(b), Value::Number(n)) => {
                put(b, n.as_i64().and_then(|v| i32::try_from(v).ok()))
            }
            (ColumnBuilder::Int64(b), Value::Number(n)) => put(b, n.as_i64()),
            (ColumnBuilder::Float64(b), Value::Number(n)) => put(b, n.as_f64()),
            (ColumnBuilder::Boolean(b), Value::Bool(v)) => {
                b.append_value(*v);
                true
            }
            (ColumnBuilder::Decimal(b, p, s), Value::Number(n)) => {
                put(b, values::parse_decimal(&n.to_string(), *p, *s))
            }
            (builder, _) => {
                builder.append_null();
                false
            }
        }
    }

    /// Appends a JSON string value: text, or a date, timestamp or decimal
    /// written as one. Returns false, having appended a null, when the
    /// column takes no strings or the text is no such value.
    pub fn append_json_str(&mut self, text: &str) -> bool {
        match self {
            ColumnBuilder::Int32(_)
            | ColumnBuilder::Int64(_)
            | ColumnBuilder::Float64(_)
            | ColumnBuilder::Boolean(_) => {
                self.append_null();
                false
            }
            _ => self.append_text(text),
        }
    }

    pub fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Int32(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::String(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal(b, _, _) => Arc::new(b.finish()),
        }
    }
}

fn put<T: arrow_array::types::ArrowPrimitiveType>(
    builder: &mut arrow_array::builder::PrimitiveBuilder<T>,
    value: Option<T::Native>,
) -> bool {
    builder.append_option(value);
    value.is_some()
}
