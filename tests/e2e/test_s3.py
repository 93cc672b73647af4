"""The seed pipeline with its landing files and lake on S3, against moto's
S3 + IAM + STS server with IAM enforced: lfhost assumes the pipeline role
(whose policy is rendered from terraform/'s template) with a runner key that
may do nothing else."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pyarrow as pa  # noqa: F401  (before deltalake, see conftest)
import deltalake
import pytest

import helpers
import s3_emulator
from s3_emulator import Emulator, FaultyProxy, Keys, comparable, pipeline_text, runner_env, storage_options

REPO = Path(__file__).resolve().parents[2]
LANDING = REPO / "data" / "landing"
BUCKET = "lfhost-lake"
LANDING_PREFIX = "team-a/landing"
LAKE_PREFIX = "team-a/lake"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emulator = Emulator(Path(tmp_path_factory.mktemp("moto")))
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def tenant(emulator, warm_seed_plugins):
    """(Plugins compiled first, so that timed runs do not include Cranelift.)"""
    tenant = s3_emulator.provision(emulator, BUCKET, LANDING_PREFIX, LAKE_PREFIX)
    assert s3_emulator.upload_tree(emulator, LANDING, BUCKET, LANDING_PREFIX) > 0
    return tenant


@pytest.fixture(scope="module")
def s3_pipeline(tmp_path_factory) -> Path:
    path = Path(tmp_path_factory.mktemp("s3-pipeline")) / "pipelines.toml"
    path.write_text(pipeline_text())
    return path


@pytest.fixture(scope="module")
def fragile_pipeline(tmp_path_factory) -> Path:
    """Gives up quickly on network errors, so a fault test does not wait
    out the default three minutes of retries."""
    path = Path(tmp_path_factory.mktemp("s3-fragile")) / "pipelines.toml"
    path.write_text(pipeline_text("max_retries = 1\nretry_timeout_seconds = 3\n"))
    return path


def run_on_s3(run_lfhost, pipeline, tenant, env, lake: str, endpoint: str, timeout=180):
    started = time.monotonic()
    rc, out, err = run_lfhost(
        "run",
        pipeline,
        "--var",
        f"landing=s3://{BUCKET}/{LANDING_PREFIX}",
        "--var",
        f"lake=s3://{BUCKET}/{lake}",
        "--var",
        f"s3_endpoint={endpoint}",
        "--var",
        f"role_arn={tenant.role_arn}",
        cwd=pipeline.parent,
        env=env,
        timeout=timeout,
    )
    return rc, out, err, time.monotonic() - started


@pytest.fixture(scope="module")
def local_tables(run_lfhost, seed_pipeline, tmp_path_factory, warm_seed_plugins) -> dict:
    root = Path(os.path.realpath(tmp_path_factory.mktemp("s3-local-twin")))
    rc, out, err = run_lfhost("run", seed_pipeline, "--var", f"landing={LANDING}", "--var", "lake=lake", cwd=root)
    assert rc == 0, f"local run failed\n{out}\n{err}"
    return {t: comparable(helpers.read_delta(root / "lake" / t), str(LANDING)) for t in helpers.seed_tables()}


def s3_tables(emulator: Emulator, lake: str) -> dict:
    options = storage_options(emulator)
    tables = {}
    for table in helpers.seed_tables():
        data = deltalake.DeltaTable(f"s3://{BUCKET}/{lake}/{table}", storage_options=options).to_pyarrow_table()
        tables[table] = comparable(data, f"s3://{BUCKET}/{LANDING_PREFIX}")
    return tables


def assert_same_tables(actual: dict, expected: dict) -> None:
    for table, rows in expected.items():
        helpers.assert_same_rows(actual[table], rows, f"{table} on S3 vs local")


def delta_logs(emulator: Emulator, lake: str) -> dict[str, bytes]:
    s3 = emulator.client("s3")
    logs = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{lake}/"):
        for item in page.get("Contents", []):
            if "/_delta_log/" in item["Key"] and item["Key"].endswith(".json"):
                logs[item["Key"]] = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return logs


def test_the_seed_pipeline_on_s3_gives_the_local_tables(emulator, tenant, s3_pipeline, run_lfhost, lfhost_env, local_tables):
    env = runner_env(lfhost_env, tenant.runner)
    lake = f"{LAKE_PREFIX}/seed"
    rc, out, err, _ = run_on_s3(run_lfhost, s3_pipeline, tenant, env, lake, emulator.endpoint)
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert_same_tables(s3_tables(emulator, lake), local_tables)
    versions = {k: v for k, v in delta_logs(emulator, lake).items()}
    rc, out, err, _ = run_on_s3(run_lfhost, s3_pipeline, tenant, env, lake, emulator.endpoint)
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    new_logs = set(delta_logs(emulator, lake)) - set(versions)
    assert all("/_event_log/" in k for k in new_logs), f"a run with nothing new committed: {sorted(new_logs)}"
    for secret in (tenant.runner.secret, emulator.admin.secret):
        assert secret not in out + err


def test_a_write_outside_the_lake_prefix_is_denied_at_once(emulator, tenant, s3_pipeline, run_lfhost, lfhost_env):
    env = runner_env(lfhost_env, tenant.runner)
    rc, out, err, elapsed = run_on_s3(run_lfhost, s3_pipeline, tenant, env, "team-b/lake", emulator.endpoint)
    said = out + err
    assert rc != 0, said
    assert "panicked" not in said, said
    assert re.search(r"403|AccessDenied|Forbidden", said), said
    assert "team-b/lake" in said, f"the error does not name the location:\n{said}"
    assert elapsed < 60, f"took {elapsed:.0f} s: a denied write must not be retried"
    assert not delta_logs(emulator, "team-b/lake")


@pytest.mark.parametrize(
    "keys, reason",
    [
        ("wrong-secret", r"SignatureDoesNotMatch|signature"),
        ("unknown-key", r"InvalidClientTokenId|security token|not valid|403"),
    ],
)
def test_bad_credentials_fail_clearly(emulator, tenant, s3_pipeline, run_lfhost, lfhost_env, keys, reason):
    bad = Keys(tenant.runner.key_id, "not-the-secret") if keys == "wrong-secret" else Keys("AKIAEXPIREDORUNKNOWN", "x")
    env = runner_env(lfhost_env, bad)
    rc, out, err, elapsed = run_on_s3(run_lfhost, s3_pipeline, tenant, env, f"{LAKE_PREFIX}/bad-{keys}", emulator.endpoint)
    said = out + err
    assert rc != 0, said
    assert "panicked" not in said, said
    assert "assuming role" in said and tenant.role_arn in said, said
    assert re.search(reason, said, re.IGNORECASE), said
    assert "not-the-secret" not in said
    assert elapsed < 60, f"took {elapsed:.0f} s"


def test_a_network_fault_mid_upload_leaves_no_half_commit(
    emulator, tenant, fragile_pipeline, run_lfhost, lfhost_env, local_tables
):
    env = runner_env(lfhost_env, tenant.runner)
    proxy = FaultyProxy(emulator.port)
    try:
        # How much a whole run uploads, measured on a lake of its own.
        rc, out, err, _ = run_on_s3(run_lfhost, fragile_pipeline, tenant, env, f"{LAKE_PREFIX}/measure", proxy.endpoint)
        assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
        total = proxy.sent
        assert total > 10_000, total

        lake = f"{LAKE_PREFIX}/fault"
        proxy.cut_after(total // 2)
        rc, out, err, _ = run_on_s3(run_lfhost, fragile_pipeline, tenant, env, lake, proxy.endpoint)
        assert rc != 0, f"the run did not notice the fault\n{out}\n{err}"
        assert "panicked" not in out + err
        for key, body in delta_logs(emulator, lake).items():
            for line in body.decode().splitlines():
                json.loads(line)  # every visible commit is whole

        proxy.restore()
        rc, out, err, _ = run_on_s3(run_lfhost, fragile_pipeline, tenant, env, lake, proxy.endpoint)
        assert rc == 0, f"the re-run failed\nstdout:\n{out}\nstderr:\n{err}"
        assert_same_tables(s3_tables(emulator, lake), local_tables)
    finally:
        proxy.close()


def test_credentials_from_a_shared_profile(emulator, tenant, s3_pipeline, run_lfhost, lfhost_env, local_tables, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = nope\n\n"
        f"[lfhost-runner]\naws_access_key_id = {tenant.runner.key_id}\n"
        f"aws_secret_access_key = {tenant.runner.secret}\n"
    )
    env = {k: v for k, v in lfhost_env.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(credentials), AWS_PROFILE="lfhost-runner", HOME=str(tmp_path))
    lake = f"{LAKE_PREFIX}/profile"
    rc, out, err, _ = run_on_s3(run_lfhost, s3_pipeline, tenant, env, lake, emulator.endpoint)
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert_same_tables(s3_tables(emulator, lake), local_tables)


def test_concurrent_runs_on_one_lake_lose_and_duplicate_nothing(
    emulator, tenant, s3_pipeline, lfhost_bin, run_lfhost, lfhost_env, local_tables
):
    """Two processes commit to the same tables at once: conditional put lets
    one commit each version; the other fails or retries, never overwrites."""
    env = runner_env(lfhost_env, tenant.runner)
    lake = f"{LAKE_PREFIX}/concurrent"
    args = [
        str(lfhost_bin),
        "run",
        str(s3_pipeline),
        "--var",
        f"landing=s3://{BUCKET}/{LANDING_PREFIX}",
        "--var",
        f"lake=s3://{BUCKET}/{lake}",
        "--var",
        f"s3_endpoint={emulator.endpoint}",
        "--var",
        f"role_arn={tenant.role_arn}",
    ]
    runs = [
        subprocess.Popen(args, cwd=s3_pipeline.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=180), *p.communicate()) for p in runs]
    for rc, out, err in results:
        said = out + err
        assert "panicked" not in said, said
        # Losing a race fails the flow with a commit error (exit 1), no worse.
        assert rc in (0, 1), said
        if rc == 1:
            assert re.search(r"commit failed|already exists|conflict", said, re.IGNORECASE), said
    # Whatever lost a race is finished by the next run.
    rc, out, err, _ = run_on_s3(run_lfhost, s3_pipeline, tenant, env, lake, emulator.endpoint)
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert_same_tables(s3_tables(emulator, lake), local_tables)



def test_validate_and_graph_show_no_secret(emulator, tenant, s3_pipeline, run_lfhost, lfhost_env):
    env = runner_env(lfhost_env, tenant.runner)
    common = ("--var", f"lake=s3://{BUCKET}/{LAKE_PREFIX}/x", "--var", f"role_arn={tenant.role_arn}")
    for command in (("validate",), ("graph",), ("graph", "--format", "dot")):
        rc, out, err = run_lfhost(*command, s3_pipeline, *common, cwd=s3_pipeline.parent, env=env)
        assert rc == 0, f"{command}: {out}\n{err}"
        for secret in (tenant.runner.secret, emulator.admin.secret):
            assert secret not in out + err, command


def test_a_tenant_runs_with_its_own_role(emulator, tenant, run_lfhost, lfhost_env, local_tables, tmp_path):
    """The platform file gives the tenant its role; the pipeline names none."""
    pipeline = tmp_path / "pipelines.toml"
    pipeline.write_text(pipeline_text().replace("[pipeline]\n", '[pipeline]\ntenant = "team_a"\n', 1))
    platform = tmp_path / "tenants.toml"
    lake = f"{LAKE_PREFIX}/tenant"
    platform.write_text(
        f'[tenants.team_a]\nnamespace = "acme.team_a"\nstorage = "s3://{BUCKET}/{lake}"\nrole_arn = "{tenant.role_arn}"\n'
    )
    env = runner_env(lfhost_env, tenant.runner)
    rc, out, err = run_lfhost(
        "run", "--tenants", platform, pipeline,
        "--var", f"landing=s3://{BUCKET}/{LANDING_PREFIX}", "--var", f"s3_endpoint={emulator.endpoint}",
        cwd=tmp_path, env=env, timeout=180,
    )
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert_same_tables(s3_tables(emulator, lake), local_tables)
