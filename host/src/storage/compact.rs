//! Reading many data files to hold in memory at once (a merge's changes).
//!
//! A text column that every file stores as small dictionaries (a source
//! path, a status, an operation) is read as a dictionary array, Parquet's
//! own dictionary becoming its values: four bytes a row instead of the
//! text. Read as plain strings, a 70-byte source path repeated over ten
//! million changes held 700 MB.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use object_store::path::Path;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::basic::Encoding;
use parquet::file::metadata::ParquetMetaData;

use super::StorageError;
use super::delta::DataFile;
use super::reader::{BATCH_ROWS, object_reader, read_failed};

/// A text column stays a dictionary only while each file's dictionary page
/// is at most this big: every batch carries its file's whole dictionary.
const SMALL_DICTIONARY_BYTES: i64 = 64 << 10;

/// Footers read at once.
const FOOTER_READS: usize = 16;

/// The data files of one table.
pub struct FileSet {
    pub store: Arc<dyn ObjectStore>,
    pub root: Path,
    pub files: Vec<DataFile>,
}

/// The dictionary type compact text columns are read as.
pub fn compact_text() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// Which text columns a read keeps as dictionaries, and the schema its
/// batches should be conformed to.
#[derive(Clone)]
pub struct Compact {
    columns: Vec<String>,
    pub schema: SchemaRef,
}

/// The rows of `set`'s files, in order, decoding up to `at_once` files at
/// the same time. The text columns of `schema` that every file of the set
/// stores as small dictionaries are read as [`compact_text`], unless
/// `decided` (an earlier read's choice, so that both reads' batches share
/// one schema) says which; a file that stores a chosen column otherwise
/// still reads correctly, the reader building its dictionary.
pub async fn read_compact(
    set: &FileSet,
    schema: &SchemaRef,
    decided: Option<&Compact>,
    at_once: usize,
) -> Result<(Compact, Vec<RecordBatch>), StorageError> {
    let mut footers: Vec<ArrowReaderMetadata> = Vec::with_capacity(set.files.len());
    for group in set.files.chunks(FOOTER_READS) {
        let loads = group.iter().map(|file| footer(set, file));
        footers.extend(futures::future::try_join_all(loads).await?);
    }
    let compact = match decided {
        Some(compact) => compact.clone(),
        None => {
            let columns: Vec<String> = schema
                .fields()
                .iter()
                .filter(|f| f.data_type() == &DataType::Utf8)
                .map(|f| f.name().clone())
                .filter(|name| {
                    !footers.is_empty()
                        && footers
                            .iter()
                            .all(|m| small_dictionaries(m.metadata(), name))
                })
                .collect();
            let schema = with_compact_text(schema, &columns);
            Compact { columns, schema }
        }
    };
    // Decoding is CPU work: each file on a task of its own, `at_once` at a
    // time, taken in order.
    let mut pending = set.files.iter().cloned().zip(footers);
    let mut running = std::collections::VecDeque::new();
    let mut batches = Vec::new();
    loop {
        while running.len() < at_once.max(1)
            && let Some((file, footer)) = pending.next()
        {
            let (store, root) = (set.store.clone(), set.root.clone());
            let columns = compact.columns.clone();
            running.push_back(tokio::spawn(async move {
                read_one(&store, &root, &file, footer, &columns).await
            }));
        }
        let Some(next) = running.pop_front() else {
            break;
        };
        let read = next
            .await
            .map_err(|e| StorageError::at(set.root.as_ref(), e))?;
        batches.extend(read?);
    }
    Ok((compact, batches))
}

async fn footer(set: &FileSet, file: &DataFile) -> Result<ArrowReaderMetadata, StorageError> {
    let mut reader = object_reader(&set.store, &set.root, file)?;
    ArrowReaderMetadata::load_async(&mut reader, ArrowReaderOptions::new())
        .await
        .map_err(|e| read_failed(file, e))
}

