"""Data-quality expectations (shared/spec/medallion.md, "Expectations" and
"Event log"):

* the seed pipeline's silver_*_clean tables, their quarantine tables and the
  event log's `data_quality`, against oracle_dq.py (DuckDB SQL over the bronze
  tables read back), over three runs: batches 1-2, nothing new, batch 3;
* small pipelines with `fail` expectations, `max_failed_fraction` and table
  expectations;
* `lfhost validate` on bad expectation expressions.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pyarrow as pa
import pytest

import conftest
import helpers
import landing
import oracle_dq
from helpers import delta_version, read_delta

CLEAN = oracle_dq.CLEAN
SEED = 23
ROWS = 30
RUN_STEPS = ["initial", "nothing_new", "batch_3"]
DATA_STEPS = ["initial", "batch_3"]  # the runs that ingest something


@pytest.fixture(scope="session")
def expectations_wasm() -> Path:
    return conftest._built(conftest.WASM_DIR / "expectations.wasm", "the expectations plugin")


# The run summary: table, status, files, rows in, rows out, dropped, exp. failures, time.
SUMMARY_LINE = re.compile(r"^(\S+)\s+(done|no change|FAILED|skipped)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+s\s*$")


def summary(stdout: str) -> dict[str, dict]:
    out = {}
    for line in stdout.splitlines():
        m = SUMMARY_LINE.match(line)
        if m and m.group(1) != "table":
            out[m.group(1)] = dict(zip(["status", "files", "rows_in", "rows_out", "dropped", "failures"], m.groups()[1:]))
    return out


def error_lines(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        if line.startswith("error: table `"):
            out[line[len("error: table `"):].split("`", 1)[0]] = line
    return out


def _tables_of(name: str) -> tuple[str, str, str]:
    t = oracle_dq.CLEAN_TABLES[name]
    return t.source, t.name, t.quarantine


ALL_TABLES = [x for name in CLEAN for x in _tables_of(name)]


# ------------------------------------------------------- the seed scenario --


class Scenario:
    def __init__(self, root: Path, run_lfhost, seed_pipeline):
        self.root = root
        self.landing = root / "landing"
        self.lake = root / "lake"
        self.run_lfhost = run_lfhost
        self.seed_pipeline = seed_pipeline
        self.steps: dict[str, dict] = {}
        self.run_ids: list[str] = []

    def versions(self) -> dict:
        return {t: delta_version(self.lake / t) for t in ALL_TABLES}

    def snapshot(self, table: str):
        return read_delta(self.lake / table) if delta_version(self.lake / table) is not None else None

    def run(self, label: str) -> dict:
        before = self.versions()
        rc, out, err = self.run_lfhost(
            "run", self.seed_pipeline, "--var", "landing=landing", "--var", "lake=lake", cwd=self.root, timeout=120
        )
        events = helpers.event_log(read_delta, self.lake)
        run_id = helpers.new_run_id(events, set(self.run_ids))
        self.run_ids.append(run_id)
        step = {
            "rc": rc,
            "stdout": out,
            "stderr": err,
            "run_id": run_id,
            "start": helpers.run_start_micros(events, run_id),
            "flows": helpers.flow_events(events, run_id),
            "versions_before": before,
            "versions_after": self.versions(),
            "tables": {t: self.snapshot(t) for name in CLEAN for t in _tables_of(name)[1:]},
        }
        self.steps[label] = step
        return step

    def starts(self, upto: str) -> list[int]:
        """Start instants of the runs that ingested data, up to step `upto`."""
        out = []
        for label in RUN_STEPS:
            if label in DATA_STEPS:
                out.append(self.steps[label]["start"])
            if label == upto:
                break
        return out


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, run_lfhost, seed_pipeline, bronze_wasm, expectations_wasm) -> Scenario:
    root = Path(os.path.realpath(tmp_path_factory.mktemp("expectations")))
    s = Scenario(root, run_lfhost, seed_pipeline)
    s.landing.mkdir()
    s.lake.mkdir()
    landing.generate(s.landing, batches=2, seed=SEED, rows=ROWS, quality=True)
    s.run("initial")
    s.run("nothing_new")
    landing.generate(s.landing, batches=1, seed=SEED, rows=ROWS, first_batch=3, quality=True)
    s.run("batch_3")
    return s


def _require_success(scenario, label):
    step = scenario.steps[label]
    assert step["rc"] == 0, f"run `{label}` exited {step['rc']}\nstdout:\n{step['stdout']}\nstderr:\n{step['stderr']}"
    return step


@pytest.mark.parametrize("label", RUN_STEPS)
def test_seed_runs_exit_0(scenario, label):
    step = _require_success(scenario, label)
    assert "error:" not in step["stdout"], step["stdout"]


def test_the_data_exercises_every_expectation(scenario, duck):
    """Guards against a scenario that tests nothing: in each run that ingests
    data, every expectation both passes and fails on some row, and some rows
    fail several drop expectations at once."""
    for label in DATA_STEPS:
        start = _require_success(scenario, label)["start"]
        for table in CLEAN:
            q = oracle_dq.expected_quality(duck, scenario.lake, table, start)
            assert q["rows_in"] > 0, (label, table)
            for e in q["expectations"]:
                assert e["passed_records"] > 0 and e["failed_records"] > 0, f"run `{label}` {table}: {e}"
            multi = {n: c for n, c in oracle_dq.failing_rows(duck, scenario.lake, table, start).items() if n >= 2}
            assert multi, f"run `{label}` {table}: no row fails two drop expectations"


def _assert_schema(table: pa.Table, expected: pa.Schema, label: str):
    got = [(f.name, f.type) for f in table.schema]
    want = [(f.name, f.type) for f in expected]
    assert got == want, f"{label} schema:\n  got      {got}\n  expected {want}"


@pytest.mark.parametrize("table", CLEAN)
@pytest.mark.parametrize("label", RUN_STEPS)
def test_clean_table_matches_the_oracle(scenario, duck, table, label):
    _require_success(scenario, label)
    data = scenario.steps[label]["tables"][table]
    assert data is not None, f"{table} does not exist after run `{label}`"
    _assert_schema(data, oracle_dq.clean_schema(table), f"{table} (deltalake) after `{label}`")
    expected = oracle_dq.expected_clean(duck, scenario.lake, table, scenario.starts(label))
    assert expected, f"the oracle expects no row in {table}: the test data is wrong"
    helpers.assert_same_rows(helpers.table_rows(data), expected, f"{table} after `{label}`", list(expected[0]))


@pytest.mark.parametrize("table", CLEAN)
def test_clean_table_read_by_duckdb_matches_the_oracle(scenario, duck, read_duckdb, table):
    _require_success(scenario, "batch_3")
    data = read_duckdb(scenario.lake / table)
    _assert_schema(data, oracle_dq.clean_schema(table), f"{table} (duckdb delta_scan)")
    expected = oracle_dq.expected_clean(duck, scenario.lake, table)
    helpers.assert_same_rows(helpers.table_rows(data), expected, f"{table} read by duckdb", list(expected[0]))


def _quality_of(details: dict) -> dict | None:
    dq = details.get("data_quality")
    if not isinstance(dq, dict):
        return dq
    keys = ("name", "dataset", "passed_records", "failed_records")
    return {
        "dropped_records": dq.get("dropped_records"),
        "expectations": [{k: e.get(k) for k in keys} if isinstance(e, dict) else e for e in dq.get("expectations", [])],
    }


@pytest.mark.parametrize("table", CLEAN)
@pytest.mark.parametrize("label", DATA_STEPS)
def test_flow_progress_has_the_runs_data_quality(scenario, duck, table, label):
    step = _require_success(scenario, label)
    event = step["flows"].get(table)
    assert event is not None, f"run `{label}`: no flow_progress event for {table}; events for {sorted(step['flows'])}"
    details = event["details_json"]
    want = oracle_dq.expected_quality(duck, scenario.lake, table, step["start"])
    assert details.get("status") == "COMPLETED", details
    assert details.get("num_output_rows") == want["rows_out"], (
        f"run `{label}` {table}: num_output_rows {details.get('num_output_rows')}, expected {want['rows_out']}"
    )
    assert "data_quality" in details, f"run `{label}` {table}: no data_quality in {details}"
    expected = {"dropped_records": want["dropped_records"], "expectations": want["expectations"]}
    got = _quality_of(details)
    assert got == expected, (
        f"run `{label}` {table} data_quality:\n  got      {json.dumps(got)}\n  expected {json.dumps(expected)}"
    )


def test_duckdb_reads_the_event_log_as_deltalake_does(scenario, read_duckdb, read_delta):
    """DuckDB's view of the event log is the one the data-quality tests above
    check against the oracle: same events, same details."""
    by_duckdb = helpers.table_rows(read_duckdb(scenario.lake / "_event_log"))
    by_deltalake = {e["id"]: e for e in helpers.event_log(read_delta, scenario.lake)}
    assert len(by_duckdb) == len(by_deltalake) > 0
    qualities = 0
    for row in by_duckdb:
        details = json.loads(row["details"])
        assert details == by_deltalake[row["id"]]["details_json"], row["id"]
        qualities += "data_quality" in details
    assert qualities >= len(CLEAN), "no data_quality read back by DuckDB"


@pytest.mark.parametrize("table", CLEAN)
@pytest.mark.parametrize("label", DATA_STEPS)
def test_run_summary_counts(scenario, duck, table, label):
    step = _require_success(scenario, label)
    rows = summary(step["stdout"])
    assert table in rows, f"no summary line for {table} in:\n{step['stdout']}"
    want = oracle_dq.expected_quality(duck, scenario.lake, table, step["start"])
    failures = sum(e["failed_records"] for e in want["expectations"])
    expected = {
        "status": "done",
        "rows_in": str(want["rows_in"]),
        "rows_out": str(want["rows_out"]),
        "dropped": str(want["dropped_records"]),
        "failures": str(failures),
    }
    got = {k: rows[table][k] for k in expected}
    assert got == expected, f"run `{label}` summary of {table}: {got}, expected {expected}"


def test_bronze_ingested_at_is_the_run_start(scenario, duck):
    """The oracle scopes a run's rows by `_ingested_at`; check the premise."""
    _require_success(scenario, "batch_3")
    want = sorted(scenario.starts("batch_3"))
    for table in CLEAN:
        source = oracle_dq.CLEAN_TABLES[table].source
        assert oracle_dq.bronze_ingested_at(duck, scenario.lake, source) == want, source


