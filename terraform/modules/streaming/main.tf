data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  cluster_arn = try(aws_msk_serverless_cluster.this[0].arn, "")
  # MSK names topics and groups by the cluster's name and uuid (the last two parts of its ARN).
  cluster_path = join("/", slice(split("/", local.cluster_arn), 1, 3))
  topic_arns = [
    for t in var.topic_names : "arn:${local.partition}:kafka:${local.region}:${local.account_id}:topic/${local.cluster_path}/${t}"
  ]
  group_arn = "arn:${local.partition}:kafka:${local.region}:${local.account_id}:group/${local.cluster_path}/${var.consumer_group_prefix}*"
}

################################################################################
# MSK Serverless: the home of the stream topics (events.rsvps)
################################################################################

resource "aws_msk_serverless_cluster" "this" {
  count = var.create ? 1 : 0

  cluster_name = var.name
  tags         = var.tags

  # Private subnets only; clients reach it from the workloads' security group.
  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  # MSK Serverless speaks TLS only and authenticates with IAM (no passwords to keep).
  client_authentication {
    sasl {
      iam {
        enabled = true
      }
    }
  }
}

################################################################################
# Client policies: the ingester produces, the streaming bronze job consumes
################################################################################

data "aws_iam_policy_document" "producer" {
  statement {
    sid       = "Connect"
    actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"]
    resources = [local.cluster_arn]
  }

  statement {
    sid = "ProduceToTopics"
    actions = [
      "kafka-cluster:CreateTopic",
      "kafka-cluster:DescribeTopic",
      "kafka-cluster:WriteData",
      "kafka-cluster:WriteDataIdempotently",
    ]
    resources = local.topic_arns
  }
}

data "aws_iam_policy_document" "consumer" {
  statement {
    sid       = "Connect"
    actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"]
    resources = [local.cluster_arn]
  }

  statement {
    sid       = "ReadTopics"
    actions   = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"]
    resources = local.topic_arns
  }

  # Spark's Kafka source commits no offsets (they live in the job's checkpoint), but its
  # driver and executors join consumer groups named with this prefix.
  statement {
    sid       = "ConsumerGroups"
    actions   = ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"]
    resources = [local.group_arn]
  }
}

resource "aws_iam_policy" "producer" {
  count = var.create ? 1 : 0

  name        = "${var.name}-stream-producer"
  description = "Produce to the stream topics of ${var.name} on MSK Serverless (IAM auth)."
  policy      = data.aws_iam_policy_document.producer.json
  tags        = var.tags
}

resource "aws_iam_policy" "consumer" {
  count = var.create ? 1 : 0

  name        = "${var.name}-stream-consumer"
  description = "Read the stream topics of ${var.name} on MSK Serverless (IAM auth)."
  policy      = data.aws_iam_policy_document.consumer.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "producer" {
  for_each = var.create ? toset(var.producer_role_names) : toset([])

  role       = each.value
  policy_arn = aws_iam_policy.producer[0].arn
}

resource "aws_iam_role_policy_attachment" "consumer" {
  for_each = var.create ? toset(var.consumer_role_names) : toset([])

  role       = each.value
  policy_arn = aws_iam_policy.consumer[0].arn
}
