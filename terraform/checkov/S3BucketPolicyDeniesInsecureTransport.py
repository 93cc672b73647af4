"""Custom checkov check: an S3 bucket policy must deny every request not made over TLS.

checkov has no built-in check for this. Loaded through terraform/.checkov.yaml.
"""

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.common.util.type_forcers import force_list
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _denies_insecure_transport(statement: dict) -> bool:
    """A statement that denies every action, to everyone, on the bucket and its objects, without TLS."""
    if statement.get("Effect") != "Deny":
        return False
    principal = statement.get("Principal")
    if principal != "*" and not (isinstance(principal, dict) and force_list(principal.get("AWS")) == ["*"]):
        return False
    if "s3:*" not in force_list(statement.get("Action")):
        return False
    resources = [str(r) for r in force_list(statement.get("Resource"))]
    if not any(r.endswith("/*") for r in resources) or all(r.endswith("/*") for r in resources):
        return False
    secure = statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
    return str(force_list(secure)[0] if secure is not None else "").lower() == "false"


class S3BucketPolicyDeniesInsecureTransport(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the S3 bucket policy denies requests that do not use TLS",
            id="CKV_LFHOST_1",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_s3_bucket_policy"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = ["policy"]
        policy = force_list(conf.get("policy"))
        document = policy[0] if policy else None
        if not isinstance(document, dict):
            return CheckResult.FAILED
        statements = force_list(document.get("Statement"))
        if any(isinstance(s, dict) and _denies_insecure_transport(s) for s in statements):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = S3BucketPolicyDeniesInsecureTransport()
