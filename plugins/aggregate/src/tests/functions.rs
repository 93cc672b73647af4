//! Each function, joins, keys, filters, casts and data errors.

use std::sync::Arc;

use arrow_array::{
    Array, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray,
};
use arrow_schema::{DataType, SchemaRef};
use lfhost_plugin_sdk::Error;

use super::{batch, run, schema};

pub fn base_schema() -> SchemaRef {
    schema(&[
        ("k", DataType::Int64),
        ("g", DataType::Utf8),
        ("x", DataType::Int32),
    ])
}

pub fn t_schema() -> SchemaRef {
    schema(&[
        ("k", DataType::Int64),
        ("g", DataType::Utf8),
        ("v", DataType::Int32),
        ("d", DataType::Decimal128(10, 3)),
        ("f", DataType::Float64),
        ("s", DataType::Utf8),
        ("flag", DataType::Boolean),
        ("day", DataType::Date32),
    ])
}

pub fn inputs() -> Vec<(&'static str, SchemaRef)> {
    vec![("b", base_schema()), ("t", t_schema())]
}

fn base(rows: &[(Option<i64>, Option<&str>, Option<i32>)]) -> RecordBatch {
    batch(
        &base_schema(),
        vec![
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
            Arc::new(Int32Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
        ],
    )
}

type TRow<'a> = (
    Option<i64>,
    Option<&'a str>,
    Option<i32>,
    Option<i128>,
    Option<f64>,
    Option<&'a str>,
    Option<bool>,
    Option<i32>,
);

fn t(rows: &[TRow]) -> RecordBatch {
    batch(
        &t_schema(),
        vec![
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
            Arc::new(Int32Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
            Arc::new(
                Decimal128Array::from(rows.iter().map(|r| r.3).collect::<Vec<_>>())
                    .with_precision_and_scale(10, 3)
                    .unwrap(),
            ),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.5).collect::<Vec<_>>(),
            )),
            Arc::new(BooleanArray::from(
                rows.iter().map(|r| r.6).collect::<Vec<_>>(),
            )),
            Arc::new(Date32Array::from(
                rows.iter().map(|r| r.7).collect::<Vec<_>>(),
            )),
        ],
    )
}

/// A column rendered, NULL as `-`.
fn col(out: &RecordBatch, name: &str) -> Vec<String> {
    let c = out.column_by_name(name).unwrap();
    (0..c.len())
        .map(|i| match c.is_null(i) {
            true => "-".to_string(),
            false => arrow_cast::display::array_value_to_string(c, i).unwrap(),
        })
        .collect()
}

fn ty(out: &RecordBatch, name: &str) -> DataType {
    out.schema()
        .field_with_name(name)
        .unwrap()
        .data_type()
        .clone()
}

fn three_keys() -> RecordBatch {
    base(&[
        (Some(3), Some("x"), None),
        (Some(1), Some("x"), None),
        (Some(2), Some("y"), None),
    ])
}

fn sample() -> RecordBatch {
    t(&[
        (
            Some(1),
            Some("x"),
            Some(5),
            Some(1001),
            Some(1.5),
            Some("a"),
            Some(true),
            Some(10),
        ),
        (
            Some(99),
            None,
            Some(7),
            Some(1),
            Some(1.0),
            Some("z"),
            Some(true),
            Some(1),
        ),
        (
            Some(1),
            Some("y"),
            Some(3),
            Some(2002),
            Some(2.5),
            Some("b"),
            Some(false),
            Some(5),
        ),
        (Some(1), None, None, None, None, Some("a"), None, None),
        (Some(2), Some("y"), None, None, None, None, Some(true), None),
        (
            None,
            Some("x"),
            Some(100),
            Some(1),
            Some(1.0),
            Some("n"),
            Some(true),
            Some(1),
        ),
    ])
}

fn aggs_options(how: &str, aggs: &str) -> String {
    format!(
        r#"{{"base": {{"input": "b", "key": ["k"], "columns": ["k"]}},
            "joins": [{{"input": "t", "how": "{how}", "on": {{"k": "k"}}, "aggregates": [{aggs}]}}]}}"#
    )
}