# ------------------------------------------------------------ incremental --


def test_nothing_new_commits_no_version(scenario):
    step = _require_success(scenario, "nothing_new")
    assert step["versions_after"] == step["versions_before"], (
        f"versions before {step['versions_before']}\nafter {step['versions_after']}"
    )
    rows = summary(step["stdout"])
    for table in CLEAN:
        assert rows.get(table, {}).get("status") == "no change", f"{table}: {rows.get(table)}\n{step['stdout']}"
        event = step["flows"].get(table)
        assert event is not None, f"no flow_progress event for {table}"
        details = event["details_json"]
        assert details.get("status") == "COMPLETED" and details.get("num_output_rows") == 0, details


def test_nothing_new_reports_zero_data_quality(scenario):
    """"`data_quality` is present on tables that have expectations, with the
    counts of that run's rows": zeros when the run read nothing."""
    step = _require_success(scenario, "nothing_new")
    for table in CLEAN:
        details = step["flows"][table]["details_json"]
        expected = {
            "dropped_records": 0,
            "expectations": [
                {"name": e.name, "dataset": table, "passed_records": 0, "failed_records": 0}
                for e in oracle_dq.CLEAN_TABLES[table].expectations
            ],
        }
        assert _quality_of(details) == expected, f"{table}: details {details}"


