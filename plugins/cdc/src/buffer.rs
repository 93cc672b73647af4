//! Keeps what the merge needs of every pushed row, compactly: the stored
//! columns as Arrow arrays (copied out of the pushed batches, whose other
//! columns are then freed), whether the row is a delete (one bit), and its
//! file as a small number.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, new_empty_array};
use arrow_buffer::{BooleanBuffer, BooleanBufferBuilder};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, SchemaRef};
use lfhost_plugin_sdk::Error;

use crate::plan::Plan;

/// Pushed slices of a column are copied into one array every this many:
/// a slice shares its buffer with the whole pushed batch.
const COMPACT_EVERY: usize = 16;

/// The most rows a flow takes: row positions are 32-bit.
pub const MAX_ROWS: usize = u32::MAX as usize;

/// Every pushed row's stored columns, in push order.
#[derive(Debug)]
pub struct History {
    /// The plan's `stored` columns.
    pub columns: Vec<ArrayRef>,
    deletes: Option<BooleanBuffer>,
    /// Per row, the rank of its file among all files (byte-wise order of
    /// the paths, NULL first); empty without a source file column.
    pub file_ranks: Vec<u32>,
    pub len: usize,
    pub delete_count: u64,
}

impl History {
    pub fn is_delete(&self, row: usize) -> bool {
        self.deletes.as_ref().is_some_and(|d| d.value(row))
    }

    pub fn file_rank(&self, row: usize) -> u32 {
        self.file_ranks.get(row).copied().unwrap_or(0)
    }
}

#[derive(Debug)]
pub struct Collector {
    columns: Vec<Chunks>,
    deletes: BooleanBufferBuilder,
    delete_count: u64,
    files: Files,
    rows: usize,
    sent: Option<Sent>,
}

/// The input columns the host sends when it keeps the rows itself.
#[derive(Debug)]
struct Sent {
    schema: SchemaRef,
    /// Per input column, its position in a pushed batch, if sent.
    positions: Vec<Option<usize>>,
}

/// A pushed batch's columns by their index in the planned input.
struct Pushed<'a> {
    batch: &'a RecordBatch,
    sent: Option<&'a Sent>,
}

impl Pushed<'_> {
    fn column(&self, index: usize) -> Option<&ArrayRef> {
        let position = match self.sent {
            Some(sent) => sent.positions.get(index).copied().flatten()?,
            None => index,
        };
        self.batch.columns().get(position)
    }

    fn required(&self, plan: &Plan, index: usize) -> Result<&ArrayRef, Error> {
        self.column(index).ok_or_else(|| {
            let name = plan
                .input
                .fields()
                .get(index)
                .map_or("?", |f| f.name().as_str());
            Error::internal(format!("input column `{name}` was not pushed"))
        })
    }
}

impl Collector {
    pub fn new(plan: &Plan) -> Collector {
        Collector {
            columns: plan.stored.iter().map(|_| Chunks::default()).collect(),
            deletes: BooleanBufferBuilder::new(0),
            delete_count: 0,
            files: Files::default(),
            rows: 0,
            sent: None,
        }
    }

    /// A collector of batches that carry only the input columns `sent`
    /// (ascending): the stored columns not among them stay empty.
    pub fn sent_only(plan: &Plan, sent: &[usize]) -> Result<Collector, Error> {
        let schema = plan
            .input
            .project(sent)
            .map_err(|e| Error::internal(format!("projecting the input: {e}")))?;
        let mut positions = vec![None; plan.input.fields().len()];
        for (position, &index) in sent.iter().enumerate() {
            if let Some(slot) = positions.get_mut(index) {
                *slot = Some(position);
            }
        }
        Ok(Collector {
            sent: Some(Sent {
                schema: Arc::new(schema),
                positions,
            }),
            ..Collector::new(plan)
        })
    }

