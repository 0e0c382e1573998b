output "bucket_name" {
  description = "Name of the access-log bucket: the `target_bucket` of `aws_s3_bucket_logging`."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the access-log bucket."
  value       = aws_s3_bucket.this.arn
}
