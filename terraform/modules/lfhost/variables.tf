variable "bucket_name" {
  description = "Name of the S3 bucket that holds the landing files and the Delta lake of every pipeline."
  type        = string

  validation {
    condition = alltrue(flatten([
      for name in [var.bucket_name] : [
        can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", name)),
        !strcontains(name, ".."),
        !can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+$", name)),
        !can(regex("^(xn--|sthree-|amzn-s3-demo-)", name)),
        !can(regex("(-s3alias|--ol-s3|--x-s3|--table-s3)$", name)),
      ]
    ]))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, no \"..\", not an IP address, no reserved prefix (xn--, sthree-, amzn-s3-demo-) or suffix (-s3alias, --ol-s3, --x-s3, --table-s3)."
  }
}

variable "log_bucket_name" {
  description = "Name of the separate bucket that receives the S3 server access logs of the data bucket. Default: \"<bucket_name>-logs\"."
  type        = string
  default     = null

  # The same rules as bucket_name, checked on the name that will be used.
  validation {
    condition = alltrue(flatten([
      for name in [coalesce(var.log_bucket_name, "${var.bucket_name}-logs")] : [
        can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", name)),
        !strcontains(name, ".."),
        !can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+$", name)),
        !can(regex("^(xn--|sthree-|amzn-s3-demo-)", name)),
        !can(regex("(-s3alias|--ol-s3|--x-s3|--table-s3)$", name)),
      ]
    ]))
    error_message = "The log bucket name (log_bucket_name, or \"<bucket_name>-logs\" when unset) must be a valid S3 bucket name, by the same rules as bucket_name; set log_bucket_name when bucket_name is longer than 58 characters."
  }

  validation {
    condition     = var.log_bucket_name != var.bucket_name
    error_message = "log_bucket_name must differ from bucket_name: access logs go to a separate bucket."
  }
}

variable "name_prefix" {
  description = "Prefix of the names of the IAM roles, policies, instance profiles and KMS alias this module creates."
  type        = string
  default     = "lfhost"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters of lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit."
  }
}

variable "pipelines" {
  description = <<-EOT
    The pipelines (or tenants) that use the bucket, by name. Each gets its own IAM role that
    may read its landing prefix, read and write its lake prefix, and nothing else. Prefixes
    are S3 key prefixes without a leading or trailing slash, e.g. "landing/sales". No two
    prefixes (landing or lake, of any pipelines) may be equal or nested in one another.
    eks_service_account (EKS only) defaults to "<name_prefix>-<pipeline name>".
  EOT
  type = map(object({
    landing_prefix      = string
    lake_prefix         = string
    eks_service_account = optional(string)
  }))

  validation {
    condition     = length(var.pipelines) > 0
    error_message = "pipelines must name at least one pipeline."
  }

  validation {
    condition     = alltrue([for name in keys(var.pipelines) : can(regex("^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$", name))])
    error_message = "Every pipeline name must be 1-32 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit (it is part of IAM role names)."
  }

  validation {
    condition = alltrue(flatten([
      for p in values(var.pipelines) : [
        for prefix in [p.landing_prefix, p.lake_prefix] :
        length(prefix) <= 512 && can(regex("^[A-Za-z0-9_=-][A-Za-z0-9._=-]*(/[A-Za-z0-9_=-][A-Za-z0-9._=-]*)*$", prefix))
      ]
    ]))
    error_message = "Every landing_prefix and lake_prefix must be a non-empty S3 key prefix of at most 512 characters, without a leading or trailing slash, made of segments of letters, digits, '.', '_', '=' and '-' (no empty, \".\" or \"..\" segments, no wildcards)."
  }

  validation {
    condition = alltrue([
      for i, x in flatten([for p in values(var.pipelines) : [p.landing_prefix, p.lake_prefix]]) : alltrue([
        for j, y in flatten([for p in values(var.pipelines) : [p.landing_prefix, p.lake_prefix]]) :
        i == j || !(startswith("${x}/", "${y}/") || startswith("${y}/", "${x}/"))
      ])
    ])
    error_message = "Prefixes overlap: every landing_prefix and lake_prefix must be disjoint from every other (none equal to or nested in another), or a role could reach data that is not its own."
  }

  validation {
    condition = alltrue([
      for p in values(var.pipelines) :
      p.eks_service_account == null ? true : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", p.eks_service_account))
    ])
    error_message = "eks_service_account must be a Kubernetes service account name: 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "compute_platform" {
  description = "Where lfhost runs, which decides who may use each pipeline's runner role: \"ec2\" (an instance profile), \"ecs\" (an ECS task role) or \"eks\" (IAM roles for service accounts through the cluster's OIDC provider)."
  type        = string

  validation {
    condition     = contains(["ec2", "ecs", "eks"], var.compute_platform)
    error_message = "compute_platform must be one of \"ec2\", \"ecs\" or \"eks\"."
  }
}

variable "eks_oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>). Required when compute_platform is \"eks\"."
  type        = string
  default     = null

  validation {
    condition     = var.eks_oidc_provider_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::\\d{12}:oidc-provider/[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$", var.eks_oidc_provider_arn))
    error_message = "eks_oidc_provider_arn must be an IAM OIDC provider ARN: arn:<partition>:iam::<12-digit account>:oidc-provider/<issuer host and path>."
  }

  validation {
    condition     = var.compute_platform != "eks" || var.eks_oidc_provider_arn != null
    error_message = "compute_platform is \"eks\": set eks_oidc_provider_arn to the cluster's IAM OIDC provider ARN."
  }
}

variable "eks_namespace" {
  description = "Kubernetes namespace of the lfhost service accounts (EKS only)."
  type        = string
  default     = "lfhost"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.eks_namespace))
    error_message = "eks_namespace must be a Kubernetes namespace name: 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "permissions_boundary_arn" {
  description = "ARN of an IAM managed policy to set as the permissions boundary of every role this module creates, or null for none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::(\\d{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN: arn:<partition>:iam::<12-digit account or aws>:policy/<path and name>."
  }
}

variable "kms_deletion_window_in_days" {
  description = "Days AWS KMS waits before deleting the bucket key once its deletion is scheduled (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30 && floor(var.kms_deletion_window_in_days) == var.kms_deletion_window_in_days
    error_message = "kms_deletion_window_in_days must be a whole number from 7 to 30."
  }
}

variable "kms_rotation_period_in_days" {
  description = "Days between automatic rotations of the bucket key's material (90-2560)."
  type        = number
  default     = 365

  validation {
    condition     = var.kms_rotation_period_in_days >= 90 && var.kms_rotation_period_in_days <= 2560 && floor(var.kms_rotation_period_in_days) == var.kms_rotation_period_in_days
    error_message = "kms_rotation_period_in_days must be a whole number from 90 to 2560."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a noncurrent object version (an overwritten or deleted file, e.g. one removed by Delta VACUUM) is deleted for good."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which an unfinished multipart upload is aborted and its parts deleted."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1 && floor(var.abort_incomplete_multipart_upload_days) == var.abort_incomplete_multipart_upload_days
    error_message = "abort_incomplete_multipart_upload_days must be a whole number of at least 1."
  }
}

variable "log_retention_days" {
  description = "Days the access logs are kept in the log bucket."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 1 && floor(var.log_retention_days) == var.log_retention_days
    error_message = "log_retention_days must be a whole number of at least 1."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the buckets even when they still hold objects. Keep false outside of test environments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource that supports them."
  type        = map(string)
  default     = {}
}
