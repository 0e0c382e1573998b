# Creates the remote-state bucket and lock table that the env roots use as their backend.
# Run once per account and region, before any env root.

provider "aws" {
  default_tags {
    tags = local.tags
  }
}

locals {
  tags = merge(var.tags, {
    Project   = var.project
    ManagedBy = "terraform"
  })
}

module "state" {
  source = "../modules/state"

  name          = var.project
  force_destroy = var.force_destroy
  tags          = local.tags
}
