terraform {
  required_version = ">= 1.5.7, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # Partial configuration: `terraform init -backend-config=backend.hcl`, with the values that
  # the bootstrap root prints (see terraform/README.md).
  backend "s3" {}
}
