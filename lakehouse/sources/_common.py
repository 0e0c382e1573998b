"""What the stream, PostgreSQL and file ingesters share: batch ids, stored positions, settings.

Positions (a stream's last record, a table's watermark) live under
``<lake>/_state/ingest/<source>/`` as small JSON files written atomically, and are written only
after the data they describe has landed, so a crash re-reads rather than skips.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from lakehouse import storage
from lakehouse.contracts import Contract
from lakehouse.lake import Lake
from lakehouse.sources import IngestResult, TargetOutcome


class NotSupportedYet(NotImplementedError):
    """The contract asks for something this ingester does not do yet (message says what)."""


def utc_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def new_batch_id(started: datetime) -> str:
    return f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def state_dir(lake: Lake, source: str) -> Path:
    """``<lake>/_state/ingest/<source>``: where an ingester keeps its position."""
    return lake.state / "ingest" / source


def read_state(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_state(path: Path, data: dict[str, Any]) -> None:
    """Replace a position file atomically (a reader sees the old or the new one, never half)."""
    storage.write_bytes_atomic(path, json.dumps(data, indent=2, default=str).encode("utf-8"))


def setting(contract: Contract, name: str, *, secret: bool = False) -> str | SecretStr | None:
    """Setting ``name`` of the contract's source (``LAKEHOUSE_<SOURCE>_<NAME>``), or None.

    Read through :mod:`lakehouse.source_settings` when the contract declares it; a setting the
    contract names (``dsn_setting``, ``location_setting``) without declaring it is read from
    the environment under the same variable name, as a secret when ``secret`` is true.
    """
    from lakehouse.source_settings import env_name, source_settings

    values = source_settings(contract)
    if name in type(values).model_fields:
        value = getattr(values, name)
        if secret and isinstance(value, str):
            return SecretStr(value)
        return value
    raw = os.environ.get(env_name(contract.name, name))
    if raw is None or raw == "":
        return None
    return SecretStr(raw) if secret else raw


class Clock:
    """Start time, batch id and elapsed seconds of one run."""

    def __init__(self) -> None:
        self.started = datetime.now(UTC)
        self._t0 = time.monotonic()
        self.batch_id = new_batch_id(self.started)

    def result(
        self,
        contract: Contract,
        *,
        window: str,
        endpoint: str,
        landing_dir: Path,
        targets: list[TargetOutcome],
    ) -> IngestResult:
        return IngestResult(
            source=contract.name,
            kind=contract.source.kind,
            batch_id=self.batch_id,
            window=window,
            endpoint=endpoint,
            started_at=utc_text(self.started),
            finished_at=utc_text(datetime.now(UTC)),
            seconds=round(time.monotonic() - self._t0, 3),
            landing_dir=str(landing_dir),
            targets=targets,
        )
