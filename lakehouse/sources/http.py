"""The HTTP ingester: any ``kind: http`` contract fetched and landed as received.

Everything about a source comes from its contract (``source:``); this module knows no source:

- **Window** (:func:`plan_window`): a contract with a ``window`` fetches the recent window when
  no dates are given (``past_days`` before the current UTC hour up to and including it) from the
  first endpoint that ``serves`` ``recent``, and an inclusive range of UTC days from the first
  endpoint serving ``range`` whose ``min_age_days`` the range's end satisfies (its age in days
  is greater, or the endpoint has none). Endpoints serving ``always`` are fetched every run; a
  contract without a ``window`` fetches those only and takes no dates.
- **Requests** (:func:`build_requests`): one per endpoint and target (``targets.items`` crossed
  with every ``vary`` value; key ``<id>__<value>...``), parameters ``source.params`` +
  ``endpoint.params`` + the window mode's ``params``, headers and JSON body, all rendered by
  :mod:`lakehouse.sources.templates`. The host is the ``base_url`` setting
  (``LAKEHOUSE_<SOURCE>_BASE_URL`` or ``--base-url``) when set, else the endpoint's or source's.
- **Fetch**: targets run concurrently (``rate_limit.max_concurrency`` at a time, at most
  ``requests_per_second`` started), each with the retrying client :class:`lakehouse.http.
  SourceClient` (429 with or without Retry-After, 5xx, timeouts). OAuth2 client credentials:
  one token shared by every target, reused until ``refresh_margin_s`` before it expires and
  renewed once on a 401. Pagination (``next_link``, ``offset``): every page lands as its own
  object, key ``<target>`` for the first and ``<target>__p<n>`` after it.
- **Land**: each answer, truncated or not, is landed by :func:`lakehouse.landing.land_response`
  (bronze quarantines what it cannot parse); the recorded request never carries credentials.
  Rows per answer are counted from the landing entity's layout (records at its path, or the
  length of the column arrays' event-time array); a body that is not JSON lands with a warning.

One failed target never stops the others: it becomes a failed :class:`TargetOutcome` naming
the reason, and :func:`run` returns the :class:`IngestResult` of every target.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import product
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from lakehouse.contracts import (
    ColumnArraysLayout,
    Contract,
    CsvLayout,
    Entity,
    HttpEndpoint,
    HttpSource,
    JsonLinesLayout,
    NextLinkPagination,
    OAuth2ClientCredentials,
    OffsetPagination,
    RecordsLayout,
)
from lakehouse.http import RateLimiter, SourceClient, SourceRequestError, json_path_get
from lakehouse.landing import land_response
from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings
from lakehouse.source_settings import (
    BASE_URL,
    SourceSettings,
    env_name,
    secret_values,
    setting_value,
    source_settings,
)
from lakehouse.sources import (
    CredentialsRejected,
    IngestRequest,
    IngestResult,
    ProgressHook,
    TargetOutcome,
    WindowError,
)
from lakehouse.sources._common import new_batch_id
from lakehouse.sources.templates import render_json, render_params, render_text

logger = get_logger(__name__)

KIND = "http"
RECENT, RANGE, ALWAYS = "recent", "range", "always"
_MINUTE = "%Y-%m-%dT%H:%M"
# Headers whose values are credentials: never recorded in a landing envelope or a log.
_SECRET_HEADER = re.compile(r"(authorization|cookie|token|secret|api[-_]?key|password)", re.I)
# A next link followed this many times is a loop, not a dataset.
MAX_NEXT_LINKS = 1000
_QUARANTINE = "(landed as received for quarantine)"
NOT_JSON = f"body is not valid JSON {_QUARANTINE}"


# ================================================================ Window


@dataclass(frozen=True)
class Plan:
    """What one run fetches: the window mode, its endpoints and the template ``window``."""

    mode: str  # recent, range, or always (a contract without a window)
    endpoints: tuple[str, ...]
    window: dict[str, Any]
    label: str
    now: datetime

    @property
    def endpoint(self) -> str:
        """The endpoints' names as one label (``recent``, ``history``, ``a,b``)."""
        return ",".join(self.endpoints)

    def params(self, contract: Contract) -> dict[str, str]:
        """The window mode's parameters rendered (those that need no target)."""
        src = _http(contract)
        if src.window is None or self.mode == ALWAYS:
            return {}
        mode = src.window.recent if self.mode == RECENT else src.window.range
        return render_params(mode.params, _base_context(self))


