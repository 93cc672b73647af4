//! A running flow and how its failures are put in the user's terms.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::bindings::{LandingFile, NamedSchema, StageError, StagePlugin};
use super::rows::held_positions;
use super::state::{FlowState, LandingGrant};
use super::{Counters, PluginError};

pub(super) struct Instance {
    pub(super) store: Store<FlowState>,
    pub(super) bindings: StagePlugin,
}

impl Instance {
    /// Says why a call into the plugin failed, in the user's terms.
    pub(super) fn stopped(&mut self, error: wasmtime::Error) -> PluginError {
        let state = self.store.data();
        if let Some(bytes) = state.memory.refused_at {
            return PluginError::Stopped(format!(
                "exceeded its memory limit of {} MiB (asked for {} MiB)",
                state.limits.memory_mib(),
                bytes >> 20
            ));
        }
        if let Some(reason) = &state.refusal {
            return PluginError::Stopped(reason.clone());
        }
        let reason = match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => {
                format!(
                    "exceeded its CPU time limit of {} s",
                    state.limits.cpu_seconds
                )
            }
            Some(wasmtime::Trap::StackOverflow) => {
                "overflowed its stack (recursion too deep)".to_string()
            }
            // Languages that keep a stack in linear memory (Rust, C) hit its
            // end as an out-of-bounds access rather than a wasm stack overflow.
            Some(wasmtime::Trap::MemoryOutOfBounds) => {
                "trapped: out-of-bounds memory access (often its stack overflowing: recursion too deep)"
                    .to_string()
            }
            Some(trap) => format!("trapped: {trap}"),
            None => format!("failed: {error:#}"),
        };
        let stderr = String::from_utf8_lossy(&state.stderr.contents())
            .trim()
            .to_string();
        if stderr.is_empty() {
            PluginError::Stopped(reason)
        } else {
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            PluginError::Stopped(format!("{reason}; it printed: {}", tail.join(" | ")))
        }
    }
}

/// A running flow: one instance, one `flow` resource.
pub struct Flow {
    pub(super) instance: Instance,
    pub(super) resource: ResourceAny,
    /// The plugin's digest: an idle instance reopens only for its plugin.
    pub(super) digest: String,
}

/// An instance whose flow ended cleanly, to open the next flow of the same
/// plugin and table on. Flows on one instance run one after another, never
/// at once, and the contract has a plugin keep a flow's state in its `flow`
/// resource, none in globals.
pub struct Idle {
    pub(super) instance: Instance,
    pub(super) digest: String,
}

/// What a finished flow reports.
#[derive(Debug, Clone, Default)]
pub struct FlowReport {
    pub counters: Counters,
    pub rows_out: u64,
    pub bytes_out: u64,
}

impl Flow {
    /// Ingests one landing file, which the plugin may read and nothing else.
    pub fn ingest(&mut self, grant: LandingGrant, shown_path: &str) -> Result<(), PluginError> {
        let file = LandingFile {
            path: shown_path.to_string(),
            size: grant.size,
        };
        self.instance.store.data_mut().landing = Some(grant);
        let result = self
            .instance
            .bindings
            .lfhost_plugin_stage()
            .flow()
            .call_ingest(&mut self.instance.store, self.resource, &file);
        self.instance.store.data_mut().landing = None;
        result
            .map_err(|e| self.instance.stopped(e))?
            .map_err(stage_error)
    }

