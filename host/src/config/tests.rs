use std::path::Path;

use super::*;

const GOOD: &str = r#"
[pipeline]
name = "t"
lake = "${lake}"

[vars]
lake = "lake"
landing = "landing"

[plugins]
bronze = { path = "p.wasm" }

[tables.bronze_a]
plugin = "bronze"
source = { path = "${landing}/a", pattern = "*.csv" }
options = { format = "csv" }

[tables.silver_a]
plugin = "bronze"
inputs = ["bronze_a"]
"#;

fn parse(text: &str, overrides: &[(&str, &str)]) -> Result<Pipeline, ConfigError> {
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Pipeline::parse(
        SourceMap::new(Path::new("p.toml"), text.to_string()),
        Path::new("/dir"),
        Path::new("/cwd"),
        &overrides,
    )
}

fn only_problem(text: &str) -> String {
    let err = parse(text, &[]).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    err.problems[0].to_string()
}

#[test]
fn resolves_variables_relative_to_their_origin() {
    let pipeline = parse(GOOD, &[("landing", "mine")]).unwrap();
    assert_eq!(pipeline.lake.to_string(), "/dir/lake/");
    let source = pipeline.tables["bronze_a"].source.as_ref().unwrap();
    assert_eq!(source.location.to_string(), "/cwd/mine/a/");
    assert_eq!(
        pipeline.tables["bronze_a"].options_json,
        r#"{"format":"csv"}"#
    );
    assert_eq!(pipeline.plugins["bronze"].path, Path::new("/dir/p.wasm"));
}

#[test]
fn plugin_paths_take_variables() {
    let text = GOOD
        .replace("p.wasm", "${plugins}/p.wasm")
        .replace("[vars]\n", "[vars]\nplugins = \"built\"\n");
    let pipeline = parse(&text, &[]).unwrap();
    assert_eq!(
        pipeline.plugins["bronze"].path,
        Path::new("/dir/built/p.wasm")
    );
    let pipeline = parse(&text, &[("plugins", "/opt/lfhost")]).unwrap();
    assert_eq!(
        pipeline.plugins["bronze"].path,
        Path::new("/opt/lfhost/p.wasm")
    );
    let problem = only_problem(&GOOD.replace("p.wasm", "${nope}/p.wasm"));
    assert!(
        problem.contains("plugin `bronze`: undefined variable `nope`"),
        "{problem}"
    );
}

#[test]
fn unknown_key_points_at_it() {
    let text = GOOD.replace(
        "plugin = \"bronze\"\nsource",
        "plugn = \"x\"\nplugin = \"bronze\"\nsource",
    );
    let message = only_problem(&text);
    assert!(
        message.starts_with("p.toml:14:1: unknown field `plugn`"),
        "{message}"
    );
}

#[test]
fn syntax_error_points_at_it() {
    let message = only_problem("[pipeline\nname = 1");
    assert!(message.starts_with("p.toml:1:"), "{message}");
}

#[test]
fn unknown_plugin_and_input_are_reported_with_their_table() {
    let text = GOOD
        .replace("inputs = [\"bronze_a\"]", "inputs = [\"bronze_b\"]")
        .replace(
            "[tables.bronze_a]\nplugin = \"bronze\"",
            "[tables.bronze_a]\nplugin = \"silver\"",
        );
    let err = parse(&text, &[]).unwrap_err();
    let all = err.to_string();
    assert!(
        all.contains(
            "p.toml:14:10: table `bronze_a`: unknown plugin `silver` (declared plugins: bronze)"
        ),
        "{all}"
    );
    assert!(
        all.contains("p.toml:20:11: table `silver_a`: unknown input table `bronze_b`"),
        "{all}"
    );
}

#[test]
fn undefined_and_unknown_variables() {
    let text = GOOD.replace("${landing}/a", "${landng}/a");
    let message = only_problem(&text);
    assert!(
        message.starts_with("p.toml:15:19: table `bronze_a`: undefined variable `landng`"),
        "{message}"
    );
    let err = parse(GOOD, &[("lak", "x")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--var: unknown variable `lak` (declared in [vars]: lake, landing)"
    );
}

#[test]
fn cycles_are_reported() {
    let text = format!(
        "{GOOD}\n[tables.c1]\nplugin = \"bronze\"\ninputs = [\"c2\"]\n[tables.c2]\nplugin = \"bronze\"\ninputs = [\"c1\"]\n"
    );
    let message = only_problem(&text);
    assert!(
        message.contains("the tables form a cycle: c1 -> c2 -> c1"),
        "{message}"
    );
}

#[test]
fn bad_table_names_and_missing_sources() {
    let text = format!("{GOOD}\n[tables.Bad-Name]\nplugin = \"bronze\"\n");
    let err = parse(&text, &[]).unwrap_err().to_string();
    assert!(
        err.contains("table `Bad-Name`: a table name starts with a letter"),
        "{err}"
    );
    assert!(
        err.contains("table `Bad-Name`: a table needs a `source`"),
        "{err}"
    );
}
