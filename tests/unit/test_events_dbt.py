"""The geo-events dbt models (issue 18) compile for Athena and Redshift, offline.

They are built and checked on DuckDB by tests/e2e/test_events_pipeline.py (against a real
broker); here the same SQL models compile with the events contract alone and each compiled
model parses as the target's SQL (sqlglot). ``geo_venue_clusters`` is a dbt Python model run by
Spark MLlib on the local DuckDB target; it is not part of the warehouses' SQL.
"""

from __future__ import annotations

import shutil

import pytest

from lakehouse.contracts import CONTRACTS_DIR

pytestmark = pytest.mark.slow

EVENTS_MODELS = {
    "stg_events__rsvps",
    "int_events__rsvps_latest",
    "int_events__venue_points",
    "fct_rsvp",
    "dim_event",
    "dim_group",
    "dim_venue",
    "dim_member",
    "agg_rsvps_by_city",
    "agg_rsvps_by_city_hourly",
}


@pytest.mark.parametrize("target", ["athena", "redshift"])
def test_events_models_compile_for_the_clouds(settings, tmp_path, target, monkeypatch):
    from lakehouse.warehouse.dbt_targets import check_sql, compiled_models, run_dbt_on

    folder = tmp_path / "contracts"
    folder.mkdir()
    shutil.copy(CONTRACTS_DIR / "events.yml", folder)
    monkeypatch.setenv("LAKEHOUSE_CONTRACTS_DIR", str(folder))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DBT_REDSHIFT_HOST", "127.0.0.1")
    monkeypatch.setenv("DBT_REDSHIFT_PORT", "9")
    selected = [f"+{name}" for name in sorted(EVENTS_MODELS)]
    args = ["compile", "--no-populate-cache", "--select", *selected]
    result = run_dbt_on(settings, [*args, "--exclude", "geo_venue_clusters"], target=target)
    assert result.success, result.failures
    compiled = {k: v for k, v in compiled_models(result).items() if k in EVENTS_MODELS}
    assert set(compiled) == EVENTS_MODELS
    for sql in compiled.values():
        check_sql(sql, target)
        assert "{{" not in sql and "{%" not in sql
