//! The run's events, appended to the Delta table `<lake>/_event_log`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde_json::json;

use crate::config::Location;
use crate::runner::{FlowResult, FlowStatus};
use crate::storage::StorageError;
use crate::storage::delta::{self, Commit, TableWriter};

pub const TABLE: &str = "_event_log";

/// One row of the event log.
#[derive(Debug, Clone)]
pub struct Event {
    pub timestamp_micros: i64,
    pub level: &'static str,
    pub event_type: &'static str,
    pub table_name: Option<String>,
    pub message: String,
    pub details: serde_json::Value,
}

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("run_id", DataType::Utf8, false),
        Field::new("sequence", DataType::Int64, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("level", DataType::Utf8, false),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, true),
        Field::new("message", DataType::Utf8, false),
        Field::new("details", DataType::Utf8, false),
    ]))
}

/// The `flow_progress` event of one flow.
pub fn flow_event(result: &FlowResult, now_micros: i64) -> Event {
    let duration_ms = u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX);
    let (level, message, details) = match &result.status {
        FlowStatus::Completed(outcome) => {
            let message = match outcome.committed_version {
                Some(v) => format!("completed: {} rows, version {v}", outcome.rows_out),
                None => "completed: nothing new".to_string(),
            };
            let mut details = json!({
                "status": "COMPLETED",
                "num_output_rows": outcome.rows_out,
                "num_input_files": outcome.files,
                "committed_version": outcome.committed_version,
                "counters": outcome.counters,
                "plugin": result.plugin,
                "duration_ms": duration_ms,
            });
            if let Some(quality) = data_quality(&result.table, &outcome.counters) {
                details["data_quality"] = quality;
            }
            ("INFO", message, details)
        }
        FlowStatus::Failed(failure) => (
            "ERROR",
            failure.message.clone(),
            json!({"status": "FAILED", "plugin": result.plugin, "duration_ms": duration_ms}),
        ),
        FlowStatus::Skipped { upstream } => (
            "WARN",
            format!("skipped: upstream table {upstream} failed"),
            json!({"status": "SKIPPED", "upstream": upstream}),
        ),
    };
    Event {
        timestamp_micros: now_micros,
        level,
        event_type: "flow_progress",
        table_name: Some(result.table.clone()),
        message,
        details,
    }
}

/// Counter names by which plugins report expectation results.
pub const DQ_PASSED: &str = "dq.passed.";
pub const DQ_FAILED: &str = "dq.failed.";

/// The contract's `data_quality` object, from a flow's counters; `None` for
/// tables without expectations. Expectations keep the order of their
/// counters' first report, which plugins make the declaration order.
fn data_quality(table: &str, counters: &crate::runner::Counters) -> Option<serde_json::Value> {
    let names: Vec<&str> = counters
        .names()
        .filter_map(|n| n.strip_prefix(DQ_PASSED))
        .collect();
    if names.is_empty() {
        return None;
    }
    let count = |key: String| counters.get(&key).unwrap_or(0);
    let expectations: Vec<serde_json::Value> = names
        .iter()
        .map(|name| {
            json!({
                "name": name,
                "dataset": table,
                "passed_records": count(format!("{DQ_PASSED}{name}")),
                "failed_records": count(format!("{DQ_FAILED}{name}")),
            })
        })
        .collect();
    Some(
        json!({"dropped_records": counters.get("dropped").unwrap_or(0), "expectations": expectations}),
    )
}

/// Appends the run's events in one commit.
pub async fn append(lake: &Location, run_id: &str, events: &[Event]) -> Result<(), StorageError> {
    let location = lake.join(TABLE);
    let schema = schema();
    let column = |values: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(values)) };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            column(
                events
                    .iter()
                    .map(|_| uuid::Uuid::new_v4().to_string())
                    .collect(),
            ),
            column(events.iter().map(|_| run_id.to_string()).collect()),
            Arc::new(Int64Array::from_iter_values(0..events.len() as i64)),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    events.iter().map(|e| e.timestamp_micros),
                )
                .with_timezone("UTC"),
            ),
            column(events.iter().map(|e| e.level.to_string()).collect()),
            column(events.iter().map(|e| e.event_type.to_string()).collect()),
            Arc::new(StringArray::from(
                events
                    .iter()
                    .map(|e| e.table_name.clone())
                    .collect::<Vec<_>>(),
            )),
            column(events.iter().map(|e| e.message.clone()).collect()),
            column(events.iter().map(|e| e.details.to_string()).collect()),
        ],
    )
    .map_err(|e| StorageError::at(&location, e))?;
    let existing = delta::open(&location).await?;
    let mut writer = TableWriter::new(&location, schema.clone())?;
    writer.write(batch).await?;
    let adds = writer.finish().await?;
    let commit = Commit {
        adds,
        removes: Vec::new(),
        overwrite: false,
        transactions: Vec::new(),
        info: HashMap::from([("lfhost.run_id".to_string(), json!(run_id))]),
        may_rebase: true,
    };
    delta::commit(&location, existing.as_ref(), &schema, commit)
        .await
        .map(|_| ())
}
