//! Sorting a merge's changes by key: millions of keys, so the sort carries
//! each key's first bytes inline and follows a key's encoding only when
//! those cannot decide.

use arrow_row::{Row, Rows};

use crate::runner::FlowFailure;

/// Bytes of a key's encoding carried inline. An `int64` key encodes in 9
/// bytes, so single integer keys never need their encoding followed.
const INLINE: usize = 15;

/// A key's first [`INLINE`] bytes, zero-padded, then its length (capped at
/// 255), as two big-endian words.
pub fn inline_key(row: Row<'_>) -> [u64; 2] {
    let bytes: &[u8] = row.as_ref();
    let length = u64::from(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
    let high = big_endian_word(bytes);
    let low = big_endian_word(bytes.get(8..).unwrap_or_default());
    [high, (low & !0xff) | length]
}

/// The first 8 bytes of `bytes` as a big-endian word, zero-padded. Built
/// without a copy into a buffer: a variable-length copy is a `memcpy`
/// call, which was most of a key comparison's time in `perf`.
fn big_endian_word(bytes: &[u8]) -> u64 {
    if let Some(head) = bytes.first_chunk::<8>() {
        return u64::from_be_bytes(*head);
    }
    bytes
        .iter()
        .enumerate()
        .fold(0, |word, (i, &b)| word | u64::from(b) << (56 - 8 * i))
}

/// Orders two keys by their inline parts, `None` when only their full
/// encodings can tell. Row encodings compare as byte strings; two keys
/// whose padded first bytes differ compare as those do (a zero pad below
/// a real byte means the shorter key is a prefix of the longer, so it
/// sorts first, as it should), and when those are equal and either key is
/// no longer than [`INLINE`] it is a prefix of the other, so the lengths
/// decide.
fn inline_order(x: [u64; 2], y: [u64; 2]) -> Option<std::cmp::Ordering> {
    let head = |k: [u64; 2]| (k[0], k[1] >> 8);
    let order = head(x).cmp(&head(y));
    if order.is_ne() {
        return Some(order);
    }
    let (lx, ly) = (x[1] & 0xff, y[1] & 0xff);
    let inline = INLINE as u64;
    (lx <= inline || ly <= inline).then(|| lx.cmp(&ly))
}

/// Compares two keys as their encodings' bytes, short ones without a
/// `memcmp` call (which was 8% of a large merge in `perf`).
pub fn compare_keys(a: Row<'_>, b: Row<'_>) -> std::cmp::Ordering {
    compare_inlined((inline_key(a), || a), (inline_key(b), || b))
}

/// Compares two keys by their inline parts, fetching their encodings only
/// when those cannot decide.
pub fn compare_inlined<'a, 'b>(
    (x, x_row): ([u64; 2], impl FnOnce() -> Row<'a>),
    (y, y_row): ([u64; 2], impl FnOnce() -> Row<'b>),
) -> std::cmp::Ordering {
    inline_order(x, y).unwrap_or_else(|| x_row().as_ref().cmp(y_row().as_ref()))
}

/// A key's inline part and its (batch, row).
pub type Entry = ([u64; 2], u32, u32);

/// From this many keys on, a sort uses two threads.
const PARALLEL_SORT_ROWS: usize = 1 << 20;

/// (batch, row) of every row of `keys`, sorted by key; rows with equal
/// keys keep their order (batch, then row), as a stable sort would.
pub fn sorted_by_key(keys: &[Rows]) -> Result<Vec<(u32, u32)>, FlowFailure> {
    sort_entries(keys, |&(_, b, r)| (b, r))
}

/// Like [`sorted_by_key`], with each key's inline part kept, for walks
/// that compare the sorted keys with others.
pub fn sorted_entries(keys: &[Rows]) -> Result<Vec<Entry>, FlowFailure> {
    sort_entries(keys, |&entry| entry)
}

fn sort_entries<T>(keys: &[Rows], out: impl Fn(&Entry) -> T) -> Result<Vec<T>, FlowFailure> {
    match radix_sorted(keys, &out)? {
        Some(sorted) => Ok(sorted),
        None => compare_sorted(keys, out),
    }
}

fn narrow(n: usize) -> Result<u32, FlowFailure> {
    u32::try_from(n).map_err(|_| FlowFailure::new("a merge of more than 2^32 batches or rows"))
}

/// A key's inline part as one number. When every key fits inline, keys
/// order as these numbers do (see [`inline_order`]).
fn inline_value(k: [u64; 2]) -> u128 {
    (u128::from(k[0]) << 64) | u128::from(k[1])
}

/// A key reduced to the (at most 8) bytes in which the sorted keys differ,
/// and its (batch, row).
#[derive(Clone, Copy, Default)]
struct Packed {
    key: u64,
    batch: u32,
    row: u32,
}

/// Sorts by a radix sort when every key fits inline and the keys differ in
/// at most 8 of their 16 inline bytes (single integer keys: a comparison
/// sort of ten million took most of a second in `perf`; this takes a pass
/// per byte that differs). Each pass is stable and entries start in
/// (batch, row) order, so equal keys keep that order, as in
/// [`compare_sorted`]. `None` when the keys do not qualify.
fn radix_sorted<T>(
    keys: &[Rows],
    out: &impl Fn(&Entry) -> T,
) -> Result<Option<Vec<T>>, FlowFailure> {
    let mut first: Option<u128> = None;
    let mut varying = 0u128;
    for rows in keys {
        for row in rows.iter() {
            let k = inline_key(row);
            if k[1] & 0xff > INLINE as u64 {
                return Ok(None);
            }
            let v = inline_value(k);
            varying |= v ^ *first.get_or_insert(v);
        }
    }
    // Byte positions (0: least significant) in which some keys differ.
    let positions: Vec<u32> = (0..16u32)
        .filter(|i| (varying >> (8 * i)) & 0xff != 0)
        .collect();
    if positions.len() > 8 {
        return Ok(None);
    }
    let pack = |v: u128| {
        positions.iter().enumerate().fold(0u64, |p, (j, &i)| {
            p | (((v >> (8 * i)) & 0xff) as u64) << (8 * j)
        })
    };
    let constant = first.unwrap_or(0) & !positions.iter().fold(0u128, |m, &i| m | 0xff << (8 * i));
    let unpack = |p: u64| {
        positions.iter().enumerate().fold(constant, |v, (j, &i)| {
            v | u128::from((p >> (8 * j)) & 0xff) << (8 * i)
        })
    };
    let mut entries = Vec::with_capacity(keys.iter().map(Rows::num_rows).sum());
    for (b, rows) in keys.iter().enumerate() {
        let batch = narrow(b)?;
        for (r, row) in rows.iter().enumerate() {
            let key = pack(inline_value(inline_key(row)));
            entries.push(Packed {
                key,
                batch,
                row: narrow(r)?,
            });
        }
    }
    let mut scratch = vec![Packed::default(); entries.len()];
    for pass in 0..positions.len() {
        let digit = |p: &Packed| ((p.key >> (8 * pass)) & 0xff) as usize;
        let mut starts = [0usize; 256];
        for p in &entries {
            starts[digit(p)] += 1;
        }
        let mut next = 0;
        for start in starts.iter_mut() {
            (*start, next) = (next, next + *start);
        }
        for p in &entries {
            let slot = &mut starts[digit(p)];
            scratch[*slot] = *p;
            *slot += 1;
        }
        std::mem::swap(&mut entries, &mut scratch);
    }
    drop(scratch);
    Ok(Some(
        entries
            .iter()
            .map(|p| {
                let v = unpack(p.key);
                out(&([(v >> 64) as u64, v as u64], p.batch, p.row))
            })
            .collect(),
    ))
}

/// Sorts by comparing keys, on two threads when there are many.
fn compare_sorted<T>(keys: &[Rows], out: impl Fn(&Entry) -> T) -> Result<Vec<T>, FlowFailure> {
    let mut order: Vec<Entry> = Vec::with_capacity(keys.iter().map(Rows::num_rows).sum());
    for (b, rows) in keys.iter().enumerate() {
        let b = narrow(b)?;
        for (r, row) in rows.iter().enumerate() {
            order.push((inline_key(row), b, narrow(r)?));
        }
    }
    let compare = |x: &Entry, y: &Entry| {
        compare_inlined(
            (x.0, || keys[x.1 as usize].row(x.2 as usize)),
            (y.0, || keys[y.1 as usize].row(y.2 as usize)),
        )
        .then_with(|| (x.1, x.2).cmp(&(y.1, y.2)))
    };
    // Large sorts use two cores: each half sorted on its own thread, then
    // merged. No two entries compare equal (positions break ties), so the
    // result is the one a single sort gives.
    if order.len() < PARALLEL_SORT_ROWS {
        order.sort_unstable_by(compare);
        return Ok(order.iter().map(out).collect());
    }
    let middle = order.len() / 2;
    let (low, high) = order.split_at_mut(middle);
    std::thread::scope(|scope| {
        scope.spawn(|| low.sort_unstable_by(compare));
        high.sort_unstable_by(compare);
    });
    let (low, high) = order.split_at(middle);
    let mut merged = Vec::with_capacity(order.len());
    let (mut i, mut j) = (0, 0);
    while i < low.len() && j < high.len() {
        if compare(&low[i], &high[j]).is_le() {
            merged.push(out(&low[i]));
            i += 1;
        } else {
            merged.push(out(&high[j]));
            j += 1;
        }
    }
    merged.extend(low[i..].iter().chain(&high[j..]).map(out));
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use arrow_row::{RowConverter, Rows, SortField};
    use arrow_schema::DataType;

    use super::sorted_by_key;

    fn expected(keys: &[Rows]) -> Vec<(u32, u32)> {
        let mut all: Vec<(u32, u32)> = keys
            .iter()
            .enumerate()
            .flat_map(|(b, rows)| (0..rows.num_rows()).map(move |r| (b as u32, r as u32)))
            .collect();
        all.sort_by(|x, y| {
            keys[x.0 as usize]
                .row(x.1 as usize)
                .cmp(&keys[y.0 as usize].row(y.1 as usize))
        });
        all
    }

    #[test]
    fn long_keys_sharing_their_inline_bytes_match_a_stable_sort() {
        // Long shared prefixes (strings) and keys equal in their first 15
        // bytes, so that the inline part alone cannot decide.
        let converter = RowConverter::new(vec![
            SortField::new(DataType::Utf8),
            SortField::new(DataType::Int64),
        ])
        .unwrap();
        let batch = |texts: Vec<Option<&str>>, ids: Vec<i64>| {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(texts)),
                Arc::new(Int64Array::from(ids)),
            ];
            converter.convert_columns(&columns).unwrap()
        };
        let keys = vec![
            batch(
                vec![
                    Some("customer-0000000002"),
                    Some("customer-0000000001"),
                    None,
                    Some("customer-0000000001"),
                    Some(""),
                    Some("c"),
                ],
                vec![5, 9, 1, 9, 0, 3],
            ),
            batch(
                vec![
                    Some("customer-0000000001"),
                    Some("c"),
                    Some("customer-0000000002"),
                    None,
                    Some("customer-000000000"),
                    Some(""),
                ],
                vec![9, 3, -5, 1, 7, -1],
            ),
        ];
        assert_eq!(sorted_by_key(&keys).unwrap(), expected(&keys));
        for x in keys.iter().flat_map(|k| k.iter()) {
            for y in keys.iter().flat_map(|k| k.iter()) {
                assert_eq!(super::compare_keys(x, y), x.cmp(&y));
            }
        }
    }

    #[test]
    fn large_sorts_on_two_threads_match_a_stable_sort() {
        let converter = RowConverter::new(vec![SortField::new(DataType::Int64)]).unwrap();
        let mut seed = 11u64;
        let keys: Vec<Rows> = (0..3)
            .map(|_| {
                let values: Vec<i64> = (0..(super::PARALLEL_SORT_ROWS / 2 + 7))
                    .map(|_| {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        (seed >> 40) as i64 % 50_000
                    })
                    .collect();
                let column: ArrayRef = Arc::new(Int64Array::from(values));
                converter.convert_columns(&[column]).unwrap()
            })
            .collect();
        let want = expected(&keys);
        assert_eq!(sorted_by_key(&keys).unwrap(), want);
        // Integer keys take the radix sort; the comparison sort on two
        // threads must agree too.
        assert!(super::radix_sorted(&keys, &|e| e.1).unwrap().is_some());
        let compared = super::compare_sorted(&keys, |&(_, b, r)| (b, r)).unwrap();
        assert_eq!(compared, want);
    }

    /// Keys of `types` from pseudo-random values in `low..low + 3000` (so
    /// that few of their bytes differ), some NULL, in 4 batches.
    fn random_keys(types: &[DataType], low: i64, seed: u64, rows: usize) -> Vec<Rows> {
        let converter =
            RowConverter::new(types.iter().cloned().map(SortField::new).collect()).unwrap();
        let mut seed = seed;
        (0..4)
            .map(|_| {
                let columns: Vec<ArrayRef> = types
                    .iter()
                    .map(|t| {
                        let values: Vec<Option<i64>> = (0..rows)
                            .map(|_| {
                                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                                let v = (seed >> 33) as i64 % 3_000 + low;
                                (v % 97 != 0).then_some(v)
                            })
                            .collect();
                        arrow_cast::cast(&Int64Array::from(values), t).unwrap()
                    })
                    .collect();
                converter.convert_columns(&columns).unwrap()
            })
            .collect()
    }

    #[test]
    fn the_radix_sort_matches_a_stable_sort_of_inline_keys() {
        // One or two columns of 3 to 14 bytes, NULLs, and negatives where
        // they do not make every byte of an int64 differ (a sign flips all).
        let layouts = [
            (vec![DataType::Int16], -1_000),
            (vec![DataType::Int32], -1_000),
            (vec![DataType::Int64], 0),
            (vec![DataType::Int64, DataType::Int32], 0),
            (vec![DataType::Int16, DataType::Int32], 0),
        ];
        for (seed, (types, low)) in layouts.iter().enumerate() {
            let keys = random_keys(types, *low, seed as u64, 5_000);
            let radix = super::radix_sorted(&keys, &|&(_, b, r)| (b, r)).unwrap();
            assert!(radix.is_some(), "{types:?} qualifies for the radix sort");
            assert_eq!(radix.unwrap(), expected(&keys), "{types:?}");
            // The inline parts it hands on are the keys' own.
            let entries = super::sorted_entries(&keys).unwrap();
            for (k, b, r) in entries {
                assert_eq!(k, super::inline_key(keys[b as usize].row(r as usize)));
            }
        }
    }

    #[test]
    fn keys_differing_in_more_than_8_bytes_are_compared() {
        // Two int64 columns spanning their range differ in 16 bytes.
        let converter = RowConverter::new(vec![
            SortField::new(DataType::Int64),
            SortField::new(DataType::Int64),
        ])
        .unwrap();
        let wide: ArrayRef = Arc::new(Int64Array::from(vec![i64::MIN, 0, i64::MAX, -1]));
        let keys = vec![converter.convert_columns(&[wide.clone(), wide]).unwrap()];
        assert!(super::radix_sorted(&keys, &|e| e.1).unwrap().is_none());
        assert_eq!(sorted_by_key(&keys).unwrap(), expected(&keys));
    }

    #[test]
    fn inline_keys_hold_the_first_bytes_then_the_length() {
        // Encodings of 2, 3, 5, 9, 14, 18 and 34 bytes.
        let int = |t: DataType, v: i64| -> ArrayRef {
            arrow_cast::cast(&Int64Array::from(vec![v, -v, 0]), &t).unwrap()
        };
        let layouts = [
            vec![DataType::Int8],
            vec![DataType::Int16],
            vec![DataType::Int32],
            vec![DataType::Int64],
            vec![DataType::Int64, DataType::Int32],
            vec![DataType::Int64, DataType::Int64],
            vec![DataType::Utf8],
        ];
        for types in layouts {
            let converter =
                RowConverter::new(types.iter().cloned().map(SortField::new).collect()).unwrap();
            let columns: Vec<ArrayRef> = types.into_iter().map(|t| int(t, 97)).collect();
            for row in converter.convert_columns(&columns).unwrap().iter() {
                let bytes: &[u8] = row.as_ref();
                let mut expected = [0u8; 16];
                let n = bytes.len().min(super::INLINE);
                expected[..n].copy_from_slice(&bytes[..n]);
                expected[15] = u8::try_from(bytes.len()).unwrap_or(u8::MAX);
                let [high, low] = super::inline_key(row);
                assert_eq!([high.to_be_bytes(), low.to_be_bytes()].concat(), expected);
            }
        }
    }

    #[test]
    fn integer_keys_match_a_stable_sort() {
        let converter = RowConverter::new(vec![SortField::new(DataType::Int64)]).unwrap();
        // Keys that differ only in their lowest byte, negatives, NULL, and
        // repeats across batches.
        let ids: Vec<Vec<Option<i64>>> = vec![
            vec![Some(256), Some(257), Some(1), None, Some(-1), Some(256)],
            vec![
                Some(257),
                None,
                Some(i64::MIN),
                Some(i64::MAX),
                Some(1),
                Some(0),
            ],
        ];
        let keys: Vec<Rows> = ids
            .into_iter()
            .map(|v| {
                let column: ArrayRef = Arc::new(Int64Array::from(v));
                converter.convert_columns(&[column]).unwrap()
            })
            .collect();
        assert_eq!(sorted_by_key(&keys).unwrap(), expected(&keys));
    }
}
