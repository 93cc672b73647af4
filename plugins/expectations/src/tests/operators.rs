//! Operators, literals, casts and NULL semantics on [`sample`]'s rows:
//!
//! | row | i | b | f | d | s | t | day | ts |
//! |---|---|---|---|---|---|---|---|---|
//! | 0 | 1 | 100 | 1.5 | 12.34 | abc | true | 2026-01-01 | 2026-01-01T00:00:00Z |
//! | 1 | 2 | 0 | 0.0 | 0.00 | Émile | false | 2025-12-31 | 2025-12-31T23:59:59Z |
//! | 2 | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL |
//! | 3 | -5 | 0 | -0.5 | -5.00 | `  pad  ` | true | 2026-03-01 | 2026-03-01T10:15:00Z |
//! | 4 | 10 | -7 | 2.0 | 100.50 | a_b%c | false | 2026-01-02 | 2026-01-01T00:00:00.000001Z |

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, StringArray};
use arrow_schema::DataType;

use super::*;

fn check(cases: &[(&str, [Option<bool>; 5])]) {
    for (sql, expected) in cases {
        assert_eq!(truth(sql), expected.to_vec(), "{sql}");
    }
}

#[test]
fn comparisons() {
    check(&[
        ("i = 2", [F, T, N, F, F]),
        ("i <> 2", [T, F, N, T, T]),
        ("i != 2", [T, F, N, T, T]),
        ("i < 2", [T, F, N, T, F]),
        ("i <= 2", [T, T, N, T, F]),
        ("i > 1", [F, T, N, F, T]),
        ("i >= 1", [T, T, N, F, T]),
        ("2 < i", [F, F, N, F, T]),
        // INT with BIGINT, DOUBLE with INT.
        ("i = b", [F, F, N, F, F]),
        ("i > b", [F, T, N, F, T]),
        ("f > i", [T, F, N, T, F]),
        ("s = 'abc'", [T, F, N, F, F]),
        ("s < 'b'", [T, F, N, T, T]),
        ("s = 'it''s'", [F, F, N, F, F]),
        // Text against a literal either way round, short and long.
        ("s <> 'abc'", [F, T, N, T, T]),
        ("'Émile' = s", [F, T, N, F, F]),
        ("'  pad  ' <> s", [T, T, N, F, T]),
        ("s = ''", [F, F, N, F, F]),
        ("s = 'a much longer literal'", [F, F, N, F, F]),
        ("t = TRUE", [T, F, N, T, F]),
        ("t", [T, F, N, T, F]),
        ("\"Mixed Case\" = 3", [F, F, N, T, F]),
        ("1 = 1", [T, T, T, T, T]),
        ("1 = 2", [F, F, F, F, F]),
    ]);
}

#[test]
fn comparisons_with_null_are_null() {
    check(&[
        ("i = NULL", [N, N, N, N, N]),
        ("NULL = NULL", [N, N, N, N, N]),
        ("s <> NULL", [N, N, N, N, N]),
        ("CAST(NULL AS BOOLEAN)", [N, N, N, N, N]),
        ("i IS DISTINCT FROM 2", [T, F, T, T, T]),
        ("i IS NOT DISTINCT FROM NULL", [F, F, T, F, F]),
        ("NULL IS NOT DISTINCT FROM NULL", [T, T, T, T, T]),
    ]);
}

#[test]
fn and_or_not_follow_kleene() {
    check(&[
        ("t AND i > 1", [F, F, N, F, F]),
        ("t AND NULL", [N, F, N, N, F]),
        ("t OR NULL", [T, N, N, T, N]),
        ("NULL AND FALSE", [F, F, F, F, F]),
        ("NULL OR TRUE", [T, T, T, T, T]),
        ("NOT t", [F, T, N, F, T]),
        ("NOT NULL", [N, N, N, N, N]),
        ("NOT (i > 0)", [F, F, N, T, F]),
        ("i > 0 OR s IS NULL", [T, T, T, F, T]),
        ("(i > 0 AND t) OR (b = 0 AND NOT t)", [T, T, N, F, F]),
    ]);
}

