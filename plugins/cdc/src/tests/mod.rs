//! Native tests: the merge against a replay model on random change streams
//! (`random`), the contract's rules one by one (`cases`), and options
//! (`options`).

mod cases;
mod model;
mod options;
mod random;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{
    Array, ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::{Counters, Merge, Plan};

/// The value columns of the seed's addresses, after the key.
pub const VALUES: [&str; 5] = ["street", "city", "state", "postal_code", "country"];

/// One change of the seed's addresses feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub key: i64,
    /// Microseconds.
    pub seq: i64,
    pub file: Option<String>,
    pub op: Option<&'static str>,
    pub values: [Option<String>; 5],
}

impl Change {
    pub fn new(key: i64, seq: i64, file: &str, op: &'static str, street: &str) -> Change {
        Change {
            key,
            seq,
            file: Some(file.to_string()),
            op: Some(op),
            values: [Some(street), Some("Paris"), None, Some("75001"), Some("FR")]
                .map(|v| v.map(str::to_string)),
        }
    }
}

/// A table row as text: NULL is None, timestamps are their microseconds.
pub type Row = Vec<Option<String>>;

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The seed's silver_addresses_clean schema.
pub fn input_schema() -> SchemaRef {
    let mut fields = vec![Field::new("customer_id", DataType::Int64, true)];
    fields.extend(VALUES.iter().map(|n| Field::new(*n, DataType::Utf8, true)));
    fields.push(Field::new("operation", DataType::Utf8, true));
    fields.push(Field::new("updated_at", utc(), true));
    fields.push(Field::new("_rescued_data", DataType::Utf8, true));
    fields.push(Field::new("_source_file", DataType::Utf8, true));
    fields.push(Field::new("_ingested_at", utc(), true));
    Arc::new(Schema::new(fields))
}

pub fn batch(changes: &[Change]) -> RecordBatch {
    let tz = "UTC";
    let mut columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values(
        changes.iter().map(|c| c.key),
    ))];
    for i in 0..VALUES.len() {
        columns.push(Arc::new(StringArray::from_iter(
            changes.iter().map(|c| c.values[i].clone()),
        )));
    }
    columns.push(Arc::new(StringArray::from_iter(
        changes.iter().map(|c| c.op),
    )));
    columns.push(Arc::new(
        TimestampMicrosecondArray::from_iter_values(changes.iter().map(|c| c.seq))
            .with_timezone(tz),
    ));
    columns.push(Arc::new(StringArray::new_null(changes.len())));
    columns.push(Arc::new(StringArray::from_iter(
        changes.iter().map(|c| c.file.clone()),
    )));
    columns.push(Arc::new(
        TimestampMicrosecondArray::from_iter_values(changes.iter().map(|_| 7)).with_timezone(tz),
    ));
    RecordBatch::try_new(input_schema(), columns).unwrap()
}

/// Seed-like options; `extra` is spliced into the JSON object.
pub fn options(scd: u8, extra: &str) -> String {
    let track = if scd == 2 {
        r#", "track_history_column_list": ["street", "city", "state", "postal_code", "country"]"#
    } else {
        ""
    };
    format!(
        r#"{{"keys": ["customer_id"], "sequence_by": "updated_at",
            "apply_as_deletes": "operation = 'DELETE'",
            "except_column_list": ["operation", "_rescued_data", "_source_file", "_ingested_at"],
            "stored_as_scd_type": {scd}{track}{extra}}}"#
    )
}

/// Runs the merge over `changes` pushed in batches of the given sizes (the
/// last size repeats), and returns the table's rows in emitted order.
pub fn run_batches(options: &str, changes: &[Change], sizes: &[usize]) -> (Vec<Row>, Counters) {
    let plan = Plan::new(options, input_schema()).unwrap();
    let mut merge = Merge::new(Arc::new(plan));
    let mut at = 0;
    let mut i = 0;
    while at < changes.len() {
        let size = sizes.get(i).or(sizes.last()).copied().unwrap_or(1).max(1);
        let end = (at + size).min(changes.len());
        merge.push(&batch(&changes[at..end])).unwrap();
        at = end;
        i += 1;
    }
    let mut rows = Vec::new();
    let counters = merge
        .finish(&mut |b| {
            rows.extend(rows_of(&b));
            Ok(())
        })
        .unwrap();
    (rows, counters)
}

