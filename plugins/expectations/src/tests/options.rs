//! Options errors, each with the path of the option at fault.

use std::sync::Arc;

use arrow_array::{Int32Array, Int64Array, StringArray};
use serde_json::json;

use super::*;
use crate::{Action, Options};

fn orders() -> SchemaRef {
    batch(vec![
        ("order_id", Arc::new(Int64Array::from(vec![1]))),
        ("items", Arc::new(Int32Array::from(vec![1]))),
        ("email", Arc::new(StringArray::from(vec!["a@b"]))),
    ])
    .schema()
}

fn error_for(expectations: serde_json::Value) -> (String, String) {
    option_error(plan(json!({ "expectations": expectations }), orders()))
}

#[test]
fn defaults_and_a_full_example() {
    let o = Options::parse(
        r#"{ "expectations": [ {"name": "valid_id", "expr": "customer_id IS NOT NULL", "action": "drop", "max_failed_fraction": 0.1} ],
             "table_expectations": [ {"name": "unique_id", "rule": "unique(customer_id)", "action": "fail"},
                                     {"name": "some_rows", "rule": "row_count BETWEEN 1 AND 1000000", "action": "warn"} ] }"#,
    )
    .unwrap();
    assert_eq!(o.expectations[0].action, Action::Drop);
    assert_eq!(o.expectations[0].max_failed_fraction, Some(0.1));
    assert_eq!(o.table_expectations.len(), 2);
    let o = Options::parse(r#"{"expectations": [{"name": "a", "expr": "TRUE"}]}"#).unwrap();
    assert_eq!(o.expectations[0].action, Action::Warn);
    assert_eq!(o.expectations[0].max_failed_fraction, None);
}

#[test]
fn a_syntax_error_names_the_expectation_and_the_position() {
    let (path, message) = error_for(json!([
        {"name": "ok", "expr": "items > 0"},
        {"name": "broken", "expr": "items > "},
    ]));
    assert_eq!(path, "expectations.1.expr");
    assert!(
        message.starts_with("expectation `broken`: cannot parse `items > `: "),
        "{message}"
    );
    assert!(message.contains("Line: 1, Column:"), "{message}");
    let (_, message) = error_for(json!([{"name": "x", "expr": "items > 0 0"}]));
    assert!(
        message.ends_with("unexpected `0` after the expression at Line: 1, Column: 11"),
        "{message}"
    );
    let (_, message) = error_for(json!([{"name": "x", "expr": "  "}]));
    assert!(message.contains("empty expression"), "{message}");
}

#[test]
fn an_unknown_column_lists_the_available_ones() {
    let (path, message) = error_for(json!([{"name": "c", "expr": "customer_id IS NOT NULL"}]));
    assert_eq!(path, "expectations.0.expr");
    assert_eq!(
        message,
        "expectation `c`: unknown column `customer_id`; the input has order_id, items, email"
    );
}

#[test]
fn type_errors() {
    let (path, message) = error_for(json!([
        {"name": "a", "expr": "order_id > 0"},
        {"name": "b", "expr": "order_id > 0"},
        {"name": "len", "expr": "length(items) > 0"},
    ]));
    assert_eq!(path, "expectations.2.expr");
    assert_eq!(
        message,
        "expectation `len`: the argument of length must be STRING, but `items` is INT"
    );
    let (_, message) = error_for(json!([{"name": "e", "expr": "email > 3"}]));
    assert_eq!(
        message,
        "expectation `e`: cannot compare `email` (STRING) with `3` (INT)"
    );
    let (_, message) = error_for(json!([{"name": "n", "expr": "items + 1"}]));
    assert_eq!(
        message,
        "expectation `n`: `items + 1` is BIGINT, not a condition (BOOLEAN)"
    );
    let (_, message) = error_for(json!([{"name": "s", "expr": "email"}]));
    assert_eq!(
        message,
        "expectation `s`: `email` is STRING, not a condition (BOOLEAN)"
    );
}

