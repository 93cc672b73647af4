//! Runs plugins: one wasmtime Store per flow, no ambient capability, hard
//! limits on memory, time and output.

mod bindings;
mod cache;
mod counters;
mod flow;
mod limits;
mod linker;
mod plugin;
mod state;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

pub use bindings::{Descriptor, StageKind};
pub use cache::digest;
pub use counters::Counters;
pub use flow::{Flow, FlowReport};
pub use limits::Limits;
pub use plugin::{FlowContext, Plugin};
pub use state::{LandingGrant, OutputSink};

use bindings::StagePluginPre;
use cache::ComponentCache;
use state::FlowState;

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
