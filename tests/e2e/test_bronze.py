"""The seed pipeline's bronze tables against the contract, over four runs:

1. batches 1-2 (with dirty rows) and files that match no pattern;
2. nothing new;
3. batch 3 arrives;
4. two ingested files are rewritten, one new addresses file arrives.

Every run is checked against what oracle.py computes from the files that the
contract says the run ingests.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

import helpers
import landing
import oracle
from helpers import delta_version, read_delta

BRONZE = oracle.BRONZE_TABLES
SEED = 11
ROWS = 40
# table, status, files, rows in, rows out, dropped, expectation failures, time
SUMMARY_LINE = re.compile(
    r"^(\S+)\s+(done|no change|FAILED|skipped)\s+(\S+)\s+\S+\s+(\S+)\s+\S+\s+\S+\s+\S+s\s*$"
)


def summary(stdout: str) -> dict[str, tuple[str, str, str]]:
    """table -> (status, rows, files) from the run's summary table."""
    out = {}
    for line in stdout.splitlines():
        m = SUMMARY_LINE.match(line)
        if m and m.group(1) != "table":
            out[m.group(1)] = (m.group(2), m.group(4), m.group(3))
    return out


class Scenario:
    def __init__(self, root: Path, run_lfhost, seed_pipeline, read_duckdb):
        self.root = root
        self.landing = root / "landing"
        self.lake = root / "lake"
        self.run_lfhost = run_lfhost
        self.seed_pipeline = seed_pipeline
        self.read_duckdb = read_duckdb
        # path -> the rows it held when ingested, per table (the contract's
        # bookkeeping, kept by the test)
        self.ingested: dict[str, dict[Path, list]] = {t: {} for t in BRONZE}
        self.steps: dict[str, dict] = {}
        self.run_ids: list[str] = []

    def run(self, label: str, duckdb: bool = False) -> dict:
        new = {}
        for t in BRONZE:
            new[t] = {f: oracle.expected_rows(t, [f]) for f in oracle.source_files(self.landing, t) if f not in self.ingested[t]}
        versions_before = {t: delta_version(self.lake / t) for t in BRONZE}
        before = helpers.now_micros()
        rc, out, err = self.run_lfhost(
            "run", self.seed_pipeline, "--var", "landing=landing", "--var", "lake=lake", cwd=self.root, timeout=120
        )
        after = helpers.now_micros()
        if rc == 0:
            for t in BRONZE:
                self.ingested[t].update(new[t])
        step = {
            "rc": rc,
            "stdout": out,
            "stderr": err,
            "before": before,
            "after": after,
            "versions_before": versions_before,
            "versions_after": {t: delta_version(self.lake / t) for t in BRONZE},
            "new_files": {t: sorted(new[t]) for t in BRONZE},
            "new_rows": {t: sum(len(r) for r in new[t].values()) for t in BRONZE},
            "expected": {t: [row for rows in self.ingested[t].values() for row in rows] for t in BRONZE},
            "tables": {t: read_delta(self.lake / t) if delta_version(self.lake / t) is not None else None for t in BRONZE},
            "duckdb": {t: self.read_duckdb(self.lake / t) for t in BRONZE} if duckdb and rc == 0 else None,
        }
        events = helpers.event_log(read_delta, self.lake)
        step["run_id"] = helpers.new_run_id(events, set(self.run_ids))
        self.run_ids.append(step["run_id"])
        self.steps[label] = step
        return step


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, run_lfhost, seed_pipeline, read_duckdb) -> Scenario:
    root = Path(os.path.realpath(tmp_path_factory.mktemp("bronze")))
    s = Scenario(root, run_lfhost, seed_pipeline, read_duckdb)
    s.landing.mkdir()
    s.lake.mkdir()
    landing.generate(s.landing, batches=2, seed=SEED, rows=ROWS)
    s.ignored = landing.write_ignored_files(s.landing)
    s.run("initial", duckdb=True)

    s.run("nothing_new")

    landing.generate(s.landing, batches=1, seed=SEED, rows=ROWS, first_batch=3)
    # New files whose names sort before every ingested one (a high-water
    # mark on names would miss them), with a space and non-ASCII in the name.
    late = root / "late"
    landing.write_batch(late, 5, SEED, rows=ROWS)
    for folder, ext in (("customers", "csv"), ("addresses", "jsonl"), ("orders", "parquet")):
        shutil.copyfile(late / folder / f"batch-0005-a.{ext}", s.landing / folder / f"batch-0000 late ü.{ext}")
    s.run("batch_3")

    # Rewrite two ingested files: one keeps its size (a later mtime tells),
    # one changes size; and one new addresses file arrives.
    csv_path = s.landing / "customers" / "batch-0001-a.csv"
    data = csv_path.read_bytes()
    assert b"INSERT" in data
    csv_path.write_bytes(data.replace(b"INSERT", b"UPDATE", 1))
    stat = csv_path.stat()
    os.utime(csv_path, (stat.st_atime + 5, stat.st_mtime + 5))
    parquet_path = s.landing / "orders" / "batch-0002-a.parquet"
    spare = root / "spare"
    spare_files = landing.write_batch(spare, 4, SEED, rows=ROWS + 7)
    shutil.copyfile(spare / "orders" / "batch-0004-a.parquet", parquet_path)
    shutil.copyfile(spare / "addresses" / "batch-0004-a.jsonl", s.landing / "addresses" / "batch-0004-a.jsonl")
    assert spare_files
    s.rewritten = {"bronze_customers": csv_path, "bronze_orders": parquet_path}
    s.run("rewrites", duckdb=True)
    return s


