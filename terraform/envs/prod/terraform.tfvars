# prod: AZ-resilient, sized for the full load, and nothing is deleted by accident.
env = "prod"

force_destroy                      = false
kms_deletion_window_days           = 30
noncurrent_version_expiration_days = 90
access_log_retention_days          = 365
log_retention_days                 = 365
secret_recovery_window_days        = 30

single_nat_gateway = false

athena_bytes_scanned_cutoff_per_query = 10737418240 # 10 GiB

emr_max_cpu    = "32 vCPU"
emr_max_memory = "128 GB"

redshift_base_capacity         = 8
redshift_max_capacity          = 64
redshift_max_rpu_hours_per_day = 48
