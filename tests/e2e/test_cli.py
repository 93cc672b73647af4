"""`lfhost validate` and `lfhost graph` on the seed pipeline."""

from __future__ import annotations

import os
import re
from pathlib import Path

import helpers
import oracle

BRONZE = oracle.BRONZE_TABLES


def test_validate_seed_pipeline(run_lfhost, seed_pipeline, tmp_path):
    rc, out, err = run_lfhost("validate", seed_pipeline, cwd=tmp_path, timeout=120)
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    lines = out.splitlines()
    assert lines[0] == f"{seed_pipeline}: {len(helpers.seed_tables())} table(s) valid", out
    for table in BRONZE:
        columns = len(oracle.CONTRACT[table].columns) + 3
        pattern = rf"^  {table}: plugin bronze-ingest \S+, {columns} column\(s\)$"
        assert any(re.match(pattern, l) for l in lines), f"no line matching {pattern!r} in:\n{out}"


def test_validate_moves_no_data(run_lfhost, seed_pipeline, tmp_path):
    root = Path(os.path.realpath(tmp_path))
    rc, out, err = run_lfhost(
        "validate", seed_pipeline, "--var", "landing=landing", "--var", "lake=lake", cwd=root, timeout=120
    )
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert not (root / "lake").exists(), "validate created the lake"


def test_graph_text(run_lfhost, seed_pipeline, tmp_path):
    root = Path(os.path.realpath(tmp_path))
    rc, out, err = run_lfhost("graph", seed_pipeline, "--var", "landing=somewhere/else", cwd=root, timeout=60)
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) == len(helpers.seed_tables()), out
    for table in BRONZE:
        source = oracle.CONTRACT[table]
        folder = root / "somewhere" / "else" / source.folder
        mine = [l for l in lines if l.split()[0] == table]
        assert len(mine) == 1, f"no line for {table}:\n{out}"
        line = mine[0]
        assert os.fspath(folder) in line, f"{table}: the landing folder {folder} is not shown: {line}"
        assert source.pattern in line and "bronze" in line, line


def test_graph_dot(run_lfhost, seed_pipeline, tmp_path):
    rc, out, err = run_lfhost("graph", seed_pipeline, "--format", "dot", cwd=tmp_path, timeout=60)
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    text = out.strip()
    assert re.match(r"^(strict\s+)?digraph\b[^{]*\{", text), text
    assert text.endswith("}"), text
    assert text.count("{") == text.count("}")
    for table in BRONZE:
        assert re.search(rf'"{table}"\s*\[', text), f"no node for {table}:\n{text}"
        assert re.search(rf'->\s*"{table}"', text), f"no edge into {table}:\n{text}"
