"""The SAS files bench (`make bench-files`) on two tiny sizes, in the test session's Spark.

The figures of so small a run mean nothing; what is checked is that each step is measured
(resident memory of the JVM and its Python workers, the JVM's heap), that every generated row
reaches bronze, that a size's files are generated once and reused, and that the ratios between
sizes are computed from the figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lakehouse.bench.files import ratios, run_scale
from lakehouse.bench.measure import Meter, find_jvm_pid
from lakehouse.replay.immigration import Month

pytestmark = pytest.mark.slow

MONTHS = [Month(2016, 1), Month(2016, 2)]


def test_each_size_is_measured_and_compared_to_the_first(spark: Any, tmp_path: Path) -> None:
    meter = Meter()
    meter.attach_jvm(find_jvm_pid(spark))
    small = run_scale(spark, meter, tmp_path, "1x", 40, MONTHS)
    large = run_scale(spark, meter, tmp_path, "3x", 120, MONTHS)

    for result, rows in ((small, 80), (large, 240)):
        assert result["rows"] == rows
        generated, landed, bronze = (result["steps"][s] for s in ("generate", "land", "bronze"))
        assert generated["wall_s"] > 0 and generated["bytes"] > 0
        assert landed["files"] == len(MONTHS)
        assert landed["peak_above_start_mib"] < 50  # streamed: no file is held in memory
        assert (bronze["rows_valid"], bronze["rows_quarantined"]) == (rows, 0)
        assert bronze["jvm_peak_rss_mib"] > bronze["jvm_heap_live_after_mib"] > 0
        assert bronze["jvm_heap_committed_mib"] >= bronze["jvm_heap_live_after_mib"]
        assert bronze["python_worker_peak_rss_mib"] > 0  # the SAS readers were sampled

    (row,) = ratios([small, large])
    assert row["scale"] == "3x" and row["rows"] == 3
    assert {"land_wall", "bronze_jvm_peak", "bronze_worker_peak"} <= set(row)
    assert "land_jvm_peak" not in row  # the JVM idles while files land
    assert row["bronze_jvm_peak"] == round(
        large["steps"]["bronze"]["jvm_peak_rss_mib"] / small["steps"]["bronze"]["jvm_peak_rss_mib"],
        2,
    )

    # The same size again: its files are reused (seeded, so the same bytes), the lake is new.
    again = run_scale(spark, meter, tmp_path, "1x", 40, MONTHS)
    assert again["steps"]["generate"]["reused"]
    assert "wall_s" not in again["steps"]["generate"]
    assert again["steps"]["generate"]["bytes"] == small["steps"]["generate"]["bytes"]
    assert again["steps"]["bronze"]["rows_valid"] == 80
