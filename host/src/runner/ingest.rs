//! A bronze flow: new landing files through an ingest plugin into a Delta
//! table, exactly once.

use deltalake_core::kernel::Transaction;
use std::collections::HashMap;

use super::plan::PlannedTable;
use super::writer::data_bytes;
use super::writer::spawn_writer;
use super::{FlowFailure, FlowOutcome, RunContext, open_target, spawn_flow};
use crate::config::SourceSpec;
use crate::sandbox::{LandingGrant, OutputSink};
use crate::storage::delta::{self, Commit};
use crate::storage::landing::{self, LandingEntry};
use crate::storage::manifest::{self, IngestState, IngestedFile};
use crate::storage::open_store;
use crate::storage::shard::Shard;

pub async fn run(
    run: &RunContext,
    table: &PlannedTable,
    source: &SourceSpec,
    full_refresh: bool,
    shard: Shard,
) -> Result<FlowOutcome, FlowFailure> {
    let name = &table.spec.name;
    let location = run.pipeline.table_location(name);
    let (schema, existing) = open_target(table, &location, full_refresh).await?;
    let (lake_store, table_root) = open_store(&location)?;
    let state = match (&existing, full_refresh) {
        (Some(table), false) => {
            manifest::read_state(table, &lake_store, &table_root, shard).await?
        }
        // A full refresh forgets what was ingested (even a manifest that
        // cannot be read), but its version still follows the last one.
        (Some(table), true) => IngestState {
            own_version: delta::transaction_version(table, &shard.app_id()).await?,
            ..IngestState::default()
        },
        (None, _) => IngestState::default(),
    };
    let (landing_store, entries) = landing::list(source).await?;
    let mut new_files: Vec<LandingEntry> = Vec::new();
    for entry in entries {
        if !shard.owns(&entry.relative) {
            continue;
        }
        match state.known.get(&entry.relative) {
            None => new_files.push(entry),
            Some(seen)
                if seen.size != entry.size || seen.last_modified_ms != entry.last_modified_ms =>
            {
                tracing::warn!(
                    table = %name,
                    "{} changed after it was ingested (run {}); it is not read again",
                    entry.shown,
                    seen.run_id
                );
            }
            Some(_) => {}
        }
    }
    if new_files.is_empty() && !full_refresh {
        return Ok(FlowOutcome::nothing_new());
    }

    let watch = Some((run.progress.clone(), name.clone()));
    let (sender, writer_task) = spawn_writer(&location, schema.clone(), watch)?;

    let files = new_files.clone();
    let store = landing_store.clone();
    let outputs = HashMap::from([(
        crate::sandbox::MAIN_OUTPUT.to_string(),
        OutputSink {
            schema: schema.clone(),
            sender,
        },
    )]);
    let flow_result = spawn_flow(run, table, outputs, move |flow| {
        for file in &files {
            let grant = LandingGrant {
                store: store.clone(),
                path: file.path.clone(),
                size: file.size,
            };
            flow.ingest(grant, &file.shown)
                .map_err(|e| FileError(file.shown.clone(), e))?;
        }
        Ok::<(), IngestError>(())
    })
    .await
    .map_err(|e| FlowFailure::new(format!("the flow's thread failed: {e}")))?;

    let written = writer_task
        .await
        .map_err(|e| FlowFailure::new(format!("the writer task failed: {e}")))?;
    let report = match (flow_result, written) {
        (Ok(report), Ok(written)) => (report, written),
        // The writer's own error explains a refused batch better than the plugin's view of it.
        (Err(_), Err(e)) | (Ok(_), Err(e)) => return Err(e.into()),
        (Err(e), Ok(_)) => return Err(e.into_failure(&table.plugin.name())),
    };
    let (flow_report, (adds, rows)) = report;

    let mut next = state.own;
    if full_refresh {
        next.files.clear();
    }
    for file in &new_files {
        next.files.insert(
            file.relative.clone(),
            IngestedFile {
                size: file.size,
                last_modified_ms: file.last_modified_ms,
                run_id: run.run_id.clone(),
            },
        );
    }
    let app_id = shard.app_id();
    manifest::register_layout(&lake_store, &table_root, shard.count).await?;
    let (next_version, manifest_name) =
        manifest::write_next(&lake_store, &table_root, &app_id, state.own_version, &next).await?;
    let mut info = HashMap::from([
        (
            manifest::COMMIT_INFO_KEY.to_string(),
            serde_json::json!(manifest_name),
        ),
        ("lfhost.run_id".to_string(), serde_json::json!(run.run_id)),
        (
            "lfhost.files".to_string(),
            serde_json::json!(new_files.len()),
        ),
    ]);
    if !shard.is_whole() {
        info.insert(
            "lfhost.shard".to_string(),
            serde_json::json!(shard.to_string()),
        );
    }
    let bytes_written = data_bytes(&adds);
    let commit = Commit {
        adds,
        removes: Vec::new(),
        overwrite: full_refresh && existing.is_some(),
        transactions: vec![Transaction::new(&app_id, next_version)],
        info,
        // Shards append side by side; a second worker of the same shard
        // still loses, because both record the same application id.
        may_rebase: !shard.is_whole(),
    };
    crate::failpoint::hit("ingest-before-commit");
    let version = delta::commit(&location, existing.as_ref(), schema.as_ref(), commit).await?;
    Ok(FlowOutcome {
        committed_version: Some(version),
        rows_out: rows,
        bytes_written,
        files: new_files.len(),
        counters: flow_report.counters,
    })
}

/// A plugin failure while it worked on one file.
pub struct FileError(pub String, pub crate::sandbox::PluginError);

pub enum IngestError {
    File(FileError),
    Flow(crate::sandbox::PluginError),
}

impl From<FileError> for IngestError {
    fn from(e: FileError) -> Self {
        IngestError::File(e)
    }
}

impl From<crate::sandbox::PluginError> for IngestError {
    fn from(e: crate::sandbox::PluginError) -> Self {
        IngestError::Flow(e)
    }
}

impl IngestError {
    fn into_failure(self, plugin: &str) -> FlowFailure {
        match self {
            IngestError::File(FileError(file, e)) => {
                let message = e.to_string();
                // Plugins name the file in data errors; say it once.
                if message.contains(&file) {
                    FlowFailure::new(format!("plugin {plugin}: {message}"))
                } else {
                    FlowFailure::new(format!("plugin {plugin} while ingesting {file}: {message}"))
                }
            }
            IngestError::Flow(e) => FlowFailure::new(format!("plugin {plugin}: {e}")),
        }
    }
}