    pub fn push(&mut self, plan: &Plan, batch: &RecordBatch) -> Result<(), Error> {
        let expected = self.sent.as_ref().map_or(&plan.input, |s| &s.schema);
        lfhost_plugin_sdk::check_batch_schema(expected, batch)?;
        let pushed = Pushed {
            batch,
            sent: self.sent.as_ref(),
        };
        let len = batch.num_rows();
        if len == 0 {
            return Ok(());
        }
        // Row positions are u32; on wasm32 the sum itself can overflow.
        let fits = self
            .rows
            .checked_add(len)
            .is_some_and(|total| u32::try_from(total).is_ok());
        if !fits {
            return Err(Error::data(format!(
                "the input has more than {MAX_ROWS} rows"
            )));
        }
        check_not_null(plan, &pushed, self.rows)?;
        if let Some(predicate) = &plan.deletes {
            let deletes = predicate
                .evaluate_columns_true(&|i| pushed.column(i).cloned(), len)
                .map_err(|e| Error::internal(format!("apply_as_deletes: {e}")))?;
            self.delete_count += deletes.true_count() as u64;
            self.deletes.append_buffer(deletes.values());
        }
        if let Some(file) = plan.source_file {
            self.files
                .intern_column(pushed.required(plan, file)?.as_ref())?;
        }
        for (chunks, &index) in self.columns.iter_mut().zip(&plan.stored) {
            // Unsent columns are the table's, which the host keeps.
            if let Some(column) = pushed.column(index) {
                chunks.push(column.clone())?;
            }
        }
        self.rows += len;
        Ok(())
    }

    /// Every row pushed, as one array per stored column.
    pub fn finish(self, plan: &Plan) -> Result<History, Error> {
        let mut columns = Vec::with_capacity(self.columns.len());
        for (chunks, &index) in self.columns.into_iter().zip(&plan.stored) {
            columns.push(chunks.finish(plan.input.field(index).data_type())?);
        }
        let mut deletes = self.deletes;
        Ok(History {
            columns,
            deletes: plan.deletes.as_ref().map(|_| deletes.finish()),
            file_ranks: self.files.into_ranks(),
            len: self.rows,
            delete_count: self.delete_count,
        })
    }
}

#[derive(Debug, Default)]
struct Chunks {
    /// Arrays of their own.
    done: Vec<ArrayRef>,
    /// Slices of pushed batches.
    pending: Vec<ArrayRef>,
}

impl Chunks {
    fn push(&mut self, array: ArrayRef) -> Result<(), Error> {
        self.pending.push(array);
        if self.pending.len() >= COMPACT_EVERY {
            let copy = concat(&self.pending)?;
            self.done.push(copy);
            self.pending.clear();
        }
        Ok(())
    }

    fn finish(mut self, data_type: &DataType) -> Result<ArrayRef, Error> {
        self.done.append(&mut self.pending);
        match self.done.len() {
            0 => Ok(new_empty_array(data_type)),
            1 => Ok(self.done.remove(0)),
            _ => concat(&self.done),
        }
    }
}

fn concat(arrays: &[ArrayRef]) -> Result<ArrayRef, Error> {
    let refs: Vec<&dyn Array> = arrays.iter().map(AsRef::as_ref).collect();
    arrow_select::concat::concat(&refs).map_err(|e| Error::internal(format!("buffering rows: {e}")))
}

/// Up to this many distinct files, a path's id is found by comparing it
/// with each known path rather than through the hash map.
const SCANNED_FILES: usize = 32;

/// Whether two texts are equal, compared a word at a time from their ends:
/// paths share long prefixes and differ near the end, where `==` (the
/// SDK's `bcmp`) would start from the front.
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let word = |bytes: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(bytes);
        u64::from_le_bytes(w)
    };
    let (mut wa, mut wb) = (a.rchunks_exact(8), b.rchunks_exact(8));
    for (x, y) in wa.by_ref().zip(wb.by_ref()) {
        if word(x) != word(y) {
            return false;
        }
    }
    wa.remainder()
        .iter()
        .zip(wb.remainder())
        .all(|(x, y)| x == y)
}

/// Interns file paths: each distinct path gets a number, in first-seen order.
#[derive(Debug, Default)]
struct Files {
    ids: HashMap<String, u32>,
    names: Vec<Option<String>>,
    null_id: Option<u32>,
    /// Per row, the id of its file.
    rows: Vec<u32>,
}

impl Files {
    fn intern_column(&mut self, array: &dyn Array) -> Result<(), Error> {
        match array.data_type() {
            DataType::Utf8 => self.intern_all(array.as_string::<i32>().iter()),
            DataType::LargeUtf8 => self.intern_all(array.as_string::<i64>().iter()),
            DataType::Utf8View => self.intern_all(array.as_string_view().iter()),
            other => {
                return Err(Error::internal(format!(
                    "the source file column is {other}, not a string"
                )));
            }
        }
        Ok(())
    }

