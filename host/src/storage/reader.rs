//! Reading a table's data files back as Arrow batches.

use std::sync::Arc;

use arrow_array::RecordBatch;
use futures::StreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use parquet::arrow::async_reader::ParquetRecordBatchStream;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
// Deprecated in parquet 59 in favour of hand-written readers; it still does
// exactly what we need (ranged reads through object_store) and stays until
// the replacement API settles.
#[allow(deprecated)]
use parquet::arrow::async_reader::ParquetObjectReader;
use tokio::sync::mpsc;

use super::StorageError;
use super::delta::DataFile;

/// Rows per batch handed to a plugin: large enough to amortise the
/// boundary crossing, small enough to keep plugin memory bounded.
pub const BATCH_ROWS: usize = 65_536;

/// Streams `files` (under `root` in `store`) into `sender` as batches tagged
/// with `input`, in order, only the named `columns` when given. Stops early
/// when the receiver is gone.
pub async fn stream_files(
    store: Arc<dyn ObjectStore>,
    root: Path,
    files: Vec<DataFile>,
    input: String,
    columns: Option<Vec<String>>,
    sender: mpsc::Sender<(String, RecordBatch)>,
) -> Result<u64, StorageError> {
    let mut rows = 0u64;
    for file in files {
        let mut stream = open_file(&store, &root, &file, columns.as_deref(), None).await?;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| read_failed(&file, e))?;
            rows += batch.num_rows() as u64;
            if sender.send((input.clone(), batch)).await.is_err() {
                return Ok(rows);
            }
        }
    }
    Ok(rows)
}

/// The first row of `file`, only the named `columns` (reads one page of each).
pub async fn first_row(
    store: &Arc<dyn ObjectStore>,
    root: &Path,
    file: &DataFile,
    columns: &[String],
) -> Result<RecordBatch, StorageError> {
    let mut stream = open_file(store, root, file, Some(columns), Some(1)).await?;
    match stream.next().await {
        Some(batch) => batch.map_err(|e| read_failed(file, e)),
        None => Err(StorageError::at(&file.path, "the data file has no rows")),
    }
}

pub(super) fn read_failed(file: &DataFile, e: parquet::errors::ParquetError) -> StorageError {
    StorageError::at(&file.path, format!("cannot read data file: {e}"))
}

/// A reader of `file` (under `root` in `store`) for Parquet's async API.
#[allow(deprecated)]
pub(super) fn object_reader(
    store: &Arc<dyn ObjectStore>,
    root: &Path,
    file: &DataFile,
) -> Result<ParquetObjectReader, StorageError> {
    let path = Path::parse(format!(
        "{}/{}",
        root.as_ref().trim_end_matches('/'),
        file.path
    ))
    .map_err(|e| StorageError::at(&file.path, e))?;
    Ok(ParquetObjectReader::new(store.clone(), path).with_file_size(file.size))
}

#[allow(deprecated)]
async fn open_file(
    store: &Arc<dyn ObjectStore>,
    root: &Path,
    file: &DataFile,
    columns: Option<&[String]>,
    limit: Option<usize>,
) -> Result<ParquetRecordBatchStream<ParquetObjectReader>, StorageError> {
    let fail = |e| read_failed(file, e);
    let reader = object_reader(store, root, file)?;
    let mut builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(fail)?
        .with_batch_size(BATCH_ROWS);
    if let Some(columns) = columns {
        let parquet_schema = builder.parquet_schema();
        let mut indices = Vec::with_capacity(columns.len());
        for name in columns {
            let index = builder
                .schema()
                .index_of(name)
                .map_err(|_| StorageError::at(&file.path, format!("no column `{name}`")))?;
            indices.push(index);
        }
        let mask = ProjectionMask::roots(parquet_schema, indices);
        builder = builder.with_projection(mask);
    }
    if let Some(limit) = limit {
        builder = builder.with_limit(limit);
    }
    builder.build().map_err(fail)
}

/// The first `rows` rows of the table at `location` (in data file order)
/// and the table's total row count.
pub async fn head(
    location: &crate::config::Location,
    rows: usize,
) -> Result<(Vec<RecordBatch>, u64), StorageError> {
    let Some(table) = super::delta::open(location).await? else {
        return Err(StorageError::at(
            location,
            "no table here yet: run the pipeline first",
        ));
    };
    let files = super::delta::data_files(&table).await?;
    let (store, root) = super::open_store(location)?;
    let (sender, mut receiver) = mpsc::channel(4);
    let reader = tokio::spawn(stream_files(
        store,
        root,
        files,
        String::new(),
        None,
        sender,
    ));
    let mut batches = Vec::new();
    let mut total = 0u64;
    let mut kept = 0usize;
    while let Some((_, batch)) = receiver.recv().await {
        total += batch.num_rows() as u64;
        if kept < rows {
            let take = (rows - kept).min(batch.num_rows());
            batches.push(batch.slice(0, take));
            kept += take;
        }
    }
    reader.await.map_err(|e| StorageError::at(location, e))??;
    Ok((batches, total))
}
