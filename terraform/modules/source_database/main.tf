data "aws_region" "current" {}

locals {
  region         = data.aws_region.current.name
  create_capture = var.create_capture
  container      = "kafka-connect"
  # Who may reach the database: the pipeline's tasks, and the capture when it exists. Counts
  # (not for_each) because the security group ids are only known after apply.
  database_clients = concat(var.client_security_group_ids, aws_security_group.capture[*].id)
  cidr_count       = length(var.database_cidr_blocks)
  # The contract's default for capture: cdc (lakehouse/contracts/__init__.py ChangeCapture).
  topic_prefix = coalesce(var.topic_prefix, var.source_name)
  # Names the capture uses in Kafka (lakehouse.kafka.connect.connect_names and
  # lakehouse.sources.postgres_cdc.heartbeat_topic): the Connect cluster's group and its
  # configs/offsets/status topics, and Debezium's heartbeat topic.
  connect_group   = "_connect.${local.topic_prefix}"
  heartbeat_topic = "__debezium-heartbeat.${local.topic_prefix}"
  # The code reads these (lakehouse.kafka, lakehouse.settings.Settings.work_dir, the connect
  # worker's heap); tests/unit/test_terraform_structure.py holds them to that.
  capture_environment = {
    LAKEHOUSE_KAFKA_BOOTSTRAP = var.kafka_bootstrap
    LAKEHOUSE_KAFKA_AUTH      = "iam"
    # The root filesystem is read-only: the worker's folder goes to the task's /tmp volume.
    LAKEHOUSE_WORK_DIR = "/tmp/lakehouse"
    KAFKA_HEAP_OPTS    = "-Xms256m -Xmx${floor(var.capture_memory / 2)}m"
  }
}

################################################################################
# Network reach: the pipeline's tasks (polling) to the operational database
################################################################################

resource "aws_vpc_security_group_egress_rule" "clients_to_database" {
  count = length(var.client_security_group_ids) * local.cidr_count

  security_group_id = var.client_security_group_ids[floor(count.index / local.cidr_count)]
  description       = "PostgreSQL of the ${var.source_name} source (polling)"
  ip_protocol       = "tcp"
  from_port         = var.database_port
  to_port           = var.database_port
  cidr_ipv4         = var.database_cidr_blocks[count.index % local.cidr_count]
  tags              = var.tags
}

# When the database is an RDS instance of this VPC (or a peered one that allows references), its
# own security group lets the clients in; otherwise its owner opens the CIDRs of the subnets.
resource "aws_vpc_security_group_ingress_rule" "database_from_clients" {
  count = var.database_security_group_id == null ? 0 : length(var.client_security_group_ids) + (local.create_capture ? 1 : 0)

  security_group_id            = var.database_security_group_id
  description                  = "PostgreSQL from the lakehouse (${var.source_name} polling and capture)"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = local.database_clients[count.index]
  tags                         = var.tags
}

################################################################################
# Capture home: Kafka Connect with Debezium on ECS Fargate
################################################################################

