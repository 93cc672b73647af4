//! Arrow IPC stream bytes as they cross the plugin boundary.
//!
//! Both sides use this crate so that what one writes the other accepts. The
//! decoders are strict because the bytes may come from an untrusted plugin:
//! exactly the messages expected, no trailing bytes, and (for batches) the
//! schema the receiver expects. Only a plugin reading its host's batches
//! skips checking each value ([`decode_host_batch_owned`]).

use std::collections::HashMap;
use std::io::Cursor;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_data::UnsafeFlag;
use arrow_ipc::reader::{RecordBatchDecoder, StreamDecoder, StreamReader};
use arrow_ipc::writer::{StreamEncoder, StreamWriter};
use arrow_schema::{ArrowError, Schema, SchemaRef};

/// Why bytes were refused.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    #[error("invalid Arrow IPC stream: {0}")]
    Arrow(#[from] ArrowError),
    #[error("expected {expected} record batch(es) in the IPC stream, found {found}")]
    BatchCount { expected: usize, found: usize },
    #[error("{0} trailing byte(s) after the end of the IPC stream")]
    TrailingBytes(usize),
    #[error("malformed IPC framing at byte {offset}: {reason}")]
    Framing { offset: usize, reason: String },
    #[error("batch schema differs from the declared schema: expected {expected}, got {actual}")]
    SchemaMismatch { expected: String, actual: String },
}

/// Encodes a schema as an IPC stream with no batch.
pub fn encode_schema(schema: &Schema) -> Result<Vec<u8>, IpcError> {
    let mut writer = StreamWriter::try_new(Vec::new(), schema)?;
    writer.finish()?;
    Ok(writer.into_inner()?)
}

/// Encodes one batch as an IPC stream (schema message, batch, end marker).
///
/// The encoder hands out the batch's own buffers, so the stream is copied
/// together once, into a vector of its exact size: `StreamWriter` copied
/// every column twice (into the message body, then into the writer) and
/// grew the output by guesswork.
pub fn encode_batch(batch: &RecordBatch) -> Result<Vec<u8>, IpcError> {
    let mut encoder = StreamEncoder::try_new(&batch.schema())?;
    let mut parts = encoder.encode(batch)?;
    parts.extend(encoder.finish()?);
    let mut stream = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in &parts {
        stream.extend_from_slice(part.as_slice());
    }
    Ok(stream)
}

/// Decodes an IPC stream that must hold a schema and no batch.
pub fn decode_schema(bytes: &[u8]) -> Result<SchemaRef, IpcError> {
    let (schema, batches) = decode_all(bytes)?;
    if !batches.is_empty() {
        return Err(IpcError::BatchCount {
            expected: 0,
            found: batches.len(),
        });
    }
    Ok(schema)
}

/// Decodes an IPC stream that must hold exactly one batch. When `expected`
/// is given, the batch's schema must equal it (field names, types,
/// nullability; metadata is ignored).
pub fn decode_batch(bytes: &[u8], expected: Option<&Schema>) -> Result<RecordBatch, IpcError> {
    let (schema, batches) = decode_all(bytes)?;
    the_batch(&schema, batches, expected)
}

/// The one batch of a decoded stream, its schema checked against `expected`.
fn the_batch(
    schema: &Schema,
    mut batches: Vec<RecordBatch>,
    expected: Option<&Schema>,
) -> Result<RecordBatch, IpcError> {
    if batches.len() != 1 {
        return Err(IpcError::BatchCount {
            expected: 1,
            found: batches.len(),
        });
    }
    if let Some(expected) = expected
        && !same_fields(expected, schema)
    {
        return Err(IpcError::SchemaMismatch {
            expected: describe_schema(expected),
            actual: describe_schema(schema),
        });
    }
    Ok(batches.remove(0))
}

/// As [`decode_batch`], from bytes the caller gives up: the batch's
/// buffers are slices of them instead of copies (a buffer that is not
/// aligned for its type is still copied).
pub fn decode_batch_owned(
    bytes: Vec<u8>,
    expected: Option<&Schema>,
) -> Result<RecordBatch, IpcError> {
    let end = check_framing(&bytes)?;
    if end < bytes.len() {
        return Err(IpcError::TrailingBytes(bytes.len() - end));
    }
    decode_checked_stream(Buffer::from_vec(bytes), expected)
}

