"""Render the site's pages from a :class:`SiteContent` with Jinja2 templates.

The output depends only on the content (no render time on the page, JSON keys sorted), so
rendering the same gold twice writes byte-identical files and re-publishing uploads nothing.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from importlib import resources
from pathlib import Path

import jinja2

from lakehouse.site.content import SiteContent, format_date, format_number, format_timestamp
from lakehouse.site.dbt_docs import DBT_DOCS_DIR

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
ASSETS_DIR = "assets"
DATA_DOCS_DIR = "data-docs"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    env.filters["day"] = format_date
    env.filters["ts"] = format_timestamp
    return env


def plotly_js_path() -> Path:
    """The minified plotly.js that ships inside the ``plotly`` Python package."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js is missing from the plotly package ({path})")
    return path


def copy_assets(out_dir: Path) -> None:
    """Copy the stylesheet, script, icon and the charting library into ``out_dir/assets``."""
    assets = out_dir / ASSETS_DIR
    assets.mkdir(parents=True, exist_ok=True)
    for item in sorted(STATIC.iterdir()):
        if item.is_file():
            shutil.copyfile(item, assets / item.name)
    shutil.copyfile(plotly_js_path(), assets / "plotly.min.js")


def render_index(content: SiteContent, *, has_dbt_docs: bool, has_data_docs: bool) -> str:
    """The HTML of ``index.html``.

    Args:
        content: What the page shows.
        has_dbt_docs: Whether ``docs/index.html`` (dbt docs) is part of the site.
        has_data_docs: Whether ``data-docs/index.html`` (Great Expectations) is part of the site.

    Returns:
        The page as text.
    """
    chart = {"series": [asdict(s) for s in content.series]}
    return (
        _environment()
        .get_template("index.html")
        .render(
            content=content,
            chart=chart,
            dbt_docs=f"{DBT_DOCS_DIR}/index.html" if has_dbt_docs else None,
            data_docs=f"{DATA_DOCS_DIR}/index.html" if has_data_docs else None,
            assets=ASSETS_DIR,
        )
    )


def render_pages(
    content: SiteContent, out_dir: Path, *, has_dbt_docs: bool, has_data_docs: bool
) -> list[Path]:
    """Write ``index.html`` and the assets into ``out_dir``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_assets(out_dir)
    index = out_dir / "index.html"
    index.write_text(
        render_index(content, has_dbt_docs=has_dbt_docs, has_data_docs=has_data_docs),
        encoding="utf-8",
    )
    return [index, *sorted((out_dir / ASSETS_DIR).iterdir())]
