//! Evaluates the seed's order expectations over many rows, natively and as
//! the Wasm plugin inside lfhost's sandbox, in one run, and prints rows/s
//! and the ratio (the sandbox's cost): ROUNDS alternating rounds of each,
//! and the ratio of their medians.
//!
//!     cargo run --release -p lfhost-bench --bin bench-expectations -- [ROWS] [ROUNDS]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::SchemaRef;
use lfhost::sandbox::{Allocation, FlowContext, Limits, OutputSink, Plugin, Sandbox};

const BATCH_ROWS: usize = 65_536;
const DEFAULT_ROWS: usize = 10_000_000;
const DEFAULT_ROUNDS: usize = 5;

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
    // The allocator as `lfhost` sets it.
    lfhost::memory::set_up();
    let rows: usize = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .with_context(|| format!("ROWS must be a number, got `{text}`"))?,
        None => DEFAULT_ROWS,
    };
    let rounds: usize = match std::env::args().nth(2) {
        Some(text) => text
            .parse()
            .ok()
            .filter(|&n: &usize| n > 0)
            .with_context(|| format!("ROUNDS must be a positive number, got `{text}`"))?,
        None => DEFAULT_ROUNDS,
    };
    let wasm = std::env::var("LFHOST_EXPECTATIONS_WASM")
        .unwrap_or_else(|_| "target/wasm32-wasip2/release/expectations.wasm".to_string());
    let schema = lfhost_bench::bronze_orders_schema();
    let batches = generate(&schema, rows)?;
    println!(
        "bench-expectations: {rows} order rows in {} batches of up to {BATCH_ROWS}, {rounds} rounds",
        batches.len()
    );

    let engine = expectations::Expectations::plan(OPTIONS, schema.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let plugin = {
        // Loading reads the compiled-component cache on the runtime. The
        // instance pool is what `lfhost run` uses.
        let _inside = runtime.enter();
        let sandbox = Sandbox::with_allocation(Allocation::Pooling {
            instances: 2,
            max_memory_bytes: Limits::default().memory_bytes,
        })?;
        Arc::new(sandbox.load(std::path::Path::new(&wasm), None)?)
    };
    // Alternating rounds, so that a slow spell of a shared machine falls on
    // both sides, and medians, so that one such spell does not decide.
    let (mut native_times, mut wasm_times) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let (native_time, native_kept) = native(&engine, &batches)?;
        let (wasm_time, wasm_kept) =
            runtime.block_on(sandboxed(plugin.clone(), &schema, batches.clone()))?;
        // The same work or no comparison: both must keep the same rows.
        if wasm_kept != native_kept {
            anyhow::bail!("the sandbox kept {wasm_kept} rows, native {native_kept}");
        }
        println!(
            "round {round}: kept {native_kept} rows; native {:.3} s, wasm {:.3} s ({:.2}x)",
            native_time.as_secs_f64(),
            wasm_time.as_secs_f64(),
            wasm_time.as_secs_f64() / native_time.as_secs_f64()
        );
        native_times.push(native_time);
        wasm_times.push(wasm_time);
    }

    let (native, sandboxed) = (median(&mut native_times), median(&mut wasm_times));
    let rate = |d: Duration| rows as f64 / d.as_secs_f64();
    println!(
        "{:<22} {:>10} {:>16}   (median of {rounds} rounds; fastest, slowest)",
        "evaluator", "seconds", "rows/s"
    );
    for (label, median, times) in [
        ("native", native, &native_times),
        ("wasm (lfhost sandbox)", sandboxed, &wasm_times),
    ] {
        println!(
            "{label:<22} {:>10.3} {:>16.0}   ({:.3}, {:.3})",
            median.as_secs_f64(),
            rate(median),
            times[0].as_secs_f64(),
            times[times.len() - 1].as_secs_f64()
        );
    }
    println!(
        "wasm / native time ratio: {:.2}x (of the medians)",
        sandboxed.as_secs_f64() / native.as_secs_f64()
    );
    Ok(())
}

/// Sorts `times` and returns their median (the mean of the middle two for
/// an even count).
fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2
    }
}

fn native(
    engine: &expectations::Expectations,
    batches: &[RecordBatch],
) -> anyhow::Result<(Duration, usize)> {
    let started = Instant::now();
    let mut kept = 0usize;
    for batch in batches {
        let outcome = engine.evaluate(batch).map_err(|e| anyhow::anyhow!("{e}"))?;
        kept += outcome.main.num_rows();
    }
    Ok((started.elapsed(), kept))
}

/// One flow of the plugin (a fresh instance) over every batch.
async fn sandboxed(
    plugin: Arc<Plugin>,
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> anyhow::Result<(Duration, usize)> {
    let schema = schema.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<(Duration, usize)> {
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
        if report.counters.get("rows_out") != i64::try_from(kept).ok() {
            anyhow::bail!(
                "the plugin counted {:?} rows out, its main output had {kept}",
                report.counters.get("rows_out")
            );
        }
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
