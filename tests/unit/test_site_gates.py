"""The site's "Quality gates" page, rendered from gate run records and stored GX results.

The validation result is ``tests/fixtures/site/gx_validation_result.json``: a result written by
Great Expectations 1.24 for the bronze suite (duplicate key, out-of-range temperatures, a gap),
trimmed to ten expectations, with the freshness warning made to fail. Tests copy it into the
lake where the gate runner's file context keeps its validations store and write the gates' run
records beside it, with the fields ``flows/transform.py`` records (without ``validation_ids``
unless a test adds them: older records are matched to their results by time).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_site_render import duckdb_query, make_gold, tables_of

from lakehouse.lake import Lake
from lakehouse.runs import record_run
from lakehouse.settings import Settings
from lakehouse.site import build_site
from lakehouse.site.data_docs import strip_external_css, strip_external_html
from lakehouse.site.gates import collect_quality, expectation_result
from lakehouse.site.render import QUALITY_PAGE, render_quality

FIXTURES = Path(__file__).parents[1] / "fixtures" / "site"
BRONZE_RESULT = json.loads((FIXTURES / "gx_validation_result.json").read_text(encoding="utf-8"))
T0 = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)
SUITES = {
    "bronze": ["bronze.weather__hourly"],
    "silver": ["silver.stg_weather__hourly"],
    "gold": ["gold.fct_weather_hourly", "gold.agg_weather_daily", "gold.agg_weather_city_summary"],
}

BRONZE_FAILED = [
    "bronze.weather__hourly: expect_compound_columns_to_be_unique("
    "column_list=['city_id', 'observed_at'])",
    "bronze.weather__hourly: expect_column_values_to_be_between(column=temperature_2m)",
    "bronze.weather__hourly: expect_column_values_to_be_between(column=_gate_hours_since_previous)",
]


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def write_validation(lake: Lake, suite: str, at: datetime, *, passing: bool = True) -> Path:
    """Store a validation result of ``suite`` run at ``at`` the way GX's file store does."""
    doc = copy.deepcopy(BRONZE_RESULT)
    doc["suite_name"] = suite
    doc["meta"]["run_id"]["run_time"] = at.isoformat()
    doc["meta"]["validation_time"] = at.isoformat()
    doc["meta"]["validation_id"] = str(uuid.uuid4())
    if passing:
        for item in doc["results"]:
            item["success"] = True
            item["result"].update(
                unexpected_count=0, partial_unexpected_list=[], partial_unexpected_counts=[]
            )
        doc["success"] = True
    path = (
        lake.state.joinpath("gx", "gx", "uncommitted", "validations", *suite.split("."))
        / "__none__"
        / at.strftime("%Y%m%dT%H%M%S.%fZ")
        / f"lakehouse_frames-{suite}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def record_gate(
    lake: Lake,
    layer: str,
    at: datetime,
    run: str,
    *,
    failed: list[str] | None = None,
    warnings: list[str] | None = None,
    rows: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A gate run record with the fields flows/transform.py writes."""
    failed = failed or []
    return record_run(
        lake,
        "gate",
        "weather",
        finished_at=_iso(at),
        status="failed" if failed else "ok",
        gate=layer,
        transform_run_id=run,
        build_id=None,
        failed_expectations=failed,
        scope="all rows",
        rows_validated=rows
        if rows is not None
        else {s.split(".", 1)[1]: 96 for s in SUITES[layer]},
        layer=layer,
        passed=not failed,
        failed=failed,
        warnings=warnings or [],
        evaluated=10 * len(SUITES[layer]),
        data_docs=str(lake.docs / "data_docs" / "index.html"),
    )


def passing_transform(lake: Lake, run: str, start: datetime) -> datetime:
    """Every layer's suites validated, then its gate recorded; returns the end time."""
    at = start
    for layer, suites in SUITES.items():
        for suite in suites:
            at += timedelta(seconds=1)
            write_validation(lake, suite, at)
        at += timedelta(seconds=1)
        record_gate(lake, layer, at, run)
    at += timedelta(seconds=1)
    record_run(
        lake, "transform", "weather", finished_at=_iso(at), status="ok", transform_run_id=run
    )
    return at


def failing_bronze_transform(lake: Lake, run: str, start: datetime) -> None:
    write_validation(lake, "bronze.weather__hourly", start + timedelta(seconds=1), passing=False)
    failed = BRONZE_FAILED
    warning = "bronze.weather__hourly: expect_column_max_to_be_between"
    record_gate(
        lake,
        "bronze",
        start + timedelta(seconds=2),
        run,
        failed=failed,
        warnings=[f"{warning}(column=_gate_newest_fetch_age_hours)"],
        rows={"weather__hourly": 121},
    )
    record_run(
        lake,
        "transform",
        "weather",
        finished_at=_iso(start + timedelta(seconds=3)),
        status="failed",
        transform_run_id=run,
        failed_step="gate:bronze",
        failed_expectations=failed,
    )


@pytest.fixture
def gold(tmp_path: Path):
    return duckdb_query(make_gold(tmp_path / "gold.duckdb"))


def _quality_html(settings: Settings) -> str:
    return (settings.lake.site / QUALITY_PAGE).read_text(encoding="utf-8")


def _expectations(html: str, suite: str) -> dict[str, list[str]]:
    """Rows of a suite's expectation table by label (``data-label``), cells as text."""
    table = tables_of(html)[f"expectations-{suite}"]
    labels = re.findall(
        rf'<table class="data expectations" id="expectations-{re.escape(suite)}">(.*?)</table>',
        html,
        re.S,
    )
    names = re.findall(r'data-label="([^"]*)"', labels[0])
    return {n.replace("&#39;", "'"): row for n, row in zip(names, table, strict=True)}


def test_page_lists_every_gate_and_suite_of_the_last_transform(settings: Settings, gold) -> None:
    lake = settings.lake
    failing_bronze_transform(lake, "t-old", T0)  # an older transform's failure is not shown
    end = passing_transform(lake, "t-last", T0 + timedelta(minutes=5))

    build = build_site(settings, query=gold, dbt_docs=False)
    html = _quality_html(settings)
    rows = tables_of(html)["gates"]

    assert build.data_docs and build.content.quality.status == "ok"
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (layer, suite, "ok") for layer, suites in SUITES.items() for suite in suites
    ]
    assert {r[3] for r in rows} == {"96"}  # rows validated, from the run records
    assert {r[4] for r in rows} == {"10 of 10"}
    assert 'id="quality-status">ok<' in html
    assert f"finished {end:%Y-%m-%d %H:%M:%S} UTC" in html
    # Each suite has its section with every expectation, passed, and no leftover examples.
    for suite in (s for suites in SUITES.values() for s in suites):
        expectations = _expectations(html, suite)
        assert len(expectations) == 10
        assert {row[4] for row in expectations.values()} == {"passed"}
        assert all(row[6] == "" for row in expectations.values())
    # The index links the page as "Data Docs"; nothing of the host shows.
    index = (lake.site / "index.html").read_text(encoding="utf-8")
    assert f'<a href="{QUALITY_PAGE}" id="data-docs-link">Data Docs</a>' in index
    assert str(lake.root) not in html and "t-last" not in html