#[test]
fn every_function() {
    let aggs = r#"
        {"name": "n", "function": "count"},
        {"name": "n_v", "function": "count", "column": "v"},
        {"name": "nd_s", "function": "count_distinct", "column": "s"},
        {"name": "sum_v", "function": "sum", "column": "v"},
        {"name": "sum_d", "function": "sum", "column": "d"},
        {"name": "sum_f", "function": "sum", "column": "f"},
        {"name": "min_v", "function": "min", "column": "v"},
        {"name": "max_v", "function": "max", "column": "v"},
        {"name": "min_s", "function": "min", "column": "s"},
        {"name": "max_s", "function": "max", "column": "s"},
        {"name": "min_day", "function": "min", "column": "day"},
        {"name": "max_d", "function": "max", "column": "d"},
        {"name": "avg_v", "function": "avg", "column": "v"},
        {"name": "avg_d", "function": "avg", "column": "d"},
        {"name": "avg_f", "function": "avg", "column": "f"}"#;
    let out = run(
        &aggs_options("left", aggs),
        &inputs(),
        &[("b", three_keys()), ("t", sample())],
    )
    .unwrap();
    let expect = |name: &str, ty_: DataType, values: [&str; 3]| {
        assert_eq!(ty(&out, name), ty_, "{name}");
        assert_eq!(col(&out, name), values, "{name}");
    };
    expect("k", DataType::Int64, ["1", "2", "3"]);
    expect("n", DataType::Int64, ["3", "1", "0"]);
    expect("n_v", DataType::Int64, ["2", "0", "0"]);
    expect("nd_s", DataType::Int64, ["2", "0", "0"]);
    expect("sum_v", DataType::Int64, ["8", "-", "-"]);
    expect("sum_d", DataType::Decimal128(38, 3), ["3.003", "-", "-"]);
    expect("sum_f", DataType::Float64, ["4.0", "-", "-"]);
    expect("min_v", DataType::Int32, ["3", "-", "-"]);
    expect("max_v", DataType::Int32, ["5", "-", "-"]);
    expect("min_s", DataType::Utf8, ["a", "-", "-"]);
    expect("max_s", DataType::Utf8, ["b", "-", "-"]);
    expect("min_day", DataType::Date32, ["1970-01-06", "-", "-"]);
    expect("max_d", DataType::Decimal128(10, 3), ["2.002", "-", "-"]);
    expect("avg_v", DataType::Float64, ["4.0", "-", "-"]);
    expect("avg_d", DataType::Float64, ["1.5015", "-", "-"]);
    expect("avg_f", DataType::Float64, ["2.0", "-", "-"]);
}

#[test]
fn inner_drops_base_rows_without_a_match() {
    let aggs = r#"{"name": "n", "function": "count"}"#;
    let pushes = [("b", three_keys()), ("t", sample())];
    let left = run(&aggs_options("left", aggs), &inputs(), &pushes).unwrap();
    assert_eq!(col(&left, "k"), ["1", "2", "3"]);
    let inner = run(&aggs_options("inner", aggs), &inputs(), &pushes).unwrap();
    assert_eq!(col(&inner, "k"), ["1", "2"]);
    assert_eq!(col(&inner, "n"), ["3", "1"]);

    let lookup = |how: &str| {
        format!(
            r#"{{"base": {{"input": "b", "key": ["k"], "columns": ["k"]}},
                "joins": [{{"input": "t", "how": "{how}", "on": {{"k": "k"}}, "filter": "v = 5 OR k = 3",
                            "columns": ["s"]}}]}}"#
        )
    };
    let left = run(&lookup("left"), &inputs(), &pushes).unwrap();
    assert_eq!(col(&left, "s"), ["a", "-", "-"]);
    let inner = run(&lookup("inner"), &inputs(), &pushes).unwrap();
    assert_eq!(col(&inner, "k"), ["1"]);
    assert_eq!(col(&inner, "s"), ["a"]);
}

