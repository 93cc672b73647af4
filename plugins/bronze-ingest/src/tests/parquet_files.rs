use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Int32Array, Int64Array,
    StringArray, TimestampMicrosecondArray, TimestampNanosecondArray, UInt8Array,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::SchemaDescriptor;

use super::*;
use crate::rows::FileContext;

const PATH: &str = "/landing/orders/a.parquet";

const ORDER_COLUMNS: [(&str, &str); 8] = [
    ("order_id", "int64"),
    ("customer_id", "int64"),
    ("order_date", "date"),
    ("status", "string"),
    ("items", "int32"),
    ("amount", "decimal(12,2)"),
    ("operation", "string"),
    ("updated_at", "timestamp"),
];

fn write(
    columns: Vec<(&str, ArrayRef)>,
    compression: Compression,
    row_group_rows: usize,
) -> Vec<u8> {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(row_group_rows))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

/// `n` orders shaped exactly like the seed's files.
fn orders(n: usize) -> Vec<(&'static str, ArrayRef)> {
    let ids: Vec<i64> = (0..n as i64).collect();
    vec![
        (
            "order_id",
            Arc::new(Int64Array::from(ids.clone())) as ArrayRef,
        ),
        (
            "customer_id",
            Arc::new(Int64Array::from_iter(
                ids.iter().map(|i| (i % 3 != 0).then_some(i / 2)),
            )),
        ),
        (
            "order_date",
            Arc::new(Date32Array::from_iter_values(
                ids.iter().map(|i| 20_000 + *i as i32),
            )),
        ),
        (
            "status",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("S{i}")),
            )),
        ),
        (
            "items",
            Arc::new(Int32Array::from_iter_values(
                ids.iter().map(|i| *i as i32 % 5),
            )),
        ),
        (
            "amount",
            Arc::new(
                Decimal128Array::from_iter_values(ids.iter().map(|i| i128::from(*i) * 101))
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
        ),
        (
            "operation",
            Arc::new(StringArray::from_iter_values(ids.iter().map(|_| "INSERT"))),
        ),
        (
            "updated_at",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(ids.iter().map(|i| RUN_START + i))
                    .with_timezone("UTC"),
            ),
        ),
    ]
}

/// Checks that the output's declared columns are `expected`, uncast.
fn assert_same_columns(out: &Output, expected: &[(&str, ArrayRef)], case: &str) {
    let mut offset = 0;
    for batch in &out.batches {
        for (name, array) in expected {
            let expected = array.slice(offset, batch.num_rows());
            let got = batch.column_by_name(name).unwrap();
            assert_eq!(
                got.data_type(),
                expected.data_type(),
                "{name} {case}: no cast"
            );
            assert_eq!(got.to_data(), expected.to_data(), "{name} {case}");
        }
        offset += batch.num_rows();
    }
    assert_eq!(offset, expected[0].1.len(), "{case}");
}

#[test]
fn the_seed_orders_shape_round_trips_unchanged() {
    let opts = options("parquet", &ORDER_COLUMNS, 4);
    let written = orders(10);
    let compressions = [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::LZ4_RAW,
        Compression::BROTLI(BrotliLevel::default()),
    ];
    for compression in compressions {
        // Row groups of 6 and batches of 4: 4, 2, 4.
        let bytes = write(written.clone(), compression, 6);
        for chunk in [7, 1 << 20] {
            let out = ingest(&opts, PATH, &bytes, chunk).unwrap();
            let sizes: Vec<usize> = out.batches.iter().map(RecordBatch::num_rows).collect();
            assert_eq!(sizes, vec![4, 2, 4], "{compression:?}");
            assert_same_columns(&out, &written, &format!("{compression:?}"));
            assert_eq!(out.rescued(), vec![None; 10]);
            assert_eq!(
                out.total(),
                BatchStats {
                    rows: 10,
                    rescued_rows: 0,
                    malformed_records: 0
                }
            );
            out.assert_metadata(PATH);
        }
    }
}

