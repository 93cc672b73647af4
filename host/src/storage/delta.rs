//! Delta Lake tables: open, write data files, commit them atomically with
//! the transaction identifiers that make runs exactly-once.

use std::collections::{HashMap, HashSet};

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake_core::kernel::{Action, Add, StructType, Transaction};
use deltalake_core::operations::create::CreateBuilder;
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::writer::{DeltaWriter, RecordBatchWriter};
use deltalake_core::{DeltaTable, DeltaTableError};
use futures::TryStreamExt;

use super::StorageError;
use crate::config::Location;

/// Opens the table at `location`, or `None` when there is none yet.
pub async fn open(location: &Location) -> Result<Option<DeltaTable>, StorageError> {
    if !has_log(location).await? {
        return Ok(None);
    }
    let url = table_url(location)?;
    match deltalake_core::open_table_with_storage_options(url, location.storage_options()).await {
        Ok(table) => Ok(Some(table)),
        Err(DeltaTableError::NotATable(_)) => Ok(None),
        Err(e) => Err(StorageError::at(
            location,
            format!("cannot open the Delta table: {e}"),
        )),
    }
}

/// Whether a Delta log exists at `location` (asked first so that a missing
/// table is not reported as an error by the Delta reader).
async fn has_log(location: &Location) -> Result<bool, StorageError> {
    if let Some(dir) = location.local_path() {
        return Ok(dir.join("_delta_log").exists());
    }
    let (store, root) = super::open_store(location)?;
    let log = root.join("_delta_log");
    let mut listing = store.list(Some(&log));
    match listing.try_next().await {
        Ok(first) => Ok(first.is_some()),
        Err(e) => Err(StorageError::at(location, e)),
    }
}

fn table_url(location: &Location) -> Result<url::Url, StorageError> {
    super::s3::register();
    url::Url::parse(&location.table_uri()).map_err(|e| StorageError::at(location, e))
}

/// The committed version of `app_id`'s transactions in `table`.
pub async fn transaction_version(
    table: &DeltaTable,
    app_id: &str,
) -> Result<Option<i64>, StorageError> {
    let snapshot = table
        .snapshot()
        .map_err(|e| StorageError::at(table.log_store().root_url(), e))?;
    snapshot
        .transaction_version(table.log_store().as_ref(), app_id)
        .await
        .map_err(|e| StorageError::at(table.log_store().root_url(), e))
}

/// The `key` entry of the newest commit whose `commitInfo` has one that
/// `accept` accepts (commits by others, such as a vacuum's, are passed over).
pub async fn latest_commit_info(
    table: &DeltaTable,
    key: &str,
    accept: impl Fn(&serde_json::Value) -> bool,
) -> Result<Option<serde_json::Value>, StorageError> {
    let root = table.log_store().root_url().to_string();
    let mut history = table.history(None);
    while let Some(commit) = history
        .try_next()
        .await
        .map_err(|e| StorageError::at(&root, format!("cannot read the table's history: {e}")))?
    {
        if let Some(value) = commit.info.get(key).filter(|v| accept(v)) {
            return Ok(Some(value.clone()));
        }
    }
    Ok(None)
}

/// The Arrow schema of an existing table.
pub fn arrow_schema(table: &DeltaTable) -> Result<SchemaRef, StorageError> {
    let snapshot = table
        .snapshot()
        .map_err(|e| StorageError::at(table.log_store().root_url(), e))?;
    Ok(snapshot.snapshot().arrow_schema())
}

/// The size at which a writer made by [`TableWriter::one_file_per_cut`]
/// starts a new file anyway.
pub const ONE_FILE_LIMIT: u64 = 1 << 30;

/// Snappy, as delta-rs writes by default, but dictionary pages only for
/// text and binary columns: ids, amounts and timestamps are mostly distinct,
/// and building a dictionary for them (hashing every value until the page
/// overflows) was the largest single cost of writing a table.
///
/// Text and binary columns carry no statistics unless named in
/// `text_statistics`: parquet computes their min and max with a comparison
/// of every value (a tenth of writing the orders), and they rarely prune a
/// file, because text values are spread over every file of a table. The
/// columns whose ranges files do follow (a merge's keys) keep them.
fn writer_properties(
    schema: &Schema,
    text_statistics: &[String],
) -> parquet::file::properties::WriterPropertiesBuilder {
    use arrow_schema::DataType;
    use parquet::file::properties::EnabledStatistics;
    let mut builder = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY);
    for field in schema.fields() {
        let textual = matches!(
            field.data_type(),
            DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
        );
        let column = parquet::schema::types::ColumnPath::from(field.name().as_str());
        if !textual {
            builder = builder.set_column_dictionary_enabled(column, false);
        } else if !text_statistics.contains(field.name()) {
            builder = builder.set_column_statistics_enabled(column, EnabledStatistics::None);
        }
    }
    builder
}

