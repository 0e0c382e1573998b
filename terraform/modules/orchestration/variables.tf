variable "name" {
  description = "Name of the ECS cluster and prefix of the other resources, usually `<project>-<env>`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key for logs, the API key secret, the alerts topic and the lake."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the worker and its flow runs."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids must name at least one subnet."
  }
}

variable "security_group_ids" {
  description = "Security groups of the worker (the network module's workloads group)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) > 0
    error_message = "security_group_ids must name at least one security group."
  }
}

variable "prefect_api_url" {
  description = "Prefect API URL of the workspace, like https://api.prefect.cloud/api/accounts/<id>/workspaces/<id>."
  type        = string

  validation {
    condition     = can(regex("^https://", var.prefect_api_url))
    error_message = "prefect_api_url must be an https URL."
  }
}

variable "work_pool_name" {
  description = "Prefect work pool (type ecs) the worker polls."
  type        = string
  default     = "lakehouse-ecs"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]*$", var.work_pool_name))
    error_message = "work_pool_name must be letters, digits, hyphens and underscores."
  }
}

variable "worker_image" {
  description = "Container image of the worker and its flow runs: the project's Dockerfile, built and pushed to ECR (any image with prefect and prefect-aws runs the worker alone)."
  type        = string
  default     = "prefecthq/prefect:3.8.8-python3.11"
}

variable "ecr_repository_arns" {
  description = "ECR repositories the tasks may pull images from; empty when images come from a public registry."
  type        = list(string)
  default     = []
}

variable "worker_count" {
  description = "Number of worker tasks (0 pauses orchestration)."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_count >= 0 && var.worker_count <= 10
    error_message = "worker_count must be between 0 and 10."
  }
}

variable "worker_cpu" {
  description = "CPU units of the worker task (Fargate: 256, 512, 1024, 2048, 4096)."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.worker_cpu)
    error_message = "worker_cpu must be one of 256, 512, 1024, 2048, 4096."
  }
}

variable "worker_memory" {
  description = "Memory (MiB) of the worker task; must suit worker_cpu on Fargate."
  type        = number
  default     = 1024

  validation {
    condition     = var.worker_memory >= 512 && var.worker_memory <= 30720
    error_message = "worker_memory must be between 512 and 30720 MiB."
  }
}

variable "log_retention_days" {
  description = "Days worker and flow-run logs are kept (a CloudWatch Logs retention value)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ...)."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once, else 7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "alert_emails" {
  description = "Email addresses subscribed to the alerts topic (each must confirm)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_emails must be email addresses."
  }
}

variable "lake_bucket_arns" {
  description = "Buckets the flow runs read and write (the lake layers, artifacts, athena_results, site)."
  type        = list(string)

  validation {
    condition     = length(var.lake_bucket_arns) > 0
    error_message = "lake_bucket_arns must name at least one bucket."
  }
}

variable "glue_database_names" {
  description = "Glue databases the flow runs may manage tables in (dbt-athena, publishing)."
  type        = list(string)
  default     = []
}

variable "athena_workgroup_arn" {
  description = "ARN of the Athena workgroup the flow runs query through."
  type        = string
}

variable "emr_application_arn" {
  description = "ARN of the EMR Serverless application the flow runs start Spark jobs on."
  type        = string
}

variable "emr_job_role_arn" {
  description = "ARN of the EMR job role the flow runs pass to StartJobRun."
  type        = string
}

variable "redshift_workgroup_arn" {
  description = "ARN of the Redshift Serverless workgroup the flow runs get credentials for; null leaves it out."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "source_secrets" {
  description = "Sources whose credentials live in Secrets Manager, by contract name (flights), each with the secret's description; the flow runs may read them."
  type = map(object({
    description = string
  }))
  default = {}

  validation {
    condition     = alltrue([for name in keys(var.source_secrets) : can(regex("^[a-z][a-z0-9_]*$", name))])
    error_message = "source_secrets keys must be contract names: lowercase letters, digits and _."
  }
}
