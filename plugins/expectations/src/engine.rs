//! The expectations of one table, independent of the host: planned against
//! the input schema, evaluated batch by batch into the rows to keep, the
//! rows to quarantine and the counts.

use std::sync::Arc;

use arrow_arith::boolean::{and, not};
use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lfhost_plugin_sdk::Error;
use rustc_hash::FxHashMap;

use crate::coerce;
use crate::eval::{Batch, Memo, eval};
use crate::options::{Action, Options};
use crate::planner::Planner;
use crate::table_rules::{self, Rule};
use crate::typed::Typed;
use crate::types;
use crate::value::is_true;
use crate::{parse, render};

/// The output that gets the rows `drop` expectations remove.
pub const QUARANTINE_OUTPUT: &str = "quarantine";
/// The quarantine's extra column: a JSON array of the names of the `drop`
/// expectations the row failed, in declaration order.
pub const FAILED_EXPECTATIONS: &str = "_failed_expectations";

/// One row-level expectation, planned.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub name: String,
    /// The SQL as written in the options.
    pub expr: String,
    pub action: Action,
    pub max_failed_fraction: Option<f64>,
    pub(crate) typed: Typed,
}

/// One table-level rule, planned.
#[derive(Debug, Clone)]
pub struct TableExpectation {
    pub name: String,
    pub rule_text: String,
    pub rule: Rule,
    pub action: Action,
}

/// Counts of one batch (or, summed, of a run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub rows_in: u64,
    /// Rows sent to `main`.
    pub rows_out: u64,
    /// Rows kept out of `main` by `drop` expectations.
    pub dropped: u64,
    /// Per expectation, in declaration order.
    pub passed: Vec<u64>,
    pub failed: Vec<u64>,
}

impl Counts {
    pub(crate) fn add(&mut self, other: &Counts) {
        self.rows_in += other.rows_in;
        self.rows_out += other.rows_out;
        self.dropped += other.dropped;
        for (mine, theirs) in [
            (&mut self.passed, &other.passed),
            (&mut self.failed, &other.failed),
        ] {
            mine.resize(theirs.len().max(mine.len()), 0);
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m += t;
            }
        }
    }
}

/// What one batch gives.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The rows that pass every `drop` expectation (maybe none).
    pub main: RecordBatch,
    /// The other rows with `_failed_expectations`; `None` when there are none.
    pub quarantine: Option<RecordBatch>,
    pub counts: Counts,
}

/// What one batch's evaluation decides, before any row is copied.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The rows that pass every `drop` expectation; `None` when all do.
    pub keep: Option<BooleanArray>,
    /// Per expectation, in declaration order: the rows that pass it.
    pub passes: Vec<BooleanArray>,
    pub counts: Counts,
}

/// A table's expectations, checked against its input schema.
#[derive(Debug, Clone)]
pub struct Expectations {
    schema: SchemaRef,
    quarantine_schema: SchemaRef,
    expectations: Vec<Expectation>,
    table_expectations: Vec<TableExpectation>,
    /// Input columns the expressions read, with the type they read them as.
    used: Vec<(usize, DataType)>,
}

