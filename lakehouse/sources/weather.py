"""City weather from Open-Meteo: requests built from the contract, fetched, landed as received.

Everything about the source comes from ``lakehouse/contracts/weather.yml``: endpoints and their
base-URL settings, fixed parameters (``timezone=GMT``), the recent window, the cities and the
hourly variables (the entity's field names). This module only decides *which* window to ask for:

- no dates: the ``recent`` endpoint with ``start_hour``/``end_hour`` from ``recent_window`` days
  before the current UTC hour up to and including it;
- a date range: the ``history`` endpoint when the range ends more than its ``min_age_days``
  before today (UTC), else the ``recent`` endpoint with ``start_date``/``end_date``.

Each city's response is landed as one object (:func:`lakehouse.landing.land_response`), even a
truncated body, which the bronze job quarantines; such bodies are logged as warnings here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lakehouse.contracts import City, Contract
from lakehouse.http import RetryHook, SourceClient, SourceRequestError
from lakehouse.lake import Lake
from lakehouse.landing import land_response
from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings

logger = get_logger(__name__)

SOURCE = "weather"
ENTITY = "hourly"
RECENT, HISTORY = "recent", "history"
_HOUR_FORMAT = "%Y-%m-%dT%H:%M"

ProgressHook = Callable[[str], None]
"""Told what one city's fetch is doing now (``fetching``, ``retry 2: HTTP 503 ...``)."""


class WindowError(ValueError):
    """The requested dates cannot be fetched (message says why and what to do)."""


@dataclass(frozen=True)
class FetchWindow:
    """Which endpoint to ask and the time parameters to send."""

    endpoint: str
    params: dict[str, str]
    label: str


@dataclass(frozen=True)
class CityRequest:
    """One request of one city."""

    city: City
    method: str
    url: str
    params: dict[str, Any]


