//! Table maintenance, the last step of an orchestrated plan: a checkpoint
//! of each table's log, expired log files removed, and data files and
//! ingest manifests that no version references (left by killed or losing
//! workers, or replaced by later commits) deleted once they are older than
//! the retention period. Workers never do this themselves (see
//! [`crate::storage::delta::leave_maintenance_to_plan`]): several would
//! race on checkpoints, and one could delete the files another is about
//! to commit.

use std::collections::BTreeSet;

use deltalake_core::checkpoints::{cleanup_metadata, create_checkpoint};
use deltalake_core::operations::vacuum::VacuumMode;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;

use crate::config::{Location, Pipeline};
use crate::storage::shard::Shard;
use crate::storage::{StorageError, delta, manifest, open_store};

/// What maintenance did to one Delta table.
#[derive(Debug, Clone, Default)]
pub struct Maintained {
    /// What the table is: a pipeline table, its quarantine, a merge's state, the event log.
    pub label: String,
    /// The version checkpointed (`None` when there is no table yet).
    pub checkpoint: Option<i64>,
    pub data_files_deleted: usize,
    pub log_files_deleted: usize,
    pub manifests_deleted: usize,
}

/// The Delta tables behind `tables` of `pipeline` (their quarantine
/// tables and merge state included) and the event log.
pub async fn targets(
    pipeline: &Pipeline,
    tables: &BTreeSet<String>,
) -> Result<Vec<(String, Location)>, StorageError> {
    let mut targets = Vec::new();
    for name in tables {
        let Some(spec) = pipeline.tables.get(name) else {
            continue;
        };
        let location = pipeline.table_location(name);
        for state in state_tables(&location).await? {
            targets.push((
                format!("{name} (merge state {state})"),
                location.join("_lfhost_state").join(&state),
            ));
        }
        targets.push((name.clone(), location));
        if let Some(quarantine) = &spec.quarantine {
            targets.push((
                format!("{quarantine} (quarantine of {name})"),
                pipeline.table_location(quarantine),
            ));
        }
    }
    targets.push((
        crate::event_log::TABLE.to_string(),
        pipeline.lake.join(crate::event_log::TABLE),
    ));
    Ok(targets)
}

/// The merge state tables kept beside a table (one per fingerprint).
async fn state_tables(location: &Location) -> Result<Vec<String>, StorageError> {
    let (store, root) = open_store(location)?;
    let dir = root.join("_lfhost_state");
    let listing = match store.list_with_delimiter(Some(&dir)).await {
        Ok(listing) => listing,
        Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(StorageError::at(location, e)),
    };
    Ok(listing
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().map(str::to_string))
        .collect())
}

/// Maintains the Delta table at `location`.
pub async fn maintain(
    label: &str,
    location: &Location,
    retention: chrono::Duration,
) -> Result<Maintained, StorageError> {
    let mut done = Maintained {
        label: label.to_string(),
        ..Maintained::default()
    };
    let Some(table) = delta::open(location).await? else {
        return Ok(done);
    };
    let ingest = manifest_clean_up(&table, location, retention).await?;
    done.manifests_deleted = ingest;
    let (table, metrics) = table
        .vacuum()
        .with_mode(VacuumMode::Full)
        .with_retention_period(retention)
        .with_enforce_retention_duration(false)
        .await
        .map_err(|e| StorageError::at(location, format!("vacuum failed: {e}")))?;
    done.data_files_deleted = metrics.files_deleted.len();
    create_checkpoint(&table, None)
        .await
        .map_err(|e| StorageError::at(location, format!("checkpoint failed: {e}")))?;
    done.checkpoint = delta::version(&table);
    done.log_files_deleted = cleanup_metadata(&table, None)
        .await
        .map_err(|e| StorageError::at(location, format!("log clean-up failed: {e}")))?;
    Ok(done)
}

/// Deletes a bronze table's ingest manifests that no committed version
/// points at and that are older than `retention`.
async fn manifest_clean_up(
    table: &deltalake_core::DeltaTable,
    location: &Location,
    retention: chrono::Duration,
) -> Result<usize, StorageError> {
    let (store, root) = open_store(location)?;
    let any_manifest = store
        .list(Some(&root.clone().join("_lfhost")))
        .try_next()
        .await
        .map_err(|e| StorageError::at(location, e))?;
    if any_manifest.is_none() {
        return Ok(0);
    }
    let state = manifest::read_state(table, &store, &root, Shard::WHOLE).await?;
    let cutoff = chrono::Utc::now() - retention;
    let mut deleted = 0;
    for (path, changed) in manifest::unreferenced(&store, &root, &state).await? {
        if changed > cutoff {
            continue;
        }
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
            Err(e) => return Err(StorageError::at(&path, e)),
        }
    }
    Ok(deleted)
}
