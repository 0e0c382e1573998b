variable "create" {
  description = "Controls if the MSK Serverless cluster and its client policies are created."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the cluster and prefix of the policies (e.g. lakehouse-dev)."
  type        = string
  default     = "lakehouse"
}

variable "subnet_ids" {
  description = "Private subnets the cluster's endpoints live in (two or more Availability Zones)."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups of the cluster's endpoints (the workloads' group: TLS 9098 within it)."
  type        = list(string)
  default     = []
}

variable "topic_names" {
  description = "Topics the producers write and the streaming job reads (events.rsvps)."
  type        = list(string)
  default     = ["events.rsvps"]
}

variable "consumer_group_prefix" {
  description = "Prefix of the consumer groups the streaming job's Kafka source uses."
  type        = string
  default     = "spark-kafka-source-"
}

variable "producer_role_names" {
  description = "IAM roles that produce to the topics (the flow runs' task role on ECS)."
  type        = list(string)
  default     = []
}

variable "consumer_role_names" {
  description = "IAM roles that read the topics (the EMR Serverless job role of the streaming job)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
