"""Prefect flow ``weather-ingest``: hourly weather of every contract city into the landing zone.

Shows: one task per city submitted together (cities fetch concurrently and fail alone), the
HTTP retries living in the core client (:mod:`lakehouse.http`), and a run record per run.

Stages: Plan (window and requests from the contract) -> Extract+Load (one task per city: fetch
with retries, land the body as received) -> Record (run record; the flow ends Failed, with the
per-city result as its data, when any city failed).
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed, State
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from lakehouse import log
from lakehouse.alerts import on_flow_failure
from lakehouse.contracts import load_contract
from lakehouse.http import SourceClient
from lakehouse.runs import record_run
from lakehouse.settings import Settings, get_settings
from lakehouse.sources import weather as source

# ---------------------------------------------------------------- Progress


class CityProgress:
    """One status line per city on stderr while the flow runs (only on a terminal)."""

    def __init__(self, city_ids: list[str]) -> None:
        console = Console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[city]:<14}"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self._tasks = {
            city: self._progress.add_task("waiting", city=city, total=1) for city in city_ids
        }

    def hook(self, city_id: str):
        """A callback that shows what ``city_id`` is doing now."""

        def report(text: str) -> None:
            done = text.startswith(("landed", "unchanged", "failed"))
            self._progress.update(self._tasks[city_id], description=text, completed=int(done))

        return report

    @contextmanager
    def shown(self):
        """Display while inside; our log lines go above the bars instead of through them."""
        with self._progress:
            handlers = [
                h
                for h in logging.getLogger("lakehouse").handlers
                if getattr(h, "_lakehouse", False) and isinstance(h, logging.StreamHandler)
            ]
            previous = [h.setStream(sys.stderr) for h in handlers]  # rich's redirected stderr
            try:
                yield self
            finally:
                for handler, stream in zip(handlers, previous, strict=True):
                    if stream is not None:
                        handler.setStream(stream)


# ---------------------------------------------------------------- Extract + Load


@task(name="fetch-city", task_run_name="fetch-{city_id}", cache_policy=NO_CACHE)
def fetch_city(
    city_id: str,
    request: source.CityRequest,
    client: SourceClient,
    settings: Settings,
    batch_id: str,
    progress: CityProgress | None = None,
) -> State:
    """Fetch one city with retries and land its body; a failure fails only this task."""
    outcome = source.fetch_city(
        client,
        settings.lake,
        request,
        batch_id=batch_id,
        progress=progress.hook(city_id) if progress else None,
    )
    data = outcome.__dict__ | {"warnings": list(outcome.warnings)}
    if outcome.ok:
        return Completed(data=data, message="; ".join(outcome.warnings) or None)
    # A Failed state (not an exception): the run shows the city failed, without a stack trace.
    return Failed(data=data, message=f"{city_id}: {outcome.reason}")


# ---------------------------------------------------------------- Flow


@flow(name="weather-ingest", log_prints=True, on_failure=[on_flow_failure])
def weather_ingest(
    start_date: date | None = None,
    end_date: date | None = None,
    base_url: str | None = None,
) -> Any:
    """Land the hourly weather of every contract city: the recent window, or a UTC date range.

    Args:
        start_date: First UTC day of a backfill (inclusive); omit both dates for the recent
            window (the past day up to the current hour).
        end_date: Last UTC day of a backfill (inclusive).
        base_url: Base URL of both Open-Meteo endpoints (a replay server, for example);
            default ``LAKEHOUSE_OPENMETEO_URL`` or the public API.

    Returns:
        The :class:`lakehouse.sources.weather.IngestResult` as a dict (``status``, ``batch_id``,
        ``cities`` with each city's status, reason, rows, bytes, objects and path).

    Raises:
        lakehouse.sources.weather.IngestFailed: Any city failed (the others still landed); its
            ``result`` is the same dict. The flow run ends Failed without a stack trace.
    """
    log.configure()
    logger = get_run_logger()
    settings = get_settings(openmeteo_url=base_url)
    contract = load_contract(source.SOURCE)
    window = source.plan_window(contract, start_date, end_date)
    requests = source.build_requests(contract, settings, window)
    started = datetime.now(UTC)
    clock = time.monotonic()
    batch_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    logger.info("weather ingest %s from %s, batch %s", window.label, window.endpoint, batch_id)

    progress = CityProgress([r.city.id for r in requests])
    with SourceClient(settings) as client, progress.shown():
        futures = [
            fetch_city.submit(r.city.id, r, client, settings, batch_id, progress) for r in requests
        ]
        outcomes = []
        for future in futures:
            future.wait()
            outcomes.append(source.CityOutcome(**future.state.result(raise_on_failure=False)))

    result = source.IngestResult(
        source=source.SOURCE,
        batch_id=batch_id,
        window=window.label,
        endpoint=window.endpoint,
        started_at=started.isoformat().replace("+00:00", "Z"),
        finished_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        seconds=round(time.monotonic() - clock, 2),
        landing_dir=str(settings.lake.landing(source.SOURCE, source.ENTITY)),
        cities=outcomes,
    )
    record_run(settings.lake, "ingest", source.SOURCE, **source.run_record_fields(result))
    data = result.to_dict()
    if not result.ok:
        # An exception as the state's data: a plain call raises it (with .result), while
        # return_state=True still hands the per-city result to the CLI.
        message = result.failure_message()
        return Failed(message=message, data=source.IngestFailed(message, data))
    logger.info(
        "landed %d new objects, %d rows",
        sum(c.objects for c in outcomes),
        sum(c.rows for c in outcomes),
    )
    return data


if __name__ == "__main__":
    # Against a local replay server: `lakehouse replay-server --port 8765` in another shell.
    print(
        weather_ingest(
            base_url="http://127.0.0.1:8765",
            start_date=date(2025, 3, 5),
            end_date=date(2025, 3, 11),
        )
    )
