//! The seed contract's expectations (`shared/spec/medallion.md`, section
//! "Expectations") on small hand-made bronze batches, with pass/fail counts
//! computed by hand:
//!
//! | table | name | expression | on violation |
//! |---|---|---|---|
//! | silver_customers_clean | valid_customer_id | `customer_id IS NOT NULL` | drop |
//! | silver_customers_clean | valid_operation | `operation IN ('INSERT', 'UPDATE', 'DELETE')` | drop |
//! | silver_customers_clean | valid_sequence | `updated_at IS NOT NULL` | drop |
//! | silver_customers_clean | valid_email | `operation = 'DELETE' OR email LIKE '%_@_%'` | warn |
//! | silver_addresses_clean | valid_customer_id | `customer_id IS NOT NULL` | drop |
//! | silver_addresses_clean | valid_operation | `operation IN ('INSERT', 'UPDATE', 'DELETE')` | drop |
//! | silver_addresses_clean | valid_sequence | `updated_at IS NOT NULL` | drop |
//! | silver_addresses_clean | valid_postal_code | `operation = 'DELETE' OR (postal_code IS NOT NULL AND length(postal_code) BETWEEN 3 AND 10)` | drop |
//! | silver_addresses_clean | valid_country | `country IS NULL OR length(country) = 2` | warn |
//! | silver_orders_clean | valid_order_id | `order_id IS NOT NULL` | drop |
//! | silver_orders_clean | valid_customer_id | `operation = 'DELETE' OR customer_id IS NOT NULL` | drop |
//! | silver_orders_clean | valid_operation | `operation IN ('INSERT', 'UPDATE', 'DELETE')` | drop |
//! | silver_orders_clean | valid_sequence | `updated_at IS NOT NULL` | drop |
//! | silver_orders_clean | non_negative_amount | `operation = 'DELETE' OR amount >= 0` | drop |
//! | silver_orders_clean | positive_items | `operation = 'DELETE' OR items > 0` | drop |
//! | silver_orders_clean | valid_status | `operation = 'DELETE' OR status IN ('PLACED', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'RETURNED')` | warn |

use std::sync::Arc;

use arrow_array::{Int32Array, Int64Array, StringArray};
use serde_json::json;

use super::*;
use crate::Counts;

const TS: Option<&str> = Some("2026-03-01T10:15:00Z");

/// The bronze tables' trailing metadata columns for `n` rows.
fn metadata(n: usize) -> Vec<(&'static str, ArrayRef)> {
    vec![
        (
            "_rescued_data",
            Arc::new(StringArray::from(vec![None::<&str>; n])) as ArrayRef,
        ),
        (
            "_source_file",
            Arc::new(StringArray::from(vec![Some("/landing/f"); n])),
        ),
        (
            "_ingested_at",
            timestamps(&vec![Some("2026-03-02T00:00:00Z"); n]),
        ),
    ]
}

fn strs(v: Vec<Option<&str>>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}

fn ids(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}

fn expectations(list: &[(&str, &str, &str)]) -> serde_json::Value {
    let list: Vec<serde_json::Value> = list
        .iter()
        .map(|(name, expr, action)| json!({"name": name, "expr": expr, "action": action}))
        .collect();
    json!({ "expectations": list })
}

const VALID_OPERATION: &str = "operation IN ('INSERT', 'UPDATE', 'DELETE')";

fn check(options: serde_json::Value, batch: RecordBatch, expected: Counts, quarantine: &[&str]) {
    let e = plan(options, batch.schema()).unwrap();
    let out = e.evaluate(&batch).unwrap();
    assert_eq!(out.counts, expected);
    assert_eq!(out.main.num_rows() as u64, expected.rows_out);
    let q = out.quarantine.unwrap();
    let lists: Vec<Option<String>> = quarantine.iter().map(|s| Some(s.to_string())).collect();
    assert_eq!(strings(&q, crate::FAILED_EXPECTATIONS), lists);
}

#[test]
fn customers() {
    let mut columns = vec![
        (
            "customer_id",
            ids(vec![Some(1), None, Some(3), Some(4), Some(5), Some(6)]),
        ),
        ("first_name", strs(vec![Some("Ann"); 6])),
        ("last_name", strs(vec![Some("Lee"); 6])),
        (
            "email",
            strs(vec![
                Some("a@b.com"),
                Some("x@y"),
                None,
                Some("no-at-sign"),
                Some("@b"),
                Some("é@ü"),
            ]),
        ),
        ("phone", strs(vec![None; 6])),
        (
            "operation",
            strs(vec![
                Some("INSERT"),
                Some("UPDATE"),
                Some("DELETE"),
                Some("UPSERT"),
                None,
                Some("UPDATE"),
            ]),
        ),
        ("updated_at", timestamps(&[TS, TS, TS, TS, None, TS])),
    ];
    columns.extend(metadata(6));
    let options = expectations(&[
        ("valid_customer_id", "customer_id IS NOT NULL", "drop"),
        ("valid_operation", VALID_OPERATION, "drop"),
        ("valid_sequence", "updated_at IS NOT NULL", "drop"),
        (
            "valid_email",
            "operation = 'DELETE' OR email LIKE '%_@_%'",
            "warn",
        ),
    ]);
    check(
        options,
        batch(columns),
        Counts {
            rows_in: 6,
            rows_out: 3,
            dropped: 3,
            passed: vec![5, 4, 5, 4],
            failed: vec![1, 2, 1, 2],
        },
        &[
            r#"["valid_customer_id"]"#,
            r#"["valid_operation"]"#,
            r#"["valid_operation","valid_sequence"]"#,
        ],
    );
}

