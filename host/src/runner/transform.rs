//! A flow that reads other tables: the rows its inputs gained since the
//! flow last committed, through a plugin, appended to its table (and its
//! dropped rows to a quarantine table).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use deltalake_core::kernel::Transaction;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::merge;
use super::plan::PlannedTable;
use super::writer::{CHANNEL_BATCHES, data_bytes, spawn_writer};
use super::{FlowFailure, FlowOutcome, RunContext, open_target, spawn_flow};
use crate::config::Location;
use crate::sandbox::{OutputSink, PluginError, StageKind};
use crate::storage::delta::{self, Commit, DataFile};
use crate::storage::{StorageError, open_store, reader};

pub const QUARANTINE_OUTPUT: &str = "quarantine";

/// What one input contributes to this run.
pub(super) struct InputDelta {
    pub name: String,
    pub location: Location,
    /// The upstream version read up to (recorded as a transaction).
    pub version: Option<i64>,
    pub files: Vec<DataFile>,
}

pub(super) fn input_app_id(input: &str) -> String {
    format!("lfhost.input.{input}")
}

pub async fn run(
    run: &RunContext,
    table: &PlannedTable,
    full_refresh: bool,
) -> Result<FlowOutcome, FlowFailure> {
    let name = &table.spec.name;
    let location = run.pipeline.table_location(name);
    let (schema, existing) = open_target(table, &location, full_refresh).await?;
    let reads_all = full_refresh || existing.is_none();
    let mut inputs = Vec::new();
    let mut rewritten = Vec::new();
    for input in &table.spec.inputs {
        let consumed = match (&existing, reads_all) {
            (Some(t), false) => delta::transaction_version(t, &input_app_id(input)).await?,
            _ => None,
        };
        let discovered = input_delta(run, input, consumed).await?;
        if discovered.rewritten {
            rewritten.push(input.clone());
        }
        inputs.push(discovered.delta);
    }
    // An input rebuilt since the last run invalidates what this table holds.
    if !rewritten.is_empty() {
        tracing::warn!(table = %name, "input(s) {} were rebuilt since the last run: rebuilding {name}", rewritten.join(", "));
    }
    let nothing_new = inputs.iter().all(|i| i.files.is_empty());
    let kind = table.plugin.descriptor().map(|d| d.kind);
    let keyed = match kind {
        Some(StageKind::Merge) if inputs.len() == 1 => merge::keys_of(&table.spec.options_json),
        _ => None,
    };
    if let Some(keys) = keyed {
        let rebuild = reads_all || !rewritten.is_empty();
        if nothing_new && !rebuild {
            return Ok(FlowOutcome::nothing_new());
        }
        return merge::run(merge::MergeRun {
            run,
            table,
            keys,
            input: inputs.remove(0),
            existing,
            schema,
            rebuild,
        })
        .await;
    }
    // A merge's table is a function of its inputs' whole history (SCD
    // order does not depend on how changes were split into runs) and an
    // aggregate is a materialized view of its inputs: any change to an
    // input recomputes either from all of it.
    let merges = matches!(kind, Some(StageKind::Merge | StageKind::Aggregate));
    let full_refresh = reads_all || !rewritten.is_empty() || (merges && !nothing_new);
    if full_refresh && !reads_all {
        for input in &mut inputs {
            *input = input_delta(run, &input.name.clone(), None).await?.delta;
        }
    }
    if nothing_new && existing.is_some() && !full_refresh {
        return Ok(FlowOutcome {
            counters: zero_quality(&table.spec.options_json),
            ..FlowOutcome::nothing_new()
        });
    }

    // Writers for the table and, when configured, its quarantine.
    let watch = Some((run.progress.clone(), name.clone()));
    let (main_tx, main_task) = spawn_writer(&location, schema.clone(), watch)?;
    let quarantine_schema = table
        .outputs
        .iter()
        .find(|(n, _)| n == QUARANTINE_OUTPUT)
        .map(|(_, s)| s.clone());
    let quarantine = match (&table.spec.quarantine, &quarantine_schema) {
        (Some(q), Some(s)) => {
            let location = run.pipeline.table_location(q);
            let table_schema = quarantine_table_schema(s);
            let (tx, task) = spawn_writer(&location, table_schema.clone(), None)?;
            Some((q.clone(), location, table_schema, tx, task))
        }
        _ => None,
    };
    let mut outputs = HashMap::from([(
        "main".to_string(),
        OutputSink {
            schema: schema.clone(),
            sender: main_tx,
        },
    )]);
    let mut forwarder = None;
    if let Some(qschema) = &quarantine_schema {
        let (tx, rx) = mpsc::channel::<RecordBatch>(CHANNEL_BATCHES);
        let forward = quarantine.as_ref().map(|(_, _, _, tx, _)| tx.clone());
        let run_id = run.run_id.clone();
        forwarder = Some(tokio::spawn(forward_quarantine(rx, forward, run_id)));
        outputs.insert(
            QUARANTINE_OUTPUT.to_string(),
            OutputSink {
                schema: qschema.clone(),
                sender: tx,
            },
        );
    }
    let quarantine = quarantine.map(|(q, loc, table_schema, tx, task)| {
        drop(tx);
        (q, loc, table_schema, task)
    });

    // Readers feed the plugin's thread through one bounded channel, in input
    // order. They start once the plugin is open: by then it has said which
    // columns it keeps (`rows.read-only`), and only those are read.
    let (batch_tx, mut batch_rx) = mpsc::channel::<(String, RecordBatch)>(CHANNEL_BATCHES);
    let (reads_tx, reads_rx) = oneshot::channel::<HashMap<String, Vec<String>>>();
    let reader_plan: Vec<(Location, String, Vec<DataFile>)> = inputs
        .iter()
        .map(|i| (i.location.clone(), i.name.clone(), i.files.clone()))
        .collect();
    let reader_task: JoinHandle<Result<u64, StorageError>> = tokio::spawn(async move {
        // No columns come when the plugin failed to open: nothing to read.
        let Ok(mut reads) = reads_rx.await else {
            return Ok(0);
        };
        let mut rows = 0;
        for (location, input, files) in reader_plan {
            let (store, root) = open_store(&location)?;
            let columns = reads.remove(&input);
            rows +=
                reader::stream_files(store, root, files, input, columns, batch_tx.clone()).await?;
        }
        Ok(rows)
    });
    let planned: HashMap<String, SchemaRef> = table.inputs.iter().cloned().collect();
    let flow_result = spawn_flow(run, table, outputs, move |flow| {
        let reads = flow.read_only_columns();
        let expected = read_schemas(planned, &reads).map_err(PluginError::Internal)?;
        // The reader is gone only if it failed, which its own result reports.
        let _ = reads_tx.send(reads);
        while let Some((input, batch)) = batch_rx.blocking_recv() {
            let batch = match expected.get(&input) {
                Some(schema) => conform(&batch, schema).map_err(PluginError::Internal)?,
                None => batch,
            };
            flow.push(&input, &batch)?;
        }
        Ok::<(), PluginError>(())
    })
    .await
    .map_err(|e| FlowFailure::new(format!("the flow's thread failed: {e}")))?;
    let read = reader_task
        .await
        .map_err(|e| FlowFailure::new(format!("the reader task failed: {e}")))?;
    let written = main_task
        .await
        .map_err(|e| FlowFailure::new(format!("the writer task failed: {e}")))?;
    let plugin_name = table.plugin.name();
    let report = match flow_result {
        Ok(report) => report,
        Err(e) => {
            read?;
            written?;
            return Err(FlowFailure::new(format!("plugin {plugin_name}: {e}")));
        }
    };
    let rows_in = read?;
    let (adds, rows_out) = written?;

    if let Some(forwarder) = forwarder {
        forwarder
            .await
            .map_err(|e| FlowFailure::new(format!("the quarantine forwarder failed: {e}")))?
            .map_err(FlowFailure::new)?;
    }
    if let Some((q, qlocation, qschema, task)) = quarantine {
        let (qadds, qrows) = task
            .await
            .map_err(|e| FlowFailure::new(format!("the quarantine writer failed: {e}")))??;
        commit_quarantine(&q, &qlocation, qadds, qrows, &inputs, name, &qschema, run).await?;
    }
    let transactions = inputs
        .iter()
        .filter_map(|i| {
            i.version
                .map(|v| Transaction::new(input_app_id(&i.name), v))
        })
        .chain([delta::writer_tag(existing.as_ref())])
        .collect();
    let info = HashMap::from([("lfhost.run_id".to_string(), serde_json::json!(run.run_id))]);
    let bytes_written = data_bytes(&adds);
    let commit = Commit {
        adds,
        removes: Vec::new(),
        overwrite: full_refresh && existing.is_some(),
        transactions,
        info,
        may_rebase: false,
    };
    crate::failpoint::hit("transform-before-commit");
    let version = delta::commit(&location, existing.as_ref(), &schema, commit).await?;
    let mut counters = report.counters;
    counters.set_default("rows_in", i64::try_from(rows_in).unwrap_or(i64::MAX));
    Ok(FlowOutcome {
        committed_version: Some(version),
        rows_out,
        bytes_written,
        files: 0,
        counters,
    })
}

