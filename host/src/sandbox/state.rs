//! Everything one plugin instance's Store holds: its grants and its limits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use object_store::ObjectStore;
use tokio::sync::mpsc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::{Limits, STDERR_CAPACITY};

/// The landing file an ingest flow may read, and nothing else.
pub struct LandingGrant {
    pub store: Arc<dyn ObjectStore>,
    pub path: object_store::path::Path,
    pub size: u64,
}

/// Where one named output's batches go.
pub struct OutputSink {
    pub schema: SchemaRef,
    pub sender: mpsc::Sender<RecordBatch>,
}

/// The largest read a plugin may ask for at once.
pub const MAX_READ_BYTES: u32 = 16 << 20;

pub struct FlowState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub memory: MemoryCap,
    pub limits: Limits,
    pub runtime: tokio::runtime::Handle,
    pub plugin: String,
    pub flow_table: String,
    pub outputs: HashMap<String, OutputSink>,
    pub landing: Option<LandingGrant>,
    pub counters: super::Counters,
    pub rows_out: u64,
    pub bytes_out: u64,
    /// The host-side reason a call failed (a refused batch, a closed
    /// output), kept because the plugin may swallow the error we return.
    pub refusal: Option<String>,
    pub stderr: MemoryOutputPipe,
    /// The flow's inputs and their schemas, as `open` got them.
    pub inputs: Vec<(String, SchemaRef)>,
    /// Per input, the columns its pushes carry when the plugin asked for
    /// fewer than all (`rows.project`).
    pub projections: HashMap<String, Vec<usize>>,
    /// Per input, the only columns the flow keeps (`rows.read-only`): the
    /// host reads, holds and pushes no others.
    pub read_only: HashMap<String, Vec<usize>>,
    /// The batch being pushed, whole: what `rows.emit-selected` selects from.
    pub pushed: Option<RecordBatch>,
    /// Per input the plugin asked to retain (`rows.retain`), the asked
    /// columns of every batch pushed since: what `rows.emit-taken` takes from.
    pub retained: HashMap<String, Retained>,
}

/// The columns of an input's pushed batches that a flow keeps.
#[derive(Default)]
pub struct Retained {
    /// Input column indices, in the input's order.
    pub columns: Vec<usize>,
    /// Those columns of every non-empty batch pushed, in push order.
    pub batches: Vec<RecordBatch>,
}

impl FlowState {
    /// A fresh instance's state: the given limits and outputs, and WASI
    /// sealed (see linker.rs): no preopened directory, no environment, no
    /// socket; these settings only make the refusals explicit.
    pub fn new(
        limits: &Limits,
        runtime: tokio::runtime::Handle,
        plugin: String,
        table: &str,
        outputs: HashMap<String, OutputSink>,
    ) -> FlowState {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = wasmtime_wasi::WasiCtx::builder()
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .insecure_random_seed(0)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        FlowState {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryCap::new(limits.memory_bytes),
            limits: limits.clone(),
            runtime,
            plugin,
            flow_table: table.to_string(),
            outputs,
            landing: None,
            counters: Default::default(),
            rows_out: 0,
            bytes_out: 0,
            refusal: None,
            stderr,
            inputs: Vec::new(),
            projections: HashMap::new(),
            read_only: HashMap::new(),
            pushed: None,
            retained: HashMap::new(),
        }
    }

    /// Readies a finished flow's state for the next flow on its instance:
    /// what a flow owns starts empty, as in [`FlowState::new`]; the
    /// instance's grants, limits and memory stay. (Every field is named,
    /// so that a new one must be sorted into one kind or the other.)
    pub fn begin_flow(&mut self, outputs: HashMap<String, OutputSink>) {
        let FlowState {
            wasi: _,
            table: _,
            memory,
            limits: _,
            runtime: _,
            plugin: _,
            flow_table: _,
            stderr: _,
            outputs: flow_outputs,
            landing,
            counters,
            rows_out,
            bytes_out,
            refusal,
            inputs,
            projections,
            read_only,
            pushed,
            retained,
        } = self;
        *flow_outputs = outputs;
        *landing = None;
        *counters = Default::default();
        *rows_out = 0;
        *bytes_out = 0;
        *refusal = None;
        inputs.clear();
        projections.clear();
        read_only.clear();
        *pushed = None;
        retained.clear();
        memory.retained_bytes = 0;
    }
}

impl WasiView for FlowState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps the linear memories of an instance, all together, and remembers
/// when it refused, to say so.
pub struct MemoryCap {
    pub max_bytes: usize,
    pub refused_at: Option<usize>,
    /// Bytes of every memory of the instance so far.
    pub total_bytes: usize,
    /// Bytes of the rows the host keeps for the plugin (`rows.retain`):
    /// memory the plugin would otherwise hold itself, so it counts too.
    pub retained_bytes: usize,
}

