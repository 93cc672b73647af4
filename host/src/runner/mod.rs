//! Running a planned pipeline: tables in dependency order, independent
//! branches at the same time, a failure stopping only what depends on it.

mod ingest;
mod merge;
pub mod plan;
pub mod progress;
mod transform;
pub(crate) mod writer;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::task::JoinHandle;

use crate::config::Pipeline;
pub use crate::sandbox::Counters;
use crate::sandbox::{Flow, FlowReport, Idle, OutputSink, PluginError};
use crate::storage::StorageError;
pub use plan::{Plan, PlannedTable, plan};

/// What every flow of a run shares.
pub struct RunContext {
    pub pipeline: Pipeline,
    pub run_id: String,
    /// The run's start, microseconds since the epoch: every `_ingested_at`.
    pub started_at_micros: i64,
    pub progress: Arc<dyn progress::Progress>,
    /// Bounds the plugin instances running at once (a tenant's quota).
    pub instances: Option<Arc<tokio::sync::Semaphore>>,
    /// When the whole run must be over (a tenant's quota): no flow starts
    /// after it, and none runs its plugin past it.
    pub deadline: Option<Instant>,
    /// Plugin seconds the run's flows may still spend, all together (a
    /// tenant's quota), in milliseconds.
    pub cpu_budget_ms: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// Keyed merges take turns: each holds its changes in memory and
    /// already runs a plugin instance per core, so two at once would add
    /// their memory for no speed.
    pub merges: Arc<tokio::sync::Semaphore>,
}

impl RunContext {
    /// What `table`'s plugin is told of this run.
    pub fn flow_context(&self, table: &PlannedTable) -> crate::sandbox::FlowContext {
        crate::sandbox::FlowContext {
            run_id: self.run_id.clone(),
            table: table.spec.name.clone(),
            run_started_at_micros: self.started_at_micros,
        }
    }

    /// `table`'s limits, its CPU time cut to what is left before the deadline.
    pub fn limits_for(&self, table: &PlannedTable) -> crate::sandbox::Limits {
        let mut limits = table.spec.limits.clone();
        if let Some(deadline) = self.deadline {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .as_secs()
                .max(1);
            limits.cpu_seconds = limits.cpu_seconds.min(left);
        }
        limits
    }
}

/// Runs `table`'s plugin on a blocking thread (calls into Wasm block): a
/// flow opened with the table's options, inputs and limits and this run's
/// context, fed by `feed`, then finished.
pub(super) fn spawn_flow<E, F>(
    run: &RunContext,
    table: &PlannedTable,
    outputs: HashMap<String, OutputSink>,
    feed: F,
) -> JoinHandle<Result<FlowReport, E>>
where
    E: From<PluginError> + Send + 'static,
    F: FnOnce(&mut Flow) -> Result<(), E> + Send + 'static,
{
    spawn_flow_with(run, table, None, outputs, feed, Flow::finish)
}

/// Like [`spawn_flow`], on `idle` when it fits (see
/// [`crate::sandbox::Plugin::open_flow_on`]), and handing back the instance
/// when the flow ends cleanly.
pub(super) fn spawn_flow_on<E, F>(
    run: &RunContext,
    table: &PlannedTable,
    idle: Option<Idle>,
    outputs: HashMap<String, OutputSink>,
    feed: F,
) -> JoinHandle<Result<(FlowReport, Option<Idle>), E>>
where
    E: From<PluginError> + Send + 'static,
    F: FnOnce(&mut Flow) -> Result<(), E> + Send + 'static,
{
    spawn_flow_with(run, table, idle, outputs, feed, Flow::finish_keeping)
}

fn spawn_flow_with<T, E, F>(
    run: &RunContext,
    table: &PlannedTable,
    idle: Option<Idle>,
    outputs: HashMap<String, OutputSink>,
    feed: F,
    finish: fn(Flow) -> Result<T, PluginError>,
) -> JoinHandle<Result<T, E>>
where
    T: Send + 'static,
    E: From<PluginError> + Send + 'static,
    F: FnOnce(&mut Flow) -> Result<(), E> + Send + 'static,
{
    let plugin = table.plugin.clone();
    let options = table.spec.options_json.clone();
    let limits = run.limits_for(table);
    let inputs = table.inputs.clone();
    let context = run.flow_context(table);
    tokio::task::spawn_blocking(move || {
        let mut flow = plugin.open_flow_on(idle, &options, &inputs, &context, &limits, outputs)?;
        feed(&mut flow)?;
        Ok(finish(flow)?)
    })
}

