"""Where each source stands: per layer, the last run, its rows, the gate result and freshness.

Everything here is read from the lake itself (run records under ``<lake>/_state/runs`` and the
landing zone), so ``lakehouse status`` answers the same whether the runs came from the CLI, a
local Prefect worker or an ECS task writing to the same lake.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from lakehouse.contracts import available_sources, load_contract
from lakehouse.lake import Lake
from lakehouse.landing import iter_objects, read_object
from lakehouse.runs import list_runs
from lakehouse.settings import Settings

# (layer shown to the user, step whose run records describe it), in pipeline order.
LAYER_STEPS: tuple[tuple[str, str], ...] = (
    ("landing", "ingest"),
    ("bronze", "bronze"),
    ("gates", "gate"),
    ("gold", "transform"),
    ("site", "site"),
)

# Run records name their row counts after what the step does; the first present wins.
_ROW_KEYS = (
    "rows",
    "rows_published",
    "rows_out",
    "rows_written",
    "rows_inserted",
    "rows_landed",
    "rows_in",
    "records",
    "objects_landed",
    "pages",
)
_GATE_KEYS = ("gate", "gate_result", "gates", "passed", "success")


@dataclass(frozen=True)
class LayerStatus:
    """One line of ``lakehouse status``."""

    source: str
    layer: str
    last_run: str | None
    status: str
    rows: int | None
    gate: str | None
    freshness_lag: str | None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Freshness:
    """Age of a source's newest landed fetch against its contract's freshness limit."""

    newest_fetch_at: datetime | None
    lag_seconds: float | None
    warn_after_hours: float | None

    @property
    def stale(self) -> bool:
        if self.lag_seconds is None:
            return True
        return self.warn_after_hours is not None and self.lag_seconds > self.warn_after_hours * 3600

    def describe(self) -> str:
        if self.lag_seconds is None:
            return "no data"
        text = format_lag(self.lag_seconds)
        return f"{text} (stale)" if self.stale else text


def format_lag(seconds: float) -> str:
    """``95`` -> ``1m35s``; ``90000`` -> ``1d1h``: short enough for a table cell."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def source_freshness(lake: Lake, source: str, now: datetime | None = None) -> Freshness:
    """Freshness of ``source`` from the newest object landed for any of its entities."""
    now = now or datetime.now(UTC)
    contract = load_contract(source)
    newest: datetime | None = None
    warn_after: float | None = None
    for name, entity in contract.entities.items():
        if entity.freshness is not None:
            limit = entity.freshness.warn_after_hours
            warn_after = limit if warn_after is None else min(warn_after, limit)
        objects = list(iter_objects(lake, source, entity.landing or name))
        if not objects:
            continue
        # Object names start with the fetch time, so the last one sorted is the newest fetch.
        latest = max(objects, key=lambda p: (p.parent.name, p.name))
        fetched = _parse_time(read_object(latest)["envelope"].get("fetched_at"))
        if fetched and (newest is None or fetched > newest):
            newest = fetched
    lag = (now - newest).total_seconds() if newest else None
    return Freshness(newest, lag, warn_after)


def _rows(record: dict[str, Any]) -> int | None:
    for key in _ROW_KEYS:
        value = record.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return int(value)
        if isinstance(value, dict):  # e.g. {"<source>__<entity>": 96}
            numbers = [v for v in value.values() if isinstance(v, int | float)]
            if numbers:
                return int(sum(numbers))
    return None


def _gate(record: dict[str, Any]) -> str | None:
    for key in _GATE_KEYS:
        if key not in record:
            continue
        value = record[key]
        if isinstance(value, bool):
            return "passed" if value else "failed"
        if isinstance(value, str):
            return value
        if isinstance(value, dict):  # {gate_name: passed?}
            failed = [name for name, ok in value.items() if ok in (False, "failed")]
            return f"failed: {', '.join(failed)}" if failed else "passed"
    return None


def _newest(lake: Lake, step: str, source: str) -> dict[str, Any] | None:
    """The record that finished last (run ids order by second only, so ties are possible)."""
    records = list_runs(lake, step, source)
    if not records:
        return None
    return max(records, key=lambda r: str(r.get("finished_at") or r.get("started_at") or ""))


def _gates_of_last_transform(lake: Lake, source: str, latest: dict[str, Any]) -> str | None:
    """``passed`` or ``failed: bronze`` over every gate of the transform run that ran last.

    Each gate layer writes its own record; only those of the newest transform run count, so an
    old silver pass never hides a newer bronze failure.
    """
    run = latest.get("transform_run_id")
    if not run or not isinstance(latest.get("gate"), str):
        return None
    records = [r for r in list_runs(lake, "gate", source) if r.get("transform_run_id") == run]
    failed = [str(r.get("gate")) for r in records if r.get("status") != "ok"]
    return f"failed: {', '.join(failed)}" if failed else "passed"


