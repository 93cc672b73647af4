//! The record of which landing files a bronze table has ingested.
//!
//! Each ingest commit records a Delta transaction action for its shard's
//! application id (see [`Shard::app_id`]) with a version that names the
//! shard's cumulative manifest, `_lfhost/ingest-<app id>-<version>.json`.
//! The manifest is written *before* the commit and only if no file of
//! that name exists, so the name a committed version points at was written
//! by the run that committed it: a run that loses the race to commit (two
//! workers of one shard) or is killed before committing leaves a manifest
//! nobody points at, and its files are ingested again by the next run.
//!
//! Shard layouts in use are registered as `_lfhost/layouts/<n>` before
//! their first commit, so that any run can find every shard's manifest and
//! never ingests a file twice, whatever split ingested it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use deltalake_core::DeltaTable;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::StorageError;
use super::delta;
use super::shard::{Shard, UNSHARDED_APP_ID};

/// The commit info entry naming the manifest of an ingest commit.
pub const COMMIT_INFO_KEY: &str = "lfhost.manifest";

/// Versions a run tries past a manifest name already taken (by runs that
/// died or lost) before it gives up.
const MAX_NAME_ATTEMPTS: i64 = 1000;

/// What is known of an ingested file when it was ingested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestedFile {
    pub size: u64,
    pub last_modified_ms: i64,
    pub run_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Relative path → what it was.
    pub files: BTreeMap<String, IngestedFile>,
}

/// What a table's committed ingest manifests say, seen from one shard.
#[derive(Debug, Default)]
pub struct IngestState {
    /// Every file any shard (of any layout) has committed.
    pub known: BTreeMap<String, IngestedFile>,
    /// The shard's own cumulative manifest.
    pub own: Manifest,
    /// The shard's last committed version (`None` before its first commit).
    pub own_version: Option<i64>,
    /// Names of the manifests committed versions point at.
    pub referenced: BTreeSet<String>,
}

fn lfhost_dir(table_root: &Path) -> Path {
    table_root.clone().join("_lfhost")
}

fn manifest_name(app_id: &str, version: i64) -> String {
    format!("ingest-{app_id}-{version:020}.json")
}

fn layouts_dir(table_root: &Path) -> Path {
    lfhost_dir(table_root).join("layouts")
}

/// Reads every shard's committed manifest of `table`.
pub async fn read_state(
    table: &DeltaTable,
    store: &Arc<dyn ObjectStore>,
    table_root: &Path,
    shard: Shard,
) -> Result<IngestState, StorageError> {
    let mut apps = vec![UNSHARDED_APP_ID.to_string()];
    for count in layouts(store, table_root).await? {
        apps.extend(Shard::all(count).map(|s| s.app_id()));
    }
    let own_app = shard.app_id();
    let mut state = IngestState::default();
    for app in apps {
        let Some(version) = delta::transaction_version(table, &app).await? else {
            continue;
        };
        let (name, manifest) = read_committed(table, store, table_root, &app, version).await?;
        state.referenced.insert(name);
        for (file, seen) in &manifest.files {
            state
                .known
                .entry(file.clone())
                .or_insert_with(|| seen.clone());
        }
        if app == own_app {
            state.own = manifest;
            state.own_version = Some(version);
        }
    }
    Ok(state)
}

/// The manifest committed version `version` of `app_id` points at.
async fn read_committed(
    table: &DeltaTable,
    store: &Arc<dyn ObjectStore>,
    table_root: &Path,
    app_id: &str,
    version: i64,
) -> Result<(String, Manifest), StorageError> {
    let name = manifest_name(app_id, version);
    if let Some(manifest) = get(store, table_root, &name, version).await? {
        return Ok((name, manifest));
    }
    // Tables written before shards named the manifest in the commit info
    // (unique per run), or, before that, by version alone.
    if app_id == UNSHARDED_APP_ID {
        let legacy_prefix = format!("ingest-{version:020}");
        let is_legacy =
            |name: &serde_json::Value| name.as_str().is_some_and(|n| n.starts_with(&legacy_prefix));
        let named = delta::latest_commit_info(table, COMMIT_INFO_KEY, is_legacy).await?;
        let legacy = named
            .as_ref()
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{legacy_prefix}.json"));
        if let Some(manifest) = get(store, table_root, &legacy, version).await? {
            return Ok((legacy, manifest));
        }
    }
    Err(StorageError::at(
        lfhost_dir(table_root).join(name.as_str()),
        format!("the ingest manifest of committed version {version} of {app_id} is missing"),
    ))
}

