"""Dashboard specs: a new page from a YAML file alone, the map, and spec errors that name the key.

Gold is a DuckDB file built from SQL here (the site fixture's marts plus a new source's mart);
the specs are the project's own (``dbt_project/dashboards``) and the fixture of
``tests/fixtures/new_source/dashboards``, found through ``LAKEHOUSE_DBT_PROJECT_DIR`` as a
project of a user would have them. Loading, rendering and the page files are the real ones.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from test_site_render import chart_data, duckdb_query, make_gold, tables_of

from lakehouse.dbt import PROJECT_DIR
from lakehouse.runs import record_run
from lakehouse.settings import Settings
from lakehouse.site import SiteError, build_site
from lakehouse.site.dashboards import DASHBOARDS_DIR, load_dashboard, load_dashboards

FIXTURE = Path(__file__).parents[1] / "fixtures" / "new_source" / "dashboards" / "airquality.yml"

AIRQUALITY_SQL = """
create table agg_airquality_daily as select * from (values
    ('st-1', 'Oakland West', date '2025-03-05', 4, 5.375, 5.75),
    ('st-1', 'Oakland West', date '2025-03-06', 2, 6.0, 6.5),
    ('st-2', 'San Jose Knox', date '2025-03-05', 3, 7.25, 7.75)
) as t(station_id, station_name, measured_date, reading_count, avg_pm25_ugm3, max_pm25_ugm3);
"""


@pytest.fixture
def dashboards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A dbt project folder whose dashboards/ holds the project's specs; tests add theirs."""
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR / DASHBOARDS_DIR, project / DASHBOARDS_DIR)
    monkeypatch.setenv("LAKEHOUSE_DBT_PROJECT_DIR", str(project))
    return project / DASHBOARDS_DIR


def _gold(tmp_path: Path, *sql: str):
    path = make_gold(tmp_path / "gold.duckdb")
    with duckdb.connect(str(path)) as con:
        for statement in sql:
            con.execute(statement)
    return duckdb_query(path)


def test_a_new_spec_file_makes_its_page_with_no_python(
    settings: Settings, tmp_path: Path, dashboards: Path
) -> None:
    shutil.copy(FIXTURE, dashboards / "airquality.yml")
    record_run(settings.lake, "ingest", "airquality", status="ok", rows=12)
    gold = _gold(tmp_path, AIRQUALITY_SQL)

    build = build_site(settings, query=gold, dbt_docs=False)
    site = settings.lake.site

    assert build.pages == ["index.html", "airquality.html"]
    index = (site / "index.html").read_text(encoding="utf-8")
    assert '<a href="airquality.html" id="airquality-link">Air quality</a>' in index
    html = (site / "airquality.html").read_text(encoding="utf-8")
    assert "<title>Air quality · lakehouse</title>" in html
    assert "Daily PM2.5 of 2 stations from published gold" in html
    assert "through <strong>2025-03-06</strong> (UTC)" in html
    assert '<a href="index.html">Weather</a>' in html  # the home page's link label
    tables = tables_of(html)
    assert tables["airquality-stations"] == [
        ["st-1", "Oakland West", "2", "6", "6.50"],
        ["st-2", "San Jose Knox", "1", "3", "7.75"],
    ]
    runs = {r[0]: r for r in tables["run-status"]}
    assert runs["ingest"][1] == "ok" and "rows 12" in runs["ingest"][3]
    assert runs["bronze"][1] == "no run yet"

    chart = chart_data(html, "airquality-chart")
    assert chart["kind"] == "bar" and chart["x_type"] == "date"
    assert chart["series"] == [
        {"name": "Oakland West", "x": ["2025-03-05", "2025-03-06"], "y": [5.38, 6.0]},
        {"name": "San Jose Knox", "x": ["2025-03-05"], "y": [7.25]},
    ]
    assert chart["hover"] == "%{y} µg/m³"
    # Its charts are drawn by the site's own script and library; nothing leaves the site.
    referenced = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert {"assets/plotly.min.js", "assets/site.js", "assets/site.css"} <= set(referenced)
    for ref in referenced:
        assert (site / ref).is_file(), ref


def test_a_page_whose_marts_are_not_in_gold_is_not_built(
    settings: Settings, tmp_path: Path, dashboards: Path
) -> None:
    shutil.copy(FIXTURE, dashboards / "airquality.yml")
    build = build_site(settings, query=_gold(tmp_path), dbt_docs=False)

    assert build.pages == ["index.html"]
    assert not (settings.lake.site / "airquality.html").exists()
    assert "airquality.html" not in (settings.lake.site / "index.html").read_text()


def test_without_a_home_spec_the_index_lists_the_pages(
    settings: Settings, tmp_path: Path, dashboards: Path
) -> None:
    for spec in dashboards.iterdir():
        spec.unlink()
    shutil.copy(FIXTURE, dashboards / "airquality.yml")

    build = build_site(settings, query=_gold(tmp_path, AIRQUALITY_SQL), dbt_docs=False)

    assert build.pages == ["airquality.html"]
    index = (settings.lake.site / "index.html").read_text(encoding="utf-8")
    assert '<a href="airquality.html" id="airquality-link">Air quality</a>' in index
    page = (settings.lake.site / "airquality.html").read_text(encoding="utf-8")
    assert '<a href="index.html">Dashboards</a>' in page