#[test]
fn is_tests() {
    check(&[
        ("i IS NULL", [F, F, T, F, F]),
        ("i IS NOT NULL", [T, T, F, T, T]),
        ("NULL IS NULL", [T, T, T, T, T]),
        ("t IS TRUE", [T, F, F, T, F]),
        ("t IS NOT TRUE", [F, T, T, F, T]),
        ("t IS FALSE", [F, T, F, F, T]),
        ("t IS NOT FALSE", [T, F, T, T, F]),
        ("(i > 1) IS UNKNOWN", [F, F, T, F, F]),
        ("(i > 1) IS NOT UNKNOWN", [T, T, F, T, T]),
    ]);
}

#[test]
fn in_lists_with_sql_null_rules() {
    check(&[
        ("i IN (1, 10)", [T, F, N, F, T]),
        ("i NOT IN (1, 10)", [F, T, N, T, F]),
        // No match and a NULL item: unknown.
        ("i IN (1, NULL)", [T, N, N, N, N]),
        ("i NOT IN (1, NULL)", [F, N, N, N, N]),
        ("s IN ('abc', 'x')", [T, F, N, F, F]),
        // Text lists take a one-pass path; the same rules hold there.
        ("s NOT IN ('abc', 'x')", [F, T, N, T, T]),
        ("s IN ('ab', 'abcd', 'Émile', 'a_b%c')", [F, T, N, F, T]),
        ("s IN ('abc', NULL)", [T, N, N, N, N]),
        ("s NOT IN ('abc', NULL)", [F, N, N, N, N]),
        ("s IN (s, 'x')", [T, T, N, T, T]),
        ("s IN ('  pad  ')", [F, F, N, T, F]),
        ("d IN (0, 12.34)", [T, T, N, F, F]),
        ("i IN (b, 2)", [F, T, N, F, F]),
        ("NULL IN (1, 2)", [N, N, N, N, N]),
    ]);
}

#[test]
fn between_is_inclusive() {
    check(&[
        ("i BETWEEN 1 AND 2", [T, T, N, F, F]),
        ("i NOT BETWEEN 1 AND 2", [F, F, N, T, T]),
        ("i BETWEEN NULL AND 5", [N, N, N, N, F]),
        ("d BETWEEN -5 AND 12.34", [T, T, N, T, F]),
        ("s BETWEEN 'a' AND 'b'", [T, F, N, F, T]),
        ("day BETWEEN '2026-01-01' AND '2026-01-02'", [T, F, N, F, T]),
    ]);
}

#[test]
fn like_and_ilike() {
    check(&[
        ("s LIKE 'a%'", [T, F, N, F, T]),
        ("s LIKE '_bc'", [T, F, N, F, F]),
        ("s LIKE '%'", [T, T, N, T, T]),
        ("s NOT LIKE 'a%'", [F, T, N, T, F]),
        ("s LIKE 'É%'", [F, T, N, F, F]),
        ("s LIKE '_mile'", [F, T, N, F, F]),
        // Backslash escapes a wildcard.
        ("s LIKE '%\\%%'", [F, F, N, F, T]),
        ("s LIKE '%\\%%' ESCAPE '\\'", [F, F, N, F, T]),
        ("s LIKE 'a\\_b%'", [F, F, N, F, T]),
        ("s ILIKE 'ABC'", [T, F, N, F, F]),
        ("s NOT ILIKE 'A%'", [F, T, N, T, F]),
        ("s LIKE NULL", [N, N, N, N, N]),
        ("'abc' LIKE 'a%'", [T, T, T, T, T]),
        // A pattern per row.
        ("s LIKE s", [T, T, N, T, T]),
        ("'abc' LIKE s", [T, F, N, F, F]),
    ]);
    assert!(plan_error("s LIKE 'a%' ESCAPE '!'").contains("only ESCAPE '\\' is supported"));
    assert!(plan_error("i LIKE 'a%'").contains("must be STRING"));
}

