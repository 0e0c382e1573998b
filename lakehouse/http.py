"""The HTTP client every source uses: timeouts, and retries with backoff that honour Retry-After.

Retried: HTTP 429 and 5xx, timeouts, and network failures (connection refused or reset, a reply
cut off mid-body). The delay before retry ``n`` is ``http_backoff_base_s * 2**(n-1)`` plus up to
``http_backoff_base_s`` of random jitter (so clients that failed together do not retry
together), or the server's ``Retry-After`` when it sends one; either way at most
``http_backoff_max_s``. Other 4xx answers are the caller's mistake and fail at once.

A request that still fails raises :class:`SourceRequestError` whose message is the reason a user
can act on: the status and the API's own error text (Open-Meteo: ``{"error": true, "reason": ..}``).
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
)

from lakehouse import __version__
from lakehouse.log import get_logger, log_event, redact
from lakehouse.settings import Settings

logger = get_logger(__name__)

RETRY_STATUS_MIN = 500
RETRY_STATUSES = frozenset({429})
# Worth another try: the server or the path to it may recover. Protocol misuse on our side
# (LocalProtocolError, UnsupportedProtocol) would fail the same way again, so it is not here.
RETRY_EXCEPTIONS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

RetryHook = Callable[[int, str, float], None]
"""Called before each retry with (attempt that failed, reason, delay in seconds)."""


_PART = re.compile(r"^(?P<name>[^\[\]]*)(?P<indexes>(?:\[-?\d+\])*)$")


def json_path_get(document: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path (``links.next``, ``errors[0].detail``, ``$.a``, ``$``).

    A leading ``$`` names the document root; a missing key or index gives ``default``.
    """
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    text = text.lstrip(".")
    value = document
    if not text:
        return value
    for part in text.split("."):
        found = _PART.match(part)
        if found is None:
            return default
        name = found.group("name")
        if name:
            if not isinstance(value, Mapping) or name not in value:
                return default
            value = value[name]
        for index in re.findall(r"\[(-?\d+)\]", found.group("indexes")):
            if not isinstance(value, list):
                return default
            try:
                value = value[int(index)]
            except IndexError:
                return default
    return value


class RateLimiter:
    """At most ``per_second`` calls of :meth:`wait` return per second, across threads."""

    def __init__(self, per_second: float | None, *, clock=time.monotonic, sleep=time.sleep) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._lock = threading.Lock()
        self._next = 0.0
        self._clock = clock
        self._sleep = sleep

    def wait(self) -> None:
        """Block until the next request may start."""
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


@dataclass(frozen=True)
class Fetched:
    """A successful (2xx) response, body exactly as received."""

    method: str
    url: str
    params: dict[str, Any]
    status: int
    content_type: str | None
    content: bytes
    attempts: int
    elapsed_s: float


class SourceRequestError(Exception):
    """A request failed for good; ``str(exc)`` is the reason to show the user.

    Attributes:
        status: Last HTTP status, or None when no response came (timeout, network).
        attempts: Attempts made.
    """

    def __init__(self, reason: str, *, status: int | None, attempts: int, url: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.attempts = attempts
        self.url = url


class _RetryableStatus(Exception):
    def __init__(self, status: int, reason: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


DEFAULT_ERROR_PATHS = ("reason", "message", "error_description", "detail", "error")


def api_reason(response: httpx.Response, paths: Sequence[str] | None = None) -> str:
    """The API's own error text: the first text at ``paths`` in a JSON body (default
    ``reason``/``message``/``error``...), else the body or the status phrase.

    A path may join several with `` + `` (``errors[0].title + errors[0].detail``): the texts
    found at them, joined by ``": "``, are the reason when any is found.
    """
    text = response.text.strip()
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict | list):
        for path in paths or DEFAULT_ERROR_PATHS:
            values = [json_path_get(payload, part.strip()) for part in path.split(" + ")]
            texts = [v for v in values if isinstance(v, str) and v]
            if texts:
                return ": ".join(texts)
    if text and len(text) <= 300 and "<" not in text:
        return text
    return response.reason_phrase or "no reason given"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def failure_bounds(settings: Settings) -> tuple[float, float]:
    """Longest time one request takes to fail for good: ``(refused, silent)`` in seconds.

    A refused connection fails each attempt at once, so only the waits between attempts
    count; a silent server also uses every attempt's whole timeout. Each wait is at most
    ``base * 2**(n-1) + base`` (jitter included), capped at ``http_backoff_max_s``; a
    ``Retry-After`` is capped the same way.
    """
    base, cap = settings.http_backoff_base_s, settings.http_backoff_max_s
    attempts = max(1, settings.http_max_attempts)
    waits = sum(min(base * 2 ** (n - 1) + base, cap) for n in range(1, attempts))
    return waits, waits + attempts * settings.http_timeout_s


def _describe(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, _RetryableStatus):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__}, limit {timeout_s:g} s)"
    return f"{type(exc).__name__}: {exc}"


