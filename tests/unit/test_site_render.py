"""Rendering the weather site from a gold fixture.

Gold here is a small DuckDB database with the four published marts the site reads, built from
``tests/fixtures/site/gold.sql`` with the marts' columns; the page, the atomic swap, the run
summary and the local HTTP server are the real ones. dbt docs are not generated here (the e2e
test runs dbt).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from lakehouse.runs import record_run
from lakehouse.settings import Settings
from lakehouse.site import SiteError, build_site, format_number, make_server
from lakehouse.site.content import collect_content
from lakehouse.site.server import server_url

CITIES = ("San Diego", "San Francisco", "Santa Barbara", "Walnut Creek")

FIXTURE_SQL = (Path(__file__).parents[1] / "fixtures" / "site" / "gold.sql").read_text()


def make_gold(path: Path) -> Path:
    """Write the fixture marts into a DuckDB file and return its path."""
    with duckdb.connect(str(path)) as con:
        con.execute(FIXTURE_SQL)
    return path


def duckdb_query(path: Path):
    """A ``query(sql) -> (columns, rows)`` over ``path``, shaped like lakehouse.gold.query."""

    def query(sql: str):
        with duckdb.connect(str(path), read_only=True) as con:
            cursor = con.execute(sql)
            return [d[0] for d in cursor.description], cursor.fetchall()

    return query


class _Tables(HTMLParser):
    """Cell texts of each table on a page, by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._section: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = dict(attrs).get("id")
            self.tables[self._table] = []
        elif tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr" and self._section == "tbody" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._section == "tbody" and self._table:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def chart_data(html: str, chart: str) -> dict:
    """The data a page embeds for the chart drawn into element ``chart``."""
    match = re.search(
        rf'<script type="application/json" id="{chart}-data" data-chart="{chart}">(.*?)</script>',
        html,
        re.S,
    )
    assert match, f"data of chart {chart} missing"
    return json.loads(match.group(1))


@pytest.fixture
def gold(tmp_path: Path):
    return duckdb_query(make_gold(tmp_path / "gold.duckdb"))


def test_table_shows_every_city_with_gold_numbers(settings: Settings, gold) -> None:
    build = build_site(settings, query=gold, dbt_docs=False)
    html = (settings.lake.site / "index.html").read_text(encoding="utf-8")

    columns, rows = gold("select * from agg_weather_city_summary order by city")
    expected = []
    for row in (dict(zip(columns, r, strict=True)) for r in rows):
        expected.append(
            [
                row["city"],
                row["first_local_date"].isoformat(),
                row["last_local_date"].isoformat(),
                str(row["day_count"]),
                *(
                    format_number(row[c])
                    for c in (
                        "avg_temperature_c",
                        "min_temperature_c",
                        "max_temperature_c",
                        "total_precipitation_mm",
                    )
                ),
                row["wettest_local_date"].isoformat(),
                format_number(row["wettest_day_precipitation_mm"]),
            ]
        )
    assert tables_of(html)["city-summary"] == expected
    assert [r[0] for r in expected] == list(CITIES)
    assert build.pages == ["index.html"]


def test_chart_has_one_series_per_city_over_the_whole_history(settings: Settings, gold) -> None:
    build_site(settings, query=gold, dbt_docs=False)
    html = (settings.lake.site / "index.html").read_text(encoding="utf-8")
    series = chart_data(html, "temperature-chart")["series"]

    assert [s["name"] for s in series] == list(CITIES)
    _, days = gold("select city, count(*), min(local_date) from agg_weather_daily group by city")
    for s in series:
        count, first = next((c, f) for city, c, f in days if city == s["name"])
        assert len(s["x"]) == len(s["y"]) == count
        assert s["x"][0] == first.isoformat()
        assert s["x"] == sorted(s["x"])


def test_assets_are_served_by_the_site_itself(settings: Settings, gold) -> None:
    build_site(settings, query=gold, dbt_docs=False)
    site = settings.lake.site

    for page in ("index.html", "quality-gates.html"):
        html = (site / page).read_text(encoding="utf-8")
        referenced = re.findall(r'(?:src|href)="([^"#]+)"', html)
        assert "assets/site.css" in referenced, f"{page} does not use the site's stylesheet"
        for ref in referenced:
            assert not re.match(r"^(https?:)?//", ref), f"{page}: external reference {ref}"
            assert (site / ref).is_file(), f"{page}: {ref} is referenced but not in the site"
    plotly_js = (site / "assets" / "plotly.min.js").read_text(encoding="utf-8")
    assert "plotly.js" in plotly_js[:500] and len(plotly_js) > 1_000_000


