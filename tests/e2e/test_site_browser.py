"""The weather site in a real browser: headless Chromium (Debian's package) driven by Playwright.

Nothing is faked: ``lakehouse run`` (a subprocess) fetches from the replay server, runs Spark
bronze, the gates, dbt and the publish, and its last step, the ``site-refresh`` flow, builds
the site with dbt docs and the gates' results. The test serves that site and checks it in the
browser against published gold and the gates' run records, with no request leaving the site
(127.0.0.1) and none failing on any page. Screenshots are saved to ``tests/artifacts/`` for a
human to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lakehouse import gold
from lakehouse.contracts import load_contract
from lakehouse.replay import ReplayServer
from lakehouse.runs import latest_run, list_runs
from lakehouse.settings import Settings
from lakehouse.site import format_number, make_server
from lakehouse.site.server import server_url
from lakehouse.sources.postgres_local import local_server

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


def _contracts_env(root: Path) -> dict[str, str]:
    """Weather and the flights draft in ``LAKEHOUSE_CONTRACTS_DIR`` while flights is not
    registered in ``lakehouse/contracts/``; nothing once it is."""
    project = Path(__file__).parents[2]
    if (project / "lakehouse" / "contracts" / "flights.yml").is_file():
        return {}
    folder = root / "contracts"
    folder.mkdir()
    for contract in (project / "lakehouse" / "contracts").glob("*.yml"):
        shutil.copyfile(contract, folder / contract.name)
    shutil.copyfile(
        project / "tests" / "fixtures" / "contracts" / "flights.yml", folder / "flights.yml"
    )
    return {"LAKEHOUSE_CONTRACTS_DIR": str(folder)}


@pytest.fixture(scope="module")
def site_settings(
    tmp_path_factory: pytest.TempPathFactory,
    kafka_broker,
    own_topic_contracts,  # noqa: ANN001
) -> Iterator[Settings]:
    """A lake on which the whole daily pipeline ran once, site refresh included (the geo
    events through the session's Kafka broker, on topics of this test's own)."""
    root = tmp_path_factory.mktemp("site-e2e")
    settings = Settings(lake_root=root / "lake", _env_file=None)
    try:
        yield _run_pipeline(root, kafka_broker, own_topic_contracts, settings)
    finally:
        # The simulator started the fleet's own PostgreSQL under this lake; it must not outlive
        # the tests.
        local_server(settings, load_contract("fleet")).stop()


def _run_pipeline(root: Path, kafka_broker, own_topic_contracts, settings: Settings) -> Settings:  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_LAKE_ROOT"] = str(root / "lake")
    env["LAKEHOUSE_CONTRACTS_DIR"] = str(own_topic_contracts(root / "contracts"))
    env["LAKEHOUSE_KAFKA_BOOTSTRAP"] = kafka_broker.bootstrap
    env.update(_contracts_env(root))
    env["LAKEHOUSE_FLIGHTS_CLIENT_ID"] = "replay-client-id"
    env["LAKEHOUSE_FLIGHTS_CLIENT_SECRET"] = "replay-client-secret"
    # The CLI without a Prefect API runs the flows directly: forbidding Prefect's temporary
    # server proves no verb needs one (a re-run with nothing new costs seconds, not a server).
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"] = "false"
    command = [sys.executable, "-m", "lakehouse.cli.app", "run"]
    # The fleet's operational database holds what its simulator played (README, "fleet").
    simulate = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.app", "simulate", "fleet", "--days", "3"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert simulate.returncode == 0, simulate.stderr[-4000:]
    with ReplayServer() as replay:
        run, rerun = (
            subprocess.run(
                [*command, "--base-url", replay.url, *DAYS],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=1500,
            )
            for _ in range(2)
        )
    assert run.returncode == 0, run.stderr[-4000:]
    # The same run again lands nothing new: no Spark, no dbt build, the same dbt docs.
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    assert re.search(r"transform\s*│\s*skipped", rerun.stderr), rerun.stderr[-4000:]
    site_run = latest_run(settings.lake, "site", "weather")
    assert site_run and site_run["status"] == "ok", site_run
    assert site_run["dbt_docs"] and site_run["data_docs"] and site_run["raw_data_docs"], site_run
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
    """A page that records console errors, uncaught exceptions, failed requests (no answer, or
    an HTTP error status) and every URL it requests."""

    def __init__(self, browser) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.on(
            "response",
            lambda r: self.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
        )
        self.page.on("request", lambda r: self.requests.append(r.url))

    def assert_stayed_on(self, site_url: str) -> None:
        """No request left the site's own server on 127.0.0.1, and none failed."""
        origin = urlsplit(site_url)
        assert origin.hostname == "127.0.0.1"
        leaving = [
            u
            for u in self.requests
            if urlsplit(u).scheme not in ("data", "blob", "about")
            and urlsplit(u).netloc != origin.netloc
        ]
        assert leaving == [], leaving
        assert [e for e in self.errors if e.startswith(("failed:", "HTTP "))] == []


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


