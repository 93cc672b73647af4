//! The WIT contract on the host side, and what the host grants through it.

use object_store::ObjectStoreExt;

use super::state::{FlowState, MAX_READ_BYTES};

wasmtime::component::bindgen!({
    world: "stage-plugin",
    path: "../wit",
    imports: {
        // Both may trap: a plugin must not be able to ignore a refusal.
        "lfhost:plugin/host.emit": trappable,
        "lfhost:plugin/landing.read": trappable,
        "lfhost:plugin/columns.emit": trappable,
        "lfhost:plugin/rows.emit-selected": trappable,
        "lfhost:plugin/rows.emit-taken": trappable,
    },
});

pub use exports::lfhost::plugin::stage::{
    Descriptor, Error as StageError, LandingFile, NamedSchema, RunContext,
};
pub use lfhost::plugin::types::StageKind;

impl lfhost::plugin::types::Host for FlowState {}

impl lfhost::plugin::host::Host for FlowState {
    fn log(&mut self, level: lfhost::plugin::host::Level, message: String) {
        use lfhost::plugin::host::Level;
        let message: String = message.chars().take(4096).collect();
        let (table, plugin) = (&self.flow_table, &self.plugin);
        match level {
            Level::Trace => tracing::trace!(table, plugin, "{message}"),
            Level::Debug => tracing::debug!(table, plugin, "{message}"),
            Level::Info => tracing::info!(table, plugin, "{message}"),
            Level::Warn => tracing::warn!(table, plugin, "{message}"),
            Level::Error => tracing::error!(table, plugin, "{message}"),
        }
    }

    fn add_counter(&mut self, name: String, delta: i64) {
        self.counters.add(&name, delta);
    }

    fn emit(&mut self, output: String, batch: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        let accepted = self.accept(&output, batch);
        self.trap_on_refusal(accepted)
    }
}

impl FlowState {
    /// A refused output traps the plugin: it must not be able to ignore
    /// the refusal, whose reason is kept to report.
    pub(super) fn trap_on_refusal(
        &mut self,
        accepted: Result<(), String>,
    ) -> wasmtime::Result<Result<(), String>> {
        match accepted {
            Ok(()) => Ok(Ok(())),
            Err(reason) => {
                self.refusal = Some(reason.clone());
                Err(wasmtime::Error::msg(reason))
            }
        }
    }

    fn accept(&mut self, output: &str, bytes: Vec<u8>) -> Result<(), String> {
        // Before decoding: a forged batch must not cost memory.
        let size = bytes.len();
        self.check_batch_size(size)?;
        let schema = self.sink_schema(output)?;
        let batch = lfhost_ipc::decode_batch_owned(bytes, Some(&schema))
            .map_err(|e| format!("emitted an invalid batch on `{output}`: {e}"))?;
        self.accept_batch(output, batch, size)
    }

    pub(super) fn check_batch_size(&self, bytes: usize) -> Result<(), String> {
        if bytes > self.limits.max_batch_bytes {
            return Err(format!(
                "emitted a batch of {} MiB, over the limit of {} MiB per batch",
                bytes >> 20,
                self.limits.max_batch_bytes >> 20
            ));
        }
        Ok(())
    }

    /// The planned schema of `output`, or why the plugin may not emit to it.
    pub(super) fn sink_schema(&self, output: &str) -> Result<arrow_schema::SchemaRef, String> {
        match self.outputs.get(output) {
            Some(sink) => Ok(sink.schema.clone()),
            None => {
                let mut known: Vec<&str> = self.outputs.keys().map(String::as_str).collect();
                known.sort_unstable();
                Err(format!(
                    "emitted to unknown output `{output}` (declared: {})",
                    known.join(", ")
                ))
            }
        }
    }

    /// Counts a batch of `bytes`, already checked against the batch limit,
    /// against the output limit and sends it on.
    pub(super) fn accept_batch(
        &mut self,
        output: &str,
        batch: arrow_array::RecordBatch,
        bytes: usize,
    ) -> Result<(), String> {
        let total = self.bytes_out.saturating_add(bytes as u64);
        if total > self.limits.max_output_bytes {
            return Err(format!(
                "emitted more than its output limit of {} MiB for this flow",
                self.limits.max_output_bytes >> 20
            ));
        }
        let sink = self
            .outputs
            .get(output)
            .ok_or_else(|| format!("output `{output}` is gone"))?;
        self.bytes_out = total;
        self.rows_out += batch.num_rows() as u64;
        sink.sender
            .blocking_send(batch)
            .map_err(|_| format!("output `{output}` was closed by the host (its writer failed)"))
    }
}

impl lfhost::plugin::landing::Host for FlowState {
    fn read(&mut self, offset: u64, len: u32) -> wasmtime::Result<Result<Vec<u8>, String>> {
        let Some(grant) = &self.landing else {
            return Ok(Err("no landing file is being ingested".to_string()));
        };
        let end = offset
            .saturating_add(u64::from(len.min(MAX_READ_BYTES)))
            .min(grant.size);
        if offset >= end {
            return Ok(Ok(Vec::new()));
        }
        let (store, path) = (grant.store.clone(), grant.path.clone());
        match self.runtime.block_on(store.get_range(&path, offset..end)) {
            Ok(bytes) => Ok(Ok(bytes.to_vec())),
            Err(e) => Ok(Err(format!("reading {path} failed: {e}"))),
        }
    }
}
