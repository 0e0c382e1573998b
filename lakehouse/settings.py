"""One typed settings object for every part of the lakehouse.

Values come from ``LAKEHOUSE_*`` environment variables, then a ``.env`` file, then the defaults of
the local profile (no cloud, no network). The cloud profile is filled from ``terraform output
-json`` (see :mod:`lakehouse.cloud`), never typed by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings of one lakehouse installation; pass it explicitly down the call stack."""

    model_config = SettingsConfigDict(
        env_prefix="LAKEHOUSE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    profile: Literal["local", "aws"] = Field("local", description="Where the lakehouse runs.")
    env: str = Field("dev", description="Deployment environment name (dev, prod).")
    lake_root: Path | str = Field(
        Path(".lake"),
        description="Root of the lake: a local folder, or s3://bucket[/prefix] with every layer "
        "under it.",
    )
    work_dir: Path | None = Field(
        None,
        description="Local folder for what needs a disk (DuckDB files, dbt target, site build, "
        "locks) when the lake is in S3; default: the lake root if local, else .lake.",
    )

    # Sources: the HTTP client of every source. A source's own settings (base URL,
    # credentials) are LAKEHOUSE_<SOURCE>_<NAME>, declared by its contract and read by
    # lakehouse.source_settings.
    http_timeout_s: float = Field(30.0, description="Per-request timeout for source APIs.")
    http_max_attempts: int = Field(5, description="Attempts per request before a source fails.")
    http_backoff_base_s: float = Field(1.0, description="First retry delay; doubles per attempt.")
    http_backoff_max_s: float = Field(30.0, description="Cap on one retry delay.")

    # Spark
    spark_master: str = Field("local[2]", description="Spark master URL for local runs.")
    spark_driver_memory: str = Field(
        "2g",
        pattern=r"^[1-9][0-9]*[kKmMgGtT]$",
        description="Spark driver heap for local runs, taken at start (512m, 2g).",
    )
    stream_max_records_per_batch: int = Field(
        50_000, ge=1, description="Records per micro-batch of the streaming bronze job."
    )
    stream_interval_s: float = Field(
        5.0, gt=0, description="Seconds between micro-batches of `lakehouse bronze --follow`."
    )

    # Warehouse (PostgreSQL locally, Redshift in AWS)
    warehouse_host: str = Field("127.0.0.1", description="Warehouse host.")
    warehouse_port: int = Field(0, description="Warehouse port; 0 picks a free one at start.")
    warehouse_user: str = Field("lakehouse", description="Warehouse user.")
    warehouse_password: SecretStr = Field(
        SecretStr("lakehouse-local"), description="Warehouse password (never logged)."
    )
    warehouse_database: str = Field("lakehouse", description="Warehouse database name.")
    warehouse_dir: Path | None = Field(
        None,
        description="Folder of the project's own PostgreSQL server (data, log, state); "
        "default <lake>/_state/warehouse.",
    )
    warehouse_publish: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Publish gold to the warehouse after the gate: auto = when it is running or "
        "a port is configured, always = fail the run if it cannot, never = lake only.",
    )

    # Alerts
    alert_webhook_url: str | None = Field(None, description="Webhook notified on failures.")

    # AWS profile (filled from terraform output -json)
    aws_region: str | None = Field(None, description="AWS region of the deployment.")
    buckets: dict[str, str] = Field(
        default_factory=dict, description="S3 bucket per layer (landing, bronze, ...)."
    )
    glue_databases: dict[str, str] = Field(
        default_factory=dict, description="Glue database per layer."
    )
    athena_workgroup: str | None = Field(None, description="Athena workgroup for analyst SQL.")
    emr_application_id: str | None = Field(None, description="EMR Serverless application id.")
    emr_job_role_arn: str | None = Field(None, description="EMR Serverless job role ARN.")
    redshift_workgroup: str | None = Field(None, description="Redshift Serverless workgroup.")
    alerts_topic_arn: str | None = Field(None, description="SNS topic for pipeline alerts.")
    site_bucket: str | None = Field(None, description="S3 bucket of the static site.")

    @field_validator("lake_root", mode="after")
    @classmethod
    def _folder_or_uri(cls, value: Path | str) -> Path | str:
        # A URI stays text (a Path would fold "s3://" into "s3:/"); anything else is a folder.
        from lakehouse.storage import is_uri

        return value if isinstance(value, str) and is_uri(value) else Path(value)

    @property
    def in_object_store(self) -> bool:
        """True when the lake (or a layer of it) is in an object store, not a local folder."""
        return not self.lake.is_local

    @property
    def layer_roots(self) -> dict[str, str]:
        """Per-layer roots: the Terraform buckets of the ``aws`` profile (``s3://<bucket>``)."""
        if self.profile != "aws":
            return {}
        from lakehouse.lake import LAYERS

        keys = (*LAYERS, "state")
        return {k: f"s3://{v}" for k, v in self.buckets.items() if k in keys and v}

    @property
    def lake(self):  # noqa: ANN201 - avoids an import cycle at module load
        from lakehouse.lake import Lake

        local_root = isinstance(self.lake_root, Path)
        work = self.work_dir or (self.lake_root if local_root else None)
        return Lake.at(self.lake_root, self.layer_roots, work)


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides winning."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
