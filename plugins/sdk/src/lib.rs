//! Write an lfhost pipeline stage in Rust.
//!
//! The common case is a row-wise transform with typed options: implement
//! [`Transform`] and call [`export_transform!`] once. This one upper-cases
//! a string column named by its `column` option:
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{RecordBatch, StringArray, cast::AsArray};
//! use arrow_schema::{DataType, SchemaRef};
//! use lfhost_plugin_sdk::{export_transform, Descriptor, Error, RunContext, StageKind, Transform};
//!
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Options { column: String }
//!
//! struct Upper { index: usize }
//!
//! fn string_column(options: &Options, input: &SchemaRef) -> Result<usize, Error> {
//!     match input.index_of(&options.column) {
//!         Ok(i) if input.field(i).data_type() == &DataType::Utf8 => Ok(i),
//!         _ => Err(Error::option("column", format!("no string column `{}`", options.column))),
//!     }
//! }
//!
//! impl Transform for Upper {
//!     type Options = Options;
//!     fn describe() -> Descriptor {
//!         Descriptor::new("upper", "0.1.0", StageKind::Transform)
//!             .with_option("column", "string", true, None, "The string column to upper-case.")
//!     }
//!     fn output_schema(options: &Options, input: &SchemaRef) -> Result<SchemaRef, Error> {
//!         string_column(options, input).map(|_| input.clone())
//!     }
//!     fn new(options: Options, input: SchemaRef, _: RunContext) -> Result<Self, Error> {
//!         Ok(Upper { index: string_column(&options, &input)? })
//!     }
//!     fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error> {
//!         let upper: StringArray = batch.column(self.index).as_string::<i32>()
//!             .iter().map(|v| v.map(str::to_uppercase)).collect();
//!         let mut columns = batch.columns().to_vec();
//!         columns[self.index] = Arc::new(upper);
//!         RecordBatch::try_new(batch.schema(), columns).map_err(|e| Error::internal(e.to_string()))
//!     }
//! }
//!
//! export_transform!(Upper);
//! ```
//!
//! Stages that ingest files, merge or take several inputs implement
//! [`Stage`] and call [`export_stage!`]. Build with `cargo build --release
//! --target wasm32-wasip2`; the `.wasm` file is the component the host
//! loads. [`run_transform`] runs a transform natively in unit tests.

mod adapter;
mod memcmp;
mod options;
mod transform;

use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_schema::SchemaRef;

pub use adapter::FlowAdapter;
pub use options::{OptionsError, parse_options};
pub use transform::{Transform, TransformStage, run_transform};

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "stage-plugin",
        path: "../../wit",
        pub_export_macro: true,
        default_bindings_module: "lfhost_plugin_sdk::bindings",
    });
}

pub use bindings::exports::lfhost::plugin::stage::LandingFile;
pub use bindings::lfhost::plugin::types::{OptionDoc, StageKind};

/// Who a plugin is and what it accepts.
pub type Descriptor = bindings::lfhost::plugin::types::Descriptor;

/// What a flow knows about its run.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: String,
    pub table: String,
    /// The run's start in microseconds since the Unix epoch, UTC.
    pub run_started_at: i64,
}

/// The name of the output every stage has.
pub const MAIN_OUTPUT: &str = "main";

/// An error a stage returns to the host.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// `option` is the dotted path of the offending option, e.g. `columns.2.type`.
    InvalidOption {
        option: String,
        message: String,
    },
    InvalidData(String),
    Internal(String),
}

impl Error {
    pub fn option(option: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidOption {
            option: option.into(),
            message: message.into(),
        }
    }
    pub fn data(message: impl Into<String>) -> Self {
        Error::InvalidData(message.into())
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidOption { option, message } => write!(f, "option `{option}`: {message}"),
            Error::InvalidData(m) | Error::Internal(m) => f.write_str(m),
        }
    }
}

