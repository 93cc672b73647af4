//! The glue between the generated WIT bindings and the [`Stage`] trait.

use std::cell::RefCell;

use arrow_schema::SchemaRef;

use crate::bindings::exports::lfhost::plugin::stage::{Flow, GuestFlow, LandingFile};
use crate::bindings::lfhost::plugin::types::{self as wit, NamedSchema};
use crate::{Error, RunContext, Stage};

/// Holds one flow's [`Stage`] value for the component's `flow` resource.
pub struct FlowAdapter<S: Stage> {
    // The resource methods take `&self`; a flow is used by one caller at a time.
    stage: RefCell<S>,
}

impl<S: Stage> FlowAdapter<S> {
    #[doc(hidden)]
    pub fn plan(options: String, inputs: Vec<NamedSchema>) -> Result<Vec<NamedSchema>, wit::Error> {
        let inputs = decode_inputs(inputs)?;
        let outputs = S::plan(&options, &inputs).map_err(to_wit)?;
        outputs
            .into_iter()
            .map(|(name, schema)| {
                let schema = lfhost_ipc::encode_schema(&schema).map_err(|e| to_wit(e.into()))?;
                Ok(NamedSchema { name, schema })
            })
            .collect()
    }
}

impl<S: Stage> GuestFlow for FlowAdapter<S> {
    fn open(
        options: String,
        inputs: Vec<NamedSchema>,
        context: wit::RunContext,
    ) -> Result<Flow, wit::Error> {
        let inputs = decode_inputs(inputs)?;
        let context = RunContext {
            run_id: context.run_id,
            table: context.table,
            run_started_at: context.run_started_at,
        };
        let stage = S::open(&options, &inputs, context).map_err(to_wit)?;
        Ok(Flow::new(FlowAdapter {
            stage: RefCell::new(stage),
        }))
    }

    fn ingest(&self, file: LandingFile) -> Result<(), wit::Error> {
        self.stage.borrow_mut().ingest(file).map_err(to_wit)
    }

    fn push(&self, input: String, batch: Vec<u8>) -> Result<(), wit::Error> {
        let batch = lfhost_ipc::decode_host_batch_owned(batch).map_err(|e| to_wit(e.into()))?;
        self.stage.borrow_mut().push(&input, batch).map_err(to_wit)
    }

    fn finish(&self) -> Result<(), wit::Error> {
        self.stage.borrow_mut().finish().map_err(to_wit)
    }
}

fn decode_inputs(inputs: Vec<NamedSchema>) -> Result<Vec<(String, SchemaRef)>, wit::Error> {
    inputs
        .into_iter()
        .map(|input| {
            let schema = lfhost_ipc::decode_schema(&input.schema).map_err(|e| to_wit(e.into()))?;
            Ok((input.name, schema))
        })
        .collect()
}

fn to_wit(error: Error) -> wit::Error {
    match error {
        Error::InvalidOption { option, message } => wit::Error::InvalidOption(wit::OptionError {
            path: option,
            message,
        }),
        Error::InvalidData(m) => wit::Error::InvalidData(m),
        Error::Internal(m) => wit::Error::Internal(m),
    }
}