def test_failed_gate_shows_results_observed_values_and_failing_examples(
    settings: Settings, gold
) -> None:
    lake = settings.lake
    passing_transform(lake, "t-before", T0 - timedelta(minutes=5))
    failing_bronze_transform(lake, "t-last", T0)

    build_site(settings, query=gold, dbt_docs=False)
    html = _quality_html(settings)
    rows = tables_of(html)["gates"]

    assert rows[0][:7] == ["bronze", "bronze.weather__hourly", "failed", "121", "6 of 10", "3", "1"]
    assert rows[1][:3] == ["silver", "not run: the transform stopped at gate:bronze", "not run"]
    assert rows[2][:3] == ["gold", "not run: the transform stopped at gate:bronze", "not run"]
    assert 'id="quality-status">failed<' in html and "stopped at <strong>gate:bronze" in html

    table = _expectations(html, "bronze.weather__hourly")
    between = table["expect_column_values_to_be_between(column=temperature_2m)"]
    # expectation, column, condition, severity, result, observed, failing examples
    assert between[:5] == [
        "expect_column_values_to_be_between",
        "temperature_2m",
        "min_value=-90, max_value=60",
        "critical",
        "failed",
    ]
    assert between[5] == "2 of 121 unexpected (1.65%)"
    assert re.findall(r"-?999\.9", between[6]) == ["-999.9", "999.9"]
    unique = table["expect_compound_columns_to_be_unique(column_list=['city_id', 'observed_at'])"]
    assert unique[1] == "city_id, observed_at" and unique[4] == "failed"
    assert "city_id=san_francisco, observed_at=2025-03-09T05:00:00+00:00 ×2" in unique[6]
    gap = table["expect_column_values_to_be_between(column=_gate_hours_since_previous)"]
    assert "hours since the city's previous observation" in gap[1] and gap[4] == "failed"
    fresh = table["expect_column_max_to_be_between(column=_gate_newest_fetch_age_hours)"]
    assert fresh[3:6] == ["warning", "warning", "30.5"]
    rate = table["expect_column_max_to_be_between(column=_gate_run_quarantine_rate)"]
    assert rate[4:6] == ["passed", "0"]
    assert table["expect_table_row_count_to_be_between()"][4:6] == ["passed", "121"]
    # The page's failures carry the gate's own names for them.
    failed = {label for label, row in table.items() if row[4] == "failed"}
    assert failed == {n.split(": ", 1)[1] for n in BRONZE_FAILED}
    assert len(failed) == 3


