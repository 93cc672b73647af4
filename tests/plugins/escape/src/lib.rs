//! Reaches for what a plugin must not have: a file, the clocks, a socket,
//! a name lookup, a long sleep. The host links WASI sealed, so each attempt
//! gets a refusal or a frozen answer; the plugin writes what it got as rows
//! (`key`, `value`) for the test to check.

// Only the wasm build exports the stage; natively nothing uses it.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lfhost_plugin_sdk::{
    Descriptor, Error, LandingFile, RunContext, Stage, StageKind, emit, export_stage,
};

struct Escape;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
    ]))
}

fn outcome<T>(result: std::io::Result<T>, got: impl FnOnce(T) -> String) -> String {
    match result {
        Ok(value) => got(value),
        Err(e) => format!("refused: {e}"),
    }
}

impl Stage for Escape {
    fn describe() -> Descriptor {
        Descriptor::new("escape", env!("CARGO_PKG_VERSION"), StageKind::Ingest)
    }

    fn plan(
        _options: &str,
        _inputs: &[(String, SchemaRef)],
    ) -> Result<Vec<(String, SchemaRef)>, Error> {
        Ok(vec![("main".to_string(), schema())])
    }

    fn open(
        _options: &str,
        _inputs: &[(String, SchemaRef)],
        _context: RunContext,
    ) -> Result<Self, Error> {
        Ok(Escape)
    }

    fn ingest(&mut self, _file: LandingFile) -> Result<(), Error> {
        let file = outcome(std::fs::read_to_string("/etc/passwd"), |s| {
            format!("read {} bytes", s.len())
        });
        let listing = outcome(std::fs::read_dir("."), |d| format!("{} entries", d.count()));
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or_else(|_| "before 1970".to_string(), |d| d.as_secs().to_string());
        let started = Instant::now();
        std::thread::sleep(Duration::from_secs(3600));
        let slept = format!("{} s", started.elapsed().as_secs());
        let socket = outcome(TcpStream::connect("127.0.0.1:9"), |_| {
            "connected".to_string()
        });
        let lookup = outcome("localhost:80".to_socket_addrs(), |a| {
            format!("{} addresses", a.count())
        });
        let rows = [
            ("file", file),
            ("listing", listing),
            ("wall_clock_seconds", wall),
            ("sleep_3600s_took", slept),
            ("socket", socket),
            ("name_lookup", lookup),
        ];
        let keys: Vec<&str> = rows.iter().map(|(k, _)| *k).collect();
        let values: Vec<&str> = rows.iter().map(|(_, v)| v.as_str()).collect();
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringArray::from(keys)),
                Arc::new(StringArray::from(values)),
            ],
        )
        .map_err(|e| Error::internal(e.to_string()))?;
        emit("main", &batch)
    }
}

export_stage!(Escape);
