"""The four dbt targets of one project: ``dev`` (DuckDB on the lake), ``warehouse`` (the
project's PostgreSQL), ``athena`` and ``redshift``.

``dbt_project/profiles.yml`` reads each target's connection from ``DBT_*`` environment
variables; :func:`target_env` derives them from Settings (and, for ``warehouse``, from the
running server), so nothing is typed twice. Passwords travel only as ``DBT_ENV_SECRET_*``
variables, which dbt scrubs from its logs.
"""

from __future__ import annotations

from collections.abc import Sequence

from lakehouse.dbt import DbtResult, environment, run_dbt
from lakehouse.settings import Settings
from lakehouse.warehouse.server import WarehouseError, resolve_target

TARGETS = ("dev", "warehouse", "athena", "redshift")
# sqlglot dialect of each target's SQL (Athena's engine v3 is Trino).
SQL_DIALECTS = {"dev": "duckdb", "warehouse": "postgres", "athena": "trino", "redshift": "redshift"}


def target_env(settings: Settings, target: str) -> dict[str, str]:
    """``DBT_*`` variables for ``target``; empty values are left to the profile's defaults."""
    if target not in TARGETS:
        raise WarehouseError(f"unknown dbt target {target!r}; targets are {', '.join(TARGETS)}")
    env: dict[str, str] = {}
    if target == "warehouse":
        found = resolve_target(settings)
        env = {
            "DBT_WAREHOUSE_HOST": found.host if found else settings.warehouse_host,
            "DBT_WAREHOUSE_PORT": str(found.port if found else settings.warehouse_port or 5432),
            "DBT_WAREHOUSE_USER": settings.warehouse_user,
            "DBT_WAREHOUSE_DATABASE": settings.warehouse_database,
            "DBT_ENV_SECRET_WAREHOUSE_PASSWORD": settings.warehouse_password.get_secret_value(),
        }
    elif target == "athena":
        env = {
            "DBT_ATHENA_REGION": settings.aws_region or "",
            "DBT_ATHENA_WORKGROUP": settings.athena_workgroup or "",
            "DBT_ATHENA_SCHEMA": settings.glue_databases.get("gold", ""),
            "DBT_ATHENA_S3_DATA_DIR": (
                f"s3://{settings.buckets['gold']}/dbt/" if "gold" in settings.buckets else ""
            ),
        }
    return {k: v for k, v in env.items() if v}


def run_dbt_on(settings: Settings, args: Sequence[str], target: str) -> DbtResult:
    """Run one dbt command on ``target`` with that target's connection environment."""
    with environment(target_env(settings, target)):
        return run_dbt(settings, list(args), target=target)


def compiled_models(result: DbtResult) -> dict[str, str]:
    """Compiled SQL of each model in a ``compile`` result, by model name."""
    out: dict[str, str] = {}
    for item in getattr(result.raw.result, "results", None) or []:
        node = item.node
        if str(node.resource_type).endswith("model") and node.compiled_code:
            out[node.name] = node.compiled_code
    return out


def check_sql(sql: str, target: str) -> None:
    """Parse ``sql`` in ``target``'s dialect with sqlglot; raise with the parser's message."""
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        statements = sqlglot.parse(sql, read=SQL_DIALECTS[target])
    except ParseError as exc:
        raise WarehouseError(f"not valid {SQL_DIALECTS[target]} SQL: {exc}") from None
    if not any(s is not None for s in statements):
        raise WarehouseError("no SQL statement")
