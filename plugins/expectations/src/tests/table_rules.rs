//! Table rules over a run: `unique` and `row_count`.

use std::sync::Arc;

use arrow_array::{Int64Array, StringArray};
use serde_json::json;

use super::*;
use crate::table_rules::parse_rule;
use crate::{Rule, Run};

fn keys(ids: Vec<Option<i64>>, tags: Vec<Option<&str>>) -> RecordBatch {
    batch(vec![
        ("id", Arc::new(Int64Array::from(ids))),
        ("tag", Arc::new(StringArray::from(tags))),
    ])
}

fn run(table_expectations: serde_json::Value, batches: &[RecordBatch]) -> crate::Finish {
    let e = plan(
        json!({ "table_expectations": table_expectations }),
        batches[0].schema(),
    )
    .unwrap();
    let mut run = Run::new(e).unwrap();
    for b in batches {
        run.push(b).unwrap();
    }
    run.finish()
}

fn counter(finish: &crate::Finish, name: &str) -> i64 {
    finish
        .counters
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no counter {name}"))
}

#[test]
fn rule_forms() {
    let schema = keys(vec![], vec![]).schema();
    assert_eq!(parse_rule("unique(id)", &schema), Ok(Rule::Unique(vec![0])));
    assert_eq!(
        parse_rule("UNIQUE(tag, id)", &schema),
        Ok(Rule::Unique(vec![1, 0]))
    );
    let count = |min, max| Ok(Rule::RowCount { min, max });
    assert_eq!(
        parse_rule("row_count BETWEEN 1 AND 1000000", &schema),
        count(Some(1), Some(1_000_000))
    );
    assert_eq!(parse_rule("row_count >= 1", &schema), count(Some(1), None));
    assert_eq!(parse_rule("row_count > 1", &schema), count(Some(2), None));
    assert_eq!(
        parse_rule("row_count <= 10", &schema),
        count(None, Some(10))
    );
    assert_eq!(parse_rule("row_count < 10", &schema), count(None, Some(9)));
    assert_eq!(
        parse_rule("row_count = 3", &schema),
        count(Some(3), Some(3))
    );
    for (rule, message) in [
        (
            "unique(nope)",
            "unknown column `nope`; the input has id, tag",
        ),
        ("unique(id, id)", "unique(...) names `id` twice"),
        ("unique()", "unique(...) needs at least one column"),
        (
            "unique(id + 1)",
            "unique(...) takes column names, got `id + 1`",
        ),
        ("distinct(id)", "unknown rule `distinct`"),
        (
            "row_count BETWEEN 5 AND 1",
            "the lower bound 5 is above the upper bound 1",
        ),
        ("row_count >= -1", "`-1` is not a non-negative integer"),
        ("row_count >= 1.5", "`1.5` is not a non-negative integer"),
        ("rows >= 1", "expected `row_count`, got `rows`"),
        ("row_count <> 1", "unsupported comparison <>"),
        ("id IS NULL", "unsupported rule `id IS NULL`"),
        ("row_count >=", "Line: 1, Column: 13"),
    ] {
        let err = parse_rule(rule, &schema).unwrap_err();
        assert!(err.contains(message), "{rule}: {err}");
    }
}

#[test]
fn rule_errors_have_the_rule_path() {
    let schema = keys(vec![], vec![]).schema();
    let (path, message) = option_error(plan(
        json!({"table_expectations": [
            {"name": "ok", "rule": "row_count >= 0"},
            {"name": "u", "rule": "unique(nope)", "action": "fail"},
        ]}),
        schema,
    ));
    assert_eq!(path, "table_expectations.1.rule");
    assert_eq!(
        message,
        "table expectation `u`: unknown column `nope`; the input has id, tag"
    );
}

