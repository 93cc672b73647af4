//! Exactly which interfaces a plugin may import.
//!
//! Besides lfhost's own contract, only the WASI interfaces that language
//! standard libraries need to start are linked: streams (for stderr, which
//! we capture), an empty environment, exit, and seeded randomness. Files,
//! sockets and clocks are not linked at all, so a plugin that imports them
//! fails at load, before it runs.

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::p2::bindings::{cli, random, sync};
use wasmtime_wasi::random::WasiRandom;

use super::bindings::StagePlugin;
use super::state::FlowState;

/// Interface name prefixes that lfhost never grants, with why.
const DENIED: &[(&str, &str)] = &[
    (
        "wasi:filesystem/",
        "plugins get no files: the host hands them their data",
    ),
    ("wasi:sockets/", "plugins get no network"),
    (
        "wasi:clocks/",
        "plugins get no clock: the run's timestamp is passed in",
    ),
    ("wasi:http/", "plugins get no network"),
];

struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

pub fn link(linker: &mut Linker<FlowState>) -> wasmtime::Result<()> {
    let l = linker;
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<FlowState, HasIo>(l, |t| {
        t.ctx().table
    })?;
    sync::io::poll::add_to_linker::<FlowState, HasIo>(l, |t| t.ctx().table)?;
    sync::io::streams::add_to_linker::<FlowState, HasIo>(l, |t| t.ctx().table)?;
    random::random::add_to_linker::<FlowState, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure::add_to_linker::<FlowState, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<FlowState, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    cli::exit::add_to_linker::<FlowState, WasiCli>(l, FlowState::cli)?;
    cli::environment::add_to_linker::<FlowState, WasiCli>(l, FlowState::cli)?;
    cli::stdin::add_to_linker::<FlowState, WasiCli>(l, FlowState::cli)?;
    cli::stdout::add_to_linker::<FlowState, WasiCli>(l, FlowState::cli)?;
    cli::stderr::add_to_linker::<FlowState, WasiCli>(l, FlowState::cli)?;
    cli::terminal_input::add_to_linker::<FlowState, WasiCli>(l, FlowState::cli)?;
    cli::terminal_output::add_to_linker::<FlowState, WasiCli>(l, FlowState::cli)?;
    cli::terminal_stdin::add_to_linker::<FlowState, WasiCli>(l, FlowState::cli)?;
    cli::terminal_stdout::add_to_linker::<FlowState, WasiCli>(l, FlowState::cli)?;
    cli::terminal_stderr::add_to_linker::<FlowState, WasiCli>(l, FlowState::cli)?;
    StagePlugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(l, |s| s)
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
