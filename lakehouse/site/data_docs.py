"""The raw Great Expectations Data Docs, copied into the site without their external resources.

The site's own "Quality gates" page (:mod:`lakehouse.site.gates`) shows every gate result; GX's
pages are kept beside it only as a raw reference. Their templates load Bootstrap, jQuery,
bootstrap-table, Vega and Font Awesome from CDNs and a logo (with the context's id in its query
string) from S3, and build their lists with those scripts. A site that must make no request
outside itself cannot serve that, so the copy drops every external stylesheet, script, image
and CSS ``url()``/``@import`` and every script (each one needs the CDN libraries), and points
local stylesheets, icons and images at files of the copy (a failed request otherwise). What is left
is GX's server-rendered HTML with its own local stylesheet: the validation pages read, unstyled;
the index's list, which GX fills in with JavaScript, stays empty.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from lakehouse.lake import Lake

_EXTERNAL = r"""(?:https?:)?//[^"'\s>)]*"""
_ATTR_EXTERNAL = rf"""\b(?:src|href|srcset)\s*=\s*["']?\s*{_EXTERNAL}"""

# Order matters: whole script elements first, then tags that fetch something on their own.
_HTML_PATTERNS = (
    re.compile(r"<script\b[^>]*>.*?</script\s*>", re.I | re.S),
    re.compile(r"<script\b[^>]*/>", re.I),
    re.compile(rf"<link\b[^>]*{_ATTR_EXTERNAL}[^>]*>", re.I),
    re.compile(
        rf"<(?:img|iframe|source|embed|video|audio|track|input)\b[^>]*{_ATTR_EXTERNAL}[^>]*>", re.I
    ),
    re.compile(r"</iframe\s*>", re.I),
)
# A local resource: its tag and the path it loads (GX's validation pages, for one, point their
# favicon one folder short, which would be a failed request).
_LOCAL_RESOURCE = re.compile(
    r"""<(?:link|img)\b[^>]*?\b(?:href|src)\s*=\s*["']([^"'#?]+)[^"']*["'][^>]*>""", re.I
)
_CSS_IMPORT = re.compile(rf"""@import\s+(?:url\()?\s*["']?{_EXTERNAL}["']?\s*\)?[^;]*;""", re.I)
_CSS_URL = re.compile(rf"""url\(\s*["']?{_EXTERNAL}["']?\s*\)""", re.I)


def strip_external_css(text: str) -> str:
    """CSS without ``@import`` or ``url()`` of anything outside the site."""
    return _CSS_URL.sub("none", _CSS_IMPORT.sub("", text))


def strip_external_html(text: str) -> str:
    """HTML without scripts and without any tag that would load something from elsewhere.

    Links (``<a href>``) stay: they fetch nothing until followed.
    """
    for pattern in _HTML_PATTERNS:
        text = pattern.sub("", text)
    return strip_external_css(text)  # inline style attributes and <style> blocks


def repair_local_resources(text: str, page: Path, root: Path) -> str:
    """HTML of ``page`` whose ``<link>``/``<img>`` tags all load a file of the copy at ``root``.

    A path that misses is tried from the copy's root (GX's validation pages point their favicon
    one folder short) and rewritten when found there; otherwise its tag is dropped. Dropping an
    icon alone would not do: the browser then asks for ``/favicon.ico``, outside the copy.
    """

    def fix(match: re.Match[str]) -> str:
        tag, target = match.group(0), match.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # data:, mailto: and the like
            return tag
        if (page.parent / target).resolve().is_file():
            return tag
        tail = re.sub(r"^(?:\.{1,2}/)+", "", target)
        if tail and (root / tail).is_file():
            return tag.replace(target, os.path.relpath(root / tail, page.parent), 1)
        return ""

    return _LOCAL_RESOURCE.sub(fix, text)


def copy_raw_data_docs(lake: Lake, dest: Path) -> bool:
    """Copy the gates' Data Docs (``<lake>/docs/data_docs``) into ``dest``, offline-safe.

    Returns:
        Whether there was a Data Docs site to copy.
    """
    source = lake.docs / "data_docs"
    if not (source / "index.html").is_file():
        return False
    shutil.copytree(source, dest)
    for path in sorted(dest.rglob("*")):
        if path.suffix.lower() in (".html", ".htm"):
            strip = strip_external_html
        elif path.suffix.lower() == ".css":
            strip = strip_external_css
        else:
            continue
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        cleaned = strip(text)
        if strip is strip_external_html:
            cleaned = repair_local_resources(cleaned, path, dest)
        if cleaned != text:
            path.write_text(cleaned, encoding="utf-8", errors="surrogateescape")
    return True
