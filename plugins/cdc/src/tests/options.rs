//! Options checked against the input schema, and the output schemas.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use lfhost_plugin_sdk::{Error, Stage, StageKind};

use super::{input_schema, options};
use crate::{CdcStage, Plan};

fn names(plan: &Plan) -> Vec<String> {
    plan.output
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

fn error_path(options: &str) -> (String, String) {
    match Plan::new(options, input_schema()) {
        Err(Error::InvalidOption { option, message }) => (option, message),
        other => panic!("expected an option error, got {other:?}"),
    }
}

#[test]
fn seed_scd1_schema() {
    let plan = Plan::new(&options(1, ""), input_schema()).unwrap();
    assert_eq!(
        names(&plan),
        [
            "customer_id",
            "street",
            "city",
            "state",
            "postal_code",
            "country",
            "updated_at"
        ]
    );
    let input = input_schema();
    for field in plan.output.fields() {
        assert_eq!(field.as_ref(), input.field_with_name(field.name()).unwrap());
    }
}

#[test]
fn seed_scd2_schema() {
    let plan = Plan::new(&options(2, ""), input_schema()).unwrap();
    assert_eq!(
        names(&plan),
        [
            "customer_id",
            "street",
            "city",
            "state",
            "postal_code",
            "country",
            "__START_AT",
            "__END_AT"
        ]
    );
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    for name in ["__START_AT", "__END_AT"] {
        assert_eq!(
            plan.output.field_with_name(name).unwrap(),
            &Field::new(name, utc.clone(), true)
        );
    }
    // The stage returns it as `main`.
    let inputs = [("silver_addresses_clean".to_string(), input_schema())];
    let outputs = CdcStage::plan(&options(2, ""), &inputs).unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].0, "main");
    assert_eq!(outputs[0].1, plan.output);
}

#[test]
fn column_list_selects_in_input_order() {
    let options = r#"{"keys": ["customer_id"], "sequence_by": "updated_at",
        "column_list": ["updated_at", "city", "customer_id"], "source_file_column": null}"#;
    let plan = Plan::new(options, input_schema()).unwrap();
    assert_eq!(names(&plan), ["customer_id", "city", "updated_at"]);
    // No source file column is then needed.
    let schema = Arc::new(Schema::new(input_schema().fields()[..8].to_vec()));
    assert!(Plan::new(options, schema).is_ok());
}

