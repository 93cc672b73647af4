use arrow_schema::{DataType, Field, Schema, TimeUnit};
use lfhost_plugin_sdk::Stage;

use super::*;
use crate::{BronzeIngest, ColumnType, Format};

fn plan(json: &str) -> Result<Vec<(String, arrow_schema::SchemaRef)>, Error> {
    BronzeIngest::plan(json, &[])
}

fn option_error(json: &str) -> (String, String) {
    match plan(json) {
        Err(Error::InvalidOption { option, message }) => (option, message),
        other => panic!("expected an option error for {json}, got {other:?}"),
    }
}

#[test]
fn plan_returns_the_declared_columns_then_the_metadata_columns() {
    let outputs = plan(
        r#"{"format": "csv", "batch_rows": 10, "columns": [
            {"name": "a", "type": "int32"}, {"name": "b", "type": "int64"},
            {"name": "c", "type": "float64"}, {"name": "d", "type": "boolean"},
            {"name": "e", "type": "string"}, {"name": "f", "type": "date"},
            {"name": "g", "type": "timestamp"}, {"name": "h", "type": "decimal(12,2)"},
            {"name": "i", "type": "decimal( 38 , 0 )"}]}"#,
    )
    .unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].0, "main");
    let utc = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let expected = Schema::new(vec![
        Field::new("a", DataType::Int32, true),
        Field::new("b", DataType::Int64, true),
        Field::new("c", DataType::Float64, true),
        Field::new("d", DataType::Boolean, true),
        Field::new("e", DataType::Utf8, true),
        Field::new("f", DataType::Date32, true),
        Field::new("g", utc(), true),
        Field::new("h", DataType::Decimal128(12, 2), true),
        Field::new("i", DataType::Decimal128(38, 0), true),
        Field::new("_rescued_data", DataType::Utf8, true),
        Field::new("_source_file", DataType::Utf8, true),
        Field::new("_ingested_at", utc(), true),
    ]);
    assert_eq!(*outputs[0].1, expected);
}

#[test]
fn batch_rows_defaults() {
    let options =
        Options::parse(r#"{"format": "jsonl", "columns": [{"name": "a", "type": "int64"}]}"#)
            .unwrap();
    assert_eq!(options.batch_rows, crate::DEFAULT_BATCH_ROWS);
    assert_eq!(options.format, Format::Jsonl);
    assert_eq!(options.columns[0].ty, ColumnType::Int64);
}

#[test]
fn bad_types_point_at_the_column() {
    let cols = r#"{"name": "a", "type": "int64"}, {"name": "b", "type": "string"}, {"name": "c", "type": "date"}"#;
    for bad in [
        "varchar",
        "decimal(12)",
        "decimal(0,0)",
        "decimal(39,2)",
        "decimal(5,6)",
        "Int64",
        "decimal(a,b)",
    ] {
        let json = format!(
            r#"{{"format": "csv", "columns": [{cols}, {{"name": "d", "type": "{bad}"}}]}}"#
        );
        let (option, message) = option_error(&json);
        assert_eq!(option, "columns.3.type", "{bad}");
        assert!(message.contains(bad), "{bad}: {message}");
    }
}

#[test]
fn bad_names_point_at_the_column() {
    let cases = [
        (
            r#"[{"name": "a", "type": "int64"}, {"name": "b", "type": "int64"}, {"name": "a", "type": "string"}]"#,
            "columns.2.name",
        ),
        (
            r#"[{"name": "a", "type": "int64"}, {"name": "", "type": "int64"}]"#,
            "columns.1.name",
        ),
        (
            r#"[{"name": "_rescued_data", "type": "string"}]"#,
            "columns.0.name",
        ),
        (
            r#"[{"name": "a", "type": "int64"}, {"name": "_source_file", "type": "string"}]"#,
            "columns.1.name",
        ),
        (
            r#"[{"name": "_ingested_at", "type": "timestamp"}]"#,
            "columns.0.name",
        ),
        (r#"[{"name": "_raw", "type": "string"}]"#, "columns.0.name"),
        (
            r#"[{"name": "a", "type": "int64", "nullable": true}]"#,
            "columns.0.nullable",
        ),
        (r#"[{"name": "a"}]"#, "columns.0"),
    ];
    for (columns, path) in cases {
        let (option, _) = option_error(&format!(r#"{{"format": "csv", "columns": {columns}}}"#));
        assert_eq!(option, path, "{columns}");
    }
    // A leading underscore alone is fine.
    assert!(plan(r#"{"format": "csv", "columns": [{"name": "_id", "type": "int64"}]}"#).is_ok());
}

#[test]
fn document_level_errors_have_their_paths() {
    let cases = [
        (r#"{"format": "csv", "columns": []}"#, "columns"),
        (
            r#"{"format": "csv", "columns": [{"name": "a", "type": "int64"}], "batch_rows": 0}"#,
            "batch_rows",
        ),
        (
            r#"{"format": "csv", "columns": [{"name": "a", "type": "int64"}], "batch_rows": 99999999}"#,
            "batch_rows",
        ),
        (
            r#"{"format": "xml", "columns": [{"name": "a", "type": "int64"}]}"#,
            "format",
        ),
        (
            r#"{"format": "csv", "columns": [{"name": "a", "type": "int64"}], "delimiter": ";"}"#,
            "delimiter",
        ),
    ];
    for (json, path) in cases {
        assert_eq!(option_error(json).0, path, "{json}");
    }
    let (_, message) = option_error(r#"{"columns": [{"name": "a", "type": "int64"}]}"#);
    assert!(message.contains("missing field `format`"), "{message}");
}

#[test]
fn ingest_stages_take_no_inputs() {
    let schema = Arc::new(Schema::empty());
    let err = BronzeIngest::plan(
        r#"{"format": "csv", "columns": [{"name": "a", "type": "int64"}]}"#,
        &[("x".into(), schema)],
    );
    assert!(err.is_err());
}

#[test]
fn describe_documents_every_option() {
    let descriptor = BronzeIngest::describe();
    assert_eq!(descriptor.name, "bronze-ingest");
    assert!(matches!(
        descriptor.kind,
        lfhost_plugin_sdk::StageKind::Ingest
    ));
    assert!(!descriptor.description.is_empty());
    let names: Vec<&str> = descriptor.options.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, vec!["format", "columns", "batch_rows"]);
    assert_eq!(
        descriptor.options[2].default_value.as_deref(),
        Some("32768")
    );
}