def _fare_rows(settings: Settings, international: bool) -> list[list[str]]:
    """Per route, the cheapest fare of the latest day searched, as the fares page shows it."""
    columns, rows = gold.query(settings, "select * from agg_fares_cheapest_daily")
    best: dict[tuple[str, str], tuple] = {}
    for row in (dict(zip(columns, r, strict=True)) for r in rows):
        if row["is_international"] != international:
            continue
        route = (row["origin_iata"], row["destination_iata"])
        rank = (
            -row["observed_date"].toordinal(),
            row["cheapest_total_usd"],
            row["departure_date"],
            row["carrier_code"],
        )
        if route not in best or rank < best[route][0]:
            best[route] = (rank, row)
    return [
        [
            f"{o}-{d}",
            row["departure_date"].isoformat(),
            row["return_date"].isoformat(),
            format_number(row["cheapest_total_usd"], 2),
            row["carrier_code"],
            str(row["offer_count"]),
            row["observed_date"].isoformat(),
        ]
        for (o, d), (_, row) in sorted(best.items())
    ]


def test_fares_page_shows_cheapest_fares_per_route_and_the_booking_curve(
    site_settings: Settings, site_url: str, browser
) -> None:
    watch = PageWatch(browser)
    page = watch.page
    page.goto(site_url, wait_until="load")
    page.click("#fares-link")
    page.wait_for_url("**/fares.html")
    traces_drawn = "#fares-chart .cartesianlayer .scatterlayer .trace"
    page.wait_for_selector(traces_drawn, timeout=30_000)

    def table(selector: str) -> list[list[str]]:
        return page.eval_on_selector_all(
            f"{selector} tbody tr",
            "rows => rows.map(r => Array.from(r.children).map(c => c.textContent.trim()))",
        )

    domestic = _fare_rows(site_settings, international=False)
    international = _fare_rows(site_settings, international=True)
    assert domestic and international
    assert table("#fares-domestic") == domestic
    assert table("#fares-international") == international

    traces = page.evaluate(
        "() => document.getElementById('fares-chart').data"
        ".map(t => ({name: t.name, points: t.x.length}))"
    )
    _, curve = gold.query(
        site_settings,
        "select origin_iata || '-' || destination_iata, count(distinct days_before_departure)"
        " from agg_fares_booking_curve group by 1",
    )
    assert {t["name"]: t["points"] for t in traces} == dict(curve)
    assert sorted(t["name"] for t in traces) == sorted(r[0] for r in domestic + international)
    assert page.locator(traces_drawn).count() == len(traces)

    page.screenshot(path=str(ARTIFACTS / "site-fares.png"), full_page=True)
    watch.assert_stayed_on(site_url)
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


def _gates_of_last_transform(settings: Settings) -> list[dict]:
    records = list_runs(settings.lake, "gate", "weather")
    last = max(records, key=lambda r: r["finished_at"])["transform_run_id"]
    return [r for r in records if r.get("transform_run_id") == last]


