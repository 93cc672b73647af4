#!/usr/bin/env python3
"""The seed medallion pipeline (shared/spec/medallion.md) done by DuckDB SQL,
as a peer for benchmarking lfhost:

    python benches/peers/duckdb_pipeline.py LANDING_DIR OUT_DIR [--threads N]

reads every landing file (LANDING_DIR/customers/*.csv, addresses/*.jsonl,
orders/*.parquet) and writes the pipeline's ten tables as
OUT_DIR/<table>.parquet, plus OUT_DIR/_data_quality.json (the expectations'
passed/failed counts, which the contract's event log reports). It prints one
JSON line of row counts and timings.

It is a one-shot full build: every file is read in one run. Because the SCD
tables are defined by the order (sequence, file path, row position) alone,
that gives what lfhost gives after any split of the same files into runs.

What it does not do (the benchmark data is well-formed):

* `_rescued_data` is always null and `_ingested_at` is one timestamp (the
  run's start). A value that does not parse as its declared type still
  becomes null, as the contract says; it is just not rescued.
* A CSV record with the wrong number of fields or a JSON line that is not an
  object makes DuckDB's reader fail the run instead of giving a rescued row.

Row positions: DuckDB's CSV and JSON readers have no per-file row number, so
the position is the bronze table's rowid. With `preserve_insertion_order`
(on while the bronze tables are built) DuckDB keeps a multi-file scan in the
order of its file list, which is sorted byte-wise by path, so rowid orders
rows by (file path, row position) exactly as the contract needs.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import sys
import time

import duckdb

from common import TABLES, source_files

CUSTOMER_COLUMNS = [
    ("customer_id", "BIGINT"),
    ("first_name", "VARCHAR"),
    ("last_name", "VARCHAR"),
    ("email", "VARCHAR"),
    ("phone", "VARCHAR"),
    ("operation", "VARCHAR"),
    ("updated_at", "TIMESTAMPTZ"),
]
ADDRESS_COLUMNS = [
    ("customer_id", "BIGINT"),
    ("street", "VARCHAR"),
    ("city", "VARCHAR"),
    ("state", "VARCHAR"),
    ("postal_code", "VARCHAR"),
    ("country", "VARCHAR"),
    ("operation", "VARCHAR"),
    ("updated_at", "TIMESTAMPTZ"),
]
ORDER_COLUMNS = [
    ("order_id", "BIGINT"),
    ("customer_id", "BIGINT"),
    ("order_date", "DATE"),
    ("status", "VARCHAR"),
    ("items", "INTEGER"),
    ("amount", "DECIMAL(12,2)"),
    ("operation", "VARCHAR"),
    ("updated_at", "TIMESTAMPTZ"),
]
METADATA_COLUMNS = ["_rescued_data", "_source_file", "_ingested_at"]
TRACKED = ["street", "city", "state", "postal_code", "country"]

# RFC 3339 date-time: DuckDB's cast to TIMESTAMPTZ also takes a bare date, a
# space for the T or no offset (read in the session time zone), which the
# contract does not; the pattern rejects those first. The cast itself turns
# the offset into UTC and truncates digits past microseconds.
RFC3339 = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
# The contract's integers: digits with an optional sign. (DuckDB's cast also
# takes '12.5', '1e3', '0x10', '1_000' and surrounding blanks.)
INTEGER = r"[+-]?[0-9]+"

# The contract's expectations: (name, SQL expression, action).
EXPECTATIONS = {
    "silver_customers_clean": [
        ("valid_customer_id", "customer_id IS NOT NULL", "drop"),
        ("valid_operation", "operation IN ('INSERT', 'UPDATE', 'DELETE')", "drop"),
        ("valid_sequence", "updated_at IS NOT NULL", "drop"),
        ("valid_email", "operation = 'DELETE' OR email LIKE '%_@_%'", "warn"),
    ],
    "silver_addresses_clean": [
        ("valid_customer_id", "customer_id IS NOT NULL", "drop"),
        ("valid_operation", "operation IN ('INSERT', 'UPDATE', 'DELETE')", "drop"),
        ("valid_sequence", "updated_at IS NOT NULL", "drop"),
        (
            "valid_postal_code",
            "operation = 'DELETE' OR (postal_code IS NOT NULL AND length(postal_code) BETWEEN 3 AND 10)",
            "drop",
        ),
        ("valid_country", "country IS NULL OR length(country) = 2", "warn"),
    ],
    "silver_orders_clean": [
        ("valid_order_id", "order_id IS NOT NULL", "drop"),
        ("valid_customer_id", "operation = 'DELETE' OR customer_id IS NOT NULL", "drop"),
        ("valid_operation", "operation IN ('INSERT', 'UPDATE', 'DELETE')", "drop"),
        ("valid_sequence", "updated_at IS NOT NULL", "drop"),
        ("non_negative_amount", "operation = 'DELETE' OR amount >= 0", "drop"),
        ("positive_items", "operation = 'DELETE' OR items > 0", "drop"),
        (
            "valid_status",
            "operation = 'DELETE' OR status IN ('PLACED', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'RETURNED')",
            "warn",
        ),
    ],
}
CLEAN_SOURCE = {
    "silver_customers_clean": "bronze_customers",
    "silver_addresses_clean": "bronze_addresses",
    "silver_orders_clean": "bronze_orders",
}


def q(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def file_list(files: list[str]) -> str:
    return "[" + ", ".join(q(f) for f in files) + "]"


def parse_timestamp(text_expr: str) -> str:
    """VARCHAR → TIMESTAMPTZ (µs, UTC) or NULL. Lower-case t/z (valid RFC 3339)
    are retried upper-cased; COALESCE only evaluates that for the rows that need it."""
    return (
        f"CASE WHEN regexp_full_match({text_expr}, {q(RFC3339)}) THEN "
        f"COALESCE(TRY_CAST({text_expr} AS TIMESTAMPTZ), TRY_CAST(upper({text_expr}) AS TIMESTAMPTZ)) END"
    )


def parse_integer(text_expr: str) -> str:
    return f"CASE WHEN regexp_full_match({text_expr}, {q(INTEGER)}) THEN TRY_CAST({text_expr} AS BIGINT) END"


def empty_select(columns) -> str:
    cols = [f"NULL::{ty} AS {name}" for name, ty in columns]
    cols += ["NULL::VARCHAR AS _rescued_data", "NULL::VARCHAR AS _source_file", "NULL::TIMESTAMPTZ AS _ingested_at"]
    return "SELECT " + ", ".join(cols) + " WHERE false"


def csv_header(path: str) -> list[str] | None:
    """The header record of a CSV file (BOM dropped), or None when it cannot
    be read simply (then DuckDB's sniffer decides)."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
        text = head.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    text = text.removeprefix("\ufeff")
    if "\n" not in text and len(head) == 1 << 16:
        return None
    try:
        record = next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error:
        return None
    if not record or len(set(record)) != len(record):
        return None
    return record


def bronze_customers_sql(con, files: list[str], ingested: str) -> str:
    if not files:
        return empty_select(CUSTOMER_COLUMNS)
    # Every field read as text and typed below; columns are matched to the
    # header by name. When every file has the same header (the usual case)
    # the reader is given it outright; otherwise union_by_name lines the
    # files up, at the cost of sniffing each. An empty field, quoted or not,
    # is NULL (allow_quoted_nulls is the default).
    dialect = "delim = ',', quote = '\"', escape = '\"', encoding = 'utf-8', filename = true"
    headers = [csv_header(f) for f in files]
    if headers[0] is not None and all(h == headers[0] for h in headers):
        present = set(headers[0])
        columns = "{" + ", ".join(f"{q(name)}: 'VARCHAR'" for name in headers[0]) + "}"
        scan = f"read_csv({file_list(files)}, header = true, auto_detect = false, columns = {columns}, {dialect})"
    else:
        scan = f"read_csv({file_list(files)}, header = true, all_varchar = true, union_by_name = true, {dialect})"
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
    exprs = []
    for name, ty in CUSTOMER_COLUMNS:
        if name not in present:
            exprs.append(f"NULL::{ty} AS {name}")
        elif ty == "BIGINT":
            exprs.append(f"{parse_integer(name)} AS {name}")
        elif ty == "TIMESTAMPTZ":
            exprs.append(f"{parse_timestamp(name)} AS {name}")
        else:
            exprs.append(name)
    return (
        "SELECT " + ", ".join(exprs) + ", NULL::VARCHAR AS _rescued_data, filename AS _source_file, "
        f"{ingested} AS _ingested_at FROM {scan}"
    )


def bronze_addresses_sql(files: list[str], ingested: str) -> str:
    if not files:
        return empty_select(ADDRESS_COLUMNS)
    # Fields read as JSON so that a value of the wrong JSON type becomes NULL
    # (DuckDB would turn "17" or 7.5 into an integer, 12345 into a string).
    # The JSON text of a value starts with '"' exactly when it is a string,
    # and is an integer exactly when it is optional '-' and digits.
    columns = "{" + ", ".join(f"{name}: 'JSON'" for name, _ in ADDRESS_COLUMNS) + "}"
    scan = f"read_json({file_list(files)}, format = 'newline_delimited', columns = {columns}, filename = true)"
    exprs = []
    for name, ty in ADDRESS_COLUMNS:
        text = f"{name}::VARCHAR"
        string = f"CASE WHEN starts_with({text}, '\"') THEN {name} ->> '$' END"
        if ty == "BIGINT":
            exprs.append(
                f"CASE WHEN regexp_full_match({text}, '-?[0-9]+') THEN TRY_CAST({text} AS BIGINT) END AS {name}"
            )
        elif ty == "TIMESTAMPTZ":
            exprs.append(f"{parse_timestamp(f'({string})')} AS {name}")
        else:
            exprs.append(f"{string} AS {name}")
    return (
        "SELECT " + ", ".join(exprs) + ", NULL::VARCHAR AS _rescued_data, filename AS _source_file, "
        f"{ingested} AS _ingested_at FROM {scan}"
    )


def bronze_orders_sql(con, files: list[str], ingested: str) -> str:
    if not files:
        return empty_select(ORDER_COLUMNS)
    scan = f"read_parquet({file_list(files)}, union_by_name = true, filename = true)"
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
    exprs = [f"{name}::{ty} AS {name}" if name in present else f"NULL::{ty} AS {name}" for name, ty in ORDER_COLUMNS]
    return (
        "SELECT " + ", ".join(exprs) + ", NULL::VARCHAR AS _rescued_data, filename AS _source_file, "
        f"{ingested} AS _ingested_at FROM {scan}"
    )


def drop_filter(table: str) -> str:
    return " AND ".join(f"({expr})" for _, expr, action in EXPECTATIONS[table] if action == "drop")


SCD1_SQL = """
CREATE TABLE {table} AS
SELECT {columns}
FROM {clean}
QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY updated_at DESC, _ord DESC) = 1
    AND operation <> 'DELETE'
"""

# SCD type 2, per key, on the changes in (sequence, file path, row position) order:
#  1. of changes with equal sequence only the last applies;
#  2. the version in force before a change is the previous change's values
#     when that was an upsert (it either opened a version or equalled the one
#     in force), and none when it was a delete or there is none;
#  3. an upsert equal (NULL-safe) to the version in force is a no-op; every
#     other change ends the version in force, and an upsert opens one;
#  4. so each opening upsert's version ends at the next change that is not a
#     no-op (a delete, or an upsert with other values).
SCD2_SQL = """
CREATE TABLE silver_addresses AS
WITH applied AS (
    SELECT customer_id, street, city, state, postal_code, country, updated_at,
           operation = 'DELETE' AS is_delete
    FROM silver_addresses_clean
    QUALIFY row_number() OVER (PARTITION BY customer_id, updated_at ORDER BY _ord DESC) = 1
),
with_previous AS (
    SELECT *,
           lag(is_delete) OVER w AS prev_delete,
           lag(street) OVER w AS prev_street,
           lag(city) OVER w AS prev_city,
           lag(state) OVER w AS prev_state,
           lag(postal_code) OVER w AS prev_postal_code,
           lag(country) OVER w AS prev_country
    FROM applied
    WINDOW w AS (PARTITION BY customer_id ORDER BY updated_at)
),
effective AS (
    SELECT customer_id, street, city, state, postal_code, country, updated_at, is_delete
    FROM with_previous
    WHERE is_delete
       OR prev_delete IS NULL
       OR prev_delete
       OR street IS DISTINCT FROM prev_street
       OR city IS DISTINCT FROM prev_city
       OR state IS DISTINCT FROM prev_state
       OR postal_code IS DISTINCT FROM prev_postal_code
       OR country IS DISTINCT FROM prev_country
)
SELECT customer_id, street, city, state, postal_code, country,
       updated_at AS __START_AT,
       lead(updated_at) OVER (PARTITION BY customer_id ORDER BY updated_at) AS __END_AT
FROM effective
QUALIFY NOT is_delete
"""

GOLD_SQL = """
CREATE TABLE gold_customer_orders AS
WITH current_address AS (
    SELECT customer_id, city, state, country FROM silver_addresses WHERE __END_AT IS NULL
),
totals AS (
    SELECT customer_id, count(*) AS n, sum(items) AS items, sum(amount) AS amount
    FROM silver_orders
    GROUP BY customer_id
)
SELECT c.customer_id, c.first_name, c.last_name, c.email,
       a.city, a.state, a.country,
       COALESCE(t.n, 0)::BIGINT AS total_orders,
       COALESCE(t.items, 0)::BIGINT AS total_items_order,
       COALESCE(t.amount, 0)::DECIMAL(18, 2) AS total_order_amount
FROM silver_customers c
LEFT JOIN current_address a ON a.customer_id = c.customer_id
LEFT JOIN totals t ON t.customer_id = c.customer_id
"""


def run(landing: str, out_dir: str, threads: int | None, compression: str, memory_limit: str | None) -> dict:
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 4)

    os.makedirs(out_dir, exist_ok=True)
    run_start = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
    ingested = f"TIMESTAMPTZ {q(run_start + 'Z')}"

    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = {q(memory_limit)}")
    con.execute("SET TimeZone = 'UTC'")
    # Needed while the bronze tables are built (rowid = file order, row order).
    con.execute("SET preserve_insertion_order = true")

    customers = source_files(landing, "customers", "*.csv")
    addresses = source_files(landing, "addresses", "*.jsonl")
    orders = source_files(landing, "orders", "*.parquet")

    con.execute(f"CREATE TABLE bronze_customers AS {bronze_customers_sql(con, customers, ingested)}")
    con.execute(f"CREATE TABLE bronze_addresses AS {bronze_addresses_sql(addresses, ingested)}")
    con.execute(f"CREATE TABLE bronze_orders AS {bronze_orders_sql(con, orders, ingested)}")
    lap("bronze")
    # From here on no result depends on row order.
    con.execute("SET preserve_insertion_order = false")

    # Expectation counts over every row the flow reads (NULL fails).
    quality = {}
    for clean, source in CLEAN_SOURCE.items():
        exps = EXPECTATIONS[clean]
        # FILTER (WHERE ...) counts the rows where the expression is TRUE.
        aggs = [f"count(*) FILTER (WHERE {expr})" for _, expr, _ in exps]
        aggs.append(f"count(*) FILTER (WHERE {drop_filter(clean)})")
        row = con.execute(f"SELECT count(*), {', '.join(aggs)} FROM {source}").fetchone()
        total, passed, kept = row[0], row[1:-1], row[-1]
        quality[clean] = {
            "num_input_rows": total,
            "num_output_rows": kept,
            "dropped_records": total - kept,
            "expectations": [
                {"name": name, "action": action, "passed_records": p, "failed_records": total - p}
                for (name, _, action), p in zip(exps, passed)
            ],
        }
        # The clean tables: the bronze columns, plus the change order (_ord)
        # used by the SCD flows and left out of the written file. A view:
        # filtering again is cheaper than copying the rows.
        con.execute(f"CREATE VIEW {clean} AS SELECT *, rowid AS _ord FROM {source} WHERE {drop_filter(clean)}")
    lap("clean")

    con.execute(
        SCD1_SQL.format(
            table="silver_customers",
            clean="silver_customers_clean",
            key="customer_id",
            columns="customer_id, first_name, last_name, email, phone, updated_at",
        )
    )
    con.execute(
        SCD1_SQL.format(
            table="silver_orders",
            clean="silver_orders_clean",
            key="order_id",
            columns="order_id, customer_id, order_date, status, items, amount, updated_at",
        )
    )
    con.execute(SCD2_SQL)
    lap("silver")
    con.execute(GOLD_SQL)
    lap("gold")

    counts = {}
    for table in TABLES:
        path = os.path.join(out_dir, f"{table}.parquet")
        select = f"SELECT * EXCLUDE (_ord) FROM {table}" if table in CLEAN_SOURCE else f"SELECT * FROM {table}"
        con.execute(f"COPY ({select}) TO {q(path)} (FORMAT parquet, COMPRESSION {compression})")
        counts[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    with open(os.path.join(out_dir, "_data_quality.json"), "w") as f:
        json.dump(quality, f, indent=2)
    lap("write")
    con.close()
    return {
        "engine": "duckdb",
        "version": duckdb.__version__,
        "threads": threads,
        "files": {"customers": len(customers), "addresses": len(addresses), "orders": len(orders)},
        "rows": counts,
        "seconds": timings,
        "total_seconds": round(time.perf_counter() - started, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("landing", help="landing folder (customers/, addresses/, orders/)")
    parser.add_argument("out_dir", help="where <table>.parquet files are written")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: DuckDB's own, the core count)")
    parser.add_argument("--compression", default="snappy", help="Parquet compression (default snappy, as delta-rs writes)")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 8GB")
    args = parser.parse_args(argv)
    summary = run(args.landing, args.out_dir, args.threads, args.compression, args.memory_limit)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
