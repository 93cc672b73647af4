# Two roles per pipeline:
#
# - the runner role is the identity of the compute that runs lfhost (an EC2
#   instance profile, an ECS task role, or an EKS service account). Its only
#   permission is to assume its pipeline's role.
# - the pipeline role is the `role_arn` of lfhost's [storage] table. lfhost
#   assumes it with STS, using the runner's credentials from the standard AWS
#   chain. It may read its landing prefix, read and write its lake prefix, use
#   the bucket key through S3, and nothing else. Only its runner may assume it.

locals {
  pipelines = {
    for name, p in var.pipelines : name => {
      landing_prefix      = p.landing_prefix
      lake_prefix         = p.lake_prefix
      eks_service_account = coalesce(p.eks_service_account, "${var.name_prefix}-${name}")
    }
  }

  # "oidc.eks.<region>.amazonaws.com/id/<id>" out of the provider's ARN.
  oidc_issuer = try(split(":oidc-provider/", var.eks_oidc_provider_arn)[1], "")

  # Who may use each runner role, for the chosen compute platform.
  runner_trust = {
    for name, p in local.pipelines : name => {
      ec2 = {
        Sid       = "Ec2InstancesAssumeRunnerRole"
        Effect    = "Allow"
        Principal = { Service = data.aws_service_principal.ec2.name }
        Action    = "sts:AssumeRole"
      }
      ecs = {
        Sid       = "EcsTasksAssumeRunnerRole"
        Effect    = "Allow"
        Principal = { Service = data.aws_service_principal.ecs_tasks.name }
        Action    = "sts:AssumeRole"
        Condition = {
          ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:*" }
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      }
      eks = {
        Sid       = "ServiceAccountAssumesRunnerRole"
        Effect    = "Allow"
        Principal = { Federated = var.eks_oidc_provider_arn }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "${local.oidc_issuer}:sub" = "system:serviceaccount:${var.eks_namespace}:${p.eks_service_account}"
            "${local.oidc_issuer}:aud" = "sts.amazonaws.com"
          }
        }
      }
    }[var.compute_platform]
  }
}

# ----------------------------------------------------------- runner roles --

resource "aws_iam_role" "runner" {
  for_each = local.pipelines

  name                 = "${var.name_prefix}-${each.key}-runner"
  description          = "lfhost runner of pipeline ${each.key} (${var.compute_platform}): may only assume ${var.name_prefix}-${each.key}."
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags

  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.runner_trust[each.key]]
  })
}

resource "aws_iam_role_policy" "runner" {
  for_each = local.pipelines

  name = "assume-pipeline-role"
  role = aws_iam_role.runner[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "AssumePipelineRole"
        Effect   = "Allow"
        Action   = "sts:AssumeRole"
        Resource = aws_iam_role.pipeline[each.key].arn
      },
    ]
  })
}

resource "aws_iam_instance_profile" "runner" {
  for_each = var.compute_platform == "ec2" ? local.pipelines : {}

  name = "${var.name_prefix}-${each.key}-runner"
  role = aws_iam_role.runner[each.key].name
  tags = var.tags
}

# --------------------------------------------------------- pipeline roles --

resource "aws_iam_role" "pipeline" {
  for_each = local.pipelines

  name                 = "${var.name_prefix}-${each.key}"
  description          = "lfhost pipeline ${each.key}: reads its landing prefix and reads and writes its lake prefix in s3://${var.bucket_name}."
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "RunnerAssumesPipelineRole"
        Effect    = "Allow"
        Principal = { AWS = aws_iam_role.runner[each.key].arn }
        Action    = "sts:AssumeRole"
      },
    ]
  })
}

# The policy document is policies/pipeline-access.json.tftpl, the file the
# tests render and check too.
resource "aws_iam_policy" "pipeline" {
  for_each = local.pipelines

  name        = "${var.name_prefix}-${each.key}-access"
  description = "lfhost pipeline ${each.key}: its landing prefix read-only, its lake prefix read-write, the bucket key through S3."
  tags        = var.tags

  policy = templatefile("${path.module}/policies/pipeline-access.json.tftpl", {
    partition      = local.partition
    bucket         = aws_s3_bucket.main.bucket
    landing_prefix = each.value.landing_prefix
    lake_prefix    = each.value.lake_prefix
    kms_key_arn    = aws_kms_key.main.arn
  })
}

resource "aws_iam_role_policy_attachment" "pipeline" {
  for_each = local.pipelines

  role       = aws_iam_role.pipeline[each.key].name
  policy_arn = aws_iam_policy.pipeline[each.key].arn
}
