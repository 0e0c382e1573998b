"""The weather site in a real browser: headless Chromium (Debian's package) driven by Playwright.

Nothing is faked: ``lakehouse run`` (a subprocess) fetches from the replay server, runs Spark
bronze, the gates, dbt and the publish, and its last step, the ``site-refresh`` flow, builds
the site with dbt docs and Data Docs. The test serves that site and checks it in the browser
against published gold. Screenshots are saved to ``tests/artifacts/`` for a human to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lakehouse import gold
from lakehouse.replay import ReplayServer
from lakehouse.runs import latest_run
from lakehouse.settings import Settings
from lakehouse.site import format_number, make_server
from lakehouse.site.server import server_url

pytestmark = pytest.mark.slow

DAYS = ["--start-date", "2024-06-01", "--end-date", "2024-06-10", "--no-recent"]
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
    """A lake on which the whole daily pipeline ran once, site refresh included."""
    root = tmp_path_factory.mktemp("site-e2e")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_LAKE_ROOT"] = str(root / "lake")
    with ReplayServer() as replay:
        run = subprocess.run(
            [sys.executable, "-m", "lakehouse.cli.app", "run", "--base-url", replay.url, *DAYS],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=1500,
        )
    assert run.returncode == 0, run.stderr[-4000:]
    settings = Settings(lake_root=root / "lake", _env_file=None)
    site_run = latest_run(settings.lake, "site", "weather")
    assert site_run and site_run["status"] == "ok", site_run
    assert site_run["dbt_docs"] and site_run["data_docs"], site_run
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


def test_data_docs_are_part_of_the_site(site_settings: Settings, site_url: str, browser) -> None:
    watch = PageWatch(browser)
    page = watch.page
    page.goto(site_url, wait_until="load")
    page.click("#data-docs-link")
    page.wait_for_url("**/data-docs/index.html")
    # Great Expectations' own templates load Bootstrap and jQuery from CDNs, unreachable here, so
    # only the page's arrival and that the site serves every page the gates wrote are checked.
    assert "Great Expectations" in page.title()
    written = site_settings.lake.docs / "data_docs"
    pages = sorted(p.relative_to(written).as_posix() for p in written.rglob("*.html"))
    assert any(p.startswith("validations/") for p in pages), pages
    for path in pages:
        assert page.request.get(f"{site_url}data-docs/{path}").ok, path
    page.close()
