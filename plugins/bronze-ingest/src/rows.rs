//! Row-at-a-time assembly of output batches for the text formats, and the
//! pieces every format shares: metadata columns, rescued JSON, batch stats.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::SchemaRef;
use lfhost_plugin_sdk::Error;
use serde_json::{Map, Value};

use crate::builders::ColumnBuilder;
use crate::options::{Column, RAW_KEY};

/// What one emitted batch holds, for the flow's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    pub rows: u64,
    /// Rows whose `_rescued_data` is not null.
    pub rescued_rows: u64,
    /// Records that could not be split into fields (`_raw`).
    pub malformed_records: u64,
}

/// Receives each output batch, in file order.
pub type Sink<'s> = dyn FnMut(RecordBatch, BatchStats) -> Result<(), Error> + 's;

/// What the readers need to know about the file being ingested.
pub struct FileContext<'a> {
    pub path: &'a str,
    pub columns: &'a [Column],
    pub schema: &'a SchemaRef,
    pub batch_rows: usize,
    pub ingested_at: i64,
    /// Bytes per read of the landing file.
    pub chunk_size: u32,
}

impl FileContext<'_> {
    /// An `InvalidData` error that starts with the file's path.
    pub fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::data(format!("{}: {message}", self.path))
    }

    /// Assembles a batch from the declared columns and rescued values.
    pub fn batch(
        &self,
        mut columns: Vec<ArrayRef>,
        rescued: ArrayRef,
        rows: usize,
    ) -> Result<RecordBatch, Error> {
        columns.push(rescued);
        columns.push(Arc::new(StringArray::from_iter_values(
            std::iter::repeat_n(self.path, rows),
        )));
        columns.push(Arc::new(
            TimestampMicrosecondArray::from(vec![self.ingested_at; rows]).with_timezone("UTC"),
        ));
        RecordBatch::try_new(Arc::clone(self.schema), columns)
            .map_err(|e| Error::internal(format!("{}: cannot assemble a batch: {e}", self.path)))
    }
}

/// A row's rescued values as the JSON object text of `_rescued_data`.
pub fn rescued_text(map: &Map<String, Value>) -> Result<String, Error> {
    serde_json::to_string(map)
        .map_err(|e| Error::internal(format!("cannot write rescued data: {e}")))
}

/// Builds batches one row at a time and hands each full one to the sink.
pub struct RowAssembler<'a, 's> {
    file: &'a FileContext<'a>,
    columns: Vec<ColumnBuilder>,
    rescued: StringBuilder,
    /// The current row's rescued values; kept to reuse its allocation.
    pending: Map<String, Value>,
    stats: BatchStats,
    sink: &'a mut Sink<'s>,
}

impl<'a, 's> RowAssembler<'a, 's> {
    pub fn new(file: &'a FileContext<'a>, sink: &'a mut Sink<'s>) -> Result<Self, Error> {
        let capacity = file.batch_rows.min(8192);
        let columns = file
            .columns
            .iter()
            .map(|c| ColumnBuilder::new(c.ty, capacity))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RowAssembler {
            file,
            columns,
            rescued: StringBuilder::new(),
            pending: Map::new(),
            stats: BatchStats::default(),
            sink,
        })
    }

    pub fn put_null(&mut self, column: usize) {
        self.columns[column].append_null();
    }

    /// A field's text for declared column `column`; rescued if it does not parse.
    pub fn put_text(&mut self, column: usize, text: &str) {
        if !self.columns[column].append_text(text) {
            let name = self.file.columns[column].name.clone();
            self.pending.insert(name, Value::String(text.to_string()));
        }
    }

    /// A non-null JSON value for declared column `column`; rescued as it is
    /// if its JSON type or value does not fit.
    pub fn put_json(&mut self, column: usize, value: Value) {
        if !self.columns[column].append_json(&value) {
            let name = self.file.columns[column].name.clone();
            self.pending.insert(name, value);
        }
    }

    /// A JSON string value for declared column `column`; rescued as a
    /// string if the column takes no strings or the text does not parse.
    pub fn put_json_str(&mut self, column: usize, text: &str) {
        if !self.columns[column].append_json_str(text) {
            let name = self.file.columns[column].name.clone();
            self.pending.insert(name, Value::String(text.to_string()));
        }
    }

    /// A value that belongs to no declared column.
    pub fn rescue(&mut self, name: String, value: Value) {
        self.pending.insert(name, value);
    }

    /// Closes the current row: every declared column must have had exactly
    /// one `put_*` since the previous row.
    pub fn end_row(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            self.rescued.append_null();
        } else {
            self.rescued.append_value(rescued_text(&self.pending)?);
            self.pending.clear();
            self.stats.rescued_rows += 1;
        }
        self.stats.rows += 1;
        if self.stats.rows >= self.file.batch_rows as u64 {
            self.flush()?;
        }
        Ok(())
    }

    /// A record that could not be split into fields: all typed columns null,
    /// its text kept under `_raw`.
    pub fn malformed(&mut self, raw: &str) -> Result<(), Error> {
        for column in &mut self.columns {
            column.append_null();
        }
        self.pending.clear();
        self.pending
            .insert(RAW_KEY.to_string(), Value::String(raw.to_string()));
        self.stats.malformed_records += 1;
        self.end_row()
    }

    /// Emits the rows not yet emitted; the file is done.
    pub fn finish(mut self) -> Result<(), Error> {
        self.flush()
    }

    fn flush(&mut self) -> Result<(), Error> {
        if self.stats.rows == 0 {
            return Ok(());
        }
        let rows = usize::try_from(self.stats.rows).unwrap_or(usize::MAX);
        let columns = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        let rescued: ArrayRef = Arc::new(self.rescued.finish());
        let batch = self.file.batch(columns, rescued, rows)?;
        let stats = std::mem::take(&mut self.stats);
        (self.sink)(batch, stats)
    }
}
