data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  glue_catalog_arn = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
  glue_database_arns = [
    for db in var.spectrum_database_names : "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${db}"
  ]
  glue_table_arns = [
    for db in var.spectrum_database_names : "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${db}/*"
  ]
}

################################################################################
# Spectrum role: Redshift reads the published layers through the Glue catalog
################################################################################

data "aws_iam_policy_document" "spectrum_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "spectrum" {
  statement {
    sid       = "ListPublishedBuckets"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = var.spectrum_bucket_arns
  }

  statement {
    sid       = "ReadPublishedObjects"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [for arn in var.spectrum_bucket_arns : "${arn}/*"]
  }

  statement {
    sid       = "DecryptLake"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid = "ReadGlueCatalog"
    actions = [
      "glue:BatchGetPartition",
      "glue:GetDatabase",
      "glue:GetDatabases",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:GetTable",
      "glue:GetTables",
    ]
    resources = concat([local.glue_catalog_arn], local.glue_database_arns, local.glue_table_arns)
  }

  dynamic "statement" {
    for_each = var.enable_lake_formation ? [1] : []

    content {
      sid = "LakeFormationCredentials"
      # GetDataAccess has no resource-level permissions; Lake Formation's own grants scope it.
      actions   = ["lakeformation:GetDataAccess"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role" "spectrum" {
  name_prefix        = "${substr(var.name, 0, 22)}-spectrum-"
  description        = "Redshift Spectrum over the Glue catalog of ${var.name}: read-only on the published layers"
  assume_role_policy = data.aws_iam_policy_document.spectrum_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "spectrum" {
  name   = "spectrum-read"
  role   = aws_iam_role.spectrum.id
  policy = data.aws_iam_policy_document.spectrum.json
}

################################################################################
# Redshift Serverless
################################################################################

resource "aws_redshiftserverless_namespace" "this" {
  namespace_name = var.name
  db_name        = var.database_name
  admin_username = var.admin_username
  # Redshift generates the admin password and keeps it in Secrets Manager: it never passes
  # through Terraform state or variables.
  manage_admin_password            = true
  admin_password_secret_kms_key_id = var.kms_key_arn
  kms_key_id                       = var.kms_key_arn
  iam_roles                        = [aws_iam_role.spectrum.arn]
  default_iam_role_arn             = aws_iam_role.spectrum.arn
  log_exports                      = ["connectionlog", "useractivitylog", "userlog"]
  tags                             = var.tags
}

resource "aws_redshiftserverless_workgroup" "this" {
  namespace_name       = aws_redshiftserverless_namespace.this.namespace_name
  workgroup_name       = var.name
  base_capacity        = var.base_capacity
  max_capacity         = var.max_capacity
  port                 = var.port
  enhanced_vpc_routing = true
  publicly_accessible  = false
  subnet_ids           = var.subnet_ids
  security_group_ids   = var.security_group_ids
  tags                 = var.tags

  config_parameter {
    parameter_key   = "require_ssl"
    parameter_value = "true"
  }

  config_parameter {
    parameter_key   = "enable_user_activity_logging"
    parameter_value = "true"
  }
}

# A daily cap on compute: a runaway dashboard cannot burn the month's budget.
resource "aws_redshiftserverless_usage_limit" "this" {
  resource_arn  = aws_redshiftserverless_workgroup.this.arn
  usage_type    = "serverless-compute"
  amount        = var.max_rpu_hours_per_day
  period        = "daily"
  breach_action = "deactivate"
}
