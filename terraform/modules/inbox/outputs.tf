output "inbox_uris" {
  description = "s3:// URI of each inbox, the value of LAKEHOUSE_<SOURCE>_LOCATION for its source's ingest."
  value       = { for key, inbox in var.inboxes : key => "s3://${var.bucket_name}/${inbox.prefix}" }
}

output "writer_policy_arns" {
  description = "Managed policy per inbox that lets a sender put files under its prefix and nothing else (attach it to the sender's role or user)."
  value       = { for key, policy in aws_iam_policy.writer : key => policy.arn }
}

output "rule_arns" {
  description = "EventBridge rule per triggered inbox (object created under its prefix)."
  value       = { for key, rule in aws_cloudwatch_event_rule.arrived : key => rule.arn }
}

output "dead_letter_queue_url" {
  description = "SQS queue holding trigger events EventBridge could not deliver (null without triggers)."
  value       = one(aws_sqs_queue.dead_letters[*].url)
}
