variable "project" {
  description = "Project name, the prefix of the state bucket and lock table."
  type        = string
  default     = "lakehouse"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,12}$", var.project))
    error_message = "project must be 2-13 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "force_destroy" {
  description = "Controls if `terraform destroy` deletes the state bucket with all states in it (only for throwaway accounts)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}