impl MemoryCap {
    pub fn new(max_bytes: usize) -> MemoryCap {
        MemoryCap {
            max_bytes,
            refused_at: None,
            total_bytes: 0,
            retained_bytes: 0,
        }
    }

    /// Counts `bytes` more of retained rows, unless that passes the limit.
    pub fn retain(&mut self, bytes: usize) -> Result<(), String> {
        let retained = self.retained_bytes.saturating_add(bytes);
        let total = self.total_bytes.saturating_add(retained);
        if total > self.max_bytes {
            self.refused_at = Some(total);
            return Err(format!(
                "exceeded its memory limit of {} MiB with the rows it asked the host to \
                 retain ({} MiB retained, {} MiB of its own memory)",
                self.max_bytes >> 20,
                retained >> 20,
                self.total_bytes >> 20
            ));
        }
        self.retained_bytes = retained;
        Ok(())
    }
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A component may hold several memories: their sum is what counts.
        let total = self
            .total_bytes
            .saturating_sub(current)
            .saturating_add(desired);
        let counted = total.saturating_add(self.retained_bytes);
        if counted > self.max_bytes {
            self.refused_at = Some(counted);
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} MiB exceeded (the plugin asked for {} MiB)",
                self.max_bytes >> 20,
                counted >> 20
            )));
        }
        self.total_bytes = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// The only time a plugin sees: always the epoch. Runs must not depend on
/// when they happen; the run's timestamp is passed in explicitly.
pub struct FrozenClock;

impl wasmtime_wasi::HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl wasmtime_wasi::HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use tokio::sync::mpsc;
    use wasmtime::ResourceLimiter;

    use super::{FlowState, MemoryCap, OutputSink, Retained};
    use crate::sandbox::Limits;

    #[tokio::test]
    async fn the_next_flow_on_an_instance_starts_with_nothing_of_the_last() {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1]))])
            .unwrap();
        let sink = || {
            let (sender, receiver) = mpsc::channel(1);
            let outputs = HashMap::from([(
                "main".to_string(),
                OutputSink {
                    schema: schema.clone(),
                    sender,
                },
            )]);
            (outputs, receiver)
        };
        let limits = Limits::default();
        let (first, mut first_receiver) = sink();
        let runtime = tokio::runtime::Handle::current();
        let mut state = FlowState::new(&limits, runtime, "p 1".into(), "t", first);
        assert!(state.memory.memory_growing(0, 1 << 20, None).unwrap());
        state.counters.add("rows_dropped", 3);
        (state.rows_out, state.bytes_out) = (5, 500);
        state.refusal = Some("refused".into());
        state.inputs = vec![("in".into(), schema.clone())];
        state.projections.insert("in".into(), vec![0]);
        state.read_only.insert("in".into(), vec![0]);
        state.pushed = Some(batch.clone());
        state.retained.insert(
            "in".into(),
            Retained {
                columns: vec![0],
                batches: vec![batch],
            },
        );
        state.memory.retain(100).unwrap();

        let (second, _second_receiver) = sink();
        state.begin_flow(second);
        // The first flow's outputs are closed: its collector sees the end.
        assert!(first_receiver.recv().await.is_none());
        assert_eq!(state.outputs.len(), 1);
        assert_eq!(state.counters.get("rows_dropped"), None);
        assert_eq!((state.rows_out, state.bytes_out), (0, 0));
        assert!(state.refusal.is_none() && state.pushed.is_none() && state.landing.is_none());
        assert!(state.inputs.is_empty() && state.projections.is_empty());
        assert!(state.read_only.is_empty() && state.retained.is_empty());
        assert_eq!(state.memory.retained_bytes, 0);
        // The instance's own memory is still there and still counts.
        assert_eq!(state.memory.total_bytes, 1 << 20);
        assert_eq!(
            (state.limits.clone(), state.flow_table.as_str()),
            (limits, "t")
        );
    }

    #[test]
    fn retained_rows_and_plugin_memory_share_one_limit() {
        const KIB: usize = 1 << 10;
        let mut cap = MemoryCap::new(1024 * KIB);
        assert!(cap.memory_growing(0, 300 * KIB, None).unwrap());
        cap.retain(600 * KIB).unwrap();
        let err = cap.retain(200 * KIB).unwrap_err();
        assert!(
            err.contains("limit of 1 MiB with the rows it asked the host to retain"),
            "{err}"
        );
        assert_eq!(cap.retained_bytes, 600 * KIB);
        // Growing the plugin's memory now counts the retained rows too.
        assert!(cap.memory_growing(300 * KIB, 500 * KIB, None).is_err());
        assert!(cap.memory_growing(300 * KIB, 400 * KIB, None).unwrap());
    }
}
