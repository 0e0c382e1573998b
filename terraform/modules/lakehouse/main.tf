# The whole lakehouse of one environment: every module wired together. The env roots
# (terraform/envs/<env>) call this module once with their sizes and retention, so dev and prod
# cannot drift apart in anything but those values.

locals {
  name = "${var.project}-${var.env}"
  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.env
    ManagedBy   = "terraform"
  })

  # Layers whose buckets the Spark jobs write; landing is written by the ingest flows only.
  job_write_layers = ["bronze", "silver", "gold", "quarantine"]
  # Layers analysts and Spectrum see: only what passed the gates.
  published_layers = ["silver", "gold"]

  # The worker's default, the stock Prefect image, runs the worker but has no `lakehouse`
  # command: a capture task given it would fail at run time, so it gets no image and the
  # capture's precondition fails the plan instead.
  project_image = startswith(var.worker_image, "prefecthq/prefect:") ? null : var.worker_image
}

module "storage" {
  source = "../storage"

  name                               = local.name
  force_destroy                      = var.force_destroy
  kms_deletion_window_days           = var.kms_deletion_window_days
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  landing_infrequent_access_days     = var.landing_infrequent_access_days
  landing_glacier_days               = var.landing_glacier_days
  athena_results_expiration_days     = var.athena_results_expiration_days
  access_log_retention_days          = var.access_log_retention_days
  tags                               = local.tags
}

module "network" {
  source = "../network"

  name                    = local.name
  cidr                    = var.vpc_cidr
  az_count                = var.az_count
  availability_zones      = var.availability_zones
  enable_nat_gateway      = var.enable_nat_gateway
  single_nat_gateway      = var.single_nat_gateway
  flow_logs_kms_key_arn   = module.storage.kms_key_arn
  flow_log_retention_days = var.log_retention_days
  tags                    = local.tags
}

module "catalog" {
  source = "../catalog"

  name                           = local.name
  layer_bucket_names             = module.storage.bucket_names
  layer_bucket_arns              = module.storage.bucket_arns
  athena_results_bucket_name     = module.storage.bucket_names["athena_results"]
  kms_key_arn                    = module.storage.kms_key_arn
  bytes_scanned_cutoff_per_query = var.athena_bytes_scanned_cutoff_per_query
  force_destroy                  = var.force_destroy
  manage_catalog_encryption      = var.manage_catalog_encryption
  enable_lake_formation_grants   = var.enable_lake_formation_grants
  lake_formation_writers = {
    emr       = module.compute.job_role_arn
    flow_runs = module.orchestration.flow_run_role_arn
  }
  lake_formation_readers = {
    spectrum = module.warehouse.spectrum_role_arn
  }
  reader_layers = local.published_layers
  tags          = local.tags
}

module "compute" {
  source = "../compute"

  name                  = local.name
  max_cpu               = var.emr_max_cpu
  max_memory            = var.emr_max_memory
  idle_timeout_minutes  = var.emr_idle_timeout_minutes
  subnet_ids            = module.network.private_subnet_ids
  security_group_ids    = [module.network.workloads_security_group_id]
  read_bucket_arns      = [module.storage.bucket_arns["landing"], module.storage.bucket_arns["artifacts"]]
  write_bucket_arns     = concat([for l in local.job_write_layers : module.storage.bucket_arns[l]], [module.storage.bucket_arns["artifacts"]])
  kms_key_arn           = module.storage.kms_key_arn
  glue_database_names   = values(module.catalog.database_names)
  enable_lake_formation = var.enable_lake_formation_grants
  tags                  = local.tags
}

module "warehouse" {
  source = "../warehouse"

  name                    = local.name
  base_capacity           = var.redshift_base_capacity
  max_capacity            = var.redshift_max_capacity
  max_rpu_hours_per_day   = var.redshift_max_rpu_hours_per_day
  subnet_ids              = module.network.private_subnet_ids
  security_group_ids      = [module.network.warehouse_security_group_id]
  kms_key_arn             = module.storage.kms_key_arn
  spectrum_bucket_arns    = [for l in local.published_layers : module.storage.bucket_arns[l]]
  spectrum_database_names = [for l in local.published_layers : module.catalog.database_names[l]]
  enable_lake_formation   = var.enable_lake_formation_grants
  tags                    = local.tags
}

