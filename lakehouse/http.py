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
import time
from collections.abc import Callable, Mapping
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


def api_reason(response: httpx.Response) -> str:
    """The API's own error text: JSON ``reason``/``message``/``error``, else the body or phrase."""
    text = response.text.strip()
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        for key in ("reason", "message", "error_description", "detail", "error"):
            value = payload.get(key)
            if isinstance(value, str) and value:
                return value
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
        label: str = "",
        on_retry: RetryHook | None = None,
    ) -> Fetched:
        """Send one request, retrying what may recover.

        Args:
            method: HTTP method.
            url: Full URL without query string.
            params: Query parameters.
            label: Names the request in logs (e.g. the city).
            on_retry: Called before each retry (progress displays use it).

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
                    response = self._client.request(method, url, params=params)
                    status = response.status_code
                    if status in RETRY_STATUSES or status >= RETRY_STATUS_MIN:
                        raise _RetryableStatus(
                            status,
                            api_reason(response),
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
                f"HTTP {response.status_code}: {api_reason(response)}",
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
