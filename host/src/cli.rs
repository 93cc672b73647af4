//! Commands, their options, and how results are shown.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use lfhost::config::{ConfigError, Pipeline};
use lfhost::event_log;
use lfhost::runner::progress::{Progress, Silent, Spinners};
use lfhost::runner::{self, FlowStatus, RunContext, RunOptions};
use lfhost::sandbox::{Allocation, Sandbox};

/// Runs declarative data pipelines whose stages are sandboxed WebAssembly
/// plugins, writing Delta Lake tables.
#[derive(Parser)]
#[command(name = "lfhost", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the pipeline: ingests new landing files and updates every table.
    Run {
        /// The pipeline file, e.g. pipelines.toml; several (one per tenant)
        /// with --tenants.
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Sets a variable declared in [vars], e.g. --var lake=s3://bucket/lake.
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// Rebuilds these tables (comma-separated; all when no list is given)
        /// from all their input instead of only what is new.
        #[arg(long, value_name = "TABLES", num_args = 0..=1, default_missing_value = "")]
        full_refresh: Option<String>,
        /// Runs only these tables (comma-separated).
        #[arg(long, value_name = "TABLES", conflicts_with = "select")]
        only: Option<String>,
        /// Runs only the selected tables: a comma-separated list where
        /// `+T` adds T's upstream tables and `T+` its downstream tables.
        #[arg(long, value_name = "SELECTION")]
        select: Option<String>,
        /// Ingests only shard I of N of each selected bronze table's new
        /// files (by a hash of their path); shards run side by side, each
        /// committing its files exactly once.
        #[arg(long, value_name = "I/N", value_parser = lfhost::storage::shard::Shard::parse)]
        shard: Option<lfhost::storage::shard::Shard>,
        /// Runs as one step of an orchestrated plan (`lfhost plan`): leaves
        /// checkpoints and log clean-up to its `lfhost maintain` step.
        #[arg(long)]
        worker: bool,
        /// A platform file declaring tenants: each pipeline runs as the
        /// tenant it names, in that tenant's storage and quotas, all at once.
        #[arg(long, value_name = "PLATFORM.toml")]
        tenants: Option<PathBuf>,
    },
    /// Checks the pipeline file and every plugin's options without moving data.
    Validate {
        file: PathBuf,
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
    },
    /// Prints the tables' dependency graph.
    Graph {
        file: PathBuf,
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// Lists the pipeline's runs from its event log: start, duration,
    /// status, rows written and failed tables.
    History {
        file: PathBuf,
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Prints a run's events from the event log (the last run by default).
    Events {
        file: PathBuf,
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// The run (its id, or a unique prefix of it).
        #[arg(long)]
        run: Option<String>,
        /// Only this table's events.
        #[arg(long)]
        table: Option<String>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Writes a self-contained HTML report: the pipeline graph coloured by
    /// each table's last status, and per table its recent runs and
    /// expectation results.
    Report {
        file: PathBuf,
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// Where to write the page.
        #[arg(short = 'o', long, default_value = "report.html")]
        output: PathBuf,
        /// How many runs to show per table.
        #[arg(long, default_value_t = lfhost::report::DEFAULT_RUNS)]
        runs: usize,
    },
    /// Prints the first rows of a table of the pipeline.
    Head {
        file: PathBuf,
        /// The table, e.g. gold_customer_orders.
        table: String,
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// How many rows.
        #[arg(short = 'n', long, default_value_t = 10)]
        rows: usize,
    },
    /// Tools for plugin authors.
    #[command(subcommand)]
    Plugin(crate::cli_plugin::PluginCommand),
    /// Prints the pipeline as steps for an orchestrator: an Argo Workflow,
    /// Kubernetes Jobs or JSON, one step per table (or bronze shard) and a
    /// final maintenance step.
    Plan(crate::cli_scale::PlanArgs),
    /// Checkpoints each table's log and deletes files no version references
    /// (the last step of an orchestrated plan; workers never do it).
    Maintain(crate::cli_scale::MaintainArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Text,
    Dot,
}

/// delta-rs aborts a failed upload through object_store's `BufWriter`,
/// which panics by design when the upload had already begun to finish, and
/// catches that panic. The default hook would still print it as if lfhost
/// had crashed, next to the real error (say, access denied); every other
/// panic is reported as usual.
fn quiet_known_caught_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str));
        let in_object_store = info.location().is_some_and(|l| {
            l.file().contains("object_store") && l.file().ends_with("buffered.rs")
        });
        if in_object_store && message == Some("Already shut down") {
            tracing::debug!("an aborted upload was already finishing (caught by delta-rs)");
            return;
        }
        default(info);
    }));
}

