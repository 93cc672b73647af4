//! Evaluates the seed's order expectations over many rows, natively and as
//! the Wasm plugin inside lfhost's sandbox, in one run, and prints rows/s
//! and the ratio (the sandbox's cost).
//!
//!     cargo run --release -p lfhost-bench --bin bench-expectations -- [ROWS]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::SchemaRef;
use lfhost::sandbox::{FlowContext, Limits, OutputSink, Sandbox};

const BATCH_ROWS: usize = 65_536;
const DEFAULT_ROWS: usize = 10_000_000;

/// The seed pipeline's silver_orders_clean expectations, as in pipelines.toml.
const OPTIONS: &str = r#"{"expectations": [
  {"name": "valid_order_id", "expr": "order_id IS NOT NULL", "action": "drop"},
  {"name": "valid_customer_id", "expr": "operation = 'DELETE' OR customer_id IS NOT NULL", "action": "drop"},
  {"name": "valid_operation", "expr": "operation IN ('INSERT', 'UPDATE', 'DELETE')", "action": "drop"},
  {"name": "valid_sequence", "expr": "updated_at IS NOT NULL", "action": "drop"},
  {"name": "non_negative_amount", "expr": "operation = 'DELETE' OR amount >= 0", "action": "drop"},
  {"name": "positive_items", "expr": "operation = 'DELETE' OR items > 0", "action": "drop"},
  {"name": "valid_status", "expr": "operation = 'DELETE' OR status IN ('PLACED', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'RETURNED')", "action": "warn"}
]}"#;

fn main() -> anyhow::Result<()> {
    let rows: usize = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .with_context(|| format!("ROWS must be a number, got `{text}`"))?,
        None => DEFAULT_ROWS,
    };
    let wasm = std::env::var("LFHOST_EXPECTATIONS_WASM")
        .unwrap_or_else(|_| "target/wasm32-wasip2/release/expectations.wasm".to_string());
    let schema = lfhost_bench::bronze_orders_schema();
    let batches = generate(&schema, rows)?;
    println!(
        "bench-expectations: {rows} order rows in {} batches of up to {BATCH_ROWS}",
        batches.len()
    );

    let (native, native_kept) = native(&schema, &batches)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (sandboxed, sandboxed_kept) = runtime.block_on(sandboxed(&wasm, &schema, batches))?;
    // The same work or no comparison: both must keep the same rows.
    if sandboxed_kept != native_kept {
        anyhow::bail!("the sandbox kept {sandboxed_kept} rows, native {native_kept}");
    }

    let rate = |d: Duration| rows as f64 / d.as_secs_f64();
    println!("{:<22} {:>10} {:>16}", "evaluator", "seconds", "rows/s");
    println!(
        "{:<22} {:>10.3} {:>16.0}",
        "native",
        native.as_secs_f64(),
        rate(native)
    );
    println!(
        "{:<22} {:>10.3} {:>16.0}",
        "wasm (lfhost sandbox)",
        sandboxed.as_secs_f64(),
        rate(sandboxed)
    );
    println!(
        "wasm / native time ratio: {:.2}x",
        sandboxed.as_secs_f64() / native.as_secs_f64()
    );
    Ok(())
}

