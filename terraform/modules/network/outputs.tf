output "vpc_id" {
  description = "Id of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "azs" {
  description = "Availability zones the private subnets are in."
  value       = local.azs
}

output "private_subnet_ids" {
  description = "Ids of the private subnets, one per AZ."
  value       = [for az in local.azs : aws_subnet.private[az].id]
}

output "public_subnet_ids" {
  description = "Ids of the public (NAT-only) subnets; empty without NAT."
  value       = [for az in keys(local.public_subnets) : aws_subnet.public[az].id]
}

output "workloads_security_group_id" {
  description = "Security group for EMR Serverless jobs and ECS tasks: no ingress, HTTPS egress."
  value       = aws_security_group.workloads.id
}

output "warehouse_security_group_id" {
  description = "Security group for Redshift Serverless: ingress from the workloads group only."
  value       = aws_security_group.warehouse.id
}

output "endpoints_security_group_id" {
  description = "Security group of the interface VPC endpoints."
  value       = aws_security_group.endpoints.id
}

output "s3_endpoint_prefix_list_id" {
  description = "Prefix list of the S3 gateway endpoint, for egress rules."
  value       = aws_vpc_endpoint.s3.prefix_list_id
}

output "interface_endpoint_ids" {
  description = "Interface endpoint id per AWS service."
  value       = { for s, e in aws_vpc_endpoint.interface : s => e.id }
}
