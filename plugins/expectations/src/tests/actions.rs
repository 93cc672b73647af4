//! What each action does with failing rows, the quarantine, the counts,
//! `max_failed_fraction` and the stage's plan.

use std::sync::Arc;

use arrow_array::{Int64Array, StringArray};
use arrow_schema::{DataType, Field, Schema};
use lfhost_plugin_sdk::Stage;
use serde_json::json;

use super::*;
use crate::{Counts, ExpectationsStage, Run, counter_deltas};

fn xy() -> RecordBatch {
    batch(vec![
        (
            "x",
            Arc::new(Int64Array::from(vec![Some(1), Some(-1), None, Some(5)])),
        ),
        (
            "y",
            Arc::new(StringArray::from(vec![
                Some("a"),
                Some("b"),
                Some("c"),
                None,
            ])),
        ),
    ])
}

#[test]
fn warn_keeps_every_row_and_counts_failures() {
    let out = evaluate_one("i > 1", "warn").unwrap();
    assert_eq!(out.main, sample());
    assert!(out.quarantine.is_none());
    assert_eq!(
        out.counts,
        Counts {
            rows_in: 5,
            rows_out: 5,
            dropped: 0,
            passed: vec![2],
            failed: vec![3],
        }
    );
}

#[test]
fn a_null_result_fails_the_row() {
    // Row 2's `i` is NULL: `i > 0` is NULL there, which fails.
    let out = evaluate_one("i > 0", "drop").unwrap();
    assert_eq!(out.counts.failed, vec![2]);
    let kept: Vec<Option<i64>> = i64s(&out.main, "b");
    assert_eq!(kept, vec![Some(100), Some(0), Some(-7)]);
}

#[test]
fn a_bare_null_condition_fails_every_row() {
    let out = evaluate_one("NULL", "warn").unwrap();
    assert_eq!(
        (out.counts.passed.clone(), out.counts.failed.clone()),
        (vec![0], vec![5])
    );
    let out = evaluate_one("NULL AND i > 0", "drop").unwrap();
    assert_eq!(out.main.num_rows(), 0);
}

