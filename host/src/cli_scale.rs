//! `lfhost plan` and `lfhost maintain`: running the pipeline as steps of
//! an orchestrator (Argo Workflows, Kubernetes Jobs, Dagster, Airflow).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use lfhost::config::Pipeline;
use lfhost::orchestration::{self, Deployment, PlanSettings};

/// Exit status when maintaining a table failed.
const EXIT_MAINTENANCE_FAILED: u8 = 1;

#[derive(Clone, Copy, ValueEnum)]
pub enum Emit {
    /// An Argo Workflow (YAML).
    Argo,
    /// Kubernetes Jobs (YAML, one document per Job).
    K8s,
    /// The steps as JSON, for Dagster, Airflow or a script.
    Json,
}

#[derive(Args)]
pub struct PlanArgs {
    /// The pipeline file.
    file: PathBuf,
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::cli::parse_var)]
    vars: Vec<(String, String)>,
    #[arg(long, value_enum, default_value_t = Emit::Json)]
    emit: Emit,
    /// Splits bronze tables' ingestion into N shards: N for every bronze
    /// table, or TABLE=N for one (repeatable).
    #[arg(long, value_name = "N|TABLE=N")]
    shards: Vec<String>,
    /// The pipeline file's path as the workers see it (default: FILE as given).
    #[arg(long, value_name = "PATH")]
    pipeline_path: Option<String>,
    /// Container image with lfhost, the pipeline file and its plugins.
    #[arg(long, default_value = "lfhost:latest")]
    image: String,
    #[arg(long)]
    namespace: Option<String>,
    /// Service account bound to the pipeline's IAM role (IRSA; see terraform/).
    #[arg(long)]
    service_account: Option<String>,
    /// Times a failed step is retried (with exponential back-off).
    #[arg(long, default_value_t = 3)]
    retries: u32,
}

#[derive(Args)]
pub struct MaintainArgs {
    /// The pipeline file.
    file: PathBuf,
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::cli::parse_var)]
    vars: Vec<(String, String)>,
    /// Maintains only these tables (same syntax as `run --select`).
    #[arg(long, value_name = "SELECTION")]
    select: Option<String>,
    /// Unreferenced files younger than this are kept: a worker may still be
    /// about to commit them.
    #[arg(long, default_value_t = 168)]
    retention_hours: u32,
}

pub fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let pipeline = Pipeline::load(&args.file, &args.vars)?;
    let dag = crate::cli::dag_of(&pipeline)?;
    let shards = shard_counts(&pipeline, &args.shards)?;
    let settings = PlanSettings {
        pipeline_file: args
            .pipeline_path
            .unwrap_or_else(|| args.file.display().to_string()),
        vars: args.vars,
        shards,
    };
    let plan = orchestration::steps(&pipeline, &dag, &settings);
    let deployment = Deployment {
        image: args.image,
        namespace: args.namespace,
        service_account: args.service_account,
        retries: args.retries,
    };
    let text = match args.emit {
        Emit::Json => serde_json::to_string_pretty(&plan)? + "\n",
        Emit::Argo => serde_yaml_ng::to_string(&orchestration::argo::workflow(&plan, &deployment))?,
        Emit::K8s => {
            let mut text = String::new();
            for job in orchestration::k8s::jobs(&plan, &deployment) {
                text.push_str("---\n");
                text.push_str(&serde_yaml_ng::to_string(&job)?);
            }
            text
        }
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Reads `--shards N` (every bronze table) and `--shards TABLE=N`.
fn shard_counts(pipeline: &Pipeline, given: &[String]) -> anyhow::Result<BTreeMap<String, u32>> {
    let mut counts = BTreeMap::new();
    let bronze: Vec<&String> = pipeline
        .tables
        .iter()
        .filter(|(_, t)| t.source.is_some())
        .map(|(name, _)| name)
        .collect();
    let count = |text: &str| -> anyhow::Result<u32> {
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1024).contains(n))
            .ok_or_else(|| anyhow::anyhow!("--shards `{text}`: the count must be 1 to 1024"))
    };
    for item in given {
        match item.split_once('=') {
            None => {
                let n = count(item)?;
                for name in &bronze {
                    counts.insert((*name).clone(), n);
                }
            }
            Some((table, n)) => {
                let table = table.trim();
                if !bronze.iter().any(|b| *b == table) {
                    anyhow::bail!(
                        "--shards {item}: `{table}` is not a bronze table of {} (bronze tables: {})",
                        pipeline.name,
                        bronze
                            .iter()
                            .map(|b| b.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                counts.insert(table.to_string(), count(n)?);
            }
        }
    }
    Ok(counts)
}

pub async fn maintain(args: MaintainArgs) -> anyhow::Result<ExitCode> {
    let pipeline = Pipeline::load(&args.file, &args.vars)?;
    let dag = crate::cli::dag_of(&pipeline)?;
    let tables = match &args.select {
        Some(selection) => dag.select(selection).map_err(anyhow::Error::msg)?,
        None => dag.order().iter().cloned().collect(),
    };
    let retention = chrono::Duration::hours(i64::from(args.retention_hours));
    let mut failed = 0;
    let targets = lfhost::maintenance::targets(&pipeline, &tables).await?;
    let width = targets
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:<width$} {:>10} {:>12} {:>10} {:>10}",
        "table", "checkpoint", "data files", "log files", "manifests"
    );
    for (label, location) in targets {
        match lfhost::maintenance::maintain(&label, &location, retention).await {
            Ok(done) => match done.checkpoint {
                Some(version) => println!(
                    "{:<width$} {:>10} {:>12} {:>10} {:>10}",
                    done.label,
                    version,
                    done.data_files_deleted,
                    done.log_files_deleted,
                    done.manifests_deleted
                ),
                None => println!("{:<width$} {:>10}", done.label, "no table"),
            },
            Err(e) => {
                failed += 1;
                println!("{label:<width$} FAILED");
                eprintln!("error: {label}: {e}");
            }
        }
    }
    println!(
        "(deleted: files no version references, older than {} h)",
        args.retention_hours
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_MAINTENANCE_FAILED)
    })
}