STEPS = ["initial", "nothing_new", "batch_3", "rewrites"]


@pytest.mark.parametrize("label", STEPS)
def test_run_exits_0_with_a_summary(scenario, label):
    step = scenario.steps[label]
    assert step["rc"] == 0, f"run `{label}` exited {step['rc']}\nstdout:\n{step['stdout']}\nstderr:\n{step['stderr']}"
    assert "error:" not in step["stdout"], step["stdout"]
    rows = summary(step["stdout"])
    for t in BRONZE:
        assert t in rows, f"no summary line for {t} in:\n{step['stdout']}"
        status, count, files = rows[t]
        if step["new_files"][t]:
            assert (status, count, files) == ("done", str(step["new_rows"][t]), str(len(step["new_files"][t]))), (
                f"summary of {t} after `{label}`: {rows[t]}"
            )
        else:
            assert status == "no change", f"summary of {t} after `{label}`: {rows[t]}"


def test_the_scenario_has_new_files_where_expected(scenario):
    """Guards against a scenario that tests nothing."""
    steps = scenario.steps
    assert all(steps["initial"]["new_files"][t] for t in BRONZE)
    assert not any(steps["nothing_new"]["new_files"][t] for t in BRONZE)
    assert all(steps["batch_3"]["new_files"][t] for t in BRONZE)
    for t in BRONZE:
        assert any(" late ü" in p.name for p in steps["batch_3"]["new_files"][t]), steps["batch_3"]["new_files"][t]
    assert [t for t in BRONZE if steps["rewrites"]["new_files"][t]] == ["bronze_addresses"]
    kinds = {"_raw": 0, "typed": 0, "extra": 0}
    for t in BRONZE:
        for row in steps["initial"]["expected"][t]:
            rescued = row["_rescued_data"] or {}
            if "_raw" in rescued:
                kinds["_raw"] += 1
            elif any(k in dict(oracle.CONTRACT[t].columns) for k in rescued):
                kinds["typed"] += 1
            elif rescued:
                kinds["extra"] += 1
    assert all(kinds.values()), f"the generated data lacks some kind of dirty row: {kinds}"


