#!/usr/bin/env python3
"""Do lfhost's tables and a peer's hold the same rows?

    python benches/peers/compare.py LFHOST_LAKE PEER_OUT_DIR [--tables gold_customer_orders,...]

reads each table from lfhost's lake (`LFHOST_LAKE/<table>/`, a Delta table,
with the `deltalake` package) and from the peer's output
(`PEER_OUT_DIR/<table>.parquet`), keeps the contract's columns
(shared/spec/medallion.md), normalises the values and compares the two
multisets of rows (row order plays no part). On a mismatch it prints the
first few differing keys with the rows found on each side only, and exits 1.

Normalised values: timestamps as UTC microseconds since the epoch (int; a
timestamp without a zone is read as UTC), decimals as `decimal.Decimal`
(so 1.5 == 1.50), dates as `datetime.date`, integers as int, strings as str.

Bronze and clean tables are compared on their declared columns and
`_source_file`; `_ingested_at` differs by run and is left out, and so is
`_rescued_data` unless --rescued is given (the peers never rescue). By default
`_source_file` is compared by its last two path components
(`customers/batch-0001-a.csv`), since lfhost may record a URI and the peer a
plain path; `--source-file full` compares it as is, `ignore` leaves it out.

Column types are checked against the contract too, but only reported (a
type difference is not a row difference).

The functions are also used by check_against_oracle.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

TS = pa.timestamp("us", tz="UTC")

# table -> [(column, arrow type)], the contract's columns in order.
_CUSTOMERS = [
    ("customer_id", pa.int64()),
    ("first_name", pa.string()),
    ("last_name", pa.string()),
    ("email", pa.string()),
    ("phone", pa.string()),
    ("operation", pa.string()),
    ("updated_at", TS),
]
_ADDRESSES = [
    ("customer_id", pa.int64()),
    ("street", pa.string()),
    ("city", pa.string()),
    ("state", pa.string()),
    ("postal_code", pa.string()),
    ("country", pa.string()),
    ("operation", pa.string()),
    ("updated_at", TS),
]
_ORDERS = [
    ("order_id", pa.int64()),
    ("customer_id", pa.int64()),
    ("order_date", pa.date32()),
    ("status", pa.string()),
    ("items", pa.int32()),
    ("amount", pa.decimal128(12, 2)),
    ("operation", pa.string()),
    ("updated_at", TS),
]
_META = [("_rescued_data", pa.string()), ("_source_file", pa.string()), ("_ingested_at", TS)]
SCHEMAS: dict[str, list[tuple[str, pa.DataType]]] = {
    "bronze_customers": _CUSTOMERS + _META,
    "bronze_addresses": _ADDRESSES + _META,
    "bronze_orders": _ORDERS + _META,
    "silver_customers_clean": _CUSTOMERS + _META,
    "silver_addresses_clean": _ADDRESSES + _META,
    "silver_orders_clean": _ORDERS + _META,
    "silver_customers": [c for c in _CUSTOMERS if c[0] != "operation"],
    "silver_orders": [c for c in _ORDERS if c[0] != "operation"],
    "silver_addresses": [c for c in _ADDRESSES if c[0] not in ("operation", "updated_at")]
    + [("__START_AT", TS), ("__END_AT", TS)],
    "gold_customer_orders": [
        ("customer_id", pa.int64()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("email", pa.string()),
        ("city", pa.string()),
        ("state", pa.string()),
        ("country", pa.string()),
        ("total_orders", pa.int64()),
        ("total_items_order", pa.int64()),
        ("total_order_amount", pa.decimal128(18, 2)),
    ],
}
TABLES = list(SCHEMAS)
KEYS = {
    "bronze_customers": "customer_id",
    "bronze_addresses": "customer_id",
    "bronze_orders": "order_id",
    "silver_customers_clean": "customer_id",
    "silver_addresses_clean": "customer_id",
    "silver_orders_clean": "order_id",
    "silver_customers": "customer_id",
    "silver_orders": "order_id",
    "silver_addresses": "customer_id",
    "gold_customer_orders": "customer_id",
}
TIMESTAMP_COLUMNS = {"updated_at", "__START_AT", "__END_AT", "_ingested_at"}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def compared_columns(table: str, rescued: bool = False, source_file: str = "tail") -> list[str]:
    """The columns compared for `table`."""
    out = []
    for name, _ in SCHEMAS[table]:
        if name == "_ingested_at":
            continue
        if name == "_rescued_data" and not rescued:
            continue
        if name == "_source_file" and source_file == "ignore":
            continue
        out.append(name)
    return out


def source_file_tail(value):
    """'file:///x/landing/customers/a.csv' or '/x/landing/customers/a.csv' →
    'customers/a.csv'."""
    if value is None:
        return None
    text = value.split("://", 1)[1] if "://" in value else value
    parts = [p for p in text.replace("\\", "/").split("/") if p]
    return "/".join(parts[-2:])


def normalise_value(value):
    """A Python value (from a dict row) in the comparison's form."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return (value - _EPOCH) // dt.timedelta(microseconds=1)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _column_values(array: pa.ChunkedArray) -> list:
    ty = array.type
    if pa.types.is_timestamp(ty):
        if ty.unit != "us":
            array = pc.cast(array, pa.timestamp("us", tz=ty.tz), safe=False)
        return pc.cast(array, pa.int64()).to_pylist()
    if pa.types.is_dictionary(ty):
        array = pc.cast(array, ty.value_type)
    return array.to_pylist()


