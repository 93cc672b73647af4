//! JSON Lines: one object per line, streamed line by line.

use std::borrow::Cow;

use lfhost_plugin_sdk::Error;
use serde::Deserialize;
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
    let mut fields = LineFields::new();
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

/// One line's undeclared fields; kept between lines to reuse the map.
struct LineFields {
    undeclared: Map<String, Value>,
}

impl LineFields {
    fn new() -> LineFields {
        LineFields {
            undeclared: Map::new(),
        }
    }
}

/// A declared column's value: strings borrowed from the line where they
/// hold no escapes (most do), so that reading one allocates nothing.
enum FieldValue<'de> {
    Text(Cow<'de, str>),
    Other(Value),
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
    let mut declared: Vec<Option<FieldValue<'_>>> = Vec::new();
    declared.resize_with(columns.len(), || None);
    let parsed = ObjectFields {
        columns,
        declared: &mut declared,
        undeclared: &mut fields.undeclared,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    if parsed.is_err() {
        // Valid JSON that is not an object, or not JSON at all.
        fields.undeclared.clear();
        return rows.malformed(text);
    }
    for (column, value) in declared.into_iter().enumerate() {
        match value {
            None | Some(FieldValue::Other(Value::Null)) => rows.put_null(column),
            Some(FieldValue::Text(text)) => rows.put_json_str(column, &text),
            Some(FieldValue::Other(value)) => rows.put_json(column, value),
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
struct ObjectFields<'a, 'de> {
    columns: &'a [Column],
    declared: &'a mut [Option<FieldValue<'de>>],
    undeclared: &'a mut Map<String, Value>,
}

impl<'de> DeserializeSeed<'de> for ObjectFields<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectFields<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match self.columns.iter().position(|c| c.name == key) {
                Some(column) => self.declared[column] = Some(map.next_value()?),
                None => {
                    let value: Value = map.next_value()?;
                    self.undeclared.insert(key.into_owned(), value);
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

impl<'de> serde::Deserialize<'de> for FieldValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = FieldValue<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<FieldValue<'de>, E> {
                Ok(FieldValue::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<FieldValue<'de>, E> {
                Ok(FieldValue::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<FieldValue<'de>, E> {
                Ok(FieldValue::Text(Cow::Owned(v)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<FieldValue<'de>, E> {
                Ok(FieldValue::Other(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<FieldValue<'de>, E> {
                Ok(FieldValue::Other(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<FieldValue<'de>, E> {
                Ok(FieldValue::Other(Value::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<FieldValue<'de>, E> {
                // Non-finite numbers do not occur in JSON; serde_json's own
                // Value makes them null the same way.
                Ok(FieldValue::Other(
                    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
                ))
            }
            fn visit_unit<E>(self) -> Result<FieldValue<'de>, E> {
                Ok(FieldValue::Other(Value::Null))
            }
            fn visit_none<E>(self) -> Result<FieldValue<'de>, E> {
                Ok(FieldValue::Other(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<FieldValue<'de>, A::Error> {
                let value = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(FieldValue::Other(value))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FieldValue<'de>, A::Error> {
                let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(FieldValue::Other(value))
            }
        }
        deserializer.deserialize_any(FieldVisitor)
    }
}