/// [`writer_properties`], and for an internal table (see
/// [`TableWriter::internal`]) LZ4 and no statistics at all.
fn table_properties(
    schema: &Schema,
    internal: bool,
    text_statistics: &[String],
) -> parquet::file::properties::WriterProperties {
    let properties = writer_properties(schema, text_statistics);
    if !internal {
        return properties.build();
    }
    properties
        .set_compression(parquet::basic::Compression::LZ4_RAW)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .build()
}

/// Writes data files for one commit. Files are invisible until committed;
/// a failed run leaves only unreferenced files behind.
pub struct TableWriter {
    location: Location,
    schema: SchemaRef,
    writer: RecordBatchWriter,
    rows: u64,
    /// What the writer's Parquet properties follow, kept so that the
    /// builder methods below may come in any order.
    internal: bool,
    text_statistics: Vec<String>,
}

impl TableWriter {
    pub fn new(location: &Location, schema: SchemaRef) -> Result<Self, StorageError> {
        if let Some(dir) = location.local_path() {
            std::fs::create_dir_all(&dir).map_err(|e| StorageError::at(location, e))?;
        }
        super::s3::register();
        let options = Some(location.storage_options()).filter(|o| !o.is_empty());
        let writer =
            RecordBatchWriter::try_new(location.table_uri(), schema.clone(), None, options)
                .map_err(|e| StorageError::at(location, format!("cannot write the table: {e}")))?
                .with_target_file_size(128 << 20);
        let writer = TableWriter {
            location: location.clone(),
            schema,
            writer,
            rows: 0,
            internal: false,
            text_statistics: Vec::new(),
        };
        Ok(writer.renew_properties())
    }

    fn renew_properties(mut self) -> Self {
        let properties = table_properties(&self.schema, self.internal, &self.text_statistics);
        self.writer = self.writer.with_writer_properties(properties);
        self
    }

    /// For tables only lfhost reads (a merge's state): LZ4, which is
    /// faster than Snappy both ways but which not every engine reads, and
    /// no statistics, which nothing reads there. Text columns keep their
    /// dictionaries: the merge reads them as such.
    pub fn internal(mut self) -> Self {
        self.internal = true;
        self.renew_properties()
    }

    /// Keeps the statistics of these text columns (see [`writer_properties`]),
    /// unless the table is [`TableWriter::internal`].
    pub fn with_text_statistics(mut self, columns: &[String]) -> Self {
        self.text_statistics = columns.to_vec();
        self.renew_properties()
    }

    /// Makes files end at a [`TableWriter::cut`] rather than at 128 MiB,
    /// so that a file holds what was written between two cuts (up to
    /// [`ONE_FILE_LIMIT`] bytes, beyond which the writer still starts a new
    /// one: callers check).
    pub fn one_file_per_cut(mut self) -> Self {
        self.writer = self.writer.with_target_file_size(ONE_FILE_LIMIT);
        self
    }