    fn intern_all<'a>(&mut self, values: impl Iterator<Item = Option<&'a str>>) {
        let mut last: Option<(&'a str, u32)> = None;
        for value in values {
            let id = match (value, last) {
                (Some(v), Some((l, id))) if same_text(v, l) => id,
                (Some(v), _) => {
                    let id = self.id(v);
                    last = Some((v, id));
                    id
                }
                (None, _) => self.null_id(),
            };
            self.rows.push(id);
        }
    }

    fn id(&mut self, name: &str) -> u32 {
        // A merge's rows come in key order, so consecutive rows rarely share
        // a file; the files are few, and scanning them beats hashing a path.
        if self.ids.len() <= SCANNED_FILES {
            let known = self.names.iter().enumerate();
            for (id, known) in known {
                if known.as_deref().is_some_and(|k| same_text(k, name)) {
                    return id as u32;
                }
            }
        } else if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(Some(name.to_string()));
        self.ids.insert(name.to_string(), id);
        id
    }

    fn null_id(&mut self) -> u32 {
        *self.null_id.get_or_insert_with(|| {
            self.names.push(None);
            (self.names.len() - 1) as u32
        })
    }

    /// Per row, its file's rank in byte-wise order of the paths (NULL first).
    fn into_ranks(self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        let mut rows = self.rows;
        for id in &mut rows {
            *id = rank[*id as usize];
        }
        rows
    }
}

/// A NULL key or sequence cannot be placed: the table's expectations drop
/// such rows before they get here.
fn check_not_null(plan: &Plan, batch: &Pushed<'_>, first_row: usize) -> Result<(), Error> {
    let key_columns: Vec<usize> = plan.keys.iter().map(|&k| plan.stored[k]).collect();
    let sequence = plan.stored[plan.sequence];
    for &column in key_columns.iter().chain([&sequence]) {
        let array = batch.required(plan, column)?;
        if array.null_count() == 0 {
            continue;
        }
        let Some(row) = (0..array.len()).find(|&r| array.is_null(r)) else {
            continue;
        };
        let what = if column == sequence {
            "sequence"
        } else {
            "key"
        };
        return Err(Error::data(format!(
            "row {} of the input (0-based, in ingestion order; key {}) has a NULL {what} `{}`",
            first_row + row,
            render_key(plan, batch, &key_columns, row),
            plan.input.field(column).name()
        )));
    }
    Ok(())
}

fn render_key(plan: &Plan, batch: &Pushed<'_>, key_columns: &[usize], row: usize) -> String {
    let options = FormatOptions::default().with_null("NULL");
    let parts: Vec<String> = key_columns
        .iter()
        .map(|&c| {
            // A value Arrow cannot render (a timestamp in a named zone
            // without chrono-tz) shows as `?`.
            let value = batch
                .column(c)
                .and_then(|column| {
                    ArrayFormatter::try_new(column.as_ref(), &options)
                        .and_then(|f| f.value(row).try_to_string())
                        .ok()
                })
                .unwrap_or_else(|| "?".to_string());
            format!("{}={value}", plan.input.field(c).name())
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use arrow_array::StringArray;

    use super::{Files, same_text};

    #[test]
    fn texts_are_equal_only_when_every_byte_is() {
        let base = "landing/orders/batch-0001-00.parquet";
        let copy = String::from(base);
        assert!(same_text(base, copy.as_str()));
        assert!(same_text("", ""));
        assert!(same_text("abc", "abc"));
        assert!(!same_text(base, "landing/orders/batch-0001-01.parquet"));
        assert!(!same_text(base, "Landing/orders/batch-0001-00.parquet"));
        assert!(!same_text("abc", "abd"));
        assert!(!same_text(base, &base[1..]));
    }

    #[test]
    fn files_rank_by_path_however_many_there_are() {
        for count in [3usize, 100] {
            let names: Vec<String> = (0..count)
                .map(|i| format!("f/{:03}", (i * 37) % count))
                .collect();
            // Rows cycle through the files out of order, with NULLs.
            let values: Vec<Option<&str>> = (0..count * 3)
                .map(|i| (i % 7 != 3).then(|| names[(i * 5) % count].as_str()))
                .collect();
            let mut files = Files::default();
            files
                .intern_column(&StringArray::from(values.clone()))
                .unwrap();
            let ranks = files.into_ranks();
            for (i, a) in values.iter().enumerate() {
                for (j, b) in values.iter().enumerate() {
                    assert_eq!(ranks[i].cmp(&ranks[j]), a.cmp(b), "rows {i} and {j}");
                }
            }
        }
    }
}