/// Exit status when the pipeline file or a command-line value is wrong.
const EXIT_INVALID: u8 = 2;
/// Exit status when a table's flow failed.
const EXIT_FLOW_FAILED: u8 = 1;

pub fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes
    // away (`lfhost graph x | head`) instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    quiet_known_caught_panics();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Spinners on a terminal; plain log lines for pipes and CI.
    let show_progress = !cli.quiet && std::io::stderr().is_terminal();
    match runtime.block_on(dispatch(cli.command, show_progress)) {
        Ok(code) => code,
        Err(e) => {
            match e.downcast_ref::<ConfigError>() {
                Some(config) => eprintln!("{config}"),
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::from(EXIT_INVALID)
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LFHOST_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            // Its upload budget warning is about memory sizing we chose on purpose.
            "warn,lfhost={level},deltalake_core::datafile::writer=error"
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// The pipeline's tables as a graph; a cycle is an error naming its tables.
pub(crate) fn dag_of(pipeline: &Pipeline) -> anyhow::Result<lfhost::dag::Dag> {
    lfhost::dag::Dag::new(&pipeline.tables)
        .map_err(|cycle| anyhow::anyhow!("cycle: {}", cycle.join(" -> ")))
}

pub(crate) fn parse_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))?;
    if name.is_empty() {
        return Err(format!("`{text}` has no variable name"));
    }
    Ok((name.to_string(), value.to_string()))
}

fn table_list(text: &str) -> BTreeSet<String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