#[test]
fn integer_arithmetic_is_bigint() {
    let b = sample();
    let ints = |v: Vec<Option<i64>>| Arc::new(Int64Array::from(v)) as ArrayRef;
    same(
        values("i + 1", &b),
        ints(vec![Some(2), Some(3), None, Some(-4), Some(11)]),
    );
    same(
        values("i - b", &b),
        ints(vec![Some(-99), Some(2), None, Some(-5), Some(17)]),
    );
    same(
        values("i * 2", &b),
        ints(vec![Some(2), Some(4), None, Some(-10), Some(20)]),
    );
    same(
        values("i % 3", &b),
        ints(vec![Some(1), Some(2), None, Some(-2), Some(1)]),
    );
    same(
        values("-i", &b),
        Arc::new(Int32Array::from(vec![
            Some(-1),
            Some(-2),
            None,
            Some(5),
            Some(-10),
        ])) as ArrayRef,
    );
    same(values("+i", &b), values("i", &b));
    check(&[
        ("i + 1 = 2", [T, F, N, F, F]),
        ("- -i = i", [T, T, N, T, T]),
        ("2 + 3 * 4 = 14", [T, T, T, T, T]),
        ("(2 + 3) * 4 = 20", [T, T, T, T, T]),
    ]);
}

#[test]
fn division_of_integers_is_double_and_by_zero_is_null() {
    let b = sample();
    let floats = |v: Vec<Option<f64>>| Arc::new(Float64Array::from(v)) as ArrayRef;
    same(
        values("i / 2", &b),
        floats(vec![Some(0.5), Some(1.0), None, Some(-2.5), Some(5.0)]),
    );
    same(
        values("i / b", &b),
        floats(vec![Some(0.01), None, None, None, Some(10.0 / -7.0)]),
    );
    same(
        values("i % b", &b),
        Arc::new(Int64Array::from(vec![Some(1), None, None, None, Some(3)])) as ArrayRef,
    );
    same(values("f / 0", &b), floats(vec![None; 5]));
    same(
        values("f / f", &b),
        floats(vec![Some(1.0), None, None, Some(1.0), Some(1.0)]),
    );
    check(&[
        ("7 / 2 = 3.5", [T, T, T, T, T]),
        ("i / 0 IS NULL", [T, T, T, T, T]),
        ("1 / 0.0 IS NULL", [T, T, T, T, T]),
        ("d / 0 IS NULL", [T, T, T, T, T]),
        ("d % b IS NULL", [F, T, T, T, F]),
        ("1 / (b - b) IS NULL", [T, T, T, T, T]),
    ]);
}

#[test]
fn overflow_is_null_not_an_error() {
    check(&[
        ("b * 9223372036854775807 > 0", [N, F, N, F, N]),
        ("9223372036854775807 + 1 > 0", [N, N, N, N, N]),
        ("-b > 0", [F, F, N, F, T]),
    ]);
}

#[test]
fn decimal_arithmetic_keeps_exact_values() {
    let b = sample();
    same(
        values("d * 2", &b),
        decimals(
            &[Some(2468), Some(0), None, Some(-1000), Some(20100)],
            14,
            2,
        ),
    );
    same(
        values("d + 0.005", &b),
        decimals(
            &[Some(12345), Some(5), None, Some(-4995), Some(100505)],
            14,
            3,
        ),
    );
    check(&[
        ("d + i > 20", [F, F, N, F, T]),
        ("d - d = 0", [T, T, N, T, T]),
        ("d * 1.5 = 18.51", [T, F, N, F, F]),
        ("d / 2 = 6.17", [T, F, N, F, F]),
        ("d + f > 13", [T, F, N, F, T]),
    ]);
    assert_eq!(values("d + f", &b).data_type(), &DataType::Float64);
}

#[test]
fn decimal_comparisons_are_exact() {
    check(&[
        ("d >= 0", [T, T, N, F, T]),
        ("d > 12", [T, F, N, F, T]),
        ("d > 12.335", [T, F, N, F, T]),
        ("d > 12.345", [F, F, N, F, T]),
        ("d = 12.340", [T, F, N, F, F]),
        ("d = 100.5", [F, F, N, F, T]),
        ("d = i", [F, F, N, T, F]),
        ("d > b", [F, F, N, F, T]),
        ("d < 1e2", [T, T, N, T, F]),
        ("d > f", [T, F, N, F, T]),
        ("b < 99999999999999999999", [T, T, N, T, T]),
        ("d <> -5", [T, T, N, F, T]),
    ]);
}

