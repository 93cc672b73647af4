//! What several benchmarks share.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The orders landing files' columns, as the seed contract declares them.
pub fn landing_order_fields() -> Vec<Field> {
    vec![
        Field::new("order_id", DataType::Int64, true),
        Field::new("customer_id", DataType::Int64, true),
        Field::new("order_date", DataType::Date32, true),
        Field::new("status", DataType::Utf8, true),
        Field::new("items", DataType::Int32, true),
        Field::new("amount", DataType::Decimal128(12, 2), true),
        Field::new("operation", DataType::Utf8, true),
        Field::new("updated_at", utc_micros(), true),
    ]
}

/// The bronze_orders table's columns: the landing columns, then lfhost's.
pub fn bronze_orders_schema() -> SchemaRef {
    let mut fields = landing_order_fields();
    fields.push(Field::new("_rescued_data", DataType::Utf8, true));
    fields.push(Field::new("_source_file", DataType::Utf8, true));
    fields.push(Field::new("_ingested_at", utc_micros(), true));
    Arc::new(Schema::new(fields))
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}
