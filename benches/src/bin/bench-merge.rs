//! An incremental SCD type 1 merge against a full refresh of the same
//! table, through the real `lfhost` binary and plugins, in one run.
//!
//!     cargo run --release -p lfhost-bench --bin bench-merge -- [KEYS] [DIR]
//!
//! Loads KEYS customers (default 5,000,000) through bronze (Parquet) into
//! an SCD1 table, then for each kind of 1% update (the newest keys, a
//! contiguous range as recent activity gives; and keys spread at random)
//! times an incremental run and a full refresh of the merge table, and
//! prints wall time, peak memory (RSS of the lfhost process) and ratios.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;

const DEFAULT_KEYS: usize = 5_000_000;
const BATCH: usize = 1 << 20;
const CHANGED_PERCENT: usize = 1;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let keys: usize = match args.next() {
        Some(text) => text
            .parse()
            .with_context(|| format!("KEYS must be a number, got `{text}`"))?,
        None => DEFAULT_KEYS,
    };
    let dir = match args.next() {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join("lfhost-bench-merge"),
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the bench crate has no parent folder")?
        .to_path_buf();
    let binary = repo.join("target/release/lfhost");
    let wasm = repo.join("target/wasm32-wasip2/release");
    for needed in [
        binary.clone(),
        wasm.join("bronze_ingest.wasm"),
        wasm.join("cdc.wasm"),
    ] {
        if !needed.exists() {
            bail!(
                "{} is missing: run scripts/build.sh first",
                needed.display()
            );
        }
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    let landing = dir.join("landing/customers");
    std::fs::create_dir_all(&landing)?;
    let pipeline = dir.join("pipeline.toml");
    std::fs::write(&pipeline, pipeline_text(&wasm))?;

    let changed = keys * CHANGED_PERCENT / 100;
    println!("bench-merge: {keys} keys, {changed} changed per update ({CHANGED_PERCENT}%)");
    let started = Instant::now();
    write_changes(&landing.join("batch-0000.parquet"), 0..keys as i64, 0)?;
    println!("  data generated in {:.1?}", started.elapsed());
    let lfhost = Lfhost {
        binary,
        pipeline,
        dir: dir.clone(),
    };
    let load = lfhost.run(&[])?;
    println!("  initial load (bronze + merge): {load}");

    let newest = (keys - changed) as i64..keys as i64;
    let spread: Vec<i64> = (0..changed as i64)
        .map(|i| i * (keys / changed.max(1)) as i64)
        .collect();
    let updates: [(&str, Vec<i64>); 2] = [
        ("the newest 1% of keys", newest.collect()),
        ("1% of keys spread evenly", spread),
    ];
    for (round, (label, ids)) in updates.into_iter().enumerate() {
        let file = landing.join(format!("batch-{:04}.parquet", round + 1));
        write_changes(&file, ids.into_iter(), (round + 1) as i64)?;
        let incremental = lfhost.run(&[])?;
        let full = lfhost.run(&["--full-refresh", "silver_customers"])?;
        println!("  update: {label}");
        println!("    incremental run:  {incremental}");
        println!("    full refresh:     {full}");
        println!(
            "    incremental / full refresh: time {:.3}, peak memory {:.3}",
            incremental.wall.as_secs_f64() / full.wall.as_secs_f64(),
            incremental.peak_rss_kib as f64 / full.peak_rss_kib.max(1) as f64
        );
    }
    Ok(())
}

fn pipeline_text(wasm: &Path) -> String {
    format!(
        r#"[pipeline]
name = "bench-merge"
lake = "lake"

[plugins]
bronze = {{ path = "{wasm}/bronze_ingest.wasm" }}
cdc = {{ path = "{wasm}/cdc.wasm" }}

[tables.bronze_customers]
plugin = "bronze"
source = {{ path = "landing/customers", pattern = "*.parquet" }}

[tables.bronze_customers.options]
format = "parquet"
columns = [
  {{ name = "customer_id", type = "int64" }},
  {{ name = "first_name", type = "string" }},
  {{ name = "email", type = "string" }},
  {{ name = "operation", type = "string" }},
  {{ name = "updated_at", type = "timestamp" }},
]

[tables.silver_customers]
plugin = "cdc"
inputs = ["bronze_customers"]

[tables.silver_customers.options]
keys = ["customer_id"]
sequence_by = "updated_at"
apply_as_deletes = "operation = 'DELETE'"
except_column_list = ["operation", "_rescued_data", "_source_file", "_ingested_at"]
"#,
        wasm = wasm.display()
    )
}

/// One change per id, all at sequence `round` (so later rounds win).
fn write_changes(path: &Path, ids: impl Iterator<Item = i64>, round: i64) -> anyhow::Result<()> {
    let utc = Some(Arc::from("UTC"));
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("first_name", DataType::Utf8, false),
        Field::new("email", DataType::Utf8, false),
        Field::new("operation", DataType::Utf8, false),
        Field::new(
            "updated_at",
            DataType::Timestamp(TimeUnit::Microsecond, utc.clone()),
            false,
        ),
    ]));
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), None)?;
    let ids: Vec<i64> = ids.collect();
    let base = 1_767_225_600_000_000i64; // 2026-01-01T00:00:00Z
    for chunk in ids.chunks(BATCH) {
        let names: Vec<String> = chunk
            .iter()
            .map(|id| format!("name-{id}-{round}"))
            .collect();
        let emails: Vec<String> = chunk
            .iter()
            .map(|id| format!("c{id}.r{round}@example.com"))
            .collect();
        let operation = if round == 0 { "INSERT" } else { "UPDATE" };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(chunk.to_vec())),
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(emails)),
            Arc::new(StringArray::from(vec![operation; chunk.len()])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![base + round * 1_000_000; chunk.len()])
                    .with_timezone_opt(utc.clone()),
            ),
        ];
        writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
    }
    writer.close()?;
    Ok(())
}

struct Lfhost {
    binary: PathBuf,
    pipeline: PathBuf,
    dir: PathBuf,
}

struct Measured {
    wall: Duration,
    peak_rss_kib: i64,
}

impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>7.2} s, peak RSS {:>6} MiB",
            self.wall.as_secs_f64(),
            self.peak_rss_kib / 1024
        )
    }
}

impl Lfhost {
    /// Runs the pipeline once and measures the lfhost process alone.
    fn run(&self, extra: &[&str]) -> anyhow::Result<Measured> {
        let started = Instant::now();
        let child = Command::new(&self.binary)
            .arg("run")
            .arg(&self.pipeline)
            .args(extra)
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .env("LFHOST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let (status, peak_rss_kib) = wait_with_rusage(child.id())?;
        let wall = started.elapsed();
        if status != 0 {
            bail!("lfhost run {extra:?} exited with status {status}");
        }
        Ok(Measured { wall, peak_rss_kib })
    }
}

/// Waits for the child and returns its exit status and peak RSS (KiB),
/// which only `wait4` reports per child.
fn wait_with_rusage(pid: u32) -> anyhow::Result<(i32, i64)> {
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = libc::pid_t::try_from(pid)?;
    // SAFETY: pid is our own child, not yet waited for; both pointers are valid.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        bail!(
            "waiting for lfhost failed: {}",
            std::io::Error::last_os_error()
        );
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok((code, usage.ru_maxrss))
}
