"""The committed demo data (data/landing) is what the generator writes, and
the seed pipeline ingests it as the contract says."""

from __future__ import annotations

import filecmp
import os
import shutil
from pathlib import Path

import helpers
import landing
import oracle
from helpers import read_delta

# As documented in data/landing/README.md.
SAMPLE_ARGS = dict(batches=2, seed=7, rows=24)


def _data_files(root: Path) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files if f != "README.md"
    )


def test_sample_data_is_reproducible(repo, tmp_path):
    sample = repo / "data" / "landing"
    assert sample.is_dir(), f"no sample data at {sample}"
    fresh = tmp_path / "landing"
    written = landing.generate(fresh, **SAMPLE_ARGS)
    assert _data_files(sample) == _data_files(fresh)
    assert len(written) == len(_data_files(fresh))
    for name in _data_files(fresh):
        assert filecmp.cmp(sample / name, fresh / name, shallow=False), f"data/landing/{name} differs from the generator's"


def test_seed_pipeline_ingests_the_sample_data(repo, workspace, run_lfhost, seed_pipeline):
    shutil.rmtree(workspace / "landing")
    shutil.copytree(repo / "data" / "landing", workspace / "landing")
    rc, out, err = run_lfhost(
        "run", seed_pipeline, "--var", "landing=landing", "--var", "lake=lake", cwd=workspace, timeout=120
    )
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    for table in oracle.BRONZE_TABLES:
        files = oracle.source_files(workspace / "landing", table)
        assert files, table
        helpers.compare_bronze(read_delta(workspace / "lake" / table), table, files, "deltalake")
