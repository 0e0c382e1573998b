output "state_bucket_name" {
  description = "Name of the remote-state bucket."
  value       = module.state.bucket_name
}

output "lock_table_name" {
  description = "Name of the DynamoDB lock table."
  value       = module.state.lock_table_name
}

output "state_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the state."
  value       = module.state.kms_key_arn
}

output "backend_config" {
  description = "Contents of envs/<env>/backend.hcl, with <env> to replace by dev or prod."
  value       = <<-EOT
    bucket         = "${module.state.bucket_name}"
    key            = "${var.project}/<env>/terraform.tfstate"
    region         = "${module.state.region}"
    dynamodb_table = "${module.state.lock_table_name}"
    kms_key_id     = "${module.state.kms_key_arn}"
    encrypt        = true
  EOT
}
