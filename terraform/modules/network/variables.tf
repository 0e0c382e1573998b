variable "name" {
  description = "Name prefix of every resource, usually `<project>-<env>`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens."
  }
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC, /16 to /20; subnets are carved as /4 slices of it."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr, 0)) && tonumber(split("/", var.cidr)[1]) >= 16 && tonumber(split("/", var.cidr)[1]) <= 20
    error_message = "cidr must be a valid IPv4 CIDR block between /16 and /20."
  }
}

variable "az_count" {
  description = "Number of availability zones to spread private subnets across when availability_zones is empty (Redshift Serverless needs 3)."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6
    error_message = "az_count must be between 2 and 6."
  }
}

variable "availability_zones" {
  description = "Availability zone names to use, pinned; empty means the first az_count available zones of the region."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) >= 2
    error_message = "availability_zones must be empty or name at least 2 zones."
  }
}

variable "enable_nat_gateway" {
  description = "Controls if public subnets and NAT gateways are created for HTTPS egress to the internet (Prefect Cloud, source APIs). Without it, only AWS APIs behind VPC endpoints are reachable."
  type        = bool
  default     = true
}

variable "single_nat_gateway" {
  description = "Controls if one NAT gateway serves every AZ (cheaper) instead of one per AZ (survives an AZ outage)."
  type        = bool
  default     = false
}

variable "interface_endpoint_services" {
  description = "AWS services reached through interface VPC endpoints (S3 always gets a gateway endpoint)."
  type        = list(string)
  default     = ["glue", "sts", "secretsmanager", "kms", "logs"]

  validation {
    condition     = alltrue([for s in ["glue", "sts", "secretsmanager", "kms"] : contains(var.interface_endpoint_services, s)])
    error_message = "interface_endpoint_services must include glue, sts, secretsmanager and kms: the jobs need them without NAT."
  }
}

variable "warehouse_port" {
  description = "Port of the Redshift Serverless workgroup, opened from the workloads security group only."
  type        = number
  default     = 5439

  validation {
    condition     = var.warehouse_port >= 1150 && var.warehouse_port <= 65535
    error_message = "warehouse_port must be between 1150 and 65535 (Redshift's allowed range)."
  }
}

variable "flow_logs_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the flow-log group (the storage module's key)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.flow_logs_kms_key_arn))
    error_message = "flow_logs_kms_key_arn must be a KMS key ARN."
  }
}

variable "flow_log_retention_days" {
  description = "Days VPC flow logs are kept (a CloudWatch Logs retention value)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ...)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
