//! The plan as an Argo Workflow: a DAG template with one task per step,
//! each task its own container template with retries and back-off.

use serde_json::{Value, json};

use super::{Deployment, OrchestrationPlan, Step, dns_label};

/// The Workflow document.
pub fn workflow(plan: &OrchestrationPlan, deployment: &Deployment) -> Value {
    let tasks: Vec<Value> = plan
        .steps
        .iter()
        .map(|step| {
            let mut task = json!({ "name": step.id, "template": step.id });
            if !step.depends_on.is_empty() {
                task["dependencies"] = json!(step.depends_on);
            }
            task
        })
        .collect();
    let mut templates = vec![json!({ "name": "pipeline", "dag": { "tasks": tasks } })];
    templates.extend(
        plan.steps
            .iter()
            .map(|step| step_template(step, deployment)),
    );
    let mut metadata = json!({
        "generateName": format!("{}-", dns_label(&format!("lfhost-{}", plan.pipeline), 50)),
        "labels": deployment.labels(plan),
    });
    if let Some(namespace) = &deployment.namespace {
        metadata["namespace"] = json!(namespace);
    }
    let mut spec = json!({ "entrypoint": "pipeline", "templates": templates });
    if let Some(account) = &deployment.service_account {
        spec["serviceAccountName"] = json!(account);
    }
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": metadata,
        "spec": spec,
    })
}

fn step_template(step: &Step, deployment: &Deployment) -> Value {
    json!({
        "name": step.id,
        "retryStrategy": {
            "limit": deployment.retries.to_string(),
            // A killed pod (node lost, OOM, preemption) is retried too:
            // every step is safe to run again.
            "retryPolicy": "Always",
            "backoff": { "duration": "15s", "factor": "2", "maxDuration": "30m" },
        },
        "container": deployment.container(step, step.args.clone()),
    })
}
