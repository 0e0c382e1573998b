"""The immutable landing zone: what a source sent, byte for byte, under a neutral envelope.

Two object forms, one envelope:

- **Documents** (answers of APIs, batches of stream records or database rows): one gzip file
  ``<lake>/landing/<source>/<entity>/fetch_date=YYYY-MM-DD/<name>.json.gz`` holding::

      {"envelope": {...}, "body": "<the bytes as text>"}          # the bytes are valid UTF-8
      {"envelope": {...}, "body_base64": "<the bytes, base64>"}    # anything else

  Either way the exact bytes come back (:func:`body_bytes`) and hash to ``envelope.sha256``.
- **Files** (bulk drops, binary formats such as SAS7BDAT): the file itself, streamed to
  ``.../fetch_date=YYYY-MM-DD/<name>`` in chunks (a 500 MB file never sits in memory), with the
  envelope beside it as ``<name>.envelope.json``.

The envelope: ``source``, ``entity``, ``key``, ``batch_id``, ``fetched_at`` (UTC, ``Z``),
``sha256``, ``body_bytes``, ``content_type``, and ``transport``, whose ``kind`` says which keys
follow: ``http`` (``method``, ``url``, ``params``, ``status``), ``stream`` (``url``,
``first``/``last`` position), ``kafka`` (``topic``, ``partition``, ``offset_from``/``offset_to``),
``postgres`` (``table``, ``watermark_from``/``watermark_to``, ``rows``), ``file`` (``location``,
``name``, ``size``, ``modified``). Objects landed before the envelope had ``transport`` carry
``http_status`` and ``request`` at the top; :func:`transport_of` reads both.

Objects are written atomically (temp file + link) and never overwritten. Bytes whose sha256 is
already landed for the same source and entity are not stored again: a marker per digest under
``<lake>/_state/landing/<source>/<entity>/sha256/`` records it (kept out of the data layer).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from lakehouse import storage
from lakehouse.lake import Lake

OBJECT_GLOB = "fetch_date=*/*.json.gz"
ENVELOPE_SUFFIX = ".envelope.json"
FILE_ENVELOPE_GLOB = f"fetch_date=*/*{ENVELOPE_SUFFIX}"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandedObject:
    """Result of landing one body or file."""

    path: Path
    sha256: str
    body_bytes: int
    created: bool  # False when identical bytes were already landed


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _atomic_write(path: Path, data: bytes) -> None:
    # Never overwrites: an object with this name is already landed (same time, key and digest).
    if not storage.write_bytes_atomic(path, data, exclusive=True):
        raise FileExistsError(f"{path} is already landed")


def _publish(tmp: Path, path: Path) -> None:
    # link() fails if the target exists, so a landed object is never overwritten.
    try:
        if storage.is_remote(path):
            if not path.exists():
                path.fs.put_file(str(tmp), path.path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _marker(lake: Lake, source: str, entity: str, digest: str) -> Path:
    return lake.state / "landing" / source / entity / "sha256" / digest


def _landed_before(lake: Lake, source: str, entity: str, digest: str) -> Path | None:
    marker = _marker(lake, source, entity, digest)
    return storage.location(marker.read_text(encoding="utf-8")) if marker.exists() else None


def _remember(lake: Lake, source: str, entity: str, digest: str, path: Path) -> None:
    marker = _marker(lake, source, entity, digest)
    storage.write_bytes_atomic(marker, storage.uri(path).encode("utf-8"))


def _safe(text: str) -> str:
    """A key as a file-name part (keys are target ids, topic partitions, table names)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80]


def make_envelope(
    *,
    source: str,
    entity: str,
    key: str,
    batch_id: str,
    fetched_at: datetime,
    digest: str,
    size: int,
    content_type: str | None,
    transport: dict[str, Any],
) -> dict[str, Any]:
    """The envelope every landed object carries (see the module docstring)."""
    if "kind" not in transport:
        raise ValueError("transport needs a 'kind' (http, stream, kafka, postgres, file)")
    return {
        "source": source,
        "entity": entity,
        "key": key,
        "batch_id": batch_id,
        "fetched_at": _timestamp(fetched_at),
        "sha256": digest,
        "body_bytes": size,
        "content_type": content_type,
        "transport": transport,
    }


