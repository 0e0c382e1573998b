output "database_names" {
  description = "Glue database name per layer."
  value       = { for k, db in aws_glue_catalog_database.this : k => db.name }
}

output "database_arns" {
  description = "Glue database ARN per layer."
  value       = { for k, db in aws_glue_catalog_database.this : k => db.arn }
}

output "catalog_arn" {
  description = "ARN of the account's Glue Data Catalog in this region."
  value       = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
}

output "athena_workgroup_name" {
  description = "Name of the Athena workgroup."
  value       = aws_athena_workgroup.this.name
}

output "athena_workgroup_arn" {
  description = "ARN of the Athena workgroup."
  value       = aws_athena_workgroup.this.arn
}
