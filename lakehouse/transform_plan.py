"""What a transform has to do, decided before any orchestrator, dbt or gate starts.

:func:`plan_transform` finds every contract entity's bronze table and its newest
``_ingested_at`` (from the Delta log) and compares them with the watermarks the published gold
recorded; :func:`skip_if_nothing_new` records a no-op run when nothing is new. Both import
nothing heavy (no Prefect, dbt or Great Expectations), so ``lakehouse transform`` with nothing
to do answers in about the time of Python's start-up. :class:`TransformSummary` and
:func:`finish` (the ``transform`` run record) are shared with ``flows/transform.py``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from expectations.scope import bronze_watermark, code_fingerprint, published_watermarks
from lakehouse import gold
from lakehouse.contracts import Contract, load_all
from lakehouse.runs import list_runs, new_run_id, record_run
from lakehouse.settings import Settings, get_settings


@dataclass
class TransformSummary:
    """What one transform did (the CLI prints it; the run record stores it).

    ``status`` is ``ok``, ``failed`` or ``skipped`` (nothing new since the published gold:
    no dbt, no gates, exit 0; ``reason`` says why).
    """

    run_id: str
    status: str = "running"
    sources: list[str] = field(default_factory=list)
    reason: str | None = None
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)
    dbt: dict[str, dict[str, Any]] = field(default_factory=dict)
    marts: dict[str, int] = field(default_factory=dict)
    build_id: str | None = None
    published: bool = False
    published_build_id: str | None = None
    failed_step: str | None = None
    failed_expectations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    downstream: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    data_docs: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BronzeTable:
    """One contract entity's bronze table as this run found it."""

    source: str
    entity: str
    table: str
    watermark: datetime | None
    # A bronze run after the published build quarantined rows: its rate must be gated even
    # when it wrote nothing new (every row rejected).
    quarantined_since_publish: bool = False


@dataclass
class Plan:
    """What a transform will read: the bronze tables, their watermarks, and whether any is new."""

    tables: dict[str, BronzeTable]
    published: dict[str, datetime] | None
    fingerprint: str
    noop_reason: str | None = None

    @property
    def sources(self) -> list[str]:
        return sorted({t.source for t in self.tables.values()})

    def watermarks(self) -> dict[str, str | None]:
        return {
            name: t.watermark.isoformat() if t.watermark else None
            for name, t in sorted(self.tables.items())
        }


def plan_transform(settings: Settings, contracts: dict[str, Contract], full_refresh: bool) -> Plan:
    """Find the bronze tables and decide whether anything is new since the published gold.

    Nothing is new when the published build recorded, for every bronze table there is now, a
    watermark at least as new as the table's newest ``_ingested_at``, and was built by the same
    dbt project and contracts (a changed model is new work too).
    """
    pointer = gold.published_pointer(settings)
    tables = {}
    for source, contract in sorted(contracts.items()):
        for name, entity in contract.entities.items():
            path = settings.lake.bronze(entity.bronze_table)
            if not path.is_dir():
                continue
            tables[entity.bronze_table] = BronzeTable(
                source,
                name,
                entity.bronze_table,
                bronze_watermark(path),
                _quarantined_since(settings, source, name, pointer),
            )
    from lakehouse.dbt import contract_vars, project_dir

    fingerprint = code_fingerprint(project_dir(), contract_vars())
    published = published_watermarks(settings)
    plan = Plan(tables=tables, published=published, fingerprint=fingerprint)
    if not tables:
        plan.noop_reason = "no bronze table yet (run `lakehouse bronze <source>` first)"
    elif full_refresh or pointer is None or published is None:
        pass
    elif pointer.get("code_fingerprint") != fingerprint:
        pass
    elif all(
        not t.quarantined_since_publish
        and (t.watermark is None or (t.table in published and t.watermark <= published[t.table]))
        for t in tables.values()
    ):
        plan.noop_reason = f"nothing new in bronze since published build {pointer['build_id']}"
    return plan


def _quarantined_since(
    settings: Settings, source: str, entity: str, pointer: dict[str, Any] | None
) -> bool:
    """Whether a bronze run of ``source``/``entity`` after the published build quarantined rows."""
    if pointer is None:
        return False
    published = str(pointer.get("published_at") or "")
    return any(
        str(r.get("finished_at") or "") > published
        and r.get("entity") in (None, entity)
        and (r.get("quarantine_rate") or 0) > 0
        for r in list_runs(settings.lake, "bronze", source)
    )


def finish(settings: Settings, summary: TransformSummary, started: float) -> TransformSummary:
    summary.seconds = round(time.monotonic() - started, 1)
    pointer = gold.published_pointer(settings) if summary.status == "skipped" else None
    rows = sum(summary.marts.values()) if summary.published else 0
    if pointer:
        # Nothing was built: gold stands as published, with its row counts.
        rows = sum((pointer.get("marts") or {}).values())
    for source in summary.sources or ["_all"]:
        record_run(
            settings.lake,
            "transform",
            source,
            transform_run_id=summary.run_id,
            # A no-op is a successful run: gold stands as published (``noop`` says so).
            status="ok" if summary.status == "skipped" else summary.status,
            noop=summary.status == "skipped",
            reason=summary.reason,
            gates={layer: g["passed"] for layer, g in summary.gates.items()},
            rows_published=rows,
            marts=summary.marts,
            build_id=summary.build_id,
            published=summary.published,
            published_build_id=summary.published_build_id,
            failed_step=summary.failed_step,
            failed_expectations=summary.failed_expectations,
            warnings=summary.warnings,
            error=summary.error,
            seconds=summary.seconds,
        )
    return summary


def skip_if_nothing_new(
    lake_root: str | None = None, full_refresh: bool = False
) -> dict[str, Any] | None:
    """Record and return a ``skipped`` summary when there is nothing to transform, else None.

    Needs no orchestrator: the CLI asks this first, so a re-run with nothing new costs a look
    at the Delta logs and the pointer, not a Prefect run.
    """
    settings = get_settings(lake_root=lake_root)
    started = time.monotonic()
    contracts = load_all()
    plan = plan_transform(settings, contracts, full_refresh)
    if not plan.noop_reason:
        return None
    summary = TransformSummary(run_id=new_run_id(), status="skipped", reason=plan.noop_reason)
    previous = gold.published_pointer(settings)
    summary.published_build_id = previous["build_id"] if previous else None
    summary.sources = plan.sources or sorted(contracts)
    finish(settings, summary, started)
    return summary.as_dict()
