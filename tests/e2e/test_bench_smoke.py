"""`lakehouse bench --scale smoke` end to end: real Spark, DuckDB, dbt, gates and gold queries.

The smoke plan is tiny (4 cities x 1 month in full, 16 cities x 1 month landing -> bronze), so
the figures mean nothing; what is checked is that every section is measured, the numbers are
sane and the ratios and goals are computed, in the table on stdout and in the JSON file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Minutes on an idle 2-core machine; the timeout only stops a run that hangs on a loaded one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SECTIONS = ("bronze_spark", "bronze_duckdb", "transform")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    root = tmp_path_factory.mktemp("bench")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update({"LAKEHOUSE_LAKE_ROOT": str(root / "lake"), "COLUMNS": "200"})
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "lakehouse.cli.app",
            "bench",
            "--scale",
            "smoke",
            "--work-dir",
            str(root / "work"),
            "--output-dir",
            str(root / "results"),
            "--repeats",
            "3",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=1700,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    (path,) = (root / "results").glob("*.json")
    return completed.stdout, json.loads(path.read_text())


def test_every_step_was_measured_without_errors(smoke_run: tuple[str, dict]) -> None:
    _, result = smoke_run
    assert result["errors"] == []
    assert result["spark_startup"]["wall_s"] > 0
    smoke = result["scales"]["smoke"]
    for section in SECTIONS:
        for run in ("full", "incremental", "rebuild"):
            measure = smoke[section][run]
            assert measure["wall_s"] > 0 and measure["cpu_s"] >= 0, (section, run)
    parts = smoke["transform"]["full"]["parts"]
    assert {"gate_bronze", "dbt_silver", "gate_silver", "dbt_gold", "gate_gold"} <= set(parts)
    assert smoke["gold_queries"]["p95_s"] >= smoke["gold_queries"]["p50_s"] > 0
    assert set(result["scales"]["smoke-x4"]) >= {"bronze_spark", "bronze_duckdb"}


def test_engines_agree_and_incremental_equals_rebuild(smoke_run: tuple[str, dict]) -> None:
    _, result = smoke_run
    smoke = result["scales"]["smoke"]
    assert smoke["bronze_agreement"]["equal"] is True
    assert result["scales"]["smoke-x4"]["bronze_agreement"]["equal"] is True
    assert smoke["bronze_spark"]["full"]["table_rows"] == smoke["rows"] == 4 * 31 * 24
    assert smoke["incremental_check"]["bronze_identical"] is True
    assert smoke["incremental_check"]["gold_identical"] is True


def test_ratios_goals_and_memory_are_computed(smoke_run: tuple[str, dict]) -> None:
    _, result = smoke_run
    ratios = result["ratios"]["per_scale"]["smoke"]
    for key in ("spark_over_duckdb", "incremental_over_rebuild", "gates_share"):
        assert ratios[key] > 0, key
    assert result["ratios"]["spark_exponent"] is not None
    goals = {g["goal"]: g for g in result["goals"]}
    assert set(goals) == {"incremental", "gates", "spark_vs_duckdb", "linear", "gold_p95"}
    # smoke-x4 has only 4x the rows of smoke: too narrow a range to judge growth.
    assert goals["linear"]["status"] == "n/a" and goals["linear"]["value"] is not None
    assert all(g["status"] in ("pass", "miss") for n, g in goals.items() if n != "linear")
    assert result["peak_memory"]["python_mib"] > 0
    assert result["peak_memory"]["jvm_mib"] > 0


def test_table_is_printed(smoke_run: tuple[str, dict]) -> None:
    stdout, _ = smoke_run
    for text in (
        "Benchmark figures",
        "spark bronze full",
        "duckdb bronze full",
        "transform incremental",
        "Ratios per scale",
        "Goals",
        "spark_vs_duckdb",
        "peak memory",
        "results:",
    ):
        assert text in stdout, text
