"""The ``daily-refresh`` pipeline: every source through bronze, the gates, dbt, publish and site.

It composes the very flows the CLI runs, as subflows, so a deployment run and ``lakehouse run``
do the same work:

    for each source with a contract:  <source>-ingest  ->  <source>-bronze
    then once:                        transform (gates, dbt build, write-audit-publish)
                                      site-refresh (only after a successful publish)

Steps are incremental themselves (landing skips bodies it has, bronze keeps checkpoints, publish
swaps a pointer), so a re-run does only new work. Two runs never overlap: the deployment has a
Prefect concurrency limit of one, and every run also holds a lock file in the lake for the runs
that start without a deployment (``lakehouse run``). A failure names its step through
:class:`lakehouse.alerts.StepFailed`, which the ``on_failure`` hook turns into an alert.
"""

from __future__ import annotations

import fcntl
import importlib
import inspect
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from prefect import flow
from prefect.states import Failed

from lakehouse.alerts import StepFailed, on_flow_failure
from lakehouse.contracts import available_sources, load_contract
from lakehouse.lake import Lake
from lakehouse.orchestration import call, run_logger
from lakehouse.runs import list_runs
from lakehouse.settings import Settings

# ---------------------------------------------------------------- Steps


# Where each step's flow lives. "{source}" is filled in per source: every contract has its
# flows built from it (flows.ingest and flows.bronze), so a new source needs only a contract.
SOURCE_STEPS: tuple[tuple[str, str, str], ...] = (
    ("ingest", "flows.ingest", "{source}_ingest"),
    ("bronze", "flows.bronze", "{source}_bronze"),
)
FINAL_STEPS: tuple[tuple[str, str, str], ...] = (
    ("transform", "flows.transform", "transform"),
    ("site", "flows.site", "site_refresh"),
)

# Retries only where a failure can be transient: a Spark session that fails to start (port
# clash, JVM start-up under load) succeeds on a second try, and the bronze job is idempotent.
# Ingest retries each HTTP request itself; a failed gate is never retried (it would fail again).
STEP_RETRIES: dict[str, tuple[int, float]] = {"bronze": (2, 15.0)}


def load_step_flow(module: str, attribute: str, source: str | None = None) -> Callable[..., Any]:
    """Import one step's flow, with a clear error when a step does not exist.

    A module that builds one flow per contract (``flows.bronze``) may instead expose them in a
    ``FLOWS`` mapping keyed by source.
    """
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise StepFailed("setup", None, f"module {module} is missing: {exc}") from exc
        raise
    if hasattr(loaded, attribute):
        return getattr(loaded, attribute)
    per_source = getattr(loaded, "FLOWS", None)
    if source is not None and isinstance(per_source, dict) and source in per_source:
        return per_source[source]
    raise StepFailed("setup", source, f"{module} has no flow {attribute}")


def _call(step_flow: Any, step: str, **params: Any) -> Any:
    """Run ``step_flow`` as a subflow with the parameters it accepts, retrying transient steps."""
    target = getattr(step_flow, "fn", step_flow)
    accepted = inspect.signature(target).parameters
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    kwargs = {k: v for k, v in params.items() if v is not None and (takes_kwargs or k in accepted)}
    retries, delay = STEP_RETRIES.get(step, (0, 0.0))
    if retries and hasattr(step_flow, "with_options"):
        step_flow = step_flow.with_options(retries=retries, retry_delay_seconds=delay)
    return call(step_flow, **kwargs)


def _failed_gate_since(lake: Lake, sources: list[str], since: datetime) -> dict[str, Any] | None:
    """The gate run record that failed during this step, if the step failed at a gate."""
    for source in sources:
        records = list_runs(lake, "gate", source)
        record = max(records, key=lambda r: str(r.get("finished_at", ""))) if records else None
        if not record or record.get("status") == "ok":
            continue
        finished = record.get("finished_at", "")
        try:
            at = datetime.fromisoformat(str(finished).replace("Z", "+00:00"))
        except ValueError:
            continue
        if at >= since:
            return record
    return None


def _only(sources: list[str]) -> str | None:
    """The one source of a single-source run, else None (the step spans several)."""
    return sources[0] if len(sources) == 1 else None


def _gate_reason(record: dict[str, Any]) -> str:
    """One line out of a failed gate record: which gate and which expectations failed."""
    parts = []
    for key in ("suite", "table"):
        if record.get(key):
            parts.append(f"{key}={record[key]}")
    for key in ("failed_expectations", "failures", "error", "reason"):
        if record.get(key):
            value = record[key]
            parts.append(value if isinstance(value, str) else json.dumps(value, default=str))
            break
    return "; ".join(parts) or "a gate failed"


# ---------------------------------------------------------------- Concurrency


