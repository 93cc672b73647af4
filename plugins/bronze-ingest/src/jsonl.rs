//! JSON Lines: one object per line, streamed line by line.

use lfhost_plugin_sdk::Error;
use serde_json::Value;

use crate::options::Column;
use crate::rows::{FileContext, RowAssembler, Sink};
use crate::source::{RangeSource, TextChunks};

/// A line longer than this is refused rather than buffered without bound.
const MAX_LINE_BYTES: usize = 64 << 20;

pub fn ingest(
    file: &FileContext<'_>,
    source: &dyn RangeSource,
    sink: &mut Sink<'_>,
) -> Result<(), Error> {
    let mut chunks = TextChunks::new(source, file)?;
    let mut rows = RowAssembler::new(file, sink)?;
    // The start of a line whose end is in a later chunk.
    let mut partial: Vec<u8> = Vec::new();
    let mut partial_start = chunks.offset();
    loop {
        let chunk_start = chunks.offset();
        let chunk = chunks.next_chunk()?;
        if chunk.is_empty() {
            if !partial.is_empty() {
                line(file.columns, &partial, &mut rows)?;
            }
            return rows.finish();
        }
        let mut rest = &chunk[..];
        while let Some(end) = rest.iter().position(|&c| c == b'\n') {
            if partial.is_empty() {
                line(file.columns, &rest[..end], &mut rows)?;
            } else {
                partial.extend_from_slice(&rest[..end]);
                line(file.columns, &partial, &mut rows)?;
                partial.clear();
            }
            rest = &rest[end + 1..];
        }
        if partial.is_empty() {
            partial_start = chunk_start + (chunk.len() - rest.len()) as u64;
        }
        partial.extend_from_slice(rest);
        if partial.len() > MAX_LINE_BYTES {
            return Err(file.error(format!(
                "the line at byte {partial_start} is longer than {} MiB",
                MAX_LINE_BYTES >> 20
            )));
        }
    }
}

/// One line without its `\n`.
fn line(columns: &[Column], bytes: &[u8], rows: &mut RowAssembler<'_, '_>) -> Result<(), Error> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    // The file was checked to be UTF-8 and lines split at an ASCII byte.
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::internal(format!("JSON line is not UTF-8 after validation: {e}")))?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut object)) => {
            for (column, spec) in columns.iter().enumerate() {
                match object.remove(&spec.name) {
                    None | Some(Value::Null) => rows.put_null(column),
                    Some(value) => rows.put_json(column, value),
                }
            }
            for (name, value) in object {
                if !value.is_null() {
                    rows.rescue(name, value);
                }
            }
            rows.end_row()
        }
        // Valid JSON that is not an object, or not JSON at all.
        _ => rows.malformed(text),
    }
}