@pytest.mark.parametrize("table", CLEAN)
def test_new_batch_appends_only_the_new_rows_survivors(scenario, duck, table):
    first = _require_success(scenario, "initial")
    step = _require_success(scenario, "batch_3")
    path = scenario.lake / table
    before, after = step["versions_before"][table], step["versions_after"][table]
    assert after == before + 1, f"{table}: version {before} -> {after}, expected one commit"
    # An append: every data file of the previous version is still there.
    import deltalake

    old_files = set(deltalake.DeltaTable(os.fspath(path), version=before).file_uris())
    new_files = set(deltalake.DeltaTable(os.fspath(path)).file_uris())
    assert old_files and old_files <= new_files, f"{table}: files of version {before} were removed: {sorted(old_files - new_files)}"
    rows = helpers.table_rows(step["tables"][table])
    new = [r for r in rows if r["_ingested_at"] == step["start"]]
    old = [r for r in rows if r["_ingested_at"] != step["start"]]
    expected_new = oracle_dq.expected_clean(duck, scenario.lake, table, step["start"])
    assert expected_new
    columns = list(expected_new[0])
    helpers.assert_same_rows(new, expected_new, f"{table}: rows of run `batch_3`", columns)
    helpers.assert_same_rows(old, helpers.table_rows(first["tables"][table]), f"{table}: rows of run `initial`", columns)


