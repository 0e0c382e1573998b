"""Pipeline alerts: one JSON message per failed flow run or failed gate, never with a secret in it.

Locally the message is POSTed to ``Settings.alert_webhook_url`` (any HTTP receiver: a chat
webhook, a test server); in AWS it is published to the SNS topic ``Settings.alerts_topic_arn``
that the Terraform orchestration module creates. Both may be set; neither set means the alert
is only logged.

Prefect flows wire this in through :func:`on_flow_failure`, a flow ``on_failure`` hook that reads
the failing step from a :class:`StepFailed` exception, so the alert names the step and the reason.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from lakehouse.log import get_logger, log_event, redact
from lakehouse.settings import Settings

_log = get_logger("alerts")

# key=value, key: value and "key": "value" pairs whose key looks secret, inside free text such
# as an exception message or a URL query string.
_SECRET_PAIR = re.compile(
    r"""(?P<key>["']?[\w-]*(?:password|passwd|secret|token|api[_-]?key|apikey|authorization|"""
    r"""credential|client[_-]?secret)[\w-]*["']?\s*[=:]\s*)(?P<value>"[^"]*"|'[^']*'|[^\s&,;]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<key>\bBearer\s+)(?P<value>[A-Za-z0-9._~+/=-]+)", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(?P<key>[a-z][a-z0-9+.-]*://[^/\s:@]+:)(?P<value>[^@\s/]+)(?=@)", re.I)
_REDACTED = "***"
# A reason is for a human reading a chat message; the full traceback stays in the run's logs.
MAX_REASON_CHARS = 2000


class StepFailed(RuntimeError):
    """A pipeline step failed; carries the step and source so alerts can name them.

    Args:
        step: Pipeline step that failed (``ingest``, ``bronze``, ``gate``, ``transform``, ...).
        source: Source the step ran for, or ``None`` for pipeline-wide steps.
        reason: Why it failed, in one or a few lines.
    """

    def __init__(self, step: str, source: str | None, reason: str) -> None:
        self.step = step
        self.source = source
        self.reason = reason
        where = f" for source {source}" if source else ""
        super().__init__(f"step {step}{where} failed: {reason}")

    def __reduce__(self):  # keeps step/source/reason when Prefect pickles the exception
        return (type(self), (self.step, self.source, self.reason))


@dataclass
class AlertEvent:
    """What one alert says. ``to_message`` renders it (redacted) for every channel."""

    flow: str
    step: str
    reason: str
    run_id: str | None = None
    source: str | None = None
    state: str = "FAILED"
    deployment: str | None = None
    occurred_at: str = field(
        default_factory=lambda: (
            datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        )
    )
    details: dict[str, Any] = field(default_factory=dict)

    def to_message(self, settings: Settings | None = None) -> dict[str, Any]:
        """The JSON message sent to every channel, with secrets removed."""
        message = {k: v for k, v in asdict(self).items() if v not in (None, {}, "")}
        message["summary"] = (
            f"{self.flow}: step {self.step}"
            + (f" ({self.source})" if self.source else "")
            + f" {self.state.lower()}: {self.reason}"
        )
        return scrub(message, secret_values(settings) if settings else ())


def secret_values(settings: Settings, *, sources: bool = True) -> list[str]:
    """The secret values of ``settings`` (every ``SecretStr``), to cut from free text, and
    with ``sources`` those of every source's own settings (``LAKEHOUSE_<SOURCE>_CLIENT_SECRET``
    and the other ``secret: true`` settings of the contracts)."""
    values = []
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            raw = value.get_secret_value()
            # Very short values would shred ordinary words; they are not real secrets anyway.
            if len(raw) >= 4:
                values.append(raw)
    if sources:
        from lakehouse.source_settings import all_source_secrets

        values.extend(all_source_secrets())
    return values


def scrub_text(text: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """Remove secret-looking values and the known ``secrets`` from free text."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    for pattern in (_BEARER, _SECRET_PAIR, _URL_USERINFO):
        text = pattern.sub(lambda m: m.group("key") + _REDACTED, text)
    return text


def scrub(value: Any, secrets: tuple[str, ...] | list[str] = ()) -> Any:
    """Redact secret keys (:func:`lakehouse.log.redact`) and secret text, recursively."""
    if isinstance(value, Mapping):
        return {k: scrub(v, secrets) for k, v in redact(dict(value)).items()}
    if isinstance(value, list | tuple):
        return [scrub(v, secrets) for v in value]
    if isinstance(value, str):
        return scrub_text(value, secrets)
    return value


def notify(settings: Settings, event: AlertEvent) -> list[str]:
    """Send ``event`` to every configured channel; return the channels that accepted it.

    Never raises: an alert that cannot be delivered is logged, so it never hides the failure
    that caused it.
    """
    message = event.to_message(settings)
    delivered: list[str] = []
    log_event(
        _log,
        "alert",
        logging.WARNING,
        flow=message["flow"],
        step=message["step"],
        source=message.get("source", ""),
        reason=message["reason"],
    )
    if settings.alert_webhook_url:
        try:
            _post_webhook(settings, message)
            delivered.append("webhook")
        except Exception as exc:  # noqa: BLE001 - delivery problems are logged, never raised
            log_event(_log, "alert_webhook_failed", logging.ERROR, error=scrub_text(str(exc)))
    if settings.alerts_topic_arn:
        try:
            _publish_sns(settings, message)
            delivered.append("sns")
        except Exception as exc:  # noqa: BLE001
            log_event(_log, "alert_sns_failed", logging.ERROR, error=scrub_text(str(exc)))
    return delivered


def _post_webhook(settings: Settings, message: dict[str, Any]) -> None:
    # A few quick attempts: a receiver restarting should not lose the alert, a dead one should
    # not hold the failing run for long.
    last: Exception | None = None
    for _ in range(3):
        try:
            response = httpx.post(
                settings.alert_webhook_url, json=message, timeout=min(settings.http_timeout_s, 10)
            )
            response.raise_for_status()
            return
        except httpx.HTTPError as exc:
            last = exc
    assert last is not None
    raise last


def _publish_sns(settings: Settings, message: dict[str, Any]) -> None:
    import boto3

    client = boto3.client("sns", region_name=settings.aws_region)
    subject = f"lakehouse {message['flow']} failed at {message['step']}"
    client.publish(
        TopicArn=settings.alerts_topic_arn,
        # SNS subjects are ASCII, at most 100 characters.
        Subject=subject.encode("ascii", "replace").decode()[:100],
        Message=json.dumps(message, default=str),
    )


def event_from_exception(
    flow: str, exc: BaseException | None, *, run_id: str | None = None, message: str | None = None
) -> AlertEvent:
    """Build the alert for a flow that ended with ``exc`` (or only a state ``message``)."""
    if isinstance(exc, StepFailed):
        return AlertEvent(
            flow=flow, step=exc.step, source=exc.source, reason=_clip(exc.reason), run_id=run_id
        )
    if exc is not None:
        reason = f"{type(exc).__name__}: {exc}"
    else:
        reason = message or "the run failed without a message"
    # Recover the step from a StepFailed that only survived as text in the state message.
    found = re.search(r"step (\S+)(?: for source (\S+))? failed: (.*)", reason, re.S)
    if found:
        return AlertEvent(
            flow=flow,
            step=found.group(1),
            source=found.group(2),
            reason=_clip(found.group(3)),
            run_id=run_id,
        )
    return AlertEvent(flow=flow, step=flow, reason=_clip(reason), run_id=run_id)


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def on_flow_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect ``on_failure`` hook: alert with the failing step and reason of this flow run.

    Every deployable flow carries this hook; a subflow stays quiet because the flow that called
    it fails too and alerts once, naming the step.
    """
    if getattr(flow_run, "parent_task_run_id", None) is not None:
        return
    exc: BaseException | None = None
    try:
        result = state.result(raise_on_failure=False)
        if isinstance(result, BaseException):
            exc = result
    except Exception:  # noqa: BLE001 - the state message below still says what failed
        exc = None
    alert_failure(
        flow.name,
        exc,
        run_id=str(flow_run.id),
        message=getattr(state, "message", None),
        state=str(getattr(state, "type", "FAILED")).rsplit(".", 1)[-1],
        deployment=str(flow_run.deployment_id) if flow_run.deployment_id else None,
    )


def alert_failure(
    flow_name: str,
    exc: BaseException | None,
    *,
    run_id: str | None,
    message: str | None,
    state: str = "FAILED",
    deployment: str | None = None,
) -> None:
    """Send one alert for a failed flow run, on Prefect (the hook) or run directly by the CLI."""
    event = event_from_exception(flow_name, exc, run_id=run_id, message=message)
    event.state = state
    event.deployment = deployment
    notify(Settings(), event)