@pytest.mark.parametrize("table", BRONZE)
def test_first_run_matches_the_oracle_via_deltalake(scenario, table):
    step = scenario.steps["initial"]
    assert step["tables"][table] is not None, f"{table} was not created"
    helpers.compare_bronze_rows(step["tables"][table], table, step["expected"][table], "deltalake")


@pytest.mark.parametrize("table", BRONZE)
def test_first_run_matches_the_oracle_via_duckdb(scenario, table):
    step = scenario.steps["initial"]
    assert step["duckdb"] is not None, "the first run failed; nothing to read"
    helpers.compare_bronze_rows(step["duckdb"][table], table, step["expected"][table], "duckdb delta_scan")


def _ingested_at(table: pa.Table) -> list:
    return helpers.table_rows(table.select(["_ingested_at", "_source_file"]))


def test_ingested_at_is_the_run_start_for_every_row(scenario):
    step = scenario.steps["initial"]
    values = set()
    for t in BRONZE:
        values |= {r["_ingested_at"] for r in _ingested_at(step["tables"][t])}
    assert len(values) == 1, f"one run gave several _ingested_at values: {sorted(values)[:5]}"
    (value,) = values
    assert value is not None
    assert step["before"] <= value <= step["after"], (
        f"_ingested_at {value} is outside the run's wall time [{step['before']}, {step['after']}]"
    )
    events = helpers.event_log(read_delta, scenario.lake)
    start = helpers.run_start_micros(events, step["run_id"])
    assert value == start, f"_ingested_at {value} differs from the run's start in the event log {start}"


def test_run_with_no_new_file_adds_no_version(scenario):
    step = scenario.steps["nothing_new"]
    assert step["versions_after"] == step["versions_before"], step["versions_after"]
    for t in BRONZE:
        assert step["tables"][t].num_rows == len(step["expected"][t])


@pytest.mark.parametrize("table", BRONZE)
def test_new_files_are_appended_exactly_once(scenario, table):
    step = scenario.steps["batch_3"]
    assert step["versions_after"][table] == step["versions_before"][table] + 1, (
        f"{table}: version {step['versions_before'][table]} -> {step['versions_after'][table]}, expected one commit"
    )
    rows = helpers.compare_bronze_rows(step["tables"][table], table, step["expected"][table], "deltalake")
    assert len(rows) == len(step["expected"][table])
    events = helpers.event_log(read_delta, scenario.lake)
    first = helpers.run_start_micros(events, scenario.steps["initial"]["run_id"])
    third = helpers.run_start_micros(events, step["run_id"])
    new_paths = {os.fspath(p) for p in step["new_files"][table]}
    for row in rows:
        want = third if row["_source_file"] in new_paths else first
        assert row["_ingested_at"] == want, f"{row['_source_file']}: _ingested_at {row['_ingested_at']}, expected {want}"


def test_rewritten_files_are_not_read_again_and_a_warning_names_them(scenario):
    step = scenario.steps["rewrites"]
    for t in ("bronze_customers", "bronze_orders"):
        assert step["versions_after"][t] == step["versions_before"][t], f"{t} committed after only a rewrite"
    assert step["versions_after"]["bronze_addresses"] == step["versions_before"]["bronze_addresses"] + 1
    for t in BRONZE:
        helpers.compare_bronze_rows(step["tables"][t], t, step["expected"][t], "deltalake")
    warnings = [line for line in step["stderr"].splitlines() if "WARN" in line]
    for t, path in scenario.rewritten.items():
        assert any(os.fspath(path) in line for line in warnings), (
            f"no warning on stderr names the rewritten file {path}; stderr:\n{step['stderr']}"
        )
    untouched = os.fspath(scenario.landing / "addresses" / "batch-0001-a.jsonl")
    assert not any(untouched in line for line in warnings), f"a warning names an unchanged file:\n{step['stderr']}"


