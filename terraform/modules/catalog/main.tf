data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Glue database names allow only lowercase letters, digits and underscores.
  database_prefix = replace(var.name, "-", "_")
  databases       = { for layer in var.layers : layer => "${local.database_prefix}_${layer}" }

  # Lake Formation grants: one entry per (principal, layer); map keys stay known at plan time
  # even when the role ARNs are not.
  writer_grants = var.enable_lake_formation_grants ? {
    for pair in setproduct(keys(var.lake_formation_writers), var.layers) :
    "${pair[0]}/${pair[1]}" => { principal = var.lake_formation_writers[pair[0]], layer = pair[1] }
  } : {}
  reader_grants = var.enable_lake_formation_grants ? {
    for pair in setproduct(keys(var.lake_formation_readers), var.reader_layers) :
    "${pair[0]}/${pair[1]}" => { principal = var.lake_formation_readers[pair[0]], layer = pair[1] }
  } : {}
  location_grants = var.enable_lake_formation_grants ? {
    for pair in setproduct(keys(var.lake_formation_writers), var.layers) :
    "${pair[0]}/${pair[1]}" => { principal = var.lake_formation_writers[pair[0]], layer = pair[1] }
    if contains(keys(var.layer_bucket_arns), pair[1])
  } : {}
}

################################################################################
# Glue databases, one per layer
################################################################################

resource "aws_glue_catalog_database" "this" {
  for_each = local.databases

  name         = each.value
  description  = "Lakehouse ${var.name}: ${each.key} layer"
  location_uri = contains(keys(var.layer_bucket_names), each.key) ? "s3://${var.layer_bucket_names[each.key]}/" : null
  tags         = var.tags
}

# Encrypts the catalog's metadata and connection passwords. It is an account-wide, per-region
# singleton, so only one deployment per account and region may own it.
resource "aws_glue_data_catalog_encryption_settings" "this" {
  count = var.manage_catalog_encryption ? 1 : 0

  data_catalog_encryption_settings {
    connection_password_encryption {
      return_connection_password_encrypted = true
      aws_kms_key_id                       = var.kms_key_arn
    }

    encryption_at_rest {
      catalog_encryption_mode = "SSE-KMS"
      sse_aws_kms_key_id      = var.kms_key_arn
    }
  }
}

################################################################################
# Athena workgroup
################################################################################

resource "aws_athena_workgroup" "this" {
  name          = var.name
  description   = "Lakehouse ${var.name}: analyst SQL over the Glue catalog"
  state         = "ENABLED"
  force_destroy = var.force_destroy
  tags          = var.tags

  configuration {
    # Enforced: clients cannot point results elsewhere or turn encryption off.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location       = "s3://${var.athena_results_bucket_name}/${var.name}/"
      expected_bucket_owner = local.account_id

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}

################################################################################
# Lake Formation grants (where Lake Formation governs the catalog)
################################################################################

resource "aws_lakeformation_permissions" "writer_database" {
  for_each = local.writer_grants

  principal   = each.value.principal
  permissions = ["ALTER", "CREATE_TABLE", "DESCRIBE", "DROP"]

  database {
    name = aws_glue_catalog_database.this[each.value.layer].name
  }
}

resource "aws_lakeformation_permissions" "writer_tables" {
  for_each = local.writer_grants

  principal   = each.value.principal
  permissions = ["ALTER", "DELETE", "DESCRIBE", "DROP", "INSERT", "SELECT"]

  table {
    database_name = aws_glue_catalog_database.this[each.value.layer].name
    wildcard      = true
  }
}

resource "aws_lakeformation_permissions" "writer_location" {
  for_each = local.location_grants

  principal   = each.value.principal
  permissions = ["DATA_LOCATION_ACCESS"]

  data_location {
    arn = var.layer_bucket_arns[each.value.layer]
  }
}

resource "aws_lakeformation_permissions" "reader_database" {
  for_each = local.reader_grants

  principal   = each.value.principal
  permissions = ["DESCRIBE"]

  database {
    name = aws_glue_catalog_database.this[each.value.layer].name
  }
}

resource "aws_lakeformation_permissions" "reader_tables" {
  for_each = local.reader_grants

  principal   = each.value.principal
  permissions = ["DESCRIBE", "SELECT"]

  table {
    database_name = aws_glue_catalog_database.this[each.value.layer].name
    wildcard      = true
  }
}
