//! Native tests: the engine without the host.

mod functions;
mod model;
mod option_errors;
mod seed;

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow_select::concat::concat_batches;
use lfhost_plugin_sdk::Error;

use crate::Engine;

pub fn schema(fields: &[(&str, DataType)]) -> SchemaRef {
    Arc::new(Schema::new(
        fields
            .iter()
            .map(|(n, t)| Field::new(*n, t.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

pub fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub fn batch(schema: &SchemaRef, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(schema.clone(), columns).unwrap()
}

/// Plans, pushes every batch, finishes; the output as one batch. Also
/// runs the engine as lfhost does, sent only the columns it reads, and
/// checks that it gives the same.
pub fn run(
    options: &str,
    inputs: &[(&str, SchemaRef)],
    pushes: &[(&str, RecordBatch)],
) -> Result<RecordBatch, Error> {
    let whole = run_sent(options, inputs, pushes, false);
    let sent = run_sent(options, inputs, pushes, true);
    match (&whole, &sent) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "sent only the columns read"),
        (Err(a), Err(b)) => assert_eq!(a, b, "sent only the columns read"),
        _ => panic!("sent only the columns read: {whole:?} but {sent:?}"),
    }
    whole
}

fn run_sent(
    options: &str,
    inputs: &[(&str, SchemaRef)],
    pushes: &[(&str, RecordBatch)],
    projected: bool,
) -> Result<RecordBatch, Error> {
    let inputs: Vec<(String, SchemaRef)> = inputs
        .iter()
        .map(|(n, s)| (n.to_string(), s.clone()))
        .collect();
    let mut engine = Engine::new(options, &inputs)?;
    let read = engine.read_columns();
    if projected {
        for (input, columns) in &read {
            engine.sent_only(input, columns.clone());
        }
    }
    for (input, b) in pushes {
        match read.get(*input) {
            Some(columns) if projected => engine.push(input, &b.project(columns).unwrap())?,
            _ => engine.push(input, b)?,
        }
    }
    let schema = engine.schema().clone();
    let out = engine.finish()?;
    assert!(
        out.iter()
            .all(|b| b.num_rows() > 0 && b.num_rows() <= crate::MAX_BATCH_ROWS)
    );
    assert!(out.iter().all(|b| b.schema() == schema));
    Ok(concat_batches(&schema, &out).unwrap())
}

/// The error's option path, or a panic.
pub fn option_path(e: Error) -> String {
    match e {
        Error::InvalidOption { option, .. } => option,
        other => panic!("not an option error: {other:?}"),
    }
}