def test_latest_observation_per_city(settings: Settings, gold) -> None:
    build_site(settings, query=gold, dbt_docs=False)
    rows = tables_of((settings.lake.site / "index.html").read_text(encoding="utf-8"))
    latest = rows["latest-observations"]

    assert [r[0] for r in latest] == list(CITIES)
    # Local time of the last fixture hour (2024-02-10 07:00 UTC, the fixture's UTC-8).
    assert {r[1] for r in latest} == {"2024-02-09 23:00"}
    assert {r[2] for r in latest} == {"2024-02-10 07:00"}
    weather = {r[0]: r[7] for r in latest}
    assert weather["Walnut Creek"] == "Slight rain" and weather["San Diego"] == "Partly cloudy"


def test_runs_show_what_exists_and_no_run_yet_otherwise(settings: Settings, gold) -> None:
    lake = settings.lake
    record_run(
        lake,
        "ingest",
        "weather",
        status="ok",
        rows=384,
        cities=4,
        batch_id="b-1",
        landing_dir=str(lake.root / "landing"),
        failed_expectations=[],
    )
    record_run(lake, "gate", "weather", status="failed", checks={"failed": 2, "passed": 31})
    build = build_site(settings, query=gold, dbt_docs=False)
    html = (lake.site / "index.html").read_text(encoding="utf-8")
    runs = {r[0]: r for r in tables_of(html)["run-status"]}

    assert runs["ingest"][1] == "ok" and "rows 384" in runs["ingest"][3]
    # The published page never shows the host's folders, run ids or empty fields.
    assert str(lake.root) not in html and "b-1" not in html
    assert "failed_expectations" not in runs["ingest"][3]
    assert runs["gate"][1] == "failed" and "checks.failed 2" in runs["gate"][3]
    assert runs["bronze"][1] == "no run yet" and runs["transform"][1] == "no run yet"
    assert list(runs) == ["ingest", "bronze", "gate", "transform"]
    assert build.content.gate.status == "failed"
    assert 'id="gate-status">failed<' in html


def test_rerendering_writes_identical_files_and_swaps_atomically(settings: Settings, gold) -> None:
    site = settings.lake.site

    def snapshot() -> dict[str, bytes]:
        files = (p for p in site.rglob("*") if p.is_file())
        return {p.relative_to(site).as_posix(): p.read_bytes() for p in files}

    build_site(settings, query=gold, dbt_docs=False)
    first, first_target = snapshot(), site.resolve()
    build_site(settings, query=gold, dbt_docs=False)

    assert snapshot() == first
    assert site.is_symlink() and site.resolve() != first_target
    assert not first_target.exists(), "the previous build is removed after the swap"


def test_failed_build_keeps_the_live_site(settings: Settings, gold, tmp_path: Path) -> None:
    build_site(settings, query=gold, dbt_docs=False)
    before = (settings.lake.site / "index.html").read_bytes()
    broken = duckdb_query(tmp_path / "missing.duckdb")

    with pytest.raises(SiteError, match="lakehouse transform"):
        build_site(settings, query=broken, dbt_docs=False)
    assert (settings.lake.site / "index.html").read_bytes() == before


def test_data_docs_link_to_the_sites_own_page_and_raw_pages_are_copied(
    settings: Settings, gold
) -> None:
    data_docs = settings.lake.docs / "data_docs"
    (data_docs / "validations").mkdir(parents=True)
    (data_docs / "index.html").write_text("<html><title>Data Docs</title></html>")
    (data_docs / "validations" / "run.html").write_text("<html>run</html>")

    build = build_site(settings, query=gold, dbt_docs=False)
    site = settings.lake.site
    assert build.raw_data_docs and not build.data_docs  # copied; no gate result recorded yet
    assert (site / "data-docs" / "validations" / "run.html").read_text() == "<html>run</html>"
    index = (site / "index.html").read_text(encoding="utf-8")
    # "Data Docs" is the site's own quality gates page; GX's copy is linked from there.
    assert 'href="quality-gates.html" id="data-docs-link">Data Docs<' in index
    assert 'href="data-docs/index.html"' not in index
    quality = (site / "quality-gates.html").read_text(encoding="utf-8")
    assert 'href="data-docs/index.html" id="raw-data-docs-link"' in quality


def test_dbt_docs_from_the_generator_are_kept_when_skipped(settings: Settings, gold) -> None:
    def fake_docs(_settings: Settings, dest: Path) -> bool:
        dest.mkdir(parents=True)
        (dest / "index.html").write_text("<html><title>dbt Docs</title></html>")
        return True

    build_site(settings, query=gold, dbt_docs_generator=fake_docs)
    build = build_site(settings, query=gold, dbt_docs=False)

    assert build.dbt_docs
    assert "dbt Docs" in (settings.lake.site / "docs" / "index.html").read_text()