/// The one batch of a stream whose framing has been checked, each value
/// validated by Arrow's decoder.
fn decode_checked_stream(
    mut buffer: Buffer,
    expected: Option<&Schema>,
) -> Result<RecordBatch, IpcError> {
    let mut decoder = StreamDecoder::new();
    let mut batches = Vec::with_capacity(1);
    while !buffer.is_empty() {
        match decoder.decode(&mut buffer)? {
            Some(batch) => batches.push(batch),
            None => break,
        }
    }
    decoder.finish()?;
    let schema = decoder
        .schema()
        .ok_or_else(|| ArrowError::IpcError("the stream has no schema".to_string()))?;
    the_batch(&schema, batches, expected)
}

/// As [`decode_batch_owned`], for a plugin decoding the batches its host
/// pushes. The host is the plugin's trust root and encodes them from
/// arrays it has validated, so values are not validated again: checking
/// every string's UTF-8 and offsets was about a seventh of the
/// expectations plugin's instructions. The framing is still checked, and
/// bytes that were not the host's could only harm the plugin's own
/// sandbox. (Arrow's `StreamDecoder` validates batches whatever it is
/// told, so the batch message is decoded here.)
pub fn decode_host_batch_owned(bytes: Vec<u8>) -> Result<RecordBatch, IpcError> {
    let (frames, end) = frames(&bytes)?;
    if end < bytes.len() {
        return Err(IpcError::TrailingBytes(bytes.len() - end));
    }
    let buffer = Buffer::from_vec(bytes);
    let message = |frame: &Frame| arrow_ipc::root_as_message(&buffer[frame.header.clone()]).ok();
    let (schema_message, batch_message, body) = match frames.as_slice() {
        [schema, batch] => (message(schema), message(batch), batch.body.clone()),
        _ => (None, None, 0..0),
    };
    let parts = schema_message
        .zip(batch_message.as_ref())
        .and_then(|(schema, batch)| {
            Some((
                schema.header_as_schema()?,
                batch.header_as_record_batch()?,
                batch.version(),
            ))
        });
    let Some((schema, batch, version)) = parts else {
        // Dictionaries or unexpected messages: the checked decoder handles
        // or refuses them.
        return decode_checked_stream(buffer.clone(), None);
    };
    let schema = Arc::new(arrow_ipc::convert::fb_to_schema(schema));
    let body = buffer.slice_with_length(body.start, body.len());
    let mut skip = UnsafeFlag::new();
    // SAFETY: only for bytes the host encoded from valid arrays (see above).
    unsafe { skip.set(true) };
    let dictionaries = HashMap::new();
    Ok(
        RecordBatchDecoder::try_new(&body, batch, schema, &dictionaries, &version)?
            .with_skip_validation(skip)
            .read_record_batch()?,
    )
}

/// True when both schemas have the same fields (names, types, nullability).
pub fn same_fields(a: &Schema, b: &Schema) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields().iter().zip(b.fields().iter()).all(|(x, y)| {
            x.name() == y.name()
                && x.data_type() == y.data_type()
                && x.is_nullable() == y.is_nullable()
        })
}

/// A one-line rendering of a schema for error messages.
pub fn describe_schema(schema: &Schema) -> String {
    let fields: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| {
            format!(
                "{}: {}{}",
                f.name(),
                f.data_type(),
                if f.is_nullable() { "" } else { " not null" }
            )
        })
        .collect();
    format!("[{}]", fields.join(", "))
}

fn decode_all(bytes: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>), IpcError> {
    check_framing(bytes)?;
    let mut cursor = Cursor::new(bytes);
    let reader = StreamReader::try_new(&mut cursor, None)?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    let consumed = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
    if consumed < bytes.len() {
        return Err(IpcError::TrailingBytes(bytes.len() - consumed));
    }
    Ok((Arc::clone(&schema), batches))
}

/// Walks the stream's message frames and checks every declared length
/// against the bytes actually present, before the Arrow reader sees them: a
/// forged length must not make the reader allocate what the buffer lacks.
/// Returns where the stream ends: after its end marker, or at the end of
/// the bytes.
fn check_framing(bytes: &[u8]) -> Result<usize, IpcError> {
    frames(bytes).map(|(_, end)| end)
}

/// One message of a stream: where its header and its body lie.
struct Frame {
    header: Range<usize>,
    body: Range<usize>,
}