#[test]
fn columns_are_matched_by_name_missing_ones_are_null_and_extras_rescued() {
    let bytes = write(
        vec![
            (
                "note",
                Arc::new(StringArray::from(vec![Some("hi"), None])) as ArrayRef,
            ),
            ("items", Arc::new(Int32Array::from(vec![3, 4]))),
            (
                "flag",
                Arc::new(BooleanArray::from(vec![Some(true), Some(false)])),
            ),
            ("order_id", Arc::new(Int64Array::from(vec![1, 2]))),
            ("ratio", Arc::new(Float32Array::from(vec![Some(0.5), None]))),
            ("small", Arc::new(UInt8Array::from(vec![None, Some(200)]))),
        ],
        Compression::SNAPPY,
        100,
    );
    let opts = options(
        "parquet",
        &[
            ("order_id", "int64"),
            ("items", "int32"),
            ("status", "string"),
        ],
        100,
    );
    let out = ingest(&opts, PATH, &bytes, 1 << 20).unwrap();
    assert_eq!(out.i64s("order_id"), vec![Some(1), Some(2)]);
    assert_eq!(out.i32s("items"), vec![Some(3), Some(4)]);
    assert_eq!(out.strings("status"), vec![None, None]);
    assert_eq!(
        out.rescued(),
        vec![
            json(r#"{"note": "hi", "flag": true, "ratio": 0.5}"#),
            json(r#"{"flag": false, "small": 200}"#),
        ]
    );
    assert_eq!(out.total().rescued_rows, 2);
}

#[test]
fn other_file_types_are_cast_and_failures_rescued_as_strings() {
    let bytes = write(
        vec![
            (
                "order_id",
                Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])) as ArrayRef,
            ),
            (
                "items",
                Arc::new(Int64Array::from(vec![Some(5), Some(1 << 40), None])),
            ),
            (
                "updated_at",
                Arc::new(StringArray::from(vec![
                    Some("2026-03-01T12:15:00.1234567+02:00"),
                    Some("soon"),
                    None,
                ])),
            ),
            (
                "seen_at",
                Arc::new(TimestampNanosecondArray::from(vec![
                    Some(1_500),
                    None,
                    Some(-1_500),
                ])),
            ),
        ],
        Compression::UNCOMPRESSED,
        100,
    );
    let opts = options(
        "parquet",
        &[
            ("order_id", "int64"),
            ("items", "int32"),
            ("updated_at", "timestamp"),
            ("seen_at", "timestamp"),
        ],
        100,
    );
    let out = ingest(&opts, PATH, &bytes, 1 << 20).unwrap();
    assert_eq!(out.i64s("order_id"), vec![Some(1), None, Some(3)]);
    assert_eq!(out.i32s("items"), vec![Some(5), None, None]);
    let base = micros("2026-03-01T10:15:00Z");
    assert_eq!(
        out.timestamps("updated_at"),
        vec![Some(base + 123_456), None, None]
    );
    // Nanoseconds are floored like digits past microseconds in text:
    // -1500 ns is 1969-12-31T23:59:59.9999985Z, truncated to ...59.999998Z.
    assert_eq!(out.timestamps("seen_at"), vec![Some(1), None, Some(-2)]);
    assert_eq!(
        out.rescued(),
        vec![
            None,
            json(r#"{"items": "1099511627776", "updated_at": "soon"}"#),
            None
        ]
    );
}

#[test]
fn truncated_or_garbage_files_fail_naming_the_file() {
    let bytes = write(orders(5), Compression::SNAPPY, 100);
    let opts = options("parquet", &ORDER_COLUMNS, 100);
    for cut in [1, 8, bytes.len() / 2, bytes.len() - 1] {
        let err = ingest(&opts, PATH, &bytes[..cut], 16).err().unwrap();
        assert!(
            matches!(&err, Error::InvalidData(m) if m.starts_with(&format!("{PATH}: not a valid Parquet file"))),
            "cut {cut}: {err:?}"
        );
    }
    let err = ingest(&opts, PATH, b"order_id,amount\n1,2\n", 1 << 20)
        .err()
        .unwrap();
    assert!(
        matches!(&err, Error::InvalidData(m) if m.starts_with(PATH)),
        "{err:?}"
    );
    // Intact footer, data replaced by zeros: the pages cannot be decoded.
    let mut broken = bytes.clone();
    broken[4..bytes.len() / 2].fill(0);
    let err = ingest(&opts, PATH, &broken, 1 << 20).err().unwrap();
    assert!(
        matches!(&err, Error::InvalidData(m) if m.starts_with(PATH)),
        "{err:?}"
    );
}

#[test]
fn an_empty_file_gives_no_rows() {
    let opts = options("parquet", &ORDER_COLUMNS, 100);
    assert_eq!(ingest(&opts, PATH, b"", 1 << 20).unwrap().rows(), 0);
    let bytes = write(orders(0), Compression::SNAPPY, 100);
    assert_eq!(ingest(&opts, PATH, &bytes, 1 << 20).unwrap().rows(), 0);
}

