//! Exactly what a plugin may import.
//!
//! Besides lfhost's own contract, the host links WASI 0.2 *sealed*: the
//! interfaces are there, so that components from any toolchain load (Python
//! and JavaScript runtimes import files, clocks and sockets whether or not
//! they use them), but they grant nothing:
//! - files: no directory is preopened, so there is no path to open;
//! - network: every socket address and name lookup is refused;
//! - environment and arguments: empty; stdin: empty; stdout: discarded;
//!   stderr: captured, to quote a crash;
//! - clocks: frozen at 1970-01-01 (the run's timestamp is passed in), and a
//!   sleep returns at once, so that a plugin cannot park a host thread
//!   where the CPU time limit does not see it.
//!
//! Anything else (`wasi:http`, unknown interfaces) is not linked, and a
//! component importing it is refused at load, with why.

use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::clocks::{WasiClocksCtxView, WasiClocksView};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;

use super::bindings::StagePlugin;
use super::state::FlowState;

/// Interface name prefixes that lfhost never links, with why.
const DENIED: &[(&str, &str)] = &[("wasi:http/", "plugins get no network")];

pub fn link(linker: &mut Linker<FlowState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    // Replaces WASI's monotonic clock, whose sleeps really wait.
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<FlowState, FrozenTime>(linker, |s| FrozenTimeView {
        clocks: s.clocks(),
    })?;
    linker.allow_shadowing(false);
    StagePlugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)
}

struct FrozenTime;

impl HasData for FrozenTime {
    type Data<'a> = FrozenTimeView<'a>;
}

/// A monotonic clock that never moves, whose every deadline has passed.
struct FrozenTimeView<'a> {
    clocks: WasiClocksCtxView<'a>,
}

impl monotonic_clock::Host for FrozenTimeView<'_> {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        Ok(0)
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Duration> {
        Ok(1_000_000_000)
    }

    fn subscribe_instant(
        &mut self,
        _when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        monotonic_clock::Host::subscribe_duration(&mut self.clocks, 0)
    }

    fn subscribe_duration(
        &mut self,
        _duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        monotonic_clock::Host::subscribe_duration(&mut self.clocks, 0)
    }
}

/// Says which imports the host refuses, if any, in the user's terms.
pub fn refused_imports(imports: &[String]) -> Option<String> {
    let refused: Vec<String> = imports
        .iter()
        .filter_map(|name| {
            DENIED
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix))
                .map(|(_, why)| format!("{name} ({why})"))
        })
        .collect();
    if refused.is_empty() {
        None
    } else {
        Some(format!(
            "it imports what lfhost does not grant: {}",
            refused.join(", ")
        ))
    }
}
