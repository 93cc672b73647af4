//! CSV (RFC 4180, header row) streamed through `csv-core`.

use csv_core::{ReadRecordResult, Reader};
use lfhost_plugin_sdk::Error;
use serde_json::Value;

use crate::rows::{FileContext, RowAssembler, Sink};
use crate::source::{RangeSource, TextChunks};

/// A record longer than this is refused rather than buffered without bound.
const MAX_RECORD_BYTES: usize = 64 << 20;

pub fn ingest(
    file: &FileContext<'_>,
    source: &dyn RangeSource,
    sink: &mut Sink<'_>,
) -> Result<(), Error> {
    let mut chunks = TextChunks::new(source, file)?;
    let mut rows = RowAssembler::new(file, sink)?;
    let mut reader = Reader::new();
    let mut record = Record::default();
    let mut header: Option<Header> = None;
    // Where the current record starts in the file, for error messages.
    let mut record_start = chunks.offset();
    loop {
        let mut position = chunks.offset();
        let chunk = chunks.next_chunk()?;
        let at_end = chunk.is_empty();
        let mut input = &chunk[..];
        loop {
            // Empty input tells csv-core the file has ended.
            if input.is_empty() && !at_end {
                break;
            }
            let (result, nin, nout, nends) = reader.read_record(
                input,
                &mut record.fields[record.len..],
                &mut record.ends[record.count..],
            );
            record.raw.extend_from_slice(&input[..nin]);
            input = &input[nin..];
            position += nin as u64;
            record.len += nout;
            record.count += nends;
            match result {
                ReadRecordResult::InputEmpty if at_end => return rows.finish(),
                ReadRecordResult::InputEmpty => break,
                ReadRecordResult::OutputFull => record.grow_fields(),
                ReadRecordResult::OutputEndsFull => record.grow_ends(),
                ReadRecordResult::Record => {
                    match &header {
                        None => header = Some(Header::new(file, &record)?),
                        Some(h) => h.row(&record, &mut rows)?,
                    }
                    record.clear();
                    record_start = position;
                }
                ReadRecordResult::End => return rows.finish(),
            }
            if record.raw.len() > MAX_RECORD_BYTES {
                return Err(file.error(format!(
                    "a record near byte {record_start} is longer than {} MiB",
                    MAX_RECORD_BYTES >> 20
                )));
            }
        }
    }
}

/// One record's unquoted fields, as `csv-core` writes them, and its text.
struct Record {
    fields: Vec<u8>,
    len: usize,
    ends: Vec<usize>,
    count: usize,
    /// The input bytes consumed for this record, for `_raw`.
    raw: Vec<u8>,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            fields: vec![0; 4096],
            len: 0,
            ends: vec![0; 64],
            count: 0,
            raw: Vec::new(),
        }
    }
}

impl Record {
    fn grow_fields(&mut self) {
        let len = self.fields.len() * 2;
        self.fields.resize(len, 0);
    }

    fn grow_ends(&mut self) {
        let len = self.ends.len() * 2;
        self.ends.resize(len, 0);
    }

    fn clear(&mut self) {
        self.len = 0;
        self.count = 0;
        self.raw.clear();
    }

    /// Field `i`'s bytes. The file was checked to be UTF-8 and fields split
    /// only at ASCII bytes, so a field is UTF-8 too.
    fn field(&self, i: usize) -> Result<&str, Error> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        std::str::from_utf8(&self.fields[start..self.ends[i]])
            .map_err(|e| Error::internal(format!("CSV field is not UTF-8 after validation: {e}")))
    }

    /// The record as written, less line terminators: `csv-core` consumes the
    /// terminator of a record (or the `\n` of a `\r\n`, or blank lines) at
    /// either end of it, and a record cannot itself start or end with one
    /// outside quotes.
    fn text(&self) -> Result<&str, Error> {
        let is_eol = |c: &u8| *c == b'\r' || *c == b'\n';
        let start = self
            .raw
            .iter()
            .position(|c| !is_eol(c))
            .unwrap_or(self.raw.len());
        let end = self
            .raw
            .iter()
            .rposition(|c| !is_eol(c))
            .map_or(start, |i| i + 1);
        std::str::from_utf8(&self.raw[start..end])
            .map_err(|e| Error::internal(format!("CSV record is not UTF-8 after validation: {e}")))
    }
}

/// How a file's header maps onto the declared columns.
struct Header {
    names: Vec<String>,
    /// For each declared column, the field that holds it.
    field_of_column: Vec<Option<usize>>,
    /// For each field, whether a declared column takes it.
    declared: Vec<bool>,
}

impl Header {
    fn new(file: &FileContext<'_>, record: &Record) -> Result<Self, Error> {
        let names = (0..record.count)
            .map(|i| record.field(i).map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        let mut declared = vec![false; names.len()];
        let field_of_column = file
            .columns
            .iter()
            .map(|column| {
                // The first of duplicate header names wins; later ones are extra.
                let field = names.iter().position(|n| *n == column.name)?;
                declared[field] = true;
                Some(field)
            })
            .collect();
        Ok(Header {
            names,
            field_of_column,
            declared,
        })
    }

    fn row(&self, record: &Record, rows: &mut RowAssembler<'_, '_>) -> Result<(), Error> {
        if record.count != self.names.len() {
            return rows.malformed(record.text()?);
        }
        for (column, field) in self.field_of_column.iter().enumerate() {
            match field {
                Some(f) => {
                    let text = record.field(*f)?;
                    if text.is_empty() {
                        rows.put_null(column);
                    } else {
                        rows.put_text(column, text);
                    }
                }
                None => rows.put_null(column),
            }
        }
        for (f, declared) in self.declared.iter().enumerate() {
            if !declared {
                let text = record.field(f)?;
                if !text.is_empty() {
                    rows.rescue(self.names[f].clone(), Value::String(text.to_string()));
                }
            }
        }
        rows.end_row()
    }
}
