//! A loaded plugin: compiled once, instantiated cheaply for each flow in a
//! Store of its own with the flow's limits and grants.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use wasmtime::{Engine, Store};

use super::bindings::{Descriptor, RunContext, StagePluginPre};
use super::flow::{Flow, Idle, Instance, encode_schemas, stage_error};
use super::state::{FlowState, OutputSink};
use super::{EpochTicker, Limits, PluginError, TICKS_PER_SECOND};

/// A loaded plugin, ready to instantiate cheaply for each flow.
pub struct Plugin {
    pub path: String,
    pub digest: String,
    pub(super) pre: StagePluginPre<FlowState>,
    pub(super) engine: Engine,
    pub(super) _ticker: Arc<EpochTicker>,
    /// The interfaces the component imports, as it declares them.
    pub imports: Vec<String>,
    /// The version of the WIT contract it was built against.
    pub contract: semver::Version,
    pub(super) descriptor: Option<Descriptor>,
}

/// What a flow knows of its run.
#[derive(Debug, Clone)]
pub struct FlowContext {
    pub run_id: String,
    pub table: String,
    pub run_started_at_micros: i64,
}

impl Plugin {
    pub fn descriptor(&self) -> Option<&Descriptor> {
        self.descriptor.as_ref()
    }

    pub fn name(&self) -> String {
        self.descriptor.as_ref().map_or_else(
            || self.path.clone(),
            |d| format!("{} {}", d.name, d.version),
        )
    }

    /// Asks the plugin for its output schemas given options and input schemas.
    pub fn plan(
        &self,
        options_json: &str,
        inputs: &[(String, SchemaRef)],
        table: &str,
    ) -> Result<Vec<(String, SchemaRef)>, PluginError> {
        let mut instance = self.instantiate(&Limits::default(), table, HashMap::new())?;
        let inputs = encode_schemas(inputs)?;
        let result = instance
            .bindings
            .lfhost_plugin_stage()
            .call_plan(&mut instance.store, options_json, &inputs)
            .map_err(|e| instance.stopped(e))?;
        let outputs = result.map_err(stage_error)?;
        let decoded = outputs
            .into_iter()
            .map(|o| {
                lfhost_ipc::decode_schema(&o.schema)
                    .map(|s| (o.name.clone(), s))
                    .map_err(|e| {
                        PluginError::Stopped(format!(
                            "returned an invalid schema for output `{}`: {e}",
                            o.name
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        match decoded.first() {
            Some((name, _)) if name == super::MAIN_OUTPUT => Ok(decoded),
            _ => Err(PluginError::Stopped(
                "plan returned no `main` output first".to_string(),
            )),
        }
    }

    /// Starts a flow whose outputs go to `outputs`.
    pub fn open_flow(
        &self,
        options_json: &str,
        inputs: &[(String, SchemaRef)],
        context: &FlowContext,
        limits: &Limits,
        outputs: HashMap<String, OutputSink>,
    ) -> Result<Flow, PluginError> {
        self.open_flow_on(None, options_json, inputs, context, limits, outputs)
    }

    /// Starts a flow like [`Plugin::open_flow`], on `idle` when it is an
    /// instance of this plugin that ran a flow of the same table under the
    /// same limits (else on a fresh instance). The flow starts with its own
    /// outputs, counters and CPU time, as on a fresh instance.
    pub fn open_flow_on(
        &self,
        idle: Option<Idle>,
        options_json: &str,
        inputs: &[(String, SchemaRef)],
        context: &FlowContext,
        limits: &Limits,
        outputs: HashMap<String, OutputSink>,
    ) -> Result<Flow, PluginError> {
        let reusable = idle.filter(|idle| {
            let state = idle.instance.store.data();
            idle.digest == self.digest
                && Engine::same(idle.instance.store.engine(), &self.engine)
                && state.flow_table == context.table
                && state.limits == *limits
        });
        let mut instance = match reusable {
            Some(Idle { mut instance, .. }) => {
                instance.store.data_mut().begin_flow(outputs);
                instance.store.set_epoch_deadline(deadline(limits));
                instance
            }
            None => self.instantiate(limits, &context.table, outputs)?,
        };
        instance.store.data_mut().inputs = inputs.to_vec();
        let inputs = encode_schemas(inputs)?;
        let wit_context = RunContext {
            run_id: context.run_id.clone(),
            table: context.table.clone(),
            run_started_at: context.run_started_at_micros,
        };
        let opened = instance
            .bindings
            .lfhost_plugin_stage()
            .flow()
            .call_open(&mut instance.store, options_json, &inputs, &wit_context)
            .map_err(|e| instance.stopped(e))?;
        let resource = opened.map_err(stage_error)?;
        Ok(Flow {
            instance,
            resource,
            digest: self.digest.clone(),
        })
    }

    pub(super) fn instantiate(
        &self,
        limits: &Limits,
        table: &str,
        outputs: HashMap<String, OutputSink>,
    ) -> Result<Instance, PluginError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            PluginError::Internal("plugins must run inside the tokio runtime".to_string())
        })?;
        let state = FlowState::new(limits, runtime, self.name(), table, outputs);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(deadline(limits));
        let bindings = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| PluginError::Incompatible {
                path: self.path.clone(),
                reason: format!("instantiation failed: {e:#}"),
            })?;
        Ok(Instance { store, bindings })
    }
}

/// Epoch ticks from now to the end of a flow's CPU time.
fn deadline(limits: &Limits) -> u64 {
    limits.cpu_seconds.saturating_mul(TICKS_PER_SECOND).max(1)
}
