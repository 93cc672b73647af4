"""`lfhost run --tenants`: several tenants' pipelines in one process, each in
its own storage, under its quotas, with only its allowed plugins; one
tenant's hostile plugin fails alone."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

import pytest

import conftest
import helpers
import landing

PIPELINE = """\
[pipeline]
name = "{name}"
tenant = "{tenant}"
lake = "ignored-under-tenants"

[plugins]
bronze = {{ path = "{bronze}" }}
hostile = {{ path = "{hostile}" }}

[tables.bronze_customers]
plugin = "bronze"
source = {{ path = "landing/customers", pattern = "*.csv" }}

""" + helpers.CUSTOMERS_OPTIONS_TEMPLATE

EVIL = """
[tables.evil]
plugin = "hostile"
source = { path = "landing/evil", pattern = "*.txt" }
options = { behaviour = "memory_bomb" }
limits = { memory_mib = 1024 }
"""

PLATFORM = """\
[tenants.sales]
namespace = "acme.sales"
storage = "lakes/sales"
plugins = [{sales_plugins}]

[tenants.sales.quotas]
max_instances = 1

[tenants.ops]
namespace = "acme.ops"
storage = "lakes/ops"

[tenants.ops.quotas]
memory_mib = 64
cpu_seconds = 20
"""


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def platform(workspace: Path, bronze_wasm, hostile_wasm) -> Path:
    land = workspace / "landing"
    for path in landing.generate(land, batches=1, seed=5, rows=20):
        if path.parent.name != "customers":
            path.unlink()
    (land / "evil").mkdir()
    (land / "evil" / "a.txt").write_text("1\n")
    common = dict(bronze=os.fspath(bronze_wasm), hostile=os.fspath(hostile_wasm))
    (workspace / "sales.toml").write_text(PIPELINE.format(name="sales_pipeline", tenant="sales", **common))
    (workspace / "ops.toml").write_text(PIPELINE.format(name="ops_pipeline", tenant="ops", **common) + EVIL)
    path = workspace / "tenants.toml"
    path.write_text(PLATFORM.format(sales_plugins=f'"{digest(bronze_wasm)}", "sha256:{digest(hostile_wasm)}"'))
    return path


def customers_rows(lake: Path) -> list[dict]:
    rows = helpers.table_rows(helpers.read_delta(lake / "bronze_customers"))
    for row in rows:
        row.pop("_ingested_at")
    return rows


def test_a_hostile_tenant_fails_alone_and_the_other_gets_its_solo_tables(workspace, platform, run_lfhost):
    rc, out, err = run_lfhost("run", "--tenants", platform, "sales.toml", "ops.toml", cwd=workspace)
    said = out + err
    assert rc == 1, said
    assert "== tenant sales (acme.sales): pipeline sales_pipeline" in out, out
    assert "== tenant ops (acme.ops): pipeline ops_pipeline" in out, out
    # The ops quota (64 MiB) caps the table's own 1024 MiB.
    assert "error: tenant `ops`: table `evil`: plugin hostile 0.1.0" in out, said
    assert "exceeded its memory limit of 64 MiB" in out, said
    assert "panicked" not in said
    # Each tenant's tables are in its own storage; the pipelines' own lake is unused.
    sales, ops = workspace / "lakes" / "sales", workspace / "lakes" / "ops"
    assert helpers.delta_version(sales / "bronze_customers") == 0
    assert helpers.delta_version(ops / "bronze_customers") == 0
    assert helpers.delta_version(ops / "evil") is None
    assert not (workspace / "ignored-under-tenants").exists()

    solo = workspace / "solo"
    solo.mkdir()
    (solo / "tenants.toml").write_text(platform.read_text())
    rc, out, err = run_lfhost("run", "--tenants", solo / "tenants.toml", workspace / "sales.toml", cwd=workspace)
    assert rc == 0, out + err
    helpers.assert_same_rows(
        customers_rows(sales), customers_rows(solo / "lakes" / "sales"), "sales beside a hostile tenant vs alone"
    )
    assert len(customers_rows(sales)) > 0

    events = helpers.table_rows(helpers.read_delta(sales / "_event_log"))
    origins = {json.loads(e["origin"])["tenant"] for e in events}
    assert origins == {"sales"}, origins


def test_a_plugin_the_tenant_may_not_run_is_refused(workspace, platform, run_lfhost, bronze_wasm):
    text = platform.read_text().replace(f'"{digest(bronze_wasm)}", ', "")
    platform.write_text(text)
    rc, out, err = run_lfhost("run", "--tenants", platform, "sales.toml", cwd=workspace)
    assert rc == 2, out + err
    assert f"tenant `sales` may not run plugin `bronze` (sha256 {digest(bronze_wasm)})" in err, err
    assert not (workspace / "lakes").exists(), "nothing may be written"


@pytest.mark.parametrize(
    "case, message",
    [
        ("no-tenant", "the pipeline names no tenant"),
        ("unknown-tenant", "tenant `nobody` is not declared"),
        ("nested", "have nested storage"),
        ("two-without-platform", "run together only as tenants"),
    ],
)
def test_tenant_mistakes_are_clear(workspace, platform, run_lfhost, case, message):
    args = ["run", "--tenants", platform, "sales.toml"]
    if case == "no-tenant":
        path = workspace / "sales.toml"
        path.write_text(path.read_text().replace('tenant = "sales"\n', ""))
    elif case == "unknown-tenant":
        path = workspace / "sales.toml"
        path.write_text(path.read_text().replace('tenant = "sales"', 'tenant = "nobody"'))
    elif case == "nested":
        platform.write_text(platform.read_text().replace('storage = "lakes/ops"', 'storage = "lakes/sales/ops"'))
    else:
        args = ["run", "sales.toml", "ops.toml"]
    rc, out, err = run_lfhost(*args, cwd=workspace)
    assert rc == 2, out + err
    assert message in err, err


READER = """\
[pipeline]
name = "reader"
tenant = "ops"
lake = "ignored"