# ------------------------------------------------------------- quarantine --


def _quarantine_rows(data: pa.Table, label: str) -> list[dict]:
    rows = helpers.table_rows(data)
    for row in rows:
        text = row["_failed_expectations"]
        try:
            value = json.loads(text) if text is not None else None
        except ValueError:
            value = None
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), (
            f"{label}: _failed_expectations {text!r} is not a JSON array of strings"
        )
        row["_failed_expectations"] = tuple(value)
    return rows


@pytest.mark.parametrize("table", CLEAN)
@pytest.mark.parametrize("label", RUN_STEPS)
def test_quarantine_table_holds_the_dropped_rows(scenario, duck, table, label):
    _require_success(scenario, label)
    quarantine = oracle_dq.CLEAN_TABLES[table].quarantine
    data = scenario.steps[label]["tables"][quarantine]
    assert data is not None, f"{quarantine} does not exist after run `{label}`"
    _assert_schema(data, oracle_dq.quarantine_schema(table), f"{quarantine} after `{label}`")
    expected = []
    for ran in RUN_STEPS[: RUN_STEPS.index(label) + 1]:
        if ran in DATA_STEPS:
            s = scenario.steps[ran]
            expected += oracle_dq.expected_quarantine(duck, scenario.lake, table, s["start"], s["run_id"])
    assert expected, "the oracle quarantines nothing: the test data is wrong"
    helpers.assert_same_rows(_quarantine_rows(data, quarantine), expected, f"{quarantine} after `{label}`", list(expected[0]))


@pytest.mark.parametrize("table", CLEAN)
def test_quarantine_commits_once_per_run_and_matches_dropped_records(scenario, table):
    quarantine = oracle_dq.CLEAN_TABLES[table].quarantine
    first = _require_success(scenario, "initial")
    third = _require_success(scenario, "batch_3")
    assert first["versions_after"][quarantine] is not None
    assert third["versions_after"][quarantine] == third["versions_before"][quarantine] + 1, (
        f"{quarantine}: {third['versions_before'][quarantine]} -> {third['versions_after'][quarantine]}"
    )
    rows = helpers.table_rows(third["tables"][quarantine])
    per_run = {}
    for r in rows:
        per_run[r["_run_id"]] = per_run.get(r["_run_id"], 0) + 1
    expected = {
        s["run_id"]: s["flows"][table]["details_json"].get("data_quality", {}).get("dropped_records")
        for s in (first, third)
    }
    assert per_run == expected, f"{quarantine}: rows per _run_id {per_run}, dropped_records per run {expected}"


