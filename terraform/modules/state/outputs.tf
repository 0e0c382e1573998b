output "bucket_name" {
  description = "Name of the state bucket (backend `bucket`)."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the state bucket."
  value       = aws_s3_bucket.this.arn
}

output "lock_table_name" {
  description = "Name of the DynamoDB lock table (backend `dynamodb_table`)."
  value       = aws_dynamodb_table.lock.name
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts state (backend `kms_key_id`)."
  value       = aws_kms_key.this.arn
}

output "region" {
  description = "Region of the state bucket (backend `region`)."
  value       = local.region
}
