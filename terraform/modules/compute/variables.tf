variable "name" {
  description = "Name of the EMR Serverless application and prefix of its role, usually `<project>-<env>`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens."
  }
}

variable "release_label" {
  description = "EMR release whose Spark and Delta match the versions pyproject.toml pins (see emr_releases.json)."
  type        = string
  default     = "emr-7.10.0"

  validation {
    condition     = can(regex("^emr-[0-9]+\\.[0-9]+\\.[0-9]+$", var.release_label))
    error_message = "release_label must look like emr-7.10.0."
  }
}

variable "architecture" {
  description = "CPU architecture of the workers: X86_64 or ARM64 (Graviton, cheaper)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.architecture)
    error_message = "architecture must be X86_64 or ARM64."
  }
}

variable "max_cpu" {
  description = "Cap on the vCPUs all jobs of the application use at once, like \"16 vCPU\"."
  type        = string
  default     = "16 vCPU"

  validation {
    condition     = can(regex("^[0-9]+ vCPU$", var.max_cpu))
    error_message = "max_cpu must look like \"16 vCPU\"."
  }
}

variable "max_memory" {
  description = "Cap on the memory all jobs of the application use at once, like \"64 GB\"."
  type        = string
  default     = "64 GB"

  validation {
    condition     = can(regex("^[0-9]+ GB$", var.max_memory))
    error_message = "max_memory must look like \"64 GB\"."
  }
}

variable "idle_timeout_minutes" {
  description = "Minutes without jobs after which the application stops (1-10080)."
  type        = number
  default     = 15

  validation {
    condition     = var.idle_timeout_minutes >= 1 && var.idle_timeout_minutes <= 10080
    error_message = "idle_timeout_minutes must be between 1 and 10080."
  }
}

variable "subnet_ids" {
  description = "Private subnets the jobs run in."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids must name at least one subnet."
  }
}

variable "security_group_ids" {
  description = "Security groups of the jobs (the network module's workloads group)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) > 0
    error_message = "security_group_ids must name at least one security group."
  }
}

variable "read_bucket_arns" {
  description = "Buckets the jobs read only (landing, artifacts)."
  type        = list(string)
  default     = []
}

variable "write_bucket_arns" {
  description = "Buckets the jobs read and write (bronze, silver, gold, quarantine)."
  type        = list(string)

  validation {
    condition     = alltrue([for arn in var.write_bucket_arns : can(regex("^arn:[a-z-]+:s3:::[a-z0-9.-]+$", arn))])
    error_message = "write_bucket_arns must be S3 bucket ARNs (arn:aws:s3:::name)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the lake buckets."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "glue_database_names" {
  description = "Glue databases the jobs may create and update tables in."
  type        = list(string)
  default     = []
}

variable "enable_lake_formation" {
  description = "Controls if the job role may ask Lake Formation for data access (where Lake Formation governs the catalog)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