    /// Pushes one batch of the input named `input`: the columns the plugin
    /// asked for, while the host keeps the whole batch for `emit-selected`.
    /// The batch has every column of the input, or exactly those that
    /// [`Flow::read_only_columns`] names for it.
    pub fn push(&mut self, input: &str, batch: &RecordBatch) -> Result<(), PluginError> {
        let state = self.instance.store.data_mut();
        let held = state.held(input, batch).map_err(PluginError::Internal)?;
        let bytes = match state.projection(input) {
            Some(columns) => held
                .project(&held_positions(state.read_only.get(input), columns))
                .map_err(|e| PluginError::Internal(format!("projecting `{input}`: {e}")))
                .and_then(|b| encode(&b)),
            None => encode(&held),
        }?;
        if let Some(retained) = state.retained.get_mut(input)
            && held.num_rows() > 0
        {
            let positions = held_positions(state.read_only.get(input), &retained.columns);
            let kept = held
                .project(&positions)
                .map_err(|e| PluginError::Internal(format!("retaining `{input}`: {e}")))?;
            state
                .memory
                .retain(kept.get_array_memory_size())
                .map_err(PluginError::Stopped)?;
            retained.batches.push(kept);
        }
        state.pushed = Some(held);
        let result = self
            .instance
            .bindings
            .lfhost_plugin_stage()
            .flow()
            .call_push(&mut self.instance.store, self.resource, input, &bytes);
        self.instance.store.data_mut().pushed = None;
        result
            .map_err(|e| self.instance.stopped(e))?
            .map_err(stage_error)
    }

    /// Per input, the only columns the plugin keeps (`rows.read-only`, as
    /// of now): all the host need read of it.
    pub fn read_only_columns(&self) -> HashMap<String, Vec<String>> {
        self.instance.store.data().read_only_names()
    }

    /// Ends the flow; its outputs are complete once this returns.
    pub fn finish(mut self) -> Result<FlowReport, PluginError> {
        // The store goes with the flow: no need to run the plugin's
        // destructor, whose time would be the table's.
        self.end()
    }

    /// Ends the flow like [`Flow::finish`], and hands back its instance for
    /// the next flow of the same table ([`crate::sandbox::Plugin::open_flow_on`])
    /// when the flow ended cleanly: the `flow` resource dropped, no limit
    /// hit, nothing printed. A fresh instance faults in every page of its
    /// memory anew; a finished one has them already.
    pub fn finish_keeping(mut self) -> Result<(FlowReport, Option<Idle>), PluginError> {
        let report = self.end()?;
        let clean = |state: &FlowState| {
            state.memory.refused_at.is_none()
                && state.refusal.is_none()
                && state.stderr.contents().is_empty()
        };
        // The plugin frees the flow's memory in its destructor; one that
        // fails or complains there is not trusted with another flow.
        let idle = (clean(self.instance.store.data())
            && self
                .resource
                .resource_drop(&mut self.instance.store)
                .is_ok()
            && clean(self.instance.store.data()))
        .then_some(Idle {
            instance: self.instance,
            digest: self.digest,
        });
        Ok((report, idle))
    }

    fn end(&mut self) -> Result<FlowReport, PluginError> {
        let result = self
            .instance
            .bindings
            .lfhost_plugin_stage()
            .flow()
            .call_finish(&mut self.instance.store, self.resource);
        result
            .map_err(|e| self.instance.stopped(e))?
            .map_err(stage_error)?;
        let state = self.instance.store.data_mut();
        state.outputs.clear();
        Ok(FlowReport {
            counters: state.counters.clone(),
            rows_out: state.rows_out,
            bytes_out: state.bytes_out,
        })
    }
}

fn encode(batch: &RecordBatch) -> Result<Vec<u8>, PluginError> {
    lfhost_ipc::encode_batch(batch).map_err(|e| PluginError::Internal(e.to_string()))
}

pub(super) fn encode_schemas(
    inputs: &[(String, SchemaRef)],
) -> Result<Vec<NamedSchema>, PluginError> {
    inputs
        .iter()
        .map(|(name, schema)| {
            lfhost_ipc::encode_schema(schema)
                .map(|schema| NamedSchema {
                    name: name.clone(),
                    schema,
                })
                .map_err(|e| PluginError::Internal(e.to_string()))
        })
        .collect()
}

pub(super) fn stage_error(error: StageError) -> PluginError {
    match error {
        StageError::InvalidOption(e) => PluginError::InvalidOption {
            option: e.path,
            message: e.message,
        },
        StageError::InvalidData(m) => PluginError::InvalidData(m),
        StageError::Internal(m) => PluginError::Internal(m),
    }
}
