//! Runs plugins: one wasmtime Store per flow, no ambient capability, hard
//! limits on memory, time and output.

mod bindings;
mod cache;
mod counters;
mod limits;
mod linker;
mod state;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

pub use bindings::{Descriptor, StageKind};
pub use cache::digest;
pub use counters::Counters;
pub use limits::Limits;
pub use state::{LandingGrant, OutputSink};

use bindings::{LandingFile, NamedSchema, RunContext, StageError, StagePlugin, StagePluginPre};
use cache::ComponentCache;
use state::{FlowState, MemoryCap};

/// Epoch ticks per second: the resolution of the CPU time limit.
const TICKS_PER_SECOND: u64 = 100;
/// What a plugin may print to stderr (panic messages) that we keep.
const STDERR_CAPACITY: usize = 64 << 10;

/// Why a plugin could not be loaded or failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot read plugin file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("plugin file {path} has sha256 {actual}, but the pipeline pins {expected}")]
    DigestMismatch {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("{path} is not a usable lfhost plugin: {reason}")]
    Incompatible { path: String, reason: String },
    #[error("option `{option}`: {message}")]
    InvalidOption { option: String, message: String },
    #[error("{0}")]
    InvalidData(String),
    #[error("{0}")]
    Internal(String),
    /// The sandbox stopped the plugin (a limit, a trap) or refused its output.
    #[error("{0}")]
    Stopped(String),
}

/// The engine and linker shared by every plugin of a process.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<FlowState>,
    cache: ComponentCache,
    ticker: Arc<EpochTicker>,
}

/// Advances the engine's epoch while any plugin may run: what enforces the
/// CPU time limit. Stops when the last owner goes.
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Sandbox {
    pub fn new() -> Result<Self, PluginError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Deep recursion traps cleanly at this depth instead of growing.
        config.max_wasm_stack(1 << 20);
        let engine = Engine::new(&config)
            .map_err(|e| PluginError::Internal(format!("wasmtime engine: {e}")))?;
        let mut linker = Linker::new(&engine);
        linker::link(&mut linker)
            .map_err(|e| PluginError::Internal(format!("linking the host interfaces: {e}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), stop.clone());
        Ok(Sandbox {
            engine,
            linker,
            cache: ComponentCache::from_env(),
            ticker: Arc::new(EpochTicker { stop }),
        })
    }

    /// Reads, checks, compiles (or loads compiled) and describes a plugin.
    pub fn load(
        &self,
        path: &std::path::Path,
        pinned_sha256: Option<&str>,
    ) -> Result<Plugin, PluginError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| PluginError::Read {
            path: shown.clone(),
            reason: if e.kind() == std::io::ErrorKind::NotFound {
                "no such file (build the plugins first: see README.md)".to_string()
            } else {
                e.to_string()
            },
        })?;
        let digest = digest(&bytes);
        if let Some(expected) = pinned_sha256
            && expected != digest
        {
            return Err(PluginError::DigestMismatch {
                path: shown,
                expected: expected.to_string(),
                actual: digest,
            });
        }
        let incompatible = |reason: String| PluginError::Incompatible {
            path: shown.clone(),
            reason,
        };
        let component: Component = self
            .cache
            .load(&self.engine, &digest, &bytes)
            .map_err(|e| incompatible(format!("{e:#}")))?;
        let imports: Vec<String> = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        if let Some(reason) = linker::refused_imports(&imports) {
            return Err(incompatible(reason));
        }
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| incompatible(format!("{e:#}")))?;
        let pre = StagePluginPre::new(pre).map_err(|e| incompatible(format!("{e:#}")))?;
        let mut plugin = Plugin {
            path: shown,
            digest,
            pre,
            engine: self.engine.clone(),
            _ticker: self.ticker.clone(),
            imports,
            descriptor: None,
        };
        let mut instance = plugin.instantiate(&Limits::default(), "(describe)", HashMap::new())?;
        let descriptor = instance
            .bindings
            .lfhost_plugin_stage()
            .call_describe(&mut instance.store)
            .map_err(|e| instance.stopped(e))?;
        plugin.descriptor = Some(descriptor);
        Ok(plugin)
    }
}

fn spawn_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    let tick = Duration::from_millis(1000 / TICKS_PER_SECOND);
    std::thread::Builder::new()
        .name("lfhost-epoch".to_string())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                engine.increment_epoch();
            }
        })
        .ok();
}

/// A loaded plugin, ready to instantiate cheaply for each flow.
pub struct Plugin {
    pub path: String,
    pub digest: String,
    pre: StagePluginPre<FlowState>,
    engine: Engine,
    _ticker: Arc<EpochTicker>,
    /// The interfaces the component imports, as it declares them.
    pub imports: Vec<String>,
    descriptor: Option<Descriptor>,
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
            Some((name, _)) if name == "main" => Ok(decoded),
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
        let mut instance = self.instantiate(limits, &context.table, outputs)?;
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
        Ok(Flow { instance, resource })
    }

    fn instantiate(
        &self,
        limits: &Limits,
        table: &str,
        outputs: HashMap<String, OutputSink>,
    ) -> Result<Instance, PluginError> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = wasmtime_wasi::WasiCtx::builder()
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .insecure_random_seed(0)
            .build();
        let state = FlowState {
            wasi,
            table: wasmtime::component::ResourceTable::new(),
            memory: MemoryCap {
                max_bytes: limits.memory_bytes,
                refused_at: None,
            },
            limits: limits.clone(),
            runtime: tokio::runtime::Handle::try_current().map_err(|_| {
                PluginError::Internal("plugins must run inside the tokio runtime".to_string())
            })?,
            plugin: self.name(),
            flow_table: table.to_string(),
            outputs,
            landing: None,
            counters: Default::default(),
            rows_out: 0,
            bytes_out: 0,
            refusal: None,
            stderr,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(limits.cpu_seconds.saturating_mul(TICKS_PER_SECOND).max(1));
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

struct Instance {
    store: Store<FlowState>,
    bindings: StagePlugin,
}

impl Instance {
    /// Says why a call into the plugin failed, in the user's terms.
    fn stopped(&mut self, error: wasmtime::Error) -> PluginError {
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
    instance: Instance,
    resource: ResourceAny,
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

    /// Pushes one batch of the input named `input`.
    pub fn push(&mut self, input: &str, batch: &RecordBatch) -> Result<(), PluginError> {
        let bytes =
            lfhost_ipc::encode_batch(batch).map_err(|e| PluginError::Internal(e.to_string()))?;
        let result = self
            .instance
            .bindings
            .lfhost_plugin_stage()
            .flow()
            .call_push(&mut self.instance.store, self.resource, input, &bytes);
        result
            .map_err(|e| self.instance.stopped(e))?
            .map_err(stage_error)
    }

    /// Ends the flow; its outputs are complete once this returns.
    pub fn finish(mut self) -> Result<FlowReport, PluginError> {
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

fn encode_schemas(inputs: &[(String, SchemaRef)]) -> Result<Vec<NamedSchema>, PluginError> {
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

fn stage_error(error: StageError) -> PluginError {
    match error {
        StageError::InvalidOption(e) => PluginError::InvalidOption {
            option: e.path,
            message: e.message,
        },
        StageError::InvalidData(m) => PluginError::InvalidData(m),
        StageError::Internal(m) => PluginError::Internal(m),
    }
}

/// The only time a plugin sees: always the epoch. Runs must not depend on
/// when they happen; the run's timestamp is passed in explicitly.
struct FrozenClock;

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
