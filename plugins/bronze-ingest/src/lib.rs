//! `bronze-ingest`: an lfhost ingest stage that turns CSV, JSON Lines and
//! Parquet landing files into Arrow batches of declared columns, keeping
//! whatever does not fit in `_rescued_data` instead of failing the run.
//!
//! The parsers only see a [`RangeSource`] and a [`Sink`], so that native
//! tests run them on bytes in memory; [`BronzeIngest`] wires them to the
//! host's `landing.read` and `emit`.

mod builders;
mod conform;
mod csv;
mod jsonl;
mod options;
mod parquet_file;
mod parquet_source;
mod parquet_zstd;
mod rows;
mod source;
mod values;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use arrow_schema::SchemaRef;
use lfhost_plugin_sdk::{Descriptor, Error, LandingFile, RunContext, Stage, StageKind};

pub use options::{
    Column, ColumnType, DEFAULT_BATCH_ROWS, Format, INGESTED_AT, MAX_BATCH_ROWS, Options, RAW_KEY,
    RESCUED_DATA, SOURCE_FILE,
};
pub use rows::{BatchStats, Sink};
pub use source::{MemorySource, RangeSource};

/// Bytes per `landing.read` call: large enough that the per-call cost is
/// noise, small enough to stay a modest allocation in the sandbox.
pub const DEFAULT_CHUNK_SIZE: u32 = 1 << 20;

/// Ingests files with one set of options; independent of the host.
#[derive(Debug, Clone)]
pub struct Ingestor {
    options: Options,
    schema: SchemaRef,
    ingested_at: i64,
    chunk_size: u32,
}

impl Ingestor {
    /// `ingested_at` (microseconds since the epoch, UTC) stamps every row.
    pub fn new(options: Options, ingested_at: i64) -> Self {
        let schema = options.output_schema();
        Ingestor {
            options,
            schema,
            ingested_at,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }

    /// Reads the file this many bytes at a time (at least 1).
    pub fn with_chunk_size(mut self, chunk_size: u32) -> Self {
        self.chunk_size = chunk_size.max(1);
        self
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The schema of every batch this emits.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Reads the file at `path` from `source` and hands its rows to `sink`
    /// in batches of at most `batch_rows`, in file order; a file's last
    /// batch may be shorter, and no batch mixes files.
    pub fn ingest(
        &self,
        path: &str,
        source: Arc<dyn RangeSource>,
        sink: &mut Sink<'_>,
    ) -> Result<(), Error> {
        let file = rows::FileContext {
            path,
            columns: &self.options.columns,
            schema: &self.schema,
            batch_rows: self.options.batch_rows,
            ingested_at: self.ingested_at,
            chunk_size: self.chunk_size,
        };
        match self.options.format {
            Format::Csv => csv::ingest(&file, source.as_ref(), sink),
            Format::Jsonl => jsonl::ingest(&file, source.as_ref(), sink),
            Format::Parquet => parquet_file::ingest(&file, source, sink),
        }
    }
}

/// The landing file the host is ingesting, read through `landing.read`.
struct HostSource {
    size: u64,
}

impl RangeSource for HostSource {
    fn size(&self) -> u64 {
        self.size
    }

    fn read(&self, offset: u64, len: u32) -> Result<Vec<u8>, Error> {
        lfhost_plugin_sdk::read_landing(offset, len)
    }
}

/// The stage the component exports.
pub struct BronzeIngest {
    ingestor: Ingestor,
}

const COUNTERS: [&str; 3] = ["rows", "rescued_rows", "malformed_records"];

impl Stage for BronzeIngest {
    fn describe() -> Descriptor {
        Descriptor::new("bronze-ingest", env!("CARGO_PKG_VERSION"), StageKind::Ingest)
            .with_description(
                "Reads CSV (header row, RFC 4180), JSON Lines or Parquet landing files into the declared \
                 columns, then `_rescued_data` (a JSON object of values that did not fit: unparsable \
                 values, undeclared fields, or `_raw` for a record that could not be split), \
                 `_source_file` and `_ingested_at` (the run's start).",
            )
            .with_option("format", r#""csv" | "jsonl" | "parquet""#, true, None, "The landing files' format.")
            .with_option(
                "columns",
                "list<{name: string, type: string}>",
                true,
                None,
                "The columns to produce, in order. `type` is one of int32, int64, float64, boolean, string, \
                 date, timestamp (microseconds, UTC) or decimal(P,S). Columns are matched by name; one \
                 missing from a file is null.",
            )
            .with_option(
                "batch_rows",
                "integer",
                false,
                Some(&DEFAULT_BATCH_ROWS.to_string()),
                "The most rows in one emitted batch.",
            )
    }

    fn plan(
        options: &str,
        inputs: &[(String, SchemaRef)],
    ) -> Result<Vec<(String, SchemaRef)>, Error> {
        no_inputs(inputs)?;
        let options = Options::parse(options)?;
        Ok(vec![(
            lfhost_plugin_sdk::MAIN_OUTPUT.to_string(),
            options.output_schema(),
        )])
    }

    fn open(
        options: &str,
        inputs: &[(String, SchemaRef)],
        context: RunContext,
    ) -> Result<Self, Error> {
        no_inputs(inputs)?;
        let options = Options::parse(options)?;
        Ok(BronzeIngest {
            ingestor: Ingestor::new(options, context.run_started_at),
        })
    }

    fn ingest(&mut self, file: LandingFile) -> Result<(), Error> {
        let source = Arc::new(HostSource { size: file.size });
        self.ingestor
            .ingest(&file.path, source, &mut |batch, stats| {
                lfhost_plugin_sdk::emit(lfhost_plugin_sdk::MAIN_OUTPUT, &batch)?;
                let deltas = [stats.rows, stats.rescued_rows, stats.malformed_records];
                for (name, delta) in COUNTERS.iter().zip(deltas) {
                    if delta > 0 {
                        lfhost_plugin_sdk::add_counter(
                            name,
                            i64::try_from(delta).unwrap_or(i64::MAX),
                        );
                    }
                }
                Ok(())
            })
    }

    fn finish(&mut self) -> Result<(), Error> {
        // A zero delta makes each counter appear in the event log even when
        // nothing was counted.
        for name in COUNTERS {
            lfhost_plugin_sdk::add_counter(name, 0);
        }
        Ok(())
    }
}

fn no_inputs(inputs: &[(String, SchemaRef)]) -> Result<(), Error> {
    match inputs.first() {
        None => Ok(()),
        Some((name, _)) => Err(Error::internal(format!(
            "bronze-ingest reads landing files and takes no input (got `{name}`)"
        ))),
    }
}

// Only the component exports: the export names (`lfhost:plugin/stage@...`)
// are not valid in a native linker's version script, and native builds
// exist only for the tests.
#[cfg(target_family = "wasm")]
lfhost_plugin_sdk::export_stage!(BronzeIngest);
