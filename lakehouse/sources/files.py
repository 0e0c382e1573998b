"""Kind ``files``: bulk files taken from a folder, an S3 prefix or an HTTP listing, landed as is.

Where the files are: ``request.location`` (``--location``), else the ``location`` setting
(``LAKEHOUSE_<SOURCE>_LOCATION``), else the contract's ``source.location``:

- a local folder (every file below it, hidden ones skipped; names relative to the folder);
- ``s3://bucket/prefix`` (boto3, which honours ``AWS_ENDPOINT_URL``; names relative to the
  prefix, taken as a folder);
- an ``http(s)://`` URL answering with a listing: a JSON array of names or URLs (or of objects
  with ``name``/``url``/``href`` and optional ``size``/``modified``), or an HTML page whose
  ``<a href>`` links name the files (sub-folders, parent, query and fragment links skipped).

Each file's name (its last path part; a pattern with ``/`` matches the whole relative name) is
matched case-insensitively against ``files.<entity>.patterns`` (fnmatch globs); the first entity
that matches takes it. Files matching nothing are skipped and named in the warning of one extra
target, ``(unmatched files)``, status ok. Each matched
file is streamed into landing by :func:`lakehouse.landing.land_file` (chunks: an open file, a
boto3 ``StreamingBody``, an httpx stream; never whole in memory) with transport ``{"kind":
"file", "location", "name", "size", "modified"}``. The same bytes dropped twice land once
(sha256 dedupe); a corrected file under the same name is new bytes and lands as a new object
(bronze decides which wins).

Every file is a target of its own (key: its name; rows: 0, files are parsed in bronze): one that
cannot be read fails alone. A location that cannot be listed is one failed target.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import posixpath
import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from fnmatch import fnmatchcase
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urljoin, urlparse

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from lakehouse import __version__
from lakehouse.contracts import Contract, FilesSource
from lakehouse.http import RETRY_EXCEPTIONS, RETRY_STATUS_MIN, RETRY_STATUSES, api_reason
from lakehouse.landing import land_file
from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings
from lakehouse.source_settings import env_name
from lakehouse.sources import (
    IngestRequest,
    IngestResult,
    ProgressHook,
    TargetOutcome,
    WindowError,
)
from lakehouse.sources._common import Clock, setting, utc_text

logger = get_logger(__name__)

UNMATCHED = "(unmatched files)"  # key of the target that names the skipped files

Opener = Callable[[], AbstractContextManager[tuple[BinaryIO, dict[str, Any]]]]


class ListingFailed(Exception):
    """The location cannot be listed; the message is the reason."""


class _Retryable(Exception):
    pass


@dataclass
class RemoteFile:
    """One file at the location: its name, what the listing says of it, and how to read it."""

    name: str
    size: int | None
    modified: str | None
    open: Opener
    content_type: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def basename(self) -> str:
        return posixpath.basename(self.name)


# ------------------------------------------------------------------ matching


def entity_for(src: FilesSource, name: str) -> str | None:
    """The landing entity whose patterns match ``name`` (case-insensitive), or None."""
    base, whole = posixpath.basename(name).lower(), name.lower()
    for entity, files in src.files.items():
        for pattern in files.patterns:
            subject = whole if "/" in pattern else base
            if fnmatchcase(subject, pattern.lower()):
                return entity
    return None


# ------------------------------------------------------------------ folder


def _folder_files(folder: Path) -> Iterator[RemoteFile]:
    if not folder.is_dir():
        raise ListingFailed(f"{folder} is not a folder")
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        stat = path.stat()

        @contextmanager
        def opener(path: Path = path) -> Iterator[tuple[BinaryIO, dict[str, Any]]]:
            with open(path, "rb") as fh:
                yield fh, {}

        yield RemoteFile(
            name=relative.as_posix(),
            size=stat.st_size,
            modified=utc_text(datetime.fromtimestamp(stat.st_mtime, UTC)),
            open=opener,
        )


# ------------------------------------------------------------------ s3


def _s3_files(location: str, settings: Settings) -> Iterator[RemoteFile]:
    import boto3

    parsed = urlparse(location)
    bucket, prefix = parsed.netloc, parsed.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    # AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_S3) are honoured by boto3 itself.
    client = boto3.client("s3", region_name=settings.aws_region or None)
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        objects = [obj for page in pages for obj in page.get("Contents", [])]
    except (BotoCoreError, ClientError) as exc:
        raise ListingFailed(f"cannot list {location}: {_boto_reason(exc)}") from None
    for obj in sorted(objects, key=lambda o: o["Key"]):
        key = obj["Key"]
        name = key[len(prefix) :]
        if not name or key.endswith("/"):
            continue

        @contextmanager
        def opener(key: str = key) -> Iterator[tuple[BinaryIO, dict[str, Any]]]:
            try:
                answer = client.get_object(Bucket=bucket, Key=key)
            except (BotoCoreError, ClientError) as exc:
                raise OSError(f"cannot read s3://{bucket}/{key}: {_boto_reason(exc)}") from None
            body = answer["Body"]  # botocore StreamingBody: read(n) from the socket
            try:
                yield body, {"content_type": answer.get("ContentType")}
            finally:
                body.close()

        yield RemoteFile(
            name=name,
            size=obj.get("Size"),
            modified=utc_text(obj["LastModified"]) if obj.get("LastModified") else None,
            open=opener,
        )


def _boto_reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        error = response["Error"]
        return f"{error.get('Code', '')}: {error.get('Message', '')}".strip(": ")
    return str(exc)


# ------------------------------------------------------------------ http listing


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.lower() == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def parse_listing(body: bytes, content_type: str | None, url: str) -> list[dict[str, Any]]:
    """The files a listing names: ``[{"url", "name", "size"?, "modified"?}]``.

    A JSON array (of names/URLs, or of objects with ``name``/``url``/``href``), optionally
    under ``files``/``items``/``data`` of an object; otherwise HTML ``<a href>`` links, without
    sub-folders (``.../``), the parent, and query- or fragment-only links.
    """
    entries: list[dict[str, Any]] = []
    data: Any = None
    if (content_type or "").split(";")[0].strip().endswith("json") or body.lstrip()[:1] in (
        b"[",
        b"{",
    ):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
    if isinstance(data, dict):
        data = next(
            (data[k] for k in ("files", "items", "data") if isinstance(data.get(k), list)), None
        )
    if isinstance(data, list):
        for item in data:
            if isinstance(item, str):
                entries.append({"href": item})
            elif isinstance(item, dict):
                href = item.get("url") or item.get("href") or item.get("name")
                if isinstance(href, str):
                    entries.append(
                        {
                            "href": href,
                            "name": item.get("name"),
                            "size": item.get("size"),
                            "modified": item.get("modified"),
                        }
                    )
    else:
        parser = _Links()
        parser.feed(body.decode("utf-8", errors="replace"))
        entries = [{"href": h} for h in parser.hrefs]
    files: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in entries:
        href = entry["href"].strip()
        if not href or href.startswith(("?", "#", "mailto:", "javascript:")):
            continue
        absolute = urljoin(url, href).split("#", 1)[0]
        path = urlparse(absolute).path
        if path.endswith("/") or absolute in seen:
            continue  # a folder, the parent, or a link named twice
        seen.add(absolute)
        name = entry.get("name") if isinstance(entry.get("name"), str) else None
        files.append(
            {
                "url": absolute,
                "name": name or unquote(posixpath.basename(path)),
                "size": entry.get("size") if isinstance(entry.get("size"), int) else None,
                "modified": entry.get("modified")
                if isinstance(entry.get("modified"), str)
                else None,
            }
        )
    return files


def _header_time(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return utc_text(parsedate_to_datetime(value))
    except (TypeError, ValueError):
        return None


class _ChunkReader:
    """``read(n)`` over an iterator of byte chunks (an httpx response body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


class _Http:
    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(settings.http_timeout_s),
            follow_redirects=True,
            headers={"User-Agent": f"lakehouse/{__version__}"},
        )

    def close(self) -> None:
        self.client.close()

    def with_retries(self, what: str, action: Callable[[], Any]) -> Any:
        """``action()``, again after 429/5xx and network failures, up to ``http_max_attempts``."""
        s = self.settings
        for attempt in range(1, s.http_max_attempts + 1):
            try:
                return action()
            except (*RETRY_EXCEPTIONS, _Retryable) as exc:
                reason = str(exc) or type(exc).__name__
                if attempt == s.http_max_attempts:
                    raise OSError(f"{what}: {reason} (after {attempt} attempts)") from None
                delay = min(
                    s.http_backoff_base_s * 2 ** (attempt - 1)
                    + random.uniform(0, s.http_backoff_base_s),
                    s.http_backoff_max_s,
                )
                log_event(
                    logger,
                    "retry",
                    logging.WARNING,
                    what=what,
                    reason=reason,
                    delay_s=round(delay, 2),
                )
                time.sleep(delay)
        raise AssertionError("unreachable")

    @staticmethod
    def check(response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 300:
            return
        response.read()
        reason = f"HTTP {status}: {api_reason(response)}"
        if status in RETRY_STATUSES or status >= RETRY_STATUS_MIN:
            raise _Retryable(reason)
        raise OSError(f"{what}: {reason}")

    def files(self, location: str) -> Iterator[RemoteFile]:
        def get_listing() -> httpx.Response:
            response = self.client.get(location)
            self.check(response, location)
            return response

        try:
            listing = self.with_retries(location, get_listing)
        except OSError as exc:
            raise ListingFailed(f"cannot list {exc}") from None
        for entry in parse_listing(
            listing.content, listing.headers.get("content-type"), str(listing.url)
        ):
            url = entry["url"]

            @contextmanager
            def opener(url: str = url) -> Iterator[tuple[BinaryIO, dict[str, Any]]]:
                def start() -> tuple[Any, httpx.Response]:
                    context = self.client.stream("GET", url)
                    response = context.__enter__()
                    try:
                        self.check(response, url)
                    except BaseException:
                        context.__exit__(None, None, None)
                        raise
                    return context, response

                context, response = self.with_retries(url, start)
                try:
                    info = {
                        "size": int(response.headers["content-length"])
                        if response.headers.get("content-length", "").isdigit()
                        else None,
                        "modified": _header_time(response.headers.get("last-modified")),
                        "content_type": response.headers.get("content-type"),
                    }
                    yield _ChunkReader(response.iter_bytes()), info  # type: ignore[misc]
                finally:
                    context.__exit__(None, None, None)

            yield RemoteFile(
                name=entry["name"],
                size=entry["size"],
                modified=entry["modified"],
                open=opener,
                info={"url": url},
            )


# ------------------------------------------------------------------ the source


def resolve_location(contract: Contract, request: IngestRequest) -> str | None:
    src = contract.source
    assert isinstance(src, FilesSource)
    value = request.location or setting(contract, src.location_setting) or src.location
    return str(value) if value else None


def _is_contract_default(contract: Contract, request: IngestRequest, location: str) -> bool:
    """Whether ``location`` is the contract's own inbox, not one the user named."""
    src = contract.source
    assert isinstance(src, FilesSource)
    return not request.location and location == str(src.location)


def _no_inbox_yet(contract: Contract, clock: Clock, folder: Path, landing_dir) -> IngestResult:
    """The contract's default inbox does not exist yet: nothing to land, said as a warning.

    A registered files source without files must not fail every daily refresh; a folder the
    user named (``--from``, the setting) that does not exist still fails.
    """
    src = contract.source
    assert isinstance(src, FilesSource)
    warning = (
        f"no inbox folder {folder} yet: nothing to land (drop files there, or give --from / "
        f"{env_name(contract.name, src.location_setting)})"
    )
    log_event(logger, "no inbox yet", logging.WARNING, location=str(folder))
    outcome = TargetOutcome(key="location", label=str(folder), status="ok", warnings=[warning])
    return clock.result(
        contract,
        window="0 files listed",
        endpoint=str(folder),
        landing_dir=landing_dir,
        targets=[outcome],
    )


def check_request(contract: Contract, request: IngestRequest) -> None:
    """Refuse, before anything runs, what this kind cannot do (``lakehouse ingest`` exit 2)."""
    if request.start_date or request.end_date:
        raise WindowError(
            f"source {contract.name} (kind files) takes no dates: it lands the files at its "
            "location that are not landed yet"
        )


def _is_url(location: str, scheme: str) -> bool:
    return location.lower().startswith(scheme)


def run(
    settings: Settings,
    contract: Contract,
    request: IngestRequest,
    progress: ProgressHook | None = None,
    *,
    client: httpx.Client | None = None,
) -> IngestResult:
    """Land every file at the location that matches an entity (see the module docstring)."""
    src = contract.source
    if not isinstance(src, FilesSource):
        raise TypeError(f"source {contract.name!r} is kind {src.kind!r}, not files")
    report = progress or (lambda _key, _text: None)
    clock = Clock()
    lake = settings.lake
    landing_dir = lake.layer("landing") / contract.name
    location = resolve_location(contract, request)
    if not location:
        outcome = TargetOutcome(
            key="location",
            label="location",
            status="failed",
            reason=f"no location: give --location, set "
            f"{env_name(contract.name, src.location_setting)} or location: in the contract",
        )
        return clock.result(
            contract, window="", endpoint="", landing_dir=landing_dir, targets=[outcome]
        )

    http: _Http | None = None
    try:
        if _is_url(location, "s3://"):
            listed = list(_s3_files(location, settings))
        elif _is_url(location, "http://") or _is_url(location, "https://"):
            http = _Http(settings, client)
            listed = list(http.files(location))
        else:
            folder = Path(location[7:] if location.startswith("file://") else location)
            folder = folder.expanduser()
            if not folder.exists() and _is_contract_default(contract, request, location):
                return _no_inbox_yet(contract, clock, folder, landing_dir)
            listed = list(_folder_files(folder))
    except ListingFailed as exc:
        if http:
            http.close()
        outcome = TargetOutcome(key="location", label=location, status="failed", reason=str(exc))
        log_event(logger, "listing failed", logging.ERROR, location=location, reason=str(exc))
        return clock.result(
            contract, window="", endpoint=location, landing_dir=landing_dir, targets=[outcome]
        )

    targets: list[TargetOutcome] = []
    unmatched: list[str] = []
    try:
        for remote in listed:
            entity = entity_for(src, remote.name)
            if entity is None:
                unmatched.append(remote.name)
                continue
            targets.append(
                _land_one(lake, contract, entity, location, remote, clock.batch_id, report)
            )
    finally:
        if http:
            http.close()

    if unmatched:
        shown = ", ".join(unmatched[:20]) + (
            f" and {len(unmatched) - 20} more" if len(unmatched) > 20 else ""
        )
        several = len(unmatched) != 1
        warning = (
            f"{len(unmatched)} file{'s' if several else ''} matched no entity's "
            f"patterns and {'were' if several else 'was'} skipped: {shown}"
        )
        log_event(
            logger,
            "files skipped",
            logging.WARNING,
            location=location,
            count=len(unmatched),
            files=shown,
        )
        report(UNMATCHED, warning)
        # One target of its own carries it (IngestResult has no run-level warnings).
        targets.append(
            TargetOutcome(key=UNMATCHED, label=location, status="ok", warnings=[warning])
        )
    return clock.result(
        contract,
        window=f"{len(listed)} files listed",
        endpoint=location,
        landing_dir=landing_dir,
        targets=targets,
    )


def _land_one(
    lake,
    contract: Contract,
    entity: str,
    location: str,
    remote: RemoteFile,
    batch_id: str,
    report: ProgressHook,
) -> TargetOutcome:
    outcome = TargetOutcome(key=remote.name, label=f"{entity}: {remote.name}", status="failed")
    report(remote.name, "landing")
    try:
        with remote.open() as (stream, info):
            size = remote.size if remote.size is not None else info.get("size")
            transport = {
                "kind": "file",
                "location": location,
                "name": remote.name,
                "size": size,
                "modified": remote.modified or info.get("modified"),
            }
            content_type = info.get("content_type") or mimetypes.guess_type(remote.basename)[0]
            landed = land_file(
                lake,
                source=contract.name,
                entity=entity,
                name=remote.name,
                stream=stream,
                batch_id=batch_id,
                transport=transport,
                content_type=content_type,
            )
    except (OSError, httpx.HTTPError, BotoCoreError, ClientError) as exc:
        outcome.reason = str(exc) or type(exc).__name__
        if not isinstance(exc, OSError):  # cut off while reading: the next run tries again
            outcome.reason = f"{remote.name}: {type(exc).__name__}: {outcome.reason}"
        log_event(logger, "file failed", logging.ERROR, file=remote.name, reason=outcome.reason)
        report(remote.name, f"failed: {outcome.reason}")
        return outcome
    outcome.status = "ok"
    outcome.bytes = landed.body_bytes
    outcome.objects = 1 if landed.created else 0
    outcome.duplicate = not landed.created
    outcome.path = str(landed.path)
    if size is not None and size != landed.body_bytes:
        outcome.warnings.append(f"listed as {size} bytes, read {landed.body_bytes}")
    log_event(
        logger,
        "file landed" if landed.created else "file unchanged",
        file=remote.name,
        entity=entity,
        bytes=landed.body_bytes,
        path=landed.path,
    )
    report(remote.name, "landed" if landed.created else "unchanged (already landed)")
    return outcome
