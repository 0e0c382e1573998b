"""Run records: what each pipeline step did, kept as small JSON files under ``<lake>/_state/runs``.

Every step (ingest, bronze, gate, transform, publish, site) records one document per run with
at least ``step``, ``source``, ``run_id``, ``status`` (``ok``/``failed``), ``started_at``,
``finished_at`` and its own counts. ``lakehouse status``, the site and the gates read them.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse import storage
from lakehouse.lake import Lake


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def _dir(lake: Lake, step: str, source: str) -> Path:
    return lake.state / "runs" / step / source


def record_run(lake: Lake, step: str, source: str, **fields: Any) -> dict[str, Any]:
    """Write one run record atomically and return it."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    record = {"step": step, "source": source, "run_id": new_run_id(), "finished_at": now}
    record.update(fields)
    path = _dir(lake, step, source) / f"{record['run_id']}.json"
    storage.write_bytes_atomic(path, json.dumps(record, indent=2, default=str).encode("utf-8"))
    return record


def latest_run(lake: Lake, step: str, source: str) -> dict[str, Any] | None:
    """The most recent record of ``step`` for ``source``, or None."""
    runs = list_runs(lake, step, source)
    return runs[-1] if runs else None


def list_runs(lake: Lake, step: str, source: str) -> list[dict[str, Any]]:
    """All records of ``step`` for ``source``, oldest first."""
    directory = _dir(lake, step, source)
    if not directory.exists():
        return []
    records = [
        (path.name, json.loads(path.read_text(encoding="utf-8")))
        for path in directory.glob("*.json")
    ]
    # By finish time (microseconds), then name: run ids have whole seconds, so two runs in the
    # same second would otherwise come in the random order of their id suffixes.
    records.sort(key=lambda item: (_finished(item[1]), item[0]))
    return [record for _, record in records]


def _finished(record: dict[str, Any]) -> datetime:
    try:
        at = datetime.fromisoformat(str(record.get("finished_at", "")).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)