def test_empty_gold_renders_a_page_that_says_so(settings: Settings, tmp_path: Path) -> None:
    path = make_gold(tmp_path / "empty.duckdb")
    with duckdb.connect(str(path)) as con:
        for table in ("agg_weather_city_summary", "agg_weather_daily", "fct_weather_hourly"):
            con.execute(f"delete from {table}")
    content = collect_content(duckdb_query(path), settings.lake)
    weather = content.home
    assert weather is not None and weather.spec.name == "weather"
    assert weather.data["city_summary"] == [] and weather.data["daily"] == []

    build_site(settings, query=duckdb_query(path), dbt_docs=False)
    html = (settings.lake.site / "index.html").read_text()
    assert "No cities in published gold yet." in html
    assert "Daily weather of 0 cities from published gold." in html and "data through" not in html
    assert chart_data(html, "temperature-chart")["series"] == []


def test_server_serves_the_site_with_content_types(settings: Settings, gold) -> None:
    build_site(settings, query=gold, dbt_docs=False)
    server = make_server(settings.lake.site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = server_url(server)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/html")
            assert "City weather" in response.read().decode("utf-8")
        with urllib.request.urlopen(url + "assets/plotly.min.js", timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/javascript")
    finally:
        server.shutdown()
        server.server_close()


def test_server_refuses_a_lake_without_a_site(settings: Settings) -> None:
    with pytest.raises(SiteError, match="lakehouse site"):
        make_server(settings.lake.site)


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "–"), (12.25, "12.2"), (12.35, "12.3"), (-0.04, "0.0"), (7, "7.0"), (-3.46, "-3.5")],
)
def test_format_number(value, text) -> None:
    assert format_number(value) == text


FARES_SQL = """
create table agg_fares_cheapest_daily as select * from (values
    ('SFO', 'JFK', date '2025-03-12', date '2025-03-19', date '2025-03-05', 189.40::decimal(12,2),
     'B6', 4, false),
    ('SFO', 'JFK', date '2025-03-12', date '2025-03-19', date '2025-03-04', 150.00::decimal(12,2),
     'AA', 3, false),
    ('SFO', 'LHR', date '2025-04-04', date '2025-04-11', date '2025-03-05', 702.15::decimal(12,2),
     'BA', 5, true),
    ('SFO', 'LHR', date '2025-03-12', date '2025-03-19', date '2025-03-05', 811.00::decimal(12,2),
     'UA', 2, true)
) as t(origin_iata, destination_iata, departure_date, return_date, observed_date,
       cheapest_total_usd, carrier_code, offer_count, is_international);
create table agg_fares_booking_curve as
select *, datediff('day', observed_date, departure_date) as days_before_departure
from agg_fares_cheapest_daily;
"""


def test_fares_page_splits_routes_and_draws_the_booking_curve(
    settings: Settings, tmp_path: Path
) -> None:
    path = make_gold(tmp_path / "gold.duckdb")
    with duckdb.connect(str(path)) as con:
        con.execute(FARES_SQL)
    build_site(settings, query=duckdb_query(path), dbt_docs=False)
    site = settings.lake.site
    assert 'href="fares.html"' in (site / "index.html").read_text(encoding="utf-8")
    html = (site / "fares.html").read_text(encoding="utf-8")
    tables = tables_of(html)
    # The latest day searched per route, its cheapest pair of dates.
    assert tables["fares-domestic"] == [
        ["SFO-JFK", "2025-03-12", "2025-03-19", "189.40", "B6", "4", "2025-03-05"]
    ]
    assert tables["fares-international"] == [
        ["SFO-LHR", "2025-04-04", "2025-04-11", "702.15", "BA", "5", "2025-03-05"]
    ]
    series = chart_data(html, "fares-chart")["series"]
    assert series == [
        {"name": "SFO-JFK", "x": [8, 7], "y": [150.0, 189.4]},
        {"name": "SFO-LHR", "x": [30, 7], "y": [702.15, 811.0]},
    ]
    assert "searched through <strong>2025-03-05</strong> (UTC)" in html
    assert "https://" not in html and "http://" not in html


def test_without_fares_marts_there_is_no_fares_page(settings: Settings, gold) -> None:
    build_site(settings, query=gold, dbt_docs=False)
    assert not (settings.lake.site / "fares.html").exists()
    assert "fares.html" not in (settings.lake.site / "index.html").read_text(encoding="utf-8")


