output "bucket_names" {
  description = "Bucket name per key: the lake layers, athena_results, artifacts and site."
  value       = { for k, b in aws_s3_bucket.this : k => b.id }
}

output "bucket_arns" {
  description = "Bucket ARN per key, as in bucket_names."
  value       = { for k, b in aws_s3_bucket.this : k => b.arn }
}

output "access_logs_bucket_name" {
  description = "Name of the bucket that receives S3 server access logs."
  value       = module.access_logs.bucket_name
}

output "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the lake."
  value       = aws_kms_key.this.arn
}

output "kms_key_id" {
  description = "Id of the customer-managed KMS key."
  value       = aws_kms_key.this.key_id
}

output "kms_alias_name" {
  description = "Alias of the KMS key."
  value       = aws_kms_alias.this.name
}