async fn dispatch(command: Command, show_progress: bool) -> anyhow::Result<ExitCode> {
    match command {
        Command::Graph { file, vars, format } => {
            let pipeline = Pipeline::load(&file, &vars)?;
            let dag = dag_of(&pipeline)?;
            match format {
                GraphFormat::Text => print!("{}", dag.to_text(&pipeline.tables)),
                GraphFormat::Dot => print!("{}", dag.to_dot(&pipeline.tables)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { file, vars } => {
            let mut pipeline = Pipeline::load(&file, &vars)?;
            read_externals(&mut pipeline).await?;
            let plan = plan_blocking(pipeline).await?;
            println!("{}: {} table(s) valid", file.display(), plan.tables.len());
            for name in plan.dag.order() {
                if let Some(table) = plan.tables.get(name) {
                    let columns = table.main_schema().map_or(0, |s| s.fields().len());
                    println!(
                        "  {name}: plugin {}, {columns} column(s)",
                        table.plugin.name()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::History { file, vars, json } => {
            let pipeline = Pipeline::load(&file, &vars)?;
            let events = lfhost::history::events(&pipeline.lake).await?;
            print_history(&lfhost::history::runs(&events), json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            file,
            vars,
            output,
            runs,
        } => {
            let pipeline = Pipeline::load(&file, &vars)?;
            let dag = dag_of(&pipeline)?;
            let events = match lfhost::history::events(&pipeline.lake).await {
                Ok(events) => events,
                // A pipeline that never ran still has a graph to show.
                Err(e) if !event_log_exists(&pipeline).await => {
                    tracing::debug!("no event log: {e}");
                    Vec::new()
                }
                Err(e) => return Err(e.into()),
            };
            let page = lfhost::report::render(&pipeline, &dag, &events, runs);
            write_atomically(&output, page.as_bytes())
                .with_context(|| format!("cannot write {}", output.display()))?;
            println!("wrote {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Events {
            file,
            vars,
            run,
            table,
            json,
        } => {
            let pipeline = Pipeline::load(&file, &vars)?;
            if let Some(table) = &table
                && !pipeline.tables.contains_key(table)
            {
                anyhow::bail!("no table `{table}` in {}", file.display());
            }
            let events = lfhost::history::events(&pipeline.lake).await?;
            let selected = lfhost::history::select(&events, run.as_deref(), table.as_deref())
                .map_err(anyhow::Error::msg)?;
            print_events(&selected, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Head {
            file,
            table,
            vars,
            rows,
        } => {
            let pipeline = Pipeline::load(&file, &vars)?;
            if !pipeline.tables.contains_key(&table) && table != event_log::TABLE {
                anyhow::bail!("no table `{table}` in {}", file.display());
            }
            let location = pipeline.table_location(&table);
            let (batches, total) = lfhost::storage::reader::head(&location, rows).await?;
            if batches.is_empty() {
                println!("{table}: no rows ({location})");
            } else {
                println!(
                    "{table}: first {} of {total} rows",
                    batches.iter().map(|b| b.num_rows()).sum::<usize>()
                );
                println!("{}", arrow_cast::pretty::pretty_format_batches(&batches)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(command) => crate::cli_plugin::dispatch(command).await,
        Command::Plan(args) => crate::cli_scale::plan(args),
        Command::Maintain(args) => crate::cli_scale::maintain(args).await,
        Command::Run {
            files,
            vars,
            full_refresh,
            only,
            select,
            shard,
            worker,
            tenants,
        } => {
            if worker {
                lfhost::storage::delta::leave_maintenance_to_plan();
            }
            let options = RunOptions {
                full_refresh: full_refresh.as_deref().map(table_list),
                only: only.as_deref().map(table_list),
                shard: shard.unwrap_or_default(),
            };
            if !options.shard.is_whole() && options.full_refresh.is_some() {
                anyhow::bail!(
                    "--full-refresh rewrites whole tables, which one worker does: it cannot be combined with --shard"
                );
            }
            run(files, vars, options, select, tenants, show_progress).await
        }
    }
}

async fn plan_blocking(pipeline: Pipeline) -> anyhow::Result<runner::Plan> {
    // Compiling and calling plugins blocks; keep it off the async workers.
    let plan = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::with_allocation(pool_for(&pipeline))?;
        let plan = runner::plan(pipeline, &sandbox)?;
        Ok::<_, anyhow::Error>(plan)
    })
    .await
    .context("planning crashed")??;
    Ok(plan)
}

/// An instance pool for `pipeline`: a slot for each table's flow and the
/// planning instances, each memory as large as the largest table limit.
fn pool_for(pipeline: &Pipeline) -> Allocation {
    let tables = u32::try_from(pipeline.tables.len()).unwrap_or(u32::MAX);
    let max_memory_bytes = pipeline
        .tables
        .values()
        .map(|t| t.limits.memory_bytes)
        .chain([lfhost::sandbox::Limits::default().memory_bytes])
        .max()
        .unwrap_or(1 << 30);
    Allocation::Pooling {
        instances: tables.saturating_mul(2).saturating_add(8),
        max_memory_bytes,
    }
}

/// One pipeline ready to run, as its tenant when there is one.
struct Prepared {
    pipeline: Pipeline,
    plan: runner::Plan,
    tenant: Option<Arc<lfhost::tenants::Tenant>>,
    options: RunOptions,
}

/// A sharded run may hold only bronze tables: the others have one writer.
fn check_shardable(
    pipeline: &Pipeline,
    options: &RunOptions,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let Some(only) = &options.only else {
        anyhow::bail!(
            "--shard splits bronze tables' landing files: select them with --select (e.g. --select bronze_orders --shard {})",
            options.shard
        );
    };
    for name in only {
        if pipeline
            .tables
            .get(name)
            .is_some_and(|t| t.source.is_none())
        {
            anyhow::bail!(
                "{}: --shard splits bronze tables' landing files, but `{name}` reads other tables and has one writer: run it in its own step without --shard",
                file.display()
            );
        }
    }
    Ok(())
}

async fn run(
    files: Vec<PathBuf>,
    vars: Vec<(String, String)>,
    options: RunOptions,
    select: Option<String>,
    tenants: Option<PathBuf>,
    show_progress: bool,
) -> anyhow::Result<ExitCode> {
    let platform = tenants
        .as_deref()
        .map(lfhost::tenants::Platform::load)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    if platform.is_none() && files.len() > 1 {
        anyhow::bail!(
            "several pipeline files run together only as tenants: add --tenants PLATFORM.toml"
        );
    }
    let mut prepared = Vec::new();
    for file in &files {
        let mut pipeline = Pipeline::load(file, &vars)?;
        let mut options = options.clone();
        if let Some(selection) = &select {
            let dag = dag_of(&pipeline)?;
            let selected = dag
                .select(selection)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            options.only = Some(selected);
        }
        if !options.shard.is_whole() {
            check_shardable(&pipeline, &options, file)?;
        }
        for name in options
            .full_refresh
            .iter()
            .flatten()
            .chain(options.only.iter().flatten())
        {
            if files.len() == 1 && !pipeline.tables.contains_key(name) {
                anyhow::bail!("no table `{name}` in {}", file.display());
            }
        }
        let tenant = match &platform {
            Some(platform) => Some(platform.admit(&mut pipeline).map_err(anyhow::Error::msg)?),
            None => None,
        };
        read_externals(&mut pipeline).await?;
        let plan = plan_blocking(pipeline.clone()).await?;
        if let Some(tenant) = &tenant {
            let plugins = plan
                .tables
                .values()
                .map(|t| (t.spec.plugin.clone(), t.plugin.digest.clone()));
            lfhost::tenants::check_plugins(tenant, plugins)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        }
        prepared.push(Prepared {
            pipeline,
            plan,
            tenant,
            options,
        });
    }
    // One bound per tenant, shared by its pipelines.
    let mut instances: BTreeMap<String, Arc<tokio::sync::Semaphore>> = BTreeMap::new();
    for p in &prepared {
        if let Some(tenant) = &p.tenant
            && let Some(n) = tenant.quotas.max_instances
        {
            instances
                .entry(tenant.name.clone())
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(n)));
        }
    }
    let several = prepared.len() > 1;
    let runs = prepared.into_iter().map(|p| {
        let bound = p
            .tenant
            .as_ref()
            .and_then(|t| instances.get(&t.name).cloned());
        let progress: Arc<dyn Progress> = if show_progress && !several {
            Arc::new(Spinners::default())
        } else {
            Arc::new(Silent)
        };
        run_pipeline(p, progress, bound)
    });
    let finished = futures::future::join_all(runs).await;
    let mut failed = 0;
    for (label, tenant, results, elapsed) in &finished {
        if several {
            println!("== {label}");
        }
        failed += results
            .iter()
            .filter(|r| !matches!(r.status, FlowStatus::Completed(_)))
            .count();
        print_summary(results, *elapsed, tenant.as_deref());
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FLOW_FAILED)
    })
}

/// Reads the schema of every other tenant's table the pipeline reads; each
/// must have a location by now (a grant), and exist.
async fn read_externals(pipeline: &mut Pipeline) -> anyhow::Result<()> {
    for (name, external) in pipeline.externals.iter_mut() {
        let at = format!(
            "{}: table `{}`",
            pipeline.source.locate_span(&external.span),
            external.reader
        );
        let Some(location) = &external.location else {
            anyhow::bail!(
                "{at}: `{name}` is another namespace's table: it can be read only with --tenants and a grant"
            );
        };
        let Some(table) = lfhost::storage::delta::open(location).await? else {
            anyhow::bail!(
                "{at}: `{name}` does not exist yet ({location}): its tenant has not run it"
            );
        };
        external.schema = Some(lfhost::storage::delta::arrow_schema(&table)?);
    }
    Ok(())
}

/// Runs one pipeline and appends its events to its event log.
async fn run_pipeline(
    prepared: Prepared,
    progress: Arc<dyn Progress>,
    instances: Option<Arc<tokio::sync::Semaphore>>,
) -> (
    String,
    Option<String>,
    Vec<runner::FlowResult>,
    std::time::Duration,
) {
    let Prepared {
        pipeline,
        plan,
        tenant,
        options,
    } = prepared;
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let run_id = uuid::Uuid::new_v4().to_string();
    let lake = pipeline.lake.clone();
    let pipeline_name = pipeline.name.clone();
    let label = match &tenant {
        Some(t) => format!(
            "tenant {} ({}): pipeline {pipeline_name}",
            t.name, t.namespace
        ),
        None => format!("pipeline {pipeline_name}"),
    };
    tracing::info!("run {run_id} of {label} into {lake}");
    let deadline = tenant
        .as_ref()
        .and_then(|t| t.quotas.run_seconds)
        .map(|s| started + std::time::Duration::from_secs(s));
    let cpu_budget_ms = tenant
        .as_ref()
        .and_then(|t| t.quotas.cpu_seconds_per_run)
        .map(|s| Arc::new(std::sync::atomic::AtomicU64::new(s.saturating_mul(1000))));
    let context = RunContext {
        pipeline,
        run_id: run_id.clone(),
        started_at_micros: started_at.timestamp_micros(),
        progress,
        instances,
        deadline,
        cpu_budget_ms,
        merges: Arc::new(tokio::sync::Semaphore::new(1)),
    };
    let results = runner::run(plan, context, options).await;
    let events = event_log::run_events(&event_log::RunRecord {
        pipeline: &pipeline_name,
        tenant: tenant.as_ref().map(|t| t.name.as_str()),
        run_id: &run_id,
        started_at_micros: started_at.timestamp_micros(),
        finished_at_micros: chrono::Utc::now().timestamp_micros(),
        results: &results,
    });
    if let Err(e) = event_log::append(&lake, &run_id, &events).await {
        tracing::error!("could not write the event log: {e}");
    }
    let tenant = tenant.map(|t| t.name.clone());
    (label, tenant, results, started.elapsed())
}

fn print_history(runs: &[lfhost::history::RunSummary], json: bool) -> anyhow::Result<()> {
    if json {
        for run in runs {
            println!("{}", serde_json::to_string(run)?);
        }
        return Ok(());
    }
    println!(
        "{:<36}  {:<23}  {:>9}  {:<9}  {:>12}  failed tables",
        "run", "started (UTC)", "duration", "status", "rows"
    );
    for run in runs {
        let started = lfhost::history::utc_text(run.started_at, "%Y-%m-%d %H:%M:%S%.3f");
        let duration = run.duration_ms.map_or_else(
            || "-".to_string(),
            |ms| format!("{:.2}s", ms as f64 / 1000.0),
        );
        println!(
            "{:<36}  {:<23}  {:>9}  {:<9}  {:>12}  {}",
            run.run_id,
            started,
            duration,
            run.status,
            run.rows_written,
            run.failed_tables.join(", ")
        );
        for error in &run.errors {
            println!("    error: {error}");
        }
    }
    Ok(())
}

async fn event_log_exists(pipeline: &Pipeline) -> bool {
    let location = pipeline.lake.join(event_log::TABLE);
    matches!(lfhost::storage::delta::open(&location).await, Ok(Some(_)))
}

/// Writes through a temporary file beside `path`, so that a reader never
/// sees half a file.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

fn print_events(events: &[&lfhost::history::EventRow], json: bool) -> anyhow::Result<()> {
    for event in events {
        if json {
            println!("{}", serde_json::to_string(event)?);
            continue;
        }
        let at = lfhost::history::utc_text(event.timestamp, "%Y-%m-%d %H:%M:%S%.3f");
        println!(
            "{at}  {:<5}  {:<15}  {:<28}  {}",
            event.level,
            event.event_type,
            event.table_name.as_deref().unwrap_or("-"),
            event.message
        );
        if let Some(quality) = event.details.get("data_quality") {
            for e in quality["expectations"].as_array().into_iter().flatten() {
                println!(
                    "{:>31}expectation {}: {} passed, {} failed",
                    "",
                    e["name"].as_str().unwrap_or("?"),
                    e["passed_records"],
                    e["failed_records"]
                );
            }
        }
    }
    Ok(())
}

fn print_summary(
    results: &[runner::FlowResult],
    elapsed: std::time::Duration,
    tenant: Option<&str>,
) {
    println!(
        "{:<30} {:<10} {:>6} {:>12} {:>12} {:>9} {:>13} {:>9}",
        "table", "status", "files", "rows in", "rows out", "dropped", "exp. failures", "time"
    );
    for result in results {
        let dash = || "-".to_string();
        let (status, files, rows_in, rows_out, dropped, failures) = match &result.status {
            FlowStatus::Completed(o) => {
                let status = if o.committed_version.is_some() {
                    "done"
                } else {
                    "no change"
                };
                let rows_in = o
                    .counters
                    .get("rows_in")
                    .map_or_else(|| o.rows_out.to_string(), |v| v.to_string());
                let failed: i64 = o
                    .counters
                    .names()
                    .filter(|n| n.starts_with("dq.failed."))
                    .filter_map(|n| o.counters.get(n))
                    .sum();
                let dropped = o
                    .counters
                    .get("dropped")
                    .map_or_else(dash, |v| v.to_string());
                let files = if o.files > 0 {
                    o.files.to_string()
                } else {
                    dash()
                };
                (
                    status,
                    files,
                    rows_in,
                    o.rows_out.to_string(),
                    dropped,
                    failed.to_string(),
                )
            }
            FlowStatus::Failed(_) => ("FAILED", dash(), dash(), dash(), dash(), dash()),
            FlowStatus::Skipped { .. } => ("skipped", dash(), dash(), dash(), dash(), dash()),
        };
        println!(
            "{:<30} {:<10} {:>6} {:>12} {:>12} {:>9} {:>13} {:>8.2}s",
            result.table,
            status,
            files,
            rows_in,
            rows_out,
            dropped,
            failures,
            result.duration.as_secs_f64()
        );
    }
    for result in results {
        match &result.status {
            FlowStatus::Failed(f) => match tenant {
                Some(tenant) => println!(
                    "error: tenant `{tenant}`: table `{}`: {}",
                    result.table, f.message
                ),
                None => println!("error: table `{}`: {}", result.table, f.message),
            },
            FlowStatus::Skipped { upstream } => println!(
                "skipped: table `{}`: upstream table `{upstream}` failed",
                result.table
            ),
            FlowStatus::Completed(_) => {}
        }
    }
    println!("finished in {:.2}s", elapsed.as_secs_f64());
}