def test_run_record_alone_still_lists_the_gate(settings: Settings) -> None:
    """Without GX's stored result (moved, deleted, another store) the record is shown."""
    lake = settings.lake
    failed = ["bronze.weather__hourly: expect_column_values_to_be_between(column=temperature_2m)"]
    record_gate(lake, "bronze", T0, "t-1", failed=failed, rows={"weather__hourly": 40})
    # A record of a future gate runner: one record per suite, few fields.
    record_run(
        lake,
        "gate",
        "weather",
        finished_at=_iso(T0 + timedelta(seconds=5)),
        transform_run_id="t-1",
        suite="silver.stg_weather__hourly",
        table="stg_weather__hourly",
        status="ok",
        rows_validated=38,
    )
    # Unreadable and foreign files in the store are ignored.
    store = lake.state / "gx" / "gx" / "uncommitted" / "validations" / "bronze"
    store.mkdir(parents=True)
    (store / "broken.json").write_text("{not json", encoding="utf-8")
    (store / "list.json").write_text("[1, 2]", encoding="utf-8")

    report = collect_quality(lake)
    html = render_quality(report)
    rows = tables_of(html)["gates"]

    assert [r[:4] for r in rows] == [
        ["bronze", "bronze.weather__hourly", "failed", "40"],
        ["silver", "silver.stg_weather__hourly", "ok", "38"],
        ["gold", "not run in the last transform", "not run", "–"],
    ]
    assert rows[0][5] == "1"
    assert "stored result of this validation was not found" in html
    assert "expect_column_values_to_be_between(column=temperature_2m)" in html


