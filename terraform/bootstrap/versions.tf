terraform {
  required_version = ">= 1.5.7, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # Local state on purpose: this root creates the remote-state bucket, so it cannot live in it.
  # Keep terraform.tfstate of this folder safe (or migrate it into the bucket afterwards).
}
