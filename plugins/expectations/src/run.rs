//! A flow's run: the totals over its batches, the table rules, and what
//! `finish` reports (counters, warnings, the error that fails the flow).

use arrow_array::RecordBatch;
use lfhost_plugin_sdk::Error;

use crate::engine::{Counts, Expectations, Outcome, Verdict, internal};
use crate::options::Action;
use crate::table_rules::{self, Rule};

/// The totals of a run and what its table rules saw.
pub struct Run {
    expectations: Expectations,
    totals: Counts,
    trackers: Vec<Option<table_rules::UniqueTracker>>,
}

/// What `finish` reports: counters to add, warnings to log, and the error
/// that fails the flow, if any.
#[derive(Debug, Clone, Default)]
pub struct Finish {
    pub counters: Vec<(String, i64)>,
    pub warnings: Vec<String>,
    pub error: Option<Error>,
}

impl Run {
    pub fn new(expectations: Expectations) -> Result<Run, Error> {
        let trackers = expectations
            .table_expectations()
            .iter()
            .map(|t| match &t.rule {
                Rule::Unique(columns) => {
                    table_rules::UniqueTracker::new(columns.clone(), expectations.schema())
                        .map(Some)
                        .map_err(internal)
                }
                Rule::RowCount { .. } => Ok(None),
            })
            .collect::<Result<_, _>>()?;
        let n = expectations.expectations().len();
        Ok(Run {
            expectations,
            totals: Counts {
                passed: vec![0; n],
                failed: vec![0; n],
                ..Counts::default()
            },
            trackers,
        })
    }

    pub fn expectations(&self) -> &Expectations {
        &self.expectations
    }

    /// Evaluates one batch, adds it to the run's totals and builds its rows.
    pub fn push(&mut self, batch: &RecordBatch) -> Result<Outcome, Error> {
        let verdict = self.judge(batch)?;
        self.expectations.outcome(batch, verdict)
    }

    /// Evaluates one batch and adds it to the run's totals, building no rows.
    pub fn judge(&mut self, batch: &RecordBatch) -> Result<Verdict, Error> {
        let verdict = self.expectations.judge(batch)?;
        for tracker in self.trackers.iter_mut().flatten() {
            tracker.add(batch).map_err(internal)?;
        }
        self.totals.add(&verdict.counts);
        Ok(verdict)
    }

    pub fn totals(&self) -> &Counts {
        &self.totals
    }

    /// Checks `max_failed_fraction` and the table rules over the whole run.
    pub fn finish(&self) -> Finish {
        let mut finish = Finish::default();
        let mut failures = Vec::new();
        let totals = &self.totals;
        // A zero delta makes every counter appear even when nothing counted.
        for name in ["rows_in", "rows_out", "dropped"] {
            finish.counters.push((name.to_string(), 0));
        }
        for (i, e) in self.expectations.expectations().iter().enumerate() {
            finish.counters.push((format!("dq.passed.{}", e.name), 0));
            finish.counters.push((format!("dq.failed.{}", e.name), 0));
            let failed = totals.failed.get(i).copied().unwrap_or(0);
            let fraction = if totals.rows_in == 0 {
                0.0
            } else {
                failed as f64 / totals.rows_in as f64
            };
            if e.action == Action::Warn && failed > 0 {
                finish.warnings.push(format!(
                    "expectation `{}` ({}) failed on {failed} of {} rows",
                    e.name, e.expr, totals.rows_in
                ));
            }
            if let Some(max) = e.max_failed_fraction
                && fraction > max
            {
                failures.push(format!(
                    "expectation `{}` ({}) failed on {failed} of {} rows, a fraction of {} \
                     above its max_failed_fraction {max}",
                    e.name,
                    e.expr,
                    totals.rows_in,
                    round(fraction)
                ));
            }
        }
        for (t, tracker) in self
            .expectations
            .table_expectations()
            .iter()
            .zip(&self.trackers)
        {
            let (violation, failed_rows) = match (&t.rule, tracker) {
                (Rule::Unique(_), Some(tracker)) => {
                    let report = tracker.report();
                    let violation = (report.duplicate_keys > 0).then(|| {
                        format!(
                            "{} duplicate key(s) over {} rows, e.g. {}",
                            report.duplicate_keys,
                            report.duplicate_rows,
                            report.example.as_deref().unwrap_or("?")
                        )
                    });
                    (violation, report.duplicate_rows)
                }
                (Rule::RowCount { min, max }, _) => {
                    let n = totals.rows_in;
                    let holds = min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m);
                    let failed_rows = if holds { 0 } else { n };
                    ((!holds).then(|| format!("row_count is {n}")), failed_rows)
                }
                (Rule::Unique(_), None) => (None, 0),
            };
            // Table rules count rows too: the rows sharing a key, or all of
            // them when the count is out of bounds.
            let passed = totals.rows_in.saturating_sub(failed_rows);
            finish
                .counters
                .push((format!("dq.passed.{}", t.name), to_i64(passed)));
            finish
                .counters
                .push((format!("dq.failed.{}", t.name), to_i64(failed_rows)));
            if let Some(violation) = violation {
                let message = format!(
                    "table expectation `{}` ({}) failed: {violation}",
                    t.name, t.rule_text
                );
                if t.action == Action::Fail {
                    failures.push(message);
                } else {
                    finish.warnings.push(message);
                }
            }
        }
        if !failures.is_empty() {
            finish.error = Some(Error::data(failures.join("; ")));
        }
        finish
    }
}

fn round(fraction: f64) -> f64 {
    (fraction * 10_000.0).round() / 10_000.0
}

pub fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
