# The prod environment: its backend (versions.tf), the provider, and one call of
# modules/lakehouse with this environment's sizes and retention. Everything else lives in the
# module, so dev and prod deploy the same resources.

provider "aws" {
  # Region and credentials come from the environment (AWS_REGION, AWS_PROFILE, ...), never
  # from this file, so one root deploys to any account and region. Every resource is tagged
  # by the module (Project, Environment, ManagedBy).
}

module "lakehouse" {
  source = "../../modules/lakehouse"

  env = "prod"

  # Passed at apply time (variables.tf).
  prefect_api_url     = var.prefect_api_url
  worker_image        = var.worker_image
  ecr_repository_arns = var.ecr_repository_arns
  alert_emails        = var.alert_emails
  tags                = var.tags

  # prod: AZ-resilient, sized for the full load, and nothing is deleted by accident.
  force_destroy                      = false
  kms_deletion_window_days           = 30
  noncurrent_version_expiration_days = 90
  access_log_retention_days          = 365
  log_retention_days                 = 365
  secret_recovery_window_days        = 30

  single_nat_gateway = false

  athena_bytes_scanned_cutoff_per_query = 10737418240 # 10 GiB

  emr_max_cpu    = "32 vCPU"
  emr_max_memory = "128 GB"

  redshift_base_capacity         = 8
  redshift_max_capacity          = 64
  redshift_max_rpu_hours_per_day = 48
}