# ------------------------------------------------------- small pipelines --

HEADER = "customer_id,first_name,last_name,email,phone,operation,updated_at\n"


def customers_csv(rows) -> str:
    """rows: (id or '', email, operation); the rest is filled in."""
    lines = [HEADER]
    for i, (cid, email, op) in enumerate(rows):
        lines.append(f"{cid},First{i},Last{i},{email},,{op},2026-03-01T10:{i:02d}:00Z\n")
    return "".join(lines)


BASE_ROWS = [
    (1, "ann@example.com", "INSERT"),
    (2, "bo@example.com", "INSERT"),
    (3, "carol@blocked.test", "INSERT"),
    (4, "dan@example.com", "UPDATE"),
    ("", "eve@example.com", "INSERT"),  # dropped by valid_customer_id
    (6, "fay@example.com", "INSERT"),
    (7, "gus@example.com", "DELETE"),
    (8, "hal@example.com", "INSERT"),
    (9, "ivy@example.com", "INSERT"),
    (10, "jo@example.com", "UPDATE"),
]

PIPELINE = """\
[pipeline]
name = "dq"
lake = "${lake}"

[vars]
landing = "landing"
lake = "lake"

[plugins]
bronze = { path = "@BRONZE@" }
expectations = { path = "@EXPECTATIONS@" }

[tables.bronze_customers]
plugin = "bronze"
source = { path = "${landing}/customers", pattern = "*.csv" }

[tables.bronze_customers.options]
format = "csv"
columns = [
  { name = "customer_id", type = "int64" },
  { name = "first_name", type = "string" },
  { name = "last_name", type = "string" },
  { name = "email", type = "string" },
  { name = "phone", type = "string" },
  { name = "operation", type = "string" },
  { name = "updated_at", type = "timestamp" },
]

[tables.checked]
plugin = "expectations"
inputs = ["bronze_customers"]
quarantine = "checked_quarantine"

[tables.checked.options]
@CHECKED@

[tables.after_checked]
plugin = "expectations"
inputs = ["checked"]

[tables.after_checked.options]
expectations = [
  { name = "has_id", expr = "customer_id IS NOT NULL", action = "warn" },
]

[tables.sibling]
plugin = "expectations"
inputs = ["bronze_customers"]

[tables.sibling.options]
expectations = [
  { name = "has_email", expr = "email IS NOT NULL", action = "warn" },
]
"""

SMALL_TABLES = ["bronze_customers", "checked", "checked_quarantine", "after_checked", "sibling"]


class Small:
    def __init__(self, root: Path, run_lfhost, bronze_wasm, expectations_wasm):
        self.root = root
        self.lake = root / "lake"
        self.pipeline = root / "pipeline.toml"
        self.run_lfhost = run_lfhost
        self.bronze_wasm = bronze_wasm
        self.expectations_wasm = expectations_wasm
        self.known_runs: set[str] = set()

    def write(self, checked_options: str, rows=BASE_ROWS, name="batch-1.csv"):
        text = (
            PIPELINE.replace("@BRONZE@", os.fspath(self.bronze_wasm))
            .replace("@EXPECTATIONS@", os.fspath(self.expectations_wasm))
            .replace("@CHECKED@", checked_options)
        )
        self.pipeline.write_text(text)
        folder = self.root / "landing" / "customers"
        folder.mkdir(parents=True, exist_ok=True)
        if rows is not None:
            (folder / name).write_text(customers_csv(rows))

    def versions(self):
        return {t: delta_version(self.lake / t) for t in SMALL_TABLES}

    def run(self):
        before = self.versions()
        rc, out, err = self.run_lfhost("run", self.pipeline, cwd=self.root, timeout=120)
        events = helpers.event_log(read_delta, self.lake)
        run_id = helpers.new_run_id(events, self.known_runs)
        self.known_runs.add(run_id)
        return {
            "rc": rc,
            "stdout": out,
            "stderr": err,
            "text": f"exit {rc}\nstdout:\n{out}\nstderr:\n{err}",
            "before": before,
            "after": self.versions(),
            "flows": helpers.flow_events(events, run_id),
        }

    def rows(self, table):
        return helpers.table_rows(read_delta(self.lake / table))


