//! Columns of types other than the tables' own are read as their nearest
//! evaluation type.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::{
    Float32Array, Int16Array, LargeStringArray, ListArray, PrimitiveArray, UInt64Array,
};

use super::*;

#[test]
fn narrower_and_wider_types_are_read_as_evaluation_types() {
    let nanos: PrimitiveArray<TimestampNanosecondType> = vec![
        Some(micros("2026-01-01T00:00:00Z") * 1000),
        None,
        Some(micros("2026-06-01T00:00:00Z") * 1000),
    ]
    .into_iter()
    .collect();
    let b = batch(vec![
        (
            "small",
            Arc::new(Int16Array::from(vec![Some(1), None, Some(-3)])),
        ),
        (
            "single",
            Arc::new(Float32Array::from(vec![Some(0.5), None, Some(2.0)])),
        ),
        (
            "big",
            Arc::new(UInt64Array::from(vec![Some(u64::MAX), None, Some(3)])),
        ),
        (
            "large",
            Arc::new(LargeStringArray::from(vec![Some("Ünï"), None, Some("x")])),
        ),
        ("paris", Arc::new(nanos.with_timezone("Europe/Paris"))),
    ]);
    assert_eq!(truth_on("small > 0", &b), vec![T, N, F]);
    assert_eq!(truth_on("single = 0.5", &b), vec![T, N, F]);
    assert_eq!(truth_on("big > 9223372036854775807", &b), vec![T, N, F]);
    assert_eq!(truth_on("length(large) = 3", &b), vec![T, N, F]);
    // Instants compare whatever zone the column's type names.
    assert_eq!(
        truth_on("paris > '2026-03-01T00:00:00Z'", &b),
        vec![F, N, T]
    );
}

#[test]
fn unusable_columns_are_an_error_only_when_used() {
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)]), None]);
    let b = batch(vec![
        ("l", Arc::new(list)),
        (
            "x",
            Arc::new(arrow_array::Int32Array::from(vec![Some(1), None])),
        ),
    ]);
    assert_eq!(truth_on("x = 1", &b), vec![T, N]);
    let e = try_values("l IS NULL", &b).unwrap_err();
    assert!(e.starts_with("column `l` has type List("), "{e}");
}
