//! The output as positions into the history: which row each output value
//! comes from, and (SCD2) which rows' sequences open and close each version.

use arrow_array::Array;
use arrow_ord::ord::{DynComparator, make_comparator};
use arrow_schema::SortOptions;
use lfhost_plugin_sdk::Error;

use crate::buffer::History;
use crate::plan::Plan;

#[derive(Debug, Default)]
pub struct Picks {
    /// Per output column, the row each output row takes its value from;
    /// one list for all columns unless NULLs keep earlier values.
    pub columns: Vec<Vec<u32>>,
    /// SCD2: per output row, the row whose sequence is `__START_AT`...
    pub starts: Vec<u32>,
    /// ...and whose sequence is `__END_AT` (none while current).
    pub ends: Vec<Option<u32>>,
}

impl Picks {
    pub fn new(values: &Values<'_>) -> Picks {
        Picks {
            columns: vec![Vec::new(); values.width()],
            ..Picks::default()
        }
    }

    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// The rows of output column `j`.
    pub fn column(&self, j: usize) -> &[u32] {
        let list = if self.columns.len() == 1 { 0 } else { j };
        self.columns.get(list).map_or(&[], Vec::as_slice)
    }

    pub fn push(&mut self, values: &[u32]) {
        for (list, &row) in self.columns.iter_mut().zip(values) {
            list.push(row);
        }
    }

    pub fn push_version(&mut self, values: &[u32], start: u32, end: Option<u32>) {
        self.push(values);
        self.starts.push(start);
        self.ends.push(end);
    }
}

/// A key's values as rows of the history, per output column (or one row
/// for all of them), and how changes combine with them.
pub struct Values<'a> {
    /// The output columns, for their NULLs; empty unless NULLs keep
    /// earlier values.
    nullable: Vec<&'a dyn Array>,
    /// SCD2: output column and comparator of each tracked column.
    tracked: Vec<(usize, DynComparator)>,
}

impl<'a> Values<'a> {
    pub fn new(plan: &Plan, history: &'a History) -> Result<Values<'a>, Error> {
        let output = |j: usize| -> Result<&'a dyn Array, Error> {
            plan.outputs
                .get(j)
                .and_then(|&s| history.columns.get(s))
                .map(|a| a.as_ref())
                .ok_or_else(|| Error::internal(format!("output column {j} is not stored")))
        };
        let nullable = if plan.ignore_null_updates {
            (0..plan.outputs.len())
                .map(output)
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        let mut tracked = Vec::new();
        for &j in &plan.tracked {
            let array = output(j)?;
            let cmp = make_comparator(array, array, SortOptions::default())
                .map_err(|e| Error::internal(format!("comparing values: {e}")))?;
            tracked.push((j, cmp));
        }
        Ok(Values { nullable, tracked })
    }

    /// How many rows one set of values holds.
    pub fn width(&self) -> usize {
        self.nullable.len().max(1)
    }

    /// The values after the change at `row`: its own, except (with
    /// `ignore_null_updates`) where it is NULL and the key has a value.
    pub fn apply(&self, previous: Option<&[u32]>, row: usize) -> Vec<u32> {
        let own = row as u32;
        match previous {
            Some(previous) if !self.nullable.is_empty() => self
                .nullable
                .iter()
                .zip(previous)
                .map(|(column, &before)| if column.is_null(row) { before } else { own })
                .collect(),
            _ => vec![own; self.width()],
        }
    }

    /// Whether `a` and `b` have the same tracked values (NULL equals NULL).
    pub fn same_tracked(&self, a: &[u32], b: &[u32]) -> bool {
        let at = |values: &[u32], j: usize| {
            let list = if values.len() == 1 { 0 } else { j };
            values.get(list).copied().unwrap_or_default() as usize
        };
        self.tracked
            .iter()
            .all(|(j, cmp)| cmp(at(a, *j), at(b, *j)).is_eq())
    }
}
