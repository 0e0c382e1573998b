variable "name" {
  description = "Name prefix of the state resources, usually the project name (at most 20 characters so bucket names stay within S3's 63)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "force_destroy" {
  description = "Controls if `terraform destroy` removes the state bucket with its objects and the lock table (only for throwaway accounts)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days old state versions are kept for rollback."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "access_log_retention_days" {
  description = "Days access logs of the state bucket are kept."
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