def arrow_rows(table: pa.Table, columns: list[str], source_file: str = "tail") -> list[tuple]:
    """The rows of an Arrow table as tuples of normalised values of `columns`
    (a column the table lacks raises KeyError)."""
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise KeyError(f"missing columns {missing} (has {table.column_names})")
    values = []
    for name in columns:
        col = _column_values(table.column(name))
        if name == "_source_file" and source_file == "tail":
            col = [source_file_tail(v) for v in col]
        values.append(col)
    return list(zip(*values)) if values else []


def dict_rows(rows: list[dict], columns: list[str], source_file: str = "tail") -> list[tuple]:
    """Rows given as dicts (the oracle's form), normalised like arrow_rows."""
    out = []
    for row in rows:
        values = []
        for name in columns:
            v = normalise_value(row.get(name))
            if name == "_source_file" and source_file == "tail":
                v = source_file_tail(v)
            values.append(v)
        out.append(tuple(values))
    return out


def _same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Equal, or the same logical type: any UTF-8 string layout (Polars
    writes large_string), a UTC timestamp of the same unit."""
    if actual == expected:
        return True
    strings = (pa.string(), pa.large_string(), pa.string_view())
    if expected in strings:
        return actual in strings
    if pa.types.is_timestamp(actual) and pa.types.is_timestamp(expected):
        return actual.unit == expected.unit and actual.tz in ("UTC", "+00:00", "Etc/UTC", "utc")
    return False


def type_notes(table_name: str, table: pa.Table, label: str) -> list[str]:
    """Columns whose Arrow type is not the contract's (reported, not failed)."""
    notes = []
    for name, expected in SCHEMAS[table_name]:
        if name not in table.column_names:
            continue
        actual = table.schema.field(name).type
        if not _same_type(actual, expected):
            notes.append(f"{label} {table_name}.{name} is {actual}, the contract says {expected}")
    return notes


def _fmt(name: str, value) -> str:
    if value is None:
        return "null"
    if name in TIMESTAMP_COLUMNS and isinstance(value, int):
        when = _EPOCH + dt.timedelta(microseconds=value)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _sort_key(value):
    return (value is not None, type(value).__name__, value if value is not None else 0)


