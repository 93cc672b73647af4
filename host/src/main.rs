//! The `lfhost` command line.

mod cli;
mod cli_plugin;
mod cli_scale;

use std::process::ExitCode;

fn main() -> ExitCode {
    lfhost::memory::set_up();
    cli::main()
}
