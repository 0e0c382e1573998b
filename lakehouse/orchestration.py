"""Running flows from the CLI: on Prefect when an API is configured, as plain functions otherwise.

Every step is a Prefect flow, so deployments, schedules, retries and alerts come from Prefect.
But Prefect without an API (no ``PREFECT_API_URL``) starts a temporary server in every process
that runs a flow: 10 to 40 s on a laptop, more than the work of a re-run with nothing new. So
the CLI verbs run a flow's function directly in that case (``flow.fn``), with the same
behaviour a user relies on:

- the tasks' and subflows' declared retries (``retries``, ``retry_delay_seconds``) still apply;
- a failure (an exception, or a returned ``Failed`` state) still alerts, as the ``on_failure``
  hook does on Prefect;
- the run records in ``<lake>/_state/runs`` are written by the flows themselves either way.

What is lost without an API is Prefect's own run history; ``LAKEHOUSE_ORCHESTRATOR=prefect``
forces Prefect (a temporary server if no API is set) and ``none`` forces the direct mode.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

MODES = ("auto", "prefect", "none")


def on_prefect() -> bool:
    """Whether the CLI runs flows on Prefect (an API is configured, or it is forced)."""
    mode = os.environ.get("LAKEHOUSE_ORCHESTRATOR", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ValueError(f"LAKEHOUSE_ORCHESTRATOR={mode!r}: expected one of {', '.join(MODES)}")
    if mode != "auto":
        return mode == "prefect"
    from prefect.settings import get_current_settings

    return bool(get_current_settings().api.url)


def in_flow_run() -> bool:
    """Whether the caller runs inside a Prefect flow or task run."""
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def run_logger(name: str) -> logging.Logger | logging.LoggerAdapter:
    """Prefect's run logger inside a run (its lines reach the UI), the project's logger outside."""
    if in_flow_run():
        from prefect import get_run_logger

        return get_run_logger()
    return logging.getLogger(f"lakehouse.flows.{name}")


def run_flow(flow: Any, /, **params: Any) -> Any:
    """Run ``flow`` to the end and return what it returned or failed with.

    A failed run returns its exception (the data of a ``Failed`` state, or what it raised)
    instead of raising it, so a verb prints its own one-line reason.
    """
    if on_prefect():
        # Without an API Prefect starts a temporary server; on a busy laptop that takes longer
        # than its 20 s default, which is not a pipeline failure.
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
        state = flow(**params, return_state=True)
        return state.result(raise_on_failure=False)
    try:
        value = call(flow, **params)
    except Exception as exc:  # noqa: BLE001 - the run's outcome, handed to the verb
        _alert(flow, exc, str(exc))
        return exc
    return value


def call(step: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Call a task or subflow from a flow body: through Prefect inside a Prefect run, else its
    function, with the step's declared retries. A returned ``Failed`` state raises its error,
    as a subflow call on Prefect does."""
    if in_flow_run() or not hasattr(step, "fn"):
        return step(*args, **kwargs)
    if hasattr(step, "validate_parameters") and not args:
        # A flow's parameters are coerced to their annotations (a date from "2025-03-05"), as
        # Prefect does before a run.
        kwargs = step.validate_parameters(kwargs)
    attempts = 1 + int(getattr(step, "retries", 0) or 0)
    delays = _delays(getattr(step, "retry_delay_seconds", 0), attempts - 1)
    for attempt in range(attempts):
        try:
            return _unwrap(step, step.fn(*args, **kwargs))
        except Exception:
            if attempt == attempts - 1:
                raise
            logging.getLogger("lakehouse.flows").warning(
                "%s failed (attempt %d of %d); retrying in %.0f s",
                getattr(step, "name", step.fn.__name__),
                attempt + 1,
                attempts,
                delays[attempt],
            )
            time.sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover


def _unwrap(step: Any, value: Any) -> Any:
    """A returned Failed state becomes its exception (or a RuntimeError with its message)."""
    from prefect.client.schemas.objects import State

    if not isinstance(value, State):
        return value
    if not value.is_failed() and not value.is_crashed():
        return value.data
    data = value.data
    if isinstance(data, BaseException):
        raise data
    raise RuntimeError(value.message or f"{getattr(step, 'name', 'step')} failed")


def _delays(declared: float | Sequence[float] | Callable[[int], Any] | None, count: int) -> list:
    """The waits between attempts, as Prefect reads ``retry_delay_seconds``."""
    if count <= 0:
        return []
    if callable(declared):
        declared = declared(count)
    if isinstance(declared, Sequence) and not isinstance(declared, str):
        values = [float(v) for v in declared] or [0.0]
        return [values[min(i, len(values) - 1)] for i in range(count)]
    return [float(declared or 0)] * count


def _alert(flow: Any, exc: BaseException | None, message: str | None) -> None:
    """What the ``on_failure`` hook does on Prefect: one alert naming the flow and reason."""
    from lakehouse.alerts import alert_failure

    alert_failure(getattr(flow, "name", str(flow)), exc, run_id=None, message=message)