#[test]
fn addresses() {
    let mut columns = vec![
        (
            "customer_id",
            ids(vec![Some(1), Some(2), Some(3), None, Some(5), Some(6)]),
        ),
        ("street", strs(vec![Some("1 Main St"); 6])),
        ("city", strs(vec![Some("Springfield"); 6])),
        ("state", strs(vec![None; 6])),
        (
            "postal_code",
            strs(vec![
                Some("12345"),
                None,
                None,
                Some("12"),
                Some("ÉÉÉ"),
                Some("12345678901"),
            ]),
        ),
        // "ÜS" is 2 characters but 3 bytes.
        (
            "country",
            strs(vec![
                Some("US"),
                None,
                Some("USA"),
                Some("FR"),
                Some("ÜS"),
                Some("de"),
            ]),
        ),
        (
            "operation",
            strs(vec![
                Some("INSERT"),
                Some("DELETE"),
                Some("UPDATE"),
                Some("INSERT"),
                Some("INSERT"),
                Some("insert"),
            ]),
        ),
        ("updated_at", timestamps(&[TS, TS, TS, None, TS, TS])),
    ];
    columns.extend(metadata(6));
    let options = expectations(&[
        ("valid_customer_id", "customer_id IS NOT NULL", "drop"),
        ("valid_operation", VALID_OPERATION, "drop"),
        ("valid_sequence", "updated_at IS NOT NULL", "drop"),
        (
            "valid_postal_code",
            "operation = 'DELETE' OR (postal_code IS NOT NULL AND length(postal_code) BETWEEN 3 AND 10)",
            "drop",
        ),
        (
            "valid_country",
            "country IS NULL OR length(country) = 2",
            "warn",
        ),
    ]);
    check(
        options,
        batch(columns),
        Counts {
            rows_in: 6,
            rows_out: 3,
            dropped: 3,
            passed: vec![5, 5, 5, 3, 5],
            failed: vec![1, 1, 1, 3, 1],
        },
        &[
            r#"["valid_postal_code"]"#,
            r#"["valid_customer_id","valid_sequence","valid_postal_code"]"#,
            r#"["valid_operation","valid_postal_code"]"#,
        ],
    );
}

#[test]
fn orders() {
    let mut columns = vec![
        (
            "order_id",
            ids(vec![
                Some(1),
                Some(2),
                Some(3),
                None,
                Some(5),
                Some(6),
                Some(7),
            ]),
        ),
        (
            "customer_id",
            ids(vec![
                Some(10),
                None,
                None,
                Some(11),
                Some(12),
                Some(13),
                Some(14),
            ]),
        ),
        ("order_date", dates(&[Some("2026-03-01"); 7])),
        (
            "status",
            strs(vec![
                Some("PLACED"),
                None,
                Some("SHIPPED"),
                Some("DELIVERED"),
                Some("LOST"),
                Some("RETURNED"),
                Some("CANCELLED"),
            ]),
        ),
        (
            "items",
            Arc::new(Int32Array::from(vec![
                Some(2),
                None,
                Some(1),
                Some(0),
                Some(3),
                None,
                Some(1),
            ])) as ArrayRef,
        ),
        (
            "amount",
            decimals(
                &[
                    Some(1000),
                    None,
                    Some(0),
                    Some(-1),
                    None,
                    Some(550),
                    Some(9_999_999),
                ],
                12,
                2,
            ),
        ),
        (
            "operation",
            strs(vec![
                Some("INSERT"),
                Some("DELETE"),
                Some("UPDATE"),
                Some("INSERT"),
                Some("INSERT"),
                Some("UPDATE"),
                None,
            ]),
        ),
        ("updated_at", timestamps(&[TS, TS, TS, TS, None, TS, TS])),
    ];
    columns.extend(metadata(7));
    let options = expectations(&[
        ("valid_order_id", "order_id IS NOT NULL", "drop"),
        (
            "valid_customer_id",
            "operation = 'DELETE' OR customer_id IS NOT NULL",
            "drop",
        ),
        ("valid_operation", VALID_OPERATION, "drop"),
        ("valid_sequence", "updated_at IS NOT NULL", "drop"),
        (
            "non_negative_amount",
            "operation = 'DELETE' OR amount >= 0",
            "drop",
        ),
        (
            "positive_items",
            "operation = 'DELETE' OR items > 0",
            "drop",
        ),
        (
            "valid_status",
            "operation = 'DELETE' OR status IN ('PLACED', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'RETURNED')",
            "warn",
        ),
    ]);
    check(
        options,
        batch(columns),
        Counts {
            rows_in: 7,
            rows_out: 2,
            dropped: 5,
            passed: vec![6, 6, 6, 6, 5, 5, 6],
            failed: vec![1, 1, 1, 1, 2, 2, 1],
        },
        &[
            r#"["valid_customer_id"]"#,
            r#"["valid_order_id","non_negative_amount","positive_items"]"#,
            r#"["valid_sequence","non_negative_amount"]"#,
            r#"["positive_items"]"#,
            r#"["valid_operation"]"#,
        ],
    );
}