pub(super) struct Discovered {
    pub delta: InputDelta,
    /// Files seen before are gone: the input was rebuilt.
    pub rewritten: bool,
}

/// The files `input` gained since version `consumed` (all of them when `None`).
pub(super) async fn input_delta(
    run: &RunContext,
    input: &str,
    consumed: Option<i64>,
) -> Result<Discovered, StorageError> {
    let location = run.pipeline.table_location(input);
    let Some(current) = delta::open(&location).await? else {
        return Ok(Discovered {
            delta: InputDelta {
                name: input.to_string(),
                location,
                version: None,
                files: Vec::new(),
            },
            rewritten: false,
        });
    };
    let version = delta::version(&current);
    let now = delta::data_files(&current).await?;
    let (files, rewritten) = match consumed {
        Some(old) if Some(old) == version => (Vec::new(), false),
        Some(old) => {
            let before = delta::data_files(&delta::open_version(&location, old).await?).await?;
            let before_paths: std::collections::HashSet<&str> =
                before.iter().map(|f| f.path.as_str()).collect();
            let now_paths: std::collections::HashSet<&str> =
                now.iter().map(|f| f.path.as_str()).collect();
            let rewritten = before_paths.iter().any(|p| !now_paths.contains(p));
            (
                now.iter()
                    .filter(|f| !before_paths.contains(f.path.as_str()))
                    .cloned()
                    .collect(),
                rewritten,
            )
        }
        None => (now, false),
    };
    Ok(Discovered {
        delta: InputDelta {
            name: input.to_string(),
            location,
            version,
            files,
        },
        rewritten,
    })
}

