//! The plan as Kubernetes Jobs: one Job per table, an Indexed Job (one
//! completion per shard) for a sharded bronze table, and the maintenance
//! Job. Kubernetes does not order Jobs, so each carries its wave (apply
//! wave 0, wait for its Jobs to complete, then wave 1, ...) and the Jobs
//! it waits for, in labels and annotations.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Deployment, OrchestrationPlan, Step, dns_label, waves};

/// The Jobs, in wave order.
pub fn jobs(plan: &OrchestrationPlan, deployment: &Deployment) -> Vec<Value> {
    let wave = waves(plan);
    // A sharded table's steps become one Indexed Job, named after the table.
    let mut job_of: BTreeMap<&str, String> = BTreeMap::new();
    let mut groups: Vec<(String, Vec<&Step>)> = Vec::new();
    let prefix = dns_label(&plan.pipeline, 20);
    for step in &plan.steps {
        let job = match &step.shard {
            Some(_) => step.tables.join("-"),
            None => step.id.clone(),
        };
        let job = dns_label(&format!("{prefix}-{job}"), 63);
        job_of.insert(&step.id, job.clone());
        match groups.iter_mut().find(|(name, _)| *name == job) {
            Some((_, steps)) => steps.push(step),
            None => groups.push((job, vec![step])),
        }
    }
    let mut documents: Vec<(usize, Value)> = groups
        .iter()
        .filter_map(|(name, steps)| {
            let first = steps.first()?;
            let depth = steps
                .iter()
                .filter_map(|s| wave.get(&s.id))
                .max()
                .copied()?;
            let mut waits: Vec<&str> = steps
                .iter()
                .flat_map(|s| s.depends_on.iter())
                .filter_map(|d| job_of.get(d.as_str()).map(String::as_str))
                .collect();
            waits.sort_unstable();
            waits.dedup();
            Some((
                depth,
                job(name, first, steps.len(), depth, &waits, plan, deployment),
            ))
        })
        .collect();
    documents.sort_by_key(|(depth, _)| *depth);
    documents.into_iter().map(|(_, job)| job).collect()
}

fn job(
    name: &str,
    step: &Step,
    shards: usize,
    depth: usize,
    waits: &[&str],
    plan: &OrchestrationPlan,
    deployment: &Deployment,
) -> Value {
    let mut labels = deployment.labels(plan);
    labels["lfhost.dev/wave"] = json!(depth.to_string());
    let mut metadata = json!({
        "name": name,
        "labels": labels,
        "annotations": { "lfhost.dev/waits-for": waits.join(",") },
    });
    if let Some(namespace) = &deployment.namespace {
        metadata["namespace"] = json!(namespace);
    }
    let mut pod = json!({ "restartPolicy": "Never" });
    if let Some(account) = &deployment.service_account {
        pod["serviceAccountName"] = json!(account);
    }
    let mut spec = json!({
        // Each failed pod is retried after an exponential back-off
        // (10 s, 20 s, ... up to 6 min): every step is safe to run again.
        "backoffLimit": deployment.retries,
        "ttlSecondsAfterFinished": 86400,
    });
    let mut container = match &step.shard {
        Some(shard) => {
            let mut args = step.args.clone();
            if let Some(at) = args.iter().position(|a| a == "--shard")
                && let Some(value) = args.get_mut(at + 1)
            {
                *value = format!("$(JOB_COMPLETION_INDEX)/{}", shard.count);
            }
            spec["completionMode"] = json!("Indexed");
            spec["completions"] = json!(shards);
            spec["parallelism"] = json!(shards);
            spec["backoffLimit"] = json!(deployment.retries as usize * shards);
            deployment.container(step, args)
        }
        None => deployment.container(step, step.args.clone()),
    };
    if step.shard.is_some() {
        container["env"] = json!([{
            "name": "JOB_COMPLETION_INDEX",
            "valueFrom": { "fieldRef": {
                "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"
            } },
        }]);
    }
    pod["containers"] = json!([container]);
    spec["template"] = json!({ "metadata": { "labels": labels_of(&metadata) }, "spec": pod });
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": spec,
    })
}

fn labels_of(metadata: &Value) -> Value {
    metadata.get("labels").cloned().unwrap_or_else(|| json!({}))
}
