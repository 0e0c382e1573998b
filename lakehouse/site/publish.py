"""Upload the built site to its S3 bucket, sending only files that changed.

A file is unchanged when the object's ETag equals the file's MD5 (plain or SSE-S3 uploads) or,
for objects whose ETag is not an MD5 (SSE-KMS), when the ``md5`` metadata written at upload
matches. Objects the site no longer has are deleted, so the bucket mirrors ``<lake>/site``.
The endpoint follows boto3's own configuration (``AWS_ENDPOINT_URL``), which is how tests point
it at a local S3 stand-in; credentials come from boto3's chain and are never logged.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.log import get_logger, log_event
from lakehouse.site.errors import SiteError

logger = get_logger(__name__)

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class PublishResult:
    """Keys uploaded, left alone and deleted by one publish."""

    bucket: str
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def content_type(path: Path) -> str:
    """The Content-Type a browser needs for ``path`` (HTML and scripts as UTF-8)."""
    suffix = path.suffix.lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def _cache_control(path: Path) -> str:
    # Pages change with every daily refresh; assets keep their names, so cache them briefly only.
    return "no-cache" if path.suffix == ".html" else "public, max-age=3600"


def local_files(site_dir: Path, prefix: str = "") -> dict[str, Path]:
    """Object key -> file for every file of the site."""
    if not (site_dir / "index.html").is_file():
        raise SiteError(f"no site at {site_dir}; run `lakehouse site` first")
    return {
        prefix + p.relative_to(site_dir).as_posix(): p
        for p in sorted(site_dir.rglob("*"))
        if p.is_file()
    }


def _remote_etags(client: Any, bucket: str, prefix: str) -> dict[str, str]:
    etags: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            etags[obj["Key"]] = obj["ETag"].strip('"')
    return etags


def _unchanged(client: Any, bucket: str, key: str, md5: str, etag: str | None) -> bool:
    if etag is None:
        return False
    if etag == md5:
        return True
    # SSE-KMS ETags are not MD5s: fall back to the digest stored at upload.
    head = client.head_object(Bucket=bucket, Key=key)
    return head.get("Metadata", {}).get("md5") == md5


def s3_client(region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 S3 client; endpoint and credentials follow boto3's usual configuration."""
    import boto3

    return boto3.client("s3", region_name=region, endpoint_url=endpoint_url)


def publish_site(
    site_dir: Path,
    bucket: str,
    *,
    prefix: str = "",
    client: Any = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    delete_stale: bool = True,
) -> PublishResult:
    """Mirror ``site_dir`` into ``s3://bucket/prefix``.

    Args:
        site_dir: The built site (``<lake>/site``).
        bucket: Site bucket (``Settings.site_bucket``, from the storage module's outputs).
        prefix: Key prefix inside the bucket; empty for a bucket of its own.
        client: An S3 client; built from ``region`` and ``endpoint_url`` when None.
        region: AWS region of the bucket.
        endpoint_url: S3 endpoint; None uses boto3's configuration (``AWS_ENDPOINT_URL``).
        delete_stale: Delete objects under ``prefix`` that the site no longer has.

    Returns:
        What was uploaded, skipped and deleted.

    Raises:
        SiteError: The site is missing, or the bucket cannot be reached or written.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    files = local_files(site_dir, prefix)
    client = client or s3_client(region, endpoint_url)
    result = PublishResult(bucket=bucket)
    try:
        remote = _remote_etags(client, bucket, prefix)
        for key, path in files.items():
            body = path.read_bytes()
            md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
            if _unchanged(client, bucket, key, md5, remote.get(key)):
                result.unchanged.append(key)
                continue
            client.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType=content_type(path),
                CacheControl=_cache_control(path),
                Metadata={"md5": md5},
            )
            result.uploaded.append(key)
        stale = sorted(set(remote) - set(files)) if delete_stale else []
        for start in range(0, len(stale), 1000):  # DeleteObjects takes at most 1000 keys
            batch = stale[start : start + 1000]
            client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            result.deleted.extend(batch)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        hint = (
            "; create it with the Terraform storage module or pass --bucket"
            if code == "NoSuchBucket"
            else ""
        )
        raise SiteError(f"cannot publish to s3://{bucket}: {code or exc}{hint}") from exc
    except BotoCoreError as exc:  # no credentials, endpoint unreachable, ...
        raise SiteError(f"cannot publish to s3://{bucket}: {exc}") from exc
    log_event(
        logger,
        "site.published",
        bucket=bucket,
        uploaded=len(result.uploaded),
        unchanged=len(result.unchanged),
        deleted=len(result.deleted),
    )
    return result
