data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  cluster_arn      = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:cluster/${var.name}"
  worker_container = "prefect-worker"
}

################################################################################
# Alerts
################################################################################

resource "aws_sns_topic" "alerts" {
  name              = "${var.name}-pipeline-alerts"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "alerts_email" {
  for_each = toset(var.alert_emails)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}

################################################################################
# Logs and the Prefect API key
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable: prod keeps a year, dev keeps less by choice.
  name              = "/ecs/${var.name}/prefect"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_secretsmanager_secret" "prefect_api_key" {
  #checkov:skip=CKV2_AWS_57:Prefect Cloud issues API keys; no Lambda here can mint a new one, so rotation is done in Prefect Cloud and put here with put-secret-value.
  name_prefix             = "${var.name}/prefect-api-key-"
  description             = "Prefect Cloud API key of the ${var.name} worker; the value is put out of band, never through Terraform."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = var.tags
}

# Credentials of the sources (the flights source's Amadeus API key and secret, ...): one secret
# per contract, a JSON object of that contract's secret settings, put out of band and read by
# the flow runs (LAKEHOUSE_<SOURCE>_<SETTING>), never by Terraform.
resource "aws_secretsmanager_secret" "source" {
  #checkov:skip=CKV2_AWS_57:The APIs issue these credentials (Amadeus API key and secret); no Lambda here can mint new ones, so they are rotated at the API's portal and put here with put-secret-value.
  for_each = var.source_secrets

  name_prefix             = "${var.name}/sources/${each.key}-"
  description             = each.value.description
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = merge(var.tags, { source = each.key })
}

################################################################################
# ECS cluster
################################################################################

