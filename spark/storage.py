"""The landing zone and the job's Delta tables seen from plain Python: no Spark session needed.

A run first finds out whether there is any work: it lists the landing objects of the entity and
compares them with the ledger. Both are done here without a JVM (a local folder with
:mod:`pathlib`, an ``s3://`` landing with :mod:`pyarrow.fs`; the ledger, a Delta table, with the
``deltalake`` package), so a run with nothing new never starts Spark. The same module opens an
object's bytes on the executors that parse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lakehouse.landing import ENVELOPE_SUFFIX

DOCUMENT_SUFFIX = ".json.gz"
_KEY_PATTERN = re.compile(r"(fetch_date=[^/]+/[^/]+)$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass(frozen=True)
class LandedRef:
    """One landed object: a document (``.json.gz``) or a raw file with its envelope sidecar."""

    key: str
    path: str
    size: int
    document: bool


def is_uri(location: str) -> bool:
    return bool(_SCHEME.match(location))


def object_key(path: str) -> str:
    """Stable id of an object, independent of scheme and lake root: ``fetch_date=.../name``."""
    match = _KEY_PATTERN.search(path)
    if not match:
        raise ValueError(f"{path} is not a landing object path (…/fetch_date=YYYY-MM-DD/<name>)")
    return match.group(1)


def _is_listed(name: str) -> bool:
    return not name.startswith(".")  # temp files of an object being landed


def list_objects(landing_uri: str) -> dict[str, LandedRef]:
    """Every landed object under ``landing_uri`` as ``{object_key: ref}``, oldest fetch first.

    Documents are ``fetch_date=*/<name>.json.gz``; a raw file is listed by its data path when
    its ``<name>.envelope.json`` exists (the envelope is written last, so a file still being
    landed is not listed).
    """
    entries = _list_fetch_dates(landing_uri)
    names = {(folder, name) for folder, name, _ in entries}
    sizes = {(folder, name): size for folder, name, size in entries}
    refs: list[LandedRef] = []
    for folder, name, size in entries:
        if not _is_listed(name):
            continue
        base = landing_uri.rstrip("/")
        if name.endswith(DOCUMENT_SUFFIX):
            refs.append(LandedRef(f"{folder}/{name}", f"{base}/{folder}/{name}", size, True))
        elif name.endswith(ENVELOPE_SUFFIX):
            data = name[: -len(ENVELOPE_SUFFIX)]
            if (folder, data) in names:
                size = sizes[(folder, data)]
                refs.append(LandedRef(f"{folder}/{data}", f"{base}/{folder}/{data}", size, False))
    refs.sort(key=lambda r: r.key)
    return {r.key: r for r in refs}


def _list_fetch_dates(landing_uri: str) -> list[tuple[str, str, int]]:
    """(``fetch_date=...`` folder, file name, size) of every file one level below the folders."""
    out: list[tuple[str, str, int]] = []
    if not is_uri(landing_uri):
        root = Path(landing_uri)
        if not root.is_dir():
            return []
        for folder in root.glob("fetch_date=*"):
            if folder.is_dir():
                for entry in folder.iterdir():
                    if entry.is_file():
                        out.append((folder.name, entry.name, entry.stat().st_size))
        return out
    from pyarrow import fs as pafs

    filesystem, root = pafs.FileSystem.from_uri(landing_uri)
    selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
    for info in filesystem.get_file_info(selector):
        if info.type != pafs.FileType.File:
            continue
        parts = info.path.rsplit("/", 2)
        if len(parts) == 3 and parts[1].startswith("fetch_date="):
            out.append((parts[1], parts[2], info.size or 0))
    return out


def open_input(path: str) -> IO[bytes]:
    """Open a landed file for reading (local path or URI)."""
    if not is_uri(path):
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    from pyarrow import fs as pafs

    filesystem, inner = pafs.FileSystem.from_uri(path)
    return filesystem.open_input_file(inner)


def read_bytes(path: str) -> bytes:
    with open_input(path) as fh:
        return fh.read()


# ---------------------------------------------------------------- local Delta tables


def delta_version(table_path: str) -> int | None:
    """Latest commit version of a local Delta table (from its log's file names), or None."""
    log = Path(table_path) / "_delta_log"
    if not log.is_dir():
        return None
    versions = [int(p.name[:20]) for p in log.glob("*.json") if p.name[:20].isdigit()]
    return max(versions) if versions else None


def delta_row_count(table_path: str) -> int | None:
    """Rows of a local Delta table from the row counts its log keeps per file, or None."""
    if delta_version(table_path) is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    table = DeltaTable(table_path)
    counts = pa.table(table.get_add_actions(flatten=True)).column("num_records")
    if counts.null_count:
        return table.to_pyarrow_dataset().count_rows()
    return int(pc.sum(counts).as_py() or 0)


def ledger_keys(ledger_path: str) -> set[str]:
    """Object keys recorded in a local ledger table (``deltalake``, no Spark)."""
    if delta_version(ledger_path) is None:
        return set()
    from deltalake import DeltaTable

    table = DeltaTable(ledger_path).to_pyarrow_table(columns=["object_key"])
    return set(table.column("object_key").to_pylist())
