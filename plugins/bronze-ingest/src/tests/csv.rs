use super::*;

const PATH: &str = "/landing/customers/a.csv";

fn customers() -> Options {
    options(
        "csv",
        &[
            ("customer_id", "int64"),
            ("email", "string"),
            ("phone", "string"),
            ("updated_at", "timestamp"),
        ],
        1000,
    )
}

fn run(text: &str) -> Output {
    ingest(&customers(), PATH, text.as_bytes(), 1 << 20).unwrap()
}

#[test]
fn columns_are_matched_by_header_name_in_any_order() {
    let out = run("updated_at,phone,email,customer_id\n2026-03-01T10:15:00Z,555,a@x.io,7\n");
    assert_eq!(out.i64s("customer_id"), vec![Some(7)]);
    assert_eq!(out.strings("email"), vec![s("a@x.io")]);
    assert_eq!(out.strings("phone"), vec![s("555")]);
    assert_eq!(
        out.timestamps("updated_at"),
        vec![Some(micros("2026-03-01T10:15:00Z"))]
    );
    assert_eq!(out.rescued(), vec![None]);
    assert_eq!(
        out.total(),
        BatchStats {
            rows: 1,
            rescued_rows: 0,
            malformed_records: 0
        }
    );
    out.assert_metadata(PATH);
}

#[test]
fn a_bom_is_ignored() {
    let out = run("\u{FEFF}customer_id,email\n1,a@x.io\n");
    assert_eq!(out.i64s("customer_id"), vec![Some(1)]);
    assert_eq!(out.rescued(), vec![None]);
    // Also when the BOM arrives one byte at a time.
    let bytes = "\u{FEFF}customer_id\n1\n".as_bytes();
    let out = ingest(&customers(), PATH, bytes, 1).unwrap();
    assert_eq!(out.i64s("customer_id"), vec![Some(1)]);
    assert_eq!(out.rescued(), vec![None]);
}

#[test]
fn a_declared_column_missing_from_the_header_is_null() {
    let out = run("customer_id,email\n1,a@x.io\n2,b@x.io\n");
    assert_eq!(out.strings("phone"), vec![None, None]);
    assert_eq!(out.timestamps("updated_at"), vec![None, None]);
    assert_eq!(out.rescued(), vec![None, None]);
}

