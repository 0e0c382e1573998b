"""The weather site in a real browser: headless Chromium (Debian's package) driven by Playwright.

Gold is the fixture of ``tests/fixtures/site/gold.sql`` published through the real
write-audit-publish of :mod:`lakehouse.gold`; the site, its dbt docs (real ``dbt parse`` and
``dbt docs generate``), the HTTP server and the browser are the real ones. Screenshots are saved
to ``tests/artifacts/`` for a human to look at.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from lakehouse import gold
from lakehouse.runs import record_run
from lakehouse.settings import Settings
from lakehouse.site import build_site, format_number, make_server
from lakehouse.site.server import server_url

pytestmark = pytest.mark.slow

FIXTURE_SQL = (Path(__file__).parents[1] / "fixtures" / "site" / "gold.sql").read_text()
MARTS = ["agg_weather_city_summary", "agg_weather_daily", "dim_location", "fct_weather_hourly"]
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed; `make setup` installs Debian's chromium package")
    return path


@pytest.fixture(scope="module")
def site_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A lake with published gold, run records and a built site (dbt docs included)."""
    root = tmp_path_factory.mktemp("site-e2e")
    settings = Settings(lake_root=root / "lake", _env_file=None)
    source = root / "fixture_build.duckdb"
    with duckdb.connect(str(source)) as con:
        con.execute(FIXTURE_SQL)
    gold.publish_build(settings, gold.stage_build(settings, source, "main", MARTS, "e2e-fixture"))
    record_run(settings.lake, "ingest", "weather", status="ok", rows=3840, cities=4)
    record_run(settings.lake, "gate", "weather", status="ok", checks={"passed": 31, "failed": 0})
    build = build_site(settings)
    assert build.dbt_docs, "dbt docs were not generated"
    return settings


@pytest.fixture(scope="module")
def site_url(site_settings: Settings) -> Iterator[str]:
    server = make_server(site_settings.lake.site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_url(server)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class PageWatch:
    """A page that records console errors, uncaught exceptions and every URL it requests."""

    def __init__(self, browser) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.on("request", lambda r: self.requests.append(r.url))


def _gold_rows(settings: Settings) -> list[list[str]]:
    columns, rows = gold.query(settings, "select * from agg_weather_city_summary order by city")
    out = []
    for row in (dict(zip(columns, r, strict=True)) for r in rows):
        out.append(
            [
                row["city"],
                row["first_local_date"].isoformat(),
                row["last_local_date"].isoformat(),
                str(row["day_count"]),
                format_number(row["avg_temperature_c"]),
                format_number(row["min_temperature_c"]),
                format_number(row["max_temperature_c"]),
                format_number(row["total_precipitation_mm"]),
                row["wettest_local_date"].isoformat(),
                format_number(row["wettest_day_precipitation_mm"]),
            ]
        )
    return out


def test_index_page_shows_gold_and_draws_one_series_per_city(
    site_settings: Settings, site_url: str, browser
) -> None:
    watch = PageWatch(browser)
    page = watch.page
    page.goto(site_url, wait_until="load")
    # The main plot's traces; the range slider under it draws each series a second time.
    traces_drawn = "#temperature-chart .cartesianlayer .scatterlayer .trace"
    page.wait_for_selector(traces_drawn, timeout=30_000)

    table = page.eval_on_selector_all(
        "#city-summary tbody tr",
        "rows => rows.map(r => Array.from(r.children).map(c => c.textContent.trim()))",
    )
    expected = _gold_rows(site_settings)
    assert len(table) == 4
    assert table == expected

    traces = page.evaluate(
        "() => document.getElementById('temperature-chart').data"
        ".map(t => ({name: t.name, points: t.x.length}))"
    )
    _, days = gold.query(site_settings, "select city, count(*) from agg_weather_daily group by 1")
    assert sorted(t["name"] for t in traces) == sorted(r[0] for r in expected)
    assert {t["name"]: t["points"] for t in traces} == dict(days)
    drawn = page.locator(traces_drawn).count()
    assert drawn == 4, f"{drawn} series drawn"
    legend = page.locator("#temperature-chart .legend .traces").all_text_contents()
    assert sorted(legend) == sorted(r[0] for r in expected)

    assert page.locator("#gate-status").text_content() == "ok"
    latest_cities = page.locator("#latest-observations tbody th").all_text_contents()
    assert latest_cities == [r[0] for r in expected]

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "site.png"), full_page=True)
    origin = urlsplit(site_url).netloc
    assert all(urlsplit(u).netloc == origin for u in watch.requests), watch.requests
    assert watch.errors == []
    page.close()


def test_dbt_docs_page_loads_from_the_site(site_url: str, browser) -> None:
    watch = PageWatch(browser)
    page = watch.page
    page.goto(site_url, wait_until="load")
    page.click("#dbt-docs-link")
    page.wait_for_url("**/docs/index.html")
    page.wait_for_selector("text=Welcome to the auto-generated documentation", timeout=60_000)
    # A gold model's page: its title and the documented columns come from the manifest.
    page.goto(f"{site_url}docs/index.html#!/model/model.lakehouse.agg_weather_city_summary")
    title = page.locator("h1", has_text="agg_weather_city_summary")
    title.wait_for(timeout=60_000)
    assert page.locator("text=wettest_day_precipitation_mm").first.is_visible()

    assert "dbt" in page.title().lower()
    page.screenshot(path=str(ARTIFACTS / "site-dbt-docs.png"))
    origin = urlsplit(site_url).netloc
    external = [u for u in watch.requests if urlsplit(u).netloc not in (origin, "")]
    assert external == []
    assert watch.errors == []
    page.close()