def _http(contract: Contract) -> HttpSource:
    if not isinstance(contract.source, HttpSource):
        raise TypeError(f"contract {contract.name!r} is kind {contract.source.kind}, not http")
    return contract.source


def _serves(endpoint: HttpEndpoint, mode: str) -> bool:
    return mode in endpoint.serves


def plan_window(
    contract: Contract,
    start_date: date | None = None,
    end_date: date | None = None,
    now: datetime | None = None,
) -> Plan:
    """Choose the endpoints and window of a run: recent, an inclusive UTC range, or always.

    Raises:
        WindowError: One date only, start after end, an end after today, dates for a source
            without a window, or no endpoint serving the window.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    src = _http(contract)
    always = tuple(n for n, e in src.endpoints.items() if _serves(e, ALWAYS))
    if src.window is None:
        if start_date is not None or end_date is not None:
            raise WindowError(
                f"source {contract.name} has no date window; omit --start-date and --end-date"
            )
        endpoints = always or tuple(src.endpoints)
        return Plan(ALWAYS, endpoints, {}, f"current ({now:{_MINUTE}} UTC)", now)

    if start_date is None and end_date is None:
        current = now.replace(minute=0, second=0, microsecond=0)
        first = current - timedelta(days=src.window.recent.past_days)
        window = {
            "start": first,
            "end": current,
            "start_date": first.date(),
            "end_date": current.date(),
        }
        chosen = next((n for n, e in src.endpoints.items() if _serves(e, RECENT)), None)
        if chosen is None:
            raise WindowError(f"source {contract.name} has no endpoint serving the recent window")
        label = f"recent {first:{_MINUTE}}..{current:{_MINUTE}} UTC"
        return Plan(RECENT, (chosen, *always), window, label, now)

    if start_date is None or end_date is None:
        raise WindowError("give both --start-date and --end-date, or neither for the recent window")
    if start_date > end_date:
        raise WindowError(f"start date {start_date} is after end date {end_date}")
    today = now.date()
    if end_date > today:
        raise WindowError(
            f"end date {end_date} is after today ({today} UTC); a backfill covers past days only"
        )
    age_days = (today - end_date).days
    chosen = next(
        (
            n
            for n, e in src.endpoints.items()
            if _serves(e, RANGE) and (e.min_age_days == 0 or age_days > e.min_age_days)
        ),
        None,
    )
    if chosen is None:
        raise WindowError(
            f"no endpoint of source {contract.name} serves a range ending {end_date} "
            f"({age_days} days ago)"
        )
    window = {
        "start_date": start_date,
        "end_date": end_date,
        "start": datetime.combine(start_date, datetime.min.time(), UTC),
        "end": datetime.combine(end_date, datetime.max.time().replace(microsecond=0), UTC),
    }
    return Plan(RANGE, (chosen, *always), window, f"backfill {start_date}..{end_date} UTC", now)


def check_request(contract: Contract, request: IngestRequest) -> None:
    """Raise :class:`WindowError` for dates this source cannot fetch (the CLI's exit 2)."""
    plan_window(contract, request.start_date, request.end_date)


# ================================================================ Requests


@dataclass(frozen=True)
class HttpRequest:
    """One request of one target (the first page of a paginated answer)."""

    endpoint: str
    key: str  # the target's key: landing key and outcome key
    target: dict[str, Any]
    method: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    json_body: Any
    lands_as: str

    @property
    def label(self) -> str:
        return str(self.target.get("name") or self.key)


def expand_targets(contract: Contract) -> list[tuple[str, dict[str, Any]]]:
    """``(key, target)`` per item and ``vary`` combination; one target named after the source
    when the contract declares none."""
    src = _http(contract)
    if src.targets is None:
        return [(contract.name, {"id": contract.name})]
    names = list(src.targets.vary)
    combos = list(product(*(src.targets.vary[n] for n in names))) if names else [()]
    out = []
    for item in src.targets.items:
        for combo in combos:
            key = "__".join([str(item["id"]), *(str(v) for v in combo)])
            out.append((key, {**item, **dict(zip(names, combo, strict=True))}))
    return out


def record_fields(contract: Contract, landing: str) -> list[str]:
    """Source paths of the record-level fields of the entities reading ``landing`` (fields
    whose path does not start with ``$.`` or ``envelope.``), each once, in contract order."""
    seen: list[str] = []
    for entity in contract.entities_reading(landing).values():
        for f in entity.fields:
            path = f.source_path
            if path.startswith(("$", "envelope.")) or path in seen:
                continue
            seen.append(path)
    return seen


def _base_context(plan: Plan) -> dict[str, Any]:
    return {"window": plan.window, "today": plan.now.date(), "now": plan.now}


def endpoint_host(contract: Contract, endpoint: HttpEndpoint, settings: SourceSettings) -> str:
    """The endpoint's host: the ``base_url`` setting, else the endpoint's, else the source's."""
    host = setting_value(settings, BASE_URL) or endpoint.base_url or _http(contract).base_url
    if not host:
        raise ValueError(
            f"source {contract.name} has no base URL: set {env_name(contract.name, BASE_URL)} "
            "or give --base-url"
        )
    return host.rstrip("/")


def build_requests(contract: Contract, plan: Plan, settings: SourceSettings) -> list[HttpRequest]:
    """One request per endpoint of the plan and target, rendered from the contract."""
    src = _http(contract)
    mode_params: dict[str, Any] = {}
    if src.window is not None and plan.mode != ALWAYS:
        mode_params = (src.window.recent if plan.mode == RECENT else src.window.range).params
    requests = []
    for name in plan.endpoints:
        endpoint = src.endpoints[name]
        lands_as = endpoint.lands_as or contract.default_landing()
        host = endpoint_host(contract, endpoint, settings)
        fields = record_fields(contract, lands_as)
        windowed = mode_params if not _serves(endpoint, ALWAYS) else {}
        for key, target in expand_targets(contract):
            context = {**_base_context(plan), "target": target, "fields": fields}
            params = render_params({**src.params, **endpoint.params, **windowed}, context)
            headers = render_params({**src.headers, **endpoint.headers}, context)
            body = (
                render_json(endpoint.json_body, context) if endpoint.json_body is not None else None
            )
            path = render_text(endpoint.path, context)
            url = path if urlsplit(path).scheme else host + "/" + path.lstrip("/")
            requests.append(
                HttpRequest(
                    name, key, target, endpoint.method, url, params, headers, body, lands_as
                )
            )
    return requests


def recorded_headers(headers: Mapping[str, str], secrets: list[str]) -> dict[str, str]:
    """Headers as a landing envelope may keep them: no credential, no secret value."""
    return {
        k: v
        for k, v in headers.items()
        if not _SECRET_HEADER.search(k) and not any(s in v for s in secrets)
    }


# ================================================================ Auth


class OAuth2Token:
    """An OAuth2 client-credentials token shared by every request of a run.

    Fetched on first use, reused until ``refresh_margin_s`` before ``expires_in`` runs out, and
    renewed by :meth:`renew` (once per stale token, whichever thread sees the 401 first).
    """

    def __init__(
        self,
        client: SourceClient,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_margin_s: float,
        throttle: Callable[[], None] | None = None,
        error_paths: list[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rejected_hint: str = "",
    ) -> None:
        self._client = client
        self._rejected_hint = rejected_hint
        self._url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._margin = refresh_margin_s
        self._throttle = throttle
        self._error_paths = error_paths
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._unused = False
        self._expires = 0.0
        self.fetched = 0  # tokens fetched in this run (tests and logs read it)

    def _fetch(self) -> None:
        try:
            fetched = self._client.request(
                "POST",
                self._url,
                data=self._form,
                headers={"Accept": "application/json"},
                label="oauth2-token",
                throttle=self._throttle,
                error_paths=self._error_paths,
            )
        except SourceRequestError as exc:
            if exc.status == 401 and self._rejected_hint:
                # Retrying cannot help: stop the run with one line naming the settings.
                raise CredentialsRejected(
                    f"{self._rejected_hint} (token endpoint: {exc.reason})"
                ) from None
            raise SourceRequestError(
                f"OAuth2 token request failed: {exc.reason}",
                status=exc.status,
                attempts=exc.attempts,
                url=exc.url,
            ) from None
        try:
            payload = json.loads(fetched.content)
            token = str(payload["access_token"])
            expires_in = float(payload.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise SourceRequestError(
                "OAuth2 token response has no access_token",
                status=fetched.status,
                attempts=fetched.attempts,
                url=self._url,
            ) from None
        self._token = token
        self._expires = self._clock() + expires_in
        self.fetched += 1
        log_event(logger, "oauth2 token fetched", expires_in_s=expires_in)

    def token(self) -> str:
        with self._lock:
            # A token fetched ahead (the run's credentials check) serves the first request even
            # when its lifetime is inside the margin; after that the margin applies.
            stale = not self._unused and self._clock() >= self._expires - self._margin
            if self._token is None or stale:
                self._fetch()
            self._unused = False
            assert self._token is not None
            return self._token

    def check(self) -> None:
        """Fetch the first token now, so rejected credentials stop the run before any target
        (raises :class:`CredentialsRejected`); the token then serves the first request."""
        with self._lock:
            if self._token is None:
                self._fetch()
                self._unused = True

    def renew(self, stale: str) -> None:
        """Fetch a new token unless another thread already replaced ``stale``."""
        with self._lock:
            if self._token == stale:
                self._token = None
                self._fetch()


def make_auth(
    contract: Contract,
    settings: SourceSettings,
    client: SourceClient,
    throttle: Callable[[], None] | None,
) -> OAuth2Token | None:
    """The token source of the contract's ``auth`` (None for ``none``).

    Raises:
        ValueError: A client id or secret setting is unset (the message names the variables).
    """
    src = _http(contract)
    auth = src.auth
    if not isinstance(auth, OAuth2ClientCredentials):
        return None
    client_id = setting_value(settings, auth.client_id_setting)
    secret = setting_value(settings, auth.client_secret_setting)
    missing = [
        env_name(contract.name, name)
        for name, value in (
            (auth.client_id_setting, client_id),
            (auth.client_secret_setting, secret),
        )
        if not value
    ]
    if missing:
        raise ValueError(f"source {contract.name} needs {' and '.join(missing)} (OAuth2)")
    if urlsplit(auth.token_path).scheme:
        token_url = auth.token_path
    else:
        host = (
            setting_value(settings, BASE_URL)
            or src.base_url
            or next((e.base_url for e in src.endpoints.values() if e.base_url), None)
        )
        if not host:
            raise ValueError(
                f"source {contract.name} has no base URL for its token: set "
                f"{env_name(contract.name, BASE_URL)}"
            )
        token_url = host.rstrip("/") + "/" + auth.token_path.lstrip("/")
    return OAuth2Token(
        client,
        token_url=token_url,
        client_id=client_id or "",
        client_secret=secret or "",
        refresh_margin_s=auth.refresh_margin_s,
        throttle=throttle,
        error_paths=list(src.error_message_paths),
        rejected_hint=(
            f"source {contract.name}: the API rejected the client credentials; check "
            f"{env_name(contract.name, auth.client_id_setting)} and "
            f"{env_name(contract.name, auth.client_secret_setting)}"
        ),
    )


# ================================================================ Bodies


def _entity_of(contract: Contract, landing: str) -> Entity | None:
    entities = contract.entities_reading(landing)
    return next(iter(entities.values()), None)


def _records(document: Any, path: str) -> list[Any] | None:
    """Records at a layout path (``$``, ``data``, ``data[].segments[]``), or None."""
    parts = [p.strip(".") for p in path.split("[]")]
    value = json_path_get(document, parts[0] or "$")
    if not isinstance(value, list):
        return None
    items = value
    for part in parts[1:]:
        if not part:
            continue
        nested: list[Any] = []
        for item in items:
            inner = json_path_get(item, part)
            if isinstance(inner, list):
                nested.extend(inner)
        items = nested
    return items


def _zone_offset(entity: Entity, document: Any) -> tuple[timedelta | None, ZoneInfo | None, bool]:
    """(fixed offset, zone, known) of the event time's wall clock for a whole body."""
    tz = entity.event_time.timezone
    if tz.upper() in ("UTC", "GMT", "Z"):
        return timedelta(0), None, True
    if tz.startswith("offset_field:"):
        name = tz.split(":", 1)[1]
        try:
            path = entity.field(name).source_path
        except KeyError:
            path = f"$.{name}"
        if not path.startswith("$"):
            return None, None, False
        try:
            return timedelta(seconds=int(json_path_get(document, path, 0) or 0)), None, True
        except (TypeError, ValueError):
            return None, None, False
    if tz.startswith("field:"):
        return None, None, False
    try:
        return None, ZoneInfo(tz), True
    except (ValueError, KeyError):
        return None, None, False


def _event_utc(value: Any, fmt: str, offset: timedelta | None, zone: ZoneInfo | None) -> datetime:
    if fmt in ("epoch_ms", "epoch_s"):
        seconds = float(value) / (1000 if fmt == "epoch_ms" else 1)
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, int | float):  # unixtime in a text format's place
        return datetime.fromtimestamp(float(value), UTC)
    parsed = (
        datetime.fromisoformat(str(value))
        if fmt == "iso8601"
        else datetime.strptime(str(value), fmt)
    )
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    if zone is not None:
        return parsed.replace(tzinfo=zone).astimezone(UTC)
    return (parsed - (offset or timedelta(0))).replace(tzinfo=UTC)


def _text(at: datetime) -> str:
    whole_minute = at.second == 0 and at.microsecond == 0
    return f"{at:%Y-%m-%dT%H:%M}" if whole_minute else f"{at:%Y-%m-%dT%H:%M:%S}"


def inspect_body(contract: Contract, landing: str, body: bytes) -> dict[str, Any]:
    """Rows in an answer and their UTC span, from the landing entity's layout, or a warning.

    Returns:
        ``{"rows", "first_event", "last_event"}`` (span when the event times parse) or
        ``{"rows", "warning"}``.
    """
    entity = _entity_of(contract, landing)
    layout = entity.layout if entity else None
    if isinstance(layout, JsonLinesLayout | CsvLayout):
        lines = [line for line in body.splitlines() if line.strip()]
        header = 1 if isinstance(layout, CsvLayout) and layout.header and lines else 0
        rows = len(lines) - header
        return {"rows": rows} if rows else {"rows": 0, "warning": f"response has no {landing} rows"}
    try:
        document = json.loads(body)
    except ValueError:
        return {"rows": 0, "warning": NOT_JSON}
    if entity is None or not isinstance(layout, ColumnArraysLayout | RecordsLayout):
        return {"rows": 0}
    source_field = entity.event_time.source_field
    if isinstance(layout, ColumnArraysLayout):
        arrays = json_path_get(document, layout.arrays)
        times = arrays.get(source_field) if isinstance(arrays, dict) else None
        if not isinstance(times, list):
            where = f"{layout.arrays}.{source_field}"
            return {"rows": 0, "warning": f"body has no {where} {_QUARANTINE}"}
    else:
        records = _records(document, layout.path)
        if records is None:
            return {
                "rows": 0,
                "warning": f"body has no records at {layout.path} {_QUARANTINE}",
            }
        prefix = layout.path.rstrip(".") + "."
        relative = source_field[len(prefix) :] if source_field.startswith(prefix) else source_field
        times = [json_path_get(r, relative) for r in records]
    if not times:
        return {"rows": 0, "warning": f"response has no {landing} rows"}
    out: dict[str, Any] = {"rows": len(times)}
    offset, zone, known = _zone_offset(entity, document)
    if not known:
        return out
    try:
        parsed = [
            _event_utc(t, entity.event_time.format, offset, zone)
            for t in (times if isinstance(layout, RecordsLayout) else (times[0], times[-1]))
            if t is not None
        ]
    except (TypeError, ValueError, OverflowError, OSError):
        return {**out, "warning": f"{source_field} is not {entity.event_time.format}"}
    if parsed:
        out["first_event"], out["last_event"] = _text(min(parsed)), _text(max(parsed))
    return out


# ================================================================ Fetch one target


@dataclass
class _Page:
    url: str
    params: dict[str, str]
    number: int = 1


@dataclass
class _Fetcher:
    """What every target of a run shares."""

    contract: Contract
    settings: Settings
    client: SourceClient
    batch_id: str
    auth: OAuth2Token | None
    limiter: RateLimiter
    secrets: list[str]
    progress: ProgressHook
    outcome_keys: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def src(self) -> HttpSource:
        return _http(self.contract)

    def _send(self, request: HttpRequest, page: _Page, report: Callable[[str], None]):
        def on_retry(attempt: int, reason: str, delay: float) -> None:
            report(f"retry {attempt + 1} in {delay:.1f}s after {reason}")

        renewed = False
        while True:
            headers = dict(request.headers)
            token = self.auth.token() if self.auth else None
            if token:
                headers["Authorization"] = f"Bearer {token}"
            try:
                return self.client.request(
                    request.method,
                    page.url,
                    params=page.params,
                    json_body=request.json_body,
                    headers=headers,
                    label=request.key,
                    on_retry=on_retry,
                    throttle=self.limiter.wait,
                    error_paths=list(self.src.error_message_paths),
                )
            except SourceRequestError as exc:
                if exc.status == 401 and self.auth is not None and token and not renewed:
                    renewed = True
                    report("token refused (HTTP 401): renewing it once")
                    self.auth.renew(token)
                    continue
                raise

    def _next(self, request: HttpRequest, page: _Page, document: Any) -> _Page | None:
        pagination = self.src.pagination
        if isinstance(pagination, NextLinkPagination):
            link = json_path_get(document, pagination.next_path)
            if not isinstance(link, str) or not link or page.number >= MAX_NEXT_LINKS:
                return None
            url = urljoin(page.url, link)
            params = {} if urlsplit(url).query else page.params
            if url == page.url and params == page.params:
                return None
            return _Page(url, params, page.number + 1)
        if isinstance(pagination, OffsetPagination):
            records = json_path_get(document, pagination.records_path)
            count = len(records) if isinstance(records, list) else 0
            offset = int(page.params.get(pagination.offset_param, 0)) + count
            total = (
                json_path_get(document, pagination.total_path) if pagination.total_path else None
            )
            if count < pagination.limit or page.number >= pagination.max_pages:
                return None
            if isinstance(total, int | float) and offset >= total:
                return None
            return _Page(
                page.url, {**page.params, pagination.offset_param: str(offset)}, page.number + 1
            )
        return None

    def _first_page(self, request: HttpRequest) -> _Page:
        pagination = self.src.pagination
        params = dict(request.params)
        if isinstance(pagination, OffsetPagination):
            params.setdefault(pagination.offset_param, "0")
            params.setdefault(pagination.limit_param, str(pagination.limit))
        return _Page(request.url, params)

    def fetch(self, request: HttpRequest) -> TargetOutcome:
        """Fetch every page of one request and land each; a failure is a failed outcome."""
        key = self.outcome_keys.get((request.endpoint, request.key), request.key)
        outcome = TargetOutcome(key=key, label=request.label, status="failed")

        def report(text: str) -> None:
            self.progress(key, text)

        report("fetching")
        page: _Page | None = self._first_page(request)
        paginated = self.src.pagination.type != "none"
        created_any, duplicates = False, 0
        firsts: list[str] = []
        lasts: list[str] = []
        while page is not None:
            try:
                fetched = self._send(request, page, report)
            except (SourceRequestError, ValueError) as exc:
                reason = getattr(exc, "reason", None) or str(exc)
                for secret in self.secrets:
                    reason = reason.replace(secret, "***")
                if page.number > 1:
                    reason = f"page {page.number}: {reason}"
                outcome.reason = reason
                outcome.attempts += getattr(exc, "attempts", 0)
                log_event(
                    logger,
                    "target failed",
                    logging.ERROR,
                    source=self.contract.name,
                    target=key,
                    reason=reason,
                )
                report(f"failed: {reason}")
                return outcome
            outcome.attempts += fetched.attempts
            details = inspect_body(self.contract, request.lands_as, fetched.content)
            outcome.rows += details.get("rows", 0)
            if details.get("first_event"):
                firsts.append(details["first_event"])
                lasts.append(details["last_event"])
            if "warning" in details:
                warning = details["warning"]
                if page.number > 1:
                    warning = f"page {page.number}: {warning}"
                outcome.warnings.append(warning)
                log_event(
                    logger,
                    "suspicious response landed",
                    logging.WARNING,
                    source=self.contract.name,
                    target=key,
                    warning=warning,
                    bytes=len(fetched.content),
                )
            try:
                landed = land_response(
                    self.settings.lake,
                    source=self.contract.name,
                    entity=request.lands_as,
                    key=request.key if page.number == 1 else f"{request.key}__p{page.number}",
                    method=fetched.method,
                    url=fetched.url,
                    params=fetched.params,
                    http_status=fetched.status,
                    content_type=fetched.content_type,
                    body=fetched.content,
                    batch_id=self.batch_id,
                    headers=recorded_headers(request.headers, self.secrets) or None,
                    json_body=request.json_body,
                    page=page.number if paginated else None,
                )
            except OSError as exc:
                outcome.reason = f"could not write the landing object: {exc}"
                log_event(
                    logger,
                    "target failed",
                    logging.ERROR,
                    source=self.contract.name,
                    target=key,
                    reason=outcome.reason,
                )
                report(f"failed: {outcome.reason}")
                return outcome
            outcome.bytes += landed.body_bytes
            outcome.objects += 1 if landed.created else 0
            created_any = created_any or landed.created
            duplicates += 0 if landed.created else 1
            if page.number == 1:
                outcome.path = str(landed.path)
            if not paginated:
                break
            try:
                document = json.loads(fetched.content)
            except ValueError:
                break  # no link or offset to follow in a body that does not parse
            page = self._next(request, page, document)
            if page is not None:
                report(f"page {page.number}")
        outcome.status = "ok"
        outcome.duplicate = not created_any
        outcome.first_event = min(firsts) if firsts else None
        outcome.last_event = max(lasts) if lasts else None
        log_event(
            logger,
            "target landed" if created_any else "target unchanged",
            source=self.contract.name,
            target=key,
            rows=outcome.rows,
            bytes=outcome.bytes,
            objects=outcome.objects,
            attempts=outcome.attempts,
        )
        report("unchanged (identical body already landed)" if outcome.duplicate else "landed")
        return outcome


# ================================================================ Run


def _now_text(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def outcome_keys(requests: list[HttpRequest]) -> dict[tuple[str, str], str]:
    """Outcome key per request: the target's key, ``<endpoint>/<key>`` when a run fetches
    several endpoints."""
    several = len({r.endpoint for r in requests}) > 1
    return {(r.endpoint, r.key): f"{r.endpoint}/{r.key}" if several else r.key for r in requests}


def target_keys(contract: Contract, request: IngestRequest | None = None) -> list[str]:
    """The outcome keys a run will report, in order (progress displays list them up front)."""
    request = request or IngestRequest()
    plan = plan_window(contract, request.start_date, request.end_date)
    keys = [(name, key) for name in plan.endpoints for key, _ in expand_targets(contract)]
    several = len(plan.endpoints) > 1
    return [f"{e}/{k}" if several else k for e, k in keys]


def run(
    settings: Settings,
    contract: Contract,
    request: IngestRequest,
    progress: ProgressHook | None = None,
    *,
    client: SourceClient | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Fetch every target of an http contract and land each answer (see the module docstring).

    Raises:
        WindowError: The dates cannot be fetched (nothing was requested).
        CredentialsRejected: The token endpoint refused the credentials (nothing landed).
    """
    report: ProgressHook = progress or (lambda _key, _text: None)
    src = _http(contract)
    plan = plan_window(contract, request.start_date, request.end_date, now)
    source_conf = source_settings(contract, {BASE_URL: request.base_url})
    secrets = secret_values(source_conf)
    requests = build_requests(contract, plan, source_conf)
    started = datetime.now(UTC)
    clock = time.monotonic()
    batch_id = new_batch_id(started)
    log_event(
        logger,
        "ingest started",
        source=contract.name,
        window=plan.label,
        endpoint=plan.endpoint,
        targets=len(requests),
        batch_id=batch_id,
    )
    limiter = RateLimiter(src.rate_limit.requests_per_second)
    own_client = client is None
    http_client = client or SourceClient(settings)
    keys = outcome_keys(requests)
    try:
        try:
            auth = make_auth(contract, source_conf, http_client, limiter.wait)
        except ValueError as exc:
            outcomes = []
            for r in requests:
                report(keys[(r.endpoint, r.key)], f"failed: {exc}")
                outcomes.append(
                    TargetOutcome(
                        key=keys[(r.endpoint, r.key)],
                        label=r.label,
                        status="failed",
                        reason=str(exc),
                    )
                )
        else:
            if auth is not None:
                auth.check()  # rejected credentials stop the run here, before any target
            fetcher = _Fetcher(
                contract, settings, http_client, batch_id, auth, limiter, secrets, report, keys
            )
            workers = max(1, min(src.rate_limit.max_concurrency, len(requests)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
                outcomes = list(pool.map(fetcher.fetch, requests))
    finally:
        if own_client:
            http_client.close()
    landings = list(dict.fromkeys(r.lands_as for r in requests))
    landing_dir = (
        settings.lake.landing(contract.name, landings[0])
        if len(landings) == 1
        else settings.lake.landing(contract.name, landings[0]).parent
    )
    return IngestResult(
        source=contract.name,
        kind=KIND,
        batch_id=batch_id,
        window=plan.label,
        endpoint=plan.endpoint,
        started_at=_now_text(started),
        finished_at=_now_text(datetime.now(UTC)),
        seconds=round(time.monotonic() - clock, 2),
        landing_dir=str(landing_dir),
        targets=outcomes,
    )
