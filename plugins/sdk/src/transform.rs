//! The common case, made short: a one-input, row-wise stage with typed
//! options. Implement [`Transform`] and call [`export_transform!`].

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use serde::de::DeserializeOwned;

use crate::{Descriptor, Error, MAIN_OUTPUT, RunContext, Stage, emit, one_input, parse_options};

/// A stage that maps each input batch to one output batch.
pub trait Transform: Sized + 'static {
    /// The table's `options` table, parsed with serde. Mark it
    /// `#[serde(deny_unknown_fields)]` so that a misspelt option is an
    /// error that names it.
    type Options: DeserializeOwned;

    /// Name, version, kind and documented options.
    fn describe() -> Descriptor;

    /// The output schema for this input schema: what `lfhost validate`
    /// checks before any data moves. Errors name the offending option.
    fn output_schema(options: &Self::Options, input: &SchemaRef) -> Result<SchemaRef, Error>;

    /// Starts one flow (one table's work in one run).
    fn new(options: Self::Options, input: SchemaRef, context: RunContext) -> Result<Self, Error>;

    /// One batch in, one batch of the output schema out (it may be empty).
    fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error>;
}

/// Runs a [`Transform`] as a [`Stage`]; what [`export_transform!`] exports.
pub struct TransformStage<T: Transform> {
    transform: T,
}

impl<T: Transform> Stage for TransformStage<T> {
    fn describe() -> Descriptor {
        T::describe()
    }

    fn plan(
        options: &str,
        inputs: &[(String, SchemaRef)],
    ) -> Result<Vec<(String, SchemaRef)>, Error> {
        let options = parse_options::<T::Options>(options)?;
        let (_, input) = one_input(&T::describe().name, inputs)?;
        Ok(vec![(
            MAIN_OUTPUT.to_string(),
            T::output_schema(&options, input)?,
        )])
    }

    fn open(
        options: &str,
        inputs: &[(String, SchemaRef)],
        context: RunContext,
    ) -> Result<Self, Error> {
        let options = parse_options::<T::Options>(options)?;
        let (_, input) = one_input(&T::describe().name, inputs)?;
        let transform = T::new(options, input.clone(), context)?;
        Ok(TransformStage { transform })
    }

    fn push(&mut self, _input: &str, batch: RecordBatch) -> Result<(), Error> {
        let output = self.transform.transform(batch)?;
        if output.num_rows() == 0 {
            return Ok(());
        }
        emit(MAIN_OUTPUT, &output)
    }
}

/// Exports a [`Transform`] implementation as the plugin's component interface.
#[macro_export]
macro_rules! export_transform {
    ($transform:ty) => {
        $crate::export_stage!($crate::TransformStage<$transform>);
    };
}

/// Runs a [`Transform`] natively, without a host, for unit tests: parses
/// `options` (JSON text) as the host would, checks the planned schema and
/// returns the output of each batch.
pub fn run_transform<T: Transform>(
    options: &str,
    input: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>, Error> {
    let parsed = parse_options::<T::Options>(options)?;
    let planned = T::output_schema(&parsed, &input)?;
    let context = RunContext {
        run_id: "test-run".to_string(),
        table: "test_table".to_string(),
        run_started_at: 0,
    };
    let mut transform = T::new(parsed, input, context)?;
    batches
        .into_iter()
        .map(|batch| {
            let output = transform.transform(batch)?;
            crate::check_batch_schema(&planned, &output)?;
            Ok(output)
        })
        .collect()
}