#[test]
fn option_errors_name_the_option() {
    let base = options(1, "");
    let cases: Vec<(String, &str, &str)> = vec![
        (
            base.replace("[\"customer_id\"]", "[\"id\"]"),
            "keys.0",
            "unknown column `id`",
        ),
        (
            base.replace("[\"customer_id\"]", "[]"),
            "keys",
            "at least one",
        ),
        (
            base.replace("[\"customer_id\"]", "[\"customer_id\", \"customer_id\"]"),
            "keys.1",
            "twice",
        ),
        (
            base.replace("\"updated_at\"", "\"when\""),
            "sequence_by",
            "unknown column `when`",
        ),
        (
            base.replace("\"updated_at\"", "\"customer_id\""),
            "sequence_by",
            "cannot be a key",
        ),
        (
            base.replace("operation = 'DELETE'", "op = 'DELETE'"),
            "apply_as_deletes",
            "unknown column `op`",
        ),
        (
            base.replace("operation = 'DELETE'", "operation ="),
            "apply_as_deletes",
            "cannot parse",
        ),
        (
            base.replace("operation = 'DELETE'", "length(operation)"),
            "apply_as_deletes",
            "not a condition",
        ),
        (
            options(1, r#", "column_list": ["customer_id"]"#),
            "column_list",
            "not both",
        ),
        (
            base.replace("\"_ingested_at\"]", "\"_ingested\"]"),
            "except_column_list.3",
            "unknown column",
        ),
        (
            base.replace("\"_ingested_at\"]", "\"customer_id\"]"),
            "except_column_list.3",
            "is a key",
        ),
        (options(3, ""), "stored_as_scd_type", "1 or 2"),
        (
            options(1, r#", "track_history_column_list": ["city"]"#),
            "track_history_column_list",
            "type 2",
        ),
        (options(1, r#", "nope": 1"#), "nope", "unknown field"),
        (
            options(1, r#", "ignore_null_updates": "yes""#),
            "ignore_null_updates",
            "invalid type",
        ),
        (
            options(1, r#", "source_file_column": "file""#),
            "source_file_column",
            "unknown column `file`",
        ),
        (
            options(1, r#", "source_file_column": "customer_id""#),
            "source_file_column",
            "not a string",
        ),
        (
            options(2, "").replace("\"city\", \"state\"", "\"city\", \"town\""),
            "track_history_column_list.2",
            "unknown column `town`",
        ),
        (
            options(2, "").replace("\"city\", \"state\"", "\"city\", \"operation\""),
            "track_history_column_list.2",
            "not a column of the table",
        ),
        (
            options(2, r#", "track_history_except_column_list": ["city"]"#),
            "track_history_except_column_list",
            "not both",
        ),
    ];
    for (options, path, message) in cases {
        let (got_path, got_message) = error_path(&options);
        assert_eq!(got_path, path, "{options}: {got_message}");
        assert!(got_message.contains(message), "{options}: {got_message}");
    }
    let (path, message) = error_path(r#"{"sequence_by": "updated_at"}"#);
    assert!(
        path.is_empty() && message.contains("missing field `keys`"),
        "{path}: {message}"
    );
}

#[test]
fn list_edge_cases() {
    // The key must stay in a column_list.
    let options =
        r#"{"keys": ["customer_id"], "sequence_by": "updated_at", "column_list": ["city"]}"#;
    assert_eq!(error_path(options).0, "column_list");
    // Type 2 keeps the sequence only as __START_AT / __END_AT.
    let options = r#"{"keys": ["customer_id"], "sequence_by": "updated_at", "stored_as_scd_type": 2,
        "column_list": ["customer_id", "updated_at"]}"#;
    assert_eq!(error_path(options).0, "column_list.1");
    // An input column named like the added ones.
    let mut fields = input_schema().fields().to_vec();
    fields.push(Arc::new(Field::new("__END_AT", DataType::Utf8, true)));
    let schema = Arc::new(Schema::new(fields));
    let err = Plan::new(&options_2(), schema.clone()).unwrap_err();
    assert!(
        matches!(err, Error::InvalidOption { ref option, .. } if option == "stored_as_scd_type"),
        "{err:?}"
    );
    // Not when it is left out.
    let options = options_2().replace("\"_ingested_at\"]", "\"_ingested_at\", \"__END_AT\"]");
    assert!(Plan::new(&options, schema).is_ok());
}

fn options_2() -> String {
    options(2, "")
}

#[test]
fn track_history_except_and_default() {
    let plan = Plan::new(
        &options(2, "").replace(
            "track_history_column_list",
            "track_history_except_column_list",
        ),
        input_schema(),
    )
    .unwrap();
    assert!(plan.tracked.is_empty());
    let default = options(2, "").replace(
        r#", "track_history_column_list": ["street", "city", "state", "postal_code", "country"]"#,
        "",
    );
    let plan = Plan::new(&default, input_schema()).unwrap();
    assert_eq!(plan.tracked, vec![1, 2, 3, 4, 5]);
}

#[test]
fn describe_and_inputs() {
    let d = CdcStage::describe();
    assert_eq!(d.name, "cdc");
    assert!(matches!(d.kind, StageKind::Merge));
    assert_eq!(d.options.len(), 10);
    let two = [
        ("a".to_string(), input_schema()),
        ("b".to_string(), input_schema()),
    ];
    assert!(matches!(
        CdcStage::plan(&options(1, ""), &two),
        Err(Error::Internal(_))
    ));
}
