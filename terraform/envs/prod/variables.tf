# What an operator passes at apply time (-var or a *.auto.tfvars file kept out of git); every
# default lives in modules/lakehouse, so these are null unless set.

variable "prefect_api_url" {
  description = "Prefect Cloud API URL of the workspace (https://api.prefect.cloud/api/accounts/<id>/workspaces/<id>)."
  type        = string
}

variable "worker_image" {
  description = "Container image of the Prefect worker and its flow runs (the project's Dockerfile, pushed to ECR)."
  type        = string
  default     = null
}

variable "ecr_repository_arns" {
  description = "ECR repositories the tasks may pull from (when the image is private)."
  type        = list(string)
  default     = null
}

variable "alert_emails" {
  description = "Email addresses subscribed to pipeline alerts."
  type        = list(string)
  default     = null
}

variable "tags" {
  description = "Extra tags on every resource (Project, Environment and ManagedBy are always set)."
  type        = map(string)
  default     = null
}
