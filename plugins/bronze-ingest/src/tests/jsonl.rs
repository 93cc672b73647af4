use super::*;

const PATH: &str = "/landing/addresses/a.jsonl";

fn addresses() -> Options {
    options(
        "jsonl",
        &[
            ("customer_id", "int64"),
            ("state", "string"),
            ("updated_at", "timestamp"),
        ],
        1000,
    )
}

fn run(text: &str) -> Output {
    ingest(&addresses(), PATH, text.as_bytes(), 1 << 20).unwrap()
}

#[test]
fn objects_become_rows_whatever_the_key_order() {
    let text = concat!(
        r#"{"customer_id": 1, "state": "CA", "updated_at": "2026-03-01T10:15:00Z"}"#,
        "\n",
        r#"{"updated_at": "2026-03-01T12:15:00.5+02:00", "state": "NY", "customer_id": -2}"#,
        "\n"
    );
    let out = run(text);
    assert_eq!(out.i64s("customer_id"), vec![Some(1), Some(-2)]);
    assert_eq!(out.strings("state"), vec![s("CA"), s("NY")]);
    let base = micros("2026-03-01T10:15:00Z");
    assert_eq!(
        out.timestamps("updated_at"),
        vec![Some(base), Some(base + 500_000)]
    );
    assert_eq!(out.rescued(), vec![None, None]);
    assert_eq!(
        out.total(),
        BatchStats {
            rows: 2,
            rescued_rows: 0,
            malformed_records: 0
        }
    );
    out.assert_metadata(PATH);
}

#[test]
fn null_and_missing_fields_are_null_without_rescue() {
    let out = run("{\"customer_id\": 1, \"state\": null}\n{\"customer_id\": 2}\n");
    assert_eq!(out.strings("state"), vec![None, None]);
    assert_eq!(out.timestamps("updated_at"), vec![None, None]);
    assert_eq!(out.rescued(), vec![None, None]);
}

