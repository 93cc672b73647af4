"""Comparing tables with the oracle, reading the event log, small utilities."""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

import oracle

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def now_micros() -> int:
    return time.time_ns() // 1000


def table_dir(lake, table: str) -> str:
    return os.path.join(os.fspath(lake), table)


def read_delta(path) -> pa.Table:
    """A Delta table read by the deltalake package."""
    import deltalake

    return deltalake.DeltaTable(os.fspath(path)).to_pyarrow_table()


def delta_version(path) -> int | None:
    """The table's current version, None when there is no table."""
    import deltalake

    if not os.path.isdir(os.path.join(os.fspath(path), "_delta_log")):
        return None
    return deltalake.DeltaTable(os.fspath(path)).version()


# --------------------------------------------------------------- rows --


def _canonical_rescued(text):
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return f"<not JSON: {text!r}>"
    if not isinstance(value, dict):
        return f"<not a JSON object: {text!r}>"
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def table_rows(table: pa.Table) -> list[dict]:
    """Rows of a table read back, timestamps as µs integers."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = pc.cast(column, pa.int64())
        columns[name] = column.to_pylist()
    return [{name: values[i] for name, values in columns.items()} for i in range(table.num_rows)]


def row_key(row: dict, columns: list[str]) -> tuple:
    """A hashable form of a row for multiset comparison; _rescued_data is
    compared as a parsed JSON object."""
    out = []
    for name in columns:
        value = row.get(name)
        if name == "_rescued_data":
            value = _canonical_rescued(value) if not isinstance(value, dict) else json.dumps(value, sort_keys=True, ensure_ascii=False)
        out.append(value)
    return tuple(out)


def assert_same_rows(actual: list[dict], expected: list[dict], label: str, columns: list[str] | None = None) -> None:
    """Multiset equality of rows on `columns` (default: the expected rows' keys)."""
    if columns is None:
        columns = list(expected[0]) if expected else list(actual[0]) if actual else []
    got = Counter(row_key(r, columns) for r in actual)
    want = Counter(row_key(r, columns) for r in expected)
    if got == want:
        return
    missing = want - got
    extra = got - want
    lines = [
        f"{label}: {sum(got.values())} rows, expected {sum(want.values())}; "
        f"{sum(missing.values())} expected row(s) missing, {sum(extra.values())} unexpected row(s)",
        f"columns: {columns}",
    ]
    for title, rows in (("missing", missing), ("unexpected", extra)):
        for key, count in list(rows.items())[:12]:
            lines.append(f"  {title} x{count}: {key}")
    raise AssertionError("\n".join(lines))


def assert_schema(table: pa.Table, table_name: str, reader: str) -> None:
    expected = oracle.expected_schema(table_name)
    got = [(f.name, f.type) for f in table.schema]
    want = [(f.name, f.type) for f in expected]
    assert got == want, f"{reader} schema of {table_name}:\n  got      {got}\n  expected {want}"


def compare_bronze(table: pa.Table, table_name: str, files, reader: str) -> list[dict]:
    """Asserts schema and rows (all but _ingested_at) against the oracle for
    `files` (as they are now); returns the rows read."""
    return compare_bronze_rows(table, table_name, oracle.expected_rows(table_name, files), reader)


def compare_bronze_rows(table: pa.Table, table_name: str, expected: list[dict], reader: str) -> list[dict]:
    """Asserts schema and rows (all but _ingested_at) against oracle rows
    computed earlier; returns the rows read."""
    assert_schema(table, table_name, reader)
    rows = table_rows(table)
    assert expected, f"the oracle expects no row for {table_name}: the test data is wrong"
    columns = [name for name in expected[0]]
    assert_same_rows(rows, expected, f"{table_name} read by {reader}", columns)
    return rows


# ---------------------------------------------------------- event log --


def event_log(read_delta, lake) -> list[dict]:
    path = table_dir(lake, "_event_log")
    assert os.path.isdir(os.path.join(path, "_delta_log")), f"no event log Delta table at {path}"
    rows = table_rows(read_delta(path))
    for row in rows:
        try:
            row["details_json"] = json.loads(row["details"]) if row.get("details") is not None else None
        except ValueError:
            row["details_json"] = f"<not JSON: {row['details']!r}>"
    return sorted(rows, key=lambda r: (r.get("timestamp") or 0, r.get("sequence") or 0))


def runs_in_order(events: list[dict]) -> list[str]:
    """run ids, by the time of their first event."""
    first: dict[str, int] = {}
    for e in events:
        first.setdefault(e["run_id"], e["timestamp"])
        first[e["run_id"]] = min(first[e["run_id"]], e["timestamp"])
    return sorted(first, key=first.get)


def flow_events(events: list[dict], run_id: str) -> dict[str, dict]:
    """The run's flow_progress events by table; fails if a table has several."""
    mine = [e for e in events if e["run_id"] == run_id and e["event_type"] == "flow_progress"]
    counts = Counter(e["table_name"] for e in mine)
    repeated = {t: n for t, n in counts.items() if n != 1}
    assert not repeated, f"run {run_id}: several flow_progress events for {repeated}"
    return {e["table_name"]: e for e in mine}


def run_start_micros(events: list[dict], run_id: str) -> int:
    """The run's start as the event log records it: its earliest event."""
    mine = [e["timestamp"] for e in events if e["run_id"] == run_id]
    assert mine, f"no event of run {run_id}"
    return min(mine)


def new_run_id(events: list[dict], known: set[str]) -> str:
    ids = {e["run_id"] for e in events} - known
    assert len(ids) == 1, f"expected exactly one new run in the event log, found {sorted(ids)}"
    return ids.pop()


def files_under(root, table: str, names) -> list[Path]:
    folder = Path(root) / oracle.CONTRACT[table].folder
    return [folder / n for n in names]


def seed_tables() -> list[str]:
    """Every table of the repo's seed pipeline, as pipelines.toml declares them."""
    import tomllib

    with open(Path(__file__).resolve().parents[2] / "pipelines.toml", "rb") as f:
        return sorted(tomllib.load(f)["tables"])


# The seed's bronze_customers options, for pipeline templates that are
# filled in with str.format (hence the doubled braces).
CUSTOMERS_OPTIONS_TEMPLATE = """\
[tables.bronze_customers.options]
format = "csv"
columns = [
  {{ name = "customer_id", type = "int64" }},
  {{ name = "first_name", type = "string" }},
  {{ name = "last_name", type = "string" }},
  {{ name = "email", type = "string" }},
  {{ name = "phone", type = "string" }},
  {{ name = "operation", type = "string" }},
  {{ name = "updated_at", type = "timestamp" }},
]
"""
