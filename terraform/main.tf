# Root configuration: the AWS provider and one instance of the lfhost module.
# Apply it as described in README.md; tune the module's other inputs
# (retention, KMS, permissions boundary, ...) here.

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

module "lfhost" {
  source = "./modules/lfhost"

  bucket_name           = var.bucket_name
  log_bucket_name       = var.log_bucket_name
  pipelines             = var.pipelines
  compute_platform      = var.compute_platform
  eks_oidc_provider_arn = var.eks_oidc_provider_arn
  eks_namespace         = var.eks_namespace
}
