//! JSON Lines: one object per line, streamed line by line.

use std::borrow::Cow;

use lfhost_plugin_sdk::Error;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

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
    let mut fields = LineFields::new(file.columns.len());
    // The start of a line whose end is in a later chunk.
    let mut partial: Vec<u8> = Vec::new();
    let mut partial_start = chunks.offset();
    loop {
        let chunk_start = chunks.offset();
        let chunk = chunks.next_chunk()?;
        if chunk.is_empty() {
            if !partial.is_empty() {
                line(file.columns, &partial, &mut fields, &mut rows)?;
            }
            return rows.finish();
        }
        let mut rest = &chunk[..];
        while let Some(end) = rest.iter().position(|&c| c == b'\n') {
            if partial.is_empty() {
                line(file.columns, &rest[..end], &mut fields, &mut rows)?;
            } else {
                partial.extend_from_slice(&rest[..end]);
                line(file.columns, &partial, &mut fields, &mut rows)?;
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

/// One line's values, by declared column, and its undeclared fields; kept
/// between lines to reuse their allocations.
struct LineFields {
    declared: Vec<Option<Value>>,
    undeclared: Map<String, Value>,
}

impl LineFields {
    fn new(columns: usize) -> LineFields {
        LineFields {
            declared: vec![None; columns],
            undeclared: Map::new(),
        }
    }

    fn clear(&mut self) {
        self.declared.iter_mut().for_each(|v| *v = None);
        self.undeclared.clear();
    }
}

/// One line without its `\n`.
fn line(
    columns: &[Column],
    bytes: &[u8],
    fields: &mut LineFields,
    rows: &mut RowAssembler<'_, '_>,
) -> Result<(), Error> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    // The file was checked to be UTF-8 and lines split at an ASCII byte.
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::internal(format!("JSON line is not UTF-8 after validation: {e}")))?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = ObjectFields { columns, fields }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
    if parsed.is_err() {
        // Valid JSON that is not an object, or not JSON at all.
        fields.clear();
        return rows.malformed(text);
    }
    for (column, value) in fields.declared.iter_mut().enumerate() {
        match value.take() {
            None | Some(Value::Null) => rows.put_null(column),
            Some(value) => rows.put_json(column, value),
        }
    }
    for (name, value) in std::mem::take(&mut fields.undeclared) {
        if !value.is_null() {
            rows.rescue(name, value);
        }
    }
    rows.end_row()
}

/// Reads one JSON object straight into [`LineFields`]: no map of the whole
/// line is built, and keys are borrowed from the line where they can be.
/// A repeated key keeps its last value, as a JSON object map would.
struct ObjectFields<'a> {
    columns: &'a [Column],
    fields: &'a mut LineFields,
}

impl<'de> DeserializeSeed<'de> for ObjectFields<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectFields<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let value: Value = map.next_value()?;
            match self.columns.iter().position(|c| c.name == key) {
                Some(column) => self.fields.declared[column] = Some(value),
                None => {
                    self.fields.undeclared.insert(key.into_owned(), value);
                }
            }
        }
        Ok(())
    }
}

/// An object key, borrowed unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}