def land_body(
    lake: Lake,
    *,
    source: str,
    entity: str,
    key: str,
    body: bytes,
    batch_id: str,
    transport: dict[str, Any],
    content_type: str | None = None,
    fetched_at: datetime | None = None,
) -> LandedObject:
    """Land one body (an API answer, a batch of records) as a document; skip bytes seen before."""
    fetched_at = (fetched_at or datetime.now(UTC)).astimezone(UTC)
    digest = sha256_hex(body)
    earlier = _landed_before(lake, source, entity, digest)
    if earlier is not None:
        return LandedObject(earlier, digest, len(body), False)
    envelope = make_envelope(
        source=source,
        entity=entity,
        key=key,
        batch_id=batch_id,
        fetched_at=fetched_at,
        digest=digest,
        size=len(body),
        content_type=content_type,
        transport=transport,
    )
    document: dict[str, Any] = {"envelope": envelope}
    try:
        document["body"] = body.decode("utf-8")  # lossless: the same bytes encode back
    except UnicodeDecodeError:
        document["body_base64"] = base64.b64encode(body).decode("ascii")
    name = f"{fetched_at:%Y%m%dT%H%M%S%fZ}_{_safe(key)}_{digest[:16]}.json.gz"
    path = lake.landing(source, entity) / f"fetch_date={fetched_at:%Y-%m-%d}" / name
    payload = gzip.compress(json.dumps(document, ensure_ascii=False).encode("utf-8"), mtime=0)
    _atomic_write(path, payload)
    _remember(lake, source, entity, digest, path)
    return LandedObject(path, digest, len(body), True)


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
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    page: int | None = None,
) -> LandedObject:
    """Land one HTTP answer (:func:`land_body` with an ``http`` transport).

    ``headers`` (already stripped of credentials by the caller), ``json_body`` and ``page``
    (2, 3, ... of a paginated answer) are recorded in the transport when given.
    """
    transport: dict[str, Any] = {
        "kind": "http",
        "method": method,
        "url": url,
        "params": params,
        "status": http_status,
    }
    if headers:
        transport["headers"] = headers
    if json_body is not None:
        transport["json"] = json_body
    if page is not None:
        transport["page"] = page
    return land_body(
        lake,
        source=source,
        entity=entity,
        key=key,
        body=body,
        batch_id=batch_id,
        transport=transport,
        content_type=content_type,
        fetched_at=fetched_at,
    )


def land_file(
    lake: Lake,
    *,
    source: str,
    entity: str,
    name: str,
    stream: BinaryIO,
    batch_id: str,
    transport: dict[str, Any],
    content_type: str | None = None,
    fetched_at: datetime | None = None,
) -> LandedObject:
    """Stream one file into landing as is, with its envelope beside it; skip bytes seen before.

    The bytes go to a temporary file in the target folder while their sha256 is computed, so
    memory stays flat whatever the size; a file whose digest was landed before is dropped.
    """
    fetched_at = (fetched_at or datetime.now(UTC)).astimezone(UTC)
    folder = lake.landing(source, entity) / f"fetch_date={fetched_at:%Y-%m-%d}"
    storage.makedirs(folder)
    # An object store has no partial files: spool to the local disk, then upload in one go.
    spool = lake.work / "_state" / "spool" if storage.is_remote(folder) else folder
    spool.mkdir(parents=True, exist_ok=True)
    tmp = spool / f".{_safe(name)}.{os.getpid()}.tmp"
    digest = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "wb") as out:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        hexdigest = digest.hexdigest()
        earlier = _landed_before(lake, source, entity, hexdigest)
        if earlier is not None:
            return LandedObject(earlier, hexdigest, size, False)
        path = folder / f"{fetched_at:%Y%m%dT%H%M%S%fZ}_{hexdigest[:16]}_{_safe(name)}"
        envelope = make_envelope(
            source=source,
            entity=entity,
            key=name,
            batch_id=batch_id,
            fetched_at=fetched_at,
            digest=hexdigest,
            size=size,
            content_type=content_type,
            transport=transport,
        )
        # Envelope first: a file without its envelope is never listed (listing reads envelopes).
        _publish(tmp, path)
        _atomic_write(
            path.with_name(path.name + ENVELOPE_SUFFIX),
            json.dumps({"envelope": envelope}, ensure_ascii=False).encode("utf-8"),
        )
    finally:
        tmp.unlink(missing_ok=True)
    _remember(lake, source, entity, hexdigest, path)
    return LandedObject(path, hexdigest, size, True)


def iter_objects(lake: Lake, source: str, entity: str) -> Iterator[Path]:
    """All landed documents and files of an entity (files by their data path), oldest first."""
    root = lake.landing(source, entity)
    documents = list(root.glob(OBJECT_GLOB))
    files = [p.with_name(p.name[: -len(ENVELOPE_SUFFIX)]) for p in root.glob(FILE_ENVELOPE_GLOB)]
    yield from sorted(documents + files, key=lambda p: (p.parent.name, p.name))


def is_document(path: Path) -> bool:
    return path.name.endswith(".json.gz")


def read_object(path: Path) -> dict[str, Any]:
    """Read one landed object: ``{"envelope", "body"}`` for documents (``body`` is text when the
    bytes are UTF-8, else absent with ``body_base64``); ``{"envelope"}`` for files."""
    if is_document(path):
        with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    return json.loads(path.with_name(path.name + ENVELOPE_SUFFIX).read_text(encoding="utf-8"))


def body_bytes(path: Path) -> bytes:
    """The exact bytes a landed object holds (documents decoded, files read whole)."""
    if not is_document(path):
        return path.read_bytes()
    document = read_object(path)
    if "body_base64" in document:
        return base64.b64decode(document["body_base64"])
    return str(document.get("body", "")).encode("utf-8")


def transport_of(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope's transport, also for objects landed before ``transport`` existed."""
    if "transport" in envelope:
        return envelope["transport"]
    request = envelope.get("request") or {}
    return {
        "kind": "http",
        "method": request.get("method"),
        "url": request.get("url"),
        "params": request.get("params"),
        "status": envelope.get("http_status"),
    }
