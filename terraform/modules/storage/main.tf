data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # The lake layers plus the buckets that serve them. Keys are the names the Python settings use
  # (`buckets` in lakehouse.settings), so they must not change without changing the loader.
  bucket_keys = concat(var.layers, ["athena_results", "artifacts", "site"])

  # Account id and region in the name keep bucket names globally unique without random suffixes,
  # so a re-created env gets the same names back.
  buckets = {
    for key in local.bucket_keys :
    key => "${var.name}-${replace(key, "_", "-")}-${local.account_id}-${local.region}"
  }
  logs_bucket = "${var.name}-access-logs-${local.account_id}-${local.region}"
}

################################################################################
# KMS key shared by the lake buckets, logs, secrets and topics of the deployment
################################################################################

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy's "Resource": "*" means this key only; the account root statement is AWS's required default.
  #checkov:skip=CKV_AWS_111:A key policy's "Resource": "*" means this key only; write access stays with principals of this account.
  #checkov:skip=CKV_AWS_356:A key policy's "Resource": "*" means this key only, so there is nothing narrower to name.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogs"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  statement {
    sid       = "AlertPublishers"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Lakehouse ${var.name}: lake buckets, logs, secrets and alerts"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# Access-log bucket
################################################################################

module "access_logs" {
  source = "../access_logs"

  bucket_name                        = local.logs_bucket
  retention_days                     = var.access_log_retention_days
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  force_destroy                      = var.force_destroy
  tags                               = merge(var.tags, { Layer = "access_logs" })
}

# The log bucket's resources lived in this module before the access_logs module owned them.
moved {
  from = aws_s3_bucket.logs
  to   = module.access_logs.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.logs
  to   = module.access_logs.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.logs
  to   = module.access_logs.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.logs
  to   = module.access_logs.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.logs
  to   = module.access_logs.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.logs
  to   = module.access_logs.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_notification.logs
  to   = module.access_logs.aws_s3_bucket_notification.this
}

moved {
  from = aws_s3_bucket_policy.logs
  to   = module.access_logs.aws_s3_bucket_policy.this
}

################################################################################
# Lake buckets: one per layer, plus Athena results, artifacts (job code, EMR logs) and the site
################################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; versioning plus noncurrent retention is the recovery path, replication an operator's choice.
  for_each = local.buckets

  bucket        = each.value
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = each.value, Layer = each.key })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    # Bucket keys cut KMS request costs by orders of magnitude for Spark's many small reads.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each = aws_s3_bucket.this

  bucket        = each.value.id
  target_bucket = module.access_logs.bucket_name
  target_prefix = "${each.key}/"
}

resource "aws_s3_bucket_notification" "this" {
  for_each = aws_s3_bucket.this

  # EventBridge notifications let a deployment trigger flows on new landing objects without
  # changing the bucket again.
  bucket      = each.value.id
  eventbridge = true
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Landing is immutable and read once by the bronze job, then only for replays: it moves to
  # cheaper classes as it ages.
  dynamic "rule" {
    for_each = each.key == "landing" ? [1] : []

    content {
      id     = "landing-to-cheaper-storage"
      status = "Enabled"

      filter {}

      transition {
        days          = var.landing_infrequent_access_days
        storage_class = "STANDARD_IA"
      }

      transition {
        days          = var.landing_glacier_days
        storage_class = "GLACIER_IR"
      }
    }
  }

  # Athena results are caches of query output; nobody reads them after a few days.
  dynamic "rule" {
    for_each = each.key == "athena_results" ? [1] : []

    content {
      id     = "expire-query-results"
      status = "Enabled"

      filter {}

      expiration {
        days = var.athena_results_expiration_days
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]

  lifecycle {
    precondition {
      condition     = var.landing_glacier_days >= var.landing_infrequent_access_days + 30
      error_message = "landing_glacier_days must be at least 30 days after landing_infrequent_access_days (S3 keeps STANDARD_IA objects 30 days)."
    }
  }
}

data "aws_iam_policy_document" "this" {
  for_each = aws_s3_bucket.this

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyOutdatedTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  policy = data.aws_iam_policy_document.this[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
