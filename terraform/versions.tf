terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0.0, < 7.0.0"
    }
  }

  # State is local by default. For a shared deployment, configure a remote
  # backend here (e.g. backend "s3" with use_lockfile = true).
}