impl From<lfhost_ipc::IpcError> for Error {
    fn from(e: lfhost_ipc::IpcError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<OptionsError> for Error {
    fn from(e: OptionsError) -> Self {
        Error::InvalidOption {
            option: e.path,
            message: e.message,
        }
    }
}

/// A pipeline stage. One value of the type lives for one flow (one table's
/// work in one run); the host never reuses it.
pub trait Stage: Sized + 'static {
    /// Name, version, kind and accepted options.
    fn describe() -> Descriptor;

    /// Checks `options` (JSON object text) against the inputs' schemas and
    /// returns the output schemas; the first must be named [`MAIN_OUTPUT`].
    fn plan(
        options: &str,
        inputs: &[(String, SchemaRef)],
    ) -> Result<Vec<(String, SchemaRef)>, Error>;

    /// Starts a flow.
    fn open(
        options: &str,
        inputs: &[(String, SchemaRef)],
        context: RunContext,
    ) -> Result<Self, Error>;

    /// Ingest stages: read `file` with [`read_landing`] and [`emit`] its rows.
    fn ingest(&mut self, file: LandingFile) -> Result<(), Error> {
        Err(Error::internal(format!(
            "this stage does not ingest files (asked for {})",
            file.path
        )))
    }

    /// One batch of the input named `input`.
    fn push(&mut self, input: &str, _batch: RecordBatch) -> Result<(), Error> {
        Err(Error::internal(format!(
            "this stage takes no pushed input (got a batch for `{input}`)"
        )))
    }

    /// No more input: emit what is left.
    fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// The single input of a one-input stage, or an error naming `stage`.
pub fn one_input<'a>(
    stage: &str,
    inputs: &'a [(String, SchemaRef)],
) -> Result<&'a (String, SchemaRef), Error> {
    match inputs {
        [one] => Ok(one),
        _ => Err(Error::internal(format!(
            "{stage} takes exactly one input, got {}",
            inputs.len()
        ))),
    }
}

/// Checks that a pushed batch has the columns (names and types, in order)
/// the stage was planned with. Nullability and field metadata may differ:
/// what a table stores need not match what a plugin declared bit for bit.
pub fn check_batch_schema(
    expected: &arrow_schema::Schema,
    batch: &RecordBatch,
) -> Result<(), Error> {
    let got = batch.schema();
    let same = got.fields().len() == expected.fields().len()
        && got
            .fields()
            .iter()
            .zip(expected.fields().iter())
            .all(|(g, e)| g.name() == e.name() && g.data_type() == e.data_type());
    if same {
        return Ok(());
    }
    let describe = |schema: &arrow_schema::Schema| {
        let fields: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| format!("{} {}", f.name(), f.data_type()))
            .collect();
        format!("({})", fields.join(", "))
    };
    Err(Error::data(format!(
        "a batch's columns {} differ from the planned input {}",
        describe(&got),
        describe(expected)
    )))
}

/// Hands one batch of `output` to the host.
pub fn emit(output: &str, batch: &RecordBatch) -> Result<(), Error> {
    let bytes = lfhost_ipc::encode_batch(batch)?;
    bindings::lfhost::plugin::host::emit(output, &bytes).map_err(Error::Internal)
}

/// Asks the host to push only `columns` of `input`, in its schema's order,
/// from the next batch on (all of them again when `columns` is empty). Rows
/// emitted with [`emit_selected`] still carry every column.
pub fn project(input: &str, columns: &[String]) -> Result<(), Error> {
    bindings::lfhost::plugin::rows::project(input, columns).map_err(Error::Internal)
}

/// Like [`project`], and the host keeps no other column of `input` either:
/// called in `open`, it reads only `columns` from storage. For a stage that
/// builds its output from what it reads; afterwards [`emit_selected`] emits
/// only these columns and [`retain`] may name only these.
pub fn read_only(input: &str, columns: &[String]) -> Result<(), Error> {
    bindings::lfhost::plugin::rows::read_only(input, columns).map_err(Error::Internal)
}

