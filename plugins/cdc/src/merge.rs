//! One flow's merge, independent of the host: rows are pushed in ingestion
//! order, and `finish` gives the whole target table.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_select::take::take;
use lfhost_plugin_sdk::Error;

use crate::buffer::{Collector, History};
use crate::order::Ordered;
use crate::picks::{Picks, Values};
use crate::plan::{Plan, ScdType};
use crate::replay;

/// The most rows of one emitted batch.
pub const MAX_BATCH_ROWS: usize = 65536;

/// What a flow counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Rows pushed (changes).
    pub rows_in: u64,
    /// Rows of the target table.
    pub rows_out: u64,
    /// Distinct keys among the changes, deleted ones included.
    pub keys: u64,
    /// Changes that are deletes.
    pub deletes: u64,
    /// SCD2: versions in the table (closed and current), i.e. `rows_out`.
    pub versions: Option<u64>,
}

impl Counters {
    pub fn pairs(&self) -> Vec<(&'static str, i64)> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let mut pairs = vec![
            ("rows_in", n(self.rows_in)),
            ("rows_out", n(self.rows_out)),
            ("keys", n(self.keys)),
            ("deletes", n(self.deletes)),
        ];
        if let Some(versions) = self.versions {
            pairs.push(("versions", n(versions)));
        }
        pairs
    }
}

pub struct Merge {
    plan: Arc<Plan>,
    collector: Collector,
}

impl Merge {
    pub fn new(plan: Arc<Plan>) -> Merge {
        let collector = Collector::new(&plan);
        Merge { plan, collector }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The next rows of the input, in ingestion order.
    pub fn push(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        self.collector.push(&self.plan, batch)
    }

    /// Computes the table and hands it to `sink` in batches of at most
    /// [`MAX_BATCH_ROWS`] rows, in key order (SCD2: each key's versions by
    /// `__START_AT`).
    pub fn finish(
        self,
        sink: &mut dyn FnMut(RecordBatch) -> Result<(), Error>,
    ) -> Result<Counters, Error> {
        let plan = self.plan;
        let history = self.collector.finish(&plan)?;
        let ordered = Ordered::new(&plan, &history)?;
        let values = Values::new(&plan, &history)?;
        let picks = match plan.scd {
            ScdType::One => replay::scd1(&ordered, &history, &values),
            ScdType::Two => replay::scd2(&ordered, &history, &values),
        };
        let counters = Counters {
            rows_in: history.len as u64,
            rows_out: picks.len() as u64,
            keys: ordered.keys() as u64,
            deletes: history.delete_count,
            versions: (plan.scd == ScdType::Two).then_some(picks.len() as u64),
        };
        drop(ordered);
        emit(&plan, &history, &picks, sink)?;
        Ok(counters)
    }
}

fn emit(
    plan: &Plan,
    history: &History,
    picks: &Picks,
    sink: &mut dyn FnMut(RecordBatch) -> Result<(), Error>,
) -> Result<(), Error> {
    let pick = |source: usize, rows: &[u32]| -> Result<ArrayRef, Error> {
        let array = history
            .columns
            .get(source)
            .ok_or_else(|| Error::internal(format!("stored column {source} is missing")))?;
        take(array.as_ref(), &UInt32Array::from(rows.to_vec()), None).map_err(internal)
    };
    let mut lo = 0;
    while lo < picks.len() {
        let hi = (lo + MAX_BATCH_ROWS).min(picks.len());
        let mut columns = Vec::with_capacity(plan.output.fields().len());
        for (j, &source) in plan.outputs.iter().enumerate() {
            let rows = picks.column(j).get(lo..hi).unwrap_or_default();
            columns.push(pick(source, rows)?);
        }
        if plan.scd == ScdType::Two {
            let starts = picks.starts.get(lo..hi).unwrap_or_default();
            columns.push(pick(plan.sequence, starts)?);
            let ends = UInt32Array::from(picks.ends.get(lo..hi).unwrap_or_default().to_vec());
            let sequence = history
                .columns
                .get(plan.sequence)
                .ok_or_else(|| Error::internal("the sequence column is missing"))?;
            columns.push(take(sequence.as_ref(), &ends, None).map_err(internal)?);
        }
        sink(RecordBatch::try_new(plan.output.clone(), columns).map_err(internal)?)?;
        lo = hi;
    }
    Ok(())
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("building the table: {e}"))
}