#[test]
fn drop_filters_main_and_quarantines_the_rest() {
    let out = evaluate_one("i > 1", "drop").unwrap();
    assert_eq!(out.main.schema(), sample().schema());
    assert_eq!(i64s(&out.main, "b"), vec![Some(0), Some(-7)]);
    assert_eq!(out.counts.rows_out, 2);
    assert_eq!(out.counts.dropped, 3);
    let q = out.quarantine.unwrap();
    assert_eq!(i64s(&q, "b"), vec![Some(100), None, Some(0)]);
    assert_eq!(strings(&q, FAILED), vec![Some(r#"["e"]"#.to_string()); 3]);
}

const FAILED: &str = crate::FAILED_EXPECTATIONS;

#[test]
fn quarantine_lists_the_drop_expectations_failed_in_order() {
    let b = xy();
    let e = plan(
        json!({"expectations": [
            {"name": "y_set", "expr": "y IS NOT NULL", "action": "drop"},
            {"name": "positive", "expr": "x > 0", "action": "drop"},
            {"name": "small", "expr": "x < 3", "action": "warn"},
            {"name": "quote\"d", "expr": "x <> 1", "action": "drop"},
        ]}),
        b.schema(),
    )
    .unwrap();
    let out = e.evaluate(&b).unwrap();
    assert_eq!(i64s(&out.main, "x"), Vec::<Option<i64>>::new());
    let q = out.quarantine.unwrap();
    assert_eq!(
        strings(&q, FAILED),
        vec![
            Some(r#"["quote\"d"]"#.to_string()),
            Some(r#"["positive"]"#.to_string()),
            Some(r#"["positive","quote\"d"]"#.to_string()),
            Some(r#"["y_set"]"#.to_string()),
        ]
    );
    // Every expectation saw every row, whatever the others decided.
    assert_eq!(out.counts.passed, vec![3, 2, 2, 2]);
    assert_eq!(out.counts.failed, vec![1, 2, 2, 2]);
    assert_eq!((out.counts.rows_out, out.counts.dropped), (0, 4));
    // The quarantine's schema: the input's, then `_failed_expectations`.
    let outputs = e.outputs();
    assert_eq!(outputs[0].0, "main");
    assert_eq!(outputs[1].0, "quarantine");
    assert_eq!(outputs[0].1, b.schema());
    let mut fields: Vec<Field> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(FAILED, DataType::Utf8, true));
    assert_eq!(*outputs[1].1, Schema::new(fields));
    assert_eq!(q.schema(), outputs[1].1);
}

/// More drop rules than a 64-bit set holds: each row's list is rendered
/// on its own, the same way.
#[test]
fn quarantine_lists_more_than_64_failed_rules() {
    let b = xy();
    let rules: Vec<serde_json::Value> = (0..65)
        .map(|i| json!({"name": format!("r{i}"), "expr": format!("x > {i}"), "action": "drop"}))
        .collect();
    let e = plan(json!({ "expectations": rules }), b.schema()).unwrap();
    let q = e.evaluate(&b).unwrap().quarantine.unwrap();
    let list = |failed: std::ops::Range<i64>| {
        let names: Vec<String> = failed.map(|i| format!("\"r{i}\"")).collect();
        Some(format!("[{}]", names.join(",")))
    };
    // x = 1 passes only r0; -1 and NULL fail all; 5 passes r0..r4.
    assert_eq!(
        strings(&q, FAILED),
        vec![list(1..65), list(0..65), list(0..65), list(5..65)]
    );
}

/// Failed-rule lists of a batch spanning several 64-row words, sliced at
/// an offset that is not a word's: each row's list is the rules it fails.
#[test]
fn quarantine_lists_match_each_rule_across_words_of_a_sliced_batch() {
    let n = 300i64;
    let x: Int64Array = (0..n).map(|v| (v % 11 != 0).then_some(v)).collect();
    let y: StringArray = (0..n)
        .map(|v| Some(["a", "b", "c"][(v % 3) as usize]))
        .collect();
    let whole = batch(vec![("x", Arc::new(x)), ("y", Arc::new(y))]);
    let b = whole.slice(37, 250);
    let rules = [
        ("set", "x IS NOT NULL"),
        ("odd", "x % 2 = 1"),
        ("not_b", "y <> 'b'"),
        ("below", "x < 200"),
    ];
    let list: Vec<serde_json::Value> = rules
        .iter()
        .map(|(name, expr)| json!({"name": name, "expr": expr, "action": "drop"}))
        .collect();
    let e = plan(json!({ "expectations": list }), b.schema()).unwrap();
    let out = e.evaluate(&b).unwrap();
    let mut expected = Vec::new();
    for v in 37..37 + 250i64 {
        let x = (v % 11 != 0).then_some(v);
        let passes = [
            x.is_some(),
            x.is_some_and(|x| x % 2 == 1),
            v % 3 != 1,
            x.is_some_and(|x| x < 200),
        ];
        let failed: Vec<String> = rules
            .iter()
            .zip(passes)
            .filter(|(_, pass)| !pass)
            .map(|((name, _), _)| format!("\"{name}\""))
            .collect();
        if !failed.is_empty() {
            expected.push(Some(format!("[{}]", failed.join(","))));
        }
    }
    assert!(expected.len() > 128, "the dropped rows span several words");
    assert_eq!(strings(&out.quarantine.unwrap(), FAILED), expected);
}

#[test]
fn fail_names_the_expectation_its_expression_and_a_row() {
    let b = xy();
    let e = plan(
        json!({"expectations": [{"name": "valid_x", "expr": "x > 0", "action": "fail"}]}),
        b.schema(),
    )
    .unwrap();
    assert_eq!(
        e.evaluate(&b).unwrap_err(),
        Error::InvalidData(
            r#"expectation `valid_x` (x > 0) failed on row {"x": -1, "y": "b"}"#.into()
        )
    );
    // NULL fails too; a batch where every row passes is fine.
    let e = plan(
        json!({"expectations": [{"name": "x_set", "expr": "x IS NOT NULL AND x <> -1", "action": "fail"}]}),
        b.schema(),
    )
    .unwrap();
    assert!(e.evaluate(&b.slice(0, 1)).is_ok());
    assert_eq!(
        e.evaluate(&b.slice(2, 2)).unwrap_err(),
        Error::InvalidData(
            r#"expectation `x_set` (x IS NOT NULL AND x <> -1) failed on row {"x": null, "y": "c"}"#.into()
        )
    );
}

#[test]
fn example_rows_render_every_type() {
    let out = evaluate_one("i > 1", "fail").unwrap_err();
    assert_eq!(
        out,
        Error::InvalidData(
            "expectation `e` (i > 1) failed on row {\"i\": 1, \"b\": 100, \"f\": 1.5, \"d\": 12.34, \
             \"s\": \"abc\", \"t\": true, \"day\": \"2026-01-01\", \"ts\": \"2026-01-01T00:00:00Z\", \
             \"Mixed Case\": 1}"
                .into()
        )
    );
}

#[test]
fn run_totals_fractions_and_warnings() {
    let b = xy();
    let e = plan(
        json!({"expectations": [
            {"name": "positive", "expr": "x > 0", "action": "drop", "max_failed_fraction": 0.5},
            {"name": "y_set", "expr": "y IS NOT NULL", "max_failed_fraction": 0.25},
        ]}),
        b.schema(),
    )
    .unwrap();
    let mut run = Run::new(e).unwrap();
    run.push(&b).unwrap();
    let second = run.push(&b.slice(0, 1)).unwrap();
    assert_eq!(
        counter_deltas(&run, &second.counts),
        vec![
            ("rows_in".to_string(), 1),
            ("rows_out".to_string(), 1),
            ("dropped".to_string(), 0),
            ("dq.passed.positive".to_string(), 1),
            ("dq.failed.positive".to_string(), 0),
            ("dq.passed.y_set".to_string(), 1),
            ("dq.failed.y_set".to_string(), 0),
        ]
    );
    assert_eq!(
        *run.totals(),
        Counts {
            rows_in: 5,
            rows_out: 3,
            dropped: 2,
            passed: vec![3, 4],
            failed: vec![2, 1],
        }
    );
    // 2 of 5 (0.4) is within 0.5; 1 of 5 (0.2) is within 0.25.
    let finish = run.finish();
    assert!(finish.error.is_none(), "{:?}", finish.error);
    assert_eq!(
        finish.warnings,
        vec!["expectation `y_set` (y IS NOT NULL) failed on 1 of 5 rows".to_string()]
    );
    let names: Vec<&str> = finish.counters.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "rows_in",
            "rows_out",
            "dropped",
            "dq.passed.positive",
            "dq.failed.positive",
            "dq.passed.y_set",
            "dq.failed.y_set"
        ]
    );
    assert!(finish.counters.iter().all(|(_, v)| *v == 0));

    // One more failing row: 3 of 6 (0.5) is not above 0.5, but 2 of 6 is above 0.25.
    run.push(&b.slice(3, 1)).unwrap();
    let finish = run.finish();
    assert_eq!(
        finish.error,
        Some(Error::InvalidData(
            "expectation `y_set` (y IS NOT NULL) failed on 2 of 6 rows, a fraction of 0.3333 above its \
             max_failed_fraction 0.25"
                .into()
        ))
    );
    // Two more failing `positive`: 4 of 8 is not above 0.5, and 2 of 8 not above 0.25.
    run.push(&b.slice(1, 2)).unwrap();
    assert!(run.finish().error.is_none());
    run.push(&b.slice(1, 1)).unwrap();
    assert_eq!(
        run.finish().error,
        Some(Error::InvalidData(
            "expectation `positive` (x > 0) failed on 5 of 9 rows, a fraction of 0.5556 above its \
             max_failed_fraction 0.5"
                .into()
        ))
    );
}

#[test]
fn max_failed_fraction_zero_fails_on_any_failure() {
    let b = xy();
    let e = plan(
        json!({"expectations": [{"name": "p", "expr": "x > 0", "max_failed_fraction": 0}]}),
        b.schema(),
    )
    .unwrap();
    let mut run = Run::new(e).unwrap();
    run.push(&b.slice(0, 1)).unwrap();
    assert!(run.finish().error.is_none());
    run.push(&b).unwrap();
    assert!(run.finish().error.is_some());
}

#[test]
fn empty_batches_and_runs() {
    let b = xy();
    let e = plan(
        json!({"expectations": [{"name": "p", "expr": "x > 0", "action": "drop", "max_failed_fraction": 0}]}),
        b.schema(),
    )
    .unwrap();
    let mut run = Run::new(e).unwrap();
    let out = run.push(&b.slice(0, 0)).unwrap();
    assert_eq!(out.main.num_rows(), 0);
    assert!(out.quarantine.is_none());
    assert_eq!(out.counts.passed, vec![0]);
    assert!(run.finish().error.is_none());
}

#[test]
fn a_batch_of_another_schema_is_refused() {
    let b = xy();
    let e = plan(
        json!({"expectations": [{"name": "p", "expr": "x > 0"}]}),
        b.schema(),
    )
    .unwrap();
    let other = batch(vec![("x", Arc::new(StringArray::from(vec!["1"])))]);
    let err = e.evaluate(&other).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidData(m) if m.contains("differ from the planned input")),
        "{err:?}"
    );
}

#[test]
fn stage_plan_returns_main_then_quarantine() {
    let b = xy();
    let options =
        json!({"expectations": [{"name": "p", "expr": "x > 0", "action": "drop"}]}).to_string();
    let outputs =
        ExpectationsStage::plan(&options, &[("bronze_x".to_string(), b.schema())]).unwrap();
    let names: Vec<&str> = outputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["main", "quarantine"]);
    assert_eq!(outputs[0].1, b.schema());
    assert_eq!(outputs[1].1.fields().len(), 3);
    assert!(matches!(
        ExpectationsStage::plan(&options, &[]),
        Err(Error::Internal(_))
    ));
    let two = [("a".to_string(), b.schema()), ("b".to_string(), b.schema())];
    assert!(matches!(
        ExpectationsStage::plan(&options, &two),
        Err(Error::Internal(_))
    ));
    let err = ExpectationsStage::plan(
        r#"{"expectations": [{"name": "p", "expr": "z > 0"}]}"#,
        &[("in".into(), b.schema())],
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::InvalidOption { ref option, .. } if option == "expectations.0.expr")
    );
    let d = ExpectationsStage::describe();
    assert_eq!(d.name, "expectations");
    assert_eq!(d.options.len(), 2);
}