resource "aws_ecs_cluster" "this" {
  name = var.name
  tags = var.tags

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  configuration {
    execute_command_configuration {
      kms_key_id = var.kms_key_arn
      logging    = "OVERRIDE"

      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.this.name
      }
    }
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

################################################################################
# IAM: execution role (pull, logs, secret), worker role (launch flow runs), flow-run role
################################################################################

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "ReadPrefectApiKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.prefect_api_key.arn]
  }

  statement {
    sid       = "DecryptWithLakeKey"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  dynamic "statement" {
    for_each = length(var.ecr_repository_arns) > 0 ? [1] : []

    content {
      sid       = "PullImages"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = var.ecr_repository_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.ecr_repository_arns) > 0 ? [1] : []

    content {
      sid = "EcrLogin"
      # GetAuthorizationToken has no resource-level permissions.
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name_prefix        = "${substr(var.name, 0, 22)}-ecs-exec-"
  description        = "ECS execution role of ${var.name}: image pull, logs and the Prefect API key"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# The flow runs that the worker starts run with this role: the pipeline's own permissions.
data "aws_iam_policy_document" "flow_run" {
  statement {
    sid       = "ListLakeBuckets"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = var.lake_bucket_arns
  }

  statement {
    sid       = "ReadWriteLake"
    actions   = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
    resources = [for arn in var.lake_bucket_arns : "${arn}/*"]
  }

  statement {
    sid       = "UseLakeKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }

  statement {
    sid = "RunSparkJobs"
    actions = [
      "emr-serverless:CancelJobRun",
      "emr-serverless:GetApplication",
      "emr-serverless:GetDashboardForJobRun",
      "emr-serverless:GetJobRun",
      "emr-serverless:StartApplication",
      "emr-serverless:StartJobRun",
    ]
    resources = [var.emr_application_arn, "${var.emr_application_arn}/jobruns/*"]
  }

  statement {
    sid       = "PassSparkJobRole"
    actions   = ["iam:PassRole"]
    resources = [var.emr_job_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["emr-serverless.amazonaws.com"]
    }
  }

  statement {
    sid = "QueryAthena"
    actions = [
      "athena:GetQueryExecution",
      "athena:GetQueryResults",
      "athena:GetWorkGroup",
      "athena:StartQueryExecution",
      "athena:StopQueryExecution",
    ]
    resources = [var.athena_workgroup_arn]
  }

  statement {
    sid = "ManageGlueTables"
    actions = [
      "glue:BatchCreatePartition",
      "glue:BatchGetPartition",
      "glue:CreateTable",
      "glue:DeleteTable",
      "glue:GetDatabase",
      "glue:GetDatabases",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:GetTable",
      "glue:GetTables",
      "glue:UpdateTable",
    ]
    resources = concat(
      ["arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"],
      [for db in var.glue_database_names : "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${db}"],
      [for db in var.glue_database_names : "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${db}/*"],
    )
  }

  dynamic "statement" {
    for_each = length(var.source_secrets) > 0 ? [1] : []

    content {
      sid       = "ReadSourceCredentials"
      actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
      resources = [for secret in aws_secretsmanager_secret.source : secret.arn]
    }
  }

  dynamic "statement" {
    for_each = var.redshift_workgroup_arn == null ? [] : [1]

    content {
      sid       = "WarehouseCredentials"
      actions   = ["redshift-serverless:GetCredentials", "redshift-serverless:GetWorkgroup"]
      resources = [var.redshift_workgroup_arn]
    }
  }
}

resource "aws_iam_role" "flow_run" {
  name_prefix        = "${substr(var.name, 0, 22)}-flow-run-"
  description        = "Task role of ${var.name}'s Prefect flow runs: the lake, Spark jobs, Athena, alerts"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "flow_run" {
  name   = "pipeline"
  role   = aws_iam_role.flow_run.id
  policy = data.aws_iam_policy_document.flow_run.json
}

# The worker only launches and watches flow-run tasks in this cluster (prefect-aws ECS worker).
data "aws_iam_policy_document" "worker" {
  statement {
    sid = "RegisterFlowRunTaskDefinitions"
    # Task definitions have no resource-level permissions for these actions.
    actions   = ["ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid       = "RunFlowRunTasks"
    actions   = ["ecs:RunTask", "ecs:TagResource"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "WatchFlowRunTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${var.name}/*"]
  }

  statement {
    sid       = "PassFlowRunRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution.arn, aws_iam_role.flow_run.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid = "DescribeNetwork"
    # Describe calls on EC2 have no resource-level permissions.
    actions   = ["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadFlowRunLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role" "worker" {
  name_prefix        = "${substr(var.name, 0, 22)}-prefect-wk-"
  description        = "Task role of ${var.name}'s Prefect ECS worker: launches flow-run tasks"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "worker" {
  name   = "launch-flow-runs"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.worker.json
}

################################################################################
# Prefect worker service
################################################################################

resource "aws_ecs_task_definition" "worker" {
  family                   = "${var.name}-prefect-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.worker_cpu
  memory                   = var.worker_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.worker.arn
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # The root filesystem is read-only; Prefect's home and temp files go to task storage.
  volume {
    name = "prefect-home"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name                   = local.worker_container
      image                  = var.worker_image
      essential              = true
      readonlyRootFilesystem = true
      privileged             = false
      command                = ["prefect", "worker", "start", "--pool", var.work_pool_name, "--type", "ecs"]
      environment = [
        { name = "PREFECT_API_URL", value = var.prefect_api_url },
        { name = "PREFECT_HOME", value = "/var/prefect" },
        { name = "DO_NOT_TRACK", value = "1" },
      ]
      secrets = [
        { name = "PREFECT_API_KEY", valueFrom = aws_secretsmanager_secret.prefect_api_key.arn },
      ]
      mountPoints = [
        { sourceVolume = "prefect-home", containerPath = "/var/prefect", readOnly = false },
        { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "worker"
        }
      }
    }
  ])
}

resource "aws_ecs_service" "worker" {
  name             = "prefect-worker"
  cluster          = aws_ecs_cluster.this.id
  task_definition  = aws_ecs_task_definition.worker.arn
  desired_count    = var.worker_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  propagate_tags   = "SERVICE"
  tags             = var.tags

  # The worker polls Prefect Cloud; it serves nothing, so it has no public IP and no load balancer.
  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}
