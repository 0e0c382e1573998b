"""The immigration dbt models (issue 20) compile for Athena and Redshift, offline.

The DuckDB build of the same models, on bronze written by the Spark job from generated files,
is tests/e2e/test_immigration_pipeline.py. Here ``dbt compile`` runs on each cloud target with
no AWS and no database reachable (``--no-populate-cache``), and each compiled model is parsed
by sqlglot in its target's dialect.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakehouse.contracts import CONTRACTS_DIR

pytestmark = pytest.mark.slow

IMMIGRATION_MODELS = {
    "stg_immigration__arrivals",
    "stg_immigration__labels",
    "stg_immigration__temperatures",
    "stg_immigration__demographics",
    "stg_immigration__airports",
    "int_immigration__codes_seen",
    "int_immigration__code_labels",
    "dim_country",
    "dim_port",
    "dim_visa",
    "dim_travel_mode",
    "dim_us_state",
    "dim_city_demographics",
    "dim_date",
    "fct_arrivals",
    "fct_city_temperatures_monthly",
    "agg_arrivals_monthly",
    "agg_arrivals_port_temperature",
}


@pytest.fixture
def contracts_dir(tmp_path, monkeypatch) -> Path:
    """Weather and immigration registered: dim_date spans both sources' dates."""
    folder = tmp_path / "contracts"
    folder.mkdir()
    for name in ("weather.yml", "immigration.yml"):
        shutil.copy(CONTRACTS_DIR / name, folder)
    monkeypatch.setenv("LAKEHOUSE_CONTRACTS_DIR", str(folder))
    return folder


@pytest.mark.parametrize("target", ["athena", "redshift"])
def test_immigration_models_compile_for_the_clouds(settings, contracts_dir, target, monkeypatch):
    from lakehouse.warehouse.dbt_targets import check_sql, compiled_models, run_dbt_on

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DBT_REDSHIFT_HOST", "127.0.0.1")
    monkeypatch.setenv("DBT_REDSHIFT_PORT", "9")
    selected = sorted(IMMIGRATION_MODELS - {"dim_date"})
    result = run_dbt_on(
        settings,
        ["compile", "--no-populate-cache", "--select", *selected, "dim_date"],
        target=target,
    )
    assert result.success, result.failures
    compiled = {k: v for k, v in compiled_models(result).items() if k in IMMIGRATION_MODELS}
    assert set(compiled) == IMMIGRATION_MODELS
    for sql in compiled.values():
        check_sql(sql, target)
        assert "{{" not in sql and "{%" not in sql
    # dim_date reads both sources' date ranges.
    assert "stg_weather__hourly" in compiled["dim_date"]
    assert "stg_immigration__arrivals" in compiled["dim_date"]