# Gold mart with one row per series and its gaps against the contract's cadence.
COMPLETENESS_MART = "agg_series_completeness"
MAX_GAPS_NAMED = 3


def series_gaps(settings: Settings) -> dict[str, dict[str, Any]]:
    """Per source, its series with gaps in the published gold (empty: none, or no gold).

    Reads gold through the settings themselves (not ones rebuilt from the lake root), so a lake
    with a bucket per layer, the aws profile's catalog and the work folder are the run's own.

    Each value: ``series`` (series with gaps), ``total`` (series), ``missing`` (steps missing
    in all), ``published_at`` and ``gaps`` (the largest per series: key, missing, from, to).
    """
    from lakehouse import gold

    try:
        pointer = gold.published_pointer(settings)
        if not pointer or COMPLETENESS_MART not in (pointer.get("marts") or {}):
            return {}
        _, rows = gold.query(
            settings,
            f"select source, entity, series_key, missing_count, largest_gap_missing_count,"
            f" largest_gap_start_at, largest_gap_end_at, cadence from {COMPLETENESS_MART}"
            f" order by source, missing_count desc, series_key",
        )
    except Exception:  # noqa: BLE001 - status reports what it can read; gold is optional here
        return {}
    out: dict[str, dict[str, Any]] = {}
    for source, entity, key, missing, largest, start, end, cadence in rows:
        item = out.setdefault(
            source,
            {
                "series": 0,
                "total": 0,
                "missing": 0,
                "published_at": pointer.get("published_at"),
                "gaps": [],
            },
        )
        item["total"] += 1
        if missing:
            item["series"] += 1
            item["missing"] += int(missing)
            item["gaps"].append(
                {
                    "entity": entity,
                    "series_key": key,
                    "missing": int(missing),
                    "largest": int(largest or 0),
                    "cadence": cadence,
                    "from": _short(start),
                    "to": _short(end),
                }
            )
    return {source: item for source, item in out.items() if item["series"]}


def _short(value: Any) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value


def describe_gaps(item: dict[str, Any]) -> str:
    """``2 of 4 series miss 27 steps: walnut_creek 24 (largest 2025-03-12 00:00..23:00), ...``."""
    named = ", ".join(
        f"{g['series_key']} {g['missing']} (largest {g['from']}..{g['to']})"
        for g in item["gaps"][:MAX_GAPS_NAMED]
    )
    more = len(item["gaps"]) - MAX_GAPS_NAMED
    return f"{item['series']} of {item['total']} series miss {item['missing']} steps: {named}" + (
        f", and {more} more" if more > 0 else ""
    )


def collect_status(settings: Settings, sources: list[str] | None = None) -> list[LayerStatus]:
    """One :class:`LayerStatus` per source and layer, from the run records and landing zone,
    plus a ``completeness`` warning line for a source whose published series have gaps."""
    lines: list[LayerStatus] = []
    now = datetime.now(UTC)
    lake = settings.lake
    gaps = series_gaps(settings)
    for source in sources or available_sources():
        freshness = source_freshness(lake, source, now)
        for layer, step in LAYER_STEPS:
            record = _newest(lake, step, source)
            if record is None:
                lines.append(
                    LayerStatus(
                        source=source,
                        layer=layer,
                        last_run=None,
                        status="never run",
                        rows=None,
                        gate=None,
                        freshness_lag=freshness.describe() if layer == "landing" else None,
                    )
                )
                continue
            gate = _gates_of_last_transform(lake, source, record) if step == "gate" else None
            gate = gate or _gate(record)
            lines.append(
                LayerStatus(
                    source=source,
                    layer=layer,
                    last_run=record.get("finished_at") or record.get("started_at"),
                    status=str(record.get("status", "unknown")),
                    rows=_rows(record),
                    gate=gate,
                    freshness_lag=freshness.describe() if layer == "landing" else None,
                    detail=record.get("error") or record.get("reason"),
                )
            )
        if source in gaps:
            item = gaps[source]
            lines.append(
                LayerStatus(
                    source=source,
                    layer="completeness",
                    last_run=item["published_at"],
                    status="warning",
                    rows=item["missing"],
                    gate=None,
                    freshness_lag=None,
                    detail=describe_gaps(item),
                )
            )
    return lines