fn native(schema: &SchemaRef, batches: &[RecordBatch]) -> anyhow::Result<(Duration, usize)> {
    let engine = expectations::Expectations::plan(OPTIONS, schema.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    let mut kept = 0usize;
    for batch in batches {
        let outcome = engine.evaluate(batch).map_err(|e| anyhow::anyhow!("{e}"))?;
        kept += outcome.main.num_rows();
    }
    let elapsed = started.elapsed();
    println!("native: kept {kept} rows");
    Ok((elapsed, kept))
}

async fn sandboxed(
    wasm: &str,
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> anyhow::Result<(Duration, usize)> {
    let (wasm, schema) = (wasm.to_string(), schema.clone());
    tokio::task::spawn_blocking(move || -> anyhow::Result<(Duration, usize)> {
        let sandbox = Sandbox::new()?;
        let plugin = sandbox.load(std::path::Path::new(&wasm), None)?;
        let inputs = vec![("bronze_orders".to_string(), schema)];
        let outputs = plugin.plan(OPTIONS, &inputs, "silver_orders_clean")?;
        let mut sinks = HashMap::new();
        let mut drains = Vec::new();
        for (name, schema) in outputs {
            let (sender, mut receiver) = tokio::sync::mpsc::channel::<RecordBatch>(4);
            let is_main = name == "main";
            let drain = tokio::runtime::Handle::current().spawn(async move {
                let mut rows = 0usize;
                while let Some(batch) = receiver.recv().await {
                    rows += batch.num_rows();
                }
                rows
            });
            drains.push((is_main, drain));
            sinks.insert(name, OutputSink { schema, sender });
        }
        let context = FlowContext {
            run_id: "bench".into(),
            table: "silver_orders_clean".into(),
            run_started_at_micros: 0,
        };
        let started = Instant::now();
        let mut flow = plugin.open_flow(OPTIONS, &inputs, &context, &Limits::default(), sinks)?;
        for batch in &batches {
            flow.push("bronze_orders", batch)?;
        }
        let report = flow.finish()?;
        let elapsed = started.elapsed();
        // `finish` closed the outputs: the drains have every row.
        let mut kept = 0;
        for (is_main, drain) in drains {
            let rows = tokio::runtime::Handle::current().block_on(drain)?;
            if is_main {
                kept = rows;
            }
        }
        println!(
            "wasm: kept {kept} rows (counter rows_out: {})",
            report.counters.get("rows_out").unwrap_or(-1)
        );
        Ok((elapsed, kept))
    })
    .await?
}

/// Deterministic orders with a few percent of rows breaking each rule.
fn generate(schema: &SchemaRef, rows: usize) -> anyhow::Result<Vec<RecordBatch>> {
    const STATUSES: [&str; 6] = [
        "PLACED",
        "SHIPPED",
        "DELIVERED",
        "CANCELLED",
        "RETURNED",
        "LOST",
    ];
    const OPERATIONS: [&str; 4] = ["INSERT", "UPDATE", "DELETE", "MERGE"];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64*: plenty for spreading benchmark values.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut batches = Vec::new();
    let mut start = 0;
    while start < rows {
        let n = BATCH_ROWS.min(rows - start);
        let r: Vec<u64> = (0..n).map(|_| next()).collect();
        let id = |i: usize, v: u64| {
            if v.is_multiple_of(97) {
                None
            } else {
                Some((start + i) as i64)
            }
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter(
                r.iter().enumerate().map(|(i, v)| id(i, *v)),
            )),
            Arc::new(Int64Array::from_iter(r.iter().map(|v| {
                if v.is_multiple_of(89) {
                    None
                } else {
                    Some((v % 100_000) as i64)
                }
            }))),
            Arc::new(Date32Array::from_iter_values(
                r.iter().map(|v| 19_000 + (v % 1000) as i32),
            )),
            Arc::new(StringArray::from_iter_values(
                r.iter().map(|v| STATUSES[((v >> 8) % 6) as usize]),
            )),
            Arc::new(Int32Array::from_iter_values(
                r.iter().map(|v| ((v >> 16) % 10) as i32),
            )),
            Arc::new(
                Decimal128Array::from_iter_values(
                    r.iter().map(|v| ((v >> 20) % 100_000) as i128 - 500),
                )
                .with_precision_and_scale(12, 2)?,
            ),
            Arc::new(StringArray::from_iter_values(
                r.iter().map(|v| OPERATIONS[((v >> 24) % 4) as usize]),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter(r.iter().map(|v| {
                    if v.is_multiple_of(83) {
                        None
                    } else {
                        Some(1_767_225_600_000_000 + (v % 1_000_000_000) as i64)
                    }
                }))
                .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from(vec![None::<&str>; n])),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                "bench.parquet",
                n,
            ))),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(std::iter::repeat_n(0, n))
                    .with_timezone("UTC"),
            ),
        ];
        batches.push(RecordBatch::try_new(schema.clone(), columns)?);
        start += n;
    }
    Ok(batches)
}
