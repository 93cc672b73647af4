//! A plugin that misbehaves on purpose, to prove the sandbox holds.
//!
//! Option `behaviour` picks what it does when asked to ingest a file:
//!
//! - `loop` spins forever; `memory_bomb` allocates without bound;
//!   `recursion` recurses without bound; `panic` panics;
//! - `garbage` emits bytes that are not Arrow IPC; `truncated_ipc` a valid
//!   batch cut short; `trailing_ipc` a valid batch followed by extra bytes;
//!   `forged_ipc` a batch whose framing is intact but whose buffer
//!   descriptor claims far more bytes than its body holds;
//! - `wrong_schema` emits a batch unlike its declared schema;
//! - `giant_batch` emits one batch of 8 MiB; `giant_output` emits 1 MiB
//!   batches without end;
//! - `trap_on_fifth` emits one batch for each of the first four files, then
//!   executes `unreachable` on the fifth;
//! - `slow` burns `iterations` rounds of CPU, then legally emits the
//!   integers of the file (one per line);
//! - `environment` reports what the sandbox shows it of its environment
//!   variables, arguments and stdin, as `key`/`value` rows;
//! - `selection_outside_push` emits selected rows while no batch is being
//!   pushed; `take_unretained` takes rows of an input it never retained.

// Only the wasm build exports the stage; natively nothing uses it.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

use std::io::Read;
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lfhost_plugin_sdk::{
    Descriptor, Error, LandingFile, RunContext, Stage, StageKind, export_stage, parse_options,
    read_landing,
};
use serde::Deserialize;

const BEHAVIOURS: &str = "loop | memory_bomb | recursion | panic | garbage | truncated_ipc | \
     trailing_ipc | forged_ipc | wrong_schema | giant_batch | giant_output | trap_on_fifth | \
     slow | environment | selection_outside_push | take_unretained";

/// Rows of one `giant_output` batch: 1 MiB of Int64 values.
const GIANT_OUTPUT_ROWS: usize = 128 << 10;
/// Rows of the `giant_batch` batch: 8 MiB of Int64 values.
const GIANT_BATCH_ROWS: usize = 1 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    behaviour: String,
    /// Rounds of work `slow` does before it emits.
    #[serde(default)]
    iterations: u64,
}

struct Hostile {
    behaviour: String,
    iterations: u64,
    /// Files ingested so far by this flow.
    files: u64,
}

fn values_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "value",
        DataType::Int64,
        true,
    )]))
}

fn environment_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, true),
    ]))
}

fn declared(behaviour: &str) -> SchemaRef {
    if behaviour == "environment" {
        environment_schema()
    } else {
        values_schema()
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(e.to_string())
}

fn values_batch(values: Vec<i64>) -> Result<RecordBatch, Error> {
    RecordBatch::try_new(values_schema(), vec![Arc::new(Int64Array::from(values))])
        .map_err(internal)
}

/// Valid IPC bytes of a small batch in the declared schema.
fn small_batch_bytes() -> Result<Vec<u8>, Error> {
    Ok(lfhost_ipc::encode_batch(&values_batch(vec![1, 2, 3])?)?)
}

/// Hands raw bytes to the host as a batch of `main`.
fn emit_raw(bytes: &[u8]) -> Result<(), Error> {
    lfhost_plugin_sdk::bindings::lfhost::plugin::host::emit("main", bytes).map_err(Error::internal)
}

impl Stage for Hostile {
    fn describe() -> Descriptor {
        Descriptor::new("hostile", env!("CARGO_PKG_VERSION"), StageKind::Ingest)
            .with_description("Misbehaves on purpose (test subject for the sandbox)")
            .with_option("behaviour", "string", true, None, BEHAVIOURS)
            .with_option(
                "iterations",
                "integer",
                false,
                Some("0"),
                "rounds of CPU work `slow` does before it emits",
            )
    }

    fn plan(
        options: &str,
        _inputs: &[(String, SchemaRef)],
    ) -> Result<Vec<(String, SchemaRef)>, Error> {
        let options: Options = parse_options(options)?;
        Ok(vec![("main".to_string(), declared(&options.behaviour))])
    }

    fn open(
        options: &str,
        _inputs: &[(String, SchemaRef)],
        _context: RunContext,
    ) -> Result<Self, Error> {
        let options: Options = parse_options(options)?;
        Ok(Hostile {
            behaviour: options.behaviour,
            iterations: options.iterations,
            files: 0,
        })
    }

    fn ingest(&mut self, file: LandingFile) -> Result<(), Error> {
        self.files += 1;
        match self.behaviour.as_str() {
            "loop" => spin(),
            "memory_bomb" => hoard(),
            "recursion" => {
                let depth = recurse(std::hint::black_box(1));
                Err(Error::internal(format!("recursion ended at {depth}")))
            }
            "panic" => panic!("hostile plugin panicking on purpose"),
            "garbage" => emit_raw(b"definitely not arrow"),
            "truncated_ipc" => {
                let bytes = small_batch_bytes()?;
                emit_raw(&bytes[..bytes.len() / 2])
            }
            "trailing_ipc" => {
                let mut bytes = small_batch_bytes()?;
                bytes.extend_from_slice(b"smuggled");
                emit_raw(&bytes)
            }
            "forged_ipc" => emit_raw(&forged_ipc()?),
            "wrong_schema" => {
                let schema = Arc::new(Schema::new(vec![Field::new(
                    "other",
                    DataType::Int64,
                    true,
                )]));
                let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1]))])
                    .map_err(internal)?;
                lfhost_plugin_sdk::emit("main", &batch)
            }
            "giant_batch" => {
                let values: Vec<i64> = (0..GIANT_BATCH_ROWS as i64).collect();
                lfhost_plugin_sdk::emit("main", &values_batch(values)?)
            }
            "giant_output" => {
                let values: Vec<i64> = (0..GIANT_OUTPUT_ROWS as i64).collect();
                let batch = values_batch(values)?;
                loop {
                    lfhost_plugin_sdk::emit("main", &batch)?;
                }
            }
            "trap_on_fifth" => {
                if self.files == 5 {
                    trap();
                }
                let first = i64::try_from(self.files).map_err(internal)? * 100;
                lfhost_plugin_sdk::emit("main", &values_batch((first..first + 10).collect())?)
            }
            "slow" => {
                let checksum = burn(self.iterations);
                lfhost_plugin_sdk::add_counter(
                    "burn_checksum_low_bits",
                    (checksum & 0xffff) as i64,
                );
                let values = read_integers(&file)?;
                lfhost_plugin_sdk::emit("main", &values_batch(values)?)
            }
            "environment" => report_environment(),
            "selection_outside_push" => {
                lfhost_plugin_sdk::bindings::lfhost::plugin::rows::emit_selected(
                    "main",
                    &[0xff],
                    None,
                )
                .map_err(Error::internal)
            }
            "take_unretained" => lfhost_plugin_sdk::bindings::lfhost::plugin::rows::emit_taken(
                "main",
                "nope",
                &["value".to_string()],
                &[0],
                None,
            )
            .map_err(Error::internal),
            other => Err(Error::option(
                "behaviour",
                format!("unknown behaviour `{other}`"),
            )),
        }
    }
}

