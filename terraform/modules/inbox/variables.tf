variable "name" {
  description = "Name prefix of every resource, usually `<project>-<env>`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 characters of lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "bucket_name" {
  description = "Bucket that holds the inbox prefixes (the landing bucket of the storage module, which sends its object events to EventBridge)."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of bucket_name."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the bucket and the dead-letter queue."
  type        = string
}

variable "inboxes" {
  description = "Inboxes by source name: the key prefix senders drop files under (ending in /) and, to start the source's ingest when a file arrives, the id of its Prefect deployment (null: the deployment's own schedule picks the files up)."
  type = map(object({
    prefix                = string
    prefect_deployment_id = optional(string)
  }))

  validation {
    condition     = alltrue([for inbox in values(var.inboxes) : can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", inbox.prefix))])
    error_message = "each prefix must be a relative key prefix ending in / (for example inbox/immigration/)."
  }

  validation {
    condition     = alltrue([for key in keys(var.inboxes) : can(regex("^[a-z][a-z0-9_]{0,39}$", key))])
    error_message = "inbox names must be source names: lowercase letters, digits and underscores."
  }
}

variable "prefect_api_url" {
  description = "Prefect API URL of the workspace that holds the deployments (https://api.prefect.cloud/api/accounts/<account>/workspaces/<workspace>); null creates no trigger."
  type        = string
  default     = null

  validation {
    condition     = var.prefect_api_url == null || can(regex("^https://", var.prefect_api_url))
    error_message = "prefect_api_url must be an https URL."
  }
}

variable "max_event_age_seconds" {
  description = "How long EventBridge keeps retrying a failed trigger before the event goes to the dead-letter queue (60-86400)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_event_age_seconds >= 60 && var.max_event_age_seconds <= 86400
    error_message = "max_event_age_seconds must be between 60 and 86400."
  }
}

variable "alerts_topic_arn" {
  description = "SNS topic that is told when a trigger ends in the dead-letter queue (the orchestration module's alerts topic); null sets no alarm."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
