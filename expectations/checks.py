"""Dataset-level checks as derived columns, so plain column expectations can gate them.

GX 1.x has no built-in "no missing hours per series" or "run quarantine rate" expectation for
dataframes; instead the gate adds ``_gate_*`` columns computed here and the suites bound them
(see :mod:`expectations.contract_expectations`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from expectations.contract_expectations import (
    HOURS_SINCE_PREVIOUS,
    NEWEST_FETCH_AGE_HOURS,
    RUN_QUARANTINE_RATE,
)
from lakehouse.lake import Lake
from lakehouse.runs import latest_run


def _utc(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series)
    if values.dt.tz is None:
        # Timestamps without zone are UTC by the project's naming rule (`<what>_at`).
        return values.dt.tz_localize("UTC")
    return values.dt.tz_convert("UTC")


def with_hours_since_previous(df: pd.DataFrame, series_key: str, time_column: str) -> pd.DataFrame:
    """Add, per ``series_key``, the hours since the previous row's ``time_column`` (null first)."""
    out = df.copy()
    if out.empty:
        out[HOURS_SINCE_PREVIOUS] = pd.Series(dtype="float64")
        return out
    times = _utc(out[time_column])
    order = times.sort_values(kind="stable").index
    ordered = pd.DataFrame({"key": out.loc[order, series_key], "t": times.loc[order]})
    gaps = ordered.groupby("key", sort=False)["t"].diff().dt.total_seconds() / 3600.0
    out[HOURS_SINCE_PREVIOUS] = gaps.reindex(out.index)
    return out


def with_run_quarantine_rate(df: pd.DataFrame, lake: Lake, step: str, source: str) -> pd.DataFrame:
    """Add the quarantine rate recorded by the latest ``step`` run (null when none was recorded,
    which fails the expectation: an unknown rate is not a passing one)."""
    out = df.copy()
    run = latest_run(lake, step, source)
    rate = run.get("quarantine_rate") if run else None
    out[RUN_QUARANTINE_RATE] = pd.Series([rate] * len(out), index=out.index, dtype="float64")
    return out


def with_newest_fetch_age(
    df: pd.DataFrame, fetched_column: str, now: datetime | None = None
) -> pd.DataFrame:
    """Add the age in hours of the newest ``fetched_column`` value, on every row."""
    out = df.copy()
    now = now or datetime.now(UTC)
    if out.empty:
        out[NEWEST_FETCH_AGE_HOURS] = pd.Series(dtype="float64")
        return out
    newest = _utc(out[fetched_column]).max()
    age = (pd.Timestamp(now) - newest).total_seconds() / 3600.0
    out[NEWEST_FETCH_AGE_HOURS] = age
    return out
