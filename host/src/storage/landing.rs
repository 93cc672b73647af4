//! Listing a source's landing files.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;

use super::{StorageError, open_store};
use crate::config::SourceSpec;

/// One landing file, as listed now.
#[derive(Debug, Clone)]
pub struct LandingEntry {
    /// Path relative to the source folder: what identifies the file and
    /// orders it among others.
    pub relative: String,
    /// Its full path or URI, as recorded in `_source_file`.
    pub shown: String,
    pub path: Path,
    pub size: u64,
    /// Milliseconds since the epoch, to notice a file rewritten after ingestion.
    pub last_modified_ms: i64,
}

/// The source's files matching its pattern, sorted byte-wise by relative path.
pub async fn list(
    source: &SourceSpec,
) -> Result<(Arc<dyn ObjectStore>, Vec<LandingEntry>), StorageError> {
    let (store, prefix) = open_store(&source.location)?;
    let matcher = globset::Glob::new(&source.pattern)
        .map_err(|e| {
            StorageError::at(
                &source.location,
                format!("invalid pattern `{}`: {e}", source.pattern),
            )
        })?
        .compile_matcher();
    if let Some(dir) = source.location.local_path()
        && !dir.exists()
    {
        tracing::warn!(
            "landing folder {} does not exist yet: no files",
            dir.display()
        );
        return Ok((store, Vec::new()));
    }
    let listed: Vec<_> = store.list(Some(&prefix)).try_collect().await.map_err(|e| {
        StorageError::at(&source.location, format!("cannot list landing files: {e}"))
    })?;
    let base = source.location.url().as_str().to_string();
    let mut entries: Vec<LandingEntry> = listed
        .into_iter()
        .filter_map(|meta| {
            let relative = meta
                .location
                .prefix_match(&prefix)?
                .map(|p| p.as_ref().to_string())
                .collect::<Vec<_>>()
                .join("/");
            if !matcher.is_match(&relative) {
                return None;
            }
            let shown = match source.location.local_path() {
                Some(dir) => dir.join(&relative).display().to_string(),
                None => format!("{base}{relative}"),
            };
            Some(LandingEntry {
                relative,
                shown,
                path: meta.location,
                size: meta.size,
                last_modified_ms: meta.last_modified.timestamp_millis(),
            })
        })
        .collect();
    entries.sort_by(|a, b| a.relative.as_bytes().cmp(b.relative.as_bytes()));
    Ok((store, entries))
}