def test_data_docs_link_opens_the_quality_gates_page_offline(
    site_settings: Settings, site_url: str, browser
) -> None:
    watch = PageWatch(browser)
    page = watch.page
    page.goto(site_url, wait_until="load")
    page.click("#data-docs-link")
    page.wait_for_url("**/quality-gates.html")
    page.wait_for_selector("#gates tbody tr")
    assert page.title().startswith("Quality gates")

    rows = page.eval_on_selector_all(
        "#gates tbody tr",
        "rows => rows.map(r => Array.from(r.children).map(c => c.textContent.trim()))",
    )
    # Every gate of the last transform, in pipeline order, one row per suite with the rows
    # its run record says it validated (a gate without a GX suite has one row saying so).
    records = _gates_of_last_transform(site_settings)
    assert sorted(r["gate"] for r in records) == ["bronze", "gold", "silver"]
    assert [r[0] for r in rows] == sorted(
        (r[0] for r in rows), key=("bronze", "silver", "gold").index
    )
    assert {r[0] for r in rows} == {"bronze", "silver", "gold"}
    by_suite = {r[1]: r for r in rows}
    validated = {
        f"{record['gate']}.{table}": count
        for record in records
        for table, count in record["rows_validated"].items()
    }
    assert validated["bronze.weather__hourly"] > 0 and validated["silver.stg_weather__hourly"] > 0
    for suite, count in validated.items():
        assert by_suite[suite][3] == f"{count:,}", suite
        # A failed warning (a stale fetch, a gap) is reported but passes its gate.
        assert by_suite[suite][2] in (("ok", "warning") if count else ("not run",)), suite
    assert page.locator("#quality-status").text_content() == "ok"
    # Each suite that ran lists its expectations with their results from GX's stored result.
    for suite, count in validated.items():
        if not count:
            continue
        passed, evaluated = (int(x) for x in by_suite[suite][4].split(" of "))
        results = page.locator(f'[id="expectations-{suite}"] tbody tr')
        assert results.count() == evaluated > 0, suite
        statuses = results.evaluate_all("rows => rows.map(r => r.dataset.status)")
        assert statuses.count("passed") == passed
        assert set(statuses) <= {"passed", "warning"}, (suite, statuses)
    row_count = page.locator(
        '[id="expectations-bronze.weather__hourly"] '
        'tr[data-label="expect_table_row_count_to_be_between()"] td'
    )
    if row_count.count():  # the bronze suite checks its row count: the rows validated
        observed = row_count.nth(4).text_content().strip()
        assert observed == str(validated["bronze.weather__hourly"])

    page.screenshot(path=str(ARTIFACTS / "site-quality-gates.png"), full_page=True)
    watch.assert_stayed_on(site_url)
    assert watch.errors == []
    page.close()


def test_events_page_maps_venues_by_cluster_and_charts_rsvps_per_city(
    site_settings: Settings, site_url: str, browser
) -> None:
    """The map is inline SVG (land outlines, one dot per public venue, one ring per cluster)
    and the chart has one series per city, all from published gold, with nothing fetched from
    outside the site."""
    watch = PageWatch(browser)
    page = watch.page
    page.goto(site_url, wait_until="load")
    page.click("#events-link")
    page.wait_for_url("**/events.html")
    traces_drawn = "#rsvps-chart .cartesianlayer .scatterlayer .trace"
    page.wait_for_selector(traces_drawn, timeout=30_000)

    _, clusters = gold.query(site_settings, "select cluster_id from geo_venue_clusters")
    _, venues = gold.query(
        site_settings, "select count(*) from dim_venue where venue_lat is not null"
    )
    assert len(clusters) >= 2
    assert page.locator("#events-map circle.centre").count() == len(clusters)
    assert page.locator("#events-map circle.point").count() == venues[0][0] > 0
    coloured = page.eval_on_selector_all(
        "#events-map circle.point", "cs => new Set(cs.map(c => c.getAttribute('fill'))).size"
    )
    assert coloured == len(clusters)
    assert (
        len(page.get_attribute("#events-map path.land", "d") or "") > 10_000
    )  # Natural Earth's land

    _, hourly = gold.query(
        site_settings,
        "select group_city || ' (' || group_country || ')', count(*)"
        " from agg_rsvps_by_city_hourly group by 1",
    )
    traces = page.evaluate(
        "() => document.getElementById('rsvps-chart').data"
        ".map(t => ({name: t.name, points: t.x.length}))"
    )
    assert {t["name"]: t["points"] for t in traces} == dict(hourly)

    page.screenshot(path=str(ARTIFACTS / "site-events.png"), full_page=True)
    watch.assert_stayed_on(site_url)
    assert watch.errors == []
    page.close()


def test_no_page_of_the_site_requests_anything_outside_it(
    site_settings: Settings, site_url: str, browser
) -> None:
    """Every page, GX's copied raw Data Docs included, loads only from the site and fully."""
    site = site_settings.lake.site
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert {
        "index.html",
        "quality-gates.html",
        "fares.html",
        "events.html",
        "fleet.html",
        "docs/index.html",
    } <= set(pages)
    raw = [p for p in pages if p.startswith("data-docs/")]
    assert "data-docs/index.html" in raw and any(
        p.startswith("data-docs/validations/") for p in raw
    )

    for path in pages:
        watch = PageWatch(browser)
        response = watch.page.goto(f"{site_url}{path}", wait_until="load")
        assert response is not None and response.ok, path
        watch.page.wait_for_load_state("networkidle")
        assert len(watch.requests) >= 1
        watch.assert_stayed_on(site_url)
        assert watch.errors == [], (path, watch.errors)
        watch.page.close()