#[test]
fn dates_and_timestamps_compare_with_literals() {
    check(&[
        ("day = DATE '2026-01-01'", [T, F, N, F, F]),
        ("day > '2026-01-01'", [F, F, N, T, T]),
        ("'2026-01-01' < day", [F, F, N, T, T]),
        ("day IN ('2026-01-01', '2026-03-01')", [T, F, N, T, F]),
        ("ts >= TIMESTAMP '2026-01-01T00:00:00Z'", [T, F, N, T, T]),
        ("ts > '2026-01-01T00:00:00Z'", [F, F, N, T, T]),
        ("ts > '2026-01-01 00:00:00'", [F, F, N, T, T]),
        ("ts > '2026-01-01T01:00:00+01:00'", [F, F, N, T, T]),
        ("ts = '2026-03-01T10:15:00.000000Z'", [F, F, N, T, F]),
        ("ts < '2026-01-01'", [F, T, N, F, F]),
        ("day < ts", [F, T, N, T, F]),
        ("day > TIMESTAMP '2026-01-01T12:00:00Z'", [F, F, N, T, T]),
        ("ts > DATE '2026-01-01'", [F, F, N, T, T]),
        ("'2026-01-01' = DATE '2026-01-01'", [T, T, T, T, T]),
    ]);
    assert!(plan_error("day = '2026-13-01'").starts_with("cannot read '2026-13-01' as DATE"));
    assert!(plan_error("ts > 'garbage'").starts_with("cannot read 'garbage' as TIMESTAMP"));
    assert!(plan_error("DATE 'x' IS NULL").starts_with("cannot read 'x' as DATE"));
}

#[test]
fn case_expressions() {
    let b = sample();
    let strs = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as ArrayRef;
    same(
        values(
            "CASE WHEN i > 1 THEN 'big' WHEN i IS NULL THEN 'none' ELSE 'small' END",
            &b,
        ),
        strs(vec![
            Some("small"),
            Some("big"),
            Some("none"),
            Some("small"),
            Some("big"),
        ]),
    );
    same(
        values("CASE i WHEN 1 THEN 'one' WHEN 10 THEN 'ten' END", &b),
        strs(vec![Some("one"), None, None, None, Some("ten")]),
    );
    same(
        values("CASE WHEN t THEN d ELSE 0 END", &b),
        decimals(&[Some(1234), Some(0), Some(0), Some(-500), Some(0)], 12, 2),
    );
    check(&[
        (
            "(CASE WHEN i > 1 THEN i ELSE NULL END) IS NULL",
            [T, F, T, T, F],
        ),
        ("CASE WHEN i > 1 THEN TRUE ELSE t END", [T, T, N, T, T]),
        ("CASE WHEN 1 = 1 THEN i > 1 END", [F, T, N, F, T]),
        ("CASE WHEN NULL THEN TRUE ELSE FALSE END", [F, F, F, F, F]),
        (
            "CASE NULL WHEN NULL THEN TRUE ELSE FALSE END",
            [F, F, F, F, F],
        ),
        ("CASE WHEN i > 1 THEN NULL END IS NULL", [T, T, T, T, T]),
    ]);
    assert!(plan_error("CASE WHEN i THEN 1 END = 1").contains("must be BOOLEAN"));
    assert!(plan_error("CASE WHEN t THEN 1 ELSE 'x' END = 1").contains("cannot compare"));
}

#[test]
fn casts() {
    check(&[
        ("CAST(i AS STRING) = '10'", [F, F, N, F, T]),
        ("CAST(i AS VARCHAR) = '10'", [F, F, N, F, T]),
        ("CAST(s AS INT) IS NULL", [T, T, T, T, T]),
        ("CAST('12' AS INT) = 12", [T, T, T, T, T]),
        ("CAST(b AS INT) = 0", [F, T, N, T, F]),
        ("CAST(i AS BIGINT) = b", [F, F, N, F, F]),
        ("CAST(i AS DOUBLE) / 4 = 0.25", [T, F, N, F, F]),
        ("CAST(d AS DECIMAL(5,1)) = 12.3", [T, F, N, F, F]),
        ("CAST(day AS TIMESTAMP) < ts", [F, T, N, T, F]),
        ("CAST(ts AS DATE) = day", [T, T, N, T, F]),
        ("CAST(t AS BIGINT) = 1", [T, F, N, T, F]),
        ("CAST('true' AS BOOLEAN)", [T, T, T, T, T]),
        ("CAST('2026-01-01' AS DATE) = day", [T, F, N, F, F]),
        (
            "CAST('2026-01-01T00:00:00Z' AS TIMESTAMP) = ts",
            [T, F, N, F, F],
        ),
        ("TRY_CAST(s AS INT) IS NULL", [T, T, T, T, T]),
        ("i::BIGINT = 2", [F, T, N, F, F]),
    ]);
    assert!(plan_error("CAST('x' AS INT) = 1").contains("cannot read 'x' as INT"));
    assert!(plan_error("CAST(i AS BLOB) IS NULL").contains("is not supported"));
    assert!(plan_error("CAST(i AS DECIMAL(40,2)) IS NULL").contains("precision"));
}

