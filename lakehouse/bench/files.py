"""Benchmark of the bulk-files path: generated I94 SAS7BDAT months -> landing -> bronze, by size.

Each scale is a number of arrival rows per month over the same months; every step is measured
with :class:`lakehouse.bench.measure.Meter` (wall time, CPU, peak resident memory of this
process, of the Spark JVM and of its Python workers, where the SAS files are read). The figures
answer one question: does memory stay flat while the data grows a hundredfold? The SAS reader
works on row ranges of at most ``TASK_BYTES`` of file per task and ``TABLE_CHUNK_ROWS`` rows at
a time, so it should.

Run: ``make bench-files`` (1x and 100x) or ``python -m lakehouse.bench.files --scale 1x=2500
--scale 100x=250000 --months 12``. Results go to ``bench/results/files-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.bench.measure import JvmHeap, Meter, _children, _status_kib, find_jvm_pid
from lakehouse.bench.runner import machine_info
from lakehouse.contracts import load_contract
from lakehouse.replay.immigration import Month
from lakehouse.settings import Settings

SOURCE, ENTITY = "immigration", "arrivals"


def _is_python_worker(pid: int) -> bool:
    # By command line (``python -m pyspark.daemon``, which its forked workers keep): a child the
    # JVM has forked but not yet exec'd (Hadoop's shell commands, the daemon's own start) shows
    # the JVM's command line and memory figures for a moment.
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"pyspark.daemon" in args and b"java" not in Path(args[0].decode()).name.encode()


def _workers_peak_kib(jvm_pid: int) -> int:
    """Largest peak resident memory among the JVM's Python workers (pyspark daemon and the
    workers it forks), in KiB."""
    peak = 0
    queue = _children(jvm_pid)
    while queue:
        pid = queue.pop()
        if _is_python_worker(pid):
            peak = max(peak, _status_kib(pid, "VmHWM") or 0)
            queue.extend(_children(pid))
    return peak


def children_peak_kib() -> int:
    """The largest peak resident memory of this process's finished children, in KiB (Linux)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


class WorkerPeak:
    """Samples the Python workers' peak memory while a step runs: Spark stops a worker that is
    idle for a minute, so a look after the step would miss the workers that did the reading."""

    def __init__(self, jvm_pid: int | None, every_s: float = 0.5) -> None:
        self.jvm_pid, self.every_s = jvm_pid, every_s
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, _workers_peak_kib(self.jvm_pid))
            self._stop.wait(self.every_s)

    def __enter__(self) -> WorkerPeak:
        if self.jvm_pid:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.jvm_pid:
            self._stop.set()
            self._thread.join()
            self.peak_kib = max(self.peak_kib, _workers_peak_kib(self.jvm_pid))

    @property
    def mib(self) -> float | None:
        return round(self.peak_kib / 1024, 1) if self.peak_kib else None


def run_scale(
    spark: Any,
    meter: Meter,
    work: Path,
    name: str,
    rows: int,
    months: list[Month],
    regenerate: bool = False,
) -> dict[str, Any]:
    """Generate (or reuse), land and load one scale in a fresh lake under ``work/name``."""
    from lakehouse.sources import IngestRequest
    from lakehouse.sources.files import run as land
    from spark.landing_to_bronze import run as bronze

    load_start = list(os.getloadavg())
    root = work / name
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings(lake_root=root / "lake", _env_file=None)
    contract = load_contract(SOURCE)
    steps: dict[str, Any] = {}
    # The generator is seeded, so a size's files are the same every time: made once and kept
    # (landing only reads them), a second run measures landing and bronze without waiting
    # minutes for 500 MB of SAS files it already has.
    inbox = work / "generated" / f"{rows}-rows-{len(months)}-months"
    done_marker = inbox.with_name(inbox.name + ".complete")
    if not done_marker.exists() or regenerate:
        shutil.rmtree(inbox, ignore_errors=True)
        # In a process of its own: what the generator allocates would otherwise stay in this
        # process and be counted as the landing step's peak.
        command = [sys.executable, "-m", "lakehouse.replay.immigration", str(inbox)]
        command += ["--months", ",".join(f"{m.year}-{m.month:02d}" for m in months)]
        command += ["--rows", str(rows), "--arrivals-only"]
        with meter.step() as generated:
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        done_marker.touch()
        steps["generate"] = {
            **generated.to_dict(),
            "generator_peak_rss_mib": round(children_peak_kib() / 1024, 1),
        }
    else:
        steps["generate"] = {"reused": str(inbox)}
    steps["generate"]["bytes"] = sum(p.stat().st_size for p in inbox.iterdir())
    start_kib = _status_kib("self", "VmRSS") or 0
    with meter.step() as landed:
        result = land(settings, contract, IngestRequest(location=str(inbox)))
    steps["land"] = {
        **landed.to_dict(),
        # What landing itself took: the process's peak also holds what earlier steps left
        # (the first bronze load's imports), and the JVM idles while files land.
        "peak_above_start_mib": round((landed.peak_rss_mib or 0) - start_kib / 1024, 1),
        "jvm_peak_rss_mib": None,
        "files": len(result.targets),
    }
    heap = JvmHeap(spark)
    heap.reset()
    with WorkerPeak(meter.jvm_pid) as workers, meter.step() as loaded:
        done = bronze(spark, settings.lake, SOURCE, ENTITY)
    steps["bronze"] = {
        **loaded.to_dict(),
        **heap.figures(),
        "rows_valid": done.rows_valid,
        "rows_quarantined": done.rows_quarantined,
        "python_worker_peak_rss_mib": workers.mib,
    }
    return {
        "scale": name,
        "load_average": {"start": load_start, "end": list(os.getloadavg())},
        "rows_per_month": rows,
        "months": len(months),
        "rows": rows * len(months),
        "steps": steps,
    }