#[test]
fn an_unknown_function() {
    let (path, message) = error_for(json!([{"name": "f", "expr": "soundex(email) = 'x'"}]));
    assert_eq!(path, "expectations.0.expr");
    assert!(
        message.starts_with("expectation `f`: unknown function `soundex`; supported: length"),
        "{message}"
    );
}

#[test]
fn a_bad_action() {
    let (path, message) = error_for(json!([{"name": "a", "expr": "TRUE", "action": "dorp"}]));
    assert_eq!(path, "expectations.0.action");
    assert!(
        message.contains("unknown variant `dorp`, expected one of `warn`, `drop`, `fail`"),
        "{message}"
    );
    let (path, message) = option_error(plan(
        json!({"table_expectations": [{"name": "t", "rule": "row_count >= 1", "action": "drop"}]}),
        orders(),
    ));
    assert_eq!(path, "table_expectations.0.action");
    assert!(
        message.contains("can `warn` or `fail`, not `drop`"),
        "{message}"
    );
}

#[test]
fn names_are_unique_and_non_empty() {
    let (path, message) = error_for(json!([
        {"name": "a", "expr": "TRUE"},
        {"name": "a", "expr": "FALSE"},
    ]));
    assert_eq!(path, "expectations.1.name");
    assert_eq!(
        message,
        "the name `a` is used twice; expectation names must be unique"
    );
    let (path, _) = option_error(plan(
        json!({"expectations": [{"name": "a", "expr": "TRUE"}],
               "table_expectations": [{"name": "a", "rule": "row_count >= 1"}]}),
        orders(),
    ));
    assert_eq!(path, "table_expectations.0.name");
    let (path, message) = error_for(json!([{"name": "", "expr": "TRUE"}]));
    assert_eq!(
        (path.as_str(), message.as_str()),
        ("expectations.0.name", "a name must not be empty")
    );
    let (path, _) = error_for(json!([{"name": "a\nb", "expr": "TRUE"}]));
    assert_eq!(path, "expectations.0.name");
}

#[test]
fn max_failed_fraction_is_checked() {
    let (path, message) =
        error_for(json!([{"name": "a", "expr": "TRUE", "max_failed_fraction": 1.5}]));
    assert_eq!(path, "expectations.0.max_failed_fraction");
    assert_eq!(message, "expectation `a`: must be between 0 and 1, got 1.5");
    let (path, message) = error_for(
        json!([{"name": "a", "expr": "TRUE", "action": "fail", "max_failed_fraction": 0.1}]),
    );
    assert_eq!(path, "expectations.0.max_failed_fraction");
    assert!(
        message.contains("applies to `warn` and `drop`"),
        "{message}"
    );
    let (path, _) = error_for(json!([{"name": "a", "expr": "TRUE", "max_failed_fraction": "x"}]));
    assert_eq!(path, "expectations.0.max_failed_fraction");
}

#[test]
fn unknown_and_missing_fields() {
    let (path, message) = error_for(json!([{"name": "a", "expr": "TRUE", "actoin": "drop"}]));
    assert_eq!(path, "expectations.0.actoin");
    assert!(message.starts_with("unknown field `actoin`"), "{message}");
    let (path, message) = error_for(json!([{"name": "a"}]));
    assert_eq!(path, "expectations.0");
    assert!(message.contains("missing field `expr`"), "{message}");
    let (path, _) = option_error(plan(json!({"expectation": []}), orders()));
    assert_eq!(path, "expectation");
    let (path, message) = option_error(plan(json!({}), orders()));
    assert_eq!(path, "expectations");
    assert!(message.contains("at least one"), "{message}");
}

#[test]
fn an_overlong_expression_is_refused() {
    let long = format!("items > 0{}", " ".repeat(9000));
    let (path, message) = error_for(json!([{"name": "a", "expr": long}]));
    assert_eq!(path, "expectations.0.expr");
    assert!(message.contains("longer than 8192 bytes"), "{message}");
}