@pytest.fixture
def small(workspace, run_lfhost, bronze_wasm, expectations_wasm) -> Small:
    return Small(workspace, run_lfhost, bronze_wasm, expectations_wasm)


def _assert_failed_branch(r: dict, failing: str, fragments: list[str]):
    """`failing` failed with an error naming `fragments`; it, its quarantine and
    its downstream committed nothing; bronze and the sibling committed."""
    assert r["rc"] == 1, f"expected exit 1\n{r['text']}"
    errors = error_lines(r["stdout"])
    assert set(errors) == {failing}, f"error lines for {sorted(errors)}, expected [{failing}]\n{r['text']}"
    for fragment in fragments:
        assert fragment in errors[failing], f"{fragment!r} not in the error line: {errors[failing]}"
    assert "skipped: table `after_checked`" in r["stdout"], r["text"]
    for table in ("checked", "checked_quarantine", "after_checked"):
        assert r["after"][table] == r["before"][table], f"{table} committed in a failed run: {r['before']} -> {r['after']}"
    for table in ("bronze_customers", "sibling"):
        want = 0 if r["before"][table] is None else r["before"][table] + 1
        assert r["after"][table] == want, f"{table} did not commit: {r['before'][table]} -> {r['after'][table]}"
    flows = r["flows"]
    assert flows["checked"]["details_json"].get("status") == "FAILED", flows["checked"]
    for fragment in fragments:
        assert fragment in flows["checked"]["message"], f"{fragment!r} not in the event's message {flows['checked']['message']!r}"
    assert flows["after_checked"]["details_json"].get("status") == "SKIPPED", flows["after_checked"]
    assert flows["sibling"]["details_json"].get("status") == "COMPLETED", flows["sibling"]


FAIL_OPTIONS = """\
expectations = [
  { name = "valid_customer_id", expr = "customer_id IS NOT NULL", action = "drop" },
  { name = "no_blocked_domain", expr = "email NOT LIKE '%@blocked.test'", action = "@ACTION@" },
]
"""


def test_fail_expectation_fails_its_branch_and_a_later_run_loses_nothing(small):
    small.write(FAIL_OPTIONS.replace("@ACTION@", "fail"))
    r = small.run()
    _assert_failed_branch(r, "checked", ["no_blocked_domain", "carol@blocked.test"])
    assert len(small.rows("sibling")) == len(BASE_ROWS)
    assert len(small.rows("bronze_customers")) == len(BASE_ROWS)

    # The expectation becomes a warning: the next run reads what the failed one did not commit.
    small.write(FAIL_OPTIONS.replace("@ACTION@", "warn"), rows=None)
    r = small.run()
    assert r["rc"] == 0, r["text"]
    assert r["after"]["sibling"] == r["before"]["sibling"], "sibling committed again with nothing new"
    assert r["after"]["bronze_customers"] == r["before"]["bronze_customers"]
    emails = sorted(row["email"] for row in small.rows("checked"))
    assert emails == sorted(e for cid, e, _ in BASE_ROWS if cid != ""), emails
    assert sorted(row["email"] for row in small.rows("after_checked")) == emails
    quarantined = small.rows("checked_quarantine")
    assert [(q["email"], json.loads(q["_failed_expectations"])) for q in quarantined] == [
        ("eve@example.com", ["valid_customer_id"])
    ], quarantined
    dq = _quality_of(r["flows"]["checked"]["details_json"])
    assert dq == {
        "dropped_records": 1,
        "expectations": [
            {"name": "valid_customer_id", "dataset": "checked", "passed_records": 9, "failed_records": 1},
            {"name": "no_blocked_domain", "dataset": "checked", "passed_records": 9, "failed_records": 1},
        ],
    }, dq


