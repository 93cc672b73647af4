//! The record of which landing files a bronze table has ingested.
//!
//! Each ingest commit writes a cumulative manifest file *before* it commits,
//! then commits the data with a Delta transaction action
//! (`appId = lfhost.ingest`, `version = n`) and the manifest's name in its
//! commit info. Manifest names are unique per run, so that a run which
//! loses a race to commit version `n` (commits are never rebased: see
//! [`super::delta::Commit::may_rebase`]) cannot overwrite the winner's; a
//! run killed between the two leaves a manifest nobody reads, and its files
//! are ingested again.

use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::StorageError;

pub const APP_ID: &str = "lfhost.ingest";

/// The commit info entry naming the manifest of an ingest commit.
pub const COMMIT_INFO_KEY: &str = "lfhost.manifest";

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

fn manifest_path(table_root: &Path, name: &str) -> Path {
    table_root.clone().join("_lfhost").join(name)
}

/// Reads the manifest of committed version `version`, named `name` by the
/// latest commit (tables written before names were unique have none).
pub async fn read(
    store: &Arc<dyn ObjectStore>,
    table_root: &Path,
    version: i64,
    name: Option<&str>,
) -> Result<Manifest, StorageError> {
    let legacy = format!("ingest-{version:020}.json");
    let path = manifest_path(table_root, name.unwrap_or(&legacy));
    let bytes = store
        .get(&path)
        .await
        .map_err(|e| {
            StorageError::at(
                &path,
                format!("cannot read the ingest manifest of committed version {version}: {e}"),
            )
        })?
        .bytes()
        .await
        .map_err(|e| StorageError::at(&path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| StorageError::at(&path, format!("corrupt ingest manifest: {e}")))
}

/// Writes the manifest for the version about to be committed and returns
/// its name, for the commit to record.
pub async fn write(
    store: &Arc<dyn ObjectStore>,
    table_root: &Path,
    version: i64,
    run_id: &str,
    manifest: &Manifest,
) -> Result<String, StorageError> {
    let name = format!("ingest-{version:020}-{run_id}.json");
    let path = manifest_path(table_root, &name);
    let bytes = serde_json::to_vec(manifest).map_err(|e| StorageError::at(&path, e))?;
    store
        .put(&path, PutPayload::from(bytes))
        .await
        .map_err(|e| StorageError::at(&path, format!("cannot write the ingest manifest: {e}")))?;
    Ok(name)
}
