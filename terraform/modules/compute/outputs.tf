output "application_id" {
  description = "Id of the EMR Serverless application (StartJobRun's applicationId)."
  value       = aws_emrserverless_application.this.id
}

output "application_arn" {
  description = "ARN of the EMR Serverless application."
  value       = aws_emrserverless_application.this.arn
}

output "release_label" {
  description = "EMR release of the application."
  value       = aws_emrserverless_application.this.release_label
}

output "job_role_arn" {
  description = "ARN of the job role that StartJobRun passes as executionRoleArn."
  value       = aws_iam_role.job.arn
}

output "job_role_name" {
  description = "Name of the job role."
  value       = aws_iam_role.job.name
}
