"""Prefect flows ``<source>-ingest``: any source with a contract into the landing zone.

Shows: one flow per contract, built by :func:`ingest_flow` from the source name (a new source
needs a contract, not Python), the ingester chosen by the contract's kind
(:data:`lakehouse.sources.INGESTERS`: http, stream, postgres, files), and a run record per run.

Stages: Plan+Extract+Load (the ingester fetches every target concurrently, with the retries of
the core HTTP client, and lands each answer as received) -> Record (run record; the flow ends
Failed, with the per-target result as its data and without a stack trace, when any target
failed, and the ``on_failure`` hook alerts).

``FLOWS[source]`` and the module attributes ``<source>_ingest`` are the flows (deployment
entrypoints name ``flows/ingest.py:<source>_ingest``).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from prefect import Flow, flow
from prefect.states import Failed
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from lakehouse import log
from lakehouse.alerts import on_flow_failure
from lakehouse.contracts import Contract, available_sources, load_contract
from lakehouse.orchestration import run_logger
from lakehouse.runs import record_run
from lakehouse.settings import get_settings
from lakehouse.sources import (
    INGESTERS,
    CredentialsRejected,
    IngestFailed,
    IngestRequest,
    IngestResult,
    run_record_fields,
)

# ---------------------------------------------------------------- Progress


class TargetProgress:
    """One status line per target on stderr while the flow runs (only on a terminal)."""

    def __init__(self) -> None:
        console = Console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[target]:<16}"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self._tasks: dict[str, Any] = {}

    def report(self, key: str, text: str) -> None:
        """Show what target ``key`` is doing now (the ingesters' progress hook)."""
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task("waiting", target=key, total=1)
        done = text.startswith(("landed", "unchanged", "failed"))
        self._progress.update(self._tasks[key], description=text, completed=int(done))

    @contextmanager
    def shown(self) -> Iterator[TargetProgress]:
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


# ---------------------------------------------------------------- Ingest


def ingester_for(contract: Contract):  # noqa: ANN201 - a module with run()
    """The module that ingests ``contract``'s kind (``INGESTERS[kind]``)."""
    kind = contract.source.kind
    if kind not in INGESTERS:
        raise ValueError(
            f"source {contract.name}: kind {kind!r} has no ingester "
            f"(kinds with one: {', '.join(sorted(INGESTERS))})"
        )
    return importlib.import_module(INGESTERS[kind])


def run_ingest(source: str, request: IngestRequest) -> dict[str, Any] | Failed:
    """Ingest ``source``, record the run, and return the result (a Failed state if a target
    failed). The body of every ``<source>-ingest`` flow."""
    log.configure()
    logger = run_logger(f"{source}-ingest")
    settings = get_settings()
    contract = load_contract(source)
    ingester = ingester_for(contract)
    logger.info("%s ingest (%s) started", source, contract.source.kind)
    progress = TargetProgress()
    try:
        with progress.shown():
            result: IngestResult = ingester.run(settings, contract, request, progress.report)
    except CredentialsRejected as exc:
        # Nothing was requested or landed; the one-line reason names the settings.
        record_run(settings.lake, "ingest", source, status="failed", reason=str(exc))
        return Failed(message=str(exc), data=exc)
    record_run(settings.lake, "ingest", source, **run_record_fields(result))
    data = result.to_dict()
    if not result.ok:
        # An exception as the state's data: a plain call raises it (with .result), while
        # return_state=True still hands the per-target result to the CLI.
        message = result.failure_message()
        return Failed(message=message, data=IngestFailed(message, data))
    logger.info(
        "%s ingest %s (%s): %d new objects, %d rows, batch %s",
        source,
        result.window,
        result.endpoint,
        sum(t.objects for t in result.targets),
        sum(t.rows for t in result.targets),
        result.batch_id,
    )
    return data


def ingest_flow(source: str) -> Flow:
    """The ``<source>-ingest`` flow of a contract (built once, then reused)."""
    if source in FLOWS:
        return FLOWS[source]
    load_contract(source)  # an unknown source fails here, naming the known ones

    def ingest(
        start_date: date | None = None,
        end_date: date | None = None,
        base_url: str | None = None,
        location: str | None = None,
        max_records: int | None = None,
        max_seconds: float | None = None,
    ) -> Any:
        request = IngestRequest(
            start_date=start_date,
            end_date=end_date,
            base_url=base_url,
            location=location,
            max_records=max_records,
            max_seconds=max_seconds,
        )
        return run_ingest(source, request)

    ingest.__doc__ = (
        f"Land source {source!r} in the landing zone: the recent window, or a UTC date range.\n\n"
        "Args:\n"
        "    start_date: First UTC day of a backfill (inclusive); omit both dates for the\n"
        "        recent window.\n"
        "    end_date: Last UTC day of a backfill (inclusive).\n"
        f"    base_url: Replaces the host of every endpoint (default "
        f"LAKEHOUSE_{source.upper()}_BASE_URL).\n"
        "    location: files: the folder, s3:// prefix or URL to take files from.\n"
        "    max_records: streams: stop after this many records.\n"
        "    max_seconds: streams: stop after this long.\n\n"
        "Returns:\n"
        "    lakehouse.sources.IngestResult.to_dict() (status, batch_id, targets[]).\n\n"
        "Raises:\n"
        "    lakehouse.sources.IngestFailed: a target failed (the others landed); the run ends\n"
        "        Failed without a stack trace.\n"
    )
    ingest.__name__ = ingest.__qualname__ = f"{source}_ingest"
    built = flow(name=f"{source}-ingest", log_prints=True, on_failure=[on_flow_failure])(ingest)
    FLOWS[source] = built
    return built


FLOWS: dict[str, Flow] = {}
for _source in available_sources():
    # Deployment entrypoints (prefect.yaml) name a module attribute: flows/ingest.py:<source>_ingest
    globals()[f"{_source}_ingest"] = ingest_flow(_source)


def __getattr__(name: str) -> Flow:
    """``<source>_ingest`` for a contract added after import (``LAKEHOUSE_CONTRACTS_DIR``)."""
    if name.endswith("_ingest") and name[: -len("_ingest")] in available_sources():
        return ingest_flow(name[: -len("_ingest")])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    import sys

    # python -m flows.ingest <source>, against a local replay server started in another shell
    # (`lakehouse replay-server --port 8765`).
    print(ingest_flow(sys.argv[1])(base_url="http://127.0.0.1:8765"))