[plugins]
expectations = {{ path = "{expectations}" }}

[tables.sales_customers_checked]
plugin = "expectations"
inputs = ["acme.sales.bronze_customers"]
options = {{ expectations = [{{ name = "has_id", expr = "customer_id IS NOT NULL", action = "warn" }}] }}
"""


@pytest.fixture
def reader(workspace: Path, platform, run_lfhost) -> Path:
    """Tenant ops reads tenant sales's bronze_customers, which exists."""
    expectations = conftest._built(conftest.WASM_DIR / "expectations.wasm", "the expectations plugin")
    path = workspace / "reader.toml"
    path.write_text(READER.format(expectations=os.fspath(expectations)))
    rc, out, err = run_lfhost("run", "--tenants", platform, "sales.toml", cwd=workspace)
    assert rc == 0, out + err
    return path


def test_another_tenants_table_is_read_only_with_a_grant(workspace, platform, reader, run_lfhost):
    rc, out, err = run_lfhost("run", "--tenants", platform, "reader.toml", cwd=workspace)
    assert rc == 2, out + err
    assert "tenant `ops` may not read `acme.sales.bronze_customers` (tenant `sales`'s)" in err, err
    assert "reader.toml:" in err, "the message names the pipeline file and line"
    assert not (workspace / "lakes" / "ops").exists()

    rc, out, err = run_lfhost("validate", "reader.toml", cwd=workspace)
    assert rc == 2 and "can be read only with --tenants and a grant" in err, out + err

    with platform.open("a") as f:
        f.write('\n[[grants]]\nto = "ops"\nselect = "acme.sales.bronze_customers"\n')
    rc, out, err = run_lfhost("run", "--tenants", platform, "reader.toml", cwd=workspace)
    assert rc == 0, out + err
    read = helpers.table_rows(helpers.read_delta(workspace / "lakes" / "ops" / "sales_customers_checked"))
    source = helpers.table_rows(helpers.read_delta(workspace / "lakes" / "sales" / "bronze_customers"))
    helpers.assert_same_rows(read, source, "ops's copy of sales's table")
    # The grant is to read: sales's table is as it was.
    assert helpers.delta_version(workspace / "lakes" / "sales" / "bronze_customers") == 0


def test_a_tenants_run_deadline_stops_an_endless_plugin(workspace, platform, run_lfhost):
    ops = workspace / "ops.toml"
    ops.write_text(ops.read_text().replace('behaviour = "memory_bomb"', 'behaviour = "loop"'))
    platform.write_text(platform.read_text().replace("cpu_seconds = 20\n", "cpu_seconds = 20\nrun_seconds = 3\n"))
    started = time.monotonic()
    rc, out, err = run_lfhost("run", "--tenants", platform, "ops.toml", cwd=workspace)
    elapsed = time.monotonic() - started
    assert rc == 1, out + err
    assert re.search(r"error: tenant `ops`: table `evil`: .*exceeded its CPU time limit of [123] s", out), out + err
    assert elapsed < 30, f"took {elapsed:.0f} s with a 3 s run deadline"
    assert helpers.delta_version(workspace / "lakes" / "ops" / "bronze_customers") == 0


def test_a_tenants_cpu_budget_for_the_run_is_shared_by_its_flows(workspace, platform, run_lfhost):
    """Two endless plugins, one at a time, 2 s of CPU for the whole run: the
    first uses it up, the second does not start."""
    ops = workspace / "ops.toml"
    text = ops.read_text().replace('behaviour = "memory_bomb"', 'behaviour = "loop"')
    ops.write_text(text + EVIL.replace("[tables.evil]", "[tables.evil_too]").replace("memory_bomb", "loop"))
    platform.write_text(
        platform.read_text().replace("cpu_seconds = 20\n", "cpu_seconds = 20\ncpu_seconds_per_run = 2\nmax_instances = 1\n")
    )
    started = time.monotonic()
    rc, out, err = run_lfhost("run", "--tenants", platform, "ops.toml", cwd=workspace)
    elapsed = time.monotonic() - started
    assert rc == 1, out + err
    errors = [line for line in out.splitlines() if line.startswith("error: tenant `ops`: table `evil")]
    assert len(errors) == 2, out
    assert sum("exceeded its CPU time limit of" in e for e in errors) == 1, errors
    assert sum("CPU budget for the run (cpu_seconds_per_run) is spent" in e for e in errors) == 1, errors
    assert elapsed < 30, f"took {elapsed:.0f} s with 2 s of CPU for the run"
