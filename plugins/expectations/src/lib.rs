//! `expectations`: an lfhost transform stage that checks every row of its
//! input against SQL boolean expressions, and the run as a whole against
//! table rules.
//!
//! A row whose expression is FALSE or NULL fails it. `warn` keeps the row
//! and counts it, `drop` keeps it out of `main` (it goes to `quarantine`
//! with `_failed_expectations`), `fail` fails the flow on the first batch
//! that has such a row. Every expectation is evaluated on every row.
//!
//! Expressions are parsed with sqlparser, type-checked against the input
//! schema at plan time ([`Expectations::plan`]), and evaluated with Arrow
//! kernels over whole batches ([`Expectations::evaluate`]). [`Run`] adds the
//! run's totals and table rules; [`ExpectationsStage`] wires it to the host.
//! Table rules (`unique`, `row_count`) see only the rows of the current run:
//! `unique` does not find a key that repeats one an earlier run committed.
//!
//! # SQL
//!
//! Comparisons (`= <> != < <= > >=`, `IS [NOT] DISTINCT FROM`), `AND OR NOT`
//! with SQL's three-valued logic, `IS [NOT] NULL|TRUE|FALSE|UNKNOWN`,
//! `[NOT] IN (...)`, `[NOT] BETWEEN` (inclusive), `[NOT] LIKE|ILIKE` (`%`,
//! `_`, backslash escapes), `RLIKE`, `+ - * / %` and unary `-`, `CASE`,
//! `CAST`/`TRY_CAST`/`::`, and the functions `length` (characters), `lower`,
//! `upper`, `trim`/`ltrim`/`rtrim`/`TRIM(... FROM ...)`, `substring`/`substr`
//! (1-based, also `FROM .. FOR ..`), `regexp_like(s, pattern[, flags])` and
//! `coalesce`. Types: INT, BIGINT, DOUBLE, DECIMAL(p,s), STRING, DATE,
//! TIMESTAMP (UTC), BOOLEAN. Integer arithmetic is BIGINT and `/` of integers
//! is DOUBLE; decimal arithmetic is exact with Arrow's precision and scale.
//! Division by zero, an overflow or a cast that does not fit give NULL. A
//! string literal compared with a DATE or TIMESTAMP is read as one at plan
//! time. Column names are case-sensitive.
//!
//! # Counters
//!
//! `rows_in`, `rows_out` (rows sent to `main`), `dropped`, and per
//! expectation `dq.passed.<name>` / `dq.failed.<name>` in rows. Table rules
//! count rows too: for `unique`, the rows whose key another row shares; for
//! `row_count`, every row when the count is out of bounds.

mod engine;
// The SQL engine lives in its own crate so other plugins can use it too.
use sql_engine::{coerce, eval, parse, planner, predicate, typed, types, value};
mod options;
mod render;
mod run;
mod table_rules;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use arrow_array::{BooleanArray, RecordBatch};
use arrow_buffer::BooleanBuffer;
use arrow_schema::SchemaRef;
use lfhost_plugin_sdk::{Descriptor, Error, MAIN_OUTPUT, RunContext, Stage, StageKind};

pub use engine::{
    Counts, Expectation, Expectations, FAILED_EXPECTATIONS, Outcome, QUARANTINE_OUTPUT,
    TableExpectation, Verdict,
};
pub use options::{Action, ExpectationOption, Options, TableExpectationOption};
pub use predicate::{Predicate, plan_predicate};
pub use run::{Finish, Run};
pub use table_rules::Rule;

/// The stage the component exports.
pub struct ExpectationsStage {
    input: String,
    run: Run,
}

impl Stage for ExpectationsStage {
    fn describe() -> Descriptor {
        Descriptor::new("expectations", env!("CARGO_PKG_VERSION"), StageKind::Transform)
            .with_description(
                "Checks every input row against SQL boolean expressions (a FALSE or NULL result fails \
                 the row): `warn` keeps and counts failing rows, `drop` sends them to the `quarantine` \
                 output with `_failed_expectations` (a JSON array of the drop expectations they \
                 failed), `fail` fails the flow with an example row. Table rules check the run's rows \
                 as a whole (uniqueness over this run's rows only). Counters: rows_in, rows_out, \
                 dropped, dq.passed.<name>, dq.failed.<name>.",
            )
            .with_option(
                "expectations",
                "list<{name: string, expr: string, action: \"warn\" | \"drop\" | \"fail\", max_failed_fraction: float}>",
                false,
                Some("[]"),
                "Row expectations, in order. `expr` is a SQL boolean expression over the input's \
                 columns: comparisons, AND/OR/NOT, IS [NOT] NULL, [NOT] IN, [NOT] LIKE/ILIKE, \
                 [NOT] BETWEEN, + - * / %, CASE, CAST, COALESCE, length, lower, upper, trim, \
                 substring, regexp_like. `action` defaults to warn. `max_failed_fraction` (0 to 1, \
                 warn and drop only) fails the flow at its end when a larger fraction of the run's \
                 rows failed.",
            )
            .with_option(
                "table_expectations",
                "list<{name: string, rule: string, action: \"warn\" | \"fail\"}>",
                false,
                Some("[]"),
                "Rules over the run's rows: `unique(col, ...)` (non-null keys), `row_count BETWEEN a \
                 AND b`, `row_count >= a`, `row_count <= b`. `action` defaults to warn.",
            )
    }

