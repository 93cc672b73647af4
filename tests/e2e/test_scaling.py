"""Scaling out: the plan `lfhost plan --emit json` prints, executed as many
OS processes against one Delta lake on the S3 emulator, the way Argo or
Kubernetes would run it: steps of a wave at once, bronze tables split into
shards, workers killed at every point a flow passes (and at random
moments), a duplicated (zombie) worker, and retries until each step
succeeds. The tables must equal a single-process run's, the maintenance
step must leave no orphan behind, and commit contention is measured."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pyarrow as pa  # noqa: F401  (before deltalake, see conftest)
import deltalake
import pytest

import helpers
import landing
import s3_emulator
from s3_emulator import Emulator, comparable, pipeline_text, runner_env, storage_options

BUCKET = "lfhost-scale"
LANDING_PREFIX = "scale/landing"
SHARDS = 3
# Points a flow passes (host/src/failpoint.rs), where LFHOST_KILL_AT kills it.
KILL_POINTS = ["ingest-before-commit", "transform-before-commit", "merge-before-table-commit", "after-commit"]
MAX_ATTEMPTS = 8


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emulator = Emulator(Path(tmp_path_factory.mktemp("moto-scale")))
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def landing_dir(tmp_path_factory) -> Path:
    """Four batches: 12 customer, 8 address and 8 order files to split."""
    root = Path(os.path.realpath(tmp_path_factory.mktemp("scale-landing")))
    landing.generate(root, batches=4, seed=41, rows=40)
    return root


@pytest.fixture(scope="module")
def tenant(emulator, landing_dir, warm_seed_plugins):
    tenant = s3_emulator.provision(emulator, BUCKET, LANDING_PREFIX, "scale/lake")
    assert s3_emulator.upload_tree(emulator, landing_dir, BUCKET, LANDING_PREFIX) > 0
    return tenant


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Path:
    path = Path(tmp_path_factory.mktemp("scale-pipeline")) / "pipelines.toml"
    path.write_text(pipeline_text())
    return path


@pytest.fixture(scope="module")
def single_process_tables(run_lfhost, seed_pipeline, landing_dir, tmp_path_factory) -> dict:
    root = Path(os.path.realpath(tmp_path_factory.mktemp("scale-reference")))
    rc, out, err = run_lfhost("run", seed_pipeline, "--var", f"landing={landing_dir}", "--var", "lake=lake", cwd=root)
    assert rc == 0, f"single-process run failed\n{out}\n{err}"
    return {t: comparable(helpers.read_delta(root / "lake" / t), str(landing_dir)) for t in helpers.seed_tables()}


class Cluster:
    """Runs an lfhost plan's steps as processes, wave by wave, retrying
    each step until it succeeds, as an orchestrator does."""

    def __init__(self, lfhost_bin: Path, env: dict, admin_env: dict, cwd: Path):
        self.bin, self.env, self.admin_env, self.cwd = str(lfhost_bin), env, admin_env, cwd
        self.lock = threading.Lock()
        self.attempts: list[dict] = []

    def attempt(self, step: dict, kill_at: str | None = None, kill_after: float | None = None) -> int:
        env = dict(self.admin_env if step.get("as_admin") else self.env)
        if kill_at:
            env["LFHOST_KILL_AT"] = kill_at
        process = subprocess.Popen(
            [self.bin, *step["args"]], cwd=self.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        killer = None
        if kill_after is not None:
            killer = threading.Timer(kill_after, lambda: process.poll() is None and process.send_signal(signal.SIGKILL))
            killer.start()
        out, err = process.communicate(timeout=300)
        if killer:
            killer.cancel()
        said = helpers.strip_ansi(out + err)
        assert "panicked" not in said, f"{step['id']} panicked:\n{said}"
        with self.lock:
            self.attempts.append({"step": step["id"], "rc": process.returncode, "said": said, "kill_at": kill_at})
        return process.returncode

    def run_step(self, step: dict, first: dict, duplicate: bool) -> None:
        """The first attempt may die (as `first` says) or run twice at once;
        then retries until one attempt succeeds."""
        if duplicate:
            results = []
            twins = [threading.Thread(target=lambda: results.append(self.attempt(step))) for _ in range(2)]
            for t in twins:
                t.start()
            for t in twins:
                t.join()
            if 0 in results:
                return
        elif self.attempt(step, **first) == 0:
            return
        for _ in range(MAX_ATTEMPTS):
            if self.attempt(step) == 0:
                return
        raise AssertionError(f"step {step['id']} never succeeded:\n" + self.attempts[-1]["said"])

    def run_plan(self, plan: dict, first_attempt, duplicates: set[str] = frozenset()) -> None:
        errors: list[BaseException] = []

        def run(step: dict) -> None:
            try:
                self.run_step(step, first_attempt(step), step["id"] in duplicates)
            except BaseException as e:  # noqa: BLE001  (re-raised below, in the test's thread)
                errors.append(e)

        done: set[str] = set()
        steps = plan["steps"]
        while len(done) < len(steps):
            wave = [s for s in steps if s["id"] not in done and set(s["depends_on"]) <= done]
            assert wave, "the plan has a step whose dependencies never finish"
            threads = [threading.Thread(target=run, args=(s,)) for s in wave]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
            done.update(s["id"] for s in wave)


def s3_vars(emulator: Emulator, tenant, lake: str) -> list[str]:
    pairs = {
        "landing": f"s3://{BUCKET}/{LANDING_PREFIX}",
        "lake": f"s3://{BUCKET}/{lake}",
        "s3_endpoint": emulator.endpoint,
        "role_arn": tenant.role_arn,
    }
    return [arg for k, v in pairs.items() for arg in ("--var", f"{k}={v}")]


def emit_plan(run_lfhost, pipeline: Path, extra: list[str]) -> dict:
    rc, out, err = run_lfhost("plan", pipeline, "--emit", "json", "--shards", str(SHARDS), *extra, cwd=pipeline.parent)
    assert rc == 0, err
    plan = json.loads(out)
    maintain = plan["steps"][-1]
    assert maintain["kind"] == "maintenance"
    # No retention: all workers are done. And moto authorizes the bulk
    # DeleteObjects request that deletes use against the bucket's ARN, not
    # each key's, so the pipeline role (allowed s3:DeleteObject on the lake
    # prefix, which is what AWS checks) is refused there: maintenance runs
    # with the emulator's admin key instead of assuming the role.
    maintain["args"] += ["--retention-hours", "0", "--var", "role_arn="]
    maintain["as_admin"] = True
    return plan


def lake_tables(emulator: Emulator, lake: str) -> dict:
    options = storage_options(emulator)
    return {
        t: comparable(
            deltalake.DeltaTable(f"s3://{BUCKET}/{lake}/{t}", storage_options=options).to_pyarrow_table(),
            f"s3://{BUCKET}/{LANDING_PREFIX}",
        )
        for t in helpers.seed_tables()
    }


def assert_same_tables(actual: dict, expected: dict, label: str) -> None:
    for table, rows in expected.items():
        helpers.assert_same_rows(actual[table], rows, f"{table} ({label}) vs the single-process run")


def objects(emulator: Emulator, prefix: str) -> list[str]:
    s3 = emulator.client("s3")
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def commit_infos(emulator: Emulator, lake: str) -> list[dict]:
    s3 = emulator.client("s3")
    infos = []
    for key in objects(emulator, lake):
        if re.search(r"/_delta_log/\d{20}\.json$", key):
            for line in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines():
                action = json.loads(line)
                if "commitInfo" in action:
                    infos.append(action["commitInfo"])
    return infos


def assert_maintained(emulator: Emulator, lake: str) -> None:
    """No data file outside a table's current version, and only the ingest
    manifests committed versions point at, once maintenance has run."""
    options = storage_options(emulator)
    keys = objects(emulator, lake)
    for table in helpers.seed_tables():
        dt = deltalake.DeltaTable(f"s3://{BUCKET}/{lake}/{table}", storage_options=options)
        active = {uri.removeprefix(f"s3://{BUCKET}/") for uri in dt.file_uris()}
        data = [k for k in keys if re.match(rf"{re.escape(lake)}/{table}/[^_/][^/]*\.parquet$", k)]
        orphans = [k for k in data if k not in active]
        assert not orphans, f"{table}: files no version references survived maintenance: {orphans}"
        manifests = [k for k in keys if k.startswith(f"{lake}/{table}/_lfhost/ingest-")]
        if table.startswith("bronze_"):
            # One per shard that committed: the killed and losing runs' are gone.
            assert 1 <= len(manifests) <= SHARDS, f"{table}: {manifests}"
        checkpoints = [k for k in keys if k.startswith(f"{lake}/{table}/_delta_log/") and "checkpoint" in k]
        assert checkpoints, f"{table}: maintenance wrote no checkpoint"


def finish_and_check(run_lfhost, emulator, tenant, pipeline, lake, expected, env, label) -> None:
    assert_same_tables(lake_tables(emulator, lake), expected, label)
    assert_maintained(emulator, lake)
    # A single-process run afterwards finds nothing left to do.
    rc, out, err = run_lfhost("run", pipeline, *s3_vars(emulator, tenant, lake), cwd=pipeline.parent, env=env, timeout=300)
    assert rc == 0, out + err
    assert not re.search(r"^\S+\s+done\s", out, re.M), f"a re-run after the plan still found work:\n{out}"
    assert_same_tables(lake_tables(emulator, lake), expected, label + ", re-run")


def contention(cluster: Cluster, emulator: Emulator, lake: str) -> dict:
    """Commits in the lake, and from the workers' logs: commits that moved
    past other writers' (and how many times), creations lost to another
    writer, and commits lost outright (a duplicate's, or a rewriting
    table's when its version was taken)."""
    said = "\n".join(a["said"] for a in cluster.attempts)
    retries = [int(n) for n in re.findall(r"after (\d+) retries past other writers", said)]
    lost = [a for a in cluster.attempts if a["rc"] == 1 and re.search(r"commit failed|committed first", a["said"])]
    return {
        "commits": len(commit_infos(emulator, lake)),
        "retried_commits": len(retries),
        "retries": sum(retries),
        "max_retries": max(retries, default=0),
        "creations_lost_then_appended": len(re.findall(r"created the table first", said)),
        "attempts": len(cluster.attempts),
        "lost_commits": len(lost),
    }


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_worker_killed_at_any_point_loses_and_duplicates_nothing(
    point, emulator, tenant, pipeline, lfhost_bin, run_lfhost, lfhost_env, single_process_tables
):
    """Every step's first attempt dies at `point` (where the step passes it)."""
    lake = f"scale/lake/killed-{point}"
    env = runner_env(lfhost_env, tenant.runner)
    plan = emit_plan(run_lfhost, pipeline, s3_vars(emulator, tenant, lake))
    cluster = Cluster(lfhost_bin, env, runner_env(lfhost_env, emulator.admin), pipeline.parent)
    cluster.run_plan(plan, lambda step: {"kill_at": point} if step["kind"] == "table" else {})
    died = [a for a in cluster.attempts if a["rc"] != 0 and "dying here on purpose" in a["said"]]
    assert died, f"no step passed {point}"
    finish_and_check(run_lfhost, emulator, tenant, pipeline, lake, single_process_tables, env, f"killed at {point}")


def test_random_kills_and_a_zombie_worker_end_like_one_process(
    emulator, tenant, pipeline, lfhost_bin, run_lfhost, lfhost_env, single_process_tables, tmp_path
):
    """Random SIGKILLs, a bronze shard and a rewriting table each run by two
    workers at once, retries: the same tables; contention is written out."""
    lake = "scale/lake/chaos"
    env = runner_env(lfhost_env, tenant.runner)
    plan = emit_plan(run_lfhost, pipeline, s3_vars(emulator, tenant, lake))
    rng = random.Random(20261127)

    def first_attempt(step):
        roll = rng.random()
        if roll < 0.4:
            return {"kill_after": rng.uniform(0.05, 1.5)}
        if roll < 0.6:
            return {"kill_at": rng.choice(KILL_POINTS)}
        return {}

    zombies = {"bronze-orders-shard-1-of-3", "silver-orders"}
    assert zombies <= {s["id"] for s in plan["steps"]}
    cluster = Cluster(lfhost_bin, env, runner_env(lfhost_env, emulator.admin), pipeline.parent)
    cluster.run_plan(plan, first_attempt, duplicates=zombies)
    assert any(a["rc"] == -signal.SIGKILL for a in cluster.attempts), "no worker was killed"
    for zombie in zombies:
        assert sum(a["step"] == zombie for a in cluster.attempts) >= 2, f"{zombie} did not run twice"
    for attempt in cluster.attempts:
        if attempt["step"] in zombies and attempt["rc"] == 1:
            # A zombie loses its commit, saying so; it never half-applies.
            assert re.search(r"commit failed|committed first", attempt["said"]), attempt["said"]
    figures = contention(cluster, emulator, lake)
    out = Path(os.environ.get("LFHOST_SCALING_FIGURES", tmp_path / "scaling-figures.json"))
    out.write_text(json.dumps(figures, indent=2))
    print("commit contention:", figures)
    assert figures["commits"] > len(plan["steps"])
    finish_and_check(run_lfhost, emulator, tenant, pipeline, lake, single_process_tables, env, "random kills")


def test_shards_committing_at_once_move_past_each_other(
    emulator, tenant, pipeline, lfhost_bin, run_lfhost, lfhost_env, single_process_tables, tmp_path
):
    """Eight shards of one bronze table started together: each rebases past
    the others' commits (they record different application ids) instead of
    failing, and the table holds every file once."""
    lake = "scale/lake/contention"
    env = runner_env(lfhost_env, tenant.runner)
    shards = 8
    rc, out, err = run_lfhost(
        "plan", pipeline, "--emit", "json", "--shards", f"bronze_customers={shards}",
        *s3_vars(emulator, tenant, lake), cwd=pipeline.parent,
    )
    assert rc == 0, err
    steps = [s for s in json.loads(out)["steps"] if s["tables"] == ["bronze_customers"]]
    assert len(steps) == shards
    cluster = Cluster(lfhost_bin, env, env, pipeline.parent)
    start = threading.Barrier(shards)
    results = []

    def worker(step):
        start.wait()
        results.append(cluster.attempt(step))

    threads = [threading.Thread(target=worker, args=(s,)) for s in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [0] * shards, "\n\n".join(a["said"] for a in cluster.attempts if a["rc"])
    figures = contention(cluster, emulator, f"{lake}/bronze_customers")
    # A shard that owns none of the files has nothing to commit.
    working = sum(bool(re.search(r"^bronze_customers\s+done\s", a["said"], re.M)) for a in cluster.attempts)
    assert working >= shards // 2 and figures["commits"] == working, figures
    out_file = Path(os.environ.get("LFHOST_CONTENTION_FIGURES", tmp_path / "contention.json"))
    out_file.write_text(json.dumps(figures, indent=2))
    print("shards committing at once:", figures)
    options = storage_options(emulator)
    table = deltalake.DeltaTable(f"s3://{BUCKET}/{lake}/bronze_customers", storage_options=options)
    helpers.assert_same_rows(
        comparable(table.to_pyarrow_table(), f"s3://{BUCKET}/{LANDING_PREFIX}"),
        single_process_tables["bronze_customers"],
        "bronze_customers from 8 shards at once",
    )