def diff_rows(
    table: str,
    left: list[tuple],
    right: list[tuple],
    columns: list[str],
    left_label: str = "lfhost",
    right_label: str = "peer",
    limit: int = 5,
) -> list[str]:
    """Lines describing how the two multisets of rows differ; [] when equal."""
    lc, rc = Counter(left), Counter(right)
    if lc == rc:
        return []
    only_left = lc - rc
    only_right = rc - lc
    key = KEYS.get(table)
    ki = columns.index(key) if key in columns else 0
    by_key: dict = {}
    for row, n in only_left.items():
        by_key.setdefault(row[ki], ([], []))[0].extend([row] * n)
    for row, n in only_right.items():
        by_key.setdefault(row[ki], ([], []))[1].extend([row] * n)
    lines = [
        f"{table}: {len(left)} rows in {left_label}, {len(right)} in {right_label}; "
        f"{sum(only_left.values())} only in {left_label}, {sum(only_right.values())} only in {right_label}, "
        f"{len(by_key)} differing {columns[ki]} values"
    ]
    for k in sorted(by_key, key=_sort_key)[:limit]:
        lines.append(f"  {columns[ki]}={_fmt(columns[ki], k)}")
        for label, rows in ((left_label, by_key[k][0]), (right_label, by_key[k][1])):
            for row in sorted(rows, key=lambda r: tuple(_sort_key(v) for v in r)):
                cells = ", ".join(f"{c}={_fmt(c, v)}" for c, v in zip(columns, row) if c != columns[ki])
                lines.append(f"    only in {label:<7} {{{cells}}}")
    if len(by_key) > limit:
        lines.append(f"  ... and {len(by_key) - limit} more {columns[ki]} values")
    return lines


def read_delta(path: str) -> pa.Table:
    from deltalake import DeltaTable

    return DeltaTable(path).to_pyarrow_table()


def read_parquet(path: str) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(path)


def compare(lake: str, peer_dir: str, tables: list[str], rescued: bool = False, source_file: str = "tail",
            limit: int = 5, out=sys.stdout) -> bool:
    ok = True
    for table in tables:
        columns = compared_columns(table, rescued, source_file)
        left_path = os.path.join(lake, table)
        right_path = os.path.join(peer_dir, f"{table}.parquet")
        try:
            left_table = read_delta(left_path)
        except Exception as e:  # noqa: BLE001 - report and go on
            print(f"{table}: cannot read lfhost's table {left_path}: {e}", file=out)
            ok = False
            continue
        try:
            right_table = read_parquet(right_path)
        except Exception as e:  # noqa: BLE001
            print(f"{table}: cannot read the peer's file {right_path}: {e}", file=out)
            ok = False
            continue
        for note in type_notes(table, left_table, "lfhost") + type_notes(table, right_table, "peer"):
            print(f"note: {note}", file=out)
        try:
            left = arrow_rows(left_table, columns, source_file)
            right = arrow_rows(right_table, columns, source_file)
        except KeyError as e:
            print(f"{table}: {e}", file=out)
            ok = False
            continue
        lines = diff_rows(table, left, right, columns, "lfhost", "peer", limit)
        if lines:
            ok = False
            print("\n".join(lines), file=out)
        else:
            print(f"{table}: same {len(left)} rows", file=out)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lake", help="lfhost's lake: <lake>/<table>/ Delta tables")
    parser.add_argument("peer_dir", help="the peer's output: <dir>/<table>.parquet")
    parser.add_argument("--tables", default=",".join(TABLES), help="comma-separated (default: all ten)")
    parser.add_argument("--rescued", action="store_true", help="compare _rescued_data too")
    parser.add_argument("--source-file", choices=["tail", "full", "ignore"], default="tail")
    parser.add_argument("--limit", type=int, default=5, help="differing keys shown per table")
    args = parser.parse_args(argv)
    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    unknown = [t for t in tables if t not in SCHEMAS]
    if unknown:
        parser.error(f"unknown tables {unknown}; known: {', '.join(TABLES)}")
    ok = compare(args.lake, args.peer_dir, tables, args.rescued, args.source_file, args.limit)
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
