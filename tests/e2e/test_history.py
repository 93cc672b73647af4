"""`lfhost history` reads the runs back from the event log."""

from __future__ import annotations

import json
from pathlib import Path

PIPELINE = """\
[pipeline]
name = "history"
lake = "lake"

[plugins]
hostile = {{ path = "{hostile}" }}

[tables.evil]
plugin = "hostile"
source = {{ path = "landing", pattern = "*.txt" }}
options = {{ behaviour = "panic" }}
"""


def two_failed_runs(run_lfhost, hostile_wasm, tmp_path: Path) -> Path:
    """A pipeline whose one table panics, run twice."""
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "a.txt").write_text("x\n")
    pipeline = tmp_path / "pipelines.toml"
    pipeline.write_text(PIPELINE.format(hostile=hostile_wasm))
    for _ in range(2):
        rc, out, err = run_lfhost("run", str(pipeline), cwd=tmp_path)
        assert rc == 1, (rc, out, err)
    return pipeline


def test_history_lists_each_run_with_its_status_and_failed_tables(run_lfhost, hostile_wasm, tmp_path: Path):
    pipeline = two_failed_runs(run_lfhost, hostile_wasm, tmp_path)

    rc, out, err = run_lfhost("history", str(pipeline), "--json", cwd=tmp_path)
    assert rc == 0, (rc, out, err)
    runs = [json.loads(line) for line in out.splitlines()]
    assert len(runs) == 2, out
    assert [r["status"] for r in runs] == ["FAILED", "FAILED"], runs
    assert all(r["failed_tables"] == ["evil"] and r["rows_written"] == 0 for r in runs), runs
    assert runs[0]["started_at"] <= runs[1]["started_at"]
    assert len({r["run_id"] for r in runs}) == 2

    rc, out, err = run_lfhost("history", str(pipeline), cwd=tmp_path)
    assert rc == 0, (rc, out, err)
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["run", "started", "(UTC)", "duration"], out
    run_lines = [line for line in lines[1:] if not line.startswith(" ")]
    for run, line in zip(runs, run_lines, strict=True):
        assert line.startswith(run["run_id"]) and "FAILED" in line and line.rstrip().endswith("evil"), line
    # Each failed run shows its error under it.
    errors = [line.strip() for line in lines[1:] if line.startswith(" ")]
    assert len(errors) == 2 and all(e.startswith("error: evil: ") and "panic" in e for e in errors), out
    assert all(r["errors"] == [e.removeprefix("error: ")] for r, e in zip(runs, errors)), (runs, errors)


def test_events_shows_a_runs_events_in_order(run_lfhost, hostile_wasm, tmp_path: Path):
    pipeline = two_failed_runs(run_lfhost, hostile_wasm, tmp_path)
    rc, out, err = run_lfhost("history", str(pipeline), "--json", cwd=tmp_path)
    first, last = [json.loads(line)["run_id"] for line in out.splitlines()]

    rc, out, err = run_lfhost("events", str(pipeline), "--json", cwd=tmp_path)
    assert rc == 0, (rc, out, err)
    events = [json.loads(line) for line in out.splitlines()]
    assert {e["run_id"] for e in events} == {last}, "without --run, the last run's events"
    assert [e["event_type"] for e in events] == ["create_update", "flow_started", "flow_progress", "update_progress"]
    assert [e["sequence"] for e in events] == sorted(e["sequence"] for e in events)
    started, progress = events[1], events[2]
    assert progress["level"] == "ERROR" and progress["details"]["status"] == "FAILED" and "panic" in progress["message"]
    origin = progress["origin"]
    assert origin["pipeline"] == "history" and origin["table"] == "evil", origin
    assert origin["plugin"].startswith("hostile ") and len(origin["plugin_digest"]) == 64, origin
    assert started["timestamp"] <= progress["timestamp"] <= events[-1]["timestamp"]

    rc, out, err = run_lfhost("events", str(pipeline), "--run", first[:8], "--table", "evil", cwd=tmp_path)
    assert rc == 0, (rc, out, err)
    lines = out.splitlines()
    assert len(lines) == 2 and "flow_started" in lines[0] and "flow_progress" in lines[1] and "evil" in lines[1], out

    rc, out, err = run_lfhost("events", str(pipeline), "--run", "no-such-run", cwd=tmp_path)
    assert rc != 0 and "no run `no-such-run`" in err, (rc, out, err)
    rc, out, err = run_lfhost("events", str(pipeline), "--table", "nope", cwd=tmp_path)
    assert rc != 0 and "no table `nope`" in err, (rc, out, err)
