variable "name" {
  description = "Name of the namespace and workgroup, usually `<project>-<env>`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens."
  }
}

variable "database_name" {
  description = "Name of the first database of the namespace."
  type        = string
  default     = "lakehouse"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_$]{0,63}$", var.database_name))
    error_message = "database_name must be a lowercase Redshift identifier of at most 64 characters."
  }
}

variable "admin_username" {
  description = "Admin user of the namespace; its password is generated and kept in Secrets Manager."
  type        = string
  default     = "lakehouse_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,127}$", var.admin_username)) && !contains(["admin", "rdsadmin", "superuser"], var.admin_username)
    error_message = "admin_username must be a lowercase identifier and not a reserved name."
  }
}

variable "base_capacity" {
  description = "Base Redshift Processing Units of the workgroup: 8 to 512 in steps of 8."
  type        = number
  default     = 8

  validation {
    condition     = var.base_capacity >= 8 && var.base_capacity <= 512 && var.base_capacity % 8 == 0
    error_message = "base_capacity must be a multiple of 8 between 8 and 512."
  }
}

variable "max_capacity" {
  description = "Most RPUs the workgroup scales to (a multiple of 8, at least base_capacity)."
  type        = number
  default     = 32

  validation {
    condition     = var.max_capacity >= 8 && var.max_capacity <= 5632 && var.max_capacity % 8 == 0
    error_message = "max_capacity must be a multiple of 8 between 8 and 5632."
  }
}

variable "max_rpu_hours_per_day" {
  description = "Daily compute cap in RPU-hours; the workgroup is deactivated for the rest of the day past it."
  type        = number
  default     = 24

  validation {
    condition     = var.max_rpu_hours_per_day >= 1
    error_message = "max_rpu_hours_per_day must be at least 1."
  }
}

variable "port" {
  description = "Port of the workgroup endpoint."
  type        = number
  default     = 5439

  validation {
    condition     = var.port >= 1150 && var.port <= 65535
    error_message = "port must be between 1150 and 65535."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the workgroup, in at least three AZs."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 3
    error_message = "Redshift Serverless needs subnets in at least three availability zones."
  }
}

variable "security_group_ids" {
  description = "Security groups of the workgroup (the network module's warehouse group)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) > 0
    error_message = "security_group_ids must name at least one security group."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the namespace and its admin secret."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "spectrum_bucket_arns" {
  description = "Buckets Spectrum may read (the published layers: silver, gold)."
  type        = list(string)

  validation {
    condition     = length(var.spectrum_bucket_arns) > 0
    error_message = "spectrum_bucket_arns must name at least one bucket."
  }
}

variable "spectrum_database_names" {
  description = "Glue databases Spectrum may read as external schemas."
  type        = list(string)
  default     = []
}

variable "enable_lake_formation" {
  description = "Controls if the Spectrum role may ask Lake Formation for data access."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
