"""The ``transform`` flow: bronze gate -> dbt silver -> silver gate -> dbt gold -> stage ->
gold gate -> publish (write-audit-publish), recording each gate and the run.

Nothing downstream of a failed gate runs, and a failed gate never touches the published gold:
the gold build is staged in its own file (:func:`lakehouse.gold.stage_build`), audited, and only
then published by an atomic pointer swap (:func:`lakehouse.gold.publish_build`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task

from expectations.gate import GateResult, run_gate
from expectations.scope import Scope, scope_for, series_frame
from lakehouse import gold
from lakehouse.alerts import on_flow_failure
from lakehouse.dbt import GOLD_SCHEMA, SILVER_SCHEMA, DbtResult, build_database, run_dbt
from lakehouse.runs import new_run_id, record_run
from lakehouse.settings import Settings, get_settings

SOURCE = "weather"
# dbt selectors of the two builds: silver is the bronze source's tests, staging and
# intermediate; gold is the marts.
SILVER_SELECTOR = "source:weather staging intermediate"
GOLD_SELECTOR = "marts"


class TransformFailed(RuntimeError):
    """A gate or a dbt build failed; ``summary`` says which and what was (not) published."""

    def __init__(self, message: str, summary: TransformSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class TransformSummary:
    """What one transform did (the CLI prints it; the run record stores it)."""

    run_id: str
    status: str = "running"
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)
    dbt: dict[str, dict[str, Any]] = field(default_factory=dict)
    marts: dict[str, int] = field(default_factory=dict)
    build_id: str | None = None
    published: bool = False
    published_build_id: str | None = None
    failed_step: str | None = None
    failed_expectations: list[str] = field(default_factory=list)
    error: str | None = None
    downstream: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    data_docs: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- Frames for the gates


def _bronze_frame(con: Any, settings: Settings, table: str, scope: Scope) -> pd.DataFrame:
    from deltalake.exceptions import TableNotFoundError

    from lakehouse.dbt_delta import delta_dataset

    try:
        # The dataset dbt's source will reuse in this process (same table version).
        dataset = delta_dataset(str(settings.lake.bronze(table)))
    except TableNotFoundError:
        # An empty frame fails the row-count expectation, which names the problem in the gate.
        return pd.DataFrame()
    con.register("_gate_bronze", dataset)
    return series_frame(
        con,
        "_gate_bronze",
        series="city_id",
        time="observed_at",
        scope=scope,
        partition_date="observed_date",
    )


def _silver_frame(con: Any, table: str, scope: Scope) -> pd.DataFrame:
    return series_frame(
        con, f'"{SILVER_SCHEMA}"."{table}"', series="location_id", time="observed_at", scope=scope
    )


def _gold_frame(con: Any, table: str, scope: Scope) -> pd.DataFrame:
    relation = f'main."{table}"'
    if table == "fct_weather_hourly":
        return series_frame(con, relation, series="location_id", time="observed_at", scope=scope)
    if table == "agg_weather_daily" and scope.incremental:
        # Only the (city, local date) rows the new hours feed can have changed.
        return con.execute(
            """
            select d.* from main.agg_weather_daily as d
            semi join (
                select distinct l.city, f.local_date
                from main.fct_weather_hourly as f
                inner join main.dim_location as l on f.location_id = l.location_id
                where f._ingested_at > $since
            ) as changed on d.city = changed.city and d.local_date = changed.local_date
            """,
            {"since": scope.since},
        ).df()
    return con.execute(f"select * from {relation}").df()


# ---------------------------------------------------------------- Tasks


@task(name="gate")
def gate_task(
    settings: Settings,
    layer: str,
    run_id: str,
    build: gold.Build | None = None,
    full_refresh: bool = False,
) -> GateResult:
    """Validate one layer with its suites and record the gate run.

    A full run validates every row; an incremental one the rows written since the published
    gold (see :mod:`expectations.scope`), so a gate costs what the new data costs.
    """
    import duckdb

    scope = scope_for(settings, full_refresh)
    rows_validated: dict[str, int] = {}

    def counted(load: Callable[[str], pd.DataFrame]) -> Callable[[Any], pd.DataFrame]:
        def frame(module: Any) -> pd.DataFrame:
            df = load(module.TABLE)
            rows_validated[module.TABLE] = len(df)
            return df

        return frame

    if layer == "bronze":
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            result = run_gate(
                settings.lake, layer, counted(lambda t: _bronze_frame(con, settings, t, scope))
            )
    elif layer == "silver":
        with duckdb.connect(str(build_database(settings)), read_only=True) as con:
            con.execute("set TimeZone = 'UTC'")
            result = run_gate(settings.lake, layer, counted(lambda t: _silver_frame(con, t, scope)))
    else:
        assert build is not None, "the gold gate audits a staged build"
        with gold.open_build(build) as con:
            con.execute("set TimeZone = 'UTC'")
            result = run_gate(settings.lake, layer, counted(lambda t: _gold_frame(con, t, scope)))
    record_run(
        settings.lake,
        "gate",
        SOURCE,
        status="ok" if result.passed else "failed",
        gate=layer,
        transform_run_id=run_id,
        build_id=build.build_id if build else None,
        failed_expectations=result.failed,
        scope=scope.describe(),
        rows_validated=rows_validated,
        **result.as_record(),
    )
    return result


@task(name="dbt-build")
def dbt_build_task(settings: Settings, selector: str, full_refresh: bool = False) -> DbtResult:
    """``dbt build`` (models, data tests and unit tests) of one selection."""
    args = ["build", "--select", *selector.split()]
    if full_refresh:
        args.append("--full-refresh")
    return run_dbt(settings, args)


@task(name="stage-gold")
def stage_gold_task(settings: Settings, build_id: str) -> gold.Build:
    """Copy the marts dbt just built into a new, unpublished gold build."""
    import duckdb

    with duckdb.connect(str(build_database(settings)), read_only=True) as con:
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = ? order by table_name",
                [GOLD_SCHEMA],
            ).fetchall()
        ]
    return gold.stage_build(settings, build_database(settings), GOLD_SCHEMA, marts, build_id)


@task(name="publish-gold")
def publish_task(settings: Settings, build: gold.Build, run_id: str) -> dict[str, Any]:
    """Make the audited build the published gold (atomic pointer swap)."""
    return gold.publish_build(settings, build, transform_run_id=run_id)


def after_lake_publish(settings: Settings, pointer: dict[str, Any]) -> list[dict[str, Any]]:
    """Steps that run only after the lake's gold was published, in order.

    Each returns a small dict for the summary. Coordination note for the warehouse part: call
    "publish to the warehouse if running/configured" here; it reads the published gold through
    lakehouse.gold.read_marts, so it sees exactly the build in ``pointer``.
    """
    from lakehouse.warehouse.publish import publish_after_lake

    return [publish_after_lake(settings, pointer["build_id"])]


# ---------------------------------------------------------------- Flow


def _finish(settings: Settings, summary: TransformSummary, started: float) -> TransformSummary:
    summary.seconds = round(time.monotonic() - started, 1)
    record_run(
        settings.lake,
        "transform",
        SOURCE,
        transform_run_id=summary.run_id,
        status=summary.status,
        gates={layer: g["passed"] for layer, g in summary.gates.items()},
        rows_published=sum(summary.marts.values()) if summary.published else 0,
        marts=summary.marts,
        build_id=summary.build_id,
        published=summary.published,
        published_build_id=summary.published_build_id,
        failed_step=summary.failed_step,
        failed_expectations=summary.failed_expectations,
        error=summary.error,
        seconds=summary.seconds,
    )
    return summary


@flow(name="transform", log_prints=True, on_failure=[on_flow_failure])
def transform(lake_root: str | None = None, full_refresh: bool = False) -> dict[str, Any]:
    """Gate bronze, build silver and gold with dbt, audit the gold build and publish it.

    Args:
        lake_root: Lake to transform; the settings' lake by default.
        full_refresh: Rebuild incremental models (staging, the hourly fact) from scratch and
            let the gates validate every row instead of the rows newer than the published gold.

    Returns:
        The transform summary (see :class:`TransformSummary`).

    Raises:
        TransformFailed: a gate or dbt build failed; the published gold is unchanged.
    """
    logger = get_run_logger()
    settings = get_settings(lake_root=lake_root)
    started = time.monotonic()
    run_id = new_run_id()
    summary = TransformSummary(run_id=run_id)
    previous = gold.published_pointer(settings)
    summary.published_build_id = previous["build_id"] if previous else None

    def fail(step: str, message: str, expectations: list[str] | None = None) -> TransformFailed:
        summary.status = "failed"
        summary.failed_step = step
        summary.failed_expectations = expectations or []
        summary.error = message
        _finish(settings, summary, started)
        logger.error("transform failed at %s: %s", step, message)
        return TransformFailed(message, summary)

    def gate(layer: str, build: gold.Build | None = None) -> None:
        result = gate_task(settings, layer, run_id, build, full_refresh)
        summary.gates[layer] = result.as_record()
        summary.data_docs = str(result.data_docs)
        for warning in result.warnings:
            logger.warning("gate %s warning: %s", layer, warning)
        if not result.passed:
            if build is not None:
                gold.discard_build(build)
            raise fail(
                f"gate:{layer}",
                f"{layer} gate failed: {'; '.join(result.failed)}",
                result.failed,
            )

    def build(step: str, selector: str) -> None:
        result = dbt_build_task(settings, selector, full_refresh)
        summary.dbt[step] = {
            "success": result.success,
            "nodes": len(result.nodes),
            "models": sum(1 for n in result.nodes if n["resource_type"] == "model"),
            "data_tests": sum(1 for n in result.nodes if n["resource_type"] == "test"),
            "unit_tests": sum(1 for n in result.nodes if n["resource_type"] == "unit_test"),
            "failures": result.failures,
        }
        if not result.success:
            raise fail(f"dbt:{step}", f"dbt build of {step} failed: {'; '.join(result.failures)}")

    gate("bronze")
    build("silver", SILVER_SELECTOR)
    gate("silver")
    build("gold", GOLD_SELECTOR)
    staged = stage_gold_task(settings, f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{run_id[-8:]}")
    summary.build_id = staged.build_id
    summary.marts = staged.rows
    gate("gold", staged)
    pointer = publish_task(settings, staged, run_id)
    summary.published = True
    summary.published_build_id = pointer["build_id"]
    summary.downstream = after_lake_publish(settings, pointer)
    summary.status = "ok"
    _finish(settings, summary, started)
    logger.info("published gold build %s (%s rows)", staged.build_id, sum(staged.rows.values()))
    return summary.as_dict()


if __name__ == "__main__":
    # Transform the default lake (run ingest and bronze first).
    print(transform())
