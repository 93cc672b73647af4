"""`lfhost plan --emit argo|k8s|json`, checked offline: the Kubernetes Jobs
against Kubernetes' own OpenAPI schemas (kubernetes-validate, strict: unknown
fields are errors), the Argo Workflow against hera's pydantic models of the
Argo CRDs, and the DAG each describes against the pipeline's tables."""

from __future__ import annotations

import copy
import json
import re

import kubernetes_validate  # tests/e2e/requirements.txt
import pydantic
import pytest
import yaml
from hera.workflows import models as hera_models  # tests/e2e/requirements.txt

import helpers
import oracle

BRONZE = set(oracle.BRONZE_TABLES)
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
K8S_ARGS = ("--shards", "bronze_orders=3", "--namespace", "lfhost", "--service-account", "lfhost-seed",
            "--image", "registry.example/lfhost:1")  # fmt: skip
ARGO_ARGS = ("--shards", "2", "--service-account", "lfhost-argo")


@pytest.fixture(scope="module")
def plan(run_lfhost, seed_pipeline, tmp_path_factory):
    """plan(emit, *args) -> stdout of a successful `lfhost plan` on the seed."""
    cwd = tmp_path_factory.mktemp("plan")

    def emit(fmt, *args):
        rc, out, err = run_lfhost("plan", seed_pipeline, "--emit", fmt, *args, cwd=cwd, timeout=60)
        assert rc == 0, f"lfhost plan --emit {fmt} {' '.join(args)}: exit {rc}\nstdout:\n{out}\nstderr:\n{err}"
        return out

    return emit


def json_steps(plan, *args) -> list[dict]:
    doc = json.loads(plan("json", *args))
    assert doc["format"] == 1 and doc["pipeline"] == "seed", doc
    return doc["steps"]


def assert_dns_label(name: str):
    assert len(name) <= 63 and DNS_LABEL.match(name), f"{name!r} is not a DNS-1123 label"


# ------------------------------------------------------------------ k8s --


@pytest.fixture(scope="module")
def jobs(plan) -> list[dict]:
    text = plan("k8s", *K8S_ARGS)
    assert text.startswith("---\n"), text[:200]
    docs = list(yaml.safe_load_all(text))
    assert all(isinstance(d, dict) for d in docs), "an empty or scalar document"
    assert text.splitlines().count("---") == len(docs), "a document not preceded by `---`"
    return docs


def k8s_validate(doc: dict) -> str:
    return kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_k8s_jobs_are_valid_kubernetes(jobs):
    version = kubernetes_validate.latest_version()
    assert tuple(int(p) for p in version.split(".")[:2]) >= (1, 30), version
    for job in jobs:
        assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job"), job
        try:
            k8s_validate(job)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            pytest.fail(f"Job {job['metadata']['name']}: {path}: {e.message} (Kubernetes {e.version})")


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda job: job["spec"].update(completions="three"),
        lambda job: job["spec"].update(completionz=3),
        lambda job: job["spec"]["template"]["spec"]["containers"][0].update(args="run"),
        lambda job: job["spec"]["template"]["spec"].pop("containers"),
    ],
    ids=["completions-string", "unknown-field", "args-not-a-list", "no-containers"],
)
def test_k8s_validation_rejects_a_corrupted_job(jobs, corrupt):
    job = copy.deepcopy(next(j for j in jobs if j["spec"].get("completionMode") == "Indexed"))
    k8s_validate(job)  # the original passes...
    corrupt(job)
    with pytest.raises(kubernetes_validate.ValidationError):  # ...the corrupted one does not
        k8s_validate(job)


def test_k8s_jobs_describe_the_dag(jobs):
    tables = helpers.seed_tables()
    names = [j["metadata"]["name"] for j in jobs]
    assert len(jobs) == len(tables) + 1, names  # a Job per table (bronze_orders indexed) and maintain
    assert len(set(names)) == len(names), names
    assert names[-1] == "seed-maintain", names
    for table in tables:
        assert f"seed-{table.replace('_', '-')}" in names, f"no Job for {table}: {names}"

    wave = {}
    for job in jobs:
        meta, spec = job["metadata"], job["spec"]
        name = meta["name"]
        assert_dns_label(name)
        assert meta["namespace"] == "lfhost", name
        pod = spec["template"]["spec"]
        assert pod["serviceAccountName"] == "lfhost-seed" and pod["restartPolicy"] == "Never", name
        [container] = pod["containers"]
        assert_dns_label(container["name"])
        assert container["image"] == "registry.example/lfhost:1", name

        wave[name] = int(meta["labels"]["lfhost.dev/wave"])
        assert spec["template"]["metadata"]["labels"]["lfhost.dev/wave"] == meta["labels"]["lfhost.dev/wave"]
        waits = [w for w in meta["annotations"]["lfhost.dev/waits-for"].split(",") if w]
        for other in waits:
            assert other in wave, f"{name} waits for {other}, which is not an earlier Job"
            assert wave[other] < wave[name], f"{name} (wave {wave[name]}) waits for {other} (wave {wave[other]})"
        if name == "seed-maintain":
            assert sorted(waits) == sorted(names[:-1]), waits

    waves = list(wave.values())
    assert waves == sorted(waves), f"waves decrease in document order: {wave}"

    indexed = [j for j in jobs if j["spec"].get("completionMode") == "Indexed"]
    assert [j["metadata"]["name"] for j in indexed] == ["seed-bronze-orders"], names
    spec = indexed[0]["spec"]
    assert spec["completions"] == 3, spec
    args = spec["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--shard") + 1] == "$(JOB_COMPLETION_INDEX)/3", args
    for job in jobs:
        if job is not indexed[0]:
            assert "--shard" not in job["spec"]["template"]["spec"]["containers"][0]["args"], job["metadata"]