async fn read_one(
    store: &Arc<dyn ObjectStore>,
    root: &Path,
    file: &DataFile,
    footer: ArrowReaderMetadata,
    compact: &[String],
) -> Result<Vec<RecordBatch>, StorageError> {
    let fail = |e| read_failed(file, e);
    let schema = with_compact_text(footer.schema(), compact);
    let options = ArrowReaderOptions::new().with_schema(schema);
    let metadata =
        ArrowReaderMetadata::try_new(footer.metadata().clone(), options).map_err(fail)?;
    let reader = object_reader(store, root, file)?;
    ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(fail)?
        .map(|batch| batch.map_err(fail))
        .try_collect()
        .await
}

/// `schema` with the named text columns typed as [`compact_text`].
fn with_compact_text(schema: &Schema, compact: &[String]) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if compact.contains(f.name()) && f.data_type() == &DataType::Utf8 {
                f.as_ref().clone().with_data_type(compact_text())
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Whether every row group stores column `name` as a small dictionary, with
/// every data page dictionary-encoded (no fallback to plain values).
fn small_dictionaries(metadata: &ParquetMetaData, name: &str) -> bool {
    metadata.row_groups().iter().all(|group| {
        let chunk = group
            .columns()
            .iter()
            .find(|c| c.column_path().parts() == [name]);
        chunk.is_some_and(|c| {
            let only_dictionary = c.page_encoding_stats_mask().is_some_and(|mask| {
                mask.is_only(Encoding::RLE_DICTIONARY) || mask.is_only(Encoding::PLAIN_DICTIONARY)
            });
            let small = c
                .dictionary_page_offset()
                .is_some_and(|start| c.data_page_offset() - start <= SMALL_DICTIONARY_BYTES);
            only_dictionary && small
        })
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use super::{FileSet, compact_text, read_compact};
    use crate::storage::delta::DataFile;

    /// A file with a repeated text, a text whose dictionary overflows (so
    /// it falls back to plain pages) and a number.
    fn write(dir: &std::path::Path, name: &str, rows: i64) -> DataFile {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("status", DataType::Utf8, true),
            Field::new("email", DataType::Utf8, true),
        ]));
        let status: StringArray = (0..rows)
            .map(|i| (i % 5 != 0).then(|| ["PLACED", "SHIPPED"][(i % 2) as usize]))
            .collect();
        let email: StringArray = (0..rows)
            .map(|i| Some(format!("user{i}@example.com")))
            .collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(0..rows)),
            Arc::new(status),
            Arc::new(email),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let path = dir.join(name);
        let file = std::fs::File::create(&path).unwrap();
        let properties = WriterProperties::builder()
            .set_dictionary_page_size_limit(1024)
            .build();
        let mut writer = ArrowWriter::try_new(file, schema, Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        DataFile {
            modification_time: 0,
            path: name.to_string(),
            size: std::fs::metadata(&path).unwrap().len(),
        }
    }

    #[tokio::test]
    async fn repeated_texts_are_read_as_dictionaries_and_others_as_they_are() {
        let dir = std::env::temp_dir().join(format!("lfhost-compact-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = vec![
            write(&dir, "a.parquet", 5000),
            write(&dir, "b.parquet", 300),
        ];
        let url = url::Url::from_directory_path(&dir).unwrap();
        let (store, root) = object_store::parse_url(&url).unwrap();
        let set = FileSet {
            store: Arc::from(store),
            root,
            files,
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("status", DataType::Utf8, true),
            Field::new("email", DataType::Utf8, true),
        ]));
        let (compact, batches) = read_compact(&set, &schema, None, 2).await.unwrap();
        let types: Vec<DataType> = compact
            .schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(types, vec![DataType::Int64, compact_text(), DataType::Utf8]);
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 5300);
        let status = arrow_cast::cast(batches[0].column(1), &DataType::Utf8).unwrap();
        let status = status.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(status.value(1), "SHIPPED");
        assert!(status.is_null(5));

        // A later read takes the earlier choice.
        let (again, _) = read_compact(&set, &schema, Some(&compact), 1)
            .await
            .unwrap();
        assert_eq!(again.schema, compact.schema);
        std::fs::remove_dir_all(&dir).ok();
    }
}
