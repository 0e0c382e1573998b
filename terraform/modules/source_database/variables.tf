################################################################################
# Common
################################################################################

variable "name" {
  description = "Prefix of the resources, usually `<project>-<env>`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens."
  }
}

variable "source_name" {
  description = "The source contract's name (lakehouse/contracts/<source>.yml), e.g. fleet."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,30}$", var.source_name))
    error_message = "source_name must be a contract name: lowercase letters, digits and underscores."
  }
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Network reach
################################################################################

variable "database_cidr_blocks" {
  description = "CIDR blocks of the operational PostgreSQL (its subnets, or a peered/VPN range)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.database_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "database_cidr_blocks must be CIDR blocks."
  }
}

variable "database_port" {
  description = "PostgreSQL port of the database."
  type        = number
  default     = 5432
}

variable "database_security_group_id" {
  description = "Security group of the database (an RDS instance reachable by reference) to open to the clients; null when its owner opens the CIDRs."
  type        = string
  default     = null
}

variable "client_security_group_ids" {
  description = "Security groups of the pipeline's tasks that poll the database (the workloads group)."
  type        = list(string)
  default     = []
}

################################################################################
# Capture (Kafka Connect with Debezium on ECS Fargate)
################################################################################

variable "create_capture" {
  description = "Controls if the change data capture service (Kafka Connect with the Debezium PostgreSQL connector) is created; off for a source that is polled."
  type        = bool
  default     = false
}

variable "vpc_id" {
  description = "VPC of the capture service."
  type        = string
  default     = null
}

variable "vpc_cidr" {
  description = "CIDR of that VPC (HTTPS to its interface endpoints)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a CIDR block."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the capture service."
  type        = list(string)
  default     = []
}

variable "ecs_cluster_arn" {
  description = "ECS cluster that runs the capture service (the orchestration module's cluster_arn)."
  type        = string
  default     = null
}

variable "image" {
  description = "The project's image (its Dockerfile, pushed to ECR; the flow runs' image): it holds Kafka Connect, Debezium and the MSK IAM auth library, and the task runs `lakehouse capture run <source_name>` in it."
  type        = string
  default     = null
}

variable "capture_cpu" {
  description = "CPU units of the capture task."
  type        = number
  default     = 1024
}

variable "capture_memory" {
  description = "Memory (MiB) of the capture task."
  type        = number
  default     = 2048
}

variable "dsn_secret_arn" {
  description = "Secrets Manager ARN of the source's secret settings (JSON with pg_dsn; the orchestration module's source_secret_arns[<source>])."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key of the secret and the logs."
  type        = string
  default     = null
}

variable "ecr_repository_arns" {
  description = "ECR repositories the capture image is pulled from."
  type        = list(string)
  default     = []
}

variable "kafka_cluster_arn" {
  description = "ARN of the MSK cluster the change events go to (IAM authentication)."
  type        = string
  default     = null
}

variable "kafka_bootstrap" {
  description = "Bootstrap brokers of that cluster (IAM, port 9098)."
  type        = string
  default     = null
}

variable "kafka_cidr_blocks" {
  description = "CIDR blocks of the brokers."
  type        = list(string)
  default     = []
}

variable "kafka_port" {
  description = "Broker port (9098: IAM over TLS)."
  type        = number
  default     = 9098
}

variable "topic_prefix" {
  description = "Prefix of the change-event topics as the contract in the image names it (cdc.topic_prefix; the code reads the contract, this scopes the task's topic and group permissions); null: the contract's default, <source_name>."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Days the capture's logs are kept."
  type        = number
  default     = 365
}
