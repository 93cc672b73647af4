#!/usr/bin/env python3
"""The seed medallion pipeline (shared/spec/medallion.md) done by Polars, as a
peer for benchmarking lfhost:

    python benches/peers/polars_pipeline.py LANDING_DIR OUT_DIR [--threads N]

reads every landing file (LANDING_DIR/customers/*.csv, addresses/*.jsonl,
orders/*.parquet) and writes the pipeline's ten tables as
OUT_DIR/<table>.parquet, plus OUT_DIR/_data_quality.json (the expectations'
passed/failed counts, which the contract's event log reports). It prints one
JSON line of row counts and timings.

--threads sets POLARS_MAX_THREADS, which Polars reads once, when it is first
imported: so this module imports polars only after parsing its arguments.

It is a one-shot full build: every file is read in one run. Because the SCD
tables are defined by the order (sequence, file path, row position) alone,
that gives what lfhost gives after any split of the same files into runs.
The order's (file path, row position) part is the row index of each
multi-file scan, whose file list is sorted byte-wise by path.

What it does not do (the benchmark data is well-formed):

* `_rescued_data` is always null and `_ingested_at` is one timestamp (the
  run's start). A value that does not parse as its declared type still
  becomes null, as the contract says; it is just not rescued.
* Polars' NDJSON reader turns a JSON number, boolean, array or object in a
  string field into its JSON text (12345 → "12345"), where the contract wants
  null (a value of the wrong JSON type), and has no option to refuse it;
  an int64 field of the wrong JSON type ("17", 7.5, true) does become null.
* A CSV record with the wrong number of fields or a JSON line that is not an
  object makes Polars' reader fail the run instead of giving a rescued row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time

from common import TABLES, source_files

CUSTOMER_COLUMNS = ["customer_id", "first_name", "last_name", "email", "phone", "operation", "updated_at"]
ADDRESS_COLUMNS = ["customer_id", "street", "city", "state", "postal_code", "country", "operation", "updated_at"]
ORDER_COLUMNS = ["order_id", "customer_id", "order_date", "status", "items", "amount", "operation", "updated_at"]
TRACKED = ["street", "city", "state", "postal_code", "country"]
OPERATIONS = ["INSERT", "UPDATE", "DELETE"]
STATUSES = ["PLACED", "SHIPPED", "DELIVERED", "CANCELLED", "RETURNED"]
# RFC 3339 date-time. chrono's "%+" also takes a space for the T (and a few
# other ISO 8601 forms the contract does not); the pattern rejects those first.
RFC3339 = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"


def build(pl, landing: str, out_dir: str, compression: str, engine: str) -> dict:
    """Runs the pipeline. engine "auto": the streaming engine for the scans
    (it parses the files in parallel) and the in-memory one for the rest (its
    sorts are faster here); measured on 2 cores with Polars 2.1."""
    scan_engine = "streaming" if engine == "auto" else engine
    engine = "in-memory" if engine == "auto" else engine
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 4)

    TS = pl.Datetime("us", "UTC")
    AMOUNT = pl.Decimal(12, 2)
    col, lit = pl.col, pl.lit
    ingested = lit(dt.datetime.now(dt.timezone.utc), dtype=TS).alias("_ingested_at")
    metadata = [lit(None, dtype=pl.String).alias("_rescued_data"), col("_source_file"), ingested]

    def timestamp(name: str):
        text = col(name)
        # Lower-case t/z are valid RFC 3339 and chrono's %+ takes them; the
        # offset is applied and digits past microseconds are truncated.
        return (
            pl.when(text.str.contains(RFC3339))
            .then(text)
            .str.to_datetime("%+", time_unit="us", time_zone="UTC", strict=False)
            .alias(name)
        )

    os.makedirs(out_dir, exist_ok=True)
    customers = source_files(landing, "customers", "*.csv")
    addresses = source_files(landing, "addresses", "*.jsonl")
    orders = source_files(landing, "orders", "*.parquet")

    # ----------------------------------------------------------- bronze --
    # `_ord` (the row index over files in path order) carries the
    # (file path, row position) part of the change order; it is dropped on write.
    def empty(columns: dict):
        """A source folder with no file: no rows, the same columns."""
        return pl.DataFrame(schema={"_ord": pl.UInt32, **columns, "_source_file": pl.String}).lazy()

    customer_types = {c: pl.String for c in CUSTOMER_COLUMNS}
    if customers:
        # Text fields matched to the header by name (a declared column missing
        # from a file is null, an extra one ignored), typed explicitly below;
        # an empty field, quoted or not, is null.
        scan_c = pl.scan_csv(
            customers,
            schema=customer_types,
            missing_columns="insert",
            extra_columns="ignore",
            null_values=[""],
            encoding="utf8",
            include_file_paths="_source_file",
            row_index_name="_ord",
        )
    else:
        scan_c = empty(customer_types)
    bronze_c = scan_c.select(
        "_ord",
        col("customer_id").cast(pl.Int64, strict=False),  # digits with an optional sign, else null
        "first_name",
        "last_name",
        "email",
        "phone",
        "operation",
        timestamp("updated_at"),
        *metadata,
    )

    address_types = {c: pl.String for c in ADDRESS_COLUMNS}
    address_types["customer_id"] = pl.Int64
    if addresses:
        # ignore_errors: an int64 field holding a string, fraction or boolean is null.
        scan_a = pl.scan_ndjson(
            addresses,
            schema=address_types,
            ignore_errors=True,
            include_file_paths="_source_file",
            row_index_name="_ord",
        )
    else:
        scan_a = empty(address_types)
    bronze_a = scan_a.select("_ord", *[timestamp(c) if c == "updated_at" else col(c) for c in ADDRESS_COLUMNS], *metadata)

    order_types = {
        "order_id": pl.Int64,
        "customer_id": pl.Int64,
        "order_date": pl.Date,
        "status": pl.String,
        "items": pl.Int32,
        "amount": AMOUNT,
        "operation": pl.String,
        "updated_at": TS,
    }
    if orders:
        scan_o = pl.scan_parquet(
            orders,
            schema=order_types,
            missing_columns="insert",
            extra_columns="ignore",
            include_file_paths="_source_file",
            row_index_name="_ord",
        )
    else:
        scan_o = empty(order_types)
    bronze_o = scan_o.select("_ord", *[col(c).cast(t) for c, t in order_types.items()], *metadata)

    bronze_c, bronze_a, bronze_o = pl.collect_all([bronze_c, bronze_a, bronze_o], engine=scan_engine)
    lap("bronze")

    # ------------------------------------------------------ expectations --
    is_delete = col("operation") == "DELETE"
    expectations = {
        "silver_customers_clean": [
            ("valid_customer_id", col("customer_id").is_not_null(), "drop"),
            ("valid_operation", col("operation").is_in(OPERATIONS), "drop"),
            ("valid_sequence", col("updated_at").is_not_null(), "drop"),
            # LIKE '%_@_%': an '@' with a character before and after it.
            ("valid_email", is_delete | col("email").str.contains("(?s).@."), "warn"),
        ],
        "silver_addresses_clean": [
            ("valid_customer_id", col("customer_id").is_not_null(), "drop"),
            ("valid_operation", col("operation").is_in(OPERATIONS), "drop"),
            ("valid_sequence", col("updated_at").is_not_null(), "drop"),
            (
                "valid_postal_code",
                is_delete | (col("postal_code").is_not_null() & col("postal_code").str.len_chars().is_between(3, 10)),
                "drop",
            ),
            ("valid_country", col("country").is_null() | (col("country").str.len_chars() == 2), "warn"),
        ],
        "silver_orders_clean": [
            ("valid_order_id", col("order_id").is_not_null(), "drop"),
            ("valid_customer_id", is_delete | col("customer_id").is_not_null(), "drop"),
            ("valid_operation", col("operation").is_in(OPERATIONS), "drop"),
            ("valid_sequence", col("updated_at").is_not_null(), "drop"),
            ("non_negative_amount", is_delete | (col("amount") >= 0), "drop"),
            ("positive_items", is_delete | (col("items") > 0), "drop"),
            ("valid_status", is_delete | col("status").is_in(STATUSES), "warn"),
        ],
    }
    bronze = {"silver_customers_clean": bronze_c, "silver_addresses_clean": bronze_a, "silver_orders_clean": bronze_o}

    def passes_drops(table: str):
        # Kleene logic: a NULL result fails (filter drops NULL).
        return pl.all_horizontal([e for _, e, action in expectations[table] if action == "drop"]).fill_null(False)

    clean_plans, quality_plans = [], []
    for table, source in bronze.items():
        exps = expectations[table]
        clean_plans.append(source.lazy().filter(passes_drops(table)))
        quality_plans.append(
            source.lazy().select(
                pl.len().alias("__total"),
                passes_drops(table).sum().alias("__kept"),
                *[e.fill_null(False).sum().alias(name) for name, e, _ in exps],
            )
        )
    *cleans, q_c, q_a, q_o = pl.collect_all(clean_plans + quality_plans, engine=engine)
    clean_c, clean_a, clean_o = cleans
    quality = {}
    for table, stats in zip(expectations, (q_c, q_a, q_o)):
        row = stats.row(0, named=True)
        total, kept = row["__total"], row["__kept"]
        quality[table] = {
            "num_input_rows": total,
            "num_output_rows": kept,
            "dropped_records": total - kept,
            "expectations": [
                {"name": name, "action": action, "passed_records": row[name], "failed_records": total - row[name]}
                for name, _, action in expectations[table]
            ],
        }
    lap("clean")

    # -------------------------------------------------------------- SCD --
    def scd1(clean, key: str, columns: list[str]):
        # Per key the last change in (updated_at, file, row) order, unless a delete.
        return (
            clean.lazy()
            .sort([key, "updated_at", "_ord"])
            .filter(col(key).ne_missing(col(key).shift(-1)))
            .filter(col("operation") != "DELETE")
            .select(columns)
        )

    silver_c = scd1(clean_c, "customer_id", ["customer_id", "first_name", "last_name", "email", "phone", "updated_at"])
    silver_o = scd1(
        clean_o, "order_id", ["order_id", "customer_id", "order_date", "status", "items", "amount", "updated_at"]
    )

    # SCD type 2 on the changes of each key in (sequence, file, row) order:
    #  1. of changes with equal sequence only the last applies;
    #  2. the version in force before a change has the previous change's
    #     values when that was an upsert (it opened a version or equalled the
    #     one in force), and there is none after a delete or at the start;
    #  3. an upsert equal (NULL-safe) to the version in force is a no-op;
    #     any other change closes the version in force, and an upsert opens one;
    #  4. so an opening upsert's version ends at the next change that is no no-op.
    key = col("customer_id")
    same_key_prev = key.eq_missing(key.shift(1))
    unchanged = (
        same_key_prev
        & ~col("is_delete").shift(1).fill_null(True)
        & pl.all_horizontal([col(c).eq_missing(col(c).shift(1)) for c in TRACKED])
    )
    silver_a = (
        clean_a.lazy()
        .select("customer_id", *TRACKED, "updated_at", "_ord", is_delete=is_delete)
        .sort(["customer_id", "updated_at", "_ord"])
        .filter(~(key.eq_missing(key.shift(-1)) & col("updated_at").eq_missing(col("updated_at").shift(-1))))
        .filter(col("is_delete") | ~unchanged)
        .with_columns(__END_AT=pl.when(key.eq_missing(key.shift(-1))).then(col("updated_at").shift(-1)))
        .filter(~col("is_delete"))
        .select("customer_id", *TRACKED, col("updated_at").alias("__START_AT"), "__END_AT")
    )
    silver_c, silver_o, silver_a = pl.collect_all([silver_c, silver_o, silver_a], engine=engine)
    lap("silver")

    # ------------------------------------------------------------- gold --
    current = silver_a.lazy().filter(col("__END_AT").is_null()).select("customer_id", "city", "state", "country")
    totals = (
        silver_o.lazy()
        .group_by("customer_id")
        .agg(
            pl.len().cast(pl.Int64).alias("total_orders"),
            col("items").cast(pl.Int64).sum().alias("total_items_order"),
            col("amount").sum().cast(pl.Decimal(18, 2)).alias("total_order_amount"),
        )
    )
    gold = (
        silver_c.lazy()
        .select("customer_id", "first_name", "last_name", "email")
        .join(current, on="customer_id", how="left")
        .join(totals, on="customer_id", how="left")
        .with_columns(
            col("total_orders").fill_null(0),
            col("total_items_order").fill_null(0),
            col("total_order_amount").fill_null(lit(0).cast(pl.Decimal(18, 2))),
        )
        .collect(engine=engine)
    )
    lap("gold")

    # ------------------------------------------------------------ write --
    frames = {
        "bronze_customers": bronze_c.drop("_ord"),
        "bronze_addresses": bronze_a.drop("_ord"),
        "bronze_orders": bronze_o.drop("_ord"),
        "silver_customers_clean": clean_c.drop("_ord"),
        "silver_addresses_clean": clean_a.drop("_ord"),
        "silver_orders_clean": clean_o.drop("_ord"),
        "silver_customers": silver_c,
        "silver_addresses": silver_a,
        "silver_orders": silver_o,
        "gold_customer_orders": gold,
    }
    # All ten files in one query, written concurrently.
    pl.collect_all(
        [
            frame.lazy().sink_parquet(os.path.join(out_dir, f"{table}.parquet"), compression=compression, lazy=True)
            for table, frame in frames.items()
        ],
        engine="streaming",
    )
    with open(os.path.join(out_dir, "_data_quality.json"), "w") as f:
        json.dump(quality, f, indent=2)
    lap("write")
    return {
        "engine": "polars",
        "version": pl.__version__,
        "threads": pl.thread_pool_size(),
        "files": {"customers": len(customers), "addresses": len(addresses), "orders": len(orders)},
        "rows": {t: frames[t].height for t in TABLES},
        "seconds": timings,
        "total_seconds": round(time.perf_counter() - started, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("landing", help="landing folder (customers/, addresses/, orders/)")
    parser.add_argument("out_dir", help="where <table>.parquet files are written")
    parser.add_argument("--threads", type=int, default=None, help="POLARS_MAX_THREADS (default: Polars' own, the core count)")
    parser.add_argument("--compression", default="snappy", help="Parquet compression (default snappy, as delta-rs writes)")
    parser.add_argument("--engine", default="auto", choices=["auto", "in-memory", "streaming"],
                        help="Polars engine for every step (auto: streaming scans, in-memory transforms)")
    args = parser.parse_args(argv)
    if args.threads:
        if "polars" in sys.modules:
            raise SystemExit("polars was imported before --threads could be applied")
        os.environ["POLARS_MAX_THREADS"] = str(args.threads)
    import polars as pl  # after POLARS_MAX_THREADS is set

    summary = build(pl, args.landing, args.out_dir, args.compression, args.engine)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
