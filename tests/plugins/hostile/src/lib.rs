//! A plugin that misbehaves on purpose, to prove the sandbox holds.
//!
//! Option `behaviour` picks what it does when asked to ingest a file:
//! `loop` spins forever, `memory_bomb` allocates without bound, `recursion`
//! recurses without bound, `panic` panics, `garbage` emits bytes that are not
//! Arrow IPC, `wrong_schema` emits a batch unlike its declared schema.

// Only the wasm build exports the stage; natively nothing uses it.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lfhost_plugin_sdk::{
    Descriptor, Error, LandingFile, RunContext, Stage, StageKind, export_stage, parse_options,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    behaviour: String,
}

struct Hostile {
    behaviour: String,
}

fn declared() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "value",
        DataType::Int64,
        true,
    )]))
}

impl Stage for Hostile {
    fn describe() -> Descriptor {
        Descriptor::new("hostile", env!("CARGO_PKG_VERSION"), StageKind::Ingest)
            .with_description("Misbehaves on purpose (test subject for the sandbox)")
            .with_option(
                "behaviour",
                "string",
                true,
                None,
                "loop | memory_bomb | recursion | panic | garbage | wrong_schema",
            )
    }

    fn plan(
        options: &str,
        _inputs: &[(String, SchemaRef)],
    ) -> Result<Vec<(String, SchemaRef)>, Error> {
        let _: Options = parse_options(options)?;
        Ok(vec![("main".to_string(), declared())])
    }

    fn open(
        options: &str,
        _inputs: &[(String, SchemaRef)],
        _context: RunContext,
    ) -> Result<Self, Error> {
        let options: Options = parse_options(options)?;
        Ok(Hostile {
            behaviour: options.behaviour,
        })
    }

    fn ingest(&mut self, _file: LandingFile) -> Result<(), Error> {
        match self.behaviour.as_str() {
            "loop" => spin(),
            "memory_bomb" => hoard(),
            "recursion" => {
                let depth = recurse(std::hint::black_box(1));
                Err(Error::internal(format!("recursion ended at {depth}")))
            }
            "panic" => panic!("hostile plugin panicking on purpose"),
            "garbage" => lfhost_plugin_sdk::bindings::lfhost::plugin::host::emit(
                "main",
                b"definitely not arrow",
            )
            .map_err(Error::internal),
            "wrong_schema" => {
                let schema = Arc::new(Schema::new(vec![Field::new(
                    "other",
                    DataType::Int64,
                    true,
                )]));
                let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1]))])
                    .map_err(|e| Error::internal(e.to_string()))?;
                lfhost_plugin_sdk::emit("main", &batch)
            }
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

export_stage!(Hostile);
