data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  # Inboxes whose arrivals start their source's ingest deployment at once; the others are
  # picked up by the deployment's schedule (the immigration flow's is daily at 07:00 UTC).
  triggered = {
    for key, inbox in var.inboxes : key => inbox
    if inbox.prefect_deployment_id != null && var.prefect_api_url != null
  }
  any_trigger = length(local.triggered) > 0
  api_url     = var.prefect_api_url == null ? "" : trimsuffix(var.prefect_api_url, "/")
}

################################################################################
# Senders: each inbox's writer policy reaches its own prefix only
################################################################################

data "aws_iam_policy_document" "writer" {
  for_each = var.inboxes

  statement {
    sid       = "PutFilesUnderThePrefix"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${var.bucket_arn}/${each.value.prefix}*"]
  }

  statement {
    sid       = "ListThePrefix"
    actions   = ["s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${each.value.prefix}*"]
    }
  }

  statement {
    # Multipart uploads of large files (an I94 month is ~500 MB) need Decrypt too.
    sid       = "EncryptWithTheLakeKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "writer" {
  for_each = var.inboxes

  name        = "${var.name}-inbox-${replace(each.key, "_", "-")}-writer"
  description = "Put files into s3://${var.bucket_name}/${each.value.prefix} and nothing else."
  policy      = data.aws_iam_policy_document.writer[each.key].json
  tags        = var.tags
}

################################################################################
# Arrivals: S3 "Object Created" under a prefix -> the source's ingest deployment
################################################################################

resource "aws_cloudwatch_event_rule" "arrived" {
  for_each = local.triggered

  name        = "${var.name}-inbox-${replace(each.key, "_", "-")}"
  description = "A file arrived under s3://${var.bucket_name}/${each.value.prefix}: run the ${each.key} ingest."
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [var.bucket_name] }
      object = { key = [{ prefix = each.value.prefix }] }
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_connection" "prefect" {
  count = local.any_trigger ? 1 : 0

  name               = "${var.name}-prefect-api"
  description        = "Prefect API key for creating flow runs of ingest deployments."
  authorization_type = "API_KEY"

  # The API key never passes through Terraform (nor its state): the connection is created with
  # a placeholder and the key is set once with `aws events update-connection` (README).
  auth_parameters {
    api_key {
      key   = "Authorization"
      value = "Bearer set-with-aws-events-update-connection"
    }
  }

  lifecycle {
    ignore_changes = [auth_parameters]
  }
}

resource "aws_cloudwatch_event_api_destination" "create_flow_run" {
  for_each = local.triggered

  name                             = "${var.name}-ingest-${replace(each.key, "_", "-")}"
  description                      = "Prefect: create a flow run of the ${each.key} ingest deployment."
  invocation_endpoint              = "${local.api_url}/deployments/${each.value.prefect_deployment_id}/create_flow_run"
  http_method                      = "POST"
  invocation_rate_limit_per_second = 1
  connection_arn                   = aws_cloudwatch_event_connection.prefect[0].arn
}

resource "aws_cloudwatch_event_target" "create_flow_run" {
  for_each = local.triggered

  rule      = aws_cloudwatch_event_rule.arrived[each.key].name
  target_id = "prefect-create-flow-run"
  arn       = aws_cloudwatch_event_api_destination.create_flow_run[each.key].arn
  role_arn  = aws_iam_role.events[0].arn

  # One run per object version: EventBridge delivers at least once, and Prefect creates no
  # second run for an idempotency key it has seen. Files dropped together start several runs;
  # the ingest lands each file once (same bytes, no-op) and the deployment runs one at a time.
  input_transformer {
    input_paths = {
      bucket = "$.detail.bucket.name"
      key    = "$.detail.object.key"
      etag   = "$.detail.object.etag"
    }
    input_template = <<-EOT
      {"tags": ["inbox", "${each.key}"], "idempotency_key": "s3://<bucket>/<key>@<etag>"}
    EOT
  }

  retry_policy {
    maximum_event_age_in_seconds = var.max_event_age_seconds
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letters[0].arn
  }
}

data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "events" {
  count = local.any_trigger ? 1 : 0

  name               = "${var.name}-inbox-events"
  description        = "EventBridge invoking the Prefect API for inbox arrivals."
  assume_role_policy = data.aws_iam_policy_document.events_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "events" {
  count = local.any_trigger ? 1 : 0

  statement {
    actions   = ["events:InvokeApiDestination"]
    resources = [for destination in aws_cloudwatch_event_api_destination.create_flow_run : destination.arn]
  }
}

resource "aws_iam_role_policy" "events" {
  count = local.any_trigger ? 1 : 0

  name   = "invoke-prefect-api"
  role   = aws_iam_role.events[0].id
  policy = data.aws_iam_policy_document.events[0].json
}

################################################################################
# Undeliverable triggers: a dead-letter queue and an alarm on it
################################################################################

resource "aws_sqs_queue" "dead_letters" {
  count = local.any_trigger ? 1 : 0

  name                      = "${var.name}-inbox-dead-letters"
  kms_master_key_id         = var.kms_key_arn
  message_retention_seconds = 1209600 # 14 days, SQS's longest
  tags                      = var.tags
}

data "aws_iam_policy_document" "dead_letters" {
  count = local.any_trigger ? 1 : 0

  statement {
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.arrived : rule.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letters" {
  count = local.any_trigger ? 1 : 0

  queue_url = aws_sqs_queue.dead_letters[0].id
  policy    = data.aws_iam_policy_document.dead_letters[0].json
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  count = local.any_trigger && var.alerts_topic_arn != null ? 1 : 0

  alarm_name          = "${var.name}-inbox-trigger-failed"
  alarm_description   = "An inbox arrival could not start its ingest deployment; the file waits for the next scheduled run. Events are in ${aws_sqs_queue.dead_letters[0].name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letters[0].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alerts_topic_arn]
  tags                = var.tags
}
