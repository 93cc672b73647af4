//! The contract's gold_customer_orders on hand-made silver tables.

use std::sync::Arc;

use arrow_array::{
    Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType, SchemaRef};

use super::{batch, run, schema, ts};

pub const GOLD: &str = r#"{
 "base": {"input": "silver_customers", "key": ["customer_id"], "columns": ["customer_id", "first_name", "last_name", "email"]},
 "joins": [
   {"input": "silver_addresses", "how": "left", "on": {"customer_id": "customer_id"}, "filter": "__END_AT IS NULL",
    "columns": ["city", "state", "country"]},
   {"input": "silver_orders", "how": "left", "on": {"customer_id": "customer_id"},
    "aggregates": [
      {"name": "total_orders", "function": "count"},
      {"name": "total_items_order", "function": "sum", "column": "items", "type": "int64", "default": 0},
      {"name": "total_order_amount", "function": "sum", "column": "amount", "type": "decimal(18,2)", "default": "0.00"}]}
 ]}"#;

pub fn customers() -> SchemaRef {
    let s = DataType::Utf8;
    schema(&[
        ("customer_id", DataType::Int64),
        ("first_name", s.clone()),
        ("last_name", s.clone()),
        ("email", s.clone()),
        ("phone", s),
        ("updated_at", ts()),
    ])
}

pub fn addresses() -> SchemaRef {
    let s = DataType::Utf8;
    schema(&[
        ("customer_id", DataType::Int64),
        ("street", s.clone()),
        ("city", s.clone()),
        ("state", s.clone()),
        ("postal_code", s.clone()),
        ("country", s),
        ("__START_AT", ts()),
        ("__END_AT", ts()),
    ])
}

pub fn orders() -> SchemaRef {
    schema(&[
        ("order_id", DataType::Int64),
        ("customer_id", DataType::Int64),
        ("order_date", DataType::Date32),
        ("status", DataType::Utf8),
        ("items", DataType::Int32),
        ("amount", DataType::Decimal128(12, 2)),
        ("updated_at", ts()),
    ])
}

fn utc(values: Vec<Option<i64>>) -> Arc<TimestampMicrosecondArray> {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
}

fn strings(values: &[Option<&str>]) -> Arc<StringArray> {
    Arc::new(StringArray::from(values.to_vec()))
}

fn customer_batch(rows: &[(i64, &str, Option<&str>, &str)]) -> RecordBatch {
    let n = rows.len();
    batch(
        &customers(),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            strings(&rows.iter().map(|r| Some(r.1)).collect::<Vec<_>>()),
            strings(&rows.iter().map(|r| r.2).collect::<Vec<_>>()),
            strings(&rows.iter().map(|r| Some(r.3)).collect::<Vec<_>>()),
            strings(&vec![None; n]),
            utc(vec![Some(1); n]),
        ],
    )
}

/// (customer, city, state, country, end_at)
type Address<'a> = (i64, &'a str, Option<&'a str>, &'a str, Option<i64>);

fn address_batch(rows: &[Address]) -> RecordBatch {
    let n = rows.len();
    batch(
        &addresses(),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            strings(&vec![Some("1 Main St"); n]),
            strings(&rows.iter().map(|r| Some(r.1)).collect::<Vec<_>>()),
            strings(&rows.iter().map(|r| r.2).collect::<Vec<_>>()),
            strings(&vec![Some("12345"); n]),
            strings(&rows.iter().map(|r| Some(r.3)).collect::<Vec<_>>()),
            utc(vec![Some(0); n]),
            utc(rows.iter().map(|r| r.4).collect()),
        ],
    )
}

/// (order, customer, items, amount in cents)
type Order = (i64, Option<i64>, Option<i32>, Option<i128>);