#[test]
fn an_input_with_the_quarantine_column_is_refused() {
    let b = batch(vec![(FAILED, Arc::new(StringArray::from(vec!["x"])))]);
    let err = plan(
        json!({"expectations": [{"name": "p", "expr": "TRUE"}]}),
        b.schema(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidData(_)));
}

#[test]
fn large_batches_are_evaluated_whole() {
    let n = 100_000;
    let x: Int64Array = (0..n).map(|v| Some(v % 10)).collect();
    let y: StringArray = (0..n)
        .map(|v| Some(if v % 3 == 0 { "keep" } else { "drop" }))
        .collect();
    let b = batch(vec![("x", Arc::new(x)), ("y", Arc::new(y))]);
    let e = plan(
        json!({"expectations": [
            {"name": "digit", "expr": "x BETWEEN 0 AND 9", "action": "fail"},
            {"name": "kept", "expr": "y = 'keep' OR x IN (1, 2)", "action": "drop"},
        ]}),
        b.schema(),
    )
    .unwrap();
    let out = e.evaluate(&b).unwrap();
    let expected = (0..n)
        .filter(|v| v % 3 == 0 || matches!(v % 10, 1 | 2))
        .count();
    assert_eq!(out.main.num_rows(), expected);
    assert_eq!(out.quarantine.unwrap().num_rows(), n as usize - expected);
}

