terraform {
  # 1.9 for validation rules that read other variables.
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x for data.aws_region's `region` attribute.
      version = ">= 6.0.0, < 7.0.0"
    }
  }
}
