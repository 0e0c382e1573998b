"""The immutable landing zone: one JSON object per source response, envelope plus raw body.

Object layout: ``<lake>/landing/<source>/<entity>/fetch_date=YYYY-MM-DD/<name>.json.gz`` where
the gzip holds one JSON document::

    {"envelope": {"source", "entity", "key", "request": {"method", "url", "params"},
                  "http_status", "content_type", "fetched_at", "batch_id", "sha256", "body_bytes"},
     "body": "<the response body exactly as received, decoded as UTF-8>"}

Objects are written atomically (temp file + rename) and never overwritten. A body whose sha256 is
already landed for the same source and entity is not stored again: a marker per digest under
``<lake>/_state/landing/<source>/<entity>/sha256/`` records it (kept out of the data layer).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.lake import Lake

OBJECT_GLOB = "fetch_date=*/*.json.gz"


@dataclass(frozen=True)
class LandedObject:
    """Result of landing one response."""

    path: Path
    sha256: str
    body_bytes: int
    created: bool  # False when an identical body was already landed


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    # link() fails if the target exists, so a landed object is never overwritten.
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def land_response(
    lake: Lake,
    *,
    source: str,
    entity: str,
    key: str,
    method: str,
    url: str,
    params: dict[str, Any],
    http_status: int,
    content_type: str | None,
    body: bytes,
    batch_id: str,
    fetched_at: datetime | None = None,
) -> LandedObject:
    """Land one response body with its envelope; skip it if the same body is already landed."""
    fetched_at = (fetched_at or datetime.now(UTC)).astimezone(UTC)
    digest = sha256_hex(body)
    marker = lake.state / "landing" / source / entity / "sha256" / digest
    if marker.exists():
        return LandedObject(Path(marker.read_text(encoding="utf-8")), digest, len(body), False)
    envelope = {
        "source": source,
        "entity": entity,
        "key": key,
        "request": {"method": method, "url": url, "params": params},
        "http_status": http_status,
        "content_type": content_type,
        "fetched_at": fetched_at.isoformat().replace("+00:00", "Z"),
        "batch_id": batch_id,
        "sha256": digest,
        "body_bytes": len(body),
    }
    document = {"envelope": envelope, "body": body.decode("utf-8", errors="replace")}
    name = f"{fetched_at:%Y%m%dT%H%M%S%fZ}_{key}_{digest[:16]}.json.gz"
    path = lake.landing(source, entity) / f"fetch_date={fetched_at:%Y-%m-%d}" / name
    payload = gzip.compress(json.dumps(document, ensure_ascii=False).encode("utf-8"), mtime=0)
    _atomic_write(path, payload)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(path), encoding="utf-8")
    return LandedObject(path, digest, len(body), True)


def iter_objects(lake: Lake, source: str, entity: str) -> Iterator[Path]:
    """All landed objects of an entity, oldest fetch first."""
    yield from sorted(lake.landing(source, entity).glob(OBJECT_GLOB))


def read_object(path: Path) -> dict[str, Any]:
    """Read one landed object (envelope and raw body)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)