/// Which tables to run and how.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Tables to rebuild from scratch; `Some(empty)` means all.
    pub full_refresh: Option<BTreeSet<String>>,
    /// Run only these tables; `None` means all.
    pub only: Option<BTreeSet<String>>,
    /// The part of each bronze table's new files this run ingests.
    pub shard: crate::storage::shard::Shard,
}

impl RunOptions {
    fn refreshes(&self, table: &str) -> bool {
        self.full_refresh
            .as_ref()
            .is_some_and(|t| t.is_empty() || t.contains(table))
    }
}

/// A flow that did its work.
#[derive(Debug, Clone, Default)]
pub struct FlowOutcome {
    /// The table version it committed; `None` when there was nothing new.
    pub committed_version: Option<i64>,
    pub rows_out: u64,
    pub files: usize,
    /// Bytes of the data files committed.
    pub bytes_written: u64,
    pub counters: Counters,
}

impl FlowOutcome {
    pub fn nothing_new() -> Self {
        FlowOutcome::default()
    }
}

/// Why a flow failed, in the user's terms.
#[derive(Debug, Clone)]
pub struct FlowFailure {
    pub message: String,
}

impl FlowFailure {
    pub fn new(message: impl Into<String>) -> Self {
        FlowFailure {
            message: message.into(),
        }
    }
}

impl From<StorageError> for FlowFailure {
    fn from(e: StorageError) -> Self {
        FlowFailure::new(e.to_string())
    }
}

#[derive(Debug, Clone)]
pub enum FlowStatus {
    Completed(FlowOutcome),
    Failed(FlowFailure),
    /// Not run because an upstream table failed.
    Skipped {
        upstream: String,
    },
}

#[derive(Debug, Clone)]
pub struct FlowResult {
    pub table: String,
    /// The plugin's name and version.
    pub plugin: String,
    /// The sha256 of the plugin's component.
    pub plugin_digest: String,
    pub status: FlowStatus,
    /// When the flow started, microseconds since the epoch (0 if it never did).
    pub started_at_micros: i64,
    pub duration: Duration,
}

impl FlowResult {
    /// A flow that never ran its plugin.
    fn not_run(table: String, status: FlowStatus) -> FlowResult {
        FlowResult {
            table,
            plugin: String::new(),
            plugin_digest: String::new(),
            status,
            started_at_micros: 0,
            duration: Duration::ZERO,
        }
    }
}

/// Runs the plan's tables (or the selected ones) and reports each.
pub async fn run(plan: Plan, context: RunContext, options: RunOptions) -> Vec<FlowResult> {
    let context = Arc::new(context);
    let plan = Arc::new(plan);
    let selected: Vec<String> = plan
        .dag
        .order()
        .iter()
        .filter(|t| options.only.as_ref().is_none_or(|only| only.contains(*t)))
        .cloned()
        .collect();
    let mut flows: BTreeMap<String, Shared<BoxFuture<'static, FlowResult>>> = BTreeMap::new();
    for key in &selected {
        let key = key.clone();
        let name = &key;
        let upstream: Vec<_> = plan
            .dag
            .upstream(name)
            .iter()
            .filter_map(|u| flows.get(u).cloned())
            .collect();
        let (plan, context, options, name) =
            (plan.clone(), context.clone(), options.clone(), name.clone());
        let table = name.clone();
        let task = tokio::spawn(async move {
            for result in futures::future::join_all(upstream).await {
                if !matches!(result.status, FlowStatus::Completed(_)) {
                    return FlowResult::not_run(
                        name,
                        FlowStatus::Skipped {
                            upstream: result.table,
                        },
                    );
                }
            }
            let result = run_flow(
                &plan,
                &context,
                &name,
                options.refreshes(&name),
                options.shard,
            )
            .await;
            crate::memory::give_back_freed();
            result
        });
        let shared = async move {
            task.await.unwrap_or_else(|e| {
                FlowResult::not_run(
                    table,
                    FlowStatus::Failed(FlowFailure::new(format!("the flow crashed: {e}"))),
                )
            })
        }
        .boxed()
        .shared();
        flows.insert(key, shared);
    }
    let mut results = Vec::new();
    for name in &selected {
        if let Some(flow) = flows.get(name) {
            results.push(flow.clone().await);
        }
    }
    results
}

