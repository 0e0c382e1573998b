"""The pipeline's own steps, called in-process one at a time so each can be timed on its own.

The transform is the ``transform`` flow's tasks in the flow's order (bronze gate, dbt silver,
silver gate, dbt gold, stage, gold gate, publish), called through their ``.fn`` so Prefect's
orchestration overhead is not in the figures; a gate or build that fails stops the transform
with :class:`StepFailed`, as in the flow. Gold queries go through :func:`lakehouse.gold.query`,
the path ``lakehouse sql`` takes (a read-only connection per query).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from lakehouse.bench.measure import StepMeasure
from lakehouse.settings import Settings

# The analyst questions of the docs, on the published gold. {city} is the first contract city.
GOLD_QUERIES: dict[str, str] = {
    "daily_one_city": ("select * from agg_weather_daily where city = '{city}' order by local_date"),
    "city_summary": "select * from agg_weather_city_summary order by city",
    "monthly_avg": (
        "select city, date_trunc('month', local_date) as month, "
        "avg(avg_temperature_c) as avg_temperature_c, "
        "sum(total_precipitation_mm) as total_precipitation_mm "
        "from agg_weather_daily group by all order by all"
    ),
    "hourly_one_week": (
        "select l.city, f.observed_at, f.temperature_c, f.precipitation_mm "
        "from fct_weather_hourly f join dim_location l on f.location_id = l.location_id "
        "where l.city = '{city}' and f.local_date between "
        "(select max(local_date) - 6 from agg_weather_daily) "
        "and (select max(local_date) from agg_weather_daily) order by f.observed_at"
    ),
}


class StepFailed(RuntimeError):
    """A gate or dbt build of the benchmarked pipeline failed; the figures would mean nothing."""


Measured = Callable[[], AbstractContextManager[StepMeasure]]


@dataclass
class TransformTimes:
    """Figures of one transform, per part: dbt builds, gates, staging and publishing."""

    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    marts: dict[str, int] = field(default_factory=dict)

    def total(self, prefix: str = "") -> float:
        return round(sum(v["wall_s"] for k, v in self.parts.items() if k.startswith(prefix)), 3)

    def total_cpu(self, prefix: str = "") -> float:
        return round(sum(v["cpu_s"] for k, v in self.parts.items() if k.startswith(prefix)), 3)


def run_transform(settings: Settings, measured: Measured, *, full_refresh: bool) -> TransformTimes:
    """Bronze gate -> dbt silver -> silver gate -> dbt gold -> stage -> gold gate -> publish.

    Args:
        settings: Settings of the scale's lake.
        measured: Factory of a measuring context (``Meter.step``).
        full_refresh: Rebuild dbt's incremental models from scratch.

    Raises:
        StepFailed: A gate or a dbt build failed.
    """
    from lakehouse.runs import new_run_id

    run_id = new_run_id()
    times = TransformTimes()
    # dbt prints a line per node to stdout; the benchmark's progress lines are what to read.
    previous_quiet = os.environ.get("DBT_QUIET")
    os.environ["DBT_QUIET"] = "true"
    try:
        _transform_steps(settings, measured, full_refresh, run_id, times)
    finally:
        if previous_quiet is None:
            os.environ.pop("DBT_QUIET", None)
        else:
            os.environ["DBT_QUIET"] = previous_quiet
    return times


def _transform_steps(
    settings: Settings, measured: Measured, full_refresh: bool, run_id: str, times: TransformTimes
) -> None:
    from datetime import UTC, datetime

    from flows.transform import (
        GOLD_SELECTOR,
        SILVER_SELECTOR,
        dbt_build_task,
        gate_task,
        publish_task,
        stage_gold_task,
    )

    def gate(layer: str, build: Any = None) -> None:
        with measured() as m:
            result = gate_task.fn(settings, layer, run_id, build, full_refresh)
        times.parts[f"gate_{layer}"] = m.to_dict()
        if not result.passed:
            raise StepFailed(f"{layer} gate failed: {'; '.join(result.failed)}")

    def build(layer: str, selector: str) -> None:
        with measured() as m:
            result = dbt_build_task.fn(settings, selector, full_refresh)
        times.parts[f"dbt_{layer}"] = {**m.to_dict(), "nodes": len(result.nodes)}
        if not result.success:
            raise StepFailed(f"dbt build of {layer} failed: {'; '.join(result.failures)}")

    gate("bronze")
    build("silver", SILVER_SELECTOR)
    gate("silver")
    build("gold", GOLD_SELECTOR)
    with measured() as m:
        staged = stage_gold_task.fn(settings, f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-bench")
    times.parts["publish_stage"] = m.to_dict()
    times.marts = dict(staged.rows)
    gate("gold", staged)
    with measured() as m:
        publish_task.fn(settings, staged, run_id)
    times.parts["publish_swap"] = m.to_dict()


def gold_query_times(settings: Settings, city: str, repeats: int) -> dict[str, Any]:
    """Run every analyst query ``repeats`` times on the published gold; latencies in seconds.

    The first run of each query is a warm-up and not counted (it pays for opening the file
    cold), so the figures are the steady state an analyst sees.
    """
    from lakehouse import gold
    from lakehouse.bench.measure import percentile

    per_query: dict[str, Any] = {}
    every: list[float] = []
    for name, template in GOLD_QUERIES.items():
        sql = template.format(city=city.replace("'", "''"))
        _, rows = gold.query(settings, sql)
        if not rows:
            raise StepFailed(f"gold query {name} returned no rows")
        latencies = []
        for _ in range(repeats):
            started = time.perf_counter()
            gold.query(settings, sql)
            latencies.append(time.perf_counter() - started)
        every.extend(latencies)
        per_query[name] = {
            "rows": len(rows),
            "p50_s": round(percentile(latencies, 50), 4),
            "p95_s": round(percentile(latencies, 95), 4),
        }
    return {
        "repeats": repeats,
        "queries": per_query,
        "p50_s": round(percentile(every, 50), 4),
        "p95_s": round(percentile(every, 95), 4),
    }


def gold_fingerprints(settings: Settings) -> dict[str, dict]:
    """Fingerprint of every published mart (see :mod:`lakehouse.bench.fingerprint`)."""
    from lakehouse import gold
    from lakehouse.bench.fingerprint import arrow_fingerprint

    return {name: arrow_fingerprint(table) for name, table in gold.read_marts(settings).items()}
