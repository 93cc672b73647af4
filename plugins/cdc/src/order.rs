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
        let mut rows: Vec<u32> = (0..len).collect();
        rows.sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            same_key(a, b)
                .then_with(|| sequence(a, b))
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

fn comparator(history: &History, stored: usize) -> Result<DynComparator, Error> {
    let array = history
        .columns
        .get(stored)
        .ok_or_else(|| Error::internal(format!("stored column {stored} is missing")))?;
    make_comparator(array.as_ref(), array.as_ref(), SortOptions::default())
        .map_err(|e| Error::internal(format!("comparing values: {e}")))
}