def test_fail_expectation_evaluates_rows_that_other_expectations_drop(small):
    """"Each expectation is evaluated on every row the flow reads, whatever
    the other expectations decide": a row dropped by one expectation still
    fails the flow through a `fail` one."""
    rows = [r for r in BASE_ROWS if r[0] != 3] + [("", "zed@blocked.test", "INSERT")]
    small.write(FAIL_OPTIONS.replace("@ACTION@", "fail"), rows=rows)
    r = small.run()
    _assert_failed_branch(r, "checked", ["no_blocked_domain", "zed@blocked.test"])


def _fraction_options(action: str, fraction: str) -> str:
    return (
        "expectations = [\n"
        f'  {{ name = "valid_email", expr = "email LIKE \'%_@_%\'", action = "{action}", max_failed_fraction = {fraction} }},\n'
        "]\n"
    )


FRACTION_ROWS = [(i, "bad" if i in (2, 5, 8) else f"c{i}@example.com", "INSERT") for i in range(1, 11)]


@pytest.mark.parametrize(
    "action, fraction, fails",
    [("drop", "0.2", True), ("warn", "0.25", True), ("drop", "0.3", False), ("drop", "0.5", False), ("warn", "0.5", False)],
)
def test_max_failed_fraction(small, action, fraction, fails):
    """3 rows of 10 fail `valid_email`."""
    small.write(_fraction_options(action, fraction), rows=FRACTION_ROWS)
    r = small.run()
    if fails:
        _assert_failed_branch(r, "checked", ["valid_email"])
        line = error_lines(r["stdout"])["checked"]
        percent = f"{round(float(fraction) * 100)}%"
        assert fraction in line or percent in line, f"the error does not name the fraction {fraction}: {line}"
        return
    assert r["rc"] == 0, r["text"]
    kept = 7 if action == "drop" else 10
    assert len(small.rows("checked")) == kept
    quarantined = small.rows("checked_quarantine") if r["after"]["checked_quarantine"] is not None else []
    assert sorted(q["customer_id"] for q in quarantined) == ([2, 5, 8] if action == "drop" else [])
    dq = _quality_of(r["flows"]["checked"]["details_json"])
    assert dq == {
        "dropped_records": 3 if action == "drop" else 0,
        "expectations": [{"name": "valid_email", "dataset": "checked", "passed_records": 7, "failed_records": 3}],
    }, dq


def _table_options(rule: str, action: str) -> str:
    return (
        "expectations = [\n"
        '  { name = "has_id", expr = "customer_id IS NOT NULL", action = "warn" },\n'
        "]\n"
        "table_expectations = [\n"
        f'  {{ name = "the_rule", rule = "{rule}", action = "{action}" }},\n'
        "]\n"
    )


# 11 rows, customer 4 twice (with different emails).
TABLE_ROWS = BASE_ROWS + [(4, "dan2@example.com", "UPDATE")]


@pytest.mark.parametrize(
    "rule, action, fails",
    [
        ("unique(customer_id)", "fail", True),
        ("unique(customer_id, email)", "fail", False),
        ("unique(email)", "fail", False),
        ("row_count BETWEEN 100 AND 200", "warn", False),
        ("row_count BETWEEN 100 AND 200", "fail", True),
        ("row_count BETWEEN 11 AND 11", "fail", False),
        ("row_count >= 11", "fail", False),
        ("row_count >= 12", "fail", True),
        ("row_count <= 11", "fail", False),
        ("row_count <= 10", "fail", True),
    ],
)
def test_table_expectations(small, rule, action, fails):
    small.write(_table_options(rule, action), rows=TABLE_ROWS)
    r = small.run()
    if fails:
        _assert_failed_branch(r, "checked", ["the_rule"])
        return
    assert r["rc"] == 0, r["text"]
    assert r["after"]["checked"] == 0
    assert len(small.rows("checked")) == len(TABLE_ROWS)
    assert r["flows"]["checked"]["details_json"].get("num_output_rows") == len(TABLE_ROWS)


