//! The contract's order of changes: by key, then (sequence, file path, row
//! position), and which of a key's changes apply.

use std::cmp::Ordering;

use arrow_ord::ord::{DynComparator, make_comparator};
use arrow_schema::SortOptions;
use lfhost_plugin_sdk::Error;

use crate::buffer::History;
use crate::plan::Plan;

/// Every row, grouped by key, each key's rows in the contract's order.
pub struct Ordered {
    pub rows: Vec<u32>,
    /// Where each key's rows start in `rows`, then `rows.len()`.
    bounds: Vec<usize>,
    /// Compares two rows' sequence values.
    pub sequence: DynComparator,
}

impl Ordered {
    pub fn new(plan: &Plan, history: &History) -> Result<Ordered, Error> {
        let keys = plan
            .keys
            .iter()
            .map(|&k| comparator(history, k))
            .collect::<Result<Vec<_>, _>>()?;
        let sequence = comparator(history, plan.sequence)?;
        let same_key = |a: usize, b: usize| {
            keys.iter()
                .map(|cmp| cmp(a, b))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        };
        let len = u32::try_from(history.len)
            .map_err(|_| Error::data("the input has more than 4294967295 rows"))?;
        let rows = order_rows(len, same_key, |a, b| {
            sequence(a, b)
                .then_with(|| history.file_rank(a).cmp(&history.file_rank(b)))
                .then(a.cmp(&b))
        });
        let mut bounds = vec![0];
        for i in 1..rows.len() {
            if same_key(rows[i - 1] as usize, rows[i] as usize).is_ne() {
                bounds.push(i);
            }
        }
        bounds.push(rows.len());
        if rows.is_empty() {
            bounds = vec![0];
        }
        Ok(Ordered {
            rows,
            bounds,
            sequence,
        })
    }

    /// How many distinct keys.
    pub fn keys(&self) -> usize {
        self.bounds.len() - 1
    }

    /// Each key's rows, in key order.
    pub fn groups(&self) -> impl Iterator<Item = &[u32]> {
        self.bounds.windows(2).map(|w| &self.rows[w[0]..w[1]])
    }

    /// The changes of one key's `group` that apply: of each run of equal
    /// sequences, only the last.
    pub fn applied<'a>(&'a self, group: &'a [u32]) -> impl Iterator<Item = usize> + 'a {
        group.iter().enumerate().filter_map(move |(i, &row)| {
            let row = row as usize;
            match group.get(i + 1) {
                Some(&next) if (self.sequence)(row, next as usize).is_eq() => None,
                _ => Some(row),
            }
        })
    }
}

/// Row positions `0..len` ordered by `by_key`, then by `within` (a total
/// order). Input already grouped by key, as lfhost's merges push it, is
/// only sorted within each key's run: the same order as the full sort,
/// found in one pass plus many small sorts instead of one large one.
fn order_rows(
    len: u32,
    by_key: impl Fn(usize, usize) -> Ordering,
    within: impl Fn(usize, usize) -> Ordering,
) -> Vec<u32> {
    let mut rows: Vec<u32> = (0..len).collect();
    let grouped = (1..rows.len()).all(|i| by_key(i - 1, i).is_le());
    if !grouped {
        rows.sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            by_key(a, b).then_with(|| within(a, b))
        });
        return rows;
    }
    let mut start = 0;
    for end in 1..=rows.len() {
        if end == rows.len() || by_key(end - 1, end).is_ne() {
            rows[start..end].sort_unstable_by(|&a, &b| within(a as usize, b as usize));
            start = end;
        }
    }
    rows
}

fn comparator(history: &History, stored: usize) -> Result<DynComparator, Error> {
    let array = history
        .columns
        .get(stored)
        .ok_or_else(|| Error::internal(format!("stored column {stored} is missing")))?;
    make_comparator(array.as_ref(), array.as_ref(), SortOptions::default())
        .map_err(|e| Error::internal(format!("comparing values: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (SplitMix64), to vary the cases.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn grouped_input_is_ordered_as_the_full_sort_orders_it() {
        let mut state = 7;
        for case in 0..200 {
            let n = (next(&mut state) % 60) as usize;
            let keys_count = 1 + next(&mut state) % 8;
            let mut keys: Vec<u64> = (0..n).map(|_| next(&mut state) % keys_count).collect();
            let sequences: Vec<u64> = (0..n).map(|_| next(&mut state) % 5).collect();
            if case % 2 == 0 {
                // As the host pushes it: grouped by key, rows of a key in any order.
                keys.sort_unstable();
            }
            let by_key = |a: usize, b: usize| keys[a].cmp(&keys[b]);
            let within = |a: usize, b: usize| sequences[a].cmp(&sequences[b]).then(a.cmp(&b));
            let mut expected: Vec<u32> = (0..n as u32).collect();
            expected.sort_by(|&a, &b| {
                let (a, b) = (a as usize, b as usize);
                by_key(a, b).then_with(|| within(a, b))
            });
            assert_eq!(
                order_rows(n as u32, by_key, within),
                expected,
                "case {case}"
            );
        }
    }
}
