//! Parquet landing files: footer, then one row group at a time, each
//! prefetched whole. Row groups with ZSTD chunks go through
//! [`crate::parquet_zstd`]; the rest through parquet's own reader builder.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, new_null_array};
use arrow_schema::Schema;
use lfhost_plugin_sdk::Error;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::{ProjectionMask, parquet_to_arrow_field_levels};
use parquet::basic::Compression;
use parquet::file::metadata::ColumnChunkMetaData;

use crate::conform::{Rescued, conform, rescue_all};
use crate::parquet_source::SourceChunkReader;
use crate::parquet_zstd::{ZstdRowGroup, is_zstd};
use crate::rows::{BatchStats, FileContext, Sink};
use crate::source::RangeSource;

const SUPPORTED_CODECS: &str = "UNCOMPRESSED, SNAPPY, GZIP, BROTLI, LZ4, LZ4_RAW, ZSTD";

pub fn ingest(
    file: &FileContext<'_>,
    source: Arc<dyn RangeSource>,
    sink: &mut Sink<'_>,
) -> Result<(), Error> {
    let size = source.size();
    if size == 0 {
        return Ok(());
    }
    let reader = SourceChunkReader::new(source, file.chunk_size);
    // A failed read surfaces as a parquet error; name the read, not the file's shape.
    let fail = |what: String, e: &dyn std::fmt::Display| match reader.take_io_error() {
        Some(io) => file.error(format!("cannot read: {io}")),
        None => file.error(format!("{what}: {e}")),
    };
    let metadata = ArrowReaderMetadata::load(&reader, ArrowReaderOptions::new())
        .map_err(|e| fail("not a valid Parquet file".into(), &e))?;
    let parquet = Arc::clone(metadata.metadata());
    let mut chunk_ranges = Vec::with_capacity(parquet.num_row_groups());
    for group in parquet.row_groups() {
        let ranges = group
            .columns()
            .iter()
            .map(|chunk| check_chunk(file, chunk, size))
            .collect::<Result<Vec<_>, _>>()?;
        chunk_ranges.push(ranges);
    }
    let plan = Plan::new(file, metadata.schema());
    for (index, ranges) in chunk_ranges.iter().enumerate() {
        let group = parquet.row_group(index);
        if group.num_rows() == 0 {
            continue;
        }
        let what = || format!("cannot read row group {index}");
        reader.prefetch(ranges).map_err(|m| fail(what(), &m))?;
        let batches = if group.columns().iter().any(|c| is_zstd(c.compression())) {
            let levels = parquet_to_arrow_field_levels(
                parquet.file_metadata().schema_descr(),
                ProjectionMask::all(),
                Some(metadata.schema().fields()),
            )
            .map_err(|e| fail(what(), &e))?;
            let row_group = ZstdRowGroup {
                reader: Arc::new(reader.clone()),
                metadata: Arc::clone(&parquet),
                index,
            };
            ParquetRecordBatchReader::try_new_with_row_groups(
                &levels,
                &row_group,
                file.batch_rows,
                None,
            )
            .map_err(|e| fail(what(), &e))?
        } else {
            ParquetRecordBatchReaderBuilder::new_with_metadata(reader.clone(), metadata.clone())
                .with_row_groups(vec![index])
                .with_batch_size(file.batch_rows)
                .build()
                .map_err(|e| fail(what(), &e))?
        };
        for batch in batches {
            let batch = batch.map_err(|e| fail(what(), &e))?;
            let (out, stats) = plan.convert(file, &batch)?;
            sink(out, stats)?;
        }
    }
    reader.clear();
    Ok(())
}

/// Refuses a column chunk this build cannot decode or that lies outside the
/// file, before any batch of the file is emitted; returns its byte range.
pub(crate) fn check_chunk(
    file: &FileContext<'_>,
    chunk: &ColumnChunkMetaData,
    size: u64,
) -> Result<(u64, u64), Error> {
    let column = chunk.column_path().string();
    match chunk.compression() {
        Compression::UNCOMPRESSED
        | Compression::SNAPPY
        | Compression::GZIP(_)
        | Compression::BROTLI(_)
        | Compression::LZ4
        | Compression::LZ4_RAW
        | Compression::ZSTD(_) => {}
        other => {
            let debug = format!("{other:?}");
            let codec = debug.split('(').next().unwrap_or(&debug);
            return Err(file.error(format!(
                "column `{column}` is compressed with {codec}, which this plugin cannot read (supported: {SUPPORTED_CODECS})"
            )));
        }
    }
    let start = chunk
        .dictionary_page_offset()
        .unwrap_or_else(|| chunk.data_page_offset());
    let len = chunk.compressed_size();
    match (u64::try_from(start), u64::try_from(len)) {
        (Ok(start), Ok(len)) if start.checked_add(len).is_some_and(|end| end <= size) => Ok((start, len)),
        _ => Err(file.error(format!(
            "not a valid Parquet file: column `{column}` claims bytes {start}..{} of a {size}-byte file (truncated?)",
            start.saturating_add(len)
        ))),
    }
}

/// Where each declared column comes from in the file's Arrow schema.
struct Plan {
    /// For each declared column, the file column of the same name.
    sources: Vec<Option<usize>>,
    /// File columns no declared column takes: rescued.
    extras: Vec<(usize, String)>,
}

impl Plan {
    fn new(file: &FileContext<'_>, schema: &Schema) -> Self {
        let mut taken = vec![false; schema.fields().len()];
        let sources = file
            .columns
            .iter()
            .map(|column| {
                let index = schema
                    .fields()
                    .iter()
                    .position(|f| *f.name() == column.name)?;
                taken[index] = true;
                Some(index)
            })
            .collect();
        let extras = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, _)| !taken[*i])
            .map(|(i, f)| (i, f.name().clone()))
            .collect();
        Plan { sources, extras }
    }

    /// The output batch for one batch of the file. When every declared
    /// column is in the file with its declared type and there is no extra
    /// column, this only rearranges arrays and adds the metadata columns.
    fn convert(
        &self,
        file: &FileContext<'_>,
        batch: &RecordBatch,
    ) -> Result<(RecordBatch, BatchStats), Error> {
        let rows = batch.num_rows();
        let mut rescued = Rescued::new(rows);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(file.columns.len() + 3);
        for (column, source) in file.columns.iter().zip(&self.sources) {
            let array = match source {
                Some(i) => conform(batch.column(*i), column, &mut rescued)?,
                None => new_null_array(&column.ty.data_type(), rows),
            };
            columns.push(array);
        }
        for (i, name) in &self.extras {
            rescue_all(batch.column(*i), name, &mut rescued)?;
        }
        let stats = BatchStats {
            rows: rows as u64,
            rescued_rows: rescued.count(),
            malformed_records: 0,
        };
        let out = file.batch(columns, rescued.finish()?, rows)?;
        Ok((out, stats))
    }
}
