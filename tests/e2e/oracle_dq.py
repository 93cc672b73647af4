"""What the seed pipeline's silver_*_clean tables, their quarantine tables and
the event log's `data_quality` must hold, computed independently with DuckDB
SQL from the bronze tables as read back (delta_scan).

The expectations are those of the contract (shared/spec/medallion.md,
"Expectations"), copied here from the spec rather than read from
pipelines.toml. Rules applied:

* A row whose expression evaluates to NULL fails it: `COALESCE(expr, FALSE)`.
* `drop` removes the failing row from the clean table; `warn` keeps it and
  only counts it.
* Each expectation is evaluated on every row the flow reads, whatever the
  other expectations decide: passed = rows where it is TRUE, failed = the
  others.
* The clean tables have the bronze tables' columns, and hold the rows that
  pass every `drop` expectation.
* A quarantine table holds the dropped rows, with `_failed_expectations` (the
  names of the failed drop expectations, in declaration order) and `_run_id`.

A run's rows are the bronze rows whose `_ingested_at` is that run's start
(every row a run ingests carries it).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

import helpers
import oracle


@dataclass(frozen=True)
class Expectation:
    name: str
    expr: str
    action: str  # drop | warn


@dataclass(frozen=True)
class CleanTable:
    name: str
    source: str  # the bronze table it reads
    quarantine: str
    expectations: tuple[Expectation, ...]

    @property
    def drops(self) -> tuple[Expectation, ...]:
        return tuple(e for e in self.expectations if e.action == "drop")


def _e(name, expr, action):
    return Expectation(name, expr, action)


# The contract's table, in its order.
CLEAN_TABLES = {
    t.name: t
    for t in (
        CleanTable(
            "silver_customers_clean",
            "bronze_customers",
            "quarantine_customers",
            (
                _e("valid_customer_id", "customer_id IS NOT NULL", "drop"),
                _e("valid_operation", "operation IN ('INSERT', 'UPDATE', 'DELETE')", "drop"),
                _e("valid_sequence", "updated_at IS NOT NULL", "drop"),
                _e("valid_email", "operation = 'DELETE' OR email LIKE '%_@_%'", "warn"),
            ),
        ),
        CleanTable(
            "silver_addresses_clean",
            "bronze_addresses",
            "quarantine_addresses",
            (
                _e("valid_customer_id", "customer_id IS NOT NULL", "drop"),
                _e("valid_operation", "operation IN ('INSERT', 'UPDATE', 'DELETE')", "drop"),
                _e("valid_sequence", "updated_at IS NOT NULL", "drop"),
                _e(
                    "valid_postal_code",
                    "operation = 'DELETE' OR (postal_code IS NOT NULL AND length(postal_code) BETWEEN 3 AND 10)",
                    "drop",
                ),
                _e("valid_country", "country IS NULL OR length(country) = 2", "warn"),
            ),
        ),
        CleanTable(
            "silver_orders_clean",
            "bronze_orders",
            "quarantine_orders",
            (
                _e("valid_order_id", "order_id IS NOT NULL", "drop"),
                _e("valid_customer_id", "operation = 'DELETE' OR customer_id IS NOT NULL", "drop"),
                _e("valid_operation", "operation IN ('INSERT', 'UPDATE', 'DELETE')", "drop"),
                _e("valid_sequence", "updated_at IS NOT NULL", "drop"),
                _e("non_negative_amount", "operation = 'DELETE' OR amount >= 0", "drop"),
                _e("positive_items", "operation = 'DELETE' OR items > 0", "drop"),
                _e(
                    "valid_status",
                    "operation = 'DELETE' OR status IN ('PLACED', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'RETURNED')",
                    "warn",
                ),
            ),
        ),
    )
}
CLEAN = tuple(CLEAN_TABLES)


def clean_schema(table: str) -> pa.Schema:
    """The bronze table's columns and types."""
    return oracle.expected_schema(CLEAN_TABLES[table].source)


def quarantine_schema(table: str) -> pa.Schema:
    fields = list(clean_schema(table))
    fields += [pa.field("_failed_expectations", pa.string()), pa.field("_run_id", pa.string())]
    return pa.schema(fields)


# ------------------------------------------------------------------ SQL --


def _scan(lake, table: str) -> str:
    path = helpers.table_dir(lake, table).replace("'", "''")
    return f"delta_scan('{path}')"