impl Expectations {
    /// Parses the options JSON and type-checks every expression and rule
    /// against `schema`; errors carry the option's path.
    pub fn plan(options: &str, schema: SchemaRef) -> Result<Expectations, Error> {
        let options = Options::parse(options)?;
        if schema.column_with_name(FAILED_EXPECTATIONS).is_some() {
            return Err(Error::data(format!(
                "the input already has a column `{FAILED_EXPECTATIONS}`, which the quarantine output adds"
            )));
        }
        let planner = Planner::new(&schema);
        let mut expectations = Vec::new();
        for (i, e) in options.expectations.into_iter().enumerate() {
            let at = |m: String| {
                Error::option(
                    format!("expectations.{i}.expr"),
                    format!("expectation `{}`: {m}", e.name),
                )
            };
            let ast = parse::parse_expr(&e.expr)
                .map_err(|m| at(format!("cannot parse `{}`: {m}", e.expr)))?;
            let typed = planner.plan(&ast).map_err(&at)?;
            let typed = match typed.ty {
                DataType::Boolean => typed,
                // A bare NULL is an unknown condition: it fails every row.
                DataType::Null => coerce::cast(typed, &DataType::Boolean).map_err(&at)?,
                _ => {
                    return Err(at(format!(
                        "`{}` is {}, not a condition (BOOLEAN)",
                        e.expr.trim(),
                        types::sql_name(&typed.ty)
                    )));
                }
            };
            expectations.push(Expectation {
                expr: e.expr.trim().to_string(),
                name: e.name,
                action: e.action,
                max_failed_fraction: e.max_failed_fraction,
                typed,
            });
        }
        let mut table_expectations = Vec::new();
        for (i, t) in options.table_expectations.into_iter().enumerate() {
            let rule = table_rules::parse_rule(&t.rule, &schema).map_err(|m| {
                Error::option(
                    format!("table_expectations.{i}.rule"),
                    format!("table expectation `{}`: {m}", t.name),
                )
            })?;
            if let Rule::Unique(columns) = &rule {
                // Checks now that the key types can be tracked.
                table_rules::UniqueTracker::new(columns.clone(), &schema).map_err(|e| {
                    Error::option(
                        format!("table_expectations.{i}.rule"),
                        format!("table expectation `{}`: {e}", t.name),
                    )
                })?;
            }
            table_expectations.push(TableExpectation {
                name: t.name,
                rule_text: t.rule.trim().to_string(),
                rule,
                action: t.action,
            });
        }
        let mut columns = Vec::new();
        for e in &expectations {
            e.typed.columns(&mut columns);
        }
        columns.sort_unstable();
        let used = columns
            .into_iter()
            .filter_map(|i| types::eval_type(schema.field(i).data_type()).map(|t| (i, t)))
            .collect();
        let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(
            FAILED_EXPECTATIONS,
            DataType::Utf8,
            true,
        )));
        let quarantine_schema =
            Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        Ok(Expectations {
            schema,
            quarantine_schema,
            expectations,
            table_expectations,
            used,
        })
    }

    /// `main` (the input's schema) then `quarantine`.
    pub fn outputs(&self) -> Vec<(String, SchemaRef)> {
        vec![
            (
                lfhost_plugin_sdk::MAIN_OUTPUT.to_string(),
                self.schema.clone(),
            ),
            (
                QUARANTINE_OUTPUT.to_string(),
                self.quarantine_schema.clone(),
            ),
        ]
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn expectations(&self) -> &[Expectation] {
        &self.expectations
    }

    pub fn table_expectations(&self) -> &[TableExpectation] {
        &self.table_expectations
    }

    /// Evaluates every expectation on every row of `batch` and returns the
    /// rows to keep, the rows to quarantine and the counts. A failing `fail`
    /// expectation is an [`Error::InvalidData`] naming it, its expression
    /// and the first offending row.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<Outcome, Error> {
        let verdict = self.judge(batch)?;
        self.outcome(batch, verdict)
    }

    /// What [`Expectations::evaluate`] decides, without building the rows:
    /// a stage whose host holds the batch sends only this back.
    pub fn judge(&self, batch: &RecordBatch) -> Result<Verdict, Error> {
        lfhost_plugin_sdk::check_batch_schema(&self.schema, batch)?;
        let len = batch.num_rows();
        let mut columns: Vec<Option<ArrayRef>> = vec![None; batch.num_columns()];
        for (i, ty) in &self.used {
            let column = types::normalise(batch.column(*i), ty).map_err(|e| {
                Error::internal(format!(
                    "cannot read column `{}`: {e}",
                    self.schema.field(*i).name()
                ))
            })?;
            columns[*i] = Some(column);
        }
        let memo = Memo::default();
        let input = Batch {
            columns: &columns,
            len,
            memo: Some(&memo),
        };
        let mut passes = Vec::with_capacity(self.expectations.len());
        for e in &self.expectations {
            let pass = eval(&e.typed, &input)
                .and_then(|v| is_true(v, len))
                .map_err(|err| {
                    Error::internal(format!("expectation `{}` ({}): {err}", e.name, e.expr))
                })?;
            passes.push(pass);
        }
        // Every expectation has seen every row; now the first `fail` one
        // that a row failed stops the flow.
        for (e, pass) in self.expectations.iter().zip(&passes) {
            if e.action != Action::Fail || pass.true_count() == len {
                continue;
            }
            let row = first_false(pass).unwrap_or(0);
            return Err(Error::data(format!(
                "expectation `{}` ({}) failed on row {}",
                e.name,
                e.expr,
                render::row_json(batch, row)
            )));
        }
        let mut keep: Option<BooleanArray> = None;
        for (e, pass) in self.expectations.iter().zip(&passes) {
            if e.action == Action::Drop && pass.true_count() < len {
                keep = Some(match keep {
                    None => pass.clone(),
                    Some(k) => and(&k, pass).map_err(internal)?,
                });
            }
        }
        let kept = keep.as_ref().map_or(len, BooleanArray::true_count);
        let passed: Vec<u64> = passes.iter().map(|p| p.true_count() as u64).collect();
        let counts = Counts {
            rows_in: len as u64,
            rows_out: kept as u64,
            dropped: (len - kept) as u64,
            failed: passed.iter().map(|p| len as u64 - p).collect(),
            passed,
        };
        Ok(Verdict {
            keep,
            passes,
            counts,
        })
    }

    /// The rows a verdict keeps and quarantines, built from `batch`.
    pub(crate) fn outcome(&self, batch: &RecordBatch, verdict: Verdict) -> Result<Outcome, Error> {
        let (main, quarantine) = match &verdict.keep {
            None => (self.with_schema(batch.columns().to_vec())?, None),
            Some(keep) => {
                let main =
                    arrow_select::filter::filter_record_batch(batch, keep).map_err(internal)?;
                let main = self.with_schema(main.columns().to_vec())?;
                let (dropped, failed) = self.dropped(keep, &verdict.passes)?;
                let rows =
                    arrow_select::filter::filter_record_batch(batch, &dropped).map_err(internal)?;
                let mut columns = rows.columns().to_vec();
                columns.extend(failed.columns().iter().cloned());
                let quarantine = RecordBatch::try_new(self.quarantine_schema.clone(), columns)
                    .map_err(internal)?;
                (main, Some(quarantine))
            }
        };
        Ok(Outcome {
            main,
            quarantine,
            counts: verdict.counts,
        })
    }

    fn with_schema(&self, columns: Vec<ArrayRef>) -> Result<RecordBatch, Error> {
        RecordBatch::try_new(self.schema.clone(), columns).map_err(internal)
    }

    /// The rows `keep` leaves out, and what the quarantine output adds to
    /// them: their `_failed_expectations` column, as a batch of its own.
    pub fn dropped(
        &self,
        keep: &BooleanArray,
        passes: &[BooleanArray],
    ) -> Result<(BooleanArray, RecordBatch), Error> {
        let dropped = not(keep).map_err(internal)?;
        let failed = self.failed_expectations(&dropped, passes)?;
        let field = self
            .quarantine_schema
            .field_with_name(FAILED_EXPECTATIONS)
            .map_err(internal)?
            .clone();
        let failed = RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![failed])
            .map_err(internal)?;
        Ok((dropped, failed))
    }

    /// The `_failed_expectations` column of the rows `dropped` selects: per
    /// row, the names of the `drop` expectations it failed.
    fn failed_expectations(
        &self,
        dropped: &BooleanArray,
        passes: &[BooleanArray],
    ) -> Result<ArrayRef, Error> {
        let drops: Vec<(String, &BooleanArray)> = self
            .expectations
            .iter()
            .zip(passes)
            .filter(|(e, _)| e.action == Action::Drop)
            .map(|(e, pass)| (render::json_string(&e.name), pass))
            .collect();
        // A NULL in `dropped` selects nothing, as in a filter.
        let selected = match dropped.nulls() {
            Some(valid) => dropped.values() & valid.inner(),
            None => dropped.values().clone(),
        };
        let rows = selected.count_set_bits();
        let mut names = StringBuilder::with_capacity(rows, rows * 24);
        // Dropped rows fail few distinct sets of rules: each set's list is
        // rendered once (when the rules fit a 64-bit set).
        let mut rendered: FxHashMap<u64, String> = FxHashMap::default();
        let render = |row: usize| {
            let failed = drops.iter().filter(|(_, pass)| !pass.value(row));
            let mut list = String::from("[");
            for (i, (name, _)) in failed.enumerate() {
                if i > 0 {
                    list.push(',');
                }
                list.push_str(name);
            }
            list.push(']');
            list
        };
        if drops.len() > 64 {
            for row in selected.set_indices() {
                names.append_value(render(row));
            }
            return Ok(Arc::new(names.finish()));
        }
        // Each rule's failures as words of 64 rows: a dropped row's set is
        // gathered from its word's failures, not by a bit read per rule and
        // row (most rows fail one rule or none).
        let failures: Vec<Vec<u64>> = drops
            .iter()
            .map(|(_, pass)| {
                pass.values()
                    .bit_chunks()
                    .iter_padded()
                    .map(|w| !w)
                    .collect()
            })
            .collect();
        let mut sets = [0u64; 64];
        for (chunk, word) in selected.bit_chunks().iter_padded().enumerate() {
            if word == 0 {
                continue;
            }
            for (i, words) in failures.iter().enumerate() {
                let mut failed = words.get(chunk).map_or(0, |w| w & word);
                while failed != 0 {
                    sets[failed.trailing_zeros() as usize] |= 1 << i;
                    failed &= failed - 1;
                }
            }
            let mut rows = word;
            while rows != 0 {
                let bit = rows.trailing_zeros() as usize;
                rows &= rows - 1;
                let set = std::mem::take(&mut sets[bit]);
                let row = chunk * 64 + bit;
                names.append_value(rendered.entry(set).or_insert_with(|| render(row)));
            }
        }
        Ok(Arc::new(names.finish()))
    }

    /// The input columns the expectations and table rules read, in schema
    /// order.
    pub fn read_columns(&self) -> Vec<usize> {
        let mut columns = Vec::new();
        for e in &self.expectations {
            e.typed.columns(&mut columns);
        }
        for t in &self.table_expectations {
            if let Rule::Unique(keys) = &t.rule {
                columns.extend(keys);
            }
        }
        columns.sort_unstable();
        columns.dedup();
        columns
    }
}

fn first_false(pass: &BooleanArray) -> Option<usize> {
    (0..pass.len()).find(|i| !pass.value(*i))
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(e.to_string())
}
