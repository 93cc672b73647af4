//! Native tests: the planner, the evaluator and the engine on batches built
//! in memory. Nothing here calls the host's imports.

mod actions;
mod column_types;
mod contract;
mod functions;
mod operators;
mod options;
mod table_rules;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, TimestampMicrosecondType};
use arrow_array::{
    ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array, PrimitiveArray,
    RecordBatch, StringArray,
};
use arrow_schema::{Field, Schema, SchemaRef};
use lfhost_plugin_sdk::Error;
use serde_json::json;

use crate::eval::{Batch, eval};
use crate::parse::parse_expr;
use crate::planner::Planner;
use crate::types;
use crate::{Expectations, Outcome};

/// Days since 1970-01-01 of `YYYY-MM-DD`.
pub fn day(text: &str) -> i32 {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    i32::try_from((d - epoch).num_days()).unwrap()
}

/// Microseconds since the epoch of an RFC 3339 time.
pub fn micros(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp_micros()
}

pub fn dates(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(
        values
            .iter()
            .map(|v| v.map(day))
            .collect::<PrimitiveArray<Date32Type>>(),
    )
}

pub fn timestamps(values: &[Option<&str>]) -> ArrayRef {
    let a: PrimitiveArray<TimestampMicrosecondType> =
        values.iter().map(|v| v.map(micros)).collect();
    Arc::new(a.with_timezone("UTC"))
}

pub fn decimals(values: &[Option<i128>], p: u8, s: i8) -> ArrayRef {
    Arc::new(
        values
            .iter()
            .copied()
            .collect::<Decimal128Array>()
            .with_precision_and_scale(p, s)
            .unwrap(),
    )
}

pub fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

/// Five rows of every supported type, with a NULL in row 2 of each column.
pub fn sample() -> RecordBatch {
    batch(vec![
        (
            "i",
            Arc::new(Int32Array::from(vec![
                Some(1),
                Some(2),
                None,
                Some(-5),
                Some(10),
            ])),
        ),
        (
            "b",
            Arc::new(Int64Array::from(vec![
                Some(100),
                Some(0),
                None,
                Some(0),
                Some(-7),
            ])),
        ),
        (
            "f",
            Arc::new(Float64Array::from(vec![
                Some(1.5),
                Some(0.0),
                None,
                Some(-0.5),
                Some(2.0),
            ])),
        ),
        (
            "d",
            decimals(&[Some(1234), Some(0), None, Some(-500), Some(10050)], 12, 2),
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![
                Some("abc"),
                Some("Émile"),
                None,
                Some("  pad  "),
                Some("a_b%c"),
            ])),
        ),
        (
            "t",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
                Some(false),
            ])),
        ),
        (
            "day",
            dates(&[
                Some("2026-01-01"),
                Some("2025-12-31"),
                None,
                Some("2026-03-01"),
                Some("2026-01-02"),
            ]),
        ),
        (
            "ts",
            timestamps(&[
                Some("2026-01-01T00:00:00Z"),
                Some("2025-12-31T23:59:59Z"),
                None,
                Some("2026-03-01T10:15:00Z"),
                Some("2026-01-01T00:00:00.000001Z"),
            ]),
        ),
        (
            "Mixed Case",
            Arc::new(Int32Array::from(vec![
                Some(1),
                Some(2),
                None,
                Some(3),
                Some(4),
            ])),
        ),
    ])
}

/// Plans `sql` against `batch`'s schema and evaluates it over every row.
pub fn try_values(sql: &str, batch: &RecordBatch) -> Result<ArrayRef, String> {
    let schema = batch.schema();
    let typed = Planner::new(&schema).plan(&parse_expr(sql)?)?;
    let columns: Vec<Option<ArrayRef>> = batch
        .columns()
        .iter()
        .map(|c| types::eval_type(c.data_type()).and_then(|t| types::normalise(c, &t).ok()))
        .collect();
    let input = Batch {
        columns: &columns,
        len: batch.num_rows(),
        memo: None,
    };
    let value = eval(&typed, &input).map_err(|e| e.to_string())?;
    value
        .into_array(batch.num_rows())
        .map_err(|e| e.to_string())
}

pub fn values(sql: &str, batch: &RecordBatch) -> ArrayRef {
    try_values(sql, batch).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Asserts two arrays hold the same type and values.
#[track_caller]
pub fn same(actual: ArrayRef, expected: ArrayRef) {
    assert_eq!(actual.as_ref(), expected.as_ref());
}

/// A condition's three-valued result per row of [`sample`].
pub fn truth(sql: &str) -> Vec<Option<bool>> {
    truth_on(sql, &sample())
}

pub fn truth_on(sql: &str, batch: &RecordBatch) -> Vec<Option<bool>> {
    let v = values(sql, batch);
    let b = v
        .as_boolean_opt()
        .unwrap_or_else(|| panic!("{sql}: not boolean but {}", v.data_type()));
    b.iter().collect()
}

/// The planner's message for `sql` against [`sample`].
pub fn plan_error(sql: &str) -> String {
    match try_values(sql, &sample()) {
        Err(e) => e,
        Ok(v) => panic!("{sql}: expected an error, got {v:?}"),
    }
}

pub const T: Option<bool> = Some(true);
pub const F: Option<bool> = Some(false);
pub const N: Option<bool> = None;

/// Expectations planned from options built with `json!`.
pub fn plan(options: serde_json::Value, schema: SchemaRef) -> Result<Expectations, Error> {
    Expectations::plan(&options.to_string(), schema)
}

/// One expectation with `action` over [`sample`].
pub fn evaluate_one(expr: &str, action: &str) -> Result<Outcome, Error> {
    let b = sample();
    let e = plan(
        json!({"expectations": [{"name": "e", "expr": expr, "action": action}]}),
        b.schema(),
    )?;
    e.evaluate(&b)
}

pub fn option_error(result: Result<Expectations, Error>) -> (String, String) {
    match result {
        Err(Error::InvalidOption { option, message }) => (option, message),
        Err(other) => panic!("expected an option error, got {other:?}"),
        Ok(_) => panic!("expected an option error, got a plan"),
    }
}

/// A column of strings from a batch.
pub fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    batch
        .column_by_name(name)
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

pub fn i64s(batch: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    batch
        .column_by_name(name)
        .unwrap()
        .as_primitive::<arrow_array::types::Int64Type>()
        .iter()
        .collect()
}