def _passes(e: Expectation) -> str:
    return f"COALESCE(({e.expr}), FALSE)"


def _all_drops_pass(t: CleanTable) -> str:
    return " AND ".join(_passes(e) for e in t.drops) or "TRUE"


def _scope(ingested_at) -> str:
    """Rows of the runs that started at these instants (µs); all when None."""
    if ingested_at is None:
        return "TRUE"
    if isinstance(ingested_at, int):
        ingested_at = [ingested_at]
    values = ", ".join(str(int(v)) for v in ingested_at)
    return f"epoch_us(_ingested_at) IN ({values})" if values else "FALSE"


def expected_clean(duck, lake, table: str, ingested_at=None) -> list[dict]:
    """The clean table's rows from the bronze rows in scope."""
    t = CLEAN_TABLES[table]
    sql = f"SELECT * FROM {_scan(lake, t.source)} WHERE {_scope(ingested_at)} AND {_all_drops_pass(t)}"
    return helpers.table_rows(duck.execute(sql).to_arrow_table())


def expected_quality(duck, lake, table: str, ingested_at) -> dict:
    """rows_in, rows_out, dropped_records and the per-expectation counts (in
    declaration order) of one run's rows."""
    t = CLEAN_TABLES[table]
    parts = [
        "count(*) AS rows_in",
        f"count(*) FILTER (WHERE {_all_drops_pass(t)}) AS rows_out",
        f"count(*) FILTER (WHERE NOT ({_all_drops_pass(t)})) AS dropped",
    ]
    for i, e in enumerate(t.expectations):
        parts.append(f"count(*) FILTER (WHERE {_passes(e)}) AS passed_{i}")
        parts.append(f"count(*) FILTER (WHERE NOT {_passes(e)}) AS failed_{i}")
    sql = f"SELECT {', '.join(parts)} FROM {_scan(lake, t.source)} WHERE {_scope(ingested_at)}"
    row = duck.execute(sql).fetchone()
    values = dict(zip(["rows_in", "rows_out", "dropped"] + [f"{k}_{i}" for i in range(len(t.expectations)) for k in ("passed", "failed")], row))
    return {
        "rows_in": values["rows_in"],
        "rows_out": values["rows_out"],
        "dropped_records": values["dropped"],
        "expectations": [
            {
                "name": e.name,
                "dataset": table,
                "passed_records": values[f"passed_{i}"],
                "failed_records": values[f"failed_{i}"],
            }
            for i, e in enumerate(t.expectations)
        ],
    }


def expected_quarantine(duck, lake, table: str, ingested_at, run_id: str) -> list[dict]:
    """The dropped rows of one run, `_failed_expectations` as a tuple of names
    (declaration order), `_run_id` the run's id."""
    t = CLEAN_TABLES[table]
    flags = ", ".join(f"CASE WHEN NOT {_passes(e)} THEN '{e.name}' END" for e in t.drops)
    sql = (
        f"SELECT *, list_filter([{flags}], lambda x: x IS NOT NULL) AS _failed_expectations "
        f"FROM {_scan(lake, t.source)} WHERE {_scope(ingested_at)} AND NOT ({_all_drops_pass(t)})"
    )
    rows = helpers.table_rows(duck.execute(sql).to_arrow_table())
    for row in rows:
        row["_failed_expectations"] = tuple(row["_failed_expectations"])
        row["_run_id"] = run_id
    return rows


def failing_rows(duck, lake, table: str, ingested_at=None) -> dict[str, int]:
    """How many rows fail 0, 1, 2, ... drop expectations (to check that the
    test data covers combinations)."""
    t = CLEAN_TABLES[table]
    count = " + ".join(f"CASE WHEN {_passes(e)} THEN 0 ELSE 1 END" for e in t.drops)
    sql = f"SELECT {count} AS n, count(*) FROM {_scan(lake, t.source)} WHERE {_scope(ingested_at)} GROUP BY n ORDER BY n"
    return dict(duck.execute(sql).fetchall())


def bronze_ingested_at(duck, lake, table: str) -> list[int]:
    """The distinct `_ingested_at` values (µs) of a bronze table."""
    sql = f"SELECT DISTINCT epoch_us(_ingested_at) FROM {_scan(lake, table)} ORDER BY 1"
    return [r[0] for r in duck.execute(sql).fetchall()]
