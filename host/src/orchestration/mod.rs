//! The pipeline as steps for an orchestrator (Argo Workflows, Kubernetes
//! Jobs, or any scheduler reading JSON): one step per table, a bronze table
//! split into shards when asked, and a final maintenance step. Each step is
//! an `lfhost` command line; Delta tables are the only state steps share.

pub mod argo;
pub mod k8s;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Pipeline;
use crate::dag::Dag;
use crate::storage::shard::Shard;

/// Version of the JSON plan's layout.
pub const PLAN_FORMAT: u32 = 1;

/// How to turn a pipeline into steps.
#[derive(Debug, Clone, Default)]
pub struct PlanSettings {
    /// The pipeline file as the workers see it (e.g. inside their image).
    pub pipeline_file: String,
    /// `--var` values every step passes on.
    pub vars: Vec<(String, String)>,
    /// Shards of each bronze table (1 when absent).
    pub shards: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepShard {
    pub index: u32,
    pub count: u32,
}

/// One unit of work: an lfhost command line and the steps it waits for.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// A name valid as an Argo task and a Kubernetes object name.
    pub id: String,
    /// `table` or `maintenance`.
    pub kind: &'static str,
    /// The tables the step writes (all selected tables for maintenance).
    pub tables: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<StepShard>,
    pub depends_on: Vec<String>,
    /// The arguments after the `lfhost` program name.
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrchestrationPlan {
    pub format: u32,
    pub pipeline: String,
    pub steps: Vec<Step>,
}

/// The pipeline's steps, in an order where each follows what it waits for.
pub fn steps(pipeline: &Pipeline, dag: &Dag, settings: &PlanSettings) -> OrchestrationPlan {
    let mut ids = Ids::default();
    let mut step_ids: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut steps = Vec::new();
    let var_args: Vec<String> = settings
        .vars
        .iter()
        .flat_map(|(k, v)| ["--var".to_string(), format!("{k}={v}")])
        .collect();
    for name in dag.order() {
        let Some(spec) = pipeline.tables.get(name) else {
            continue;
        };
        let depends_on: Vec<String> = dag
            .upstream(name)
            .iter()
            .flat_map(|u| step_ids.get(u.as_str()).cloned().unwrap_or_default())
            .collect();
        let count = match spec.source {
            Some(_) => settings.shards.get(name).copied().unwrap_or(1).max(1),
            None => 1,
        };
        let base = vec![
            "run".to_string(),
            settings.pipeline_file.clone(),
            "--select".to_string(),
            name.clone(),
            "--worker".to_string(),
        ];
        let mut mine = Vec::new();
        for shard in Shard::all(count) {
            let (id, shard, args) = if count == 1 {
                (ids.take(name), None, base.clone())
            } else {
                let mut args = base.clone();
                args.extend(["--shard".to_string(), shard.to_string()]);
                let id = ids.take(&format!("{name}-shard-{}-of-{count}", shard.index));
                let shard = StepShard {
                    index: shard.index,
                    count,
                };
                (id, Some(shard), args)
            };
            mine.push(id.clone());
            steps.push(Step {
                id,
                kind: "table",
                tables: vec![name.clone()],
                shard,
                depends_on: depends_on.clone(),
                args: args.into_iter().chain(var_args.iter().cloned()).collect(),
            });
        }
        step_ids.insert(name, mine);
    }
    let all: Vec<String> = steps.iter().map(|s| s.id.clone()).collect();
    steps.push(Step {
        id: ids.take("maintain"),
        kind: "maintenance",
        tables: dag.order().to_vec(),
        shard: None,
        depends_on: all,
        args: ["maintain".to_string(), settings.pipeline_file.clone()]
            .into_iter()
            .chain(var_args.iter().cloned())
            .collect(),
    });
    OrchestrationPlan {
        format: PLAN_FORMAT,
        pipeline: pipeline.name.clone(),
        steps,
    }
}

/// Hands out unique DNS-1123 labels (lower case letters, digits and `-`,
/// at most 63 characters), which both Argo task names and Kubernetes
/// object names accept.
#[derive(Default)]
struct Ids {
    taken: std::collections::BTreeSet<String>,
}

impl Ids {
    fn take(&mut self, wanted: &str) -> String {
        let base = dns_label(wanted, 56);
        let mut id = base.clone();
        let mut n = 2;
        while !self.taken.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }
}

/// `text` as a DNS-1123 label of at most `max` characters.
pub fn dns_label(text: &str, max: usize) -> String {
    let mut label = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && (label.is_empty() || label.ends_with('-')) {
            continue;
        }
        label.push(c);
    }
    label.truncate(max);
    while label.ends_with('-') {
        label.pop();
    }
    if label.is_empty() {
        label.push('x');
    }
    label
}

/// Where and how the steps run on Kubernetes (Argo or plain Jobs).
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The container image holding `lfhost`, the pipeline file and its plugins.
    pub image: String,
    pub namespace: Option<String>,
    /// The service account bound to the pipeline's IAM role (IRSA).
    pub service_account: Option<String>,
    /// Times a failed step is retried.
    pub retries: u32,
}

impl Deployment {
    fn labels(&self, plan: &OrchestrationPlan) -> serde_json::Value {
        serde_json::json!({
            "app.kubernetes.io/name": "lfhost",
            "lfhost.dev/pipeline": dns_label(&plan.pipeline, 63),
        })
    }

    fn container(&self, step: &Step, args: Vec<String>) -> serde_json::Value {
        serde_json::json!({
            "name": dns_label(step.kind, 63),
            "image": self.image,
            "command": ["lfhost"],
            "args": args,
        })
    }
}

/// Depth of each step: 0 for steps that wait for nothing, else one more
/// than the deepest step it waits for.
pub fn waves(plan: &OrchestrationPlan) -> BTreeMap<String, usize> {
    let mut wave: BTreeMap<String, usize> = BTreeMap::new();
    for step in &plan.steps {
        let depth = step
            .depends_on
            .iter()
            .filter_map(|d| wave.get(d))
            .map(|w| w + 1)
            .max()
            .unwrap_or(0);
        wave.insert(step.id.clone(), depth);
    }
    wave
}

#[cfg(test)]
mod tests;