# ---------------------------------------------------------------- validate --

BAD_EXPRESSIONS = {
    # name: (table, index of the expectation, the expression as in the seed, its replacement, fragments of the message)
    "syntax_error": (
        "silver_customers_clean",
        1,
        "operation IN ('INSERT', 'UPDATE', 'DELETE')",
        "operation IN ('INSERT', 'UPDATE', 'DELETE'",
        [],
    ),
    "unknown_column": (
        "silver_addresses_clean",
        3,
        "operation = 'DELETE' OR (postal_code IS NOT NULL AND length(postal_code) BETWEEN 3 AND 10)",
        "operation = 'DELETE' OR (postal_cod IS NOT NULL AND length(postal_code) BETWEEN 3 AND 10)",
        ["postal_cod"],
    ),
    "type_error": (
        "silver_orders_clean",
        5,
        "operation = 'DELETE' OR items > 0",
        "operation = 'DELETE' OR length(items) > 1",
        ["length"],
    ),
}


def _position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, len(before.rsplit("\n", 1)[-1]) + 1


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", sorted(BAD_EXPRESSIONS))
def test_bad_expression_is_reported_at_its_position(
    case, command, tmp_path, run_lfhost, seed_pipeline, bronze_wasm, expectations_wasm
):
    table, index, good, bad, fragments = BAD_EXPRESSIONS[case]
    root = Path(os.path.realpath(tmp_path))
    text = seed_pipeline.read_text()
    relative = "target/wasm32-wasip2/release/"
    for wasm in (bronze_wasm, expectations_wasm):
        assert f'path = "{relative}{wasm.name}"' in text, f"the seed pipeline no longer loads {wasm.name}"
    # Every plugin of the seed, wherever the suite's builds are.
    text = text.replace(f'path = "{relative}', f'path = "{os.fspath(bronze_wasm.parent)}/')
    section = text.index(f"[tables.{table}.options]")
    marker = f'expr = "{good}"'
    offset = text.index(marker, section)
    next_section = text.find("[tables.", section + 1)
    assert next_section == -1 or offset < next_section, f"the seed's {table} no longer has the expression {good!r}"
    text = text[:offset] + f'expr = "{bad}"' + text[offset + len(marker):]
    pipeline = root / "pipelines.toml"
    pipeline.write_text(text)
    (root / "landing").mkdir()
    rc, out, err = run_lfhost(command, pipeline, "--var", "landing=landing", "--var", "lake=lake", cwd=root, timeout=120)
    assert rc == 2, f"`lfhost {command}` exited {rc}, expected 2\nstdout:\n{out}\nstderr:\n{err}"
    problems = [l for l in err.splitlines() if l.startswith(os.fspath(pipeline) + ":")]
    assert len(problems) == 1, f"expected one problem line, got {problems}\nstderr:\n{err}"
    problem = problems[0]
    m = re.match(re.escape(os.fspath(pipeline)) + r":(\d+):(\d+): (.*)$", problem)
    assert m, f"not `FILE:LINE:COL: message`: {problem!r}"
    line, col, message = int(m.group(1)), int(m.group(2)), m.group(3)
    want_line, want_col = _position(text, offset + len("expr = "))
    assert line == want_line, f"line {line}, expected {want_line} (the expression's): {problem}"
    prefix = f"table `{table}`: options.expectations.{index}.expr: "
    assert message.startswith(prefix), f"{message!r} does not start with {prefix!r}"
    assert message[len(prefix):].strip(), f"no explanation: {problem}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert col == want_col, f"column {col}, expected {want_col} (the expression's string): {problem}"
    if command == "run":
        assert not (root / "lake").exists(), "an invalid pipeline created its lake"
