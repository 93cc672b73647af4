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


def test_history_lists_each_run_with_its_status_and_failed_tables(run_lfhost, hostile_wasm, tmp_path: Path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "a.txt").write_text("x\n")
    pipeline = tmp_path / "pipelines.toml"
    pipeline.write_text(PIPELINE.format(hostile=hostile_wasm))
    for _ in range(2):
        rc, out, err = run_lfhost("run", str(pipeline), cwd=tmp_path)
        assert rc == 1, (rc, out, err)

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
    for run, line in zip(runs, lines[1:]):
        assert line.startswith(run["run_id"]) and "FAILED" in line and line.rstrip().endswith("evil"), line
