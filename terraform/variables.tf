# The module validates every value passed through to it
# (modules/lfhost/variables.tf); see there for the rules.

variable "region" {
  description = "AWS region of the bucket, the key and the roles' users, e.g. \"eu-west-1\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d$", var.region))
    error_message = "region must be an AWS region code such as \"eu-west-1\" or \"us-gov-west-1\"."
  }
}

variable "bucket_name" {
  description = "Name of the S3 bucket for landing files and Delta tables."
  type        = string
}

variable "log_bucket_name" {
  description = "Name of the access-log bucket. Default: \"<bucket_name>-logs\"."
  type        = string
  default     = null
}

variable "pipelines" {
  description = "The pipelines (or tenants), by name: each one's landing and lake key prefixes (no leading or trailing slash) and, on EKS, optionally its service account name."
  type = map(object({
    landing_prefix      = string
    lake_prefix         = string
    eks_service_account = optional(string)
  }))
}

variable "compute_platform" {
  description = "Where lfhost runs: \"ec2\", \"ecs\" or \"eks\"."
  type        = string
}

variable "eks_oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (compute_platform \"eks\" only)."
  type        = string
  default     = null
}

variable "eks_namespace" {
  description = "Kubernetes namespace of lfhost's service accounts (compute_platform \"eks\" only)."
  type        = string
  default     = "lfhost"
}

variable "tags" {
  description = "Tags added to every resource through the provider's default_tags."
  type        = map(string)
  default     = {}
}
