"""Runs the benchmark: every step at every scale of the plan, measured, into one result document.

At a scale of depth ``all`` (1x, 10x, smoke):

1. land the base history (generated once, then reused);
2. landing -> bronze with Spark, full (first load), and the DuckDB baseline, full; both bronze
   tables are fingerprinted to show the two engines produced the same rows;
3. transform, full (gates, dbt silver and gold, stage, publish), then the analyst queries on the
   published gold, ``repeats`` times each;
4. land the increment (+1% new hours, plus the last 24 hours revised) and run Spark, the
   baseline and the transform incrementally;
5. rebuild everything from scratch over the same landing (Spark, baseline, transform, full) and
   check that the incremental path left exactly the same bronze and gold as the rebuild.

At a scale of depth ``bronze`` (100x, 10M) only steps 1-2 run. A step that fails is recorded
with its error and the run goes on with the next scale, so one broken part does not hide the
figures of the others.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.bench import generate
from lakehouse.bench.duckdb_baseline import DuckDBBaseline
from lakehouse.bench.fingerprint import delta_fingerprint
from lakehouse.bench.measure import Meter, find_jvm_pid, jvm_cpu_s, jvm_peak_mib
from lakehouse.bench.scales import Scale
from lakehouse.bench.workspace import ScaleWorkspace, contracts_from
from lakehouse.contracts import load_contract
from lakehouse.settings import Settings

SCHEMA_VERSION = 1
Progress = Callable[[str], None]


def machine_info() -> dict[str, Any]:
    """The machine the figures come from: cores, memory, CPU model, OS and engine versions."""
    from importlib.metadata import version

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gib = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    versions = {}
    for package in (
        "pyspark",
        "delta-spark",
        "duckdb",
        "deltalake",
        "dbt-core",
        "dbt-duckdb",
        "great-expectations",
    ):
        try:
            versions[package] = version(package)
        except Exception:  # noqa: BLE001 - a missing package is reported as such
            versions[package] = None
    return {
        "nproc": os.cpu_count(),
        "memory_gib": memory_gib,
        "cpu_model": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
        "versions": versions,
    }


class BenchRunner:
    """Runs the plan and collects the result document (see the module docstring).

    Args:
        settings: Base settings (Spark master and driver memory come from here).
        scales: Scales to run, in order.
        work_dir: Where each scale's lake and baseline live (kept between runs for reuse).
        repeats: How many times each gold query runs.
        model: Value model of the generator (``fast`` or ``replay``).
        progress: Called with one line per step as it starts and ends.
        checkpoint: Called with the result document so far after start-up and each scale, so
            a run cut short still leaves the figures it measured.
    """

    def __init__(
        self,
        settings: Settings,
        scales: list[Scale],
        work_dir: Path,
        *,
        repeats: int = 20,
        model: str = "fast",
        progress: Progress | None = None,
        checkpoint: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.checkpoint = checkpoint or (lambda result: None)
        self.scales = scales
        self.work_dir = work_dir
        self.repeats = repeats
        self.model = model
        self.progress = progress or (lambda line: None)
        self.meter = Meter()
        self.spark: Any = None
        self.errors: list[dict[str, str]] = []

    # ------------------------------------------------------------ helpers

    def _say(self, scale: str, step: str, detail: str = "") -> None:
        self.progress(f"[{scale}] {step}{(': ' + detail) if detail else ''}")

    def _attempt(self, scale: str, step: str, fn: Callable[[], Any]) -> Any:
        """Run one step; on failure record the error and return None."""
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - recorded, reported, and the run goes on
            message = f"{type(exc).__name__}: {exc}"
            # The message only: a traceback would carry this machine's paths into the results.
            self.errors.append({"scale": scale, "step": step, "error": message[:2000]})
            self._say(scale, step, f"FAILED {message[:300]}")
            return None

    def _ensure_spark(self) -> dict[str, Any]:
        from lakehouse.bench.spark_steps import start_session

        with self.meter.step() as m:
            self.spark = start_session(self.settings)
        self.meter.attach_jvm(find_jvm_pid(self.spark))
        m.extra["jvm_found"] = self.meter.jvm_pid is not None
        if self.meter.jvm_pid:
            # The JVM was born in this step: all its CPU and its peak so far belong to start-up.
            m.cpu_s = round(m.cpu_s + jvm_cpu_s(self.meter.jvm_pid), 3)
            m.jvm_peak_rss_mib = jvm_peak_mib(self.meter.jvm_pid)
        return m.to_dict()

    # ------------------------------------------------------------ steps

    def _spark_bronze(self, settings: Settings) -> dict[str, Any]:
        from lakehouse.bench.spark_steps import run_bronze

        with self.meter.step() as m:
            m.extra["job"] = run_bronze(self.spark, settings)
        table = settings.lake.bronze("weather__hourly")
        from deltalake import DeltaTable

        m.extra["table_rows"] = DeltaTable(str(table)).to_pyarrow_dataset().count_rows()
        return m.to_dict()

    def _baseline(self, ws: ScaleWorkspace, full: bool) -> dict[str, Any]:
        baseline = DuckDBBaseline(
            ws.lake,
            ws.baseline_table,
            ws.baseline_state,
            threads=_local_cores(self.settings.spark_master),
            memory_limit=_duckdb_memory(self.settings.spark_driver_memory),
        )
        with self.meter.step() as m:
            result = baseline.run(full=full)
        m.extra.update(
            {
                "rows_landed": result.rows_landed,
                "rows_written": result.rows_written,
                "rows_quarantined": result.rows_quarantined,
                "table_rows": result.table_rows,
                "read_parse_s": result.read_parse_s,
                "write_s": result.write_s,
            }
        )
        return m.to_dict()

    def _transform(self, settings: Settings, full_refresh: bool) -> dict[str, Any]:
        from lakehouse.bench.pipeline_steps import run_transform

        times = run_transform(settings, self.meter.step, full_refresh=full_refresh)
        return {
            "parts": times.parts,
            "marts": times.marts,
            "wall_s": times.total(),
            "cpu_s": times.total_cpu(),
            "dbt_wall_s": times.total("dbt_"),
            "gates_wall_s": times.total("gate_"),
            "publish_wall_s": times.total("publish_"),
            "dbt_cpu_s": times.total_cpu("dbt_"),
            "gates_cpu_s": times.total_cpu("gate_"),
        }

    def _bronze_agreement(self, settings: Settings, ws: ScaleWorkspace) -> dict[str, Any]:
        entity = load_contract("weather").entity("hourly")
        columns = list(dict.fromkeys([*entity.natural_key, *(f.name for f in entity.fields)]))
        spark_fp = delta_fingerprint(
            settings.lake.bronze("weather__hourly"), entity.natural_key, columns
        )
        duck_fp = delta_fingerprint(ws.baseline_table, entity.natural_key, columns)
        return {"spark": spark_fp, "duckdb": duck_fp, "equal": spark_fp == duck_fp}

    # ------------------------------------------------------------ one scale

    def run_scale(self, scale: Scale) -> dict[str, Any]:
        """Every step of ``scale`` (see the module docstring); the scale's section of the result."""
        ws = ScaleWorkspace(self.work_dir / scale.name)
        settings = ws.settings(self.settings)
        out: dict[str, Any] = {
            "cities": scale.cities,
            "months": scale.months,
            "depth": scale.depth,
            "rows": scale.expected_rows,
        }
        name = scale.name
        ws.reset()
        contracts = ws.write_contracts(scale.cities)
        with contracts_from(contracts):
            self._say(name, "landing", f"{scale.cities} cities x {scale.months} months")
            with self.meter.step() as m:
                summary, reused = generate.ensure_base(
                    ws.lake,
                    ws.manifest,
                    scale=name,
                    cities=scale.cities,
                    months=scale.months,
                    start_year=scale.start_year,
                    model=self.model,
                )
            out["landing"] = {**summary.__dict__, "reused": reused, "measure": m.to_dict()}
            out["rows"] = summary.rows
            self._say(
                name,
                "landing",
                f"{summary.rows:,} rows in {summary.objects:,} objects "
                f"({'reused' if reused else f'generated in {m.wall_s:.1f} s'})",
            )

            bronze: dict[str, Any] = {}
            baseline: dict[str, Any] = {}
            transform: dict[str, Any] = {}
            out.update({"bronze_spark": bronze, "bronze_duckdb": baseline, "transform": transform})

            def step(key: str, target: dict, label: str, fn: Callable[[], Any]) -> Any:
                self._say(name, label, "running")
                value = self._attempt(name, label, fn)
                if value is not None:
                    target[key] = value
                    if isinstance(value, dict) and "wall_s" in value:
                        self._say(
                            name, label, f"{value['wall_s']:.1f} s wall, {value['cpu_s']:.1f} s cpu"
                        )
                return value

            step("full", bronze, "spark bronze full", lambda: self._spark_bronze(settings))
            step("full", baseline, "duckdb bronze full", lambda: self._baseline(ws, True))
            agree = self._attempt(
                name, "bronze agreement", lambda: self._bronze_agreement(settings, ws)
            )
            if agree is not None:
                out["bronze_agreement"] = agree
                self._say(name, "bronze agreement", f"spark == duckdb: {agree['equal']}")
            if scale.depth != "all":
                return out

            if (
                step("full", transform, "transform full", lambda: self._transform(settings, True))
                is not None
            ):
                queries = self._attempt(
                    name,
                    "gold queries",
                    lambda: _queries(settings, self.repeats),
                )
                if queries is not None:
                    out["gold_queries"] = queries
                    self._say(
                        name,
                        "gold queries",
                        f"p50 {queries['p50_s'] * 1000:.1f} ms, "
                        f"p95 {queries['p95_s'] * 1000:.1f} ms",
                    )

            self._say(name, "landing increment", "+1% new hours, last 24 h revised")
            objects, landed, new = generate.generate_increment(
                ws.lake,
                scale=name,
                cities=scale.cities,
                months=scale.months,
                start_year=scale.start_year,
                values_fn=generate.VALUE_MODELS[self.model],
            )
            out["increment"] = {"objects": objects, "rows_landed": landed, "rows_new": new}
            step(
                "incremental",
                bronze,
                "spark bronze incremental",
                lambda: self._spark_bronze(settings),
            )
            step(
                "incremental",
                baseline,
                "duckdb bronze incremental",
                lambda: self._baseline(ws, False),
            )
            step(
                "incremental",
                transform,
                "transform incremental",
                lambda: self._transform(settings, False),
            )
            incremental_fp = self._attempt(
                name, "fingerprint incremental", lambda: _fingerprints(settings)
            )

            # The full rebuild over the same landing: the yardstick of the incremental run.
            ws.reset()
            step(
                "rebuild",
                bronze,
                "spark bronze rebuild",
                lambda: self._spark_bronze(settings),
            )
            step("rebuild", baseline, "duckdb bronze rebuild", lambda: self._baseline(ws, True))
            step("rebuild", transform, "transform rebuild", lambda: self._transform(settings, True))
            rebuild_fp = self._attempt(name, "fingerprint rebuild", lambda: _fingerprints(settings))
            if incremental_fp is not None and rebuild_fp is not None:
                out["incremental_check"] = {
                    "bronze_identical": incremental_fp["bronze"] == rebuild_fp["bronze"],
                    "gold_identical": incremental_fp["gold"] == rebuild_fp["gold"],
                    "incremental": incremental_fp,
                    "rebuild": rebuild_fp,
                }
                self._say(
                    name,
                    "incremental == rebuild",
                    f"bronze {out['incremental_check']['bronze_identical']}, "
                    f"gold {out['incremental_check']['gold_identical']}",
                )
        return out

    # ------------------------------------------------------------ whole plan

    def run(self) -> dict[str, Any]:
        """Run every scale; returns the result document (also what the JSON file holds)."""
        started = datetime.now(UTC)
        result: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "run_id": f"{started:%Y%m%dT%H%M%SZ}",
            "started_at": started.isoformat().replace("+00:00", "Z"),
            "machine": machine_info(),
            "config": {
                "spark_master": self.settings.spark_master,
                "spark_driver_memory": self.settings.spark_driver_memory,
                "duckdb_threads": _local_cores(self.settings.spark_master),
                "duckdb_memory_limit": _duckdb_memory(self.settings.spark_driver_memory),
                "gold_query_repeats": self.repeats,
                "value_model": self.model,
            },
            "plan": [
                {
                    "scale": s.name,
                    "cities": s.cities,
                    "months": s.months,
                    "depth": s.depth,
                    "rows": s.expected_rows,
                }
                for s in self.scales
            ],
            "scales": {},
            "errors": self.errors,
        }
        clock = time.perf_counter()
        self._say("spark", "start-up", "starting the local session")
        startup = self._attempt("spark", "start-up", self._ensure_spark)
        if startup is not None:
            result["spark_startup"] = startup
            self._say("spark", "start-up", f"{startup['wall_s']:.1f} s")
        result["status"] = "running"
        self.checkpoint(result)
        try:
            for scale in self.scales:
                result["scales"][scale.name] = self.run_scale(scale)
                self.checkpoint(result)
        finally:
            if self.spark is not None:
                self.spark.stop()
        result["status"] = "finished"
        result["finished_at"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        result["total_wall_s"] = round(time.perf_counter() - clock, 1)
        return result


def _queries(settings: Settings, repeats: int) -> dict[str, Any]:
    from lakehouse.bench.pipeline_steps import gold_query_times

    city = str(load_contract("weather").targets[0]["name"])
    return gold_query_times(settings, city, repeats)


def _fingerprints(settings: Settings) -> dict[str, Any]:
    from lakehouse.bench.pipeline_steps import gold_fingerprints

    entity = load_contract("weather").entity("hourly")
    return {
        "bronze": delta_fingerprint(settings.lake.bronze("weather__hourly"), entity.natural_key),
        "gold": gold_fingerprints(settings),
    }


def _local_cores(master: str) -> int:
    """Cores of a ``local[N]`` master (``local[*]``: all), so DuckDB gets as many threads."""
    inner = master.removeprefix("local").strip("[]")
    if inner.isdigit():
        return int(inner)
    return os.cpu_count() or 1


def _duckdb_memory(spark_memory: str) -> str:
    """Spark's ``2g`` as DuckDB's ``2GB``."""
    text = spark_memory.strip().lower()
    for suffix, unit in (("g", "GB"), ("m", "MB"), ("k", "KB")):
        if text.endswith(suffix):
            return text[: -len(suffix)] + unit
    return spark_memory