    fn plan(
        options: &str,
        inputs: &[(String, SchemaRef)],
    ) -> Result<Vec<(String, SchemaRef)>, Error> {
        let (_, schema) = lfhost_plugin_sdk::one_input("expectations", inputs)?;
        Ok(Expectations::plan(options, schema.clone())?.outputs())
    }

    fn open(
        options: &str,
        inputs: &[(String, SchemaRef)],
        _context: RunContext,
    ) -> Result<Self, Error> {
        let (name, schema) = lfhost_plugin_sdk::one_input("expectations", inputs)?;
        let expectations = Expectations::plan(options, schema.clone())?;
        let expectations = match reads_only(&expectations) {
            Some(columns) => {
                let names: Vec<String> = columns
                    .iter()
                    .map(|i| schema.field(*i).name().clone())
                    .collect();
                lfhost_plugin_sdk::project(name, &names)?;
                let projected = schema.project(&columns).map_err(|e| {
                    Error::internal(format!("cannot project the input's schema: {e}"))
                })?;
                Expectations::plan(options, Arc::new(projected))?
            }
            None => expectations,
        };
        Ok(ExpectationsStage {
            input: name.clone(),
            run: Run::new(expectations)?,
        })
    }

    fn push(&mut self, input: &str, batch: RecordBatch) -> Result<(), Error> {
        if input != self.input {
            return Err(Error::internal(format!(
                "expectations reads `{}`, got a batch for `{input}`",
                self.input
            )));
        }
        let verdict = self.run.judge(&batch)?;
        // The host holds the batch's rows: only which ones go where crosses back.
        match &verdict.keep {
            None if batch.num_rows() > 0 => {
                let all = BooleanArray::from(BooleanBuffer::new_set(batch.num_rows()));
                lfhost_plugin_sdk::emit_selected(MAIN_OUTPUT, &all, None)?;
            }
            None => {}
            Some(keep) => {
                if verdict.counts.rows_out > 0 {
                    lfhost_plugin_sdk::emit_selected(MAIN_OUTPUT, keep, None)?;
                }
                let (dropped, failed) = self.run.expectations().dropped(keep, &verdict.passes)?;
                lfhost_plugin_sdk::emit_selected(QUARANTINE_OUTPUT, &dropped, Some(&failed))?;
            }
        }
        for (name, delta) in counter_deltas(&self.run, &verdict.counts) {
            if delta != 0 {
                lfhost_plugin_sdk::add_counter(&name, delta);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        let finish = self.run.finish();
        for warning in &finish.warnings {
            lfhost_plugin_sdk::log::warn(warning);
        }
        for (name, delta) in &finish.counters {
            lfhost_plugin_sdk::add_counter(name, *delta);
        }
        match finish.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The input columns the flow needs pushed, when that is fewer than all:
/// the columns its expressions and table rules read. A `fail` expectation
/// quotes the whole offending row, so then it reads every column.
fn reads_only(expectations: &Expectations) -> Option<Vec<usize>> {
    if expectations
        .expectations()
        .iter()
        .any(|e| e.action == Action::Fail)
    {
        return None;
    }
    let columns = expectations.read_columns();
    let all = expectations.schema().fields().len();
    (!columns.is_empty() && columns.len() < all).then_some(columns)
}

/// The counters one batch adds.
pub fn counter_deltas(run: &Run, counts: &Counts) -> Vec<(String, i64)> {
    let mut deltas = vec![
        ("rows_in".to_string(), run::to_i64(counts.rows_in)),
        ("rows_out".to_string(), run::to_i64(counts.rows_out)),
        ("dropped".to_string(), run::to_i64(counts.dropped)),
    ];
    for (i, e) in run.expectations().expectations().iter().enumerate() {
        let passed = counts.passed.get(i).copied().unwrap_or(0);
        let failed = counts.failed.get(i).copied().unwrap_or(0);
        deltas.push((format!("dq.passed.{}", e.name), run::to_i64(passed)));
        deltas.push((format!("dq.failed.{}", e.name), run::to_i64(failed)));
    }
    deltas
}

// Only the component exports: native builds exist for the tests. Without
// the `component` feature the crate is the SQL engine as a library.
#[cfg(all(target_family = "wasm", feature = "component"))]
lfhost_plugin_sdk::export_stage!(ExpectationsStage);
