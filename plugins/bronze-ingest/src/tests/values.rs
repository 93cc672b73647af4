use crate::values::*;

#[test]
fn decimals_parse_exactly() {
    let cases: [(&str, Option<i128>); 18] = [
        ("12.34", Some(1234)),
        ("-12.34", Some(-1234)),
        ("+0.5", Some(50)),
        ("12", Some(1200)),
        ("12.", Some(1200)),
        (".5", Some(50)),
        ("0000000000012.3", Some(1230)),
        ("9999999999.99", Some(999_999_999_999)),
        ("10000000000", None),
        ("12.345", None),
        ("12.340", None),
        ("1.5e2", Some(15000)),
        ("1234e-2", Some(1234)),
        ("1e-3", None),
        ("", None),
        ("-", None),
        ("1.2.3", None),
        ("0x10", None),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_decimal(text, 12, 2), expected, "{text}");
    }
    assert_eq!(
        parse_decimal("99999999999999999999999999999999999999", 38, 0),
        Some(10i128.pow(38) - 1)
    );
    assert_eq!(
        parse_decimal("999999999999999999999999999999999999999", 38, 0),
        None
    );
    assert_eq!(parse_decimal("1e99999", 38, 0), None);
}

#[test]
fn timestamps_truncate_to_microseconds_and_convert_offsets() {
    assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_timestamp("1970-01-01T00:00:00.0000019Z"), Some(1));
    assert_eq!(
        parse_timestamp("1970-01-01T00:00:00.999999999999Z"),
        Some(999_999)
    );
    assert_eq!(parse_timestamp("1970-01-01T01:00:00+01:00"), Some(0));
    assert_eq!(parse_timestamp("1969-12-31T19:00:00.000001-05:00"), Some(1));
    assert_eq!(parse_timestamp("2026-03-01"), None);
    assert_eq!(parse_timestamp("2026-03-01T10:15:00"), None);
    assert_eq!(parse_timestamp(""), None);
}

#[test]
fn dates_are_exactly_yyyy_mm_dd() {
    assert_eq!(parse_date("1970-01-01"), Some(0));
    assert_eq!(parse_date("2026-03-01"), Some(20513));
    assert_eq!(parse_date("1969-12-31"), Some(-1));
    for bad in [
        "2026-3-01",
        "2026-03-1",
        "+2026-03-01",
        "2026-02-30",
        "20260301",
        "2026-03-01T00:00:00Z",
    ] {
        assert_eq!(parse_date(bad), None, "{bad}");
    }
}

#[test]
fn integers_booleans_and_floats() {
    assert_eq!(parse_i64("-42"), Some(-42));
    assert_eq!(parse_i64("1.0"), None);
    assert_eq!(parse_i64(" 1"), None);
    assert_eq!(parse_i32("2147483647"), Some(i32::MAX));
    assert_eq!(parse_i32("2147483648"), None);
    assert_eq!(parse_bool("true"), Some(true));
    assert_eq!(parse_bool("yes"), None);
    assert_eq!(parse_f64("-1.25e2"), Some(-125.0));
    assert_eq!(parse_f64("abc"), None);
}