def test_validation_ids_of_the_record_pick_its_results(settings: Settings) -> None:
    """The gate runner now records its results' ids; those win over the time window."""
    lake = settings.lake
    own = write_validation(lake, "bronze.weather__hourly", T0, passing=False)
    write_validation(lake, "bronze.weather__hourly", T0 + timedelta(seconds=1))  # not its own
    own_id = json.loads(own.read_text(encoding="utf-8"))["meta"]["validation_id"]
    record = record_gate(lake, "bronze", T0 + timedelta(seconds=2), "t-1", failed=BRONZE_FAILED)
    record["validation_ids"] = [own_id]
    Path(lake.state / "runs" / "gate" / "weather" / f"{record['run_id']}.json").write_text(
        json.dumps(record), encoding="utf-8"
    )
    # Silver had nothing in scope (0 rows: not run); gold ran no GX suite, only other checks.
    record_gate(lake, "silver", T0 + timedelta(seconds=3), "t-1", rows={"stg_weather__hourly": 0})
    gold_record = record_gate(lake, "gold", T0 + timedelta(seconds=4), "t-1", rows={})
    assert gold_record["evaluated"] == 30

    html = render_quality(collect_quality(lake))
    rows = tables_of(html)["gates"]

    assert [r[:5] for r in rows] == [
        ["bronze", "bronze.weather__hourly", "failed", "96", "6 of 10"],
        ["silver", "silver.stg_weather__hourly", "not run", "0", "–"],
        [
            "gold",
            "no Great Expectations suite ran; 30 checks evaluated by the gate",
            "ok",
            "–",
            "–",
        ],
    ]
    assert "the suite did not run" in html


def test_no_gate_run_yet(settings: Settings, gold) -> None:
    build = build_site(settings, query=gold, dbt_docs=False)
    html = _quality_html(settings)

    assert not build.data_docs and build.content.quality.status is None
    assert 'id="quality-status">no gate run yet<' in html
    assert [r[0] for r in tables_of(html)["gates"]] == ["bronze", "silver", "gold"]
    index = (settings.lake.site / "index.html").read_text(encoding="utf-8")
    assert 'id="data-docs-link"' in index


def test_expectation_errors_and_missing_fields_are_shown_not_raised() -> None:
    raised = expectation_result(
        {
            "success": False,
            "expectation_config": {"type": "expect_column_to_exist", "kwargs": {"column": "x"}},
            "exception_info": {
                "m1": {"raised_exception": True, "exception_message": "column x not found"}
            },
        }
    )
    assert raised.status == "error" and raised.error == "column x not found"
    bare = expectation_result({})
    assert bare.status == "failed" and bare.expectation == "expectation" and bare.observed == ""
    many = expectation_result(
        {
            "success": False,
            "expectation_config": {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "c", "value_set": list(range(30)), "batch_id": "b"},
                "severity": "warning",
            },
            "result": {"unexpected_count": 25, "partial_unexpected_list": list(range(20))},
        }
    )
    assert many.status == "warning" and "batch_id" not in many.condition
    assert many.condition.endswith("… 20 more]")
    assert len(many.examples) == 10 and many.more_examples == 15


def test_page_and_raw_data_docs_load_nothing_from_outside_the_site(
    settings: Settings, gold
) -> None:
    lake = settings.lake
    failing_bronze_transform(lake, "t-1", T0)
    raw = lake.docs / "data_docs"
    page = "validations/bronze/weather__hourly/__none__/20250310T060001.000000Z/b.html"
    (raw / page).parent.mkdir(parents=True)
    (raw / "static").mkdir()
    gx_head = (
        '<link rel="stylesheet" href="https://unpkg.com/bootstrap-table.min.css">'
        '<link href="static/local.css" rel="stylesheet">'
        '<link rel="icon" href="static/missing.ico">'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        "<script>$('#t').bootstrapTable({data: []});</script>"
        '<img src="https://example-assets.s3.amazonaws.com/logo-long.png?dataContextId=1">'
        "<div style=\"background: url('//cdn.example.org/bg.png')\">x</div>"
        '<a href="https://greatexpectations.io">Great Expectations</a>'
    )
    (raw / "index.html").write_text(f"<html><head>{gx_head}</head></html>", encoding="utf-8")
    # GX's validation pages point their favicon one folder short of the copy's static/.
    (raw / page).write_text(
        '<html><head><link rel="icon" href="../../../../static/icon.ico"></head>'
        "<body>validation</body></html>",
        encoding="utf-8",
    )
    (raw / "static" / "icon.ico").write_bytes(b"\0")
    (raw / "static" / "local.css").write_text(
        "@import url('https://fonts.example.com/x.css');\n"
        ".logo { background: url(https://s3/a.png); }",
        encoding="utf-8",
    )
    # The raw page of the stored result is named after it (run time folder, batch id).
    stored = write_validation(lake, "bronze.weather__hourly", T0 + timedelta(seconds=1))
    stored.rename(stored.with_name("b.json"))

    build = build_site(settings, query=gold, dbt_docs=False)
    site = lake.site
    assert build.raw_data_docs
    copied = (site / "data-docs" / "index.html").read_text(encoding="utf-8")
    assert "<script" not in copied and "unpkg" not in copied and "s3.amazonaws" not in copied
    assert "cdn.example.org" not in copied and 'href="static/local.css"' in copied
    assert "missing.ico" not in copied  # a local file that is not there would fail too
    validation = (site / "data-docs" / page).read_text(encoding="utf-8")
    assert 'href="../../../../../static/icon.ico"' in validation
    assert '<a href="https://greatexpectations.io">' in copied  # a link fetches nothing
    css = (site / "data-docs" / "static" / "local.css").read_text(encoding="utf-8")
    assert "http" not in css and "url(none)" not in css

    html = _quality_html(settings)
    assert f'href="data-docs/{page}"' in html
    assert 'href="data-docs/index.html" id="raw-data-docs-link">raw Great Expectations' in html
    for name in ("index.html", QUALITY_PAGE):
        text = (site / name).read_text(encoding="utf-8")
        for ref in re.findall(r'(?:src|href)="([^"#]+)"', text):
            assert not re.match(r"^(https?:)?//", ref), f"{name}: external reference {ref}"
            assert (site / ref).is_file(), f"{name}: {ref} is referenced but not in the site"


