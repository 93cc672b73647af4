//! The `lfhost` command line.

mod cli;
mod cli_plugin;
mod cli_scale;

use std::process::ExitCode;

fn main() -> ExitCode {
    lfhost::memory::serve_large_blocks_from_heap();
    lfhost::memory::one_arena_per_core();
    cli::main()
}
