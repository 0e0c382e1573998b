"""Render the site's pages from a :class:`SiteContent` with Jinja2 templates.

Every dashboard spec (:mod:`lakehouse.site.dashboards`) becomes one page through the generic
``dashboard.html`` (tables, line and bar charts drawn by ``site.js``, an inline SVG map, the
source's last runs); ``index.html`` is the spec whose page it is, else a list of the pages.
``quality-gates.html`` shows every gate of the last transform. All share ``base.html`` and the
stylesheet.

The output depends only on the content (no render time on the page, JSON keys sorted), so
rendering the same gold twice writes byte-identical files and re-publishing uploads nothing.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from lakehouse.site.content import (
    DashboardContent,
    SiteContent,
    format_date,
    format_number,
    format_timestamp,
)
from lakehouse.site.dashboards import (
    HOME_PAGE,
    ChartBlock,
    Column,
    MapBlock,
    MapLayer,
    TableBlock,
)
from lakehouse.site.dbt_docs import DBT_DOCS_DIR
from lakehouse.site.gates import QualityReport

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
ASSETS_DIR = "assets"
# The site's own page of gate results ("Data Docs" in the navigation).
QUALITY_PAGE = "quality-gates.html"
# Map group colours (Okabe-Ito, readable by colour-blind readers), in the order of the centres.
GROUP_COLOURS = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000",
)  # fmt: skip
NO_GROUP_COLOUR = "#777777"
# Great Expectations' raw Data Docs, copied without external resources (lakehouse.site.data_docs).
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
    env.filters["wbr"] = _break_after_underscores
    return env


def _break_after_underscores(text: object) -> Markup:
    """Escaped text that may wrap after each ``_`` (long expectation and column names)."""
    return Markup("_<wbr>").join(escape(str(text)).split("_"))


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


# ---------------------------------------------------------------- Spec texts

# The specs' texts are templates over query rows: sandboxed (a spec reaches no Python) and
# autoescaped (a value from gold never becomes markup; the spec's own tags stay).
_TEXTS = SandboxedEnvironment(autoescape=True, undefined=jinja2.ChainableUndefined)
_TEXTS.filters.update(num=format_number, day=format_date, ts=format_timestamp)


def _text(template: str, context: dict[str, Any]) -> Markup:
    return Markup(_TEXTS.from_string(template).render(**context)) if template else Markup("")


# ---------------------------------------------------------------- Blocks


def _plain(value: Any) -> Any:
    """A value as the page's JSON holds it: numbers, text, dates as ISO, times to the minute."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return format_date(value)
    return value


def _cell_text(column: Column, value: Any) -> str:
    if value is None:
        return column.missing
    if column.labels:
        key = int(value) if isinstance(value, float) and value.is_integer() else value
        if key in column.labels:
            return column.labels[key]
        return column.unlabelled.format(value=key)
    if column.format == "number":
        return format_number(value, column.decimals)
    if column.format == "integer":
        return str(int(value))
    if column.format == "date":
        return format_date(value)
    if column.format == "timestamp":
        return format_timestamp(value)
    return str(value)


def _table(block: TableBlock, page: DashboardContent, colours: dict[Any, str]) -> dict[str, Any]:
    rows = [r for r in page.data[block.query] if all(r.get(k) == v for k, v in block.where.items())]
    header = next((i for i, c in enumerate(block.columns) if c.row_header), 0)
    return {
        "kind": "table",
        "id": block.id,
        "empty": block.empty,
        "columns": [
            {"title": c.title, "numeric": c.format in ("number", "integer")} for c in block.columns
        ],
        "rows": [
            [
                {
                    "text": _cell_text(c, row.get(c.column)),
                    "numeric": c.format in ("number", "integer"),
                    "header": i == header,
                    "swatch": colours.get(row.get(c.column), NO_GROUP_COLOUR) if c.swatch else None,
                }
                for i, c in enumerate(block.columns)
            ]
            for row in rows
        ],
    }


def _chart(block: ChartBlock, page: DashboardContent) -> dict[str, Any]:
    traces: dict[str, dict[str, list[Any]]] = {}
    for row in page.data[block.query]:
        name = str(row[block.series]) if block.series else block.y
        trace = traces.setdefault(name, {"name": name, "x": [], "y": []})
        y = _plain(row[block.y])
        if block.decimals is not None and y is not None:
            y = round(float(y), block.decimals)
        trace["x"].append(_plain(row[block.x]))
        trace["y"].append(y)
    hover = block.hover or f"%{{y}} {block.unit}".strip()
    return {
        "kind": block.kind,
        "id": block.id,
        "label": block.label,
        "data": {
            "kind": block.kind,
            "series": [traces[n] for n in sorted(traces)],
            "x_title": block.x_title,
            "y_title": block.y_title,
            "x_type": block.x_type,
            "x_reversed": block.x_reversed,
            "y_from_zero": block.y_from_zero,
            "range_slider": block.range_slider,
            "markers": block.markers,
            "hover": hover,
            "hover_mode": block.hover_mode,
        },
    }


def _points(layer: MapLayer, page: DashboardContent, group: str | None, colours: dict) -> list:
    from lakehouse.site.world import project

    out = []
    for row in page.data[layer.query]:
        lat, lon = row.get(layer.lat), row.get(layer.lon)
        if lat is None or lon is None:
            continue
        value = row.get(group) if group else None
        out.append(
            {
                "xy": project(float(lat), float(lon)),
                "group": value,
                "colour": colours.get(value, NO_GROUP_COLOUR),
                "title": _text(layer.title, row),
            }
        )
    return out


