variable "project" {
  description = "Project name, the first part of every resource name."
  type        = string
  default     = "lakehouse"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,12}$", var.project))
    error_message = "project must be 2-13 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "env" {
  description = "Environment name: dev or prod."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.env)
    error_message = "env must be dev or prod."
  }
}

variable "tags" {
  description = "Extra tags on every resource (Project, Environment and ManagedBy are always set)."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Lifecycle and retention
################################################################################

variable "force_destroy" {
  description = "Controls if `terraform destroy` also deletes non-empty buckets and the Athena workgroup's history (true in dev, false in prod)."
  type        = bool
  default     = false
}

variable "kms_deletion_window_days" {
  description = "Days a deleted KMS key waits before it is gone (7-30)."
  type        = number
  default     = 30
}

variable "noncurrent_version_expiration_days" {
  description = "Days overwritten object versions are kept."
  type        = number
  default     = 90
}

variable "landing_infrequent_access_days" {
  description = "Days after which landing objects move to STANDARD_IA."
  type        = number
  default     = 30
}

variable "landing_glacier_days" {
  description = "Days after which landing objects move to GLACIER_IR."
  type        = number
  default     = 90
}

variable "athena_results_expiration_days" {
  description = "Days Athena query results are kept."
  type        = number
  default     = 7
}

variable "access_log_retention_days" {
  description = "Days S3 access logs are kept."
  type        = number
  default     = 365
}

variable "log_retention_days" {
  description = "Days CloudWatch logs (flow logs, worker, flow runs) are kept."
  type        = number
  default     = 365
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can be restored (0 deletes at once)."
  type        = number
  default     = 30
}

################################################################################
# Network
################################################################################

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones to use when availability_zones is empty."
  type        = number
  default     = 3
}

variable "availability_zones" {
  description = "Availability zone names to pin; empty takes the first az_count of the region."
  type        = list(string)
  default     = []
}

variable "enable_nat_gateway" {
  description = "Controls if NAT gateways give the workloads HTTPS egress (Prefect Cloud, source APIs)."
  type        = bool
  default     = true
}

variable "single_nat_gateway" {
  description = "Controls if one NAT gateway serves all AZs (cheaper, not AZ-resilient)."
  type        = bool
  default     = false
}

################################################################################
# Catalog and Athena
################################################################################

variable "athena_bytes_scanned_cutoff_per_query" {
  description = "Bytes one Athena query may scan before it is cancelled."
  type        = number
  default     = 1073741824
}

variable "manage_catalog_encryption" {
  description = "Controls if this env sets the account's Glue Data Catalog encryption (one env per account and region)."
  type        = bool
  default     = false
}

variable "enable_lake_formation_grants" {
  description = "Controls if Lake Formation grants are made for the job, flow-run and Spectrum roles (where Lake Formation governs the catalog)."
  type        = bool
  default     = false
}

################################################################################
# Compute (EMR Serverless)
################################################################################

variable "emr_max_cpu" {
  description = "Cap on the vCPUs of all Spark jobs at once, like \"16 vCPU\"."
  type        = string
  default     = "8 vCPU"
}

variable "emr_max_memory" {
  description = "Cap on the memory of all Spark jobs at once, like \"64 GB\"."
  type        = string
  default     = "32 GB"
}

variable "emr_idle_timeout_minutes" {
  description = "Minutes without jobs before the EMR application stops."
  type        = number
  default     = 15
}

################################################################################
# Warehouse (Redshift Serverless)
################################################################################

variable "redshift_base_capacity" {
  description = "Base RPUs of the Redshift workgroup (multiple of 8)."
  type        = number
  default     = 8
}

variable "redshift_max_capacity" {
  description = "Most RPUs the Redshift workgroup scales to (multiple of 8)."
  type        = number
  default     = 16
}

variable "redshift_max_rpu_hours_per_day" {
  description = "Daily Redshift compute cap in RPU-hours."
  type        = number
  default     = 8
}

################################################################################
# Orchestration (Prefect worker on ECS)
################################################################################

variable "prefect_api_url" {
  description = "Prefect Cloud API URL of the workspace (https://api.prefect.cloud/api/accounts/<id>/workspaces/<id>)."
  type        = string
}

variable "work_pool_name" {
  description = "Prefect work pool (type ecs) the worker polls."
  type        = string
  default     = "lakehouse-ecs"
}

variable "worker_image" {
  description = "Container image of the Prefect worker and its flow runs (the project's Dockerfile, pushed to ECR)."
  type        = string
  default     = "prefecthq/prefect:3.8.8-python3.11"
  nullable    = false
}

variable "ecr_repository_arns" {
  description = "ECR repositories the tasks may pull from (when the image is private)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "worker_count" {
  description = "Number of Prefect worker tasks."
  type        = number
  default     = 1
}

variable "alert_emails" {
  description = "Email addresses subscribed to pipeline alerts."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "source_secrets" {
  description = "Sources whose credentials live in Secrets Manager, by contract name, each with the secret's description."
  type = map(object({
    description = string
  }))
  default = {
    flights = {
      description = "Amadeus API key and secret of the flights source: JSON {\"client_id\": ..., \"client_secret\": ...}, put out of band."
    }
    fleet = {
      description = "Connection string of the fleet's operational PostgreSQL: JSON {\"pg_dsn\": ...}, put out of band."
    }
  }
}

variable "create_streaming" {
  description = "Controls if the MSK Serverless cluster of the stream topics (geo events) is created."
  type        = bool
  default     = true
}

################################################################################
# Fleet operational database (source fleet)
################################################################################

variable "fleet_database_cidr_blocks" {
  description = "CIDR blocks of the fleet's operational PostgreSQL, reached from the polling flow runs; empty until it is known."
  type        = list(string)
  default     = []
}

variable "fleet_database_port" {
  description = "PostgreSQL port of the fleet database."
  type        = number
  default     = 5432
}

variable "fleet_database_security_group_id" {
  description = "Security group of the fleet database to open to the lakehouse (an RDS instance), or null."
  type        = string
  default     = null
}

variable "enable_fleet_capture" {
  description = "Controls if the fleet's change data capture (`lakehouse capture run fleet` in worker_image, Kafka Connect with Debezium, on ECS) is created; off while the contract polls (turn it on with capture: cdc in the image's contract). Needs worker_image set to the project's image: with the stock Prefect image the plan fails."
  type        = bool
  default     = false
}

variable "fleet_capture_kafka_cluster_arn" {
  description = "ARN of the MSK cluster the fleet's change events go to; null: the streaming module's (create_streaming)."
  type        = string
  default     = null
}

variable "fleet_capture_kafka_bootstrap" {
  description = "Bootstrap brokers (IAM) of that MSK cluster; null: the streaming module's (create_streaming)."
  type        = string
  default     = null
}

variable "inboxes" {
  description = "File-drop prefixes in the landing bucket by files source, each with the id of the Prefect deployment to start when a file arrives (null: the deployment's schedule picks files up). The flow runs read a source's inbox through LAKEHOUSE_<SOURCE>_LOCATION = s3://<landing bucket>/<prefix>."
  type = map(object({
    prefix                = string
    prefect_deployment_id = optional(string)
  }))
  default = {
    immigration = { prefix = "inbox/immigration/" }
  }
}
