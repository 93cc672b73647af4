//! `lfhost plugin ...`: the commands for plugin authors.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use lfhost::authoring::{harness, scaffold};
use lfhost::sandbox::{Limits, PluginError, Sandbox, contract};

/// Exit status of a plugin that failed on its data (as `run` uses it).
const EXIT_FLOW_FAILED: u8 = 1;

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Loads a plugin and prints its self-description, contract version,
    /// digest and imports; refuses one built for an incompatible contract.
    Inspect {
        /// The component, e.g. target/wasm32-wasip2/release/my_plugin.wasm.
        file: PathBuf,
    },
    /// Creates a plugin project (Cargo.toml, src/lib.rs with a working
    /// transform and its tests, README.md) that builds as is.
    New {
        /// The plugin's name: lowercase letters, digits and hyphens.
        name: String,
        /// The folder to create (default: ./NAME).
        #[arg(long)]
        path: Option<PathBuf>,
        /// The plugins/sdk folder of an lfhost checkout (default: the one
        /// this lfhost was built from).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Runs one plugin on files, without a pipeline: landing files for an
    /// ingest plugin, Parquet files (one input each) for the others.
    Test {
        /// The component.
        file: PathBuf,
        /// An input: PATH, or NAME=PATH to name the input the plugin sees
        /// (default: the file's stem). Repeatable.
        #[arg(long = "input", value_name = "[NAME=]PATH", required = true)]
        inputs: Vec<String>,
        /// The table's options: a TOML file, or TOML text such as
        /// 'column = "name"'.
        #[arg(long, value_name = "TOML")]
        options: Option<String>,
        /// Writes the main output here as Parquet (other outputs beside it
        /// as PATH-STEM.OUTPUT.parquet).
        #[arg(long, value_name = "OUT.parquet")]
        output: Option<PathBuf>,
        /// How many rows of each output to print.
        #[arg(short = 'n', long, default_value_t = 10)]
        rows: usize,
        /// Memory limit for the plugin, in MiB.
        #[arg(long, default_value_t = Limits::default().memory_mib())]
        memory_mib: usize,
        /// CPU time limit for the plugin, in seconds.
        #[arg(long, default_value_t = Limits::default().cpu_seconds)]
        cpu_seconds: u64,
    },
}

