//! A table's writer as a task: batches in through a bounded channel, data
//! files out, so that a plugin's thread and the Parquet writer overlap.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use deltalake_core::kernel::Add;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::progress::Progress;
use crate::config::Location;
use crate::storage::StorageError;
use crate::storage::delta::TableWriter;

/// Batches in flight between a plugin and the writer: enough to overlap
/// the two, few enough to bound memory.
pub const CHANNEL_BATCHES: usize = 4;

/// The writer's result: the data files' `add` actions and the rows written.
pub type WriterTask = JoinHandle<Result<(Vec<Add>, u64), StorageError>>;

/// Who to tell about rows written, and under which table name.
pub type Watch = Option<(Arc<dyn Progress>, String)>;

pub fn spawn_writer(
    location: &Location,
    schema: SchemaRef,
    watch: Watch,
) -> Result<(mpsc::Sender<RecordBatch>, WriterTask), StorageError> {
    let (tx, mut rx) = mpsc::channel::<RecordBatch>(CHANNEL_BATCHES);
    let mut writer = TableWriter::new(location, schema)?;
    let task = tokio::spawn(async move {
        while let Some(batch) = rx.recv().await {
            let rows = batch.num_rows() as u64;
            writer.write(batch).await?;
            if let Some((progress, table)) = &watch {
                progress.rows_written(table, rows);
            }
        }
        let rows = writer.rows();
        writer.finish().await.map(|adds| (adds, rows))
    });
    Ok((tx, task))
}

/// A channel whose batches a task gathers in memory, in arrival order.
pub fn spawn_collector() -> (mpsc::Sender<RecordBatch>, JoinHandle<Vec<RecordBatch>>) {
    let (tx, mut rx) = mpsc::channel::<RecordBatch>(CHANNEL_BATCHES);
    let task = tokio::spawn(async move {
        let mut batches = Vec::new();
        while let Some(batch) = rx.recv().await {
            batches.push(batch);
        }
        batches
    });
    (tx, task)
}

/// The bytes of the data files `adds` commit.
pub fn data_bytes(adds: &[Add]) -> u64 {
    adds.iter()
        .map(|a| u64::try_from(a.size).unwrap_or(0))
        .sum()
}