fn order_batch(rows: &[Order]) -> RecordBatch {
    let n = rows.len();
    batch(
        &orders(),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
            Arc::new(Date32Array::from(vec![20000; n])),
            strings(&vec![Some("PLACED"); n]),
            Arc::new(Int32Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
            Arc::new(
                Decimal128Array::from(rows.iter().map(|r| r.3).collect::<Vec<_>>())
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
            utc(vec![Some(1); n]),
        ],
    )
}

pub fn seed_inputs() -> Vec<(&'static str, SchemaRef)> {
    vec![
        ("silver_customers", customers()),
        ("silver_addresses", addresses()),
        ("silver_orders", orders()),
    ]
}

#[test]
fn gold_customer_orders() {
    let big = 999_999_999_999; // 9999999999.99, the largest DECIMAL(12,2)
    let pushes = [
        (
            "silver_customers",
            customer_batch(&[(3, "Cy", Some("Om"), "c@x"), (1, "Ann", Some("Lee"), "a@x")]),
        ),
        (
            "silver_customers",
            customer_batch(&[(4, "Di", None, "d@x"), (2, "Bob", Some("Ray"), "b@x")]),
        ),
        (
            "silver_addresses",
            address_batch(&[
                (1, "Paris", None, "FR", Some(100)), // closed
                (1, "Lyon", None, "FR", None),       // current, no state
                (2, "Oslo", None, "NO", Some(200)),  // only a closed one
                (3, "Austin", Some("TX"), "US", None),
                (9, "Nowhere", None, "XX", None), // not a customer
            ]),
        ),
        (
            "silver_orders",
            order_batch(&[
                (1, Some(1), Some(2), Some(10)), // 0.10
                (2, Some(1), Some(3), Some(20)), // 0.20
                (3, Some(1), None, Some(1505)),  // 15.05, items unknown
                (4, Some(3), Some(1), None),     // amount unknown
                (5, Some(3), Some(4), Some(big)),
            ]),
        ),
        (
            "silver_orders",
            order_batch(&[
                (8, Some(3), None, Some(big)),
                (6, Some(9), Some(7), Some(100)), // customer 9 is not a customer
                (7, None, Some(1), Some(100)),    // no customer
            ]),
        ),
    ];
    let out = run(GOLD, &seed_inputs(), &pushes).unwrap();

    let s = DataType::Utf8;
    let expected_schema = schema(&[
        ("customer_id", DataType::Int64),
        ("first_name", s.clone()),
        ("last_name", s.clone()),
        ("email", s.clone()),
        ("city", s.clone()),
        ("state", s.clone()),
        ("country", s),
        ("total_orders", DataType::Int64),
        ("total_items_order", DataType::Int64),
        ("total_order_amount", DataType::Decimal128(18, 2)),
    ]);
    let expected = batch(
        &expected_schema,
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
            strings(&[Some("Ann"), Some("Bob"), Some("Cy"), Some("Di")]),
            strings(&[Some("Lee"), Some("Ray"), Some("Om"), None]),
            strings(&[Some("a@x"), Some("b@x"), Some("c@x"), Some("d@x")]),
            strings(&[Some("Lyon"), None, Some("Austin"), None]),
            strings(&[None, None, Some("TX"), None]),
            strings(&[Some("FR"), None, Some("US"), None]),
            Arc::new(Int64Array::from(vec![3, 0, 3, 0])),
            Arc::new(Int64Array::from(vec![5, 0, 5, 0])),
            Arc::new(
                Decimal128Array::from(vec![1535, 0, 2 * big, 0])
                    .with_precision_and_scale(18, 2)
                    .unwrap(),
            ),
        ],
    );
    assert_eq!(out.schema(), expected_schema);
    assert_eq!(out, expected);
}

#[test]
fn gold_plan_schema() {
    let inputs: Vec<(String, SchemaRef)> = seed_inputs()
        .into_iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect();
    let planned = <crate::AggregateStage as lfhost_plugin_sdk::Stage>::plan(GOLD, &inputs).unwrap();
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].0, "main");
    let fields: Vec<(String, DataType)> = planned[0]
        .1
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let names = [
        "customer_id",
        "first_name",
        "last_name",
        "email",
        "city",
        "state",
        "country",
        "total_orders",
        "total_items_order",
        "total_order_amount",
    ];
    assert_eq!(
        fields.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        names
    );
    assert_eq!(fields[9].1, DataType::Decimal128(18, 2));
    assert_eq!(fields[7].1, DataType::Int64);
    assert_eq!(fields[8].1, DataType::Int64);
}

#[test]
fn empty_inputs_give_no_rows() {
    let out = run(GOLD, &seed_inputs(), &[]).unwrap();
    assert_eq!(out.num_rows(), 0);
    // Orders without customers still give nothing.
    let out = run(
        GOLD,
        &seed_inputs(),
        &[(
            "silver_orders",
            order_batch(&[(1, Some(1), Some(1), Some(1))]),
        )],
    )
    .unwrap();
    assert_eq!(out.num_rows(), 0);
}
