"""Build ``<lake>/site/``: pages from published gold, the gates' results, dbt docs.

The gates' results are the site's own "Quality gates" page (``quality-gates.html``, linked as
"Data Docs"); Great Expectations' own Data Docs are copied beside it under ``data-docs/``
without their external resources, as a raw reference only.

The site is rendered into a fresh build folder and then made live by swapping one symlink
(``<lake>/site`` -> ``.site-builds/<build id>``) with ``os.replace``, so a server or an upload
never sees half a site, and a failed build leaves the previous site untouched.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lakehouse.lake import Lake
from lakehouse.log import get_logger, log_event
from lakehouse.runs import record_run
from lakehouse.settings import Settings
from lakehouse.site.content import QueryFn, SiteContent, collect_content
from lakehouse.site.data_docs import copy_raw_data_docs
from lakehouse.site.dbt_docs import DBT_DOCS_DIR, generate_dbt_docs, reuse_dbt_docs
from lakehouse.site.errors import SiteError
from lakehouse.site.render import DATA_DOCS_DIR, render_pages

logger = get_logger(__name__)

BUILDS_DIR = ".site-builds"


@dataclass(frozen=True)
class SiteBuild:
    """What one build produced.

    ``data_docs``: the quality gates page shows gate results (a gate has run);
    ``raw_data_docs``: Great Expectations' own pages were copied into ``data-docs/``.
    """

    path: Path
    files: int
    pages: list[str]  # the dashboards' pages, the home page first
    dbt_docs: bool
    data_docs: bool
    content: SiteContent
    raw_data_docs: bool = False


def _sources() -> list[str]:
    """The sources the site covers: every contract (``_all`` when none is found)."""
    from lakehouse.contracts import available_sources

    return available_sources() or ["_all"]


def gold_query(settings: Settings) -> QueryFn:
    """A query function over the published gold of ``settings``."""
    from lakehouse import gold

    def query(sql: str) -> tuple[list[str], list[tuple]]:
        try:
            return gold.query(settings, sql)
        except gold.GoldError as exc:  # its messages already name the remedy
            raise SiteError(str(exc)) from exc

    return query


def copy_data_docs(lake: Lake, dest: Path) -> bool:
    """Copy the gates' Data Docs into ``dest`` without external resources, if they exist."""
    return copy_raw_data_docs(lake, dest)


def _activate(lake: Lake, build_dir: Path) -> None:
    """Point ``<lake>/site`` at ``build_dir`` atomically and drop older builds."""
    link = lake.site
    if link.exists() and not link.is_symlink():
        # A plain folder (made by hand or copied in): replace it once; swaps are atomic after.
        shutil.rmtree(link)
    tmp_link = lake.work / f".site-link-{uuid.uuid4().hex[:8]}"
    tmp_link.symlink_to(build_dir.relative_to(lake.work), target_is_directory=True)
    os.replace(tmp_link, link)
    for old in (lake.work / BUILDS_DIR).iterdir():
        if old != build_dir:
            shutil.rmtree(old, ignore_errors=True)


def build_site(
    settings: Settings,
    *,
    query: QueryFn | None = None,
    dbt_docs: bool = True,
    dbt_docs_generator: Callable[[Settings, Path], bool] = generate_dbt_docs,
) -> SiteBuild:
    """Render the site from published gold and make it live at ``<lake>/site``.

    Args:
        settings: Settings of the lake.
        query: Runs SQL on published gold; defaults to :func:`lakehouse.gold.query`.
        dbt_docs: Whether to (re)generate the dbt docs into ``docs/``; when False the live
            site's docs, if any, are kept.
        dbt_docs_generator: Writes ``<dest>/index.html``; replaceable for a gold fixture.

    Returns:
        What was built.

    Raises:
        SiteError: Published gold cannot be read or a part of the site cannot be generated.
    """
    lake = settings.lake
    started = time.monotonic()
    try:
        build = _build(settings, query, dbt_docs, dbt_docs_generator)
    except Exception as exc:
        for source in _sources():
            error = f"{type(exc).__name__}: {exc}"
            record_run(lake, "site", source, status="failed", error=error)
        raise
    # One site shows every source: each source's status row says when its pages last rendered.
    for source in _sources():
        record_run(
            lake,
            "site",
            source,
            status="ok",
            files=build.files,
            pages=build.pages,
            dbt_docs=build.dbt_docs,
            data_docs=build.data_docs,
            raw_data_docs=build.raw_data_docs,
            seconds=round(time.monotonic() - started, 2),
        )
    log_event(logger, "site.built", path=lake.site, files=build.files, pages=build.pages)
    return build


def _build(
    settings: Settings,
    query: QueryFn | None,
    dbt_docs: bool,
    dbt_docs_generator: Callable[[Settings, Path], bool],
) -> SiteBuild:
    lake = settings.lake
    query = query or gold_query(settings)
    try:
        content = collect_content(query, lake)
    except SiteError:
        raise
    except Exception as exc:  # the gold reader's errors vary by engine; name the remedy
        raise SiteError(
            f"cannot read published gold ({type(exc).__name__}: {exc}); "
            "run `lakehouse transform` so that a gold build is published first"
        ) from exc

    builds = lake.work / BUILDS_DIR
    builds.mkdir(parents=True, exist_ok=True)
    build_dir = builds / uuid.uuid4().hex[:12]
    try:
        if dbt_docs:
            has_dbt_docs = dbt_docs_generator(settings, build_dir / DBT_DOCS_DIR)
        else:
            has_dbt_docs = reuse_dbt_docs(lake, build_dir / DBT_DOCS_DIR)
        has_raw_data_docs = copy_data_docs(lake, build_dir / DATA_DOCS_DIR)
        render_pages(
            content, build_dir, has_dbt_docs=has_dbt_docs, has_raw_data_docs=has_raw_data_docs
        )
        _activate(lake, build_dir)
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise

    return SiteBuild(
        path=lake.site,
        files=sum(1 for p in build_dir.rglob("*") if p.is_file()),
        pages=[d.spec.file for d in content.dashboards],
        dbt_docs=has_dbt_docs,
        data_docs=content.quality.has_results,
        content=content,
        raw_data_docs=has_raw_data_docs,
    )
