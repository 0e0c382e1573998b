"""One storage layer for every part: a local folder or ``s3://`` URIs behind the pathlib API.

Local locations are :class:`pathlib.Path`; object-store locations are ``universal_pathlib``
paths (:class:`upath.UPath`) over fsspec's ``s3fs``, which speak the same API (``/``,
``exists``, ``glob``, ``read_bytes``, ``write_bytes``, ``mkdir``, ``unlink``...). Code that keeps
to that API runs on either, so the few operations a folder has and a bucket has not (hard links,
``os.replace``, file locks) are the only ones here, each with its object-store twin.

Endpoints and credentials are never passed around: boto3, s3fs, pyarrow and delta-rs all read the
standard ``AWS_*`` variables (``AWS_ENDPOINT_URL`` for a stand-in such as moto's server), so the
same settings serve a real account.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import IO, Any

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def is_uri(location: str | os.PathLike[str]) -> bool:
    """True for ``s3://...`` and other scheme URIs, False for local paths."""
    return bool(_SCHEME.match(str(location)))


def location(value: str | os.PathLike[str]) -> Path:
    """A path object for a folder or a URI: :class:`Path` locally, a ``UPath`` for ``s3://``."""
    if isinstance(value, Path):
        return value
    text = str(value)
    if not is_uri(text):
        return Path(text)
    from upath import UPath

    # S3 "folders" are key prefixes: strip a trailing slash so joins make one separator.
    return UPath(text.rstrip("/"))  # type: ignore[return-value]


def is_remote(path: Any) -> bool:
    """True when ``path`` lives in an object store (not a local file)."""
    return not isinstance(path, Path) or type(path).__module__.startswith("upath")


def uri(path: Any) -> str:
    """The string form a reader outside this process takes: a local path or ``s3://bucket/key``."""
    if not is_remote(path):
        return str(path)
    text = str(path)
    text = text if is_uri(text) else f"{path.protocol}://{text}"
    # A bucket's root prints as "s3://bucket/"; joins add their own separator.
    return text.rstrip("/")


def write_bytes_atomic(path: Any, data: bytes, *, exclusive: bool = False) -> bool:
    """Write ``data`` so that a reader sees the old object or the whole new one, never a part.

    Locally: a temporary file in the same folder, then ``os.replace`` (or a hard link when
    ``exclusive``, which fails if the target exists). In an object store a single PUT is
    already atomic; ``exclusive`` checks first (the writers of one prefix are one run at a time,
    held by the pipeline's lock).

    Returns:
        False when ``exclusive`` and the target already existed (nothing written), else True.
    """
    if is_remote(path):
        if exclusive and path.exists():
            return False
        path.write_bytes(data)
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    # Unique per writer, not per process: threads of one ingest may land the same bytes at once.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def open_read(path: Any) -> IO[bytes]:
    """Open a file or object for reading bytes."""
    return path.open("rb")


def makedirs(path: Any) -> None:
    """Create a folder and its parents; object stores have no folders, so nothing to do there."""
    if not is_remote(path):
        path.mkdir(parents=True, exist_ok=True)


def remove_tree(path: Any) -> None:
    """Delete a folder or an object prefix with everything under it (missing is fine)."""
    if is_remote(path):
        if path.exists():
            path.fs.rm(path.path, recursive=True)
        return
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def delta_storage_options(table_uri: str) -> dict[str, str] | None:
    """Options delta-rs needs beyond the ``AWS_*`` variables it reads itself, or None locally.

    A stand-in endpoint speaks plain HTTP, which delta-rs refuses unless allowed; a real
    account's endpoint is HTTPS, so the option is harmless there.
    """
    if not table_uri.startswith(("s3://", "s3a://")):
        return None
    options: dict[str, str] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        options["AWS_ENDPOINT_URL"] = endpoint
        options["AWS_ALLOW_HTTP"] = "true"
        # Stand-ins (moto) serve buckets by path, not by virtual host.
        options["AWS_S3_ADDRESSING_STYLE"] = "path"
    return options


def delta_table(path: Any) -> Any:
    """A ``deltalake.DeltaTable`` at a local folder or an ``s3://`` URI (delta-rs's own S3).

    Raises:
        deltalake.exceptions.TableNotFoundError: no Delta table there.
    """
    from deltalake import DeltaTable

    location_text = uri(path)
    return DeltaTable(location_text, storage_options=delta_storage_options(location_text))