/// Emits to `output` the rows of the batch being pushed where `selection`
/// is true (a null is false), with every input column the host holds for
/// them, then the columns of `extra` (one row per selected row). Only rows'
/// positions cross the boundary, not their values.
pub fn emit_selected(
    output: &str,
    selection: &BooleanArray,
    extra: Option<&RecordBatch>,
) -> Result<(), Error> {
    let bits = match selection.nulls() {
        Some(valid) => selection.values() & valid.inner(),
        None => selection.values().clone(),
    };
    // `sliced` starts the bitmap at bit 0, which is what the host reads.
    let bytes = bits.sliced();
    let bytes = bytes
        .as_slice()
        .get(..bits.len().div_ceil(8))
        .ok_or_else(|| Error::internal("a selection's bitmap is shorter than its rows"))?;
    let extra = extra.map(lfhost_ipc::encode_batch).transpose()?;
    bindings::lfhost::plugin::rows::emit_selected(output, bytes, extra.as_deref())
        .map_err(Error::Internal)
}

/// Asks the host to keep `columns` of every batch of `input` pushed from
/// now on, for [`emit_taken`].
pub fn retain(input: &str, columns: &[String]) -> Result<(), Error> {
    bindings::lfhost::plugin::rows::retain(input, columns).map_err(Error::Internal)
}

/// Emits to `output` rows of `input` pushed since [`retain`], by position
/// in push order: each takes the input's `columns` from its row, then the
/// columns of `extra` (one row per position).
pub fn emit_taken(
    output: &str,
    input: &str,
    columns: &[String],
    rows: &[u32],
    extra: Option<&RecordBatch>,
) -> Result<(), Error> {
    let extra = extra.map(lfhost_ipc::encode_batch).transpose()?;
    bindings::lfhost::plugin::rows::emit_taken(output, input, columns, rows, extra.as_deref())
        .map_err(Error::Internal)
}

/// Up to `len` bytes at `offset` of the landing file being ingested.
pub fn read_landing(offset: u64, len: u32) -> Result<Vec<u8>, Error> {
    bindings::lfhost::plugin::landing::read(offset, len).map_err(Error::InvalidData)
}

/// Adds `delta` to the flow's counter `name`.
pub fn add_counter(name: &str, delta: i64) {
    bindings::lfhost::plugin::host::add_counter(name, delta);
}

/// Log lines, shown by the host with the table and plugin names.
pub mod log {
    use crate::bindings::lfhost::plugin::host::{Level, log};
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }
    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

impl Descriptor {
    /// A descriptor with no description and no options yet.
    pub fn new(name: &str, version: &str, kind: StageKind) -> Self {
        Descriptor {
            name: name.to_string(),
            version: version.to_string(),
            description: String::new(),
            kind,
            options: Vec::new(),
        }
    }

    pub fn with_description(mut self, description: &str) -> Self {
        self.description = description.to_string();
        self
    }

    /// Documents one option; `default` is TOML text.
    pub fn with_option(
        mut self,
        name: &str,
        type_name: &str,
        required: bool,
        default: Option<&str>,
        description: &str,
    ) -> Self {
        self.options.push(OptionDoc {
            name: name.to_string(),
            type_name: type_name.to_string(),
            required,
            default_value: default.map(str::to_string),
            description: description.to_string(),
        });
        self
    }
}

/// Exports a [`Stage`] implementation as the plugin's component interface.
///
/// Expands to nothing outside wasm: the component's export names are not
/// valid native symbols, and native builds (unit tests) need no exports.
#[macro_export]
macro_rules! export_stage {
    ($stage:ty) => {
        #[cfg(target_family = "wasm")]
        struct __LfhostStageExport;

        #[cfg(target_family = "wasm")]
        impl $crate::bindings::exports::lfhost::plugin::stage::Guest for __LfhostStageExport {
            type Flow = $crate::FlowAdapter<$stage>;

            fn describe() -> $crate::Descriptor {
                <$stage as $crate::Stage>::describe()
            }

            fn plan(
                options: ::std::string::String,
                inputs: ::std::vec::Vec<$crate::bindings::lfhost::plugin::types::NamedSchema>,
            ) -> ::std::result::Result<
                ::std::vec::Vec<$crate::bindings::lfhost::plugin::types::NamedSchema>,
                $crate::bindings::lfhost::plugin::types::Error,
            > {
                $crate::FlowAdapter::<$stage>::plan(options, inputs)
            }
        }

        #[cfg(target_family = "wasm")]
        $crate::bindings::export!(__LfhostStageExport with_types_in $crate::bindings);
    };
}