async fn get(
    store: &Arc<dyn ObjectStore>,
    table_root: &Path,
    name: &str,
    version: i64,
) -> Result<Option<Manifest>, StorageError> {
    let path = lfhost_dir(table_root).join(name);
    let bytes = match store.get(&path).await {
        Ok(found) => found
            .bytes()
            .await
            .map_err(|e| StorageError::at(&path, e))?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => {
            return Err(StorageError::at(
                &path,
                format!("cannot read the ingest manifest of committed version {version}: {e}"),
            ));
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| StorageError::at(&path, format!("corrupt ingest manifest: {e}")))
}

/// Writes `manifest` under the first version after `after` whose name no
/// run has taken, and returns that version and the manifest's name, for
/// the commit to record.
pub async fn write_next(
    store: &Arc<dyn ObjectStore>,
    table_root: &Path,
    app_id: &str,
    after: Option<i64>,
    manifest: &Manifest,
) -> Result<(i64, String), StorageError> {
    let first = after.unwrap_or(0) + 1;
    let bytes = serde_json::to_vec(manifest).map_err(|e| StorageError::at(table_root, e))?;
    for version in first..first + MAX_NAME_ATTEMPTS {
        let name = manifest_name(app_id, version);
        let path = lfhost_dir(table_root).join(name.as_str());
        let options = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match store
            .put_opts(&path, PutPayload::from(bytes.clone()), options)
            .await
        {
            Ok(_) => return Ok((version, name)),
            // A run that died or lost its commit took this name.
            Err(object_store::Error::AlreadyExists { .. }) => continue,
            Err(e) => {
                return Err(StorageError::at(
                    &path,
                    format!("cannot write the ingest manifest: {e}"),
                ));
            }
        }
    }
    Err(StorageError::at(
        lfhost_dir(table_root),
        format!("{MAX_NAME_ATTEMPTS} ingest manifest names after version {first} are taken"),
    ))
}

/// Records that the table is ingested in `count` shards, before any of
/// them commits, so that every later run reads their manifests.
pub async fn register_layout(
    store: &Arc<dyn ObjectStore>,
    table_root: &Path,
    count: u32,
) -> Result<(), StorageError> {
    if count <= 1 {
        return Ok(());
    }
    let path = layouts_dir(table_root).join(count.to_string().as_str());
    store
        .put(&path, PutPayload::from_static(b"{}"))
        .await
        .map_err(|e| StorageError::at(&path, format!("cannot register the shard layout: {e}")))?;
    Ok(())
}

/// The shard counts the table has been ingested with.
async fn layouts(
    store: &Arc<dyn ObjectStore>,
    table_root: &Path,
) -> Result<BTreeSet<u32>, StorageError> {
    let dir = layouts_dir(table_root);
    let listed: Vec<_> = store
        .list(Some(&dir))
        .try_collect()
        .await
        .map_err(|e| StorageError::at(&dir, format!("cannot list the shard layouts: {e}")))?;
    Ok(listed
        .iter()
        .filter_map(|meta| meta.location.filename()?.parse().ok())
        .filter(|&n: &u32| n > 1)
        .collect())
}

/// Manifests no committed version points at, with their last change:
/// left by runs that died or lost a race, or superseded.
pub async fn unreferenced(
    store: &Arc<dyn ObjectStore>,
    table_root: &Path,
    state: &IngestState,
) -> Result<Vec<(Path, chrono::DateTime<chrono::Utc>)>, StorageError> {
    let dir = lfhost_dir(table_root);
    let listed: Vec<_> =
        store.list(Some(&dir)).try_collect().await.map_err(|e| {
            StorageError::at(&dir, format!("cannot list the ingest manifests: {e}"))
        })?;
    Ok(listed
        .into_iter()
        .filter(|meta| {
            meta.location.filename().is_some_and(|name| {
                name.starts_with("ingest-")
                    && name.ends_with(".json")
                    && !state.referenced.contains(name)
            })
        })
        .map(|meta| (meta.location, meta.last_modified))
        .collect())
}