#[test]
fn coalesce() {
    let b = sample();
    same(
        values("COALESCE(s, 'none')", &b),
        Arc::new(StringArray::from(vec![
            "abc", "Émile", "none", "  pad  ", "a_b%c",
        ])) as ArrayRef,
    );
    check(&[
        ("COALESCE(i, 0) = 0", [F, F, T, F, F]),
        ("COALESCE(NULL, i, b) = 1", [T, F, N, F, F]),
        ("COALESCE(t, FALSE)", [T, F, F, T, F]),
        ("COALESCE(NULL, NULL) IS NULL", [T, T, T, T, T]),
        ("COALESCE(d, 1) = 1", [F, F, T, F, F]),
    ]);
}

#[test]
fn literals() {
    check(&[
        ("TRUE", [T, T, T, T, T]),
        ("FALSE", [F, F, F, F, F]),
        ("1.50 = 1.5", [T, T, T, T, T]),
        ("1e3 = 1000", [T, T, T, T, T]),
        ("-2147483648 < 0", [T, T, T, T, T]),
        ("9223372036854775807 > 0", [T, T, T, T, T]),
        ("0.1 + 0.2 = 0.3", [T, T, T, T, T]),
    ]);
    assert!(
        plan_error("1234567890123456789012345678901234567890 > 0").contains("more than 38 digits")
    );
}

#[test]
fn type_errors_name_the_operands() {
    assert_eq!(
        plan_error("s > 3"),
        "cannot compare `s` (STRING) with `3` (INT)"
    );
    assert_eq!(
        plan_error("t = 1"),
        "cannot compare `t` (BOOLEAN) with `1` (INT)"
    );
    assert_eq!(
        plan_error("day = i"),
        "cannot compare `day` (DATE) with `i` (INT)"
    );
    assert!(plan_error("i AND t").contains("must be BOOLEAN, but `i` is INT"));
    assert!(plan_error("i + s > 0").contains("arithmetic needs numbers, but `s` is STRING"));
    assert!(
        plan_error("-s = 'a'")
            .contains("the operand of a sign must be a number, but `s` is STRING")
    );
    assert!(plan_error("NOT i").contains("must be BOOLEAN"));
    assert_eq!(
        plan_error("x > 1"),
        "unknown column `x`; the input has i, b, f, d, s, t, day, ts, Mixed Case"
    );
    assert!(plan_error("\"I\" > 1").starts_with("unknown column `I`"));
    assert!(plan_error("a.i > 1").contains("qualified names"));
    assert!(plan_error("i = (SELECT 1)").contains("is not supported"));
    assert!(plan_error("s || 'x' = 'a'").contains("not supported"));
}

const STACK: usize = 384 * 1024;

#[test]
fn deep_expressions_are_rejected_not_overflowed() {
    let deep = format!("{}i{} > 0", "(".repeat(30), ")".repeat(30));
    assert_eq!(truth(&deep), vec![T, T, N, F, T]);
    let deeper = format!("{}i{} > 0", "(".repeat(40), ")".repeat(40));
    assert!(plan_error(&deeper).contains("nests too deeply"));
    let chain = vec!["i > 0"; 100].join(" AND ");
    assert_eq!(truth(&chain), vec![T, T, N, F, T]);
    // The deepest accepted expressions parse, plan and run on a third of the
    // component's 1 MiB stack.
    let deepest = format!("{}i{} > 0", "(-".repeat(14), ")".repeat(14));
    let chain = vec!["i > 0"; 120].join(" AND ");
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            assert_eq!(truth(&deepest), vec![T, T, N, F, T]);
            assert_eq!(truth(&chain), vec![T, T, N, F, T]);
        })
        .unwrap()
        .join()
        .unwrap();
    let too_deep = vec!["i > 0"; 200].join(" AND ");
    assert!(plan_error(&too_deep).contains("nests more than"));
}
