"""Benchmark pieces that need no Spark: generator, DuckDB baseline, scales, measures, report.

Nothing is faked: the generator writes real landing objects into a temporary lake and the
baseline reads them with DuckDB and writes real Delta tables.
"""

from __future__ import annotations

import gzip
import json
import math
import time
from pathlib import Path

import duckdb
import pytest
from deltalake import DeltaTable

from lakehouse.bench import generate, report
from lakehouse.bench.duckdb_baseline import DuckDBBaseline
from lakehouse.bench.fingerprint import arrow_fingerprint
from lakehouse.bench.measure import Meter, percentile
from lakehouse.bench.scales import SCALES, resolve
from lakehouse.bench.workspace import ScaleWorkspace, contracts_from
from lakehouse.contracts import load_contract
from lakehouse.lake import Lake
from lakehouse.landing import read_object

JANUARY_HOURS = 31 * 24


@pytest.fixture
def workspace(tmp_path: Path) -> ScaleWorkspace:
    return ScaleWorkspace(tmp_path / "bench" / "t")


def _baseline(ws: ScaleWorkspace) -> DuckDBBaseline:
    return DuckDBBaseline(ws.lake, ws.baseline_table, ws.baseline_state, memory_limit="1GB")


def _rows(path: Path) -> list[dict]:
    return DeltaTable(str(path)).to_pyarrow_table().to_pylist()


# ------------------------------------------------------------------ generator


