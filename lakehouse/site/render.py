"""Render the site's pages from a :class:`SiteContent` with Jinja2 templates.

``index.html`` (weather from published gold, last runs), ``quality-gates.html`` (every gate
of the last transform with each expectation's result) and, when gold has the fares marts,
``fares.html`` (cheapest fare per route, booking curve) share ``base.html`` and the stylesheet.

The output depends only on the content (no render time on the page, JSON keys sorted), so
rendering the same gold twice writes byte-identical files and re-publishing uploads nothing.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from lakehouse.site.content import SiteContent, format_date, format_number, format_timestamp
from lakehouse.site.dbt_docs import DBT_DOCS_DIR
from lakehouse.site.gates import QualityReport

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
ASSETS_DIR = "assets"
# The site's own page of gate results ("Data Docs" in the navigation).
QUALITY_PAGE = "quality-gates.html"
# Cheapest fares per route and the booking curve, when gold has the fares marts.
FARES_PAGE = "fares.html"
# Venue clusters on a map and RSVPs per city, when gold has the geo-events marts.
EVENTS_PAGE = "events.html"
# Cluster colours (Okabe-Ito, readable by colour-blind readers), by cluster id.
CLUSTER_COLOURS = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000",
)  # fmt: skip
# Arrivals by month, port and visa category, when gold has the immigration marts.
ARRIVALS_PAGE = "arrivals.html"
# Fleet performance per unit type and day, when gold has the fleet dashboard mart.
FLEET_PAGE = "fleet.html"
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


def render_index(content: SiteContent, *, has_dbt_docs: bool, has_raw_data_docs: bool) -> str:
    """The HTML of ``index.html``.

    Args:
        content: What the page shows.
        has_dbt_docs: Whether ``docs/index.html`` (dbt docs) is part of the site.
        has_raw_data_docs: Whether ``data-docs/index.html`` (GX's own pages) is part of the site.

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
            quality=QUALITY_PAGE,
            fares=FARES_PAGE if content.fares is not None else None,
            events=EVENTS_PAGE if content.events is not None else None,
            arrivals=ARRIVALS_PAGE if content.arrivals is not None else None,
            fleet=FLEET_PAGE if content.fleet is not None else None,
            raw_data_docs=f"{DATA_DOCS_DIR}/index.html" if has_raw_data_docs else None,
            assets=ASSETS_DIR,
        )
    )


def render_fares(content: SiteContent) -> str:
    """The HTML of the fares page (``content.fares`` must be set)."""
    assert content.fares is not None, "no fares in published gold"
    chart = {"series": [asdict(s) for s in content.fares.series]}
    return (
        _environment()
        .get_template(FARES_PAGE)
        .render(fares=content.fares, chart=chart, quality=QUALITY_PAGE, assets=ASSETS_DIR)
    )


def render_events(content: SiteContent) -> str:
    """The HTML of the events page (``content.events`` must be set): an inline SVG map (land
    outlines of :mod:`lakehouse.site.world`, venues coloured by cluster, the centroids) and
    the data of the RSVPs-per-city chart."""
    from lakehouse.site.world import land_path, project

    events = content.events
    assert events is not None, "no geo events in published gold"
    colour = {
        c["cluster_id"]: CLUSTER_COLOURS[i % len(CLUSTER_COLOURS)]
        for i, c in enumerate(events.clusters)
    }
    venues = [
        {**v, "xy": project(float(v["venue_lat"]), float(v["venue_lon"])),
         "colour": colour.get(v["cluster_id"], "#777777")}
        for v in events.venues
    ]  # fmt: skip
    clusters = [
        {**c, "xy": project(float(c["centroid_lat"]), float(c["centroid_lon"])),
         "colour": colour[c["cluster_id"]]}
        for c in events.clusters
    ]  # fmt: skip
    chart = {"series": [asdict(s) for s in events.series]}
    return (
        _environment()
        .get_template(EVENTS_PAGE)
        .render(
            events=events,
            venues=venues,
            clusters=clusters,
            land=land_path(),
            chart=chart,
            quality=QUALITY_PAGE,
            assets=ASSETS_DIR,
        )
    )


def render_fleet(content: SiteContent) -> str:
    """The HTML of the fleet page (``content.fleet`` must be set)."""
    assert content.fleet is not None, "no fleet dashboard in published gold"
    return (
        _environment()
        .get_template(FLEET_PAGE)
        .render(fleet=content.fleet, quality=QUALITY_PAGE, assets=ASSETS_DIR)
    )


def render_arrivals(content: SiteContent) -> str:
    """The HTML of the arrivals page (``content.arrivals`` must be set)."""
    assert content.arrivals is not None, "no arrivals in published gold"
    return (
        _environment()
        .get_template(ARRIVALS_PAGE)
        .render(arrivals=content.arrivals, quality=QUALITY_PAGE, assets=ASSETS_DIR)
    )


def render_quality(report: QualityReport, *, raw_data_docs: Path | None = None) -> str:
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
            assets=ASSETS_DIR,
        )
    )


def render_pages(
    content: SiteContent, out_dir: Path, *, has_dbt_docs: bool, has_raw_data_docs: bool
) -> list[Path]:
    """Write ``index.html``, the quality gates page and the assets into ``out_dir``.

    Returns:
        The files written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_assets(out_dir)
    index = out_dir / "index.html"
    index.write_text(
        render_index(content, has_dbt_docs=has_dbt_docs, has_raw_data_docs=has_raw_data_docs),
        encoding="utf-8",
    )
    quality = out_dir / QUALITY_PAGE
    quality.write_text(
        render_quality(
            content.quality, raw_data_docs=out_dir / DATA_DOCS_DIR if has_raw_data_docs else None
        ),
        encoding="utf-8",
    )
    pages = [index, quality]
    if content.fares is not None:
        fares = out_dir / FARES_PAGE
        fares.write_text(render_fares(content), encoding="utf-8")
        pages.append(fares)
    if content.events is not None:
        events = out_dir / EVENTS_PAGE
        events.write_text(render_events(content), encoding="utf-8")
        pages.append(events)
    if content.arrivals is not None:
        arrivals = out_dir / ARRIVALS_PAGE
        arrivals.write_text(render_arrivals(content), encoding="utf-8")
        pages.append(arrivals)
    if content.fleet is not None:
        fleet = out_dir / FLEET_PAGE
        fleet.write_text(render_fleet(content), encoding="utf-8")
        pages.append(fleet)
    return [*pages, *sorted((out_dir / ASSETS_DIR).iterdir())]