def test_strip_keeps_local_resources() -> None:
    html = '<link rel="icon" href="./static/images/favicon.ico"><img src="static/a.png">'
    assert strip_external_html(html) == html
    assert strip_external_html('<img src="data:image/png;base64,AAAA">').startswith("<img")
    assert strip_external_css(".a { background: url('../images/x.png'); }").count("url(") == 1


def test_a_transform_of_several_sources_shows_each_suite_once(settings: Settings) -> None:
    """Each source's gate record holds its own bronze suites; the gold gate's one result is
    recorded for every source and shown once."""
    lake = settings.lake
    bronze = {"weather": {"weather__hourly": 96}, "events": {"events__rsvps": 40}}
    scopes = {"weather": "all rows", "events": "rows ingested after 2025-03-09 06:00:00"}
    gold = {"agg_weather_daily": 4, "agg_rsvps_by_city": 3}
    at = T0
    for layer, rows_of in (("bronze", bronze), ("gold", {s: gold for s in bronze})):
        for source, rows in rows_of.items():
            at += timedelta(seconds=1)
            record_run(
                lake, "gate", source, finished_at=_iso(at), status="ok", gate=layer,
                transform_run_id="t-1", scope=scopes[source], rows_validated=rows,
                evaluated=5 * len(rows), failed_expectations=[],
            )  # fmt: skip
    for source in bronze:
        record_run(lake, "transform", source, finished_at=_iso(at), status="ok",
                   transform_run_id="t-1")  # fmt: skip
    record_run(lake, "gate", "weather", finished_at=_iso(T0), status="failed", gate="bronze",
               transform_run_id="t-0", rows_validated={"weather__hourly": 1})  # fmt: skip

    report = collect_quality(lake)

    by_layer = {g.layer: g for g in report.gates}
    assert [s.suite for s in by_layer["bronze"].suites] == [
        "bronze.weather__hourly",
        "bronze.events__rsvps",
    ]
    assert by_layer["bronze"].rows_validated == 136 and by_layer["bronze"].evaluated == 10
    assert [s.suite for s in by_layer["gold"].suites] == [
        "gold.agg_weather_daily",
        "gold.agg_rsvps_by_city",
    ]
    assert by_layer["gold"].evaluated == 10  # once, not once per source
    assert by_layer["bronze"].scope == (
        "events: rows ingested after 2025-03-09 06:00:00; weather: all rows"
    )
    assert by_layer["silver"].status is None and report.status == "ok"
    assert collect_quality(lake, ["events"]).suites[0].suite == "bronze.events__rsvps"
