//! Runs plugins: one wasmtime Store per flow, no ambient capability, hard
//! limits on memory, time and output.

mod bindings;
mod cache;
mod columns;
pub mod contract;
mod counters;
mod flow;
mod limits;
mod linker;
mod plugin;
mod rows;
mod state;
mod taken;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use bindings::{Descriptor, StageKind};
pub use cache::digest;
pub use counters::Counters;
pub use flow::{Flow, FlowReport, Idle};
pub use limits::Limits;
pub use plugin::{FlowContext, Plugin};
pub use state::{LandingGrant, OutputSink};

use bindings::StagePluginPre;
use cache::{ComponentCache, FileDigest};
use state::FlowState;

/// The output every stage has.
pub const MAIN_OUTPUT: &str = "main";

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

/// How instances get their memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// Mapped for each instance and unmapped after it.
    OnDemand,
    /// Slots reserved once and reused (wasmtime's pooling allocator), for
    /// up to `instances` instances at once, each memory up to
    /// `max_memory_bytes`: instantiation then costs no mmap.
    Pooling {
        instances: u32,
        max_memory_bytes: usize,
    },
}

fn engine_config(allocation: Allocation) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // Deep recursion traps cleanly at this depth instead of growing.
    config.max_wasm_stack(1 << 20);
    // `perf` names the plugin's functions from /tmp/perf-<pid>.map.
    if std::env::var_os("LFHOST_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if let Allocation::Pooling {
        instances,
        max_memory_bytes,
    } = allocation
    {
        // A Rust component is a few core instances, memories and tables.
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(8))
            .total_memories(instances.saturating_mul(4))
            .total_tables(instances.saturating_mul(8))
            .total_stacks(instances)
            .max_memory_size(max_memory_bytes);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

impl Sandbox {
    /// A sandbox whose instances map their memory on demand.
    pub fn new() -> Result<Self, PluginError> {
        Sandbox::with_allocation(Allocation::OnDemand)
    }

    /// A sandbox with the given allocation; a pool the machine cannot
    /// reserve (a low virtual memory limit, say) falls back to on-demand.
    pub fn with_allocation(allocation: Allocation) -> Result<Self, PluginError> {
        let engine = match Engine::new(&engine_config(allocation)) {
            Ok(engine) => engine,
            Err(e) if allocation != Allocation::OnDemand => {
                tracing::warn!("instance pool unavailable ({e}); allocating on demand");
                Engine::new(&engine_config(Allocation::OnDemand))
                    .map_err(|e| PluginError::Internal(format!("wasmtime engine: {e}")))?
            }
            Err(e) => return Err(PluginError::Internal(format!("wasmtime engine: {e}"))),
        };
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
        let read_failed = |e: std::io::Error| PluginError::Read {
            path: shown.clone(),
            reason: if e.kind() == std::io::ErrorKind::NotFound {
                "no such file (build the plugins first: see README.md)".to_string()
            } else {
                e.to_string()
            },
        };
        let FileDigest { digest, bytes } = self
            .cache
            .file_digest(&self.engine, path)
            .map_err(read_failed)?;
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
            .load(&self.engine, &digest, || match bytes {
                Some(bytes) => Ok(bytes),
                // Its compiled form turned out unreadable: read it after all.
                None => {
                    let bytes = std::fs::read(path)?;
                    if cache::digest(&bytes) != digest {
                        wasmtime::bail!("the file changed while it was being loaded");
                    }
                    Ok(bytes)
                }
            })
            .map_err(|e| incompatible(format!("{e:#}")))?;
        let component_type = component.component_type();
        let imports: Vec<String> = component_type
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let exports: Vec<String> = component_type
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let contract = contract::check(&imports, &exports).map_err(&incompatible)?;
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
            contract,
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