#[test]
fn a_flow_reads_only_the_columns_its_rules_read_unless_one_fails_the_flow() {
    let mut columns = xy().columns().to_vec();
    columns.push(Arc::new(Int64Array::from(vec![7, 8, 9, 10])));
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Int64, true),
        Field::new("y", DataType::Utf8, true),
        Field::new("z", DataType::Int64, true),
    ]));
    let whole = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let options = json!({
        "expectations": [{"name": "pos", "expr": "x > 0", "action": "drop"}],
        "table_expectations": [{"name": "u", "rule": "unique(y)"}],
    });
    let e = plan(options.clone(), schema.clone()).unwrap();
    assert_eq!(crate::reads_only(&e), Some(vec![0, 1]));
    let failing = json!({"expectations": [{"name": "pos", "expr": "x > 0", "action": "fail"}]});
    assert_eq!(
        crate::reads_only(&plan(failing, schema.clone()).unwrap()),
        None
    );
    let every = json!({"expectations": [{"name": "all", "expr": "x + z > 0 OR y = 'a'"}]});
    assert_eq!(
        crate::reads_only(&plan(every, schema.clone()).unwrap()),
        None
    );

    // The projected flow decides what the whole one does.
    let projected = plan(options, Arc::new(schema.project(&[0, 1]).unwrap())).unwrap();
    let verdict = projected.judge(&whole.project(&[0, 1]).unwrap()).unwrap();
    let outcome = e.evaluate(&whole).unwrap();
    assert_eq!(verdict.counts, outcome.counts);
    let keep = verdict.keep.clone().unwrap();
    let main = arrow_select::filter::filter_record_batch(&whole, &keep).unwrap();
    assert_eq!(main, outcome.main);
    let (dropped, failed) = projected.dropped(&keep, &verdict.passes).unwrap();
    assert_eq!(dropped, arrow_arith::boolean::not(&keep).unwrap());
    let quarantine = outcome.quarantine.unwrap();
    assert_eq!(failed.schema().field(0), quarantine.schema().field(3));
    assert_eq!(failed.column(0), quarantine.column(3));
}