module "orchestration" {
  source = "../orchestration"

  name                        = local.name
  kms_key_arn                 = module.storage.kms_key_arn
  subnet_ids                  = module.network.private_subnet_ids
  security_group_ids          = [module.network.workloads_security_group_id]
  prefect_api_url             = var.prefect_api_url
  work_pool_name              = var.work_pool_name
  worker_image                = var.worker_image
  ecr_repository_arns         = var.ecr_repository_arns
  worker_count                = var.worker_count
  log_retention_days          = var.log_retention_days
  secret_recovery_window_days = var.secret_recovery_window_days
  source_secrets              = var.source_secrets
  alert_emails                = var.alert_emails
  lake_bucket_arns            = values(module.storage.bucket_arns)
  glue_database_names         = values(module.catalog.database_names)
  athena_workgroup_arn        = module.catalog.athena_workgroup_arn
  emr_application_arn         = module.compute.application_arn
  emr_job_role_arn            = module.compute.job_role_arn
  redshift_workgroup_arn      = module.warehouse.workgroup_arn
  tags                        = local.tags
}

# The fleet's operational PostgreSQL: reach from the polling flow runs, and (when enabled) its
# change data capture on the orchestration cluster: the project's image running
# `lakehouse capture run fleet` (Kafka Connect with Debezium), writing to MSK.
module "fleet_database" {
  source = "../source_database"

  name                       = local.name
  source_name                = "fleet"
  database_cidr_blocks       = var.fleet_database_cidr_blocks
  database_port              = var.fleet_database_port
  database_security_group_id = var.fleet_database_security_group_id
  client_security_group_ids  = [module.network.workloads_security_group_id]

  create_capture      = var.enable_fleet_capture
  vpc_id              = module.network.vpc_id
  vpc_cidr            = module.network.vpc_cidr
  subnet_ids          = module.network.private_subnet_ids
  ecs_cluster_arn     = module.orchestration.cluster_arn
  image               = local.project_image
  dsn_secret_arn      = lookup(module.orchestration.source_secret_arns, "fleet", null)
  kms_key_arn         = module.storage.kms_key_arn
  ecr_repository_arns = var.ecr_repository_arns
  # The stream topics' cluster (the streaming module) unless another is named.
  kafka_cluster_arn  = var.fleet_capture_kafka_cluster_arn != null ? var.fleet_capture_kafka_cluster_arn : module.streaming.cluster_arn
  kafka_bootstrap    = var.fleet_capture_kafka_bootstrap != null ? var.fleet_capture_kafka_bootstrap : module.streaming.bootstrap_brokers_sasl_iam
  kafka_cidr_blocks  = [module.network.vpc_cidr]
  log_retention_days = var.log_retention_days
  tags               = local.tags
}

data "aws_region" "current" {}

module "streaming" {
  source = "../streaming"

  create              = var.create_streaming
  name                = local.name
  subnet_ids          = module.network.private_subnet_ids
  security_group_ids  = [module.network.workloads_security_group_id]
  producer_role_names = [regex("[^/]+$", module.orchestration.flow_run_role_arn)]
  consumer_role_names = [module.compute.job_role_name]
  tags                = local.tags
}

# File drops of the `files` sources in the landing bucket. An arrival starts the source's ingest
# deployment when the inbox names its Prefect deployment id; otherwise the deployment's schedule
# picks the files up (the immigration ingest runs daily at 07:00 UTC).
module "inbox" {
  source = "../inbox"

  name             = local.name
  bucket_name      = module.storage.bucket_names["landing"]
  bucket_arn       = module.storage.bucket_arns["landing"]
  kms_key_arn      = module.storage.kms_key_arn
  inboxes          = var.inboxes
  prefect_api_url  = var.prefect_api_url
  alerts_topic_arn = module.orchestration.alerts_topic_arn
  tags             = local.tags
}