_TIME = {"wall": "wall_s", "cpu": "cpu_s"}
# The figures compared between sizes, per step: generating is the bench's fixture and landing
# streams files (its memory is said by peak_above_start_mib), so only their time is compared.
_RATIO_FIGURES = {
    "generate": _TIME,
    "land": _TIME,
    "bronze": {
        **_TIME,
        "process_peak": "peak_rss_mib",
        "jvm_peak": "jvm_peak_rss_mib",
        "worker_peak": "python_worker_peak_rss_mib",
        "heap_peak": "jvm_heap_peak_used_mib",
        "old_gen_peak": "jvm_old_gen_peak_mib",
        "heap_committed": "jvm_heap_committed_mib",
        "heap_live_after": "jvm_heap_live_after_mib",
    },
}


def ratios(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each scale's figures per step against the first (smallest) scale's: time should grow
    with the rows, peak memory should stay near 1."""
    if not results:
        return []
    base = results[0]
    out = []
    for result in results[1:]:
        row: dict[str, Any] = {"scale": result["scale"], "rows": result["rows"] / base["rows"]}
        for step, figures in result["steps"].items():
            for label, key in _RATIO_FIGURES.get(step, {}).items():
                mine, theirs = figures.get(key), base["steps"][step].get(key)
                if mine is not None and theirs:
                    row[f"{step}_{label}"] = round(mine / theirs, 2)
        out.append(row)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the SAS7BDAT files path by size.")
    parser.add_argument(
        "--scale",
        action="append",
        default=None,
        help="NAME=ROWS_PER_MONTH, repeatable (default 1x=2500 100x=250000)",
    )
    parser.add_argument("--months", type=int, default=12, help="months of 2016 (1-12)")
    parser.add_argument("--work-dir", type=Path, default=Path("bench/work/files"))
    parser.add_argument(
        "--regenerate", action="store_true", help="write the SAS files again even if kept"
    )
    parser.add_argument("--output-dir", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    scales = [s.split("=", 1) for s in (args.scale or ["1x=2500", "100x=250000"])]
    months = [Month(2016, m) for m in range(1, args.months + 1)]

    from spark.session import get_session

    settings = Settings(lake_root=args.work_dir / "session", _env_file=None)
    spark = get_session(settings, app_name="lakehouse-bench-files")
    spark.range(1).count()
    meter = Meter()
    meter.attach_jvm(find_jvm_pid(spark))
    results = []
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.output_dir / f"files-{stamp}.json"
    for name, rows in scales:
        result = run_scale(spark, meter, args.work_dir, name, int(rows), months, args.regenerate)
        results.append(result)
        bronze = result["steps"]["bronze"]
        print(
            f"{name}: {result['rows']} rows, {result['steps']['generate']['bytes']} bytes; "
            f"land {result['steps']['land']['wall_s']} s, "
            f"{result['steps']['land']['peak_above_start_mib']} MiB above its start; "
            f"bronze {bronze['wall_s']} s, JVM peak {bronze['jvm_peak_rss_mib']} MiB "
            f"(heap: peak used {bronze['jvm_heap_peak_used_mib']}, old generation peak "
            f"{bronze['jvm_old_gen_peak_mib']}, committed {bronze['jvm_heap_committed_mib']}, "
            f"live after {bronze['jvm_heap_live_after_mib']} MiB), "
            f"Python worker peak {bronze['python_worker_peak_rss_mib']} MiB",
            flush=True,
        )
        # Written after every scale: a run stopped at 100x keeps the smaller scales' figures.
        report = {"machine": machine_info(), "results": results, "ratios": ratios(results)}
        out.write_text(json.dumps(report, indent=2))
    spark.stop()
    for row in ratios(results):
        print(
            f"{row['scale']} / {scales[0][0]}: rows x{row['rows']:g}; "
            + ", ".join(f"{k} x{v}" for k, v in row.items() if k not in ("scale", "rows")),
            flush=True,
        )
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