class SourceClient:
    """Retrying HTTP client for source APIs; one per run, shared by concurrent tasks.

    Args:
        settings: Timeouts and backoff (``http_timeout_s``, ``http_max_attempts``,
            ``http_backoff_base_s``, ``http_backoff_max_s``).
        transport: httpx transport, for tests that need one; default is the network.
        sleep: How to wait between attempts (tests may record instead of sleeping).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.http_timeout_s),
            follow_redirects=True,
            headers={"User-Agent": f"lakehouse/{__version__}"},
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SourceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, state: RetryCallState) -> float:
        base, cap = self.settings.http_backoff_base_s, self.settings.http_backoff_max_s
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, cap)
        exponential = base * 2 ** (state.attempt_number - 1)
        return min(exponential + random.uniform(0, base), cap)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        label: str = "",
        on_retry: RetryHook | None = None,
        throttle: Callable[[], None] | None = None,
        error_paths: Sequence[str] | None = None,
    ) -> Fetched:
        """Send one request, retrying what may recover.

        Args:
            method: HTTP method.
            url: Full URL without query string.
            params: Query parameters.
            json_body: A JSON body (POST).
            data: A form body (OAuth2 token requests).
            headers: Extra request headers (never logged).
            label: Names the request in logs (e.g. the target).
            on_retry: Called before each retry (progress displays use it).
            throttle: Called before every attempt (a :class:`RateLimiter`'s ``wait``).
            error_paths: Where the API puts its error text (the contract's
                ``error_message_paths``); default :data:`DEFAULT_ERROR_PATHS`.

        Returns:
            The 2xx response.

        Raises:
            SourceRequestError: The request failed for good (reason in the message).
        """
        params = dict(params or {})
        timeout_s = self.settings.http_timeout_s

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            reason = _describe(exc, timeout_s) if exc else "unknown"
            delay = state.next_action.sleep if state.next_action else 0.0
            log_event(
                logger,
                "request retry",
                logging.WARNING,
                label=label,
                url=url,
                attempt=state.attempt_number,
                reason=reason,
                delay_s=round(delay, 3),
            )
            if on_retry:
                on_retry(state.attempt_number, reason, delay)

        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.settings.http_max_attempts)),
            wait=self._wait,
            retry=retry_if_exception_type((_RetryableStatus, *RETRY_EXCEPTIONS)),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        started = time.perf_counter()
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    if throttle is not None:
                        throttle()
                    response = self._client.request(
                        method,
                        url,
                        params=params or None,  # {} would drop a query in the URL
                        json=json_body,
                        data=dict(data) if data is not None else None,
                        headers=dict(headers) if headers else None,
                    )
                    status = response.status_code
                    if status in RETRY_STATUSES or status >= RETRY_STATUS_MIN:
                        raise _RetryableStatus(
                            status,
                            api_reason(response, error_paths),
                            parse_retry_after(response.headers.get("Retry-After")),
                        )
        except _RetryableStatus as exc:
            raise SourceRequestError(
                f"{exc} (gave up after {attempts} attempts)",
                status=exc.status,
                attempts=attempts,
                url=url,
            ) from None
        except RETRY_EXCEPTIONS as exc:
            raise SourceRequestError(
                f"{_describe(exc, timeout_s)} (gave up after {attempts} attempts)",
                status=None,
                attempts=attempts,
                url=url,
            ) from None
        except httpx.HTTPError as exc:
            raise SourceRequestError(
                f"{type(exc).__name__}: {exc}", status=None, attempts=attempts, url=url
            ) from None
        if not response.is_success:
            raise SourceRequestError(
                f"HTTP {response.status_code}: {api_reason(response, error_paths)}",
                status=response.status_code,
                attempts=attempts,
                url=url,
            )
        elapsed = time.perf_counter() - started
        log_event(
            logger,
            "request ok",
            logging.DEBUG,
            label=label,
            url=url,
            params=redact(params),
            status=response.status_code,
            attempts=attempts,
            bytes=len(response.content),
        )
        return Fetched(
            method=method,
            url=url,
            params=params,
            status=response.status_code,
            content_type=response.headers.get("Content-Type"),
            content=response.content,
            attempts=attempts,
            elapsed_s=elapsed,
        )