    pub async fn write(&mut self, batch: RecordBatch) -> Result<(), StorageError> {
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .await
            .map_err(|e| StorageError::at(&self.location, format!("writing data failed: {e}")))
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes the files written so far and returns their `add` actions;
    /// later writes go to new files.
    pub async fn cut(&mut self) -> Result<Vec<Add>, StorageError> {
        self.writer
            .flush()
            .await
            .map_err(|e| StorageError::at(&self.location, format!("writing data failed: {e}")))
    }

    /// Closes the data files and returns their `add` actions.
    pub async fn finish(mut self) -> Result<Vec<Add>, StorageError> {
        self.writer
            .flush()
            .await
            .map_err(|e| StorageError::at(&self.location, format!("writing data failed: {e}")))
    }
}

/// Whether this process is a step of an orchestrated plan, whose final
/// `lfhost maintain` step checkpoints and cleans the logs: workers must not,
/// or several would race to write the same checkpoint while others commit.
static MAINTENANCE_LEFT_TO_PLAN: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Makes this process's commits leave checkpoints and log clean-up to the
/// plan's maintenance step.
pub fn leave_maintenance_to_plan() {
    MAINTENANCE_LEFT_TO_PLAN.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn maintains_on_commit() -> bool {
    !MAINTENANCE_LEFT_TO_PLAN.load(std::sync::atomic::Ordering::Relaxed)
}

/// The application id whose version every commit of a single-writer table
/// sets to the table version it creates. Two workers that read the same
/// version both record it, so even a commit allowed to move past another
/// writer's (see [`Commit::may_rebase`]) conflicts, and the late (zombie)
/// worker loses instead of applying its input a second time.
pub const WRITER_APP_ID: &str = "lfhost.writer";

/// The writer tag for a commit to `existing` (or to a new table).
pub fn writer_tag(existing: Option<&DeltaTable>) -> Transaction {
    let next = existing.and_then(version).map_or(0, |v| v + 1);
    Transaction::new(WRITER_APP_ID, next)
}

/// One commit to make.
#[derive(Clone)]
pub struct Commit {
    pub adds: Vec<Add>,
    /// Replace the table's current files (a full refresh).
    pub overwrite: bool,
    /// Data files (paths as in the log) this commit removes.
    pub removes: Vec<String>,
    pub transactions: Vec<Transaction>,
    /// Recorded in the commit's `commitInfo`.
    pub info: HashMap<String, serde_json::Value>,
    /// Whether the commit may be moved past a concurrent writer's commit of
    /// the same version. Only for appends that depend on nothing they read
    /// (the event log): anything exactly-once must instead fail and be
    /// re-run, or two writers would both apply the same input.
    pub may_rebase: bool,
}

/// Commits `commit` to the table at `location` (creating it with `schema`
/// if `existing` is `None`) and returns the new version.
///
/// When writers that may rebase (shards, the event log) race to create
/// the table, the losers append to the winner's table instead, unless the
/// winner recorded one of their application ids: they read no table, so
/// any such commit is one they did not see, and they lose as a duplicate.
pub async fn commit(
    location: &Location,
    existing: Option<&DeltaTable>,
    schema: &Schema,
    commit: Commit,
) -> Result<i64, StorageError> {
    if existing.is_some() || !commit.may_rebase {
        return commit_once(location, existing, schema, commit).await;
    }
    let failure = match commit_once(location, None, schema, commit.clone()).await {
        Ok(version) => return Ok(version),
        Err(e) => e,
    };
    let Some(table) = open(location).await? else {
        return Err(failure);
    };
    for txn in &commit.transactions {
        if transaction_version(&table, &txn.app_id).await?.is_some() {
            return Err(StorageError::at(
                location,
                format!(
                    "commit failed: another worker committed {} first; this run's files are left to it",
                    txn.app_id
                ),
            ));
        }
    }
    tracing::info!("{location}: another writer created the table first; appending to it instead");
    commit_once(location, Some(&table), schema, commit).await
}

async fn commit_once(
    location: &Location,
    existing: Option<&DeltaTable>,
    schema: &Schema,
    commit: Commit,
) -> Result<i64, StorageError> {
    let fail = |e: DeltaTableError| {
        let text = e.to_string();
        let raced = matches!(e, DeltaTableError::Transaction { .. })
            && (text.contains("already exists") || text.contains("oncurrent"));
        let hint = if raced {
            " (another run committed to this table at the same time; run again to continue from its commit)"
        } else {
            ""
        };
        StorageError::at(location, format!("commit failed: {text}{hint}"))
    };
    let maintain = maintains_on_commit();
    let properties = CommitProperties::default()
        .with_create_checkpoint(maintain)
        .with_cleanup_expired_logs(if maintain { None } else { Some(false) })
        // A table's creation never retries: delta-rs would write its
        // metadata again over a table another writer created meanwhile
        // (see `commit` for how a lost creation is handled).
        .with_max_retries(if commit.may_rebase && existing.is_some() {
            15
        } else {
            0
        })
        .with_application_transactions(commit.transactions)
        .with_metadata(commit.info);
    let mut actions: Vec<Action> = Vec::new();
    match existing {
        None => {
            let columns: StructType = schema
                .try_into_kernel()
                .map_err(|e| StorageError::at(location, e))?;
            actions.extend(commit.adds.into_iter().map(Action::Add));
            let table = CreateBuilder::new()
                .with_location(location.table_uri())
                .with_storage_options(location.storage_options())
                .with_columns(columns.fields().cloned())
                .with_save_mode(SaveMode::ErrorIfExists)
                .with_actions(actions)
                .with_commit_properties(properties)
                .await
                .map_err(fail)?;
            let version = table
                .version()
                .ok_or_else(|| StorageError::at(location, "commit left no version"))?;
            Ok(i64::try_from(version).unwrap_or(i64::MAX))
        }
        Some(table) => {
            let snapshot = table.snapshot().map_err(fail)?;
            if commit.overwrite || !commit.removes.is_empty() {
                let removed: HashSet<&str> = commit.removes.iter().map(String::as_str).collect();
                let removes: Vec<_> = snapshot
                    .snapshot()
                    .file_views(table.log_store().as_ref(), None)
                    .try_filter(|file| {
                        std::future::ready(
                            commit.overwrite || removed.contains(file.path().as_ref()),
                        )
                    })
                    .map_ok(|file| Action::Remove(file.remove_action(true)))
                    .try_collect()
                    .await
                    .map_err(fail)?;
                if !commit.overwrite && removes.len() != removed.len() {
                    return Err(StorageError::at(
                        location,
                        "commit failed: a data file to replace is no longer in the table",
                    ));
                }
                actions.extend(removes);
            }
            actions.extend(commit.adds.into_iter().map(Action::Add));
            let operation = if commit.overwrite {
                DeltaOperation::Write {
                    mode: SaveMode::Overwrite,
                    partition_by: None,
                    predicate: None,
                }
            } else if commit.removes.is_empty() {
                DeltaOperation::Write {
                    mode: SaveMode::Append,
                    partition_by: None,
                    predicate: None,
                }
            } else {
                // Rewriting some files in place of others is what an UPDATE does.
                DeltaOperation::Update { predicate: None }
            };
            let finalized = CommitBuilder::from(properties)
                .with_actions(actions)
                .build(Some(snapshot), table.log_store(), operation)
                .await
                .map_err(fail)?;
            if finalized.metrics.num_retries > 0 {
                tracing::info!(
                    "{location}: committed version {} after {} retries past other writers' commits",
                    finalized.version(),
                    finalized.metrics.num_retries
                );
            }
            Ok(i64::try_from(finalized.version()).unwrap_or(i64::MAX))
        }
    }
}

/// A data file of a table version, in the order rows were written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataFile {
    pub modification_time: i64,
    pub path: String,
    pub size: u64,
}

/// The table's current version.
pub fn version(table: &DeltaTable) -> Option<i64> {
    table.version().and_then(|v| i64::try_from(v).ok())
}

/// The data files of `table` (at its loaded version), oldest first.
pub async fn data_files(table: &DeltaTable) -> Result<Vec<DataFile>, StorageError> {
    let root = table.log_store().root_url().to_string();
    let snapshot = table.snapshot().map_err(|e| StorageError::at(&root, e))?;
    let mut files: Vec<DataFile> = snapshot
        .snapshot()
        .file_views(table.log_store().as_ref(), None)
        .map_ok(|file| DataFile {
            modification_time: file.modification_time(),
            path: file.path().to_string(),
            size: u64::try_from(file.size()).unwrap_or(0),
        })
        .try_collect()
        .await
        .map_err(|e| StorageError::at(&root, e))?;
    files.sort();
    Ok(files)
}

/// The table at `location` as it was at `version`.
pub async fn open_version(location: &Location, version: i64) -> Result<DeltaTable, StorageError> {
    let url = table_url(location)?;
    let version = u64::try_from(version).map_err(|e| StorageError::at(location, e))?;
    let mut table = deltalake_core::DeltaTableBuilder::from_url(url)
        .map_err(|e| StorageError::at(location, e))?
        .with_storage_options(location.storage_options())
        .build()
        .map_err(|e| StorageError::at(location, e))?;
    table
        .load_version(version)
        .await
        .map_err(|e| StorageError::at(location, format!("cannot load version {version}: {e}")))?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use arrow_schema::{DataType, Field, Schema};
    use parquet::basic::Compression;
    use parquet::file::properties::EnabledStatistics;
    use parquet::schema::types::ColumnPath;

    use super::table_properties;

    #[test]
    fn text_keeps_statistics_only_as_a_key_and_internal_tables_have_none() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("code", DataType::Utf8, false),
            Field::new("note", DataType::Utf8, true),
        ]);
        let keys = vec!["code".to_string()];
        let (id, code, note) = (
            ColumnPath::from("id"),
            ColumnPath::from("code"),
            ColumnPath::from("note"),
        );

        let table = table_properties(&schema, false, &keys);
        assert_eq!(table.compression(&id), Compression::SNAPPY);
        assert_eq!(table.statistics_enabled(&id), EnabledStatistics::Page);
        assert_eq!(table.statistics_enabled(&code), EnabledStatistics::Page);
        assert_eq!(table.statistics_enabled(&note), EnabledStatistics::None);
        assert!(!table.dictionary_enabled(&id));
        assert!(table.dictionary_enabled(&note));

        let internal = table_properties(&schema, true, &keys);
        for column in [&id, &code, &note] {
            assert_eq!(internal.compression(column), Compression::LZ4_RAW);
            assert_eq!(internal.statistics_enabled(column), EnabledStatistics::None);
        }
        assert!(internal.dictionary_enabled(&note));
    }
}
