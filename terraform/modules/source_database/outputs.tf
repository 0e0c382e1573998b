output "capture_security_group_id" {
  description = "Security group of the capture service (null without it)."
  value       = try(aws_security_group.capture[0].id, null)
}

output "capture_service_name" {
  description = "ECS service of Kafka Connect with Debezium (null without it)."
  value       = try(aws_ecs_service.capture[0].name, null)
}

output "capture_log_group_name" {
  description = "CloudWatch log group of the capture (null without it)."
  value       = try(aws_cloudwatch_log_group.capture[0].name, null)
}

output "client_egress_rule_ids" {
  description = "Egress rules letting the pipeline's tasks reach the database."
  value       = aws_vpc_security_group_egress_rule.clients_to_database[*].id
}
