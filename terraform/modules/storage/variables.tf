variable "name" {
  description = "Name prefix of every resource, usually `<project>-<env>` (lowercase letters, digits, hyphens; at most 20 characters so bucket names stay within S3's 63)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 characters of lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "layers" {
  description = "Lake layers that get a bucket each; the Python settings expect landing, bronze, silver, gold and quarantine."
  type        = list(string)
  default     = ["landing", "bronze", "silver", "gold", "quarantine"]

  validation {
    condition     = alltrue([for l in ["landing", "bronze", "silver", "gold", "quarantine"] : contains(var.layers, l)])
    error_message = "layers must include landing, bronze, silver, gold and quarantine."
  }
}

variable "force_destroy" {
  description = "Controls if `terraform destroy` deletes buckets that still hold objects (true in dev so nothing is left behind; false in prod)."
  type        = bool
  default     = false
}

variable "kms_deletion_window_days" {
  description = "Days a deleted KMS key waits before it is gone for good (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten or deleted object version is kept before it expires."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "landing_infrequent_access_days" {
  description = "Days after which landing objects move to STANDARD_IA (S3 requires at least 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.landing_infrequent_access_days >= 30
    error_message = "landing_infrequent_access_days must be at least 30 (an S3 rule for STANDARD_IA)."
  }
}

variable "landing_glacier_days" {
  description = "Days after which landing objects move to GLACIER_IR; at least 30 after the STANDARD_IA transition."
  type        = number
  default     = 90
}

variable "athena_results_expiration_days" {
  description = "Days Athena query results are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.athena_results_expiration_days >= 1
    error_message = "athena_results_expiration_days must be at least 1."
  }
}

variable "access_log_retention_days" {
  description = "Days S3 server access logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
