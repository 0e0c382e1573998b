# dev: small, cheap, and `terraform destroy` leaves nothing behind.
env = "dev"

force_destroy                      = true
kms_deletion_window_days           = 7
noncurrent_version_expiration_days = 7
access_log_retention_days          = 30
log_retention_days                 = 30
secret_recovery_window_days        = 0

single_nat_gateway = true

athena_bytes_scanned_cutoff_per_query = 1073741824 # 1 GiB

emr_max_cpu    = "8 vCPU"
emr_max_memory = "32 GB"

redshift_base_capacity         = 8
redshift_max_capacity          = 16
redshift_max_rpu_hours_per_day = 8