#[test]
fn rules_sharing_a_comparison_each_count_it_once_per_batch() {
    let e = plan(
        json!({"expectations": [
            {"name": "a", "expr": "y = 'keep' OR x > 5", "action": "warn"},
            {"name": "b", "expr": "y = 'keep' OR x < 2", "action": "warn"},
            {"name": "c", "expr": "NOT (y = 'keep')", "action": "warn"},
            {"name": "d", "expr": "y = 'kee' OR x = 3", "action": "warn"},
        ]}),
        xy().schema(),
    )
    .unwrap();
    let first = batch(vec![
        ("x", Arc::new(Int64Array::from(vec![1, 3, 6, 9]))),
        (
            "y",
            Arc::new(StringArray::from(vec![
                Some("keep"),
                None,
                Some("drop"),
                Some("keep"),
            ])),
        ),
    ]);
    let second = batch(vec![
        ("x", Arc::new(Int64Array::from(vec![0, 3]))),
        ("y", Arc::new(StringArray::from(vec!["drop", "drop"]))),
    ]);
    let passed = |b: &RecordBatch| e.judge(b).unwrap().counts.passed;
    assert_eq!(passed(&first), vec![3, 2, 1, 1]);
    assert_eq!(passed(&second), vec![0, 1, 2, 1]);
}