#[test]
fn unique_counts_duplicate_keys_across_batches() {
    let first = keys(
        vec![Some(1), Some(2), None, Some(3)],
        vec![Some("a"), Some("b"), Some("c"), Some("d")],
    );
    let second = keys(
        vec![Some(2), None, Some(4), Some(2), Some(3)],
        vec![Some("e"); 5],
    );
    let finish = run(
        json!([{"name": "unique_id", "rule": "unique(id)", "action": "fail"}]),
        &[first.clone(), second],
    );
    // 2 appears three times and 3 twice; NULL keys take no part.
    assert_eq!(
        finish.error,
        Some(Error::InvalidData(
            r#"table expectation `unique_id` (unique(id)) failed: 2 duplicate key(s) over 5 rows, e.g. {"id": 2}"#.into()
        ))
    );
    assert_eq!(counter(&finish, "dq.failed.unique_id"), 5);
    assert_eq!(counter(&finish, "dq.passed.unique_id"), 4);

    let finish = run(json!([{"name": "u", "rule": "unique(id)"}]), &[first]);
    assert!(finish.error.is_none());
    assert!(finish.warnings.is_empty());
    assert_eq!(counter(&finish, "dq.failed.u"), 0);
    assert_eq!(counter(&finish, "dq.passed.u"), 4);
}

#[test]
fn unique_on_several_columns_warns() {
    let b = keys(
        vec![Some(1), Some(1), Some(1), Some(2), Some(1)],
        vec![Some("a"), Some("b"), Some("a"), Some("a"), None],
    );
    let finish = run(json!([{"name": "pair", "rule": "unique(id, tag)"}]), &[b]);
    assert!(finish.error.is_none());
    assert_eq!(
        finish.warnings,
        vec![r#"table expectation `pair` (unique(id, tag)) failed: 1 duplicate key(s) over 2 rows, e.g. {"id": 1, "tag": "a"}"#.to_string()]
    );
}

#[test]
fn row_count_bounds() {
    let b = keys(vec![Some(1), Some(2), Some(3)], vec![None, None, None]);
    let finish = run(
        json!([
            {"name": "some_rows", "rule": "row_count BETWEEN 1 AND 1000000", "action": "fail"},
            {"name": "at_least", "rule": "row_count >= 4"},
            {"name": "at_most", "rule": "row_count <= 5", "action": "fail"},
        ]),
        &[b.clone(), b.slice(0, 2)],
    );
    assert!(finish.error.is_none(), "{:?}", finish.error);
    assert!(finish.warnings.is_empty());

    let finish = run(
        json!([
            {"name": "some_rows", "rule": "row_count BETWEEN 1 AND 2", "action": "fail"},
            {"name": "at_least", "rule": "row_count >= 4"},
            {"name": "at_most", "rule": "row_count <= 1", "action": "fail"},
        ]),
        std::slice::from_ref(&b),
    );
    assert_eq!(
        finish.error,
        Some(Error::InvalidData(
            "table expectation `some_rows` (row_count BETWEEN 1 AND 2) failed: row_count is 3; \
             table expectation `at_most` (row_count <= 1) failed: row_count is 3"
                .into()
        ))
    );
    assert_eq!(
        finish.warnings,
        vec!["table expectation `at_least` (row_count >= 4) failed: row_count is 3".to_string()]
    );
    assert_eq!(counter(&finish, "dq.failed.at_least"), 3);
    assert_eq!(counter(&finish, "dq.passed.at_least"), 0);

    // No rows at all.
    let finish = run(
        json!([{"name": "some", "rule": "row_count >= 1", "action": "fail"}]),
        &[b.slice(0, 0)],
    );
    assert!(finish.error.is_some());
}

#[test]
fn table_rules_and_row_expectations_together() {
    let b = keys(
        vec![Some(1), Some(1), None],
        vec![Some("a"), Some("b"), Some("c")],
    );
    let e = plan(
        json!({"expectations": [{"name": "id_set", "expr": "id IS NOT NULL", "action": "drop"}],
               "table_expectations": [{"name": "u", "rule": "unique(id)"}]}),
        b.schema(),
    )
    .unwrap();
    let mut run = Run::new(e).unwrap();
    let out = run.push(&b).unwrap();
    assert_eq!(out.main.num_rows(), 2);
    let finish = run.finish();
    let names: Vec<&str> = finish.counters.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "rows_in",
            "rows_out",
            "dropped",
            "dq.passed.id_set",
            "dq.failed.id_set",
            "dq.passed.u",
            "dq.failed.u"
        ]
    );
    // Uniqueness looks at every row the flow read, dropped ones included.
    assert_eq!(finish.warnings.len(), 1);
}
