//! `lfhost plugin test`: one plugin, run on files, without a pipeline.
//!
//! Ingest plugins get each input as a landing file; the others get each
//! input Parquet file pushed as the input named after it. Outputs are
//! collected in memory: this is for a plugin author's sample data.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::runner::writer::spawn_collector;
use crate::sandbox::{
    FlowContext, FlowReport, LandingGrant, Limits, OutputSink, Plugin, PluginError, StageKind,
};

/// One input: the name the plugin sees and the file.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub path: PathBuf,
}

/// What a plugin produced.
pub struct Outcome {
    /// Every planned output, in plan order, with its batches.
    pub outputs: Vec<(String, SchemaRef, Vec<RecordBatch>)>,
    pub report: FlowReport,
}

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// An input or output file is unusable.
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("{0}")]
    Internal(String),
}

fn file_error(path: &Path, reason: impl ToString) -> HarnessError {
    HarnessError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Runs `plugin` over `inputs` with `options_json` and `limits`.
pub async fn run(
    plugin: Arc<Plugin>,
    options_json: String,
    inputs: Vec<Input>,
    limits: Limits,
) -> Result<Outcome, HarnessError> {
    let ingest = plugin
        .descriptor()
        .is_some_and(|d| matches!(d.kind, StageKind::Ingest));
    let schemas = if ingest {
        Vec::new()
    } else {
        inputs
            .iter()
            .map(|input| Ok((input.name.clone(), parquet_schema(&input.path)?)))
            .collect::<Result<Vec<_>, HarnessError>>()?
    };
    let planner = plugin.clone();
    let (options, planned_inputs) = (options_json.clone(), schemas.clone());
    let outputs =
        tokio::task::spawn_blocking(move || planner.plan(&options, &planned_inputs, "plugin_test"))
            .await
            .map_err(|e| HarnessError::Internal(format!("planning crashed: {e}")))??;

    let mut sinks = HashMap::new();
    let mut collectors = Vec::new();
    for (name, schema) in &outputs {
        let (sender, collector) = spawn_collector();
        sinks.insert(
            name.clone(),
            OutputSink {
                schema: schema.clone(),
                sender,
            },
        );
        collectors.push(collector);
    }
    let context = FlowContext {
        run_id: "plugin-test".to_string(),
        table: "plugin_test".to_string(),
        run_started_at_micros: chrono::Utc::now().timestamp_micros(),
    };
    let report = tokio::task::spawn_blocking(move || {
        let mut flow = plugin.open_flow(&options_json, &schemas, &context, &limits, sinks)?;
        for input in &inputs {
            if ingest {
                flow.ingest(
                    landing_grant(&input.path)?,
                    &input.path.display().to_string(),
                )?;
            } else {
                for batch in read_parquet(&input.path)? {
                    flow.push(&input.name, &batch)?;
                }
            }
        }
        Ok::<_, HarnessError>(flow.finish()?)
    })
    .await
    .map_err(|e| HarnessError::Internal(format!("the flow crashed: {e}")))??;

    let mut collected = Vec::new();
    for ((name, schema), collector) in outputs.into_iter().zip(collectors) {
        let batches = collector
            .await
            .map_err(|e| HarnessError::Internal(format!("collecting output `{name}`: {e}")))?;
        collected.push((name, schema, batches));
    }
    Ok(Outcome {
        outputs: collected,
        report,
    })
}

fn landing_grant(path: &Path) -> Result<LandingGrant, HarnessError> {
    let absolute = std::fs::canonicalize(path).map_err(|e| file_error(path, e))?;
    let size = std::fs::metadata(&absolute)
        .map_err(|e| file_error(path, e))?
        .len();
    let location =
        object_store::path::Path::from_absolute_path(&absolute).map_err(|e| file_error(path, e))?;
    Ok(LandingGrant {
        store: Arc::new(object_store::local::LocalFileSystem::new()),
        path: location,
        size,
    })
}

fn parquet_builder(
    path: &Path,
) -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>, HarnessError> {
    let file = std::fs::File::open(path).map_err(|e| file_error(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| file_error(path, format!("not a readable Parquet file: {e}")))
}

fn parquet_schema(path: &Path) -> Result<SchemaRef, HarnessError> {
    Ok(parquet_builder(path)?.schema().clone())
}

fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>, HarnessError> {
    let reader = parquet_builder(path)?
        .with_batch_size(crate::storage::reader::BATCH_ROWS)
        .build()
        .map_err(|e| file_error(path, e))?;
    reader
        .map(|batch| batch.map_err(|e| file_error(path, e)))
        .collect()
}

/// Writes `batches` of `schema` to a Parquet file at `path`, all or nothing:
/// a temporary file beside it is renamed into place when complete.
pub fn write_parquet(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), HarnessError> {
    let partial = path.with_extension("parquet.partial");
    let write = || -> Result<(), Box<dyn std::error::Error>> {
        let file = std::fs::File::create(&partial)?;
        let mut writer = ArrowWriter::try_new(file, schema.clone(), None)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.close()?;
        std::fs::rename(&partial, path)?;
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        file_error(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema};

    #[test]
    fn parquet_round_trip_and_clear_errors() {
        let dir = std::env::temp_dir().join(format!("lfhost-harness-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2]))])
                .unwrap();
        let path = dir.join("out.parquet");
        write_parquet(&path, &schema, std::slice::from_ref(&batch)).unwrap();
        assert!(!dir.join("out.parquet.partial").exists());
        assert_eq!(read_parquet(&path).unwrap(), vec![batch]);

        let text = dir.join("not.parquet");
        std::fs::write(&text, "a,b\n").unwrap();
        let err = parquet_schema(&text).unwrap_err().to_string();
        assert!(
            err.contains("not.parquet: not a readable Parquet file"),
            "{err}"
        );
        let err = parquet_schema(&dir.join("missing.parquet"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.parquet: No such file"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