/// The schema a table's flow writes and the table as it is, refusing a
/// table whose schema the plugin no longer produces unless it is rebuilt.
async fn open_target(
    table: &PlannedTable,
    location: &crate::config::Location,
    full_refresh: bool,
) -> Result<(arrow_schema::SchemaRef, Option<deltalake_core::DeltaTable>), FlowFailure> {
    let name = &table.spec.name;
    let schema = table
        .main_schema()
        .cloned()
        .ok_or_else(|| FlowFailure::new("the plugin declared no output"))?;
    let existing = crate::storage::delta::open(location).await?;
    if let Some(existing) = &existing {
        let current = crate::storage::delta::arrow_schema(existing)?;
        if !full_refresh && !lfhost_ipc::same_fields(&current, &schema) {
            return Err(FlowFailure::new(format!(
                "the table's schema {} differs from what the plugin now produces {}; run with --full-refresh {name} to rebuild it",
                lfhost_ipc::describe_schema(&current),
                lfhost_ipc::describe_schema(&schema)
            )));
        }
    }
    Ok((schema, existing))
}

async fn run_flow(
    plan: &Plan,
    context: &RunContext,
    name: &str,
    full_refresh: bool,
    shard: crate::storage::shard::Shard,
) -> FlowResult {
    let started = Instant::now();
    let started_at_micros = chrono::Utc::now().timestamp_micros();
    let Some(table) = plan.tables.get(name) else {
        return FlowResult::not_run(
            name.to_string(),
            FlowStatus::Failed(FlowFailure::new("the table was not planned")),
        );
    };
    // Held for the flow: a tenant's flows beyond its quota wait here.
    let _instance = match &context.instances {
        Some(instances) => instances.clone().acquire_owned().await.ok(),
        None => None,
    };
    if let Some(deadline) = context.deadline
        && Instant::now() >= deadline
    {
        return FlowResult::not_run(
            name.to_string(),
            FlowStatus::Failed(FlowFailure::new(
                "not started: the tenant's run deadline (run_seconds) had passed",
            )),
        );
    }
    if let Some(budget) = &context.cpu_budget_ms
        && budget.load(std::sync::atomic::Ordering::Relaxed) == 0
    {
        return FlowResult::not_run(
            name.to_string(),
            FlowStatus::Failed(FlowFailure::new(
                "not started: the tenant's CPU budget for the run (cpu_seconds_per_run) is spent",
            )),
        );
    }
    let running = Instant::now();
    tracing::info!(table = name, "flow started");
    context.progress.flow_started(name);
    let outcome = match &table.spec.source {
        Some(source) => ingest::run(context, table, source, full_refresh, shard).await,
        None => transform::run(context, table, full_refresh).await,
    };
    if matches!(&outcome, Ok(o) if o.committed_version.is_some()) {
        crate::failpoint::hit("after-commit");
    }
    let shown = match &outcome {
        Ok(o) if o.committed_version.is_some() => format!("{} rows", o.rows_out),
        Ok(_) => "nothing new".to_string(),
        Err(_) => "FAILED".to_string(),
    };
    context.progress.flow_finished(name, &shown);
    let status = match outcome {
        Ok(outcome) => {
            match outcome.committed_version {
                Some(v) => tracing::info!(
                    table = name,
                    "committed version {v}: {} rows from {} file(s)",
                    outcome.rows_out,
                    outcome.files
                ),
                None => tracing::info!(table = name, "nothing new"),
            }
            FlowStatus::Completed(outcome)
        }
        Err(failure) => {
            tracing::error!(table = name, "{}", failure.message);
            FlowStatus::Failed(failure)
        }
    };
    if let Some(budget) = &context.cpu_budget_ms {
        let spent = u64::try_from(running.elapsed().as_millis()).unwrap_or(u64::MAX);
        let _ = budget.fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |left| Some(left.saturating_sub(spent)),
        );
    }
    FlowResult {
        table: name.to_string(),
        plugin: table.plugin.name(),
        plugin_digest: table.plugin.digest.clone(),
        status,
        started_at_micros,
        duration: started.elapsed(),
    }
}
