"""Ingestion by kind, not by source: one ingester per ``source.kind`` of a contract.

Every ingester takes ``(settings, contract, request)`` and returns an :class:`IngestResult`
whose ``targets`` are the units it fetched on their own (an HTTP fan-out target, a stream, a
polled table, a file) and failed or landed on their own. The CLI, the flows, the run records and
``lakehouse status`` read this one shape, whatever the kind.

``INGESTERS`` maps each kind to the module that implements it (``run(settings, contract,
request, progress) -> IngestResult``), so adding a kind is adding a module, and a source is
only a contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

ProgressHook = Callable[[str, str], None]
"""Told ``(target key, what it is doing now)``: ``fetching``, ``retry 2: HTTP 503 ...``."""

# kind -> module with `run(settings, contract, request, progress) -> IngestResult`
INGESTERS: dict[str, str] = {
    "http": "lakehouse.sources.http",
    "stream": "lakehouse.sources.stream",
    "postgres": "lakehouse.sources.postgres",
    "files": "lakehouse.sources.files",
}


class WindowError(ValueError):
    """The requested dates cannot be fetched (message says why and what to do)."""


@dataclass(frozen=True)
class IngestRequest:
    """What one ingest run was asked for (every field optional; kinds ignore what they lack)."""

    start_date: date | None = None
    end_date: date | None = None
    base_url: str | None = None  # replaces the source's host (a replay server)
    location: str | None = None  # files: a folder, s3:// prefix or URL to take files from
    max_records: int | None = None  # streams: stop after this many records
    max_seconds: float | None = None  # streams: stop after this long


@dataclass
class TargetOutcome:
    """What fetching and landing one target did."""

    key: str
    label: str
    status: str  # "ok" or "failed"
    reason: str = ""
    rows: int = 0
    bytes: int = 0
    objects: int = 0  # objects created; 0 when identical bytes were landed before
    duplicate: bool = False
    path: str = ""
    attempts: int = 0
    first_event: str | None = None
    last_event: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class IngestResult:
    """The outcome of one ingest run over every target of a source."""

    source: str
    kind: str
    batch_id: str
    window: str
    endpoint: str
    started_at: str
    finished_at: str
    seconds: float
    landing_dir: str
    targets: list[TargetOutcome]

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.targets)

    @property
    def failed(self) -> list[TargetOutcome]:
        return [t for t in self.targets if not t.ok]

    def failure_message(self) -> str:
        """``N of M targets failed: <key>: <reason>; ...`` (empty when all landed)."""
        if self.ok:
            return ""
        details = "; ".join(f"{t.key}: {t.reason}" for t in self.failed)
        return f"{len(self.failed)} of {len(self.targets)} targets failed: {details}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = "ok" if self.ok else "failed"
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngestResult:
        fields = {k: v for k, v in data.items() if k != "status"}
        fields["targets"] = [TargetOutcome(**t) for t in data["targets"]]
        return cls(**fields)


class CredentialsRejected(Exception):
    """The API refused the source's credentials: the run stops, nothing is landed, and the
    message (one line, no secret) names the settings that hold them."""


class IngestFailed(Exception):
    """Some targets failed; ``result`` is the run's :meth:`IngestResult.to_dict`."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result

    def __reduce__(self):  # keeps ``result`` when Prefect persists the failed state
        return (type(self), (str(self), self.result))


def run_record_fields(result: IngestResult) -> dict[str, Any]:
    """The fields of the ``ingest`` run record (see :mod:`lakehouse.runs`)."""
    return {
        "status": "ok" if result.ok else "failed",
        "kind": result.kind,
        "started_at": result.started_at,
        "batch_id": result.batch_id,
        "window": result.window,
        "endpoint": result.endpoint,
        "seconds": result.seconds,
        "landing_dir": result.landing_dir,
        "objects": sum(t.objects for t in result.targets),
        "rows": sum(t.rows for t in result.targets),
        "bytes": sum(t.bytes for t in result.targets),
        "targets": {
            t.key: {
                "status": t.status,
                "objects": t.objects,
                "rows": t.rows,
                "bytes": t.bytes,
                "reason": t.reason,
                "path": t.path,
                "warnings": t.warnings,
            }
            for t in result.targets
        },
        "error": result.failure_message() or None,
    }
