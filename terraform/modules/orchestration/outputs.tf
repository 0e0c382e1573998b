output "cluster_name" {
  description = "Name of the ECS cluster (the Prefect ECS work pool's cluster)."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "worker_service_name" {
  description = "Name of the ECS service running the Prefect worker."
  value       = aws_ecs_service.worker.name
}

output "work_pool_name" {
  description = "Prefect work pool the worker polls."
  value       = var.work_pool_name
}

output "flow_run_role_arn" {
  description = "Task role ARN to set as task_role_arn in the ECS work pool's base job template."
  value       = aws_iam_role.flow_run.arn
}

output "execution_role_arn" {
  description = "Execution role ARN to set as execution_role_arn in the ECS work pool's base job template."
  value       = aws_iam_role.execution.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the worker and flow runs."
  value       = aws_cloudwatch_log_group.this.name
}

output "prefect_api_key_secret_arn" {
  description = "Secrets Manager ARN to put the Prefect API key into (aws secretsmanager put-secret-value)."
  value       = aws_secretsmanager_secret.prefect_api_key.arn
}

output "alerts_topic_arn" {
  description = "ARN of the SNS topic for pipeline alerts."
  value       = aws_sns_topic.alerts.arn
}

output "source_secret_arns" {
  description = "Secrets Manager ARN of each source's credentials, by contract name (put the JSON of its secret settings with put-secret-value)."
  value       = { for name, secret in aws_secretsmanager_secret.source : name => secret.arn }
}