# ----------------------------------------------------------------- argo --


@pytest.fixture(scope="module")
def workflow(plan) -> dict:
    return yaml.safe_load(plan("argo", *ARGO_ARGS))


def argo_validate(doc: dict):
    """Parses the document with hera's Workflow model; a field the model
    drops (unknown to Argo) fails the round trip."""
    model = hera_models.Workflow.model_validate(doc)
    back = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
    if back != doc:
        raise ValueError(f"fields unknown to Argo's Workflow were dropped:\n{doc}\n!=\n{back}")


def test_argo_workflow_is_valid(workflow):
    assert (workflow["apiVersion"], workflow["kind"]) == ("argoproj.io/v1alpha1", "Workflow"), workflow
    argo_validate(workflow)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda wf: wf["spec"]["templates"][1]["retryStrategy"].update(limit={"times": 3}),
        lambda wf: wf["spec"]["templates"][0]["dag"]["tasks"][0].pop("name"),
        lambda wf: wf["spec"]["templates"][1]["retryStrategy"].update(limitt=3),
    ],
    ids=["limit-dict", "task-without-name", "unknown-field"],
)
def test_argo_validation_rejects_a_corrupted_workflow(workflow, corrupt):
    bad = copy.deepcopy(workflow)
    corrupt(bad)
    with pytest.raises((pydantic.ValidationError, ValueError)):
        argo_validate(bad)


def test_argo_dag_matches_the_json_plan(workflow, plan):
    spec = workflow["spec"]
    assert spec["serviceAccountName"] == "lfhost-argo", spec.get("serviceAccountName")
    templates = {t["name"]: t for t in spec["templates"]}
    assert len(templates) == len(spec["templates"]), "two templates share a name"
    dag = templates[spec["entrypoint"]]["dag"]
    tasks = {t["name"]: t.get("dependencies", []) for t in dag["tasks"]}
    assert len(tasks) == len(dag["tasks"]), "two tasks share a name"

    steps = json_steps(plan, "--shards", "2")
    assert tasks == {s["id"]: s["depends_on"] for s in steps}

    for task in dag["tasks"]:
        assert_dns_label(task["name"])
        assert task["template"] in templates, f"task {task['name']}: no template {task['template']}"
    assert sorted(tasks["maintain"]) == sorted(t for t in tasks if t != "maintain")

    # Kahn's algorithm: every task is reached, so there is no cycle.
    pending = {name: set(deps) for name, deps in tasks.items()}
    while ready := [n for n, deps in pending.items() if not deps]:
        for name in ready:
            del pending[name]
        for deps in pending.values():
            deps.difference_update(ready)
    assert not pending, f"the DAG has a cycle through {sorted(pending)}"

    for name, template in templates.items():
        if name == spec["entrypoint"]:
            continue
        retry = template.get("retryStrategy") or {}
        assert retry.get("limit") is not None and retry.get("backoff", {}).get("duration"), f"{name}: {retry}"


# ----------------------------------------------------------------- json --


@pytest.mark.parametrize(
    "shards, counts",
    [((), {}), (("--shards", "2"), dict.fromkeys(BRONZE, 2)),
     (("--shards", "bronze_orders=3", "--shards", "bronze_customers=2"), {"bronze_orders": 3, "bronze_customers": 2})],
    ids=["unsharded", "all-2", "per-table"],
)  # fmt: skip
def test_json_plan_steps(plan, shards, counts):
    steps = json_steps(plan, *shards)
    seen = set()
    for step in steps:
        assert step["id"] not in seen, f"duplicate step {step['id']}"
        for dep in step["depends_on"]:
            assert dep in seen, f"{step['id']} depends on {dep}, which does not come before it"
        seen.add(step["id"])
        assert_dns_label(step["id"])
    assert steps[-1]["kind"] == "maintenance", steps[-1]
    assert sorted(steps[-1]["depends_on"]) == sorted(s["id"] for s in steps[:-1])

    for table in helpers.seed_tables():
        mine = [s for s in steps if s["kind"] == "table" and s["tables"] == [table]]
        expected = counts.get(table, 1)
        assert len(mine) == expected, f"{table}: {len(mine)} step(s), expected {expected}"
        if table not in BRONZE or expected == 1:
            assert all("shard" not in s and "--shard" not in s["args"] for s in mine), mine
            continue
        assert sorted(s["shard"]["index"] for s in mine) == list(range(expected)), mine
        for s in mine:
            assert s["shard"]["count"] == expected, s
            i = s["args"].index("--shard")
            assert s["args"][i + 1] == f"{s['shard']['index']}/{expected}", s["args"]


@pytest.mark.parametrize(
    "shards, needle",
    [("silver_orders=2", "silver_orders"), ("0", "--shards"), ("bronze_orders=0", "--shards")],
)
def test_bad_shards_are_refused(run_lfhost, seed_pipeline, tmp_path, shards, needle):
    for fmt in ("json", "k8s"):
        rc, out, err = run_lfhost("plan", seed_pipeline, "--emit", fmt, "--shards", shards, cwd=tmp_path, timeout=60)
        assert rc == 2, f"--shards {shards}: exit {rc}\nstdout:\n{out}\nstderr:\n{err}"
        assert needle in err, err
        assert not out.strip(), f"a refused plan printed:\n{out}"