/// The messages of a stream, checked as [`check_framing`] says, and where
/// the stream ends.
fn frames(bytes: &[u8]) -> Result<(Vec<Frame>, usize), IpcError> {
    let mut frames = Vec::with_capacity(3);
    let fail = |offset: usize, reason: &str| IpcError::Framing {
        offset,
        reason: reason.to_string(),
    };
    let read_i32 = |at: usize| -> Option<i32> {
        bytes
            .get(at..at + 4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut pos = 0;
    while pos < bytes.len() {
        let mut length = read_i32(pos).ok_or_else(|| fail(pos, "truncated message length"))?;
        pos += 4;
        if length == -1 {
            length = read_i32(pos).ok_or_else(|| fail(pos, "truncated message length"))?;
            pos += 4;
        }
        if length == 0 {
            return Ok((frames, pos));
        }
        let length = usize::try_from(length).map_err(|_| fail(pos, "negative message length"))?;
        let end = pos.checked_add(length).filter(|end| *end <= bytes.len());
        let end = end.ok_or_else(|| fail(pos, "message length exceeds the bytes given"))?;
        let message = arrow_ipc::root_as_message(&bytes[pos..end])
            .map_err(|e| fail(pos, &format!("invalid message header: {e}")))?;
        let body =
            usize::try_from(message.bodyLength()).map_err(|_| fail(pos, "negative body length"))?;
        // The Arrow reader slices buffers out of the body with assertions:
        // a forged offset or length must be refused here, not panic there.
        let batch = message
            .header_as_record_batch()
            .or_else(|| message.header_as_dictionary_batch().and_then(|d| d.data()));
        if let Some(batch) = batch {
            for buffer in batch.buffers().iter().flatten() {
                let start = usize::try_from(buffer.offset()).ok();
                let len = usize::try_from(buffer.length()).ok();
                let inside = start
                    .zip(len)
                    .and_then(|(s, l)| s.checked_add(l))
                    .is_some_and(|buffer_end| buffer_end <= body);
                if !inside {
                    return Err(fail(end, "a buffer lies outside its message body"));
                }
            }
        }
        let next = end
            .checked_add(body)
            .filter(|next| *next <= bytes.len())
            .ok_or_else(|| fail(end, "body length exceeds the bytes given"))?;
        frames.push(Frame {
            header: pos..end,
            body: end..next,
        });
        pos = next;
    }
    Ok((frames, pos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::Int32Type;
    use arrow_array::{Array, DictionaryArray, Int64Array, StringArray};
    use arrow_schema::{DataType, Field};

    fn sample() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None])),
                Arc::new(StringArray::from(vec![Some("a"), Some("b")])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn whole_and_sliced_batches_round_trip_in_a_stream_of_exact_size() {
        let ids: Vec<Option<i64>> = (0..100_000).map(|i| (i % 7 != 0).then_some(i)).collect();
        let names: Vec<Option<String>> = (0..100_000)
            .map(|i| (i % 5 != 0).then(|| format!("näme-{i}")))
            .collect();
        let batch = RecordBatch::try_new(
            sample().schema(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap();
        for batch in [sample(), batch.clone(), batch.slice(40_000, 1_000)] {
            let bytes = encode_batch(&batch).unwrap();
            assert_eq!(bytes.capacity(), bytes.len());
            assert_eq!(decode_batch(&bytes, None).unwrap(), batch);
            assert_eq!(decode_host_batch_owned(bytes).unwrap(), batch);
        }
    }

    #[test]
    fn batch_round_trips() {
        let batch = sample();
        let bytes = encode_batch(&batch).unwrap();
        let back = decode_batch(&bytes, Some(&batch.schema())).unwrap();
        assert_eq!(back, batch);
        let owned = decode_batch_owned(bytes.clone(), Some(&batch.schema())).unwrap();
        assert_eq!(owned, batch);
        assert_eq!(decode_host_batch_owned(bytes).unwrap(), batch);
    }

    #[test]
    fn host_batches_with_dictionaries_round_trip() {
        let keys: DictionaryArray<Int32Type> = vec![Some("x"), None, Some("y"), Some("x")]
            .into_iter()
            .collect();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "k",
            keys.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(keys)]).unwrap();
        let bytes = encode_batch(&batch).unwrap();
        assert_eq!(decode_host_batch_owned(bytes).unwrap(), batch);
    }

    #[test]
    fn owned_bytes_are_refused_as_borrowed_ones_are() {
        let batch = sample();
        let bytes = encode_batch(&batch).unwrap();
        let mut trailing = bytes.clone();
        trailing.extend_from_slice(&[0, 1, 2]);
        let mut truncated = bytes.clone();
        truncated.truncate(bytes.len() - 20);
        let other = Schema::new(vec![Field::new("id", DataType::Int32, true)]);
        let schema_only = encode_schema(&batch.schema()).unwrap();
        let mut writer = StreamWriter::try_new(Vec::new(), &batch.schema()).unwrap();
        writer.write(&batch).unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
        let two = writer.into_inner().unwrap();
        let cases: Vec<(Vec<u8>, Option<&Schema>)> = vec![
            (trailing, None),
            (truncated, None),
            (bytes.clone(), Some(&other)),
            (schema_only, None),
            (two, None),
            (b"definitely not arrow".to_vec(), None),
        ];
        for (bytes, expected) in cases {
            let borrowed = decode_batch(&bytes, expected).unwrap_err().to_string();
            let owned = decode_batch_owned(bytes.clone(), expected)
                .unwrap_err()
                .to_string();
            assert_eq!(owned, borrowed);
            // The host's batches skip only the values' checks, not these.
            if expected.is_none() {
                assert_eq!(
                    decode_host_batch_owned(bytes).unwrap_err().to_string(),
                    borrowed
                );
            }
        }
    }

    #[test]
    fn schema_round_trips_and_refuses_batches() {
        let batch = sample();
        let bytes = encode_schema(&batch.schema()).unwrap();
        assert_eq!(*decode_schema(&bytes).unwrap(), *batch.schema());
        let err = decode_schema(&encode_batch(&batch).unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected 0 record batch(es) in the IPC stream, found 1"
        );
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode_batch(&sample()).unwrap();
        bytes.extend_from_slice(&[0, 1, 2]);
        let err = decode_batch(&bytes, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "3 trailing byte(s) after the end of the IPC stream"
        );
    }

    #[test]
    fn wrong_schema_is_refused() {
        let bytes = encode_batch(&sample()).unwrap();
        let other = Schema::new(vec![Field::new("id", DataType::Int32, true)]);
        let err = decode_batch(&bytes, Some(&other)).unwrap_err();
        assert!(err.to_string().starts_with("batch schema differs"), "{err}");
    }

    #[test]
    fn forged_lengths_are_refused_before_allocation() {
        let err = decode_batch(b"definitely not arrow", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed IPC framing at byte 4: message length exceeds the bytes given"
        );
        let mut bytes = encode_batch(&sample()).unwrap();
        bytes.truncate(bytes.len() - 20);
        assert!(matches!(
            decode_batch(&bytes, None),
            Err(IpcError::Framing { .. })
        ));
    }

    #[test]
    fn buffers_outside_the_body_are_refused() {
        let mut bytes = encode_batch(&sample()).expect("encode");
        // Find the batch message's first buffer descriptor and point it far
        // past the body, keeping the framing intact.
        let schema_len = encode_schema(&sample().schema()).expect("schema").len() - 8; // without the end-of-stream marker
        let original = decode_batch(&bytes, None).expect("valid");
        assert_eq!(original.num_rows(), 2);
        let message_len = i32::from_le_bytes(
            bytes[schema_len + 4..schema_len + 8]
                .try_into()
                .expect("4 bytes"),
        );
        let header = schema_len + 8..schema_len + 8 + message_len as usize;
        let message = arrow_ipc::root_as_message(&bytes[header.clone()]).expect("message");
        let batch = message.header_as_record_batch().expect("a batch");
        let body = message.bodyLength();
        let first = batch.buffers().expect("buffers").get(1);
        let (offset, length) = (first.offset(), first.length());
        let needle: Vec<u8> = [offset.to_le_bytes(), length.to_le_bytes()].concat();
        let at = bytes[header.clone()]
            .windows(16)
            .position(|w| w == needle.as_slice())
            .expect("the descriptor's bytes")
            + header.start;
        bytes[at + 8..at + 16].copy_from_slice(&(body + (1 << 40)).to_le_bytes());
        let error = decode_batch(&bytes, None).expect_err("refused").to_string();
        assert!(error.contains("outside its message body"), "{error}");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(decode_batch(b"not arrow at all", None).is_err());
        assert!(decode_batch(&[], None).is_err());
    }
}
