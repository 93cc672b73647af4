//! The record of which landing files a bronze table has ingested.
//!
//! Each ingest commit writes a cumulative manifest file *before* it commits,
//! then commits the data with a Delta transaction action
//! (`appId = lfhost.ingest`, `version = n`). Manifest `n` counts only if the
//! table's committed transaction version is `n`: a run killed between the
//! two leaves a manifest nobody reads, and its files are ingested again.

use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::StorageError;

pub const APP_ID: &str = "lfhost.ingest";

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

fn manifest_path(table_root: &Path, version: i64) -> Path {
    table_root
        .clone()
        .join("_lfhost")
        .join(format!("ingest-{version:020}.json"))
}

/// Reads the manifest of committed version `version`.
pub async fn read(
    store: &Arc<dyn ObjectStore>,
    table_root: &Path,
    version: i64,
) -> Result<Manifest, StorageError> {
    let path = manifest_path(table_root, version);
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

/// Writes the manifest for the version about to be committed.
pub async fn write(
    store: &Arc<dyn ObjectStore>,
    table_root: &Path,
    version: i64,
    manifest: &Manifest,
) -> Result<(), StorageError> {
    let path = manifest_path(table_root, version);
    let bytes = serde_json::to_vec(manifest).map_err(|e| StorageError::at(&path, e))?;
    store
        .put(&path, PutPayload::from(bytes))
        .await
        .map_err(|e| StorageError::at(&path, format!("cannot write the ingest manifest: {e}")))?;
    Ok(())
}
