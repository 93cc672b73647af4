"""Failures that must not lose or duplicate data: unreadable landing files,
and a run killed with SIGKILL at a random moment."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers
import landing
import oracle
from helpers import delta_version, read_delta

BRONZE = oracle.BRONZE_TABLES


def _run_seed(run_lfhost, seed_pipeline, root, timeout=120):
    return run_lfhost("run", seed_pipeline, "--var", "landing=landing", "--var", "lake=lake", cwd=root, timeout=timeout)


def _versions(lake):
    return {t: delta_version(lake / t) for t in BRONZE}


def _error_lines(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        if line.startswith("error: table `"):
            table = line[len("error: table `"):].split("`", 1)[0]
            out[table] = line
    return out


BAD_FILES = {
    "csv_and_parquet": {
        "bronze_customers": ("customers/batch-0002-z.csv", landing.write_non_utf8_csv),
        "bronze_orders": ("orders/batch-0002-z.parquet", landing.write_truncated_parquet),
    },
    "jsonl": {
        "bronze_addresses": ("addresses/batch-0002-z.jsonl", landing.write_non_utf8_jsonl),
    },
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_unreadable_file_fails_its_table_only_and_is_recovered_exactly_once(case, workspace, run_lfhost, seed_pipeline):
    root, land, lake = workspace, workspace / "landing", workspace / "lake"
    landing.generate(land, batches=1, seed=21, rows=25)
    rc, out, err = _run_seed(run_lfhost, seed_pipeline, root)
    assert rc == 0, f"the first run failed ({rc})\nstdout:\n{out}\nstderr:\n{err}"
    batch_1 = {t: oracle.source_files(land, t) for t in BRONZE}

    landing.generate(land, batches=1, seed=21, rows=25, first_batch=2)
    bad = {}
    for table, (relative, write) in BAD_FILES[case].items():
        bad[table] = write(land / relative)
    failing = set(bad)
    healthy = [t for t in BRONZE if t not in failing]
    before = _versions(lake)
    events_before = {e["run_id"] for e in helpers.event_log(read_delta, lake)}

    rc, out, err = _run_seed(run_lfhost, seed_pipeline, root)
    assert rc == 1, f"a run with an unreadable file exited {rc}, expected 1\nstdout:\n{out}\nstderr:\n{err}"
    errors = _error_lines(out)
    assert set(errors) == failing, f"error lines for {sorted(errors)}, expected {sorted(failing)}:\n{out}"
    for table, path in bad.items():
        assert os.fspath(path) in errors[table], f"the error of {table} does not name {path}: {errors[table]}"
    after = _versions(lake)
    for table in failing:
        assert after[table] == before[table], f"{table} committed ({before[table]} -> {after[table]}) in a failed flow"
        helpers.compare_bronze(read_delta(lake / table), table, batch_1[table], "deltalake")
    for table in healthy:
        assert after[table] == before[table] + 1, f"{table} did not commit: {before[table]} -> {after[table]}"
        helpers.compare_bronze(read_delta(lake / table), table, oracle.source_files(land, table), "deltalake")
    events = helpers.event_log(read_delta, lake)
    run_id = helpers.new_run_id(events, events_before)
    flows = helpers.flow_events(events, run_id)
    assert set(flows) == set(helpers.seed_tables()), sorted(flows)
    for table in failing:
        assert flows[table]["details_json"].get("status") == "FAILED", flows[table]
        assert os.fspath(bad[table]) in flows[table]["message"], flows[table]["message"]
    for table in healthy:
        assert flows[table]["details_json"].get("status") == "COMPLETED", flows[table]

    # The bad files go away; the next run takes exactly what was not committed.
    for path in bad.values():
        path.unlink()
    pending = {t: [f for f in oracle.source_files(land, t) if f not in batch_1[t]] for t in failing}
    before = after
    events_before = {e["run_id"] for e in events}
    rc, out, err = _run_seed(run_lfhost, seed_pipeline, root)
    assert rc == 0, f"the run after removing the bad files exited {rc}\nstdout:\n{out}\nstderr:\n{err}"
    after = _versions(lake)
    for table in failing:
        assert after[table] == before[table] + 1, f"{table}: {before[table]} -> {after[table]}"
    for table in healthy:
        assert after[table] == before[table], f"{table} committed again with nothing new"
    for table in BRONZE:
        helpers.compare_bronze(read_delta(lake / table), table, oracle.source_files(land, table), "deltalake")
    events = helpers.event_log(read_delta, lake)
    flows = helpers.flow_events(events, helpers.new_run_id(events, events_before))
    for table in failing:
        want = len(oracle.expected_rows(table, pending[table]))
        assert flows[table]["details_json"].get("num_output_rows") == want, flows[table]


# ------------------------------------------------------------------ kill -9 --

KILL_ROWS = 4000  # rows per source per batch: ~1.5 MB of landing files a batch
KILL_FIRST_BATCHES = 4
KILL_MAX_ATTEMPTS = 16
KILL_WANTED = 5  # runs killed after a flow started


def test_kill_9_mid_run_loses_and_duplicates_nothing(
    warm_seed_plugins, workspace, lfhost_bin, lfhost_env, seed_pipeline, run_lfhost, read_duckdb
):
    root, land, lake = workspace, workspace / "landing", workspace / "lake"
    rng = random.Random(1234)
    landing.generate(land, batches=KILL_FIRST_BATCHES, seed=5, rows=KILL_ROWS)
    argv = [os.fspath(lfhost_bin), "run", os.fspath(seed_pipeline), "--var", "landing=landing", "--var", "lake=lake"]
    attempts = []
    next_batch = KILL_FIRST_BATCHES + 1
    upper = 0.6  # seconds; adapted to how long runs take here
    for attempt in range(KILL_MAX_ATTEMPTS):
        if sum(1 for a in attempts if a["killed"] and a["flows_started"]) >= KILL_WANTED:
            break
        if attempt > 0:  # new work arrives between attempts
            landing.generate(land, batches=1, seed=5, rows=KILL_ROWS, first_batch=next_batch)
            next_batch += 1
        delay = rng.uniform(0.2, 1.0) * upper
        log = root / f"attempt-{attempt}.log"
        with open(log, "wb") as stderr:
            proc = subprocess.Popen(argv, cwd=root, env=lfhost_env, stdout=subprocess.DEVNULL, stderr=stderr)
            time.sleep(delay)
            alive = proc.poll() is None
            if alive:
                os.kill(proc.pid, signal.SIGKILL)
            rc = proc.wait(timeout=60)
        text = helpers.strip_ansi(log.read_text(errors="replace"))
        attempts.append(
            {
                "delay": round(delay, 2),
                "killed": alive and rc == -signal.SIGKILL,
                "rc": rc,
                "flows_started": text.count("flow started"),
                "commits": text.count("committed version"),
                "versions": _versions(lake),
            }
        )
        if not alive:
            assert rc == 0, f"attempt {attempt} finished before the kill but exited {rc}:\n{text}"
            upper *= 0.6
        elif not attempts[-1]["flows_started"]:
            upper *= 1.5
    print("kill attempts:", *attempts, sep="\n  ")
    killed = [a for a in attempts if a["killed"]]
    mid_flow = [a for a in killed if a["flows_started"] > 0]
    assert len(mid_flow) >= KILL_WANTED, f"too few runs were killed after a flow had started: {attempts}"

    rows_before = {t: (read_delta(lake / t).num_rows if delta_version(lake / t) is not None else 0) for t in BRONZE}
    known_runs = {e["run_id"] for e in helpers.event_log(read_delta, lake)} if delta_version(lake / "_event_log") is not None else set()
    rc, out, err = _run_seed(run_lfhost, seed_pipeline, root, timeout=240)
    assert rc == 0, f"the run after the kills exited {rc}\nstdout:\n{out}\nstderr:\n{err}\nattempts: {attempts}"
    for t in BRONZE:
        files = oracle.source_files(land, t)
        helpers.compare_bronze(read_delta(lake / t), t, files, "deltalake")
        helpers.compare_bronze(read_duckdb(lake / t), t, files, "duckdb delta_scan")
    events = helpers.event_log(read_delta, lake)
    flows = helpers.flow_events(events, helpers.new_run_id(events, known_runs))
    for t in BRONZE:
        total = read_delta(lake / t).num_rows
        assert flows[t]["details_json"].get("num_output_rows") == total - rows_before[t], (t, flows[t], rows_before)

    # And nothing is left over for another run.
    versions = _versions(lake)
    rc, out, err = _run_seed(run_lfhost, seed_pipeline, root)
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert _versions(lake) == versions