@pytest.mark.parametrize("table", BRONZE)
def test_final_state_matches_the_oracle_via_duckdb(scenario, table):
    step = scenario.steps["rewrites"]
    assert step["duckdb"] is not None
    helpers.compare_bronze_rows(step["duckdb"][table], table, step["expected"][table], "duckdb delta_scan")


def test_files_not_matching_the_pattern_are_ignored(scenario):
    step = scenario.steps["rewrites"]
    read = set()
    for t in BRONZE:
        read |= {r["_source_file"] for r in _ingested_at(step["tables"][t])}
    expected = {os.fspath(f) for t in BRONZE for f in scenario.ingested[t]}
    ignored = {os.fspath(p) for p in scenario.ignored}
    assert read == expected, f"files read: {sorted(read - expected)} unexpected, {sorted(expected - read)} missing"
    assert not read & ignored
    assert len(ignored) >= 5


def test_event_log_has_one_flow_progress_per_table_per_run(scenario):
    table = read_delta(scenario.lake / "_event_log")
    types = {f.name: f.type for f in table.schema}
    for name, ty in [
        ("id", pa.string()),
        ("run_id", pa.string()),
        ("sequence", pa.int64()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("level", pa.string()),
        ("event_type", pa.string()),
        ("table_name", pa.string()),
        ("message", pa.string()),
        ("details", pa.string()),
    ]:
        assert types.get(name) == ty, f"event log column {name}: {types.get(name)}, expected {ty}"
    events = helpers.event_log(read_delta, scenario.lake)
    assert helpers.runs_in_order(events) == scenario.run_ids
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids), "event ids repeat"
    for label in STEPS:
        step = scenario.steps[label]
        flows = helpers.flow_events(events, step["run_id"])
        assert set(flows) == set(helpers.seed_tables()), f"run `{label}`: flow_progress events for {sorted(flows)}"
        for t in BRONZE:
            details = flows[t]["details_json"]
            assert isinstance(details, dict), f"run `{label}` {t}: details {details!r}"
            assert details.get("status") == "COMPLETED", f"run `{label}` {t}: {details}"
            assert details.get("num_output_rows") == step["new_rows"][t], (
                f"run `{label}` {t}: num_output_rows {details.get('num_output_rows')}, expected {step['new_rows'][t]}"
            )
            assert step["before"] <= flows[t]["timestamp"] <= step["after"]


# Parquet files as other writers make them: every standard codec, data page
# v2 without dictionaries, the 1.0 format. The contract says "Parquet"; only a
# file that is not valid Parquet may fail.
PARQUET_VARIANTS = {
    "snappy": dict(compression="snappy"),
    "zstd": dict(compression="zstd"),
    "gzip": dict(compression="gzip"),
    "brotli": dict(compression="brotli"),
    "lz4": dict(compression="lz4"),
    "uncompressed": dict(compression="none"),
    "v2_pages_plain": dict(data_page_version="2.0", use_dictionary=False),
    "format_1_0": dict(version="1.0"),
}


@pytest.mark.parametrize("variant", list(PARQUET_VARIANTS))
def test_parquet_writer_variants_are_ingested(variant, warm_seed_plugins, workspace, run_lfhost, seed_pipeline):
    import pyarrow.parquet as pq

    b = landing.Batch(SEED, 77, 60)
    table = landing._order_table([b.order(i) for i in range(60)], landing.ORDER_SCHEMA)
    path = workspace / "landing" / "orders" / f"{variant}.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path, row_group_size=25, **PARQUET_VARIANTS[variant])
    rc, out, err = run_lfhost(
        "run", seed_pipeline, "--only", "bronze_orders", "--var", "landing=landing", "--var", "lake=lake",
        cwd=workspace, timeout=120,
    )
    assert rc == 0, f"a valid Parquet file ({variant}) was not ingested\nstdout:\n{out}\nstderr:\n{err}"
    helpers.compare_bronze(read_delta(workspace / "lake" / "bronze_orders"), "bronze_orders", [path], "deltalake")
