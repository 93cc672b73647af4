"""Writes the ZSTD Parquet fixtures of bronze-ingest's tests with pyarrow.

The crate cannot write ZSTD itself (parquet's zstd codec is C), so these
files come from another writer; the tests rebuild the same rows and compare.
Run with any Python that has pyarrow: python make_fixtures.py
"""

import datetime
import decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ROWS = 60
STATUSES = ["PLACED", "SHIPPED", "DELIVERED", "CANCELLED", "RETURNED"]
SCHEMA = pa.schema(
    [
        ("order_id", pa.int64()),
        ("customer_id", pa.int64()),
        ("order_date", pa.date32()),
        ("status", pa.string()),
        ("items", pa.int32()),
        ("amount", pa.decimal128(12, 2)),
        ("operation", pa.string()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)


def table() -> pa.Table:
    start = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
    return pa.table(
        {
            "order_id": [1000 + i for i in range(ROWS)],
            "customer_id": [None if i % 5 == 0 else i % 7 for i in range(ROWS)],
            "order_date": [datetime.date(2026, 1, 1) + datetime.timedelta(days=i) for i in range(ROWS)],
            "status": [STATUSES[i % 5] for i in range(ROWS)],
            "items": [i % 5 for i in range(ROWS)],
            "amount": [decimal.Decimal(i * 101).scaleb(-2) for i in range(ROWS)],
            "operation": ["INSERT" if i % 2 == 0 else "UPDATE" for i in range(ROWS)],
            "updated_at": [start + datetime.timedelta(seconds=i, microseconds=i) for i in range(ROWS)],
        },
        schema=SCHEMA,
    )


def main() -> None:
    t = table()
    pq.write_table(t, HERE / "orders_zstd.parquet", compression="zstd", row_group_size=25)
    pq.write_table(
        t,
        HERE / "orders_zstd_v2.parquet",
        compression="zstd",
        row_group_size=25,
        data_page_version="2.0",
        use_dictionary=False,
    )
    # ZSTD beside other codecs in one row group.
    codecs = {name: ("zstd" if i % 2 == 0 else "snappy") for i, name in enumerate(SCHEMA.names)}
    pq.write_table(t, HERE / "orders_mixed_codecs.parquet", compression=codecs, row_group_size=40)


if __name__ == "__main__":
    main()