#[test]
fn extra_columns_are_rescued_when_not_empty() {
    let out = run("customer_id,nickname,email,tier\n1,bob,a@x.io,\n2,,b@x.io,gold\n3,,c@x.io,\n");
    assert_eq!(out.i64s("customer_id"), vec![Some(1), Some(2), Some(3)]);
    assert_eq!(
        out.strings("email"),
        vec![s("a@x.io"), s("b@x.io"), s("c@x.io")]
    );
    assert_eq!(
        out.rescued(),
        vec![
            json(r#"{"nickname":"bob"}"#),
            json(r#"{"tier":"gold"}"#),
            None
        ]
    );
    assert_eq!(out.total().rescued_rows, 2);
}

#[test]
fn empty_fields_quoted_or_not_are_null_and_not_rescued() {
    let out = run("customer_id,email,phone,updated_at\n,\"\",,\"\"\n5,\"\",\"\",\n");
    assert_eq!(out.i64s("customer_id"), vec![None, Some(5)]);
    assert_eq!(out.strings("email"), vec![None, None]);
    assert_eq!(out.strings("phone"), vec![None, None]);
    assert_eq!(out.timestamps("updated_at"), vec![None, None]);
    assert_eq!(out.rescued(), vec![None, None]);
}

#[test]
fn bad_values_are_null_and_rescued_with_the_original_text() {
    let text = "customer_id,email,updated_at\n\
                abc,a@x.io,2026-03-01T10:15:00Z\n\
                9223372036854775808,b@x.io,yesterday\n\
                \" 3\",c@x.io,2026-02-30T00:00:00Z\n";
    let out = run(text);
    assert_eq!(out.i64s("customer_id"), vec![None, None, None]);
    assert_eq!(
        out.strings("email"),
        vec![s("a@x.io"), s("b@x.io"), s("c@x.io")]
    );
    assert_eq!(
        out.timestamps("updated_at"),
        vec![Some(micros("2026-03-01T10:15:00Z")), None, None]
    );
    assert_eq!(
        out.rescued(),
        vec![
            json(r#"{"customer_id":"abc"}"#),
            json(r#"{"customer_id":"9223372036854775808","updated_at":"yesterday"}"#),
            json(r#"{"customer_id":" 3","updated_at":"2026-02-30T00:00:00Z"}"#),
        ]
    );
    assert_eq!(
        out.total(),
        BatchStats {
            rows: 3,
            rescued_rows: 3,
            malformed_records: 0
        }
    );
}

#[test]
fn signed_integers_and_extreme_values_parse() {
    let out = run("customer_id\n+12\n-9223372036854775808\n9223372036854775807\n");
    assert_eq!(
        out.i64s("customer_id"),
        vec![Some(12), Some(i64::MIN), Some(i64::MAX)]
    );
}

#[test]
fn timestamps_with_offsets_are_converted_to_utc_and_truncated_to_microseconds() {
    let text = "customer_id,updated_at\n\
                1,2026-03-01T12:15:00+02:00\n\
                2,2026-03-01T10:15:00.123456Z\n\
                3,2026-03-01T10:15:00.1234569Z\n\
                4,1969-12-31T23:59:59.9999999Z\n\
                5,2026-03-01T05:15:00.5-05:00\n";
    let out = run(text);
    let base = micros("2026-03-01T10:15:00Z");
    assert_eq!(
        out.timestamps("updated_at"),
        vec![
            Some(base),
            Some(base + 123_456),
            Some(base + 123_456),
            Some(-1),
            Some(base + 500_000)
        ]
    );
    assert_eq!(out.rescued(), vec![None; 5]);
}

#[test]
fn every_type_parses_from_text() {
    let opts = options(
        "csv",
        &[
            ("i", "int32"),
            ("f", "float64"),
            ("b", "boolean"),
            ("d", "date"),
            ("m", "decimal(12,2)"),
        ],
        100,
    );
    let text = "i,f,b,d,m\n\
                -5,1.5,true,2026-03-01,12.34\n\
                2147483648,x,TRUE,2026-3-01,12.345\n\
                7,1e3,false,1969-12-31,-0.5\n";
    let out = ingest(&opts, PATH, text.as_bytes(), 1 << 20).unwrap();
    assert_eq!(out.i32s("i"), vec![Some(-5), None, Some(7)]);
    assert_eq!(out.f64s("f"), vec![Some(1.5), None, Some(1000.0)]);
    assert_eq!(out.bools("b"), vec![Some(true), None, Some(false)]);
    assert_eq!(out.dates("d"), vec![Some(20513), None, Some(-1)]);
    assert_eq!(out.decimals("m"), vec![Some(1234), None, Some(-50)]);
    assert_eq!(
        out.rescued(),
        vec![
            None,
            json(r#"{"i":"2147483648","f":"x","b":"TRUE","d":"2026-3-01","m":"12.345"}"#),
            None
        ]
    );
}

#[test]
fn a_record_with_the_wrong_number_of_fields_is_kept_raw() {
    let text = "customer_id,email\n1,a@x.io\n2,\"b@x.io\",extra\n3\n4,d@x.io\r\n";
    let out = run(text);
    assert_eq!(out.i64s("customer_id"), vec![Some(1), None, None, Some(4)]);
    assert_eq!(
        out.strings("email"),
        vec![s("a@x.io"), None, None, s("d@x.io")]
    );
    assert_eq!(
        out.rescued(),
        vec![
            None,
            json(r#"{"_raw":"2,\"b@x.io\",extra"}"#),
            json(r#"{"_raw":"3"}"#),
            None
        ]
    );
    assert_eq!(
        out.total(),
        BatchStats {
            rows: 4,
            rescued_rows: 2,
            malformed_records: 2
        }
    );
}

#[test]
fn quoted_fields_may_hold_newlines_commas_and_quotes() {
    let text = "customer_id,email\r\n1,\"line one\r\nline two, \"\"quoted\"\"\"\r\n2,b\r\n";
    let out = run(text);
    assert_eq!(out.i64s("customer_id"), vec![Some(1), Some(2)]);
    assert_eq!(
        out.strings("email"),
        vec![s("line one\r\nline two, \"quoted\""), s("b")]
    );
}

#[test]
fn blank_lines_crlf_and_a_missing_final_newline_are_fine() {
    let out = run("customer_id,email\r\n\r\n1,a\r\n\n\n2,b");
    assert_eq!(out.i64s("customer_id"), vec![Some(1), Some(2)]);
    assert_eq!(out.strings("email"), vec![s("a"), s("b")]);
    assert_eq!(out.rescued(), vec![None, None]);
}

#[test]
fn records_split_across_chunks_give_the_same_rows() {
    let text = "\u{FEFF}customer_id,email,phone,updated_at,note\r\n\
                1,\"multi\nline\",555,2026-03-01T10:15:00Z,ünïcödé €\r\n\
                2,b@x.io,,bad,\r\n\
                3,c\n\
                4,\"d,\"\"q\"\"\",,2026-03-01T10:15:00.1234567+01:00,x\n";
    let expected = run(text);
    assert_eq!(expected.rows(), 4);
    for chunk in [1, 2, 3, 5, 7, 16, 64] {
        let out = ingest(&customers(), PATH, text.as_bytes(), chunk).unwrap();
        assert_eq!(
            out.i64s("customer_id"),
            expected.i64s("customer_id"),
            "chunk {chunk}"
        );
        assert_eq!(
            out.strings("email"),
            expected.strings("email"),
            "chunk {chunk}"
        );
        assert_eq!(
            out.strings("phone"),
            expected.strings("phone"),
            "chunk {chunk}"
        );
        assert_eq!(
            out.timestamps("updated_at"),
            expected.timestamps("updated_at"),
            "chunk {chunk}"
        );
        assert_eq!(out.rescued(), expected.rescued(), "chunk {chunk}");
    }
    assert_eq!(expected.strings("email")[0], s("multi\nline"));
    assert_eq!(
        expected.rescued(),
        vec![
            json(r#"{"note":"ünïcödé €"}"#),
            json(r#"{"updated_at":"bad"}"#),
            json(r#"{"_raw":"3,c"}"#),
            json(r#"{"note":"x"}"#),
        ]
    );
}

#[test]
fn invalid_utf8_fails_naming_the_file_and_byte() {
    let mut bytes = b"customer_id,email\n1,ok\n2,".to_vec();
    let bad_at = bytes.len();
    bytes.extend_from_slice(b"caf\xE9\n");
    for chunk in [1, 4, 1 << 20] {
        let err = ingest(&customers(), PATH, &bytes, chunk).err().unwrap();
        let expected = format!("{PATH}: not valid UTF-8 at byte {}", bad_at + 3);
        assert_eq!(err, Error::InvalidData(expected), "chunk {chunk}");
    }
    // A multi-byte character cut off by the end of the file.
    let mut bytes = b"customer_id,email\n1,".to_vec();
    bytes.extend_from_slice(&"€".as_bytes()[..2]);
    let err = ingest(&customers(), PATH, &bytes, 3).err().unwrap();
    assert!(
        matches!(&err, Error::InvalidData(m) if m.starts_with(&format!("{PATH}: not valid UTF-8 at byte 20"))),
        "{err:?}"
    );
}

#[test]
fn an_empty_file_or_a_header_alone_gives_no_rows() {
    for text in [
        "",
        "customer_id,email\n",
        "customer_id,email",
        "\u{FEFF}",
        "\n\n",
    ] {
        let out = run(text);
        assert_eq!(out.rows(), 0, "{text:?}");
        assert!(out.batches.is_empty());
    }
}

#[test]
fn batches_hold_at_most_batch_rows() {
    let opts = options("csv", &[("customer_id", "int64")], 2);
    let out = ingest(&opts, PATH, b"customer_id\n1\n2\n3\n4\nx\n", 1 << 20).unwrap();
    let sizes: Vec<usize> = out.batches.iter().map(RecordBatch::num_rows).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(
        out.i64s("customer_id"),
        vec![Some(1), Some(2), Some(3), Some(4), None]
    );
    let rescued: Vec<u64> = out.stats.iter().map(|s| s.rescued_rows).collect();
    assert_eq!(rescued, vec![0, 0, 1]);
    out.assert_metadata(PATH);
}
