//! Every options error, with its path.

use arrow_schema::SchemaRef;
use lfhost_plugin_sdk::Error;

use super::functions::inputs;
use super::option_path;
use crate::Engine;

fn plan(options: &str) -> Result<Engine, Error> {
    let inputs: Vec<(String, SchemaRef)> = inputs()
        .into_iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect();
    Engine::new(options, &inputs)
}

fn path_of(options: &str) -> String {
    match plan(options) {
        Ok(_) => panic!("accepted: {options}"),
        Err(e) => option_path(e),
    }
}

const BASE: &str = r#""base": {"input": "b", "key": ["k"], "columns": ["k", "g"]}"#;

fn join(body: &str) -> String {
    format!(r#"{{{BASE}, "joins": [{{"input": "t", "on": {{"k": "k"}}, {body}}}]}}"#)
}

fn agg(body: &str) -> String {
    join(&format!(
        r#""aggregates": [{{"name": "n", "function": "count"}}, {{{body}}}]"#
    ))
}

#[test]
fn the_document() {
    assert_eq!(path_of(&format!(r#"{{{BASE}, "bse": 1}}"#)), "bse");
    assert_eq!(path_of("{}"), "");
    assert_eq!(path_of("[]"), "");
    assert!(plan(&format!("{{{BASE}}}")).is_ok());
}

#[test]
fn base() {
    let p = |b: &str| path_of(&format!(r#"{{"base": {b}}}"#));
    assert_eq!(
        p(r#"{"input": "nope", "key": ["k"], "columns": ["k"]}"#),
        "base.input"
    );
    assert_eq!(
        p(r#"{"input": "b", "key": [], "columns": ["k"]}"#),
        "base.key"
    );
    assert_eq!(
        p(r#"{"input": "b", "key": ["zz"], "columns": ["k"]}"#),
        "base.key.0"
    );
    assert_eq!(
        p(r#"{"input": "b", "key": ["k"], "columns": ["k", "zz"]}"#),
        "base.columns.1"
    );
    assert_eq!(
        p(r#"{"input": "b", "key": ["k"], "columns": ["k", "k"]}"#),
        "base.columns.1"
    );
    assert_eq!(
        p(r#"{"input": "b", "key": ["k"], "columns": []}"#),
        "base.columns"
    );
    assert_eq!(p(r#"{"input": "b", "key": ["k"]}"#), "base");
    assert_eq!(
        p(r#"{"input": "b", "key": ["k"], "columns": ["k"], "filter": "k ="}"#),
        "base.filter"
    );
    assert_eq!(
        p(r#"{"input": "b", "key": ["k"], "columns": ["k"], "filter": "k + 1"}"#),
        "base.filter"
    );
    assert_eq!(
        p(r#"{"input": "b", "key": ["k"], "columns": ["k"], "filter": "v = 1"}"#),
        "base.filter"
    );
    assert_eq!(
        p(r#"{"input": "b", "key": ["k"], "columns": ["k"], "fliter": "1 = 1"}"#),
        "base.fliter"
    );
}

#[test]
fn joins() {
    let cols = r#""columns": ["s"]"#;
    let p = |body: &str| path_of(&format!(r#"{{{BASE}, "joins": [{body}]}}"#));
    assert_eq!(
        p(r#"{"input": "nope", "on": {"k": "k"}, "columns": ["s"]}"#),
        "joins.0.input"
    );
    assert_eq!(
        p(r#"{"input": "t", "how": "outer", "on": {"k": "k"}, "columns": ["s"]}"#),
        "joins.0.how"
    );
    assert_eq!(
        p(r#"{"input": "t", "on": {}, "columns": ["s"]}"#),
        "joins.0.on"
    );
    assert_eq!(p(r#"{"input": "t", "columns": ["s"]}"#), "joins.0");
    assert_eq!(
        p(r#"{"input": "t", "on": {"zz": "k"}, "columns": ["s"]}"#),
        "joins.0.on.zz"
    );
    assert_eq!(
        p(r#"{"input": "t", "on": {"k": "zz"}, "columns": ["s"]}"#),
        "joins.0.on.k"
    );
    assert_eq!(
        p(r#"{"input": "t", "on": {"g": "k"}, "columns": ["s"]}"#),
        "joins.0.on.g"
    );
    assert_eq!(p(r#"{"input": "t", "on": {"k": "k"}}"#), "joins.0.columns");
    assert_eq!(
        path_of(&join(r#""filter": "nope IS NULL", "columns": ["s"]"#)),
        "joins.0.filter"
    );
    assert_eq!(
        path_of(&join(r#""filter": "s", "columns": ["s"]"#)),
        "joins.0.filter"
    );
    assert_eq!(
        path_of(&join(r#""columns": ["s", "zz"]"#)),
        "joins.0.columns.1"
    );
    assert_eq!(path_of(&join(r#""columns": ["g"]"#)), "joins.0.columns.0");
    assert_eq!(
        path_of(&join(&format!(r#"{cols}, "aggregates": []"#))),
        "joins.0.columns"
    );
    assert_eq!(
        path_of(&join(r#""columns": ["s"], "extra": 1"#)),
        "joins.0.extra"
    );
    // A second join's errors name it.
    let two = format!(
        r#"{{{BASE}, "joins": [{{"input": "t", "on": {{"k": "k"}}, "columns": ["s"]}},
                               {{"input": "t", "on": {{"k": "k"}}, "columns": ["s"]}}]}}"#
    );
    assert_eq!(path_of(&two), "joins.1.columns.0");
    assert!(plan(&join(cols)).is_ok());
}

#[test]
fn aggregates() {
    let p = |body: &str| path_of(&agg(body));
    let at = |f: &str| format!("joins.0.aggregates.1.{f}");
    assert_eq!(
        p(r#""name": "m", "function": "median", "column": "v""#),
        at("function")
    );
    assert_eq!(p(r#""name": "m", "column": "v""#), "joins.0.aggregates.1");
    assert_eq!(p(r#""name": "m", "function": "sum""#), at("column"));
    assert_eq!(
        p(r#""name": "m", "function": "count_distinct""#),
        at("column")
    );
    assert_eq!(
        p(r#""name": "m", "function": "sum", "column": "zz""#),
        at("column")
    );
    assert_eq!(
        p(r#""name": "m", "function": "sum", "column": "s""#),
        at("column")
    );
    assert_eq!(
        p(r#""name": "m", "function": "sum", "column": "flag""#),
        at("column")
    );
    assert_eq!(
        p(r#""name": "m", "function": "avg", "column": "day""#),
        at("column")
    );
    assert_eq!(
        p(r#""name": "m", "function": "sum", "column": "v", "type": "text""#),
        at("type")
    );
    assert_eq!(
        p(r#""name": "m", "function": "min", "column": "day", "type": "decimal(10,2)""#),
        at("type")
    );
    assert_eq!(
        p(r#""name": "m", "function": "sum", "column": "v", "default": "abc""#),
        at("default")
    );
    assert_eq!(
        p(r#""name": "m", "function": "sum", "column": "v", "default": [1]"#),
        at("default")
    );
    assert_eq!(
        p(
            r#""name": "m", "function": "sum", "column": "d", "type": "decimal(4,2)", "default": 1000"#
        ),
        at("default")
    );
    assert_eq!(
        p(r#""name": "m", "function": "sum", "column": "v", "colum": "v""#),
        at("colum")
    );
    assert_eq!(p(r#""name": "", "function": "count""#), at("name"));
    assert_eq!(p(r#""name": "n", "function": "count""#), at("name"));
    assert_eq!(p(r#""name": "g", "function": "count""#), at("name"));
    assert!(
        plan(&agg(
            r#""name": "m", "function": "min", "column": "s", "default": "x""#
        ))
        .is_ok()
    );
}
