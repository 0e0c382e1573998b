"""The same dbt models compile for all four targets: dev, warehouse, athena and redshift.

Real ``dbt compile`` everywhere; nothing is faked:

- ``dev`` (DuckDB) compiles every model over a one-row bronze Delta table written here; no
  silver is built first, because no model reads a table while compiling (``dim_date`` finds its
  date range in the query itself, see macros/date_days.sql).
- ``athena`` and ``redshift`` compile offline (no AWS, no credentials, ``--no-populate-cache``).
  Two models ask the database a question while compiling: the incremental
  ``stg_weather__hourly`` and ``fct_weather_hourly`` (``is_incremental()`` looks the model's own
  table up in the catalog, which needs a connection). With no Athena or Redshift reachable, they
  are left out of the offline compile; they still parse on these targets (compile parses the
  whole project), their per-engine config is checked, and staging's casts are compiled inline.
- ``warehouse`` compiles every model against the project's real PostgreSQL server (slow).

Each compiled model is then parsed by sqlglot in its target's dialect, and the adapter-specific
macros are checked to have dispatched to the target's own spelling.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from lakehouse.contracts import load_contract
from lakehouse.warehouse import testing
from lakehouse.warehouse.dbt_targets import check_sql, compiled_models, run_dbt_on

# dbt runs of a few tens of seconds each; not for the quick loop.
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _weather_contract_only(tmp_path, monkeypatch) -> None:
    """These tests compile weather's models; every other source's models compile on every
    target in their own tests (flights: test_flights_dbt.py), so only weather's contract is
    passed here and the others' models stay disabled."""
    import shutil

    from lakehouse.contracts import CONTRACTS_DIR

    folder = tmp_path / "weather-contract"
    folder.mkdir()
    shutil.copy(CONTRACTS_DIR / "weather.yml", folder)
    monkeypatch.setenv("LAKEHOUSE_CONTRACTS_DIR", str(folder))


# One shared server for the session (see lakehouse.warehouse.testing).
warehouse_server = testing.warehouse_server
warehouse_settings = testing.warehouse_settings

MODELS = {
    "stg_weather__hourly",
    "stg_weather__locations",
    "int_weather__hourly_localized",
    "dim_location",
    "dim_date",
    "fct_weather_hourly",
    "agg_weather_daily",
    "agg_weather_city_summary",
    "agg_series_completeness",
}
# Models whose compilation runs a query on the target (see the module docstring).
NEEDS_LIVE_QUERY = {"fct_weather_hourly", "stg_weather__hourly"}
# How each target spells the local-time conversion of int_weather__hourly_localized.
LOCAL_TIME_SPELLING = {
    "dev": "timezone(",
    "warehouse": "at time zone",
    "athena": "at_timezone(",
    "redshift": "convert_timezone(",
}


def _write_bronze(settings) -> None:
    """One bronze row in the documented bronze schema, so dbt-duckdb can load the source."""
    from deltalake import write_deltalake

    entity = load_contract("weather").entities["hourly"]
    now = datetime(2024, 6, 1, 12, tzinfo=UTC)
    columns = {
        "city_id": pa.array(["san_francisco"]),
        "observed_at": pa.array([now], pa.timestamp("us", tz="UTC")),
        "observed_date": pa.array([date(2024, 6, 1)]),
        "latitude": [37.77],
        "longitude": [-122.42],
        "elevation": [16.0],
        "utc_offset_seconds": pa.array([-25200], pa.int32()),
    }
    arrow_types = {"double": pa.float64(), "integer": pa.int32()}
    for field in entity.fields:
        if field.role == "measure":
            columns[field.name] = pa.array([1], arrow_types.get(field.type, pa.float64()))
    for name in ("_batch_id", "_landing_path", "_source_sha256"):
        columns[name] = pa.array(["x"])
    for name in ("_fetched_at", "_ingested_at"):
        columns[name] = pa.array([now], pa.timestamp("us", tz="UTC"))
    path = settings.lake.bronze(entity.bronze_table)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(str(path), pa.table(columns), partition_by=["observed_date"])


def _check(target: str, compiled: dict[str, str], expected: set[str]) -> None:
    assert set(compiled) == expected, f"{target}: compiled {sorted(compiled)}"
    for name, sql in compiled.items():
        check_sql(sql, target)
        assert "{{" not in sql and "{%" not in sql, f"{target}/{name}: unrendered Jinja"
    assert LOCAL_TIME_SPELLING[target] in compiled["int_weather__hourly_localized"].lower()


def test_dev_target_compiles_every_model(settings):
    _write_bronze(settings)
    result = run_dbt_on(settings, ["compile"], target="dev")
    assert result.success, result.failures
    _check("dev", compiled_models(result), MODELS)


@pytest.mark.parametrize("target", ["athena", "redshift"])
def test_cloud_targets_compile_offline(settings, target, monkeypatch):
    # No AWS: no credentials, and an unroutable endpoint so nothing could leave the machine.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DBT_REDSHIFT_HOST", "127.0.0.1")
    monkeypatch.setenv("DBT_REDSHIFT_PORT", "9")
    result = run_dbt_on(
        settings,
        ["compile", "--no-populate-cache", "--exclude", *sorted(NEEDS_LIVE_QUERY)],
        target=target,
    )
    assert result.success, result.failures
    compiled = compiled_models(result)
    _check(target, compiled, MODELS - NEEDS_LIVE_QUERY)
    # The date range is a subquery of the model, not a compile-time query's answer.
    assert "min(observed_date)" in compiled["dim_date"]
    # Staging's casts, compiled inline (the model itself needs a live catalog, see above).
    casts = run_dbt_on(
        settings,
        [
            "compile",
            "--no-populate-cache",
            "--inline",
            "select {{ contract_field_columns('weather', 'hourly') }} from bronze",
        ],
        target=target,
    )
    assert casts.success, casts.failures
    cast_sql = casts.raw.result.results[0].node.compiled_code
    if target == "athena":
        # athena__contract_type: Athena spells it double, not double precision.
        assert " as double)" in cast_sql
        assert "double precision" not in cast_sql
    # Incremental upserts are the engine's own: Athena has no delete+insert (merge on Iceberg).
    listed = run_dbt_on(
        settings,
        [
            "ls",
            "--select",
            "fct_weather_hourly",
            "stg_weather__hourly",
            "--resource-type",
            "model",
            "--output",
            "json",
            "--output-keys",
            "name config",
        ],
        target=target,
    )
    assert listed.success, listed.failures
    configs = {
        item["name"]: item["config"] for item in (json.loads(line) for line in listed.raw.result)
    }
    expected = {"athena": "merge", "redshift": "delete+insert"}[target]
    assert set(configs) == {"fct_weather_hourly", "stg_weather__hourly"}
    for config in configs.values():
        assert config["incremental_strategy"] == expected


def test_warehouse_target_compiles_against_the_real_server(warehouse_settings):
    result = run_dbt_on(warehouse_settings, ["compile"], target="warehouse")
    assert result.success, result.failures
    _check("warehouse", compiled_models(result), MODELS)


def test_analyst_example_queries_parse_on_every_engine():
    """docs/analysts.md's example queries are valid SQL for DuckDB, PostgreSQL, Athena, Redshift."""
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"
    blocks = re.findall(r"```sql\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    queries = [b for b in blocks if b.lstrip().lower().startswith("select")]
    assert len(queries) >= 4
    for sql in queries:
        for target in ("dev", "warehouse", "athena", "redshift"):
            check_sql(sql, target)