def test_generated_objects_are_landing_objects_within_the_contract(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    summary = generate.generate_base(lake, scale="t", cities=5, months=2)
    entity = load_contract("weather").entity("hourly")
    paths = list(generate.iter_landed(lake))
    assert summary.objects == len(paths) == 10
    assert summary.rows == 5 * (31 + 28) * 24
    keys = set()
    for path in paths:
        document = read_object(path)
        envelope = document["envelope"]
        assert envelope["source"] == "weather" and envelope["entity"] == "hourly"
        assert envelope["transport"]["kind"] == "http" and envelope["transport"]["status"] == 200
        assert envelope["body_bytes"] == len(document["body"].encode("utf-8"))
        assert path.parent.name == f"fetch_date={envelope['fetched_at'][:10]}"
        keys.add(envelope["key"])
        body = json.loads(document["body"])
        hourly = body["hourly"]
        assert body["utc_offset_seconds"] == 0
        for field in entity.fields:
            if field.source_path.startswith(("$.", "envelope.")):
                continue  # the body root's coordinates and the landing key, not an array
            values = hourly[field.name]
            assert len(values) == len(hourly["time"])
            low, high = field.range
            assert all(low <= v <= high for v in values), field.name
    # The contract's four cities first, then synthetic ones.
    assert {t["id"] for t in load_contract("weather").targets} < keys
    assert "bench_city_0004" in keys


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = generate.generate_base(Lake(tmp_path / "a"), scale="t", cities=2, months=1)
    second = generate.generate_base(Lake(tmp_path / "b"), scale="t", cities=2, months=1)
    a = [p.read_bytes() for p in generate.iter_landed(Lake(tmp_path / "a"))]
    b = [p.read_bytes() for p in generate.iter_landed(Lake(tmp_path / "b"))]
    assert a == b and first.gzip_bytes == second.gzip_bytes


def test_increment_adds_one_percent_and_revises_the_last_day(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    generate.generate_base(lake, scale="t", cities=3, months=1)
    objects, landed, new = generate.generate_increment(lake, scale="t", cities=3, months=1)
    per_city_new = math.ceil(JANUARY_HOURS * generate.INCREMENT_FRACTION)
    assert objects == 3
    assert new == 3 * per_city_new
    assert landed == 3 * (per_city_new + generate.INCREMENT_OVERLAP_HOURS)
    generate.remove_increment(lake, 2025, 1)
    assert len(list(generate.iter_landed(lake))) == 3


def test_ensure_base_reuses_a_matching_landing(workspace: ScaleWorkspace) -> None:
    _, reused = generate.ensure_base(
        workspace.lake, workspace.manifest, scale="t", cities=1, months=1
    )
    assert not reused
    generate.generate_increment(workspace.lake, scale="t", cities=1, months=1)
    summary, reused = generate.ensure_base(
        workspace.lake, workspace.manifest, scale="t", cities=1, months=1
    )
    assert reused and summary.rows == JANUARY_HOURS
    # The increment of the previous run is gone, so each run starts from the base alone.
    assert len(list(generate.iter_landed(workspace.lake))) == 1
    _, reused = generate.ensure_base(
        workspace.lake, workspace.manifest, scale="t", cities=2, months=1
    )
    assert not reused and len(list(generate.iter_landed(workspace.lake))) == 2


# ------------------------------------------------------------------ baseline


def test_baseline_full_then_incremental_matches_a_rebuild(workspace: ScaleWorkspace) -> None:
    lake = workspace.lake
    generate.generate_base(lake, scale="t", cities=2, months=1)
    baseline = _baseline(workspace)
    full = baseline.run(full=True)
    assert full.rows_written == full.table_rows == 2 * JANUARY_HOURS
    assert full.rows_quarantined == 0

    generate.generate_increment(lake, scale="t", cities=2, months=1)
    incremental = baseline.run(full=False)
    new = 2 * math.ceil(JANUARY_HOURS * generate.INCREMENT_FRACTION)
    assert incremental.objects == 2
    assert incremental.table_rows == 2 * JANUARY_HOURS + new
    # Every overlapping hour was updated and every new one inserted.
    assert incremental.rows_written == new + 2 * generate.INCREMENT_OVERLAP_HOURS
    assert baseline.run(full=False).objects == 0  # nothing new: nothing done

    rows = _rows(workspace.baseline_table)
    last = max(r["observed_at"] for r in rows if r["observed_at"].month == 1)
    latest = [r for r in rows if r["observed_at"] == last]
    assert {r["_batch_id"] for r in latest} == {"bench-t-increment"}  # latest fetch wins

    incremental_fp = arrow_fingerprint(DeltaTable(str(workspace.baseline_table)).to_pyarrow_table())
    baseline.run(full=True)
    rebuilt_fp = arrow_fingerprint(DeltaTable(str(workspace.baseline_table)).to_pyarrow_table())
    assert incremental_fp == rebuilt_fp


def test_baseline_quarantines_bad_objects_and_keeps_good_rows(workspace: ScaleWorkspace) -> None:
    lake = workspace.lake
    generate.generate_base(lake, scale="t", cities=1, months=1)
    (good,) = generate.iter_landed(lake)
    document = read_object(good)
    body = json.loads(document["body"])
    body["hourly"]["temperature_2m"][5] = 999.9
    folder = good.parent
    bad_value = {
        "envelope": {**document["envelope"], "fetched_at": "2025-02-03T00:00:00Z"},
        "body": json.dumps(body),
    }
    truncated = {
        "envelope": {**document["envelope"], "fetched_at": "2025-02-03T00:00:01Z"},
        "body": document["body"][: len(document["body"]) // 2],
    }
    stranger = {
        "envelope": {
            **document["envelope"],
            "key": "atlantis",
            "fetched_at": "2025-02-03T00:00:02Z",
        },
        "body": document["body"],
    }
    for name, doc in (("b1", bad_value), ("b2", truncated), ("b3", stranger)):
        (folder / f"{name}.json.gz").write_bytes(gzip.compress(json.dumps(doc).encode()))

    result = _baseline(workspace).run(full=True)
    assert result.table_rows == JANUARY_HOURS
    quarantine = _rows(workspace.baseline_table.parent / "weather__hourly__quarantine")
    reasons = {(r["field"], r["reason"].split(" ")[0]) for r in quarantine}
    assert ("temperature_2m", "outside") in reasons
    assert ("body", "unparseable") in reasons
    assert ("city_id", "unknown") in reasons
    assert result.rows_quarantined == len(quarantine) == 1 + 1 + JANUARY_HOURS
    # The out-of-range hour kept its older, valid value from the first fetch.
    rows = _rows(workspace.baseline_table)
    assert all(r["temperature_2m"] < 100 for r in rows)


def test_baseline_batches_give_the_table_of_one_batch(workspace: ScaleWorkspace) -> None:
    """One object per batch writes the same table as one batch, full and incremental.

    A hand-named object (its name names no city) re-sends a city's January fetched at the same
    instant with one revised value: its rows are held back and merged after the batches, and
    the landing path breaks the tie exactly as one batch's dedupe does.
    """
    lake = workspace.lake
    generate.generate_base(lake, scale="t", cities=3, months=1)
    original = next(p for p in generate.iter_landed(lake) if "_bench_city_" not in p.name)
    document = read_object(original)
    body = json.loads(document["body"])
    body["hourly"]["temperature_2m"][5] = -40.0
    manual = {"envelope": document["envelope"], "body": json.dumps(body)}
    (original.parent / "manual.json.gz").write_bytes(gzip.compress(json.dumps(manual).encode()))

    def build(name: str, batch_bytes: int) -> DuckDBBaseline:
        root = workspace.root / name
        return DuckDBBaseline(
            lake, root / "table", root / "state", memory_limit="1GB", batch_bytes=batch_bytes
        )

    one, many = build("one", 1 << 30), build("many", 1)
    assert one.run(full=True).rows_written == many.run(full=True).rows_written == 3 * JANUARY_HOURS

    def fingerprint(baseline: DuckDBBaseline) -> dict:
        table = DeltaTable(str(baseline.table_path)).to_pyarrow_table()
        return arrow_fingerprint(table, ["city_id", "observed_at"])

    assert fingerprint(one) == fingerprint(many)
    assert fingerprint(many)["distinct_keys"] == 3 * JANUARY_HOURS
    revised = [r for r in _rows(many.table_path) if r["temperature_2m"] == -40.0]
    assert [r["_landing_path"] for r in revised] == [str(original.parent / "manual.json.gz")]

    generate.generate_increment(lake, scale="t", cities=3, months=1)
    assert one.run(full=False).objects == many.run(full=False).objects == 3
    assert fingerprint(one) == fingerprint(many)


# ------------------------------------------------------------------ workspace and contracts


def test_derived_contract_lists_the_scale_cities(workspace: ScaleWorkspace) -> None:
    folder = workspace.write_contracts(7)
    with contracts_from(folder):
        cities = load_contract("weather").targets
    assert len(cities) == 7
    assert len(load_contract("weather").targets) == 4  # restored after the block


def test_reset_keeps_only_the_landing(workspace: ScaleWorkspace) -> None:
    lake = workspace.lake
    generate.generate_base(lake, scale="t", cities=1, months=1)
    for path in (lake.bronze("x") / "f", lake.state / "runs" / "f", workspace.baseline_table / "f"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    workspace.reset()
    assert not lake.layer("bronze").exists() and not (lake.state / "runs").exists()
    assert not workspace.baseline_table.exists()
    assert len(list(generate.iter_landed(lake))) == 1


# ------------------------------------------------------------------ scales, measures, report


def test_scales_resolve_plans_and_reject_unknown_names() -> None:
    assert [s.name for s in resolve(None)] == ["1x", "10x", "100x", "10m"]
    assert [s.name for s in resolve(["smoke"])] == ["smoke", "smoke-x4"]
    assert [s.depth for s in resolve(["100x"], all_steps=True)] == ["all"]
    assert 10_000_000 <= SCALES["10m"].expected_rows < 10_010_000
    assert SCALES["100x"].expected_rows == 100 * SCALES["1x"].expected_rows
    with pytest.raises(ValueError, match="unknown scale"):
        resolve(["huge"])


def test_meter_counts_wall_and_cpu_time() -> None:
    meter = Meter()
    with meter.step() as busy:
        # Spin until 0.2 s of CPU were used, however busy the machine is.
        start = time.process_time()
        while time.process_time() - start < 0.2:
            pass
    with meter.step() as idle:
        time.sleep(0.3)
    assert busy.cpu_s >= 0.19 and busy.wall_s >= busy.cpu_s - 0.01
    assert idle.wall_s >= 0.3 and idle.cpu_s < 0.1
    assert busy.peak_rss_mib and busy.peak_rss_mib > 1


def test_percentile_interpolates_like_numpy() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 50) == pytest.approx(10.5)
    assert percentile(values, 95) == pytest.approx(19.05)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_fit_exponent_reads_linear_and_quadratic_growth() -> None:
    assert report.fit_exponent([(1e3, 2.0), (1e4, 20.0), (1e5, 200.0)]) == pytest.approx(1.0)
    assert report.fit_exponent([(10, 1.0), (100, 100.0)]) == pytest.approx(2.0)
    assert report.fit_exponent([(10, 1.0)]) is None


def _measure(wall: float, cpu: float | None = None) -> dict:
    return {"wall_s": wall, "cpu_s": cpu if cpu is not None else wall, "peak_rss_mib": 100.0}


def _transform(wall: float, gates: float) -> dict:
    parts = {
        "gate_bronze": _measure(gates / 3),
        "dbt_silver": _measure(wall / 2),
        "gate_silver": _measure(gates / 3),
        "dbt_gold": _measure(wall / 2),
        "gate_gold": _measure(gates / 3),
    }
    return {"parts": parts, "wall_s": wall + gates, "cpu_s": wall + gates}


def test_report_ratios_and_goals_from_a_result_document(tmp_path: Path) -> None:
    """Goals are judged from the figures: 2% incremental passes, 3x Spark misses, and so on."""
    small = {
        "rows": 1000,
        "depth": "all",
        "bronze_spark": {
            "full": _measure(10),
            "incremental": _measure(0.2),
            "rebuild": _measure(10),
        },
        "bronze_duckdb": {
            "full": _measure(5),
            "incremental": _measure(0.1),
            "rebuild": _measure(5),
        },
        "transform": {
            "full": _transform(8, 2),
            "incremental": _transform(0.1, 0.1),
            "rebuild": _transform(8, 2),
        },
        "incremental_check": {"gold_identical": True, "bronze_identical": True},
        "bronze_agreement": {"equal": True},
        "gold_queries": {"p50_s": 0.01, "p95_s": 0.02, "repeats": 5},
    }
    big = {
        "rows": 100_000,
        "depth": "bronze",
        "bronze_spark": {"full": _measure(1000)},
        "bronze_duckdb": {"full": _measure(300)},
    }
    result = {"run_id": "r1", "scales": {"1x": small, "100x": big}}
    report.finalize(result)
    per = result["ratios"]["per_scale"]
    assert per["1x"]["incremental_over_rebuild"] == pytest.approx((0.2 + 0.2) / (10 + 10))
    assert per["1x"]["gates_share"] == pytest.approx(2 / (10 + 8), rel=1e-3)
    assert per["100x"]["spark_over_duckdb"] == pytest.approx(1000 / 300, rel=1e-3)
    assert result["ratios"]["spark_exponent"] == pytest.approx(1.0)
    status = {g["goal"]: g["status"] for g in result["goals"]}
    assert status == {
        "incremental": "pass",
        "gates": "pass",
        "spark_vs_duckdb": "miss",
        "linear": "pass",
        "gold_p95": "pass",
    }
    assert result["peak_memory"]["python_mib"] == 100.0

    path = report.write_json(result, tmp_path / "results")
    assert json.loads(path.read_text())["goals"] == result["goals"]

    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nReading.\n")
    result.update(
        {
            "machine": {
                "nproc": 2,
                "cpu_model": "cpu",
                "memory_gib": 1.0,
                "os": "os",
                "python": "3.11",
                "versions": {"duckdb": "x"},
            },
            "config": {
                "spark_master": "local[2]",
                "spark_driver_memory": "2g",
                "duckdb_threads": 2,
                "duckdb_memory_limit": "2GB",
            },
            "started_at": "s",
            "finished_at": "f",
            "total_wall_s": 1,
        }
    )
    report.update_docs(result, docs, path.name)
    report.update_docs(result, docs, path.name)  # replaces its block, never appends twice
    text = docs.read_text()
    assert text.startswith("# Benchmarks\n\nReading.") and text.count(report.DOCS_BEGIN) == 1
    assert "| spark_vs_duckdb |" in text


def test_fingerprint_ignores_row_order_and_run_metadata() -> None:
    con = duckdb.connect()
    a = con.sql("select range as k, range * 2 as v, now() as _ingested_at from range(5)")
    table = a.to_arrow_table()
    assert arrow_fingerprint(table, ["k"]) == arrow_fingerprint(table.take([4, 2, 0, 1, 3]), ["k"])
    assert arrow_fingerprint(table) != arrow_fingerprint(table.slice(0, 4))


def test_fingerprint_tolerates_float_summation_order_only() -> None:
    import pyarrow as pa

    summed = pa.table({"k": [1], "v": [0.1 + 0.2]})  # 0.30000000000000004
    assert arrow_fingerprint(summed) == arrow_fingerprint(pa.table({"k": [1], "v": [0.3]}))
    assert arrow_fingerprint(summed) != arrow_fingerprint(pa.table({"k": [1], "v": [0.31]}))
