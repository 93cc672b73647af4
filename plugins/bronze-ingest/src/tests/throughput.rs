//! Rough native throughput, for comparing changes:
//! `cargo test -p bronze-ingest --release throughput -- --ignored --nocapture`.

use std::time::Instant;

use arrow_array::{ArrayRef, Decimal128Array, Int64Array, StringArray, TimestampMicrosecondArray};
use parquet::arrow::ArrowWriter;

use super::*;

const COLUMNS: [(&str, &str); 6] = [
    ("customer_id", "int64"),
    ("first_name", "string"),
    ("email", "string"),
    ("amount", "decimal(12,2)"),
    ("operation", "string"),
    ("updated_at", "timestamp"),
];
const ROWS: usize = 300_000;

fn measure(format: &str, bytes: &[u8]) {
    let opts = options(format, &COLUMNS, 32_768);
    let start = Instant::now();
    let out = ingest(&opts, "/bench", bytes, 1 << 20).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(out.rows(), ROWS);
    assert_eq!(out.total().rescued_rows, 0);
    let mb = bytes.len() as f64 / 1e6;
    println!(
        "{format}: {mb:.1} MB in {secs:.3} s = {:.0} MB/s, {:.2} M rows/s",
        mb / secs,
        ROWS as f64 / secs / 1e6
    );
}

#[test]
#[ignore = "a measurement, not a check"]
fn throughput() {
    let mut csv = String::from("customer_id,first_name,email,amount,operation,updated_at\n");
    let mut jsonl = String::new();
    for i in 0..ROWS {
        let ts = format!(
            "2026-03-01T10:{:02}:{:02}.{:06}Z",
            i / 60 % 60,
            i % 60,
            i % 1_000_000
        );
        csv.push_str(&format!(
            "{i},Name{i},user{i}@example.com,{}.{:02},UPDATE,{ts}\n",
            i % 10_000,
            i % 100
        ));
        jsonl.push_str(&format!(
            "{{\"customer_id\":{i},\"first_name\":\"Name{i}\",\"email\":\"user{i}@example.com\",\"amount\":{}.{:02},\"operation\":\"UPDATE\",\"updated_at\":\"{ts}\"}}\n",
            i % 10_000,
            i % 100 + 1
        ));
    }
    measure("csv", csv.as_bytes());
    measure("jsonl", jsonl.as_bytes());

    let ids: Vec<i64> = (0..ROWS as i64).collect();
    let batch = RecordBatch::try_from_iter(vec![
        (
            "customer_id",
            Arc::new(Int64Array::from(ids.clone())) as ArrayRef,
        ),
        (
            "first_name",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("Name{i}")),
            )),
        ),
        (
            "email",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("user{i}@example.com")),
            )),
        ),
        (
            "amount",
            Arc::new(
                Decimal128Array::from_iter_values(ids.iter().map(|i| i128::from(*i)))
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
        ),
        (
            "operation",
            Arc::new(StringArray::from_iter_values(ids.iter().map(|_| "UPDATE"))),
        ),
        (
            "updated_at",
            Arc::new(TimestampMicrosecondArray::from(ids.clone()).with_timezone("UTC")),
        ),
    ])
    .unwrap();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    measure("parquet", &bytes);
}
