"""A plugin that imports files, clocks or sockets is refused at load, before
it runs, with the interfaces and the reason named."""

from __future__ import annotations

from pathlib import Path

PIPELINE = """\
[pipeline]
name = "escape"
lake = "lake"

[plugins]
escape = {{ path = "{escape}" }}

[tables.stolen]
plugin = "escape"
source = {{ path = "landing", pattern = "*.txt" }}
"""


def test_inspect_refuses_a_plugin_that_imports_files_clocks_and_sockets(run_lfhost, escape_wasm):
    rc, out, err = run_lfhost("plugin", "inspect", str(escape_wasm))
    assert rc == 2, (rc, out, err)
    assert f"error: {escape_wasm} is not a usable lfhost plugin: it imports what lfhost does not grant:" in err, err
    for needle in (
        "wasi:filesystem/preopens@0.2.6 (plugins get no files: the host hands them their data)",
        "wasi:clocks/wall-clock@0.2.6 (plugins get no clock: the run's timestamp is passed in)",
        "wasi:sockets/tcp@0.2.6 (plugins get no network)",
    ):
        assert needle in err, err
    assert "panicked" not in err


def test_a_pipeline_using_it_fails_validation_and_runs_nothing(run_lfhost, escape_wasm, tmp_path: Path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "a.txt").write_text("x\n")
    pipeline = tmp_path / "pipelines.toml"
    pipeline.write_text(PIPELINE.format(escape=escape_wasm))
    rc, out, err = run_lfhost("run", str(pipeline), cwd=tmp_path)
    assert rc == 2, (rc, out, err)
    assert f"{pipeline}:6:10: plugin `escape`: {escape_wasm} is not a usable lfhost plugin" in err, err
    assert not (tmp_path / "lake" / "stolen").exists()
