# The dev environment: its backend (versions.tf), the provider, and one call of
# modules/lakehouse with this environment's sizes and retention. Everything else lives in the
# module, so dev and prod deploy the same resources.

provider "aws" {
  # Region and credentials come from the environment (AWS_REGION, AWS_PROFILE, ...), never
  # from this file, so one root deploys to any account and region. Every resource is tagged
  # by the module (Project, Environment, ManagedBy).
}

module "lakehouse" {
  source = "../../modules/lakehouse"

  env = "dev"

  # Passed at apply time (variables.tf).
  prefect_api_url     = var.prefect_api_url
  worker_image        = var.worker_image
  ecr_repository_arns = var.ecr_repository_arns
  alert_emails        = var.alert_emails
  tags                = var.tags

  # dev: small, cheap, and `terraform destroy` leaves nothing behind.
  force_destroy                      = true
  kms_deletion_window_days           = 7
  noncurrent_version_expiration_days = 7
  access_log_retention_days          = 30
  log_retention_days                 = 30
  secret_recovery_window_days        = 0

  single_nat_gateway = true

  athena_bytes_scanned_cutoff_per_query = 1073741824 # 1 GiB

  emr_max_cpu    = "8 vCPU"
  emr_max_memory = "32 GB"

  redshift_base_capacity         = 8
  redshift_max_capacity          = 16
  redshift_max_rpu_hours_per_day = 8
}