FLEET_SQL = """
create table agg_fleet_performance_daily as select * from (values
    ('aerial', date '2026-01-04', 5, 251.25, 301.5, 1500.0, 2100.25, 10.5, 15.75),
    ('maritime', date '2026-01-04', 4, 1500.0, 1900.0, 300.0, 500.0, 12.0, 18.0),
    ('aerial', date '2026-01-03', 5, 240.0, 290.0, 1400.0, 2000.0, 11.0, 16.0)
) as t(unit_type, stat_date, unit_count, fuel_per_100km_mean, fuel_per_100km_p90,
       distance_km_mean, distance_km_p90, hours_active_mean, hours_active_p90);
"""


def test_fleet_page_shows_count_mean_and_p90_per_unit_type_and_day(
    settings: Settings, tmp_path: Path
) -> None:
    path = make_gold(tmp_path / "gold.duckdb")
    with duckdb.connect(str(path)) as con:
        con.execute(FLEET_SQL)
    build_site(settings, query=duckdb_query(path), dbt_docs=False)
    site = settings.lake.site
    assert 'href="fleet.html"' in (site / "index.html").read_text(encoding="utf-8")
    html = (site / "fleet.html").read_text(encoding="utf-8")
    tables = tables_of(html)
    assert tables["fleet-latest"] == [
        ["aerial", "2026-01-04", "5", "251.2", "301.5", "1500.0", "2100.2", "10.50", "15.75"],
        ["maritime", "2026-01-04", "4", "1500.0", "1900.0", "300.0", "500.0", "12.00", "18.00"],
    ]
    assert [row[:2] for row in tables["fleet-days"]] == [
        ["aerial", "2026-01-04"],
        ["maritime", "2026-01-04"],
        ["aerial", "2026-01-03"],
    ]
    assert "https://" not in html and "http://" not in html


def test_without_the_fleet_mart_there_is_no_fleet_page(settings: Settings, gold) -> None:
    build_site(settings, query=gold, dbt_docs=False)
    assert not (settings.lake.site / "fleet.html").exists()
    assert "fleet.html" not in (settings.lake.site / "index.html").read_text(encoding="utf-8")


ARRIVALS_SQL = """
create table agg_arrivals_monthly as select * from (values
    (2016, 4, 'SFR', 'SAN FRANCISCO, CA', 'Business', 3),
    (2016, 4, 'SFR', 'SAN FRANCISCO, CA', 'Pleasure', 10),
    (2016, 4, 'XXX', 'NOT REPORTED/UNKNOWN', 'Student', 2),
    (2016, 5, 'SFR', 'SAN FRANCISCO, CA', 'Student', 1)
) as t(arrival_year, arrival_month, port_code, port_name, visa_category, arrivals);
create table agg_arrivals_port_temperature as select * from (values
    (2016, 4, 'SFR', 'SAN FRANCISCO, CA', 'SAN FRANCISCO', 'CA', 13, 14.25),
    (2016, 4, 'XXX', 'NOT REPORTED/UNKNOWN', null, null, 2, null),
    (2016, 5, 'SFR', 'SAN FRANCISCO, CA', 'SAN FRANCISCO', 'CA', 1, 15.5)
) as t(arrival_year, arrival_month, port_code, port_name, city_name, state_code, arrivals,
       avg_temperature_c);
"""


def test_arrivals_page_shows_visa_categories_per_port_and_month(
    settings: Settings, tmp_path: Path
) -> None:
    path = make_gold(tmp_path / "gold.duckdb")
    with duckdb.connect(str(path)) as con:
        con.execute(ARRIVALS_SQL)
    build_site(settings, query=duckdb_query(path), dbt_docs=False)
    site = settings.lake.site
    assert 'href="arrivals.html"' in (site / "index.html").read_text(encoding="utf-8")
    tables = tables_of((site / "arrivals.html").read_text(encoding="utf-8"))
    assert tables["arrivals-table"] == [
        ["2016-05", "SFR", "SAN FRANCISCO, CA", "0", "0", "1", "1", "15.5"],
        ["2016-04", "SFR", "SAN FRANCISCO, CA", "3", "10", "0", "13", "14.2"],
        ["2016-04", "XXX", "NOT REPORTED/UNKNOWN", "0", "0", "2", "2", ""],
    ]


def test_without_arrivals_marts_there_is_no_arrivals_page(settings: Settings, gold) -> None:
    build_site(settings, query=gold, dbt_docs=False)
    assert not (settings.lake.site / "arrivals.html").exists()