def _colours(block: MapBlock | None, page: DashboardContent) -> dict[Any, str]:
    """Each group of the map's centres (else its points), a colour, in their order."""
    if block is None:
        return {}
    layer = block.centres if block.centres and block.centres.group else block.points
    if layer.group is None:
        return {}
    groups = list(dict.fromkeys(r.get(layer.group) for r in page.data[layer.query]))
    return {g: GROUP_COLOURS[i % len(GROUP_COLOURS)] for i, g in enumerate(groups)}


def _map(block: MapBlock, page: DashboardContent, colours: dict[Any, str]) -> dict[str, Any]:
    from lakehouse.site.world import land_path

    centres = block.centres
    group = centres.group if centres and centres.group else block.points.group
    return {
        "kind": "map",
        "id": block.id,
        "label": block.label,
        "land": land_path(),
        "points": _points(block.points, page, block.points.group or group, colours),
        "centres": _points(centres, page, centres.group, colours) if centres else [],
    }


def _blocks(page: DashboardContent) -> list[dict[str, Any]]:
    """The page's sections with each block made ready for the template."""
    spec = page.spec
    a_map = next((b for b in spec.blocks() if isinstance(b, MapBlock)), None)
    colours = _colours(a_map, page)
    sections = []
    for section in spec.sections:
        blocks = []
        for block in section.blocks:
            if isinstance(block, TableBlock):
                blocks.append(_table(block, page, colours))
            elif isinstance(block, ChartBlock):
                blocks.append(_chart(block, page))
            elif isinstance(block, MapBlock):
                blocks.append(_map(block, page, colours))
            elif block.kind == "runs":
                blocks.append({"kind": "runs", "id": block.id, "runs": page.runs})
            else:
                blocks.append({"kind": "text", "text": _text(block.text, page.data)})
        sections.append(
            {
                "id": section.id,
                "title": section.title,
                "nav": section.nav,
                "note": _text(section.note, page.data),
                "blocks": blocks,
            }
        )
    return sections


# ---------------------------------------------------------------- Pages


def render_dashboard(
    page: DashboardContent,
    content: SiteContent,
    *,
    has_dbt_docs: bool = False,
) -> str:
    """The HTML of one dashboard's page.

    Args:
        page: The dashboard and the rows of its queries.
        content: The whole site's content (the other pages it links).
        has_dbt_docs: Whether ``docs/index.html`` (dbt docs) is part of the site.

    Returns:
        The page as text.
    """
    spec = page.spec
    sections = _blocks(page)
    home = content.home
    return (
        _environment()
        .get_template("dashboard.html")
        .render(
            spec=spec,
            page=page,
            subtitle=_text(spec.subtitle, page.data),
            note=_text(spec.note, page.data),
            sections=sections,
            plotly=any(b["kind"] in ("line", "bar") for s in sections for b in s["blocks"]),
            others=[d.spec for d in content.dashboards if d is not page and spec.is_home],
            home=None if spec.is_home else (home.spec.label if home else "Dashboards"),
            dbt_docs=f"{DBT_DOCS_DIR}/index.html" if has_dbt_docs else None,
            quality=QUALITY_PAGE,
            assets=ASSETS_DIR,
        )
    )


def render_listing(content: SiteContent, *, has_dbt_docs: bool = False) -> str:
    """``index.html`` when no dashboard is the home page: a list of the dashboards."""
    return (
        _environment()
        .get_template("listing.html")
        .render(
            dashboards=[d.spec for d in content.dashboards],
            gate=content.gate,
            dbt_docs=f"{DBT_DOCS_DIR}/index.html" if has_dbt_docs else None,
            quality=QUALITY_PAGE,
            assets=ASSETS_DIR,
        )
    )


def render_quality(
    report: QualityReport, *, raw_data_docs: Path | None = None, home: str = "Dashboards"
) -> str:
    """The HTML of the "Quality gates" page: every gate of the last transform.

    Args:
        report: The gates and their suites' results.
        raw_data_docs: The site's copy of GX's Data Docs, if any; then the page links it and,
            for each suite whose page exists there, GX's own page of that validation.

    Returns:
        The page as text.
    """
    validations = raw_data_docs / "validations" if raw_data_docs else None
    raw_pages = {
        s.suite: f"{DATA_DOCS_DIR}/validations/{s.raw_page}"
        for s in report.suites
        if validations and s.raw_page and (validations / s.raw_page).is_file()
    }
    return (
        _environment()
        .get_template(QUALITY_PAGE)
        .render(
            report=report,
            raw_data_docs=f"{DATA_DOCS_DIR}/index.html" if raw_data_docs else None,
            raw_pages=raw_pages,
            home=home,
            assets=ASSETS_DIR,
        )
    )


def render_pages(
    content: SiteContent, out_dir: Path, *, has_dbt_docs: bool, has_raw_data_docs: bool
) -> list[Path]:
    """Write every dashboard's page, ``index.html``, the quality gates page and the assets.

    Returns:
        The files written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_assets(out_dir)
    pages = []
    for page in content.dashboards:
        path = out_dir / page.spec.file
        path.write_text(render_dashboard(page, content, has_dbt_docs=has_dbt_docs), "utf-8")
        pages.append(path)
    if content.home is None:
        index = out_dir / HOME_PAGE
        index.write_text(render_listing(content, has_dbt_docs=has_dbt_docs), encoding="utf-8")
        pages.insert(0, index)
    quality = out_dir / QUALITY_PAGE
    quality.write_text(
        render_quality(
            content.quality,
            raw_data_docs=out_dir / DATA_DOCS_DIR if has_raw_data_docs else None,
            home=content.home.spec.title if content.home else "Dashboards",
        ),
        encoding="utf-8",
    )
    pages.append(quality)
    return [*pages, *sorted((out_dir / ASSETS_DIR).iterdir())]
