output "bucket" {
  description = "Name of the data bucket (landing files and Delta tables)."
  value       = aws_s3_bucket.main.bucket
}

output "bucket_arn" {
  description = "ARN of the data bucket."
  value       = aws_s3_bucket.main.arn
}

output "log_bucket" {
  description = "Name of the bucket that receives the data bucket's access logs."
  value       = aws_s3_bucket.logs.bucket
}

output "region" {
  description = "Region of the buckets, the key and lfhost's [storage] table."
  value       = local.region
}

output "kms_key_arn" {
  description = "ARN of the customer managed KMS key that encrypts the data bucket."
  value       = aws_kms_key.main.arn
}

output "role_arns" {
  description = "By pipeline: ARN of the role lfhost assumes (the role_arn of its [storage] table)."
  value       = { for name, role in aws_iam_role.pipeline : name => role.arn }
}

output "runner_role_arns" {
  description = "By pipeline: ARN of the compute identity that runs lfhost and may assume the pipeline role (ECS task role; on EKS, the eks.amazonaws.com/role-arn annotation of the service account)."
  value       = { for name, role in aws_iam_role.runner : name => role.arn }
}

output "instance_profile_names" {
  description = "By pipeline: the EC2 instance profile of its runner role (empty unless compute_platform is \"ec2\")."
  value       = { for name, profile in aws_iam_instance_profile.runner : name => profile.name }
}

output "eks_service_accounts" {
  description = "By pipeline: the Kubernetes service account that may use its runner role (empty unless compute_platform is \"eks\")."
  value = var.compute_platform == "eks" ? {
    for name, p in local.pipelines : name => {
      namespace       = var.eks_namespace
      service_account = p.eks_service_account
      role_arn        = aws_iam_role.runner[name].arn
    }
  } : {}
}

output "lfhost_config" {
  description = "By pipeline: TOML for its pipelines.toml, the landing and lake variables and the [storage] table."
  value = {
    for name, p in local.pipelines : name => templatefile("${path.module}/templates/lfhost-config.toml.tftpl", {
      pipeline       = name
      bucket         = aws_s3_bucket.main.bucket
      landing_prefix = p.landing_prefix
      lake_prefix    = p.lake_prefix
      region         = local.region
      role_arn       = aws_iam_role.pipeline[name].arn
    })
  }
}
