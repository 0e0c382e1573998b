"""Which rows a gate validates: all of a table, or on an incremental run only what changed.

An incremental transform validates the rows written since the last *published* gold (its
newest ``_ingested_at``), not since the last build: a run whose gate failed left unvalidated
rows in bronze and in dbt's build database, and the next run must validate them again. Rows at
or before that watermark were validated by the run that published them and are unchanged.

The changed rows of a series (city) are taken together with the series' previous row, so the
continuity check still sees the gap (if any) between old and new data; a series without new
rows contributes its last row, so a run with nothing new still validates a non-empty frame.
Any key that is duplicated anywhere in the table is added with all its rows, so key uniqueness
stays a whole-table guarantee while costing one aggregate over the key columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from lakehouse.settings import Settings


@dataclass(frozen=True)
class Scope:
    """``since`` None: validate everything (first or full run); else rows ingested after it."""

    since: datetime | None = None

    @property
    def incremental(self) -> bool:
        return self.since is not None

    def describe(self) -> str:
        return "all rows" if self.since is None else f"rows ingested after {self.since.isoformat()}"


def published_watermark(settings: Settings) -> datetime | None:
    """Newest ``_ingested_at`` of the published hourly fact, or None before the first publish."""
    from lakehouse import gold

    if gold.published_pointer(settings) is None:
        return None
    try:
        with gold.connect_published(settings) as con:
            row = con.execute("select max(_ingested_at) from fct_weather_hourly").fetchone()
    except Exception:  # noqa: BLE001 - gold that cannot be read means: validate everything
        return None
    return row[0] if row else None


def scope_for(settings: Settings, full_refresh: bool) -> Scope:
    """Full runs validate everything; incremental ones what came after the published gold."""
    return Scope() if full_refresh else Scope(published_watermark(settings))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def series_frame(
    con: Any,
    relation: str,
    *,
    series: str,
    time: str,
    scope: Scope,
    ingested: str = "_ingested_at",
    partition_date: str | None = None,
) -> pd.DataFrame:
    """Rows of ``relation`` (an hourly series table) a gate of ``scope`` validates.

    Args:
        con: DuckDB connection where ``relation`` resolves.
        relation: table or view (already quoted as needed).
        series: column identifying a series (city).
        time: the series' hour column; with ``series`` the natural key.
        scope: what to validate.
        ingested: when the row was (re)written.
        partition_date: a date column derived from ``time`` that the table is partitioned by;
            filtering on it lets the scan skip old partitions.
    """
    if not scope.incremental:
        return con.execute(f"select * from {relation}").df()
    s, t, i = _q(series), _q(time), _q(ingested)
    con.execute(
        f"""
        create or replace temp table _gate_starts as
        with firsts as (
            select {s} as k, min({t}) filter (where {i} > $since) as first_new
            from {relation}
            group by 1
        )
        select
            r.{s} as k,
            coalesce(
                max(r.{t}) filter (where f.first_new is null or r.{t} < f.first_new),
                min(r.{t})
            ) as start_at
        from {relation} as r
        inner join firsts as f on r.{s} = f.k
        group by 1
        """,
        {"since": scope.since},
    )
    prune = ""
    params: dict[str, Any] = {}
    if partition_date is not None:
        earliest = con.execute("select min(start_at) from _gate_starts").fetchone()[0]
        if earliest is not None:
            # A constant, so DuckDB pushes it into the scan and old partitions are not read.
            prune = f"and r.{_q(partition_date)} >= cast($earliest as date)"
            params["earliest"] = earliest
    frame = con.execute(
        f"""
        select r.* from {relation} as r
        inner join _gate_starts as g on r.{s} = g.k
        where r.{t} >= g.start_at {prune}
        """,
        params,
    ).df()
    duplicated = con.execute(
        f"select {s}, {t} from {relation} group by all having count(*) > 1"
    ).fetchall()
    if duplicated:
        con.register("_gate_duplicated", pd.DataFrame(duplicated, columns=["k", "t"]))
        extra = con.execute(
            f"""
            select r.* from {relation} as r
            semi join _gate_duplicated as d on r.{s} = d.k and r.{t} = d.t
            """
        ).df()
        frame = pd.concat([frame, extra], ignore_index=True)
    con.execute("drop table if exists _gate_starts")
    return frame
