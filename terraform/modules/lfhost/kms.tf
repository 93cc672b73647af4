# The customer managed key that encrypts every object of the data bucket.

resource "aws_kms_key" "main" {
  description             = "lfhost: SSE-KMS key of s3://${var.bucket_name}"
  key_usage               = "ENCRYPT_DECRYPT"
  enable_key_rotation     = true
  rotation_period_in_days = var.kms_rotation_period_in_days
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = var.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The account manages the key and grants its use through IAM policies
        # (the pipeline policies grant Decrypt and GenerateDataKey on it).
        # Without this statement the key could become unmanageable.
        Sid       = "AccountAdministersKeyThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # Pipeline roles may use the key only through S3 in this region: their
        # credentials cannot decrypt data keys or anything else directly.
        Sid       = "PipelineRolesUseKeyOnlyThroughS3"
        Effect    = "Deny"
        Principal = "*"
        Action    = "kms:*"
        Resource  = "*"
        Condition = {
          ArnEquals       = { "aws:PrincipalArn" = [for role in aws_iam_role.pipeline : role.arn] }
          StringNotEquals = { "kms:ViaService" = "s3.${local.region}.${local.dns_suffix}" }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "main" {
  name          = "alias/${var.name_prefix}-${replace(var.bucket_name, ".", "-")}"
  target_key_id = aws_kms_key.main.key_id
}