#[test]
fn multi_column_on_and_null_keys() {
    let options = r#"{"base": {"input": "b", "key": ["k", "g"], "columns": ["k", "g"]},
        "joins": [{"input": "t", "on": {"k": "k", "g": "g"},
                   "aggregates": [{"name": "n", "function": "count"},
                                  {"name": "total", "function": "sum", "column": "v", "default": -1}]}]}"#;
    let b = base(&[
        (Some(1), Some("y"), None),
        (Some(1), Some("x"), None),
        (Some(1), None, None),
        (Some(2), Some("y"), None),
        (None, Some("x"), None),
    ]);
    let out = run(options, &inputs(), &[("b", b), ("t", sample())]).unwrap();
    // Sorted by (k, g), NULLs first; NULL keys match nothing.
    assert_eq!(col(&out, "k"), ["-", "1", "1", "1", "2"]);
    assert_eq!(col(&out, "g"), ["x", "-", "x", "y", "y"]);
    assert_eq!(col(&out, "n"), ["0", "0", "1", "1", "1"]);
    assert_eq!(col(&out, "total"), ["-1", "-1", "5", "3", "-1"]);
}

#[test]
fn filters_on_base_and_join() {
    let options = r#"{"base": {"input": "b", "key": ["k"], "columns": ["k", "g"], "filter": "g = 'x'"},
        "joins": [{"input": "t", "on": {"k": "k"}, "filter": "flag AND day >= '1970-01-05'",
                   "aggregates": [{"name": "n", "function": "count"}]}]}"#;
    let out = run(options, &inputs(), &[("t", sample()), ("b", three_keys())]).unwrap();
    assert_eq!(col(&out, "k"), ["1", "3"]);
    assert_eq!(col(&out, "n"), ["1", "0"]);
}

#[test]
fn a_join_key_of_another_integer_type_matches() {
    let small = schema(&[("id", DataType::Int32), ("name", DataType::Utf8)]);
    let options = r#"{"base": {"input": "b", "key": ["k"], "columns": ["k"]},
        "joins": [{"input": "small", "on": {"k": "id"}, "columns": ["name"]}]}"#;
    let lookup = batch(
        &small,
        vec![
            Arc::new(Int32Array::from(vec![2, 3])),
            Arc::new(StringArray::from(vec!["two", "three"])),
        ],
    );
    let out = run(
        options,
        &[("b", base_schema()), ("small", small)],
        &[("b", three_keys()), ("small", lookup)],
    )
    .unwrap();
    assert_eq!(col(&out, "name"), ["-", "two", "three"]);
}

fn data_error(r: Result<RecordBatch, Error>) -> String {
    match r {
        Err(Error::InvalidData(m)) => m,
        other => panic!("not a data error: {other:?}"),
    }
}

#[test]
fn duplicate_lookup_key_is_an_error() {
    let options = r#"{"base": {"input": "b", "key": ["k"], "columns": ["k"]},
        "joins": [{"input": "t", "on": {"k": "k"}, "columns": ["s"]}]}"#;
    let m = data_error(run(
        options,
        &inputs(),
        &[("b", three_keys()), ("t", sample())],
    ));
    assert!(m.contains("`t`") && m.contains("k=1"), "{m}");
    // The filter leaves one row per key: fine.
    let options = options.replace(
        r#""columns": ["s"]"#,
        r#""filter": "v IS NOT NULL AND v <> 3", "columns": ["s"]"#,
    );
    let out = run(&options, &inputs(), &[("b", three_keys()), ("t", sample())]).unwrap();
    assert_eq!(col(&out, "s"), ["a", "-", "-"]);
}

#[test]
fn duplicate_base_key_is_an_error() {
    let options = r#"{"base": {"input": "b", "key": ["k"], "columns": ["k"]}}"#;
    let b = base(&[
        (Some(1), None, None),
        (Some(2), None, None),
        (Some(1), None, None),
    ]);
    let m = data_error(run(options, &inputs(), &[("b", b)]));
    assert!(m.contains("k=1"), "{m}");
}

