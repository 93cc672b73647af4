"""What a component must be for lfhost to load it: built against a
compatible version of the `lfhost:plugin` WIT package. WASI is linked
sealed, so a component importing files, clocks and sockets loads (what it
gets from them is tested in test_hostile_suite.py); one built for another
major version of the contract is refused at load, naming both versions."""

from __future__ import annotations

import re
from pathlib import Path

PIPELINE = """\
[pipeline]
name = "versions"
lake = "lake"

[plugins]
next = {{ path = "{plugin}" }}

[tables.later]
plugin = "next"
source = {{ path = "landing", pattern = "*.txt" }}
"""

HOST_CONTRACT = "lfhost:plugin@0.1.3"


def test_inspect_shows_the_contract_and_the_sealed_imports(run_lfhost, escape_wasm):
    rc, out, err = run_lfhost("plugin", "inspect", str(escape_wasm))
    assert rc == 0, (rc, out, err)
    assert f"contract: {HOST_CONTRACT} (this host: {HOST_CONTRACT}, compatible)" in out, out
    for interface in ("wasi:filesystem/preopens", "wasi:clocks/wall-clock", "wasi:sockets/tcp"):
        assert re.search(rf"^\s+{re.escape(interface)}@0\.2\.\d+$", out, re.M), out


def test_inspect_refuses_another_major_version_naming_both(run_lfhost, next_contract_wasm):
    rc, out, err = run_lfhost("plugin", "inspect", str(next_contract_wasm))
    assert rc == 2, (rc, out, err)
    assert (
        f"error: {next_contract_wasm} is not a usable lfhost plugin: it was built for lfhost:plugin@1.0.0, "
        f"but this host implements {HOST_CONTRACT}, an incompatible version of the contract" in err
    ), err
    assert "panicked" not in err and "backtrace" not in err.lower()


def test_a_pipeline_using_it_fails_at_load_and_runs_nothing(run_lfhost, next_contract_wasm, tmp_path: Path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "a.txt").write_text("x\n")
    pipeline = tmp_path / "pipelines.toml"
    pipeline.write_text(PIPELINE.format(plugin=next_contract_wasm))
    for command in ("validate", "run"):
        rc, out, err = run_lfhost(command, str(pipeline), cwd=tmp_path)
        assert rc == 2, (command, rc, out, err)
        assert f"{pipeline}:6:8: plugin `next`: {next_contract_wasm} is not a usable lfhost plugin: it was built for lfhost:plugin@1.0.0" in err, err
    assert not (tmp_path / "lake").exists()
