//! `cdc`: an lfhost merge stage that applies a change feed (CDC) to a keyed
//! table, stored as SCD type 1 (current values) or type 2 (history), like
//! Lakeflow's AUTO CDC flows.
//!
//! The host pushes the input's whole change history in ingestion order on
//! every run where it changed, and overwrites the table with what the stage
//! emits, so the table is a pure function of that history. Unless
//! `ignore_null_updates` makes a row's values come from several changes,
//! the stage asks to be sent only the columns it reads (`rows.project`) and
//! emits the table as positions of pushed rows (`rows.emit-taken`), which
//! the host keeps.
//!
//! # Order
//!
//! Changes are ordered by (sequence value, source file path, row position):
//! the `sequence_by` column first; among equal sequences the row whose
//! `source_file_column` value sorts later byte-wise (NULL first) wins, and
//! within a file the later row (its position in push order) wins. Per key,
//! of a run of changes with equal sequences only the last applies.
//!
//! # SCD type 1
//!
//! Per key, the values of its last applied change, unless that change is a
//! delete (then no row). INSERT and UPDATE both upsert; a delete is
//! remembered, so a change sequenced before it never brings the key back.
//! Columns: the selected input columns, in input order (the sequence
//! column among them unless left out).
//!
//! # SCD type 2
//!
//! Per key, the applied changes replayed in order: a change whose tracked
//! values (NULL equals NULL) equal those of the open version opens none
//! (the open version takes its untracked values); one that differs closes
//! the open version at its sequence and opens a new one; a delete closes
//! the open version and opens none. Columns: the selected input columns
//! except the sequence column, then `__START_AT` and `__END_AT` (the
//! sequence column's type, `__END_AT` NULL while current).
//!
//! With `ignore_null_updates`, a NULL in a change keeps the key's value
//! from the changes before it (since its last delete).
//!
//! A NULL key or sequence fails the flow, naming the row.
//!
//! # Counters
//!
//! `rows_in` (changes), `rows_out` (table rows), `keys` (distinct keys of
//! the changes, deleted ones included), `deletes` (changes that are
//! deletes) and, for type 2, `versions` (table rows: closed and current).

mod buffer;
mod merge;
mod options;
mod order;
mod picks;
mod plan;
mod replay;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use lfhost_plugin_sdk::{Descriptor, Error, MAIN_OUTPUT, RunContext, Stage, StageKind};

pub use merge::{Counters, MAX_BATCH_ROWS, Merge};
pub use options::{DEFAULT_SOURCE_FILE, Options};
pub use plan::{END_AT, Plan, START_AT, ScdType};

/// The stage the component exports.
pub struct CdcStage {
    input: String,
    merge: Option<Merge>,
    /// When the host keeps the changes: the input columns the table takes.
    taken: Option<Vec<String>>,
}

impl Stage for CdcStage {
    fn describe() -> Descriptor {
        Descriptor::new("cdc", env!("CARGO_PKG_VERSION"), StageKind::Merge)
            .with_description(
                "Applies a CDC feed (the input's whole change history, in ingestion order) as an \
                 SCD type 1 or type 2 table keyed by `keys`. Changes are ordered by (sequence_by, \
                 source file path, row position); of equal sequences for a key only the last \
                 applies. Type 1 keeps each key's last change unless it is a delete; type 2 keeps \
                 every version of the tracked columns with __START_AT and __END_AT (the sequence \
                 column moves there). Counters: rows_in, rows_out, keys, deletes, versions (type 2).",
            )
            .with_option("keys", "list<column>", true, None, "The columns that identify a row.")
            .with_option("sequence_by", "column", true, None, "The column that orders changes.")
            .with_option(
                "apply_as_deletes",
                "string",
                false,
                None,
                "A SQL condition (the expectations dialect): a change where it is TRUE deletes its \
                 key. Without it, every change upserts.",
            )
            .with_option(
                "column_list",
                "list<column>",
                false,
                None,
                "The input columns the table has (keys included); not with except_column_list.",
            )
            .with_option(
                "except_column_list",
                "list<column>",
                false,
                None,
                "Input columns the table leaves out (not keys).",
            )
            .with_option("stored_as_scd_type", "1 | 2", false, Some("1"), "1: current values; 2: history.")
            .with_option(
                "track_history_column_list",
                "list<column>",
                false,
                None,
                "Type 2: the columns whose changes open a new version. Default: every column \
                 but the keys.",
            )
            .with_option(
                "track_history_except_column_list",
                "list<column>",
                false,
                None,
                "Type 2: the columns whose changes update the current version in place.",
            )
            .with_option(
                "ignore_null_updates",
                "bool",
                false,
                Some("false"),
                "A NULL in a change keeps the value the key had.",
            )
            .with_option(
                "source_file_column",
                "column | null",
                false,
                Some("\"_source_file\""),
                "The column naming each change's file, whose byte-wise order breaks ties of equal \
                 sequences; null for none (then row position alone).",
            )
    }

    fn plan(
        options: &str,
        inputs: &[(String, SchemaRef)],
    ) -> Result<Vec<(String, SchemaRef)>, Error> {
        let (_, schema) = lfhost_plugin_sdk::one_input("cdc", inputs)?;
        Ok(Plan::new(options, schema.clone())?.outputs())
    }

    fn open(
        options: &str,
        inputs: &[(String, SchemaRef)],
        _context: RunContext,
    ) -> Result<Self, Error> {
        let (name, schema) = lfhost_plugin_sdk::one_input("cdc", inputs)?;
        let plan = Arc::new(Plan::new(options, schema.clone())?);
        // The host keeps the changes: the merge is sent only the columns it
        // reads and answers with the positions of the table's rows.
        let (merge, taken) = match plan.taken_columns() {
            Some(sent) => {
                let names: Vec<String> = sent
                    .iter()
                    .filter_map(|&i| schema.fields().get(i))
                    .map(|f| f.name().clone())
                    .collect();
                lfhost_plugin_sdk::project(name, &names)?;
                let columns = plan.output_input_columns();
                lfhost_plugin_sdk::retain(name, &columns)?;
                (Merge::sent_only(plan, &sent)?, Some(columns))
            }
            None => (Merge::new(plan), None),
        };
        Ok(CdcStage {
            input: name.clone(),
            merge: Some(merge),
            taken,
        })
    }

    fn push(&mut self, input: &str, batch: RecordBatch) -> Result<(), Error> {
        if input != self.input {
            return Err(Error::internal(format!(
                "cdc reads `{}`, got a batch for `{input}`",
                self.input
            )));
        }
        self.merge
            .as_mut()
            .ok_or_else(|| Error::internal("a batch after finish"))?
            .push(&batch)
    }

    fn finish(&mut self) -> Result<(), Error> {
        let merge = self
            .merge
            .take()
            .ok_or_else(|| Error::internal("finish called twice"))?;
        let counters = match &self.taken {
            Some(columns) => merge.finish_taken(&mut |rows, extra| {
                lfhost_plugin_sdk::emit_taken(
                    MAIN_OUTPUT,
                    &self.input,
                    columns,
                    rows,
                    extra.as_ref(),
                )
            })?,
            None => merge.finish(&mut |batch| lfhost_plugin_sdk::emit(MAIN_OUTPUT, &batch))?,
        };
        for (name, value) in counters.pairs() {
            lfhost_plugin_sdk::add_counter(name, value);
        }
        Ok(())
    }
}

// Only the component exports: native builds exist for the tests.
#[cfg(target_family = "wasm")]
lfhost_plugin_sdk::export_stage!(CdcStage);
