//! String functions on [`sample`]'s `s`: `abc`, `Émile`, NULL, `  pad  `,
//! `a_b%c` (and an ASCII-only batch for the kernels' fast paths).

use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, StringArray};

use super::*;

fn strs(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn ascii() -> RecordBatch {
    batch(vec![(
        "s",
        Arc::new(StringArray::from(vec![
            Some("Hello"),
            None,
            Some(" x "),
            Some(""),
        ])),
    )])
}

#[test]
fn length_counts_characters_not_bytes() {
    let b = sample();
    let lengths = Arc::new(Int32Array::from(vec![
        Some(3),
        Some(5),
        None,
        Some(7),
        Some(5),
    ])) as ArrayRef;
    same(values("length(s)", &b), lengths.clone());
    same(values("char_length(s)", &b), lengths.clone());
    same(values("CHARACTER_LENGTH(s)", &b), lengths);
    assert_eq!(truth("length(s) = 5"), vec![F, T, N, F, T]);
    assert_eq!(truth("length(s) BETWEEN 3 AND 5"), vec![T, T, N, F, T]);
    same(
        values("length(s)", &ascii()),
        Arc::new(Int32Array::from(vec![Some(5), None, Some(3), Some(0)])) as ArrayRef,
    );
    assert_eq!(truth("length(NULL) IS NULL"), vec![T; 5]);
    assert_eq!(truth("length('Émile') = 5"), vec![T; 5]);
}

#[test]
fn lower_and_upper() {
    let b = sample();
    same(
        values("lower(s)", &b),
        strs(&[
            Some("abc"),
            Some("émile"),
            None,
            Some("  pad  "),
            Some("a_b%c"),
        ]),
    );
    same(
        values("UPPER(s)", &b),
        strs(&[
            Some("ABC"),
            Some("ÉMILE"),
            None,
            Some("  PAD  "),
            Some("A_B%C"),
        ]),
    );
    same(
        values("upper(s)", &ascii()),
        strs(&[Some("HELLO"), None, Some(" X "), Some("")]),
    );
    same(
        values("lower(s)", &ascii()),
        strs(&[Some("hello"), None, Some(" x "), Some("")]),
    );
    // The fast path also holds for a slice of a column.
    let sliced = ascii().slice(2, 2);
    same(values("upper(s)", &sliced), strs(&[Some(" X "), Some("")]));
    assert_eq!(truth("upper(s) = 'ABC'"), vec![T, F, N, F, F]);
}

#[test]
fn trim_family() {
    let b = sample();
    same(
        values("trim(s)", &b),
        strs(&[Some("abc"), Some("Émile"), None, Some("pad"), Some("a_b%c")]),
    );
    same(values("ltrim(s)", &b).slice(3, 1), strs(&[Some("pad  ")]));
    same(values("rtrim(s)", &b).slice(3, 1), strs(&[Some("  pad")]));
    same(values("btrim(s)", &b).slice(3, 1), strs(&[Some("pad")]));
    same(
        values("TRIM(BOTH 'a' FROM s)", &b),
        strs(&[
            Some("bc"),
            Some("Émile"),
            None,
            Some("  pad  "),
            Some("_b%c"),
        ]),
    );
    same(
        values("TRIM(LEADING ' p' FROM s)", &b).slice(3, 1),
        strs(&[Some("ad  ")]),
    );
    same(
        values("TRIM(TRAILING ' ' FROM s)", &b).slice(3, 1),
        strs(&[Some("  pad")]),
    );
    same(values("trim(s, 'ac')", &b).slice(0, 1), strs(&[Some("b")]));
    // SQL trims spaces only.
    let tabs = batch(vec![("s", strs(&[Some("\tx ")]))]);
    same(values("trim(s)", &tabs), strs(&[Some("\tx")]));
    assert_eq!(truth("length(trim(s)) > 0"), vec![T, T, N, T, T]);
    assert!(plan_error("trim(s, s) = 'a'").contains("must be a constant"));
}

#[test]
fn substring_forms() {
    let b = sample();
    same(
        values("substring(s, 2, 2)", &b),
        strs(&[Some("bc"), Some("mi"), None, Some(" p"), Some("_b")]),
    );
    same(
        values("SUBSTRING(s FROM 3)", &b),
        strs(&[Some("c"), Some("ile"), None, Some("pad  "), Some("b%c")]),
    );
    same(
        values("SUBSTRING(s FROM 2 FOR 3)", &b),
        values("substr(s, 2, 3)", &b),
    );
    // Positions before the first character count towards the length.
    same(
        values("substr(s, 0, 2)", &b),
        strs(&[Some("a"), Some("É"), None, Some(" "), Some("a")]),
    );
    same(
        values("substring(s, -1, 3)", &b),
        values("substr(s, 0, 2)", &b),
    );
    same(
        values("substring(s, 10)", &b),
        strs(&[Some(""), Some(""), None, Some(""), Some("")]),
    );
    same(
        values("substring(s, 1, 0)", &b),
        strs(&[Some(""), Some(""), None, Some(""), Some("")]),
    );
    same(values("substring(s, NULL, 1)", &b), strs(&[None; 5]));
    // Bounds from columns: row by row; a negative length gives NULL.
    same(
        values("substring(s, i, 2)", &b),
        strs(&[Some("ab"), Some("mi"), None, Some(""), Some("")]),
    );
    same(
        values("substring(s, 1, b)", &b),
        strs(&[Some("abc"), Some(""), None, Some(""), None]),
    );
    assert_eq!(truth("substring(s, 1, 1) = 'a'"), vec![T, F, N, F, T]);
    assert!(plan_error("substring(s, 1, -1) = 'a'").contains("must not be negative"));
    assert!(plan_error("substring(s, 'a') = 'a'").contains("must be an integer"));
    assert!(plan_error("substring(i, 1) = 'a'").contains("must be STRING"));
}

#[test]
fn regexp_like() {
    assert_eq!(truth("regexp_like(s, '^a')"), vec![T, F, N, F, T]);
    assert_eq!(truth("regexp_like(s, 'ABC', 'i')"), vec![T, F, N, F, F]);
    // POSIX classes are ASCII, `\p{L}` is Unicode.
    assert_eq!(
        truth("regexp_like(s, '^[[:alpha:]]+$')"),
        vec![T, F, N, F, F]
    );
    assert_eq!(truth("regexp_like(s, '^\\p{L}+$')"), vec![T, T, N, F, F]);
    assert_eq!(truth("NOT regexp_like(s, '^a')"), vec![F, T, N, T, F]);
    assert_eq!(truth("s RLIKE 'c$'"), vec![T, F, N, F, T]);
    assert_eq!(truth("s NOT RLIKE 'c$'"), vec![F, T, N, T, F]);
    assert_eq!(truth("regexp_like(s, '')"), vec![T, T, N, T, T]);
    assert_eq!(truth("regexp_like(s, NULL)"), vec![N; 5]);
    // A pattern per row.
    assert_eq!(truth("regexp_like(s, s)"), vec![T, T, N, T, T]);
    assert_eq!(truth("regexp_like('abc', s)"), vec![T, F, N, F, F]);
    assert!(plan_error("regexp_like(s, '(')").contains("regexp_like(s, '(')"));
    assert!(plan_error("regexp_like(s, 'a', 'z')").contains("regexp_like"));
    assert!(plan_error("regexp_like(s)").contains("regexp_like takes 2 to 3 arguments, got 1"));
}

#[test]
fn unknown_and_misused_functions() {
    assert_eq!(
        plan_error("foo(s)"),
        "unknown function `foo`; supported: length (char_length), lower, upper, trim, ltrim, rtrim, \
         substring (substr), regexp_like, coalesce"
    );
    assert!(
        plan_error("length(i) > 0")
            .contains("the argument of length must be STRING, but `i` is INT")
    );
    assert!(plan_error("length(s, s) > 0").contains("length takes 1 arguments, got 2"));
    assert!(plan_error("count(*) > 0").contains("only plain arguments"));
    assert!(plan_error("lower(s) OVER () = 'a'").contains("only plain function calls"));
}