/// The counters a run with nothing new reports for a table with
/// expectations: the contract wants `data_quality` on every such run, with
/// that run's (zero) counts. The names come from the options' conventional
/// `expectations` list, since the plugin is not run.
fn zero_quality(options_json: &str) -> crate::sandbox::Counters {
    let mut counters = crate::sandbox::Counters::default();
    let options: serde_json::Value = serde_json::from_str(options_json).unwrap_or_default();
    let names = options
        .get("expectations")
        .and_then(|e| e.as_array())
        .into_iter()
        .flatten();
    let names: Vec<&str> = names
        .filter_map(|e| e.get("name").and_then(|n| n.as_str()))
        .collect();
    if names.is_empty() {
        return counters;
    }
    for name in &names {
        counters.add(&format!("{}{name}", crate::event_log::DQ_PASSED), 0);
        counters.add(&format!("{}{name}", crate::event_log::DQ_FAILED), 0);
    }
    for name in ["rows_in", "rows_out", "dropped"] {
        counters.add(name, 0);
    }
    counters
}

/// The quarantine table: the plugin's quarantine rows plus the run's id.
fn quarantine_table_schema(plugin_schema: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = plugin_schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("_run_id", DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

async fn forward_quarantine(
    mut rx: mpsc::Receiver<RecordBatch>,
    forward: Option<mpsc::Sender<RecordBatch>>,
    run_id: String,
) -> Result<(), String> {
    while let Some(batch) = rx.recv().await {
        let Some(forward) = &forward else { continue };
        let run_ids: ArrayRef =
            Arc::new(StringArray::from(vec![run_id.as_str(); batch.num_rows()]));
        let mut columns = batch.columns().to_vec();
        columns.push(run_ids);
        let schema = quarantine_table_schema(&batch.schema());
        let batch =
            RecordBatch::try_new(schema, columns).map_err(|e| format!("quarantine rows: {e}"))?;
        if forward.send(batch).await.is_err() {
            // The writer stopped; its own error is reported when awaited.
            return Ok(());
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn commit_quarantine(
    quarantine: &str,
    location: &Location,
    adds: Vec<deltalake_core::kernel::Add>,
    rows: u64,
    inputs: &[InputDelta],
    table: &str,
    table_schema: &SchemaRef,
    run: &RunContext,
) -> Result<(), FlowFailure> {
    let existing = delta::open(location).await?;
    // A re-run after a crash between this commit and the table's must not
    // quarantine the same rows twice.
    let app_id = |input: &str| format!("lfhost.quarantine.{table}.{input}");
    if let Some(existing) = &existing {
        let mut all_done = !inputs.is_empty();
        for input in inputs {
            let done = delta::transaction_version(existing, &app_id(&input.name)).await?;
            all_done &= input.version.is_some() && done >= input.version;
        }
        if all_done {
            return Ok(());
        }
    }
    if rows == 0 && existing.is_some() {
        return Ok(());
    }
    let transactions = inputs
        .iter()
        .filter_map(|i| i.version.map(|v| Transaction::new(app_id(&i.name), v)))
        .chain([delta::writer_tag(existing.as_ref())])
        .collect();
    let info = HashMap::from([("lfhost.run_id".to_string(), serde_json::json!(run.run_id))]);
    let commit = Commit {
        adds,
        removes: Vec::new(),
        overwrite: false,
        transactions,
        info,
        may_rebase: false,
    };
    delta::commit(location, existing.as_ref(), table_schema, commit)
        .await
        .map_err(|e| FlowFailure::new(format!("quarantine table {quarantine}: {e}")))?;
    Ok(())
}

/// The schema each input's batches are read with: the planned one, or its
/// `reads` columns when the plugin keeps only those.
fn read_schemas(
    mut planned: HashMap<String, SchemaRef>,
    reads: &HashMap<String, Vec<String>>,
) -> Result<HashMap<String, SchemaRef>, String> {
    for (input, columns) in reads {
        let Some(schema) = planned.get_mut(input) else {
            continue;
        };
        let indices = columns
            .iter()
            .map(|c| schema.index_of(c).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        *schema = Arc::new(schema.project(&indices).map_err(|e| e.to_string())?);
    }
    Ok(planned)
}

/// Gives a batch read back from Parquet exactly the schema the plugin was
/// planned with (same columns; field metadata and nullability may differ).
pub(super) fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, String> {
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let column = batch
            .column_by_name(field.name())
            .ok_or_else(|| format!("input data lacks column `{}`", field.name()))?;
        let column = if column.data_type() == field.data_type() {
            column.clone()
        } else {
            arrow_cast::cast(column, field.data_type())
                .map_err(|e| format!("column `{}`: {e}", field.name()))?
        };
        columns.push(column);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}
