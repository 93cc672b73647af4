//! Native tests: the real parsers on files held in memory.

mod csv;
mod jsonl;
mod options;
mod parquet_files;
mod throughput;
mod values;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use bytes::Bytes;
use lfhost_plugin_sdk::Error;
use serde_json::Value;

use crate::{BatchStats, Ingestor, MemorySource, Options};

/// The run start every test stamps rows with.
pub const RUN_START: i64 = 1_772_000_000_000_000;

pub fn options(format: &str, columns: &[(&str, &str)], batch_rows: usize) -> Options {
    let columns: Vec<Value> = columns
        .iter()
        .map(|(n, t)| serde_json::json!({"name": n, "type": t}))
        .collect();
    let json = serde_json::json!({"format": format, "columns": columns, "batch_rows": batch_rows});
    Options::parse(&json.to_string()).unwrap()
}

/// What one ingest produced.
pub struct Output {
    pub batches: Vec<RecordBatch>,
    pub stats: Vec<BatchStats>,
}

pub fn ingest(
    options: &Options,
    path: &str,
    bytes: &[u8],
    chunk_size: u32,
) -> Result<Output, Error> {
    let ingestor = Ingestor::new(options.clone(), RUN_START).with_chunk_size(chunk_size);
    let source = Arc::new(MemorySource(Bytes::copy_from_slice(bytes)));
    let mut out = Output {
        batches: Vec::new(),
        stats: Vec::new(),
    };
    ingestor.ingest(path, source, &mut |batch, stats| {
        assert_eq!(
            batch.schema(),
            *ingestor.schema(),
            "every batch has the output schema"
        );
        assert_eq!(stats.rows, batch.num_rows() as u64);
        assert!(batch.num_rows() > 0 && batch.num_rows() <= options.batch_rows);
        out.batches.push(batch);
        out.stats.push(stats);
        Ok(())
    })?;
    Ok(out)
}

impl Output {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    pub fn total(&self) -> BatchStats {
        self.stats
            .iter()
            .fold(BatchStats::default(), |a, s| BatchStats {
                rows: a.rows + s.rows,
                rescued_rows: a.rescued_rows + s.rescued_rows,
                malformed_records: a.malformed_records + s.malformed_records,
            })
    }

    fn column<T>(&self, name: &str, get: impl Fn(&dyn Array, usize) -> T) -> Vec<Option<T>> {
        let mut values = Vec::new();
        for batch in &self.batches {
            let array = batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"));
            for i in 0..array.len() {
                values.push(array.is_valid(i).then(|| get(array.as_ref(), i)));
            }
        }
        values
    }

    pub fn strings(&self, name: &str) -> Vec<Option<String>> {
        self.column(name, |a, i| a.as_string::<i32>().value(i).to_string())
    }

    pub fn i64s(&self, name: &str) -> Vec<Option<i64>> {
        self.column(name, |a, i| a.as_primitive::<Int64Type>().value(i))
    }

    pub fn i32s(&self, name: &str) -> Vec<Option<i32>> {
        self.column(name, |a, i| a.as_primitive::<Int32Type>().value(i))
    }

    pub fn f64s(&self, name: &str) -> Vec<Option<f64>> {
        self.column(name, |a, i| a.as_primitive::<Float64Type>().value(i))
    }

    pub fn bools(&self, name: &str) -> Vec<Option<bool>> {
        self.column(name, |a, i| a.as_boolean().value(i))
    }

    pub fn dates(&self, name: &str) -> Vec<Option<i32>> {
        self.column(name, |a, i| a.as_primitive::<Date32Type>().value(i))
    }

    pub fn timestamps(&self, name: &str) -> Vec<Option<i64>> {
        self.column(name, |a, i| {
            a.as_primitive::<TimestampMicrosecondType>().value(i)
        })
    }

    pub fn decimals(&self, name: &str) -> Vec<Option<i128>> {
        self.column(name, |a, i| a.as_primitive::<Decimal128Type>().value(i))
    }

    /// `_rescued_data` parsed as JSON.
    pub fn rescued(&self) -> Vec<Option<Value>> {
        self.strings("_rescued_data")
            .into_iter()
            .map(|s| s.map(|s| serde_json::from_str(&s).unwrap()))
            .collect()
    }

    /// Checks the metadata columns of every row.
    pub fn assert_metadata(&self, path: &str) {
        assert!(
            self.strings("_source_file")
                .iter()
                .all(|s| s.as_deref() == Some(path))
        );
        assert!(
            self.timestamps("_ingested_at")
                .iter()
                .all(|t| *t == Some(RUN_START))
        );
    }
}

/// Microseconds since the epoch of an RFC 3339 time, for expectations.
pub fn micros(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_micros()
}

pub fn json(text: &str) -> Option<Value> {
    Some(serde_json::from_str(text).unwrap())
}

pub fn s(text: &str) -> Option<String> {
    Some(text.to_string())
}

/// A file whose reads fail past `fail_from`, like a landing store going away.
pub struct FailingSource {
    pub bytes: Bytes,
    pub fail_from: u64,
}

impl crate::RangeSource for FailingSource {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read(&self, offset: u64, len: u32) -> Result<Vec<u8>, Error> {
        if offset + u64::from(len) > self.fail_from {
            return Err(Error::data("connection reset"));
        }
        MemorySource(self.bytes.clone()).read(offset, len)
    }
}

#[test]
fn a_failing_read_is_reported_as_such() {
    let csv = options("csv", &[("a", "int64")], 10);
    let jsonl = options("jsonl", &[("a", "int64")], 10);
    let parquet = options("parquet", &[("a", "int64")], 10);
    let text = Bytes::from_static(b"a\n1\n2\n3\n4\n5\n6\n");
    for (opts, bytes) in [
        (&csv, text.clone()),
        (&jsonl, text),
        (&parquet, Bytes::from(vec![7; 64])),
    ] {
        let ingestor = Ingestor::new(opts.clone(), RUN_START).with_chunk_size(4);
        let source = Arc::new(FailingSource {
            bytes,
            fail_from: 9,
        });
        let err = ingestor
            .ingest("/x/f", source, &mut |_, _| Ok(()))
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidData("/x/f: cannot read: connection reset".into()),
            "{:?}",
            opts.format
        );
    }
}

#[test]
fn a_sink_error_stops_the_file() {
    let opts = options("csv", &[("a", "int64")], 1);
    let ingestor = Ingestor::new(opts, RUN_START);
    let source = Arc::new(MemorySource(Bytes::from_static(b"a\n1\n2\n")));
    let mut calls = 0;
    let err = ingestor
        .ingest("/x/f", source, &mut |_, _| {
            calls += 1;
            Err(Error::internal("refused"))
        })
        .unwrap_err();
    assert_eq!(err, Error::internal("refused"));
    assert_eq!(calls, 1);
}