EVENTS_SQL = """
create table geo_venue_clusters as select * from (values
    (0, 51.0, -1.8, 2, 10, 'boardgames', 2, 0.71234),
    (1, 40.7, -74.0, 1, 5, null, 2, 0.71234)
) as t(cluster_id, centroid_lat, centroid_lon, venue_count, rsvp_count, top_topic, k, silhouette);
create table dim_venue as select * from (values
    (1, 'Mill Hall', 51.07, -1.80, 'Salisbury', 'gb'),
    (2, 'Pub', 51.5, -0.1, 'London', 'gb'),
    (3, 'Loft', 40.71, -74.01, 'New York', 'us'),
    (4, 'Private', null, null, 'Boston', 'us')
) as t(venue_id, venue_name, venue_lat, venue_lon, group_city, group_country);
create table agg_rsvps_by_city as select * from (values
    ('gb', 'Salisbury', 7, 5), ('us', 'New York', 5, 4)
) as t(group_country, group_city, rsvp_count, yes_count);
create table agg_rsvps_by_city_hourly as select * from (values
    ('gb', 'Salisbury', timestamp '2016-02-07 10:00', 3),
    ('gb', 'Salisbury', timestamp '2016-02-07 11:00', 4),
    ('us', 'New York', timestamp '2016-02-07 10:00', 5)
) as t(group_country, group_city, hour_at, rsvp_count);
"""


def test_events_map_colours_each_venue_by_its_nearest_centroid(
    settings: Settings, tmp_path: Path
) -> None:
    build = build_site(settings, query=_gold(tmp_path, EVENTS_SQL), dbt_docs=False)
    assert "events.html" in build.pages
    html = (settings.lake.site / "events.html").read_text(encoding="utf-8")

    points = re.findall(r'<circle class="point"[^>]* fill="([^"]+)" data-group="(\d+)"', html)
    centres = re.findall(
        r'<circle class="centre"[^>]* stroke="([^"]+)"[^>]* data-group="(\d+)"', html
    )
    # Salisbury and London are nearest centroid 0, New York centroid 1; no dot without a place.
    assert [g for _, g in points] == ["0", "0", "1"]
    assert dict((g, c) for c, g in centres) == dict((g, c) for c, g in points)
    assert len(set(c for c, _ in centres)) == 2
    assert "3 public venues of Meetup events in 2 geographic clusters" in html
    assert "(k = 2, chosen by silhouette 0.712)" in html
    assert re.search(r'<path class="land" d="M[^"]{1000,}"', html)
    tables = tables_of(html)
    assert [r[0] for r in tables["clusters-table"]] == ["● 0", "● 1"]
    assert tables["clusters-table"][1][5] == "–"  # no top topic
    assert tables["cities-table"] == [["Salisbury", "gb", "7", "5"], ["New York", "us", "5", "4"]]
    chart = chart_data(html, "rsvps-chart")
    assert chart["series"] == [
        {"name": "New York (us)", "x": ["2016-02-07 10:00"], "y": [5]},
        {"name": "Salisbury (gb)", "x": ["2016-02-07 10:00", "2016-02-07 11:00"], "y": [3, 4]},
    ]


def test_the_projects_specs_load_with_the_home_page_first() -> None:
    specs = load_dashboards(PROJECT_DIR / DASHBOARDS_DIR)
    assert [s.file for s in specs] == [
        "index.html",
        "arrivals.html",
        "events.html",
        "fares.html",
        "fleet.html",
    ]
    assert load_dashboard(FIXTURE).file == "airquality.html"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("queries:", "querys:"), "at querys: Extra inputs are not permitted"),
        (
            lambda s: s.replace("query: daily", "query: hourly"),
            "section daily: bar airquality-chart names query 'hourly'",
        ),
        (
            lambda s: s.replace("kind: bar", "kind: pie"),
            "at sections.1.blocks.0: Input tag 'pie' found using 'kind' does not match",
        ),
        (lambda s: s.replace("format: integer", "format: int", 1), "at sections.0.blocks.0"),
        (lambda s: s + "page: quality-gates.html\n", "page 'quality-gates.html'"),
        (lambda s: s.replace("source: airquality\n", ""), "a runs block needs the source"),
    ],
)
def test_a_spec_error_names_the_file_and_the_key(tmp_path: Path, edit, message: str) -> None:
    path = tmp_path / "airquality.yml"
    path.write_text(edit(FIXTURE.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(SiteError, match="dashboard airquality.yml") as raised:
        load_dashboard(path)
    assert message in str(raised.value)


def test_two_specs_may_not_make_one_page(tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "airquality.yml")
    (tmp_path / "again.yml").write_text(
        FIXTURE.read_text(encoding="utf-8") + "page: airquality.html\n", encoding="utf-8"
    )
    with pytest.raises(SiteError, match="both make airquality.html"):
        load_dashboards(tmp_path)
