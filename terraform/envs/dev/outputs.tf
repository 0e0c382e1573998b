# The module's outputs under the same names: `lakehouse cloud settings`, prefect.yaml and the
# README read them from this root (a test holds the two lists equal).

output "lakehouse_settings" {
  description = "The Python settings' aws profile: keys are Settings field names (read by `lakehouse cloud settings`)."
  value       = module.lakehouse.lakehouse_settings
}

output "env" {
  description = "Name of this environment (the settings' env)."
  value       = module.lakehouse.env
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the lake."
  value       = module.lakehouse.kms_key_arn
}

output "vpc_id" {
  description = "Id of the VPC."
  value       = module.lakehouse.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnets, for the Prefect ECS work pool's network configuration."
  value       = module.lakehouse.private_subnet_ids
}

output "workloads_security_group_id" {
  description = "Security group for the Prefect ECS work pool's flow-run tasks."
  value       = module.lakehouse.workloads_security_group_id
}

output "emr_release_label" {
  description = "EMR release of the Spark application."
  value       = module.lakehouse.emr_release_label
}

output "redshift_endpoint" {
  description = "Private address of the Redshift Serverless workgroup."
  value       = module.lakehouse.redshift_endpoint
}

output "redshift_admin_secret_arn" {
  description = "Secrets Manager ARN of the generated Redshift admin credentials."
  value       = module.lakehouse.redshift_admin_secret_arn
}

output "spectrum_role_arn" {
  description = "IAM role for CREATE EXTERNAL SCHEMA over the Glue databases."
  value       = module.lakehouse.spectrum_role_arn
}

output "ecs_cluster_name" {
  description = "ECS cluster of the Prefect work pool."
  value       = module.lakehouse.ecs_cluster_name
}

output "prefect_work_pool_name" {
  description = "Prefect work pool the worker polls."
  value       = module.lakehouse.prefect_work_pool_name
}

output "prefect_api_key_secret_arn" {
  description = "Secret to put the Prefect API key into before the worker can start."
  value       = module.lakehouse.prefect_api_key_secret_arn
}

output "flow_run_role_arn" {
  description = "Task role ARN for the ECS work pool's base job template."
  value       = module.lakehouse.flow_run_role_arn
}

output "flow_run_execution_role_arn" {
  description = "Execution role ARN for the ECS work pool's base job template."
  value       = module.lakehouse.flow_run_execution_role_arn
}

output "source_secret_arns" {
  description = "Secrets Manager ARN of each source's credentials, by contract name (put the values with aws secretsmanager put-secret-value)."
  value       = module.lakehouse.source_secret_arns
}

output "kafka_bootstrap" {
  description = "Bootstrap servers of the stream topics (MSK Serverless, IAM auth): LAKEHOUSE_KAFKA_BOOTSTRAP."
  value       = module.lakehouse.kafka_bootstrap
}

output "inbox_uris" {
  description = "s3:// URI of each file inbox, by source: the value of LAKEHOUSE_<SOURCE>_LOCATION for its ingest."
  value       = module.lakehouse.inbox_uris
}

output "flow_run_environment" {
  description = "Further LAKEHOUSE_* variables of the flow runs, by name: each file inbox as LAKEHOUSE_<SOURCE>_LOCATION (written to the .env by `lakehouse cloud settings`)."
  value       = module.lakehouse.flow_run_environment
}

output "inbox_writer_policy_arns" {
  description = "Managed policy per inbox that lets a sender put files under its prefix and nothing else."
  value       = module.lakehouse.inbox_writer_policy_arns
}
