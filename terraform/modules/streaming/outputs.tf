output "cluster_arn" {
  description = "ARN of the MSK Serverless cluster."
  value       = try(aws_msk_serverless_cluster.this[0].arn, "")
}

output "bootstrap_brokers_sasl_iam" {
  description = "Bootstrap servers (TLS, IAM auth): the value of LAKEHOUSE_KAFKA_BOOTSTRAP in AWS."
  value       = try(aws_msk_serverless_cluster.this[0].bootstrap_brokers_sasl_iam, "")
}

output "producer_policy_arn" {
  description = "Policy that lets a role produce to the topics."
  value       = try(aws_iam_policy.producer[0].arn, "")
}

output "consumer_policy_arn" {
  description = "Policy that lets a role read the topics."
  value       = try(aws_iam_policy.consumer[0].arn, "")
}
