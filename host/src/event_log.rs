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
    /// Where it happened: pipeline, tenant, table, plugin (version, digest).
    pub origin: serde_json::Value,
    pub message: String,
    pub details: serde_json::Value,
}

/// What a run's events are made from.
pub struct RunRecord<'a> {
    pub pipeline: &'a str,
    pub tenant: Option<&'a str>,
    pub run_id: &'a str,
    pub started_at_micros: i64,
    pub finished_at_micros: i64,
    pub results: &'a [FlowResult],
}

/// A run's events in time order: the run's start, each flow's start and
/// end, the run's end.
pub fn run_events(record: &RunRecord<'_>) -> Vec<Event> {
    let failed = record
        .results
        .iter()
        .filter(|r| !matches!(r.status, FlowStatus::Completed(_)))
        .count();
    let run_origin = json!({"pipeline": record.pipeline, "tenant": record.tenant});
    let mut flows = Vec::new();
    for result in record.results {
        let origin = json!({
            "pipeline": record.pipeline,
            "tenant": record.tenant,
            "table": result.table,
            "plugin": result.plugin,
            "plugin_digest": result.plugin_digest,
        });
        if result.started_at_micros > 0 {
            flows.push(Event {
                timestamp_micros: result.started_at_micros,
                level: "INFO",
                event_type: "flow_started",
                table_name: Some(result.table.clone()),
                origin: origin.clone(),
                message: format!("flow {} started", result.table),
                details: json!({"plugin": result.plugin}),
            });
        }
        let ended = if result.started_at_micros > 0 {
            let micros = i64::try_from(result.duration.as_micros()).unwrap_or(i64::MAX);
            result.started_at_micros.saturating_add(micros)
        } else {
            record.finished_at_micros
        };
        let mut event = flow_event(result, ended);
        event.origin = origin;
        flows.push(event);
    }
    flows.sort_by_key(|e| e.timestamp_micros);
    let state = if failed == 0 { "COMPLETED" } else { "FAILED" };
    let duration_ms = (record.finished_at_micros - record.started_at_micros).max(0) / 1000;
    let mut events = vec![Event {
        timestamp_micros: record.started_at_micros,
        level: "INFO",
        event_type: "create_update",
        table_name: None,
        origin: run_origin.clone(),
        message: format!("run {} started", record.run_id),
        details: json!({
            "run_id": record.run_id,
            "tables": record.results.iter().map(|r| r.table.clone()).collect::<Vec<_>>(),
        }),
    }];
    events.extend(flows);
    events.push(Event {
        timestamp_micros: record.finished_at_micros,
        level: if failed == 0 { "INFO" } else { "ERROR" },
        event_type: "update_progress",
        table_name: None,
        origin: run_origin,
        message: format!("run {} {}", record.run_id, state.to_lowercase()),
        details: json!({"state": state, "failed_flows": failed, "duration_ms": duration_ms}),
    });
    events
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
        Field::new("origin", DataType::Utf8, true),
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
                "num_input_rows": outcome.counters.get("rows_in"),
                "num_input_files": outcome.files,
                "bytes_written": outcome.bytes_written,
                "committed_version": outcome.committed_version,
                "counters": outcome.counters,
                "plugin": result.plugin,
                "duration_ms": duration_ms,
            });
            // Merges count their changes by kind.
            if let Some(deletes) = outcome.counters.get("deletes") {
                let changes = outcome.counters.get("rows_in").unwrap_or(0);
                details["num_upserted_rows"] = json!(changes.saturating_sub(deletes));
                details["num_deleted_rows"] = json!(deletes);
            }
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
        origin: serde_json::Value::Null,
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
            column(events.iter().map(|e| e.origin.to_string()).collect()),
        ],
    )
    .map_err(|e| StorageError::at(&location, e))?;
    let existing = delta::open(&location).await?;
    // Logs written before a column was added keep their schema.
    let (batch, schema) = match &existing {
        Some(table) => {
            let schema = delta::arrow_schema(table)?;
            let columns = schema
                .fields()
                .iter()
                .map(|f| {
                    batch.column_by_name(f.name()).cloned().ok_or_else(|| {
                        StorageError::at(
                            &location,
                            format!("the event log has an unknown column `{}`", f.name()),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let batch = RecordBatch::try_new(schema.clone(), columns)
                .map_err(|e| StorageError::at(&location, e))?;
            (batch, schema)
        }
        None => (batch, schema),
    };
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
