# `lakehouse_settings` is read by lakehouse.cloud: its keys are exactly the AWS fields of
# lakehouse.settings.Settings, so `lakehouse cloud settings` maps it over without renaming.
output "lakehouse_settings" {
  description = "The Python settings' aws profile: keys are Settings field names (read by `lakehouse cloud settings`)."
  value = {
    aws_region         = data.aws_region.current.name
    buckets            = module.storage.bucket_names
    glue_databases     = module.catalog.database_names
    athena_workgroup   = module.catalog.athena_workgroup_name
    emr_application_id = module.compute.application_id
    emr_job_role_arn   = module.compute.job_role_arn
    redshift_workgroup = module.warehouse.workgroup_name
    alerts_topic_arn   = module.orchestration.alerts_topic_arn
    site_bucket        = module.storage.bucket_names["site"]
  }
}

output "env" {
  description = "Name of this environment (the settings' env)."
  value       = var.env
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the lake."
  value       = module.storage.kms_key_arn
}

output "vpc_id" {
  description = "Id of the VPC."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnets, for the Prefect ECS work pool's network configuration."
  value       = module.network.private_subnet_ids
}

output "workloads_security_group_id" {
  description = "Security group for the Prefect ECS work pool's flow-run tasks."
  value       = module.network.workloads_security_group_id
}

output "emr_release_label" {
  description = "EMR release of the Spark application."
  value       = module.compute.release_label
}

output "redshift_endpoint" {
  description = "Private address of the Redshift Serverless workgroup."
  value       = module.warehouse.endpoint_address
}

output "redshift_admin_secret_arn" {
  description = "Secrets Manager ARN of the generated Redshift admin credentials."
  value       = module.warehouse.admin_password_secret_arn
}

output "spectrum_role_arn" {
  description = "IAM role for CREATE EXTERNAL SCHEMA over the Glue databases."
  value       = module.warehouse.spectrum_role_arn
}

output "ecs_cluster_name" {
  description = "ECS cluster of the Prefect work pool."
  value       = module.orchestration.cluster_name
}

output "prefect_work_pool_name" {
  description = "Prefect work pool the worker polls."
  value       = module.orchestration.work_pool_name
}

output "prefect_api_key_secret_arn" {
  description = "Secret to put the Prefect API key into before the worker can start."
  value       = module.orchestration.prefect_api_key_secret_arn
}

output "flow_run_role_arn" {
  description = "Task role ARN for the ECS work pool's base job template."
  value       = module.orchestration.flow_run_role_arn
}

output "flow_run_execution_role_arn" {
  description = "Execution role ARN for the ECS work pool's base job template."
  value       = module.orchestration.execution_role_arn
}

output "source_secret_arns" {
  description = "Secrets Manager ARN of each source's credentials, by contract name (put the values with aws secretsmanager put-secret-value)."
  value       = module.orchestration.source_secret_arns
}

output "kafka_bootstrap" {
  description = "Bootstrap servers of the stream topics (MSK Serverless, IAM auth): LAKEHOUSE_KAFKA_BOOTSTRAP."
  value       = module.streaming.bootstrap_brokers_sasl_iam
}

output "inbox_uris" {
  description = "s3:// URI of each file inbox, by source: the value of LAKEHOUSE_<SOURCE>_LOCATION for its ingest."
  value       = module.inbox.inbox_uris
}

# Read by `lakehouse cloud settings`, which writes these lines into the .env the flow runs read
# (the image's), after the settings' own: one variable per file inbox, named for its source.
output "flow_run_environment" {
  description = "Further LAKEHOUSE_* variables of the flow runs, by name: each file inbox as LAKEHOUSE_<SOURCE>_LOCATION (written to the .env by `lakehouse cloud settings`)."
  value       = { for source, uri in module.inbox.inbox_uris : "LAKEHOUSE_${upper(source)}_LOCATION" => uri }
}

output "inbox_writer_policy_arns" {
  description = "Managed policy per inbox that lets a sender put files under its prefix and nothing else."
  value       = module.inbox.writer_policy_arns
}