pub async fn dispatch(command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::Inspect { file } => {
            let plugin = tokio::task::spawn_blocking(move || Sandbox::new()?.load(&file, None))
                .await
                .context("loading the plugin crashed")??;
            print_plugin(&plugin);
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::New { name, path, sdk } => {
            let dir = path.unwrap_or_else(|| PathBuf::from(&name));
            let sdk = sdk.unwrap_or_else(|| PathBuf::from(scaffold::BUILT_SDK));
            let made = scaffold::create(&name, &dir, &sdk)?;
            println!("created {}:", made.dir.display());
            for file in &made.files {
                println!("  {file}");
            }
            println!(
                "next:\n  cd {}\n  cargo test\n  cargo build --release --target wasm32-wasip2\n  lfhost plugin inspect target/wasm32-wasip2/release/{}.wasm",
                made.dir.display(),
                made.crate_name
            );
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Test {
            file,
            inputs,
            options,
            output,
            rows,
            memory_mib,
            cpu_seconds,
        } => {
            let inputs = inputs
                .iter()
                .map(|text| parse_input(text))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let options_json = options_json(options.as_deref())?;
            let limits = Limits {
                memory_bytes: memory_mib.saturating_mul(1 << 20),
                cpu_seconds,
                ..Limits::default()
            };
            let plugin = tokio::task::spawn_blocking(move || Sandbox::new()?.load(&file, None))
                .await
                .context("loading the plugin crashed")??;
            println!("plugin {}", plugin.name());
            let outcome = match harness::run(Arc::new(plugin), options_json, inputs, limits).await {
                Ok(outcome) => outcome,
                Err(harness::HarnessError::Plugin(e @ PluginError::InvalidOption { .. })) => {
                    return Err(anyhow::anyhow!("the plugin refused its options: {e}"));
                }
                Err(harness::HarnessError::Plugin(e)) => {
                    eprintln!("error: the plugin failed: {e}");
                    return Ok(ExitCode::from(EXIT_FLOW_FAILED));
                }
                Err(e) => return Err(e.into()),
            };
            show_outcome(&outcome, rows, output.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_input(text: &str) -> anyhow::Result<harness::Input> {
    let (name, path) = match text.split_once('=') {
        Some((name, path)) if !name.is_empty() && !name.contains('/') => {
            (name.to_string(), PathBuf::from(path))
        }
        _ => {
            let path = PathBuf::from(text);
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .with_context(|| format!("--input {text}: no file name"))?;
            (stem, path)
        }
    };
    anyhow::ensure!(path.is_file(), "--input {}: no such file", path.display());
    Ok(harness::Input { name, path })
}

/// `--options` as JSON: a TOML file's contents, or TOML text.
fn options_json(options: Option<&str>) -> anyhow::Result<String> {
    let Some(options) = options else {
        return Ok("{}".to_string());
    };
    let path = std::path::Path::new(options);
    let (text, origin) = if path.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        (text, path.display().to_string())
    } else {
        (options.to_string(), "--options".to_string())
    };
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{origin}: not a TOML table: {}", e.message()))?;
    Ok(serde_json::to_string(&table)?)
}

fn show_outcome(
    outcome: &harness::Outcome,
    rows: usize,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    for (name, schema, batches) in &outcome.outputs {
        let total: usize = batches.iter().map(|b| b.num_rows()).sum();
        println!("output `{name}`: {total} rows");
        if rows > 0 && total > 0 {
            let mut shown = Vec::new();
            let mut left = rows;
            for batch in batches {
                if left == 0 {
                    break;
                }
                let take = left.min(batch.num_rows());
                shown.push(batch.slice(0, take));
                left -= take;
            }
            println!("{}", arrow_cast::pretty::pretty_format_batches(&shown)?);
        }
        if let Some(main_path) = output {
            let path = if name == lfhost::sandbox::MAIN_OUTPUT {
                main_path.to_path_buf()
            } else {
                let stem = main_path.with_extension("");
                PathBuf::from(format!("{}.{name}.parquet", stem.display()))
            };
            harness::write_parquet(&path, schema, batches)?;
            println!("wrote {}", path.display());
        }
    }
    let counters = &outcome.report.counters;
    let shown: Vec<String> = counters
        .names()
        .map(|name| format!("{name}={}", counters.get(name).unwrap_or(0)))
        .collect();
    if !shown.is_empty() {
        println!("counters: {}", shown.join(", "));
    }
    Ok(())
}

fn print_plugin(plugin: &lfhost::sandbox::Plugin) {
    println!("file:     {}", plugin.path);
    println!("sha256:   {}", plugin.digest);
    println!(
        "contract: {}@{} (this host: {}@{}, compatible)",
        contract::PACKAGE,
        plugin.contract,
        contract::PACKAGE,
        contract::HOST_VERSION
    );
    if let Some(d) = plugin.descriptor() {
        println!("name:     {} {}", d.name, d.version);
        println!("kind:     {:?}", d.kind);
        if !d.description.is_empty() {
            println!("about:    {}", d.description);
        }
        println!("options:");
        for o in &d.options {
            let required = if o.required { "required" } else { "optional" };
            let default = o
                .default_value
                .as_deref()
                .map(|v| format!(", default {v}"))
                .unwrap_or_default();
            println!(
                "  {} ({}, {required}{default}): {}",
                o.name, o.type_name, o.description
            );
        }
    }
    println!("imports:");
    for name in &plugin.imports {
        println!("  {name}");
    }
}
