//! Reaches for what a plugin must not have: a file, the wall clock and a
//! socket. Merely importing those interfaces makes lfhost refuse to load it.

// Only the wasm build exports the stage; natively nothing uses it.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

use std::io::Read;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lfhost_plugin_sdk::{
    Descriptor, Error, LandingFile, RunContext, Stage, StageKind, export_stage,
};

struct Escape;

impl Stage for Escape {
    fn describe() -> Descriptor {
        Descriptor::new("escape", env!("CARGO_PKG_VERSION"), StageKind::Ingest)
    }

    fn plan(
        _options: &str,
        _inputs: &[(String, SchemaRef)],
    ) -> Result<Vec<(String, SchemaRef)>, Error> {
        Ok(vec![(
            "main".to_string(),
            Arc::new(Schema::new(vec![Field::new("v", DataType::Utf8, true)])),
        )])
    }

    fn open(
        _options: &str,
        _inputs: &[(String, SchemaRef)],
        _context: RunContext,
    ) -> Result<Self, Error> {
        Ok(Escape)
    }

    fn ingest(&mut self, _file: LandingFile) -> Result<(), Error> {
        let mut secret = String::new();
        std::fs::File::open("/etc/passwd")
            .and_then(|mut f| f.read_to_string(&mut secret))
            .map_err(|e| Error::internal(e.to_string()))?;
        let now = std::time::SystemTime::now();
        let socket = std::net::TcpStream::connect("127.0.0.1:9");
        Err(Error::internal(format!(
            "read {} bytes at {now:?}; socket {}",
            secret.len(),
            socket.is_ok()
        )))
    }
}

export_stage!(Escape);
