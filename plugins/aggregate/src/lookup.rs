//! Finding rows by key for a join.
//!
//! Keys of one integer column over a range not much wider than their count
//! (ids, mostly) are looked up in a table indexed by the key itself: one
//! memory access, where a hash map of a million keys misses the cache on
//! nearly every probe (40% of the gold table's time in `perf`). Other keys
//! go through a hash map of their row encodings.

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array};
use arrow_row::Rows;
use arrow_schema::DataType;

use crate::keys::{Key, KeyMap};

/// Slots per key a dense table may spend: beyond this the keys are too
/// sparse for a table indexed by value.
const SLOTS_PER_KEY: i128 = 4;

/// A dense table may always take this many slots, however few the keys.
const MIN_SLOTS: i128 = 1 << 16;

const EMPTY: u32 = u32::MAX;

/// One side's keys: encoded rows, whether each row's key has no NULL, and
/// its integer values when the key is one `Int64` column.
pub struct Side<'a> {
    pub rows: &'a Rows,
    pub complete: &'a [bool],
    ints: Option<&'a Int64Array>,
}

impl<'a> Side<'a> {
    /// `columns` are the key columns at their common types.
    pub fn new(rows: &'a Rows, complete: &'a [bool], columns: &'a [ArrayRef]) -> Side<'a> {
        let ints = match columns {
            [only] if only.data_type() == &DataType::Int64 => only.as_primitive_opt::<Int64Type>(),
            _ => None,
        };
        Side {
            rows,
            complete,
            ints,
        }
    }

    pub fn len(&self) -> usize {
        self.complete.len()
    }
}

/// Key to value (a row or group number).
pub enum Lookup<'a> {
    Dense {
        min: i64,
        slots: Vec<u32>,
        len: usize,
    },
    Hashed(KeyMap<'a, u32>),
}

impl<'a> Lookup<'a> {
    /// An empty lookup fit for the keys of `build`'s complete rows (probes
    /// must come from a side of the same key types).
    pub fn for_keys(build: &Side<'a>) -> Lookup<'a> {
        if let Some(ints) = build.ints {
            let values = (0..build.len())
                .filter(|&r| build.complete[r])
                .map(|r| ints.value(r));
            let (min, max) =
                values.fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
            let count = build.complete.iter().filter(|&&c| c).count() as i128;
            let width = i128::from(max) - i128::from(min) + 1;
            if count > 0 && width <= (count * SLOTS_PER_KEY).max(MIN_SLOTS) {
                return Lookup::Dense {
                    min,
                    slots: vec![EMPTY; width as usize],
                    len: 0,
                };
            }
        }
        let mut map = KeyMap::default();
        map.reserve(build.len());
        Lookup::Hashed(map)
    }

    /// Distinct keys inserted.
    pub fn len(&self) -> usize {
        match self {
            Lookup::Dense { len, .. } => *len,
            Lookup::Hashed(map) => map.len(),
        }
    }

    /// Gives row `r` of `side` (a complete row) `value` unless its key has
    /// one; returns the key's value either way.
    pub fn insert_if_absent(&mut self, side: &Side<'a>, r: usize, value: u32) -> u32 {
        match (self, side.ints) {
            (Lookup::Dense { min, slots, len }, Some(ints)) => {
                match slots.get_mut(dense_offset(*min, ints.value(r))) {
                    Some(held) if *held == EMPTY => {
                        *held = value;
                        *len += 1;
                        value
                    }
                    Some(held) => *held,
                    // The build side's own keys all fit its table.
                    None => value,
                }
            }
            (Lookup::Hashed(map), _) => *map.entry(Key::of(side.rows.row(r))).or_insert(value),
            (Lookup::Dense { .. }, None) => value,
        }
    }

    /// The value of row `r`'s key in `side`, if it is complete and present.
    pub fn get(&self, side: &Side<'_>, r: usize) -> Option<u32> {
        if !side.complete[r] {
            return None;
        }
        match (self, side.ints) {
            (Lookup::Dense { min, slots, .. }, Some(ints)) => {
                dense_value(*min, slots, ints.value(r))
            }
            (Lookup::Hashed(map), _) => map.get(&Key::of(side.rows.row(r))).copied(),
            (Lookup::Dense { .. }, None) => None,
        }
    }

    /// [`Lookup::get`] of every row of `side`.
    pub fn probe(&self, side: &Side<'_>) -> Vec<Option<u32>> {
        match (self, side.ints) {
            // The per-row dispatch of `get` cost more than the probe's
            // cache miss; this loop leaves only the miss.
            (Lookup::Dense { min, slots, .. }, Some(ints)) => ints
                .values()
                .iter()
                .zip(side.complete)
                .map(|(&key, &complete)| dense_value(*min, slots, key).filter(|_| complete))
                .collect(),
            _ => (0..side.len()).map(|r| self.get(side, r)).collect(),
        }
    }
}

/// The value a dense table holds for `key`, if any.
fn dense_value(min: i64, slots: &[u32], key: i64) -> Option<u32> {
    slots
        .get(dense_offset(min, key))
        .copied()
        .filter(|&v| v != EMPTY)
}

/// `key - min` as an index, out of any table's range when `key < min`.
/// The subtraction wraps, which is exact here: a table's keys run from `min`
/// to at most `i64::MAX`, so a `key` below `min` wraps past every slot.
fn dense_offset(min: i64, key: i64) -> usize {
    usize::try_from(key.wrapping_sub(min) as u64).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use arrow_row::{RowConverter, SortField};

    use super::{Lookup, Side};

    fn side_of(columns: &[ArrayRef]) -> (arrow_row::Rows, Vec<bool>) {
        let fields = columns
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect();
        let rows = RowConverter::new(fields)
            .unwrap()
            .convert_columns(columns)
            .unwrap();
        let complete = (0..columns[0].len())
            .map(|r| columns.iter().all(|c| c.is_valid(r)))
            .collect();
        (rows, complete)
    }

    /// The same answers dense and hashed, on dense and sparse keys.
    #[test]
    fn dense_and_hashed_lookups_agree() {
        for (keys, dense) in [
            (
                vec![Some(5), Some(7), None, Some(5), Some(6), Some(-2)],
                true,
            ),
            (
                vec![Some(1), Some(i64::MAX), Some(i64::MIN), None, Some(1)],
                false,
            ),
            // A dense table at the top of the range: probes below it wrap.
            (vec![Some(i64::MAX), Some(i64::MAX - 3)], true),
        ] {
            let build: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(keys.clone()))];
            let probe: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![
                Some(5),
                None,
                Some(8),
                Some(-2),
                Some(i64::MAX),
                Some(i64::MIN),
                Some(7),
                Some(i64::MAX - 3),
                Some(i64::MAX - 1),
            ]))];
            let (brows, bcomplete) = side_of(&build);
            let (prows, pcomplete) = side_of(&probe);
            let dense_build = Side::new(&brows, &bcomplete, &build);
            let dense_probe = Side::new(&prows, &pcomplete, &probe);
            // No integer values: the same keys hashed by their rows.
            let hashed_build = Side::new(&brows, &bcomplete, &[]);
            let hashed_probe = Side::new(&prows, &pcomplete, &[]);
            let mut answers = Vec::new();
            for (b, p) in [(&dense_build, &dense_probe), (&hashed_build, &hashed_probe)] {
                let mut lookup = Lookup::for_keys(b);
                let firsts: Vec<Option<u32>> = (0..b.len())
                    .map(|r| b.complete[r].then(|| lookup.insert_if_absent(b, r, r as u32)))
                    .collect();
                answers.push((firsts, lookup.len(), lookup.probe(p)));
            }
            assert_eq!(answers[0], answers[1]);
            let chosen = Lookup::for_keys(&dense_build);
            assert_eq!(matches!(chosen, Lookup::Dense { .. }), dense);
        }
        // Text keys are always hashed.
        let text: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec!["a", "b"]))];
        let (rows, complete) = side_of(&text);
        let side = Side::new(&rows, &complete, &text);
        assert!(matches!(Lookup::for_keys(&side), Lookup::Hashed(_)));
    }
}