@dataclass
class CityOutcome:
    """What fetching and landing one city did."""

    city_id: str
    city: str
    status: str  # "ok" or "failed"
    reason: str = ""
    rows: int = 0
    bytes: int = 0
    objects: int = 0  # objects created; 0 when the identical body was landed before
    duplicate: bool = False
    path: str = ""
    attempts: int = 0
    first_hour_utc: str | None = None
    last_hour_utc: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def plan_window(
    contract: Contract,
    start_date: date | None = None,
    end_date: date | None = None,
    now: datetime | None = None,
) -> FetchWindow:
    """Choose endpoint and time parameters for a recent fetch or an inclusive UTC backfill.

    Raises:
        WindowError: Only one date given, start after end, or a range reaching past today.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    endpoints = contract.source.endpoints
    if start_date is None and end_date is None:
        current = now.replace(minute=0, second=0, microsecond=0)
        first = current - timedelta(days=contract.source.recent_window.get("past_days", 1))
        params = {"start_hour": f"{first:{_HOUR_FORMAT}}", "end_hour": f"{current:{_HOUR_FORMAT}}"}
        label = f"recent {params['start_hour']}..{params['end_hour']} UTC"
        return FetchWindow(RECENT, params, label)
    if start_date is None or end_date is None:
        raise WindowError("give both --start-date and --end-date, or neither for the recent window")
    if start_date > end_date:
        raise WindowError(f"start date {start_date} is after end date {end_date}")
    today = now.date()
    if end_date > today:
        raise WindowError(
            f"end date {end_date} is after today ({today} UTC); a backfill covers past days only"
        )
    history = endpoints.get(HISTORY)
    age_days = (today - end_date).days
    endpoint = HISTORY if history is not None and age_days > history.min_age_days else RECENT
    params = {"start_date": start_date.isoformat(), "end_date": end_date.isoformat()}
    return FetchWindow(endpoint, params, f"backfill {start_date}..{end_date} UTC")


def build_requests(
    contract: Contract, settings: Settings, window: FetchWindow, entity: str = ENTITY
) -> list[CityRequest]:
    """One request per contract city, parameters from the contract and the window."""
    endpoint = contract.source.endpoints[window.endpoint]
    base_url = str(getattr(settings, endpoint.base_url_setting)).rstrip("/")
    variables = ",".join(f.name for f in contract.entity(entity).fields)
    requests = []
    for city in contract.cities:
        params: dict[str, Any] = {
            "latitude": city.latitude,
            "longitude": city.longitude,
            entity: variables,
            **contract.source.params,
            **window.params,
        }
        requests.append(CityRequest(city, endpoint.method, base_url + endpoint.path, params))
    return requests


def inspect_body(body: bytes, time_field: str = "time", entity: str = ENTITY) -> dict[str, Any]:
    """Hours in a response and their UTC span (using ``utc_offset_seconds``), or why not.

    Returns:
        ``{"rows", "first_hour_utc", "last_hour_utc"}`` or ``{"rows": 0, "warning": ...}``.
    """
    try:
        payload = json.loads(body)
        times = payload[entity][time_field]
        offset = timedelta(seconds=int(payload.get("utc_offset_seconds", 0)))
    except (ValueError, KeyError, TypeError) as exc:
        reason = "not valid JSON" if isinstance(exc, ValueError) else f"no {entity}.{time_field}"
        return {"rows": 0, "warning": f"body is {reason} (landed as received for quarantine)"}
    if not isinstance(times, list) or not times:
        return {"rows": 0, "warning": f"response has no {entity} rows"}
    try:
        first, last = (
            (datetime.strptime(t, _HOUR_FORMAT) - offset).strftime(_HOUR_FORMAT)
            for t in (times[0], times[-1])
        )
    except (TypeError, ValueError):
        return {"rows": len(times), "warning": f"{entity}.{time_field} is not {_HOUR_FORMAT}"}
    return {"rows": len(times), "first_hour_utc": first, "last_hour_utc": last}


def fetch_city(
    client: SourceClient,
    lake: Lake,
    request: CityRequest,
    *,
    batch_id: str,
    source: str = SOURCE,
    entity: str = ENTITY,
    progress: ProgressHook | None = None,
) -> CityOutcome:
    """Fetch one city and land the body; failures become a failed outcome, never an exception."""
    city = request.city
    outcome = CityOutcome(city_id=city.id, city=city.name, status="failed")
    report = progress or (lambda _text: None)
    report("fetching")

    def on_retry(attempt: int, reason: str, delay: float) -> None:
        report(f"retry {attempt + 1} in {delay:.1f}s after {reason}")

    retry_hook: RetryHook = on_retry
    try:
        fetched = client.request(
            request.method, request.url, params=request.params, label=city.id, on_retry=retry_hook
        )
    except SourceRequestError as exc:
        outcome.reason, outcome.attempts = exc.reason, exc.attempts
        log_event(
            logger,
            "city failed",
            logging.ERROR,
            city=city.id,
            reason=exc.reason,
            attempts=exc.attempts,
        )
        report(f"failed: {exc.reason}")
        return outcome
    outcome.attempts = fetched.attempts
    details = inspect_body(fetched.content, entity=entity)
    outcome.rows = details["rows"]
    outcome.first_hour_utc = details.get("first_hour_utc")
    outcome.last_hour_utc = details.get("last_hour_utc")
    if "warning" in details:
        outcome.warnings.append(details["warning"])
        log_event(
            logger,
            "suspicious response landed",
            logging.WARNING,
            city=city.id,
            warning=details["warning"],
            bytes=len(fetched.content),
        )
    try:
        landed = land_response(
            lake,
            source=source,
            entity=entity,
            key=city.id,
            method=fetched.method,
            url=fetched.url,
            params=fetched.params,
            http_status=fetched.status,
            content_type=fetched.content_type,
            body=fetched.content,
            batch_id=batch_id,
        )
    except OSError as exc:
        outcome.reason = f"could not write the landing object: {exc}"
        log_event(logger, "city failed", logging.ERROR, city=city.id, reason=outcome.reason)
        report(f"failed: {outcome.reason}")
        return outcome
    outcome.status = "ok"
    outcome.bytes = landed.body_bytes
    outcome.objects = 1 if landed.created else 0
    outcome.duplicate = not landed.created
    outcome.path = str(landed.path)
    log_event(
        logger,
        "city landed" if landed.created else "city unchanged",
        city=city.id,
        rows=outcome.rows,
        bytes=outcome.bytes,
        attempts=outcome.attempts,
        path=landed.path,
    )
    report("unchanged (identical body already landed)" if outcome.duplicate else "landed")
    return outcome


@dataclass
class IngestResult:
    """The outcome of one ingest run over every city."""

    source: str
    batch_id: str
    window: str
    endpoint: str
    started_at: str
    finished_at: str
    seconds: float
    landing_dir: str
    cities: list[CityOutcome]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cities)

    @property
    def failed(self) -> list[CityOutcome]:
        return [c for c in self.cities if not c.ok]

    def failure_message(self) -> str:
        """``N of M cities failed: <id>: <reason>; ...`` (empty when all landed)."""
        if self.ok:
            return ""
        details = "; ".join(f"{c.city_id}: {c.reason}" for c in self.failed)
        return f"{len(self.failed)} of {len(self.cities)} cities failed: {details}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = "ok" if self.ok else "failed"
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngestResult:
        fields = {k: v for k, v in data.items() if k != "status"}
        fields["cities"] = [CityOutcome(**c) for c in data["cities"]]
        return cls(**fields)


class IngestFailed(Exception):
    """Some cities failed; ``result`` is the run's :meth:`IngestResult.to_dict` (others landed)."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result

    def __reduce__(self):  # keeps ``result`` when Prefect persists the failed state
        return (type(self), (str(self), self.result))


def run_record_fields(result: IngestResult) -> dict[str, Any]:
    """The fields of the ``ingest`` run record (see :mod:`lakehouse.runs`)."""
    return {
        "status": "ok" if result.ok else "failed",
        "started_at": result.started_at,
        "batch_id": result.batch_id,
        "window": result.window,
        "endpoint": result.endpoint,
        "seconds": result.seconds,
        "landing_dir": result.landing_dir,
        "objects": sum(c.objects for c in result.cities),
        "rows": sum(c.rows for c in result.cities),
        "bytes": sum(c.bytes for c in result.cities),
        "cities": {
            c.city_id: {
                "status": c.status,
                "objects": c.objects,
                "rows": c.rows,
                "bytes": c.bytes,
                "reason": c.reason,
                "path": c.path,
                "warnings": c.warnings,
            }
            for c in result.cities
        },
        "error": result.failure_message() or None,
    }