#[test]
fn unsupported_codecs_and_chunks_outside_the_file_are_refused_up_front() {
    let message =
        parquet::schema::parser::parse_message_type("message m { required int64 amount; }")
            .unwrap();
    let schema = SchemaDescriptor::new(Arc::new(message));
    let chunk = |codec| {
        ColumnChunkMetaData::builder(schema.column(0))
            .set_compression(codec)
            .set_data_page_offset(4)
            .set_total_compressed_size(10)
            .build()
            .unwrap()
    };
    let opts = options("parquet", &ORDER_COLUMNS, 100);
    let output = opts.output_schema();
    let file = FileContext {
        path: PATH,
        columns: &opts.columns,
        schema: &output,
        batch_rows: 100,
        ingested_at: RUN_START,
        chunk_size: 1024,
    };
    let check = |codec, size| crate::parquet_file::check_chunk(&file, &chunk(codec), size);
    assert_eq!(
        check(Compression::LZO, 100).unwrap_err(),
        Error::InvalidData(format!(
            "{PATH}: column `amount` is compressed with LZO, which this plugin cannot read \
             (supported: UNCOMPRESSED, SNAPPY, GZIP, BROTLI, LZ4, LZ4_RAW, ZSTD)"
        ))
    );
    assert_eq!(
        check(Compression::ZSTD(ZstdLevel::default()), 100),
        Ok((4, 10))
    );
    let err = check(Compression::SNAPPY, 12).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidData(format!(
            "{PATH}: not a valid Parquet file: column `amount` claims bytes 4..14 of a 12-byte file (truncated?)"
        ))
    );
}

#[test]
fn timestamps_with_another_zone_or_none_keep_their_instant() {
    let bytes = write(
        vec![
            (
                "a",
                Arc::new(TimestampMicrosecondArray::from(vec![5]).with_timezone("+02:00"))
                    as ArrayRef,
            ),
            ("b", Arc::new(TimestampMicrosecondArray::from(vec![7]))),
        ],
        Compression::SNAPPY,
        100,
    );
    let opts = options("parquet", &[("a", "timestamp"), ("b", "timestamp")], 100);
    let out = ingest(&opts, PATH, &bytes, 1 << 20).unwrap();
    assert_eq!(out.timestamps("a"), vec![Some(5)]);
    assert_eq!(out.timestamps("b"), vec![Some(7)]);
    assert_eq!(out.rescued(), vec![None]);
}

/// The rows `testdata/make_fixtures.py` writes.
fn fixture_orders() -> Vec<(&'static str, ArrayRef)> {
    const STATUSES: [&str; 5] = ["PLACED", "SHIPPED", "DELIVERED", "CANCELLED", "RETURNED"];
    let ids = 0..60i64;
    let start = micros("2026-03-01T00:00:00Z");
    vec![
        (
            "order_id",
            Arc::new(Int64Array::from_iter_values(ids.clone().map(|i| 1000 + i))) as ArrayRef,
        ),
        (
            "customer_id",
            Arc::new(Int64Array::from_iter(
                ids.clone().map(|i| (i % 5 != 0).then_some(i % 7)),
            )),
        ),
        (
            "order_date",
            Arc::new(Date32Array::from_iter_values(
                ids.clone().map(|i| 20_454 + i as i32),
            )),
        ),
        (
            "status",
            Arc::new(StringArray::from_iter_values(
                ids.clone().map(|i| STATUSES[i as usize % 5]),
            )),
        ),
        (
            "items",
            Arc::new(Int32Array::from_iter_values(
                ids.clone().map(|i| i as i32 % 5),
            )),
        ),
        (
            "amount",
            Arc::new(
                Decimal128Array::from_iter_values(ids.clone().map(|i| i128::from(i) * 101))
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
        ),
        (
            "operation",
            Arc::new(StringArray::from_iter_values(
                ids.clone()
                    .map(|i| if i % 2 == 0 { "INSERT" } else { "UPDATE" }),
            )),
        ),
        (
            "updated_at",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(ids.map(|i| start + i * 1_000_001))
                    .with_timezone("UTC"),
            ),
        ),
    ]
}

#[test]
fn zstd_files_from_another_writer_are_read() {
    let fixtures: [(&str, &[u8]); 3] = [
        (
            "zstd, dictionary, v1 pages",
            include_bytes!("../../testdata/orders_zstd.parquet"),
        ),
        (
            "zstd, plain, v2 pages",
            include_bytes!("../../testdata/orders_zstd_v2.parquet"),
        ),
        (
            "zstd and snappy chunks",
            include_bytes!("../../testdata/orders_mixed_codecs.parquet"),
        ),
    ];
    let expected = fixture_orders();
    for (case, bytes) in fixtures {
        for batch_rows in [7, 1000] {
            let opts = options("parquet", &ORDER_COLUMNS, batch_rows);
            let out = ingest(&opts, PATH, bytes, 1024).unwrap();
            assert_same_columns(&out, &expected, case);
            assert_eq!(out.rescued(), vec![None; 60], "{case}");
        }
    }
}

#[test]
fn a_corrupt_zstd_page_fails_naming_the_file() {
    let mut bytes = include_bytes!("../../testdata/orders_zstd_v2.parquet").to_vec();
    // Past the magic, inside the first column chunk's page data.
    bytes[40..120].fill(0xAB);
    let opts = options("parquet", &ORDER_COLUMNS, 100);
    let err = ingest(&opts, PATH, &bytes, 1 << 20).err().unwrap();
    assert!(
        matches!(&err, Error::InvalidData(m) if m.starts_with(&format!("{PATH}: cannot read row group 0"))),
        "{err:?}"
    );
}
