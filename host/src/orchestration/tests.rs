use std::path::Path;

use super::*;
use crate::config::{Pipeline, SourceMap};

const PIPELINE: &str = r#"
[pipeline]
name = "shop_demo"
lake = "lake"

[plugins]
p = { path = "p.wasm" }

[tables.bronze_orders]
plugin = "p"
source = { path = "landing/orders", pattern = "*.csv" }

[tables.bronze_customers]
plugin = "p"
source = { path = "landing/customers", pattern = "*.csv" }

[tables.silver_orders]
plugin = "p"
inputs = ["bronze_orders"]

[tables.gold]
plugin = "p"
inputs = ["silver_orders", "bronze_customers"]
"#;

fn plan(shards: &[(&str, u32)]) -> OrchestrationPlan {
    let pipeline = Pipeline::parse(
        SourceMap::new(Path::new("p.toml"), PIPELINE.to_string()),
        Path::new("/dir"),
        Path::new("/cwd"),
        &[],
    )
    .unwrap();
    let dag = Dag::new(&pipeline.tables).unwrap();
    let settings = PlanSettings {
        pipeline_file: "/etc/lfhost/pipelines.toml".to_string(),
        vars: vec![("lake".to_string(), "s3://b/lake".to_string())],
        shards: shards.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
    };
    steps(&pipeline, &dag, &settings)
}

fn deployment() -> Deployment {
    Deployment {
        image: "registry.example/lfhost:1".to_string(),
        namespace: Some("lfhost".to_string()),
        service_account: Some("lfhost-shop".to_string()),
        retries: 3,
    }
}

#[test]
fn one_step_per_table_and_shard_then_maintenance() {
    let plan = plan(&[("bronze_orders", 3), ("silver_orders", 5)]);
    let ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "bronze-customers",
            "bronze-orders-shard-0-of-3",
            "bronze-orders-shard-1-of-3",
            "bronze-orders-shard-2-of-3",
            "silver-orders",
            "gold",
            "maintain"
        ]
    );
    let silver = &plan.steps[4];
    assert_eq!(silver.depends_on, &ids[1..4]);
    // Shards apply to bronze tables only.
    assert!(silver.shard.is_none());
    assert_eq!(
        silver.args,
        [
            "run",
            "/etc/lfhost/pipelines.toml",
            "--select",
            "silver_orders",
            "--worker",
            "--var",
            "lake=s3://b/lake"
        ]
    );
    let shard = &plan.steps[2];
    assert!(shard.args.windows(2).any(|w| w == ["--shard", "1/3"]));
    let gold = &plan.steps[5];
    assert_eq!(gold.depends_on, ["silver-orders", "bronze-customers"]);
    let maintain = plan.steps.last().unwrap();
    assert_eq!(maintain.depends_on.len(), 6);
    assert_eq!(maintain.args[0], "maintain");
    let wave = waves(&plan);
    assert_eq!(
        (wave["bronze-customers"], wave["gold"], wave["maintain"]),
        (0, 2, 3)
    );
}

#[test]
fn labels_are_dns_safe_and_unique() {
    assert_eq!(dns_label("Bronze__Orders.v2_", 63), "bronze-orders-v2");
    assert_eq!(dns_label("___", 63), "x");
    assert_eq!(dns_label(&"a".repeat(80), 63).len(), 63);
    let mut ids = Ids::default();
    assert_eq!(ids.take("a_b"), "a-b");
    assert_eq!(ids.take("a-b"), "a-b-2");
}

#[test]
fn argo_tasks_follow_the_steps() {
    let plan = plan(&[("bronze_orders", 2)]);
    let workflow = argo::workflow(&plan, &deployment());
    assert_eq!(workflow["kind"], "Workflow");
    assert_eq!(workflow["spec"]["serviceAccountName"], "lfhost-shop");
    let templates = workflow["spec"]["templates"].as_array().unwrap();
    let tasks = templates[0]["dag"]["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), plan.steps.len());
    assert_eq!(templates.len(), plan.steps.len() + 1);
    let silver = tasks.iter().find(|t| t["name"] == "silver-orders").unwrap();
    assert_eq!(
        silver["dependencies"],
        serde_json::json!(["bronze-orders-shard-0-of-2", "bronze-orders-shard-1-of-2"])
    );
    let template = templates
        .iter()
        .find(|t| t["name"] == "silver-orders")
        .unwrap();
    assert_eq!(template["retryStrategy"]["limit"], "3");
    assert_eq!(template["container"]["args"][3], "silver_orders");
}

#[test]
fn kubernetes_jobs_index_the_shards() {
    let plan = plan(&[("bronze_orders", 4)]);
    let jobs = k8s::jobs(&plan, &deployment());
    // bronze_customers, bronze_orders (indexed), silver, gold, maintain.
    assert_eq!(jobs.len(), 5);
    let orders = jobs
        .iter()
        .find(|j| j["spec"]["completionMode"] == "Indexed")
        .unwrap();
    assert_eq!(orders["metadata"]["name"], "shop-demo-bronze-orders");
    assert_eq!(orders["spec"]["completions"], 4);
    let args = orders["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap();
    assert!(args.iter().any(|a| a == "$(JOB_COMPLETION_INDEX)/4"));
    let waves: Vec<&str> = jobs
        .iter()
        .map(|j| j["metadata"]["labels"]["lfhost.dev/wave"].as_str().unwrap())
        .collect();
    let mut sorted = waves.clone();
    sorted.sort_unstable();
    assert_eq!(waves, sorted);
    let silver = jobs
        .iter()
        .find(|j| j["metadata"]["name"] == "shop-demo-silver-orders")
        .unwrap();
    assert_eq!(
        silver["metadata"]["annotations"]["lfhost.dev/waits-for"],
        "shop-demo-bronze-orders"
    );
}
