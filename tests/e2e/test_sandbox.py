"""A hostile plugin fails its own table with a clear message, promptly,
without crashing the host, while a healthy table of the same run commits."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

import helpers
import landing
import oracle
from helpers import delta_version, read_delta

PIPELINE = """\
[pipeline]
name = "sandbox"
lake = "${{lake}}"

[vars]
landing = "landing"
lake = "lake"

[plugins]
bronze = {{ path = "{bronze}" }}
hostile = {{ path = "{hostile}" }}

[tables.bronze_customers]
plugin = "bronze"
source = {{ path = "${{landing}}/customers", pattern = "*.csv" }}

""" + helpers.CUSTOMERS_OPTIONS_TEMPLATE + """
[tables.evil]
plugin = "hostile"
source = {{ path = "${{landing}}/evil", pattern = "*.txt" }}
options = {{ behaviour = "{behaviour}" }}
{limits}
"""

# behaviour -> (limits section, phrases the error must contain (any of each tuple))
BEHAVIOURS = {
    "loop": ("[tables.evil.limits]\ncpu_seconds = 2\n", [("exceeded its CPU time limit of 2 s",)]),
    "memory_bomb": ("[tables.evil.limits]\nmemory_mib = 64\n", [("exceeded its memory limit of 64 MiB",)]),
    "recursion": ("", [("stack",)]),
    "garbage": ("", [("invalid",)]),
    "wrong_schema": ("", [("differs", "schema")]),
    "panic": ("", [("panick",)]),
}
HOST_PANIC = re.compile(r"^(thread '[^']*' panicked at|note: run with `RUST_BACKTRACE|stack backtrace:|fatal runtime error)")


def _pipeline_text(bronze_wasm, hostile_wasm, behaviour: str, limits: str) -> str:
    return PIPELINE.format(bronze=os.fspath(bronze_wasm), hostile=os.fspath(hostile_wasm), behaviour=behaviour, limits=limits)


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory, run_lfhost, bronze_wasm, hostile_wasm):
    """Compiles both plugins into the session's cache (validate plans every
    table), so that the timed runs below time the plugins, not Cranelift."""
    root = tmp_path_factory.mktemp("warm")
    pipeline = root / "pipeline.toml"
    pipeline.write_text(_pipeline_text(bronze_wasm, hostile_wasm, "panic", ""))
    rc, out, err = run_lfhost("validate", pipeline, cwd=root, timeout=300)
    assert rc == 0, f"validate of the sandbox pipeline failed\nstdout:\n{out}\nstderr:\n{err}"


@pytest.mark.parametrize("behaviour", list(BEHAVIOURS))
def test_hostile_plugin_fails_only_its_table(behaviour, warm_cache, workspace, run_lfhost, bronze_wasm, hostile_wasm):
    limits, phrases = BEHAVIOURS[behaviour]
    root, land, lake = workspace, workspace / "landing", workspace / "lake"
    pipeline = root / "pipeline.toml"
    pipeline.write_text(_pipeline_text(bronze_wasm, hostile_wasm, behaviour, limits))
    written = landing.generate(land, batches=1, seed=31, rows=20)
    for path in written:  # only customers are needed
        if path.parent.name != "customers":
            path.unlink()
    dummy = land / "evil" / "dummy.txt"
    dummy.parent.mkdir()
    dummy.write_text("anything\n")

    started = time.monotonic()
    rc, out, err = run_lfhost("run", pipeline, cwd=root, timeout=60)
    elapsed = time.monotonic() - started
    context = f"\nexit {rc} after {elapsed:.1f}s\nstdout:\n{out}\nstderr:\n{err}"

    assert rc == 1, "the run must fail with exit code 1" + context
    assert elapsed < 30, "the run took too long" + context
    host_panics = [l for l in err.splitlines() + out.splitlines() if HOST_PANIC.match(l)]
    assert not host_panics, f"the host itself panicked: {host_panics}" + context
    for crash in ("the flow crashed", "the flow's thread failed", "the writer task failed"):
        assert crash not in out, f"the host reports `{crash}`" + context

    errors = [l for l in out.splitlines() if l.startswith("error: table `")]
    evil = [l for l in errors if l.startswith("error: table `evil`: ")]
    assert len(errors) == 1 and len(evil) == 1, "expected exactly one error line, for table `evil`" + context
    message = evil[0]
    for alternatives in phrases:
        assert any(p in message for p in alternatives), f"the error lacks {' or '.join(map(repr, alternatives))}" + context

    if behaviour == "loop":
        assert elapsed >= 2, "a 2 s CPU limit stopped the loop too early" + context

    assert delta_version(lake / "evil") is None, "the failed table committed"
    files = oracle.source_files(land, "bronze_customers")
    assert len(files) == 3
    helpers.compare_bronze(read_delta(lake / "bronze_customers"), "bronze_customers", files, "deltalake")

    events = helpers.event_log(read_delta, lake)
    flows = helpers.flow_events(events, helpers.new_run_id(events, set()))
    assert flows["evil"]["details_json"].get("status") == "FAILED", flows["evil"]
    assert flows["bronze_customers"]["details_json"].get("status") == "COMPLETED", flows["bronze_customers"]
    assert flows["bronze_customers"]["details_json"].get("num_output_rows") == len(
        oracle.expected_rows("bronze_customers", files)
    )
