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

/// Takes the positions of some of the table's rows (in push order) and,
/// for type 2, their `__START_AT` and `__END_AT`.
pub type TakenSink<'a> = dyn FnMut(&[u32], Option<RecordBatch>) -> Result<(), Error> + 'a;

pub struct Merge {
    plan: Arc<Plan>,
    collector: Collector,
}

/// What `finish` decided: the table as positions into the history.
struct Decided {
    plan: Arc<Plan>,
    history: History,
    picks: Picks,
    counters: Counters,
}

impl Merge {
    pub fn new(plan: Arc<Plan>) -> Merge {
        let collector = Collector::new(&plan);
        Merge { plan, collector }
    }

    /// A merge pushed only the input columns `sent` (ascending, at least
    /// [`Plan::taken_columns`]), whose host keeps the rows: it can only
    /// [`Merge::finish_taken`].
    pub fn sent_only(plan: Arc<Plan>, sent: &[usize]) -> Result<Merge, Error> {
        let collector = Collector::sent_only(&plan, sent)?;
        Ok(Merge { plan, collector })
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
        let decided = self.decide()?;
        emit(&decided.plan, &decided.history, &decided.picks, sink)?;
        Ok(decided.counters)
    }

    /// As [`Merge::finish`], but the table's rows are handed to `sink` as
    /// positions of pushed rows (push order), with type 2's `__START_AT`
    /// and `__END_AT` as the extra columns: the host, which kept the
    /// pushed rows, builds them. Not with `ignore_null_updates`.
    pub fn finish_taken(self, sink: &mut TakenSink<'_>) -> Result<Counters, Error> {
        let Decided {
            plan,
            history,
            picks,
            counters,
        } = self.decide()?;
        if picks.columns.len() > 1 {
            return Err(Error::internal(
                "a table whose rows mix changes cannot be taken by position",
            ));
        }
        let rows = picks.column(0);
        let mut lo = 0;
        while lo < rows.len() {
            let hi = (lo + MAX_BATCH_ROWS).min(rows.len());
            let extra = match plan.scd {
                ScdType::One => None,
                ScdType::Two => Some(versions(&plan, &history, &picks, lo, hi)?),
            };
            sink(rows.get(lo..hi).unwrap_or_default(), extra)?;
            lo = hi;
        }
        Ok(counters)
    }

    fn decide(self) -> Result<Decided, Error> {
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
        drop(values);
        Ok(Decided {
            plan,
            history,
            picks,
            counters,
        })
    }
}

/// SCD2's `__START_AT` and `__END_AT` of output rows `lo..hi`.
fn versions(
    plan: &Plan,
    history: &History,
    picks: &Picks,
    lo: usize,
    hi: usize,
) -> Result<RecordBatch, Error> {
    let sequence = history
        .columns
        .get(plan.sequence)
        .ok_or_else(|| Error::internal("the sequence column is missing"))?;
    let starts = UInt32Array::from(picks.starts.get(lo..hi).unwrap_or_default().to_vec());
    let ends = UInt32Array::from(picks.ends.get(lo..hi).unwrap_or_default().to_vec());
    let columns = vec![
        take(sequence.as_ref(), &starts, None).map_err(internal)?,
        take(sequence.as_ref(), &ends, None).map_err(internal)?,
    ];
    let width = plan.output.fields().len();
    let schema = plan
        .output
        .project(&[width.saturating_sub(2), width.saturating_sub(1)])
        .map_err(internal)?;
    RecordBatch::try_new(Arc::new(schema), columns).map_err(internal)
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
            let versions = versions(plan, history, picks, lo, hi)?;
            columns.extend(versions.columns().iter().cloned());
        }
        sink(RecordBatch::try_new(plan.output.clone(), columns).map_err(internal)?)?;
        lo = hi;
    }
    Ok(())
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("building the table: {e}"))
}
