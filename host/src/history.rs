//! Run history read back from the `_event_log` table.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch};
use serde::Serialize;

use crate::config::Location;
use crate::event_log;
use crate::storage::StorageError;

/// One run as its events describe it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RunSummary {
    pub run_id: String,
    /// Microseconds since the epoch, UTC.
    pub started_at: i64,
    pub duration_ms: Option<u64>,
    /// `COMPLETED` or `FAILED`; `UNKNOWN` when the run left no final event.
    pub status: String,
    pub rows_written: u64,
    pub failed_tables: Vec<String>,
}

/// Every run in the lake's event log, oldest first.
pub async fn runs(lake: &Location) -> Result<Vec<RunSummary>, StorageError> {
    let location = lake.join(event_log::TABLE);
    let (batches, _) = crate::storage::reader::head(&location, usize::MAX).await?;
    let mut runs: BTreeMap<String, RunSummary> = BTreeMap::new();
    for batch in &batches {
        read_events(batch, &mut runs).map_err(|e| StorageError::at(&location, e))?;
    }
    let mut runs: Vec<RunSummary> = runs.into_values().collect();
    runs.sort_by(|a, b| (a.started_at, &a.run_id).cmp(&(b.started_at, &b.run_id)));
    Ok(runs)
}

fn read_events(batch: &RecordBatch, runs: &mut BTreeMap<String, RunSummary>) -> Result<(), String> {
    let text = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or(format!("no text column `{name}`"))
    };
    let (run_ids, types, tables, details) = (
        text("run_id")?,
        text("event_type")?,
        text("table_name")?,
        text("details")?,
    );
    let times = batch
        .column_by_name("timestamp")
        .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
        .ok_or("no timestamp column")?;
    for row in 0..batch.num_rows() {
        let run = runs
            .entry(run_ids.value(row).to_string())
            .or_insert_with(|| RunSummary {
                run_id: run_ids.value(row).to_string(),
                started_at: times.value(row),
                status: "UNKNOWN".to_string(),
                ..RunSummary::default()
            });
        run.started_at = run.started_at.min(times.value(row));
        let details: serde_json::Value =
            serde_json::from_str(details.value(row)).unwrap_or_default();
        match types.value(row) {
            "update_progress" => {
                run.status = details["state"].as_str().unwrap_or("UNKNOWN").to_string();
                run.duration_ms = details["duration_ms"].as_u64();
            }
            "flow_progress" => {
                run.rows_written += details["num_output_rows"].as_u64().unwrap_or(0);
                if details["status"] == "FAILED" && !tables.is_null(row) {
                    run.failed_tables.push(tables.value(row).to_string());
                }
            }
            _ => {}
        }
    }
    Ok(())
}
