output "bucket" {
  description = "Name of the data bucket (landing files and Delta tables)."
  value       = module.lfhost.bucket
}

output "log_bucket" {
  description = "Name of the access-log bucket."
  value       = module.lfhost.log_bucket
}

output "region" {
  description = "Region for lfhost's [storage] table."
  value       = module.lfhost.region
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the data bucket."
  value       = module.lfhost.kms_key_arn
}

output "role_arns" {
  description = "By pipeline: the role_arn of its [storage] table."
  value       = module.lfhost.role_arns
}

output "runner_role_arns" {
  description = "By pipeline: the compute identity that may assume its role."
  value       = module.lfhost.runner_role_arns
}

output "instance_profile_names" {
  description = "By pipeline: its EC2 instance profile (compute_platform \"ec2\")."
  value       = module.lfhost.instance_profile_names
}

output "eks_service_accounts" {
  description = "By pipeline: its service account and the role to annotate it with (compute_platform \"eks\")."
  value       = module.lfhost.eks_service_accounts
}

output "lfhost_config" {
  description = "By pipeline: TOML for its pipelines.toml (landing and lake variables, [storage] table)."
  value       = module.lfhost.lfhost_config
}
