variable "name" {
  description = "Name prefix, usually `<project>-<env>`; hyphens become underscores in Glue database names."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens."
  }
}

variable "layers" {
  description = "Layers that get a Glue database each."
  type        = list(string)
  default     = ["bronze", "silver", "gold", "quarantine"]

  validation {
    condition     = length(var.layers) > 0 && alltrue([for l in var.layers : can(regex("^[a-z][a-z0-9_]*$", l))])
    error_message = "layers must be non-empty lowercase names (letters, digits, underscores)."
  }
}

variable "layer_bucket_names" {
  description = "Bucket name per layer, used as each database's location."
  type        = map(string)
  default     = {}
}

variable "layer_bucket_arns" {
  description = "Bucket ARN per layer, for Lake Formation data-location grants."
  type        = map(string)
  default     = {}
}

variable "athena_results_bucket_name" {
  description = "Bucket that receives Athena query results."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts query results (and the catalog when manage_catalog_encryption)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query that scans more than this many bytes (at least 10 MB)."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760
    error_message = "bytes_scanned_cutoff_per_query must be at least 10485760 (10 MB), Athena's minimum."
  }
}

variable "force_destroy" {
  description = "Controls if the Athena workgroup is deleted with its saved queries and history."
  type        = bool
  default     = false
}

variable "manage_catalog_encryption" {
  description = "Controls if this deployment sets the account's Glue Data Catalog encryption (an account-and-region singleton: enable it in one deployment only)."
  type        = bool
  default     = false
}

variable "enable_lake_formation_grants" {
  description = "Controls if Lake Formation permissions are granted to the writer and reader roles (needed where Lake Formation governs the catalog)."
  type        = bool
  default     = false
}

variable "lake_formation_writers" {
  description = "Roles that create and write tables in every layer, as a map of a static key to role ARN (for example { emr = <job role ARN> })."
  type        = map(string)
  default     = {}
}

variable "lake_formation_readers" {
  description = "Roles that read the reader_layers, as a map of a static key to role ARN (for example { spectrum = <role ARN> })."
  type        = map(string)
  default     = {}
}

variable "reader_layers" {
  description = "Layers the lake_formation_readers may read."
  type        = list(string)
  default     = ["silver", "gold"]
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
