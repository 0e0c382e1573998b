data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  glue_catalog_arn = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
  glue_database_arns = [
    for db in var.glue_database_names : "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${db}"
  ]
  glue_table_arns = [
    for db in var.glue_database_names : "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${db}/*"
  ]

  read_bucket_arns  = distinct(concat(var.read_bucket_arns, var.write_bucket_arns))
  write_bucket_arns = var.write_bucket_arns
}

################################################################################
# EMR Serverless application
################################################################################

resource "aws_emrserverless_application" "this" {
  name = var.name
  # Must carry the Spark and Delta versions that pyproject.toml pins for local runs; a test
  # (tests/unit/test_terraform_emr_release.py) holds the two together.
  release_label = var.release_label
  type          = "spark"
  architecture  = var.architecture
  tags          = var.tags

  maximum_capacity {
    cpu    = var.max_cpu
    memory = var.max_memory
  }

  auto_start_configuration {
    enabled = true
  }

  # Stopping when idle keeps the cost of a quiet env at zero.
  auto_stop_configuration {
    enabled              = true
    idle_timeout_minutes = var.idle_timeout_minutes
  }

  network_configuration {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }
}

################################################################################
# Job role: what the Spark jobs may touch, and nothing else
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["emr-serverless.amazonaws.com"]
    }

    # Only job runs of this account's applications may take the role (confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:emr-serverless:${local.region}:${local.account_id}:/applications/*"]
    }
  }
}

data "aws_iam_policy_document" "job" {
  statement {
    sid       = "ListLakeBuckets"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = local.read_bucket_arns
  }

  statement {
    sid       = "ReadLake"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [for arn in local.read_bucket_arns : "${arn}/*"]
  }

  statement {
    sid       = "WriteLake"
    actions   = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"]
    resources = [for arn in local.write_bucket_arns : "${arn}/*"]
  }

  statement {
    sid       = "UseLakeKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid = "GlueCatalog"
    actions = [
      "glue:BatchCreatePartition",
      "glue:BatchDeletePartition",
      "glue:BatchGetPartition",
      "glue:CreatePartition",
      "glue:CreateTable",
      "glue:DeletePartition",
      "glue:DeleteTable",
      "glue:GetDatabase",
      "glue:GetDatabases",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:GetTable",
      "glue:GetTables",
      "glue:UpdatePartition",
      "glue:UpdateTable",
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

resource "aws_iam_role" "job" {
  name_prefix        = "${substr(var.name, 0, 24)}-emr-job-"
  description        = "EMR Serverless job role of ${var.name}: the lake buckets, its KMS key and its Glue databases"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "job" {
  name   = "lake-access"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.job.json
}
