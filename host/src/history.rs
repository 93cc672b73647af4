//! The event log read back: its events, and the runs they describe.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use serde::Serialize;

use crate::config::Location;
use crate::event_log;
use crate::storage::StorageError;

/// One event as the log holds it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventRow {
    pub run_id: String,
    pub sequence: i64,
    /// Microseconds since the epoch, UTC.
    pub timestamp: i64,
    pub level: String,
    pub event_type: String,
    pub table_name: Option<String>,
    pub message: String,
    pub details: serde_json::Value,
    /// Null in logs written before events had an origin.
    pub origin: serde_json::Value,
}

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
    /// `table: message` of each failed flow.
    pub errors: Vec<String>,
}

/// An event time (microseconds since the epoch) as UTC text in `format`.
pub fn utc_text(micros: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map_or_else(|| micros.to_string(), |t| t.format(format).to_string())
}

/// Every event of the lake's log, in (run start, run, sequence) order.
pub async fn events(lake: &Location) -> Result<Vec<EventRow>, StorageError> {
    let location = lake.join(event_log::TABLE);
    let (batches, _) = crate::storage::reader::head(&location, usize::MAX).await?;
    let mut events = Vec::new();
    for batch in &batches {
        read_batch(batch, &mut events).map_err(|e| StorageError::at(&location, e))?;
    }
    let mut run_starts: BTreeMap<String, i64> = BTreeMap::new();
    for e in &events {
        let start = run_starts.entry(e.run_id.clone()).or_insert(e.timestamp);
        *start = (*start).min(e.timestamp);
    }
    events.sort_by(|a, b| {
        let start = |e: &EventRow| run_starts.get(&e.run_id).copied();
        (start(a), &a.run_id, a.sequence).cmp(&(start(b), &b.run_id, b.sequence))
    });
    Ok(events)
}

/// The runs of `events`, oldest first.
pub fn runs(events: &[EventRow]) -> Vec<RunSummary> {
    let mut runs: Vec<RunSummary> = Vec::new();
    for event in events {
        if runs.last().is_none_or(|r| r.run_id != event.run_id) {
            runs.push(RunSummary {
                run_id: event.run_id.clone(),
                started_at: event.timestamp,
                status: "UNKNOWN".to_string(),
                ..RunSummary::default()
            });
        }
        let Some(run) = runs.last_mut() else { continue };
        run.started_at = run.started_at.min(event.timestamp);
        let details = &event.details;
        match event.event_type.as_str() {
            "update_progress" => {
                run.status = details["state"].as_str().unwrap_or("UNKNOWN").to_string();
                run.duration_ms = details["duration_ms"].as_u64();
            }
            "flow_progress" => {
                run.rows_written += details["num_output_rows"].as_u64().unwrap_or(0);
                if details["status"] == "FAILED"
                    && let Some(table) = &event.table_name
                {
                    run.failed_tables.push(table.clone());
                    run.errors.push(format!("{table}: {}", event.message));
                }
            }
            _ => {}
        }
    }
    runs
}

/// The events of one run (the last one when `run` is `None`; a unique
/// prefix of a run id is enough), optionally of one table.
pub fn select<'a>(
    events: &'a [EventRow],
    run: Option<&str>,
    table: Option<&str>,
) -> Result<Vec<&'a EventRow>, String> {
    let run_id = match run {
        None => match events.last() {
            Some(e) => e.run_id.clone(),
            None => return Ok(Vec::new()),
        },
        Some(prefix) => {
            let mut ids: Vec<&str> = events
                .iter()
                .map(|e| e.run_id.as_str())
                .filter(|id| id.starts_with(prefix))
                .collect();
            ids.dedup();
            match ids.as_slice() {
                [one] => one.to_string(),
                [] => return Err(format!("no run `{prefix}` in the event log")),
                _ => {
                    return Err(format!(
                        "`{prefix}` names several runs: give more of the id"
                    ));
                }
            }
        }
    };
    Ok(events
        .iter()
        .filter(|e| e.run_id == run_id)
        .filter(|e| table.is_none_or(|t| e.table_name.as_deref() == Some(t)))
        .collect())
}

fn read_batch(batch: &RecordBatch, events: &mut Vec<EventRow>) -> Result<(), String> {
    let text = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or(format!("no text column `{name}`"))
    };
    let (run_ids, levels, types, tables, messages, details) = (
        text("run_id")?,
        text("level")?,
        text("event_type")?,
        text("table_name")?,
        text("message")?,
        text("details")?,
    );
    let origins = text("origin").ok();
    let times = batch
        .column_by_name("timestamp")
        .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
        .ok_or("no timestamp column")?;
    let sequences = batch
        .column_by_name("sequence")
        .and_then(|c| c.as_primitive_opt::<Int64Type>())
        .ok_or("no sequence column")?;
    let json = |text: &str| serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
    for row in 0..batch.num_rows() {
        events.push(EventRow {
            run_id: run_ids.value(row).to_string(),
            sequence: sequences.value(row),
            timestamp: times.value(row),
            level: levels.value(row).to_string(),
            event_type: types.value(row).to_string(),
            table_name: (!tables.is_null(row)).then(|| tables.value(row).to_string()),
            message: messages.value(row).to_string(),
            details: json(details.value(row)),
            origin: origins
                .filter(|o| !o.is_null(row))
                .map_or(serde_json::Value::Null, |o| json(o.value(row))),
        });
    }
    Ok(())
}
