//! What one plugin instance costs: a flow opened and finished with no data
//! (a fresh Store and instance each time, as every table's flow gets), with
//! instances allocated on demand and from wasmtime's pooling allocator, in
//! one run; prints µs per instance and the ratio.
//!
//!     cargo run --release -p lfhost-bench --bin bench-instantiate -- [FLOWS]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};
use lfhost::sandbox::{Allocation, FlowContext, Limits, OutputSink, Sandbox};

const DEFAULT_FLOWS: usize = 2_000;
const OPTIONS: &str =
    r#"{"expectations": [{"name": "id", "expr": "id IS NOT NULL", "action": "drop"}]}"#;

fn main() -> anyhow::Result<()> {
    let flows: usize = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .with_context(|| format!("FLOWS must be a number, got `{text}`"))?,
        None => DEFAULT_FLOWS,
    };
    let wasm = std::env::var("LFHOST_EXPECTATIONS_WASM")
        .unwrap_or_else(|_| "target/wasm32-wasip2/release/expectations.wasm".to_string());
    let runtime = tokio::runtime::Runtime::new()?;
    let _guard = runtime.enter();
    let on_demand = time_flows(&wasm, Allocation::OnDemand, flows)?;
    let pooled = time_flows(
        &wasm,
        Allocation::Pooling {
            instances: 16,
            max_memory_bytes: Limits::default().memory_bytes,
        },
        flows,
    )?;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / flows as f64;
    println!(
        "bench-instantiate: {flows} flows of the expectations plugin (open + finish, no data)"
    );
    println!("  on demand: {:>8.1} µs per flow", per(on_demand));
    println!("  pooled:    {:>8.1} µs per flow", per(pooled));
    println!(
        "  pooled / on demand: {:.3}",
        pooled.as_secs_f64() / on_demand.as_secs_f64()
    );
    Ok(())
}

fn time_flows(wasm: &str, allocation: Allocation, flows: usize) -> anyhow::Result<Duration> {
    let sandbox = Sandbox::with_allocation(allocation)?;
    let plugin = sandbox.load(std::path::Path::new(wasm), None)?;
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    let inputs = vec![("input".to_string(), schema)];
    let outputs = plugin.plan(OPTIONS, &inputs, "bench")?;
    let context = FlowContext {
        run_id: "bench".into(),
        table: "bench".into(),
        run_started_at_micros: 0,
    };
    // Warm up: the first instances fault in code and, pooled, the slots.
    for _ in 0..10 {
        one_flow(&plugin, &inputs, &outputs, &context)?;
    }
    let started = Instant::now();
    for _ in 0..flows {
        one_flow(&plugin, &inputs, &outputs, &context)?;
    }
    Ok(started.elapsed())
}

fn one_flow(
    plugin: &lfhost::sandbox::Plugin,
    inputs: &[(String, arrow_schema::SchemaRef)],
    outputs: &[(String, arrow_schema::SchemaRef)],
    context: &FlowContext,
) -> anyhow::Result<()> {
    let mut sinks = HashMap::new();
    for (name, schema) in outputs {
        // Nothing is emitted without data; the receiver only has to exist.
        let (sender, _receiver) = tokio::sync::mpsc::channel::<RecordBatch>(1);
        sinks.insert(
            name.clone(),
            OutputSink {
                schema: schema.clone(),
                sender,
            },
        );
    }
    let flow = plugin.open_flow(OPTIONS, inputs, context, &Limits::default(), sinks)?;
    flow.finish()?;
    Ok(())
}
