"""Dataset-level checks as derived columns, so plain column expectations can gate them.

GX 1.x has no built-in "no missing step per series" or "run quarantine rate" expectation for
dataframes; instead the gate adds ``_gate_*`` columns computed here and the suites bound them
(see :mod:`expectations.contract_expectations`). :func:`find_gaps` says which series miss which
steps, so a continuity warning names them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from expectations.contract_expectations import (
    NEWEST_FETCH_AGE_HOURS,
    RUN_QUARANTINE_RATE,
    STEPS_SINCE_PREVIOUS,
)
from lakehouse.lake import Lake
from lakehouse.runs import list_runs

_STEP_SECONDS = {"minute": 60.0, "hour": 3600.0, "day": 86400.0}


def _utc(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series)
    if values.dt.tz is None:
        # Timestamps without zone are UTC by the project's naming rule (`<what>_at`).
        return values.dt.tz_localize("UTC")
    return values.dt.tz_convert("UTC")


def _steps(times: pd.Series, previous: pd.Series, every: str) -> pd.Series:
    if every == "month":
        months = (times.dt.year * 12 + times.dt.month) - (previous.dt.year * 12 + previous.dt.month)
        return months.astype("float64")
    return (times - previous).dt.total_seconds() / _STEP_SECONDS[every]


def _ordered(df: pd.DataFrame, series: list[str], time_column: str, every: str) -> pd.DataFrame:
    """Per series, each row's time and its predecessor's, ordered by time."""
    times = _utc(df[time_column])
    keys = df[series].astype(str).agg("|".join, axis=1) if series else pd.Series("", df.index)
    ordered = pd.DataFrame({"key": keys, "t": times}).sort_values(["key", "t"], kind="stable")
    ordered["previous"] = ordered.groupby("key", sort=False)["t"].shift()
    ordered["steps"] = _steps(ordered["t"], ordered["previous"], every)
    return ordered


def with_steps_since_previous(
    df: pd.DataFrame, series: list[str], time_column: str, every: str
) -> pd.DataFrame:
    """Add, per series, the cadence steps since the previous row's event (null first)."""
    out = df.copy()
    if out.empty:
        out[STEPS_SINCE_PREVIOUS] = pd.Series(dtype="float64")
        return out
    out[STEPS_SINCE_PREVIOUS] = _ordered(out, series, time_column, every)["steps"].reindex(
        out.index
    )
    return out


def find_gaps(
    df: pd.DataFrame, series: list[str], time_column: str, every: str, limit: int = 20
) -> list[dict[str, Any]]:
    """The gaps of each series in ``df``: its key, the missing range and how many steps.

    Returns up to ``limit`` gaps, largest first: ``{"series": {col: value}, "missing": n,
    "from": first missing event, "to": last missing event}`` (ISO text, UTC).
    """
    if df.empty:
        return []
    ordered = _ordered(df, series, time_column, every)
    gaps = ordered[ordered["steps"] > 1].sort_values(["steps", "t"], ascending=[False, True])
    step = (
        pd.DateOffset(months=1) if every == "month" else pd.Timedelta(seconds=_STEP_SECONDS[every])
    )
    out = []
    for _, row in gaps.head(limit).iterrows():
        values = row["key"].split("|") if series else []
        out.append(
            {
                "series": dict(zip(series, values, strict=False)),
                "missing": int(round(row["steps"])) - 1,
                "from": _iso(row["previous"] + step),
                "to": _iso(row["t"] - step),
            }
        )
    return out


def _iso(value: pd.Timestamp) -> str:
    return value.tz_convert("UTC").strftime("%Y-%m-%dT%H:%MZ")


def describe_gap(gap: dict[str, Any]) -> str:
    """``site_id=a: 3 missing, 2025-03-09T12:00Z..2025-03-09T14:00Z``."""
    series = ", ".join(f"{k}={v}" for k, v in gap["series"].items()) or "series"
    return f"{series}: {gap['missing']} missing, {gap['from']}..{gap['to']}"


def run_quarantine_rate(lake: Lake, source: str, entity: str) -> float | None:
    """The quarantine rate the newest bronze run of ``source``/``entity`` recorded (or None)."""
    runs = [r for r in list_runs(lake, "bronze", source) if r.get("entity") in (None, entity)]
    if not runs:
        return None
    newest = max(runs, key=lambda r: str(r.get("finished_at") or ""))
    rate = newest.get("quarantine_rate")
    return float(rate) if isinstance(rate, int | float) else None


def with_run_quarantine_rate(
    df: pd.DataFrame, lake: Lake, source: str, entity: str
) -> pd.DataFrame:
    """Add the quarantine rate recorded by the latest bronze run (null when none was recorded,
    which fails the expectation: an unknown rate is not a passing one)."""
    out = df.copy()
    rate = run_quarantine_rate(lake, source, entity)
    out[RUN_QUARANTINE_RATE] = pd.Series([rate] * len(out), index=out.index, dtype="float64")
    return out


def with_newest_fetch_age(
    df: pd.DataFrame, fetched_column: str, now: datetime | None = None
) -> pd.DataFrame:
    """Add the age in hours of the newest ``fetched_column`` value, on every row."""
    out = df.copy()
    now = now or datetime.now(UTC)
    if out.empty or fetched_column not in out:
        out[NEWEST_FETCH_AGE_HOURS] = pd.Series([None] * len(out), index=out.index, dtype="float64")
        return out
    newest = _utc(out[fetched_column]).max()
    age = (pd.Timestamp(now) - newest).total_seconds() / 3600.0
    out[NEWEST_FETCH_AGE_HOURS] = age
    return out
