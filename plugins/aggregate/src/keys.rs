//! Multi-column keys as comparable, hashable rows (arrow-row).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::cast;
use arrow_row::{Row, RowConverter, Rows, SortField};
use arrow_schema::DataType;
use lfhost_plugin_sdk::Error;

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(e.to_string())
}

/// Encodes columns `indices` of `batch` (cast to `types`) with `converter`,
/// and tells which rows have no NULL in them; also returns the cast columns.
pub fn encode(
    converter: &RowConverter,
    batch: &RecordBatch,
    indices: &[usize],
    types: &[DataType],
) -> Result<(Rows, Vec<bool>, Vec<ArrayRef>), Error> {
    let columns = indices
        .iter()
        .zip(types)
        .map(|(&i, t)| {
            let c = batch.column(i);
            if c.data_type() == t {
                Ok(c.clone())
            } else {
                // A value that does not fit the common type (a huge UInt64)
                // becomes NULL: it cannot equal any value of the other side.
                cast(c, t).map_err(internal)
            }
        })
        .collect::<Result<Vec<ArrayRef>, Error>>()?;
    let rows = converter.convert_columns(&columns).map_err(internal)?;
    let complete = (0..batch.num_rows())
        .map(|r| columns.iter().all(|c| c.is_valid(r)))
        .collect();
    Ok((rows, complete, columns))
}

pub fn converter(types: &[DataType]) -> Result<RowConverter, Error> {
    RowConverter::new(types.iter().cloned().map(SortField::new).collect()).map_err(internal)
}

/// `name=value, ...` of one row, for error messages.
pub fn render(batch: &RecordBatch, indices: &[usize], row: usize) -> String {
    indices
        .iter()
        .map(|&i| {
            let value = arrow_cast::display::array_value_to_string(batch.column(i), row)
                .unwrap_or_else(|_| "?".to_string());
            format!("{}={value}", batch.schema().field(i).name())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Bytes of a key's encoding kept inline: every key of fixed-width columns
/// that is not too wide (an `int64` encodes in 9 bytes).
const INLINE: usize = 16;

/// A key's encoding for hashing and ordering. Short ones are two words and
/// a length, so that hashing and comparing them is a few integer
/// operations rather than a `memcmp` call each.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Key<'a> {
    Inline([u64; 2], u8),
    Long(&'a [u8]),
}

impl<'a> Key<'a> {
    pub fn of(row: Row<'a>) -> Key<'a> {
        let bytes: &'a [u8] = row.data();
        if bytes.len() > INLINE {
            return Key::Long(bytes);
        }
        let mut buf = [0u8; INLINE];
        buf[..bytes.len()].copy_from_slice(bytes);
        let (high, low) = buf.split_at(8);
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            u64::from_be_bytes(w)
        };
        // At most 16, so the length fits.
        Key::Inline([word(high), word(low)], bytes.len() as u8)
    }
}

impl Ord for Key<'_> {
    /// The order of the encodings' bytes. Two inline keys compare as their
    /// zero-padded words, then lengths: with equal padded bytes the shorter
    /// is a prefix of the longer, so it sorts first.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Inline(a, la), Key::Inline(b, lb)) => a.cmp(b).then(la.cmp(lb)),
            (Key::Long(a), Key::Long(b)) => a.cmp(b),
            (Key::Inline(a, la), Key::Long(b)) => inline_bytes(a, *la).as_slice().cmp(b),
            (Key::Long(a), Key::Inline(b, lb)) => a.cmp(&inline_bytes(b, *lb).as_slice()),
        }
    }
}

impl PartialOrd for Key<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn inline_bytes(words: &[u64; 2], len: u8) -> Vec<u8> {
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    bytes.truncate(usize::from(len));
    bytes
}

/// Keys to values, hashed with a fast fixed hasher (the plugin has no
/// randomness, and its input is its own tenant's data).
pub type KeyMap<'a, V> = HashMap<Key<'a>, V, BuildHasherDefault<rustc_hash::FxHasher>>;

/// Every row's key.
pub fn keys_of(rows: &Rows) -> Vec<Key<'_>> {
    rows.iter().map(Key::of).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use arrow_row::{RowConverter, SortField};
    use arrow_schema::DataType;

    use super::{Key, keys_of};

    #[test]
    fn keys_order_and_equal_as_their_encodings_do() {
        let converter = RowConverter::new(vec![
            SortField::new(DataType::Utf8),
            SortField::new(DataType::Int64),
        ])
        .unwrap();
        let texts = vec![
            Some("a"),
            Some(""),
            None,
            Some("a long text past sixteen bytes"),
            Some("a long text past sixteen bytes!"),
            Some("a"),
            Some("b"),
        ];
        let ids = vec![1, 1, 0, 5, 5, 2, -1];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(texts)),
            Arc::new(Int64Array::from(ids)),
        ];
        let rows = converter.convert_columns(&columns).unwrap();
        let keys = keys_of(&rows);
        assert!(keys.iter().any(|k| matches!(k, Key::Long(_))));
        assert!(keys.iter().any(|k| matches!(k, Key::Inline(..))));
        for i in 0..rows.num_rows() {
            for j in 0..rows.num_rows() {
                assert_eq!(
                    keys[i].cmp(&keys[j]),
                    rows.row(i).cmp(&rows.row(j)),
                    "{i} {j}"
                );
                assert_eq!(keys[i] == keys[j], rows.row(i) == rows.row(j));
            }
        }
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![256, 257, -1, 0, i64::MIN]));
        let int_converter = RowConverter::new(vec![SortField::new(DataType::Int64)]).unwrap();
        let rows = int_converter.convert_columns(&[ints]).unwrap();
        let keys = keys_of(&rows);
        for i in 0..rows.num_rows() {
            for j in 0..rows.num_rows() {
                assert_eq!(keys[i].cmp(&keys[j]), rows.row(i).cmp(&rows.row(j)));
            }
        }
    }
}