#[test]
fn casts_defaults_and_overflow() {
    let aggs = r#"
        {"name": "n", "function": "count", "type": "float64"},
        {"name": "sum_v", "function": "sum", "column": "v", "type": "decimal(10,2)", "default": 0},
        {"name": "sum_d", "function": "sum", "column": "d", "type": "decimal(6,1)", "default": "1.5"},
        {"name": "avg_v", "function": "avg", "column": "v", "type": "int64"},
        {"name": "max_s", "function": "max", "column": "s", "default": "none"}"#;
    let out = run(
        &aggs_options("left", aggs),
        &inputs(),
        &[("b", three_keys()), ("t", sample())],
    )
    .unwrap();
    assert_eq!(ty(&out, "n"), DataType::Float64);
    assert_eq!(col(&out, "n"), ["3.0", "1.0", "0.0"]);
    assert_eq!(ty(&out, "sum_v"), DataType::Decimal128(10, 2));
    assert_eq!(col(&out, "sum_v"), ["8.00", "0.00", "0.00"]);
    assert_eq!(col(&out, "sum_d"), ["3.0", "1.5", "1.5"]);
    assert_eq!(col(&out, "avg_v"), ["4", "-", "-"]);
    assert_eq!(col(&out, "max_s"), ["b", "none", "none"]);

    // 2 × 9999999.999 does not fit DECIMAL(10,3)... but its sum is exact in
    // DECIMAL(38,3); a narrower `type` that cannot hold it is an error.
    let big = t(&[
        (
            Some(1),
            None,
            None,
            Some(9_999_999_999),
            None,
            None,
            None,
            None,
        ),
        (
            Some(1),
            None,
            None,
            Some(9_999_999_999),
            None,
            None,
            None,
            None,
        ),
    ]);
    let exact = run(
        &aggs_options("left", r#"{"name": "s", "function": "sum", "column": "d"}"#),
        &inputs(),
        &[("b", three_keys()), ("t", big.clone())],
    )
    .unwrap();
    assert_eq!(col(&exact, "s"), ["19999999.998", "-", "-"]);
    let narrow = aggs_options(
        "left",
        r#"{"name": "s", "function": "sum", "column": "d", "type": "decimal(10,3)"}"#,
    );
    let m = data_error(run(&narrow, &inputs(), &[("b", three_keys()), ("t", big)]));
    assert!(m.contains("`s`"), "{m}");
}

#[test]
fn integer_sum_overflow_is_an_error() {
    let wide = schema(&[("k", DataType::Int64), ("v", DataType::Int64)]);
    let rows = batch(
        &wide,
        vec![
            Arc::new(Int64Array::from(vec![1, 1])),
            Arc::new(Int64Array::from(vec![i64::MAX, 1])),
        ],
    );
    let options = r#"{"base": {"input": "b", "key": ["k"], "columns": ["k"]},
        "joins": [{"input": "w", "on": {"k": "k"}, "aggregates": [{"name": "s", "function": "sum", "column": "v"}]}]}"#;
    let m = data_error(run(
        options,
        &[("b", base_schema()), ("w", wide)],
        &[("b", three_keys()), ("w", rows)],
    ));
    assert!(m.contains("overflow"), "{m}");
}

#[test]
fn large_outputs_are_split_and_sorted() {
    let n = 150_000i64;
    let b = base(
        &(0..n)
            .rev()
            .map(|k| (Some(k), None, None))
            .collect::<Vec<_>>(),
    );
    let options = r#"{"base": {"input": "b", "key": ["k"], "columns": ["k"]}}"#;
    let inputs: Vec<(String, SchemaRef)> = vec![("b".into(), base_schema())];
    let mut engine = crate::Engine::new(options, &inputs).unwrap();
    engine.push("b", &b).unwrap();
    engine.push("other", &b).unwrap();
    assert_eq!(engine.rows_in().get("b"), Some(&(n as u64)));
    let out = engine.finish().unwrap();
    assert_eq!(
        out.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
        [65536, 65536, 18928]
    );
    let first = out[1]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .value(0);
    assert_eq!(first, 65536);
}