#[test]
fn a_field_of_the_wrong_json_type_is_rescued_as_the_original_value() {
    let text = concat!(
        r#"{"customer_id": "7", "state": 5, "updated_at": "2026-03-01T10:15:00Z"}"#,
        "\n",
        r#"{"customer_id": 1.0, "state": ["x"], "updated_at": 1772000000}"#,
        "\n",
        r#"{"customer_id": 9223372036854775808, "state": true, "updated_at": "not a time"}"#,
        "\n",
    );
    let out = run(text);
    assert_eq!(out.i64s("customer_id"), vec![None, None, None]);
    assert_eq!(out.strings("state"), vec![None, None, None]);
    assert_eq!(
        out.timestamps("updated_at"),
        vec![Some(micros("2026-03-01T10:15:00Z")), None, None]
    );
    assert_eq!(
        out.rescued(),
        vec![
            json(r#"{"customer_id": "7", "state": 5}"#),
            json(r#"{"customer_id": 1.0, "state": ["x"], "updated_at": 1772000000}"#),
            json(
                r#"{"customer_id": 9223372036854775808, "state": true, "updated_at": "not a time"}"#
            ),
        ]
    );
    assert_eq!(out.total().rescued_rows, 3);
}

#[test]
fn unknown_fields_are_rescued_unless_null() {
    let out =
        run("{\"customer_id\": 1, \"zip\": \"02134\", \"n\": null, \"tags\": {\"a\": [1, 2]}}\n");
    assert_eq!(out.i64s("customer_id"), vec![Some(1)]);
    assert_eq!(
        out.rescued(),
        vec![json(r#"{"zip": "02134", "tags": {"a": [1, 2]}}"#)]
    );
}

#[test]
fn lines_that_are_not_objects_or_not_json_are_kept_raw() {
    let text = "[1, 2]\n\"text\"\n{\"customer_id\": 1,\n  {\"customer_id\": 3}  \nnull\n";
    let out = run(text);
    assert_eq!(
        out.i64s("customer_id"),
        vec![None, None, None, Some(3), None]
    );
    assert_eq!(
        out.rescued(),
        vec![
            json(r#"{"_raw": "[1, 2]"}"#),
            json(r#"{"_raw": "\"text\""}"#),
            json(r#"{"_raw": "{\"customer_id\": 1,"}"#),
            None,
            json(r#"{"_raw": "null"}"#),
        ]
    );
    assert_eq!(
        out.total(),
        BatchStats {
            rows: 5,
            rescued_rows: 4,
            malformed_records: 4
        }
    );
}

#[test]
fn blank_lines_crlf_bom_and_no_final_newline() {
    let text = "\u{FEFF}{\"customer_id\": 1}\r\n\r\n   \n\t\r\n{\"customer_id\": 2}";
    let out = run(text);
    assert_eq!(out.i64s("customer_id"), vec![Some(1), Some(2)]);
    assert_eq!(out.rescued(), vec![None, None]);
}

#[test]
fn every_type_from_json() {
    let opts = options(
        "jsonl",
        &[
            ("i", "int32"),
            ("f", "float64"),
            ("b", "boolean"),
            ("d", "date"),
            ("m", "decimal(12,2)"),
        ],
        100,
    );
    let text = concat!(
        r#"{"i": -5, "f": 1.5, "b": true, "d": "2026-03-01", "m": 12.34}"#,
        "\n",
        r#"{"i": 2147483648, "f": "1.5", "b": "true", "d": 20513, "m": "1234567890.12"}"#,
        "\n",
        r#"{"i": 7, "f": 3, "b": false, "d": "1970-01-01", "m": 12.345}"#,
        "\n",
        r#"{"m": "12345678901.00"}"#,
        "\n",
    );
    let out = ingest(&opts, PATH, text.as_bytes(), 1 << 20).unwrap();
    assert_eq!(out.i32s("i"), vec![Some(-5), None, Some(7), None]);
    assert_eq!(out.f64s("f"), vec![Some(1.5), None, Some(3.0), None]);
    assert_eq!(out.bools("b"), vec![Some(true), None, Some(false), None]);
    assert_eq!(out.dates("d"), vec![Some(20513), None, Some(0), None]);
    assert_eq!(
        out.decimals("m"),
        vec![Some(1234), Some(123_456_789_012), None, None]
    );
    assert_eq!(
        out.rescued(),
        vec![
            None,
            json(r#"{"i": 2147483648, "f": "1.5", "b": "true", "d": 20513}"#),
            json(r#"{"m": 12.345}"#),
            json(r#"{"m": "12345678901.00"}"#),
        ]
    );
}

#[test]
fn lines_split_across_chunks_give_the_same_rows() {
    let text = concat!(
        "\u{FEFF}",
        r#"{"customer_id": 1, "state": "Zürich €", "updated_at": "2026-03-01T10:15:00.1234567Z"}"#,
        "\r\n",
        r#"{"customer_id": "x", "extra": "ünï"}"#,
        "\n\n",
        "not json\n",
        r#"{"customer_id": 4}"#,
    );
    let expected = run(text);
    assert_eq!(expected.rows(), 4);
    assert_eq!(expected.strings("state")[0], s("Zürich €"));
    assert_eq!(
        expected.timestamps("updated_at")[0],
        Some(micros("2026-03-01T10:15:00Z") + 123_456)
    );
    for chunk in [1, 2, 3, 5, 8, 13] {
        let out = ingest(&addresses(), PATH, text.as_bytes(), chunk).unwrap();
        assert_eq!(
            out.i64s("customer_id"),
            expected.i64s("customer_id"),
            "chunk {chunk}"
        );
        assert_eq!(
            out.strings("state"),
            expected.strings("state"),
            "chunk {chunk}"
        );
        assert_eq!(
            out.timestamps("updated_at"),
            expected.timestamps("updated_at"),
            "chunk {chunk}"
        );
        assert_eq!(out.rescued(), expected.rescued(), "chunk {chunk}");
    }
}

#[test]
fn invalid_utf8_fails_naming_the_file_and_byte() {
    let mut bytes = b"{\"customer_id\": 1}\n{\"state\": \"".to_vec();
    let bad_at = bytes.len();
    bytes.extend_from_slice(b"\xFF\"}\n");
    for chunk in [1, 7, 1 << 20] {
        let err = ingest(&addresses(), PATH, &bytes, chunk).err().unwrap();
        assert_eq!(
            err,
            Error::InvalidData(format!("{PATH}: not valid UTF-8 at byte {bad_at}")),
            "chunk {chunk}"
        );
    }
}

#[test]
fn an_empty_file_gives_no_rows() {
    for text in ["", "\n", "\u{FEFF}", "  \r\n\n"] {
        assert_eq!(run(text).rows(), 0, "{text:?}");
    }
}

#[test]
fn batches_hold_at_most_batch_rows() {
    let opts = options("jsonl", &[("customer_id", "int64")], 3);
    let text: String = (0..7)
        .map(|i| format!("{{\"customer_id\": {i}}}\n"))
        .collect();
    let out = ingest(&opts, PATH, text.as_bytes(), 4).unwrap();
    let sizes: Vec<usize> = out.batches.iter().map(RecordBatch::num_rows).collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(
        out.i64s("customer_id"),
        (0..7).map(Some).collect::<Vec<_>>()
    );
}
