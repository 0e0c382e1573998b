output "namespace_name" {
  description = "Name of the Redshift Serverless namespace."
  value       = aws_redshiftserverless_namespace.this.namespace_name
}

output "workgroup_name" {
  description = "Name of the Redshift Serverless workgroup."
  value       = aws_redshiftserverless_workgroup.this.workgroup_name
}

output "endpoint_address" {
  description = "Private DNS name of the workgroup endpoint."
  value       = try(aws_redshiftserverless_workgroup.this.endpoint[0].address, null)
}

output "port" {
  description = "Port of the workgroup endpoint."
  value       = aws_redshiftserverless_workgroup.this.port
}

output "database_name" {
  description = "First database of the namespace."
  value       = aws_redshiftserverless_namespace.this.db_name
}

output "admin_password_secret_arn" {
  description = "Secrets Manager ARN of the generated admin credentials."
  value       = aws_redshiftserverless_namespace.this.admin_password_secret_arn
}

output "spectrum_role_arn" {
  description = "ARN of the IAM role for Spectrum external schemas (CREATE EXTERNAL SCHEMA ... IAM_ROLE)."
  value       = aws_iam_role.spectrum.arn
}

output "workgroup_arn" {
  description = "ARN of the Redshift Serverless workgroup."
  value       = aws_redshiftserverless_workgroup.this.arn
}
