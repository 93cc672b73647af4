//! The `lfhost` command line.

mod cli;
mod cli_plugin;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