resource "aws_security_group" "capture" {
  count = local.create_capture ? 1 : 0

  name_prefix = "${var.name}-${var.source_name}-capture-"
  description = "Kafka Connect (Debezium) of ${var.source_name}: no ingress; PostgreSQL, Kafka and HTTPS egress"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-${var.source_name}-capture" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "capture_database" {
  for_each = local.create_capture ? toset(var.database_cidr_blocks) : toset([])

  security_group_id = aws_security_group.capture[0].id
  description       = "PostgreSQL logical replication (pgoutput)"
  ip_protocol       = "tcp"
  from_port         = var.database_port
  to_port           = var.database_port
  cidr_ipv4         = each.value
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "capture_kafka" {
  for_each = local.create_capture ? toset(var.kafka_cidr_blocks) : toset([])

  security_group_id = aws_security_group.capture[0].id
  description       = "Kafka brokers (MSK, IAM authentication)"
  ip_protocol       = "tcp"
  from_port         = var.kafka_port
  to_port           = var.kafka_port
  cidr_ipv4         = each.value
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "capture_https" {
  count = local.create_capture ? 1 : 0

  security_group_id = aws_security_group.capture[0].id
  description       = "HTTPS to AWS APIs (logs, secrets, image pull) inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "capture" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable: prod keeps a year, dev keeps less by choice.
  count = local.create_capture ? 1 : 0

  name              = "/ecs/${var.name}/${var.source_name}-capture"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Execution: pull the image, write logs and hand the DSN secret to the container.
data "aws_iam_policy_document" "execution" {
  count = local.create_capture ? 1 : 0

  statement {
    sid       = "ReadDsnSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.dsn_secret_arn]
  }

  statement {
    sid       = "DecryptSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.capture[0].arn}:*"]
  }

  statement {
    sid       = "PullImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = var.ecr_repository_arns
  }

  statement {
    sid = "EcrToken"
    # GetAuthorizationToken has no resource-level permissions.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "execution" {
  count = local.create_capture ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 16)}-cdc-exec-"
  description        = "ECS execution role of the ${var.source_name} capture: image, logs, DSN secret"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "execution" {
  count = local.create_capture ? 1 : 0

  name   = "execution"
  role   = aws_iam_role.execution[0].id
  policy = data.aws_iam_policy_document.execution[0].json
}

# The task: Kafka Connect (IAM auth) writes the change events and heartbeats, and keeps its
# configuration, offsets and status in topics of its own; its worker joins one group. MSK names
# topics and groups under the cluster's name and uuid (the cluster ARN's last two parts).
data "aws_iam_policy_document" "task" {
  count = local.create_capture ? 1 : 0

  statement {
    sid = "ConnectToCluster"
    # Kafka clients produce idempotently by default, which IAM grants on the cluster.
    actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"]
    resources = [var.kafka_cluster_arn]
  }

  statement {
    sid = "ChangeEventTopics"
    actions = [
      "kafka-cluster:CreateTopic",
      "kafka-cluster:DescribeTopic",
      "kafka-cluster:WriteData",
    ]
    resources = [
      "${replace(var.kafka_cluster_arn, ":cluster/", ":topic/")}/${local.topic_prefix}.*",
      "${replace(var.kafka_cluster_arn, ":cluster/", ":topic/")}/${local.heartbeat_topic}",
    ]
  }

  statement {
    sid = "ConnectTopics"
    actions = [
      "kafka-cluster:CreateTopic",
      "kafka-cluster:DescribeTopic",
      "kafka-cluster:DescribeTopicDynamicConfiguration",
      "kafka-cluster:ReadData",
      "kafka-cluster:WriteData",
    ]
    resources = ["${replace(var.kafka_cluster_arn, ":cluster/", ":topic/")}/${local.connect_group}.*"]
  }

  statement {
    sid       = "ConnectGroup"
    actions   = ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"]
    resources = ["${replace(var.kafka_cluster_arn, ":cluster/", ":group/")}/${local.connect_group}"]
  }
}

resource "aws_iam_role" "task" {
  count = local.create_capture ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 16)}-cdc-task-"
  description        = "Kafka Connect (Debezium) of the ${var.source_name} source: its topics on MSK"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "task" {
  count = local.create_capture ? 1 : 0

  name   = "kafka"
  role   = aws_iam_role.task[0].id
  policy = data.aws_iam_policy_document.task[0].json
}

resource "aws_ecs_task_definition" "capture" {
  count = local.create_capture ? 1 : 0

  family                   = "${var.name}-${var.source_name}-capture"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.capture_cpu
  memory                   = var.capture_memory
  execution_role_arn       = aws_iam_role.execution[0].arn
  task_role_arn            = aws_iam_role.task[0].arn
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  lifecycle {
    precondition {
      condition     = var.image != null && var.kafka_bootstrap != null && var.kafka_cluster_arn != null && var.dsn_secret_arn != null
      error_message = "The capture needs image (the project's image, which has the lakehouse command), kafka_bootstrap, kafka_cluster_arn and dsn_secret_arn."
    }
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name                   = local.container
      image                  = var.image
      essential              = true
      readonlyRootFilesystem = true
      privileged             = false
      # The worker in the foreground until ECS sends SIGTERM; its configuration and offsets are
      # in Kafka, so a replaced task resumes without a second snapshot. Slot, publication and
      # topic prefix come from the source's contract in the image.
      command     = ["lakehouse", "capture", "run", var.source_name]
      environment = [for k, v in local.capture_environment : { name = k, value = v }]
      healthCheck = {
        command     = ["CMD", "lakehouse", "capture", "status", var.source_name]
        interval    = 60
        timeout     = 30
        retries     = 3
        startPeriod = 300
      }
      # The DSN (a secret) reaches the container as an environment variable, never in Terraform.
      secrets = [
        { name = "LAKEHOUSE_${upper(var.source_name)}_PG_DSN", valueFrom = "${var.dsn_secret_arn}:pg_dsn::" },
      ]
      mountPoints = [
        { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.capture[0].name
          awslogs-region        = local.region
          awslogs-stream-prefix = "capture"
        }
      }
    }
  ])
}

resource "aws_ecs_service" "capture" {
  count = local.create_capture ? 1 : 0

  name             = "${var.source_name}-capture"
  cluster          = var.ecs_cluster_arn
  task_definition  = aws_ecs_task_definition.capture[0].arn
  desired_count    = 1 # one replication slot has one reader
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  propagate_tags   = "SERVICE"
  tags             = var.tags

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.capture[0].id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # Never two connectors on one slot: the old task stops before the new one starts.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
}
