//! Where tables and landing files live: `object_store` for bytes,
//! `deltalake-core` for tables.

pub mod compact;
pub mod delta;
pub mod landing;
pub mod manifest;
pub mod reader;
pub mod s3;
pub mod shard;

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path;

use crate::config::Location;

/// Why storage failed, naming the location.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{location}: {message}")]
    At { location: String, message: String },
}

impl StorageError {
    pub fn at(location: impl std::fmt::Display, message: impl std::fmt::Display) -> Self {
        StorageError::At {
            location: location.to_string(),
            message: message.to_string(),
        }
    }
}

/// The object store holding `location`, and the location's path inside it.
pub fn open_store(location: &Location) -> Result<(Arc<dyn ObjectStore>, Path), StorageError> {
    if location.is_s3() {
        let (store, path) = s3::store(location.url(), &location.storage())
            .map_err(|e| StorageError::at(location, e))?;
        return Ok((store, path));
    }
    let (store, path) =
        object_store::parse_url(location.url()).map_err(|e| StorageError::at(location, e))?;
    Ok((Arc::from(store), path))
}
