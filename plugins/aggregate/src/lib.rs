//! `aggregate`: an lfhost aggregate stage. One output row per row of a base
//! input, with base columns, then per join (in order) either columns looked
//! up in another input (at most one row per key) or aggregates (`count`,
//! `count_distinct`, `sum`, `min`, `max`, `avg`) of its rows grouped by key.
//!
//! The host pushes every row of every input, then calls `finish`; the stage
//! keeps only the columns it uses (and rows its filters pass) and emits the
//! whole table, sorted by the base key. Filters are SQL conditions planned
//! by the expectations plugin's SQL engine (`sql-engine`). [`Engine`] does the work without the host;
//! [`AggregateStage`] wires it to it.
//!
//! # Counters
//!
//! `rows_out`, and `rows_in.<input>` for the rows pushed of each input.

mod aggs;
mod engine;
mod joins;
mod keys;
mod lookup;
mod options;
mod plan;
mod sums;

#[cfg(test)]
mod tests;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use lfhost_plugin_sdk::{
    Descriptor, Error, MAIN_OUTPUT, RunContext, Stage, StageKind, add_counter, emit,
};

pub use engine::{Engine, MAX_BATCH_ROWS};
pub use options::{Aggregate, Base, Function, How, Join, Options, parse_type};

/// The stage the component exports.
pub struct AggregateStage {
    engine: Engine,
}

impl Stage for AggregateStage {
    fn describe() -> Descriptor {
        Descriptor::new("aggregate", env!("CARGO_PKG_VERSION"), StageKind::Aggregate)
            .with_description(
                "One row per base row: base columns, lookups and grouped aggregates of other inputs",
            )
            .with_option(
                "base",
                "{input, key: list<column>, columns: list<column>, filter?: sql}",
                true,
                None,
                "The input whose rows the output has; sorted by `key`, which must be unique",
            )
            .with_option(
                "joins",
                "list<{input, how?: \"left\" | \"inner\", on: {base_column = column}, filter?: sql, columns? | aggregates?}>",
                false,
                Some("[]"),
                "Each adds `columns` of the one matching row, or `aggregates` \
                 ({name, function: count | count_distinct | sum | min | max | avg, column?, \
                 type?: int64 | float64 | decimal(P,S), default?}) of the matching rows",
            )
    }

    fn plan(
        options: &str,
        inputs: &[(String, SchemaRef)],
    ) -> Result<Vec<(String, SchemaRef)>, Error> {
        let engine = Engine::new(options, inputs)?;
        Ok(vec![(MAIN_OUTPUT.to_string(), engine.schema().clone())])
    }

    fn open(
        options: &str,
        inputs: &[(String, SchemaRef)],
        _context: RunContext,
    ) -> Result<Self, Error> {
        let mut engine = Engine::new(options, inputs)?;
        // The host reads each input's columns that the output reads, no more.
        for (input, columns) in engine.read_columns() {
            let Some((_, schema)) = inputs.iter().find(|(name, _)| *name == input) else {
                continue;
            };
            if columns.is_empty() || columns.len() == schema.fields().len() {
                continue;
            }
            let names: Vec<String> = columns
                .iter()
                .filter_map(|&i| schema.fields().get(i))
                .map(|f| f.name().clone())
                .collect();
            lfhost_plugin_sdk::read_only(&input, &names)?;
            engine.sent_only(&input, columns);
        }
        Ok(AggregateStage { engine })
    }

    fn push(&mut self, input: &str, batch: RecordBatch) -> Result<(), Error> {
        add_counter(&format!("rows_in.{input}"), batch.num_rows() as i64);
        self.engine.push(input, &batch)
    }

    fn finish(&mut self) -> Result<(), Error> {
        let batches = self.engine.finish()?;
        let mut rows = 0;
        for batch in &batches {
            emit(MAIN_OUTPUT, batch)?;
            rows += batch.num_rows() as i64;
        }
        add_counter("rows_out", rows);
        Ok(())
    }
}

// Only the component exports: native builds exist for the tests.
#[cfg(target_family = "wasm")]
lfhost_plugin_sdk::export_stage!(AggregateStage);