@contextmanager
def lake_lock(lake: Lake, name: str = "daily-refresh") -> Iterator[None]:
    """Hold an exclusive lock file in the lake for the length of a run, or fail at once.

    Raises:
        StepFailed: another run of the pipeline holds the lock.
    """
    path = lake.local_state / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise StepFailed(
                "lock", None, f"another {name} run is in progress ({holder}); not starting a second"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid={os.getpid()} since={datetime.now(UTC).isoformat(timespec='seconds')}")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------- Flow


@flow(name="daily-refresh", log_prints=True, on_failure=[on_flow_failure])
def daily_refresh(
    sources: list[str] | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    base_url: str | None = None,
    ingest: bool = True,
    recent: bool = True,
) -> dict[str, Any]:
    """Refresh every source end to end: ingest, bronze, gates, dbt, publish and site.

    Args:
        sources: Sources to refresh; every source with a contract by default.
        start_date: First day to backfill (YYYY-MM-DD), passed to each ingest flow.
        end_date: Last day to backfill (YYYY-MM-DD), passed to each ingest flow.
        base_url: Override of the sources' API base URL (a replay server, for example).
        ingest: Fetch from the sources first; False refreshes from what is already landed.
        recent: With a backfill (``start_date``/``end_date``), also fetch the recent window
            in the same run; without one, the recent window is always fetched.

    Returns:
        Per step, its duration in seconds and what the step's flow returned.
    """
    logger = run_logger("daily-refresh")
    settings = Settings()
    lake = settings.lake
    sources = sources or available_sources()
    results: dict[str, Any] = {}

    def run_step(
        step: str,
        source: str | None,
        module: str,
        attribute: str,
        key_suffix: str | None = None,
        **params: Any,
    ) -> Any:
        step_flow = (
            _transform_or_skip
            if (module, attribute) == ("flows.transform", "transform")
            else load_step_flow(module, attribute, source)
        )
        started = datetime.now(UTC)
        clock = time.monotonic()
        logger.info("step %s%s started", step, f" ({source})" if source else "")
        try:
            value = _call(step_flow, step, **params)
        except StepFailed:
            raise
        except Exception as exc:
            # The transform names its own failing step (``gate:bronze``, ``dbt:gold``) in its
            # summary; failing that, a gate record written during this step names the gate.
            failed_step = getattr(getattr(exc, "summary", None), "failed_step", None)
            if failed_step:
                raise StepFailed(failed_step, source or _only(sources), str(exc)) from exc
            gate = _failed_gate_since(lake, sources, started) if step == "transform" else None
            if gate is not None:
                raise StepFailed(
                    f"gate:{gate.get('gate', '?')}", gate.get("source"), _gate_reason(gate)
                ) from exc
            raise StepFailed(step, source, f"{type(exc).__name__}: {exc}") from exc
        key = ":".join(part for part in (step, source, key_suffix) if part)
        results[key] = {"seconds": round(time.monotonic() - clock, 1), "result": value}
        logger.info("step %s done in %.1fs", key, results[key]["seconds"])
        return value

    try:
        with lake_lock(lake):
            _run_all(run_step, sources, start_date, end_date, base_url, ingest, recent)
    except StepFailed as exc:
        # A Failed state rather than a raised exception: the run (and `lakehouse run`) ends with
        # the step and reason, not a stack trace; the on_failure hook reads the exception back.
        logger.error("daily-refresh failed: %s", exc)
        return Failed(message=str(exc), data=exc)
    return results


def _has_date_window(source: str) -> bool:
    """Whether the source's ingest takes ``--start-date``/``--end-date`` (a ``window``)."""
    return getattr(load_contract(source).source, "window", None) is not None


# A stream is followed by its own ingest deployment; the refresh only catches up this long.
STREAM_CATCH_UP_S = 60.0


def _stream_bound(source: str) -> dict[str, float]:
    """``max_seconds`` for a stream source (it would otherwise follow the stream forever)."""
    if load_contract(source).source.kind == "stream":
        return {"max_seconds": STREAM_CATCH_UP_S}
    return {}


def _run_all(
    run_step: Callable[..., Any],
    sources: list[str],
    start_date: str | None,
    end_date: str | None,
    base_url: str | None,
    ingest: bool,
    recent: bool,
) -> None:
    """Every source's own steps in order, then the steps that span all sources."""
    backfill = start_date is not None or end_date is not None
    for source in sources:
        # A source without a date window (a search of what is on offer now) takes no dates:
        # a backfill fetches it once, as the recent window would.
        dated = backfill and _has_date_window(source)
        for step, module, attribute in SOURCE_STEPS:
            target = (module.format(source=source), attribute.format(source=source))
            if step != "ingest":
                run_step(step, source, *target, base_url=base_url)
                continue
            if not ingest:
                continue
            if dated:
                run_step(
                    "ingest",
                    source,
                    *target,
                    start_date=start_date,
                    end_date=end_date,
                    base_url=base_url,
                    key_suffix="backfill",
                )
            if recent or not dated:
                bound = _stream_bound(source)
                run_step("ingest", source, *target, base_url=base_url, **bound)
    for step, module, attribute in FINAL_STEPS:
        run_step(step, None, module, attribute, sources=sources)


def _transform_or_skip(**params: Any) -> Any:
    """The transform step: its flow only when bronze has something new (importing the gates and
    dbt alone costs seconds); otherwise the ``skipped`` summary the flow would record."""
    from lakehouse.transform_plan import skip_if_nothing_new

    skipped = skip_if_nothing_new(full_refresh=bool(params.get("full_refresh")))
    if skipped is not None:
        return skipped
    return _call(load_step_flow("flows.transform", "transform"), "transform", **params)


if __name__ == "__main__":
    # Against a local replay server: `lakehouse replay-server --port 8765` in another shell.
    daily_refresh(base_url="http://127.0.0.1:8765")