fn spin() -> Result<(), Error> {
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

fn hoard() -> Result<(), Error> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 16 << 20]);
        std::hint::black_box(&hoard);
    }
}

fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 64]);
    if std::hint::black_box(depth) == 0 {
        frame[0]
    } else {
        recurse(depth + 1).wrapping_add(frame[1])
    }
}

/// A real Wasm trap, not a Rust panic: nothing runs after it.
fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

/// `iterations` rounds of xorshift: pure CPU, no allocation.
fn burn(iterations: u64) -> u64 {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..iterations {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = std::hint::black_box(x);
    }
    x
}

/// The whole landing file, parsed as one integer per non-empty line.
fn read_integers(file: &LandingFile) -> Result<Vec<i64>, Error> {
    let mut bytes = Vec::new();
    while (bytes.len() as u64) < file.size {
        let chunk = read_landing(bytes.len() as u64, 1 << 20)?;
        if chunk.is_empty() {
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(bytes).map_err(|e| Error::data(format!("{}: {e}", file.path)))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.parse::<i64>()
                .map_err(|e| Error::data(format!("{}: `{l}`: {e}", file.path)))
        })
        .collect()
}

/// A one-row batch whose framing (message and body lengths) is intact, but
/// whose values buffer claims 2^40 bytes of a 64-byte body.
fn forged_ipc() -> Result<Vec<u8>, Error> {
    let mut bytes = lfhost_ipc::encode_batch(&values_batch(vec![7])?)?;
    // The record batch header lists its buffers as (offset: i64, length:
    // i64) structs: validity (0, 0) then values (0, 8).
    let mut pattern = Vec::new();
    for v in [0i64, 0, 0, 8] {
        pattern.extend_from_slice(&v.to_le_bytes());
    }
    let at = bytes
        .windows(pattern.len())
        .position(|w| w == pattern.as_slice())
        .ok_or_else(|| Error::internal("forged_ipc: no buffer descriptor found to forge"))?;
    let length_at = at + 24;
    bytes[length_at..length_at + 8].copy_from_slice(&(1i64 << 40).to_le_bytes());
    Ok(bytes)
}

/// Emits what the plugin can see of its environment, arguments and stdin.
fn report_environment() -> Result<(), Error> {
    let vars: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut stdin = Vec::new();
    let stdin_result = std::io::stdin().read_to_end(&mut stdin);
    let mut rows: Vec<(String, String)> = vec![
        ("env_count".to_string(), vars.len().to_string()),
        ("args_count".to_string(), args.len().to_string()),
        (
            "stdin".to_string(),
            match stdin_result {
                Ok(n) => format!("{n} bytes"),
                Err(e) => format!("error: {e}"),
            },
        ),
    ];
    rows.extend(vars.into_iter().map(|(k, v)| (format!("env:{k}"), v)));
    rows.extend(
        args.into_iter()
            .enumerate()
            .map(|(i, a)| (format!("arg:{i}"), a)),
    );
    if !stdin.is_empty() {
        rows.push((
            "stdin:content".to_string(),
            String::from_utf8_lossy(&stdin).into_owned(),
        ));
    }
    let (keys, values): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
    let batch = RecordBatch::try_new(
        environment_schema(),
        vec![
            Arc::new(StringArray::from(keys)),
            Arc::new(StringArray::from(values)),
        ],
    )
    .map_err(internal)?;
    lfhost_plugin_sdk::emit("main", &batch)
}

export_stage!(Hostile);