/// As [`run_batches`], the way lfhost runs it when the plan allows: the
/// merge is pushed only the columns it reads and answers with positions,
/// and this test plays the host, which keeps the rows and builds the table
/// from them. `None` when the plan needs whole rows.
pub fn run_taken(
    options: &str,
    changes: &[Change],
    sizes: &[usize],
) -> Option<(Vec<Row>, Counters)> {
    let plan = Arc::new(Plan::new(options, input_schema()).unwrap());
    let sent = plan.taken_columns()?;
    let names = plan.output_input_columns();
    let mut merge = Merge::sent_only(plan, &sent).unwrap();
    let mut kept = Vec::new();
    let (mut at, mut i) = (0, 0);
    while at < changes.len() {
        let size = sizes.get(i).or(sizes.last()).copied().unwrap_or(1).max(1);
        let end = (at + size).min(changes.len());
        let whole = batch(&changes[at..end]);
        merge.push(&whole.project(&sent).unwrap()).unwrap();
        kept.push(whole);
        at = end;
        i += 1;
    }
    let schema = input_schema();
    let kept = arrow_select::concat::concat_batches(&schema, &kept).unwrap();
    let mut rows = Vec::new();
    let counters = merge
        .finish_taken(&mut |positions, extra| {
            let indices = arrow_array::UInt32Array::from(positions.to_vec());
            let mut columns: Vec<ArrayRef> = names
                .iter()
                .map(|n| {
                    let column = kept.column(schema.index_of(n).unwrap());
                    arrow_select::take::take(column.as_ref(), &indices, None).unwrap()
                })
                .collect();
            if let Some(extra) = extra {
                columns.extend(extra.columns().iter().cloned());
            }
            let options =
                arrow_array::RecordBatchOptions::new().with_row_count(Some(positions.len()));
            let fields: Vec<Field> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
                .collect();
            let batch =
                RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
                    .unwrap();
            rows.extend(rows_of(&batch));
            Ok(())
        })
        .unwrap();
    Some((rows, counters))
}

pub fn run(options: &str, changes: &[Change]) -> Vec<Row> {
    run_batches(options, changes, &[3]).0
}

pub fn rows_of(batch: &RecordBatch) -> Vec<Row> {
    (0..batch.num_rows())
        .map(|r| {
            batch
                .columns()
                .iter()
                .map(|c| cell(c.as_ref(), r))
                .collect()
        })
        .collect()
}

fn cell(array: &dyn Array, row: usize) -> Option<String> {
    if array.is_null(row) {
        return None;
    }
    Some(match array.data_type() {
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Utf8 => array.as_string::<i32>().value(row).to_string(),
        DataType::Timestamp(..) => array
            .as_primitive::<TimestampMicrosecondType>()
            .value(row)
            .to_string(),
        other => panic!("no test rendering for {other}"),
    })
}

/// A row of the model's table.
pub fn row(key: i64, values: &[Option<String>], tail: &[Option<i64>]) -> Row {
    let mut row = vec![Some(key.to_string())];
    row.extend(values.iter().cloned());
    row.extend(tail.iter().map(|v| v.map(|v| v.to_string())));
    row
}

/// Shorthand for expected rows: `street` and the trailing timestamps.
pub fn expect(key: i64, street: &str, tail: &[Option<i64>]) -> Row {
    let values = [Some(street), Some("Paris"), None, Some("75001"), Some("FR")]
        .map(|v| v.map(str::to_string));
    row(key, &values, tail)
}
