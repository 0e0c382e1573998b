"""Reading a result document: ratios, goals (pass/miss), the stdout table and the JSON file.

The goals are the issue's, reported and never asserted:

- ``incremental``: an incremental run (+1% data) costs <= 5% of a full rebuild (bronze and
  transform together), with identical gold;
- ``gates``: the gates add <= 15% to the layers they guard;
- ``spark_vs_duckdb``: Spark within 2x of DuckDB at 10M rows, start-up excluded;
- ``linear``: cost grows linearly from 1x to 100x (fitted exponent <= 1.1);
- ``gold_p95``: analyst queries on gold answer in <= 1 s at the 95th percentile.

Each goal is judged on wall time at the largest scale that measured it; the CPU-time reading is
shown beside it because on a shared machine wall time also counts other people's work.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

INCREMENTAL_MAX = 0.05
GATES_MAX = 0.15
SPARK_VS_DUCKDB_MAX = 2.0
LINEAR_MAX_EXPONENT = 1.1
LINEAR_MIN_SPAN = 10
GOLD_P95_MAX_S = 1.0


def _get(data: dict, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return round(a / b, 4)


def _scales_with(result: dict, *path: str) -> list[str]:
    """Scale names (plan order) whose section has ``path``."""
    return [n for n, s in result.get("scales", {}).items() if _get(s, *path) is not None]


def fit_exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(cost) against log(rows): 1.0 is linear."""
    points = [(r, c) for r, c in points if r > 0 and c > 0]
    if len(points) < 2 or len({r for r, _ in points}) < 2:
        return None
    xs = [math.log(r) for r, _ in points]
    ys = [math.log(c) for _, c in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx, 3)


def compute_ratios(result: dict) -> dict[str, Any]:
    """Every ratio the table and goals show, per scale and overall."""
    ratios: dict[str, Any] = {"per_scale": {}}
    for name, s in result.get("scales", {}).items():
        r: dict[str, Any] = {}
        spark_full = _get(s, "bronze_spark", "full", "wall_s")
        duck_full = _get(s, "bronze_duckdb", "full", "wall_s")
        r["spark_over_duckdb"] = _ratio(spark_full, duck_full)
        r["spark_over_duckdb_cpu"] = _ratio(
            _get(s, "bronze_spark", "full", "cpu_s"), _get(s, "bronze_duckdb", "full", "cpu_s")
        )
        rows = s.get("rows") or 0
        if spark_full and rows:
            r["spark_s_per_million_rows"] = round(spark_full / rows * 1e6, 3)
        if duck_full and rows:
            r["duckdb_s_per_million_rows"] = round(duck_full / rows * 1e6, 3)
        for kind in ("wall_s", "cpu_s"):
            suffix = "" if kind == "wall_s" else "_cpu"
            inc = [
                _get(s, "bronze_spark", "incremental", kind),
                _get(s, "transform", "incremental", kind),
            ]
            full = [_get(s, "bronze_spark", "rebuild", kind), _get(s, "transform", "rebuild", kind)]
            if None not in inc and None not in full:
                r["incremental_over_rebuild" + suffix] = _ratio(sum(inc), sum(full))
            r["spark_incremental_over_rebuild" + suffix] = _ratio(inc[0], full[0])
            r["transform_incremental_over_rebuild" + suffix] = _ratio(inc[1], full[1])
            r["duckdb_incremental_over_rebuild" + suffix] = _ratio(
                _get(s, "bronze_duckdb", "incremental", kind),
                _get(s, "bronze_duckdb", "rebuild", kind),
            )
        parts = _get(s, "transform", "full", "parts") or {}
        if parts and spark_full:
            gates = sum(p["wall_s"] for k, p in parts.items() if k.startswith("gate_"))
            guarded = spark_full + sum(
                p["wall_s"] for k, p in parts.items() if not k.startswith("gate_")
            )
            r["gates_share"] = _ratio(gates, guarded)
            gates_cpu = sum(p["cpu_s"] for k, p in parts.items() if k.startswith("gate_"))
            guarded_cpu = (_get(s, "bronze_spark", "full", "cpu_s") or 0) + sum(
                p["cpu_s"] for k, p in parts.items() if not k.startswith("gate_")
            )
            r["gates_share_cpu"] = _ratio(gates_cpu, guarded_cpu)
            # Without the Spark job: what the gates add to the transform (dbt and publish) alone.
            r["gates_share_of_transform"] = _ratio(gates, guarded - spark_full)
            # Each gate against the layer it guards.
            r["gate_bronze_share"] = _ratio(_get(parts, "gate_bronze", "wall_s"), spark_full)
            r["gate_silver_share"] = _ratio(
                _get(parts, "gate_silver", "wall_s"), _get(parts, "dbt_silver", "wall_s")
            )
            r["gate_gold_share"] = _ratio(
                _get(parts, "gate_gold", "wall_s"), _get(parts, "dbt_gold", "wall_s")
            )
        ratios["per_scale"][name] = r
    # Growth with data: the 12-month family (1x, 10x, 100x, 10M; or the smoke pair).
    for engine, section in (("spark", "bronze_spark"), ("duckdb", "bronze_duckdb")):
        for kind, suffix in (("wall_s", ""), ("cpu_s", "_cpu")):
            points = [
                (s["rows"], _get(s, section, "full", kind))
                for s in result.get("scales", {}).values()
                if _get(s, section, "full", kind) is not None and s.get("rows")
            ]
            ratios[f"{engine}_exponent{suffix}"] = fit_exponent(points)
    return ratios


def _goal(
    name: str, target: str, value: Any, ok: bool | None, scale: str | None, detail: str = ""
) -> dict[str, Any]:
    status = "n/a" if ok is None else ("pass" if ok else "miss")
    return {
        "goal": name,
        "target": target,
        "value": value,
        "status": status,
        "scale": scale,
        "detail": detail,
    }


def evaluate_goals(result: dict, ratios: dict) -> list[dict[str, Any]]:
    """The five goals, each judged at the largest scale that measured it."""
    goals = []
    per = ratios["per_scale"]

    inc = [n for n in per if per[n].get("incremental_over_rebuild") is not None]
    if inc:
        n = inc[-1]
        value = per[n]["incremental_over_rebuild"]
        identical = _get(result, "scales", n, "incremental_check", "gold_identical")
        goals.append(
            _goal(
                "incremental",
                f"<= {INCREMENTAL_MAX:.0%} of a full rebuild, identical gold",
                value,
                value <= INCREMENTAL_MAX and identical is True,
                n,
                f"cpu {per[n].get('incremental_over_rebuild_cpu')}, gold identical: {identical}",
            )
        )
    else:
        goals.append(_goal("incremental", f"<= {INCREMENTAL_MAX:.0%}", None, None, None))

    gates = [n for n in per if per[n].get("gates_share") is not None]
    if gates:
        n = gates[-1]
        value = per[n]["gates_share"]
        goals.append(
            _goal(
                "gates",
                f"add <= {GATES_MAX:.0%}",
                value,
                value <= GATES_MAX,
                n,
                f"cpu {per[n].get('gates_share_cpu')}; of the transform alone "
                f"{per[n].get('gates_share_of_transform')}; "
                f"bronze {per[n].get('gate_bronze_share')}, "
                f"silver {per[n].get('gate_silver_share')}, gold {per[n].get('gate_gold_share')}",
            )
        )
    else:
        goals.append(_goal("gates", f"add <= {GATES_MAX:.0%}", None, None, None))

    versus = [n for n in per if per[n].get("spark_over_duckdb") is not None]
    if versus:
        n = "10m" if "10m" in versus else versus[-1]
        value = per[n]["spark_over_duckdb"]
        goals.append(
            _goal(
                "spark_vs_duckdb",
                f"Spark <= {SPARK_VS_DUCKDB_MAX:g}x DuckDB at 10M, no start-up",
                value,
                value <= SPARK_VS_DUCKDB_MAX,
                n,
                f"cpu {per[n].get('spark_over_duckdb_cpu')}"
                + ("" if n == "10m" else "; 10M not run, judged at the largest scale"),
            )
        )
    else:
        goals.append(_goal("spark_vs_duckdb", f"<= {SPARK_VS_DUCKDB_MAX:g}x", None, None, None))

    exponent = ratios.get("spark_exponent")
    sized = [
        s["rows"]
        for s in result.get("scales", {}).values()
        if _get(s, "bronze_spark", "full", "wall_s") is not None and s.get("rows")
    ]
    # Over less than a 10x range of rows, fixed costs decide the slope: no verdict.
    spans = len(sized) >= 2 and max(sized) >= LINEAR_MIN_SPAN * min(sized)
    goals.append(
        _goal(
            "linear",
            f"cost ~ rows (exponent <= {LINEAR_MAX_EXPONENT})",
            exponent,
            exponent <= LINEAR_MAX_EXPONENT if exponent is not None and spans else None,
            ",".join(_scales_with(result, "bronze_spark", "full")) or None,
            f"spark cpu {ratios.get('spark_exponent_cpu')}; duckdb {ratios.get('duckdb_exponent')}"
            + ("" if spans else f"; judged only over >= {LINEAR_MIN_SPAN}x rows"),
        )
    )

    queried = _scales_with(result, "gold_queries", "p95_s")
    if queried:
        n = queried[-1]
        value = result["scales"][n]["gold_queries"]["p95_s"]
        goals.append(
            _goal(
                "gold_p95",
                f"<= {GOLD_P95_MAX_S:g} s",
                value,
                value <= GOLD_P95_MAX_S,
                n,
                f"p50 {result['scales'][n]['gold_queries']['p50_s']} s",
            )
        )
    else:
        goals.append(_goal("gold_p95", f"<= {GOLD_P95_MAX_S:g} s", None, None, None))
    return goals


def peak_memory(result: dict) -> dict[str, float | None]:
    """Largest per-step peak RSS of this process and of the Spark JVM over the whole run."""
    python_peaks, jvm_peaks = [], []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("peak_rss_mib"), int | float):
                python_peaks.append(node["peak_rss_mib"])
            if isinstance(node.get("jvm_peak_rss_mib"), int | float):
                jvm_peaks.append(node["jvm_peak_rss_mib"])
            for value in node.values():
                visit(value)

    visit(result.get("scales", {}))
    visit(result.get("spark_startup", {}))
    return {
        "python_mib": max(python_peaks) if python_peaks else None,
        "jvm_mib": max(jvm_peaks) if jvm_peaks else None,
    }


def finalize(result: dict) -> dict:
    """Add ratios, goals and peak memory to a result document (in place) and return it."""
    result["ratios"] = compute_ratios(result)
    result["goals"] = evaluate_goals(result, result["ratios"])
    result["peak_memory"] = peak_memory(result)
    return result


def write_json(result: dict, output_dir: Path) -> Path:
    """Write ``<output_dir>/<run_id>.json`` atomically; returns its path."""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{result['run_id']}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def figures_rows(result: dict) -> list[list[str]]:
    """Rows of the figures table: step, scale, rows, wall s, cpu s, rows/s, peak MiB."""
    rows: list[list[str]] = []
    startup = result.get("spark_startup")
    if startup:
        rows.append(
            [
                "spark start-up",
                "-",
                "-",
                _s(startup["wall_s"]),
                _s(startup["cpu_s"]),
                "-",
                _s(startup.get("jvm_peak_rss_mib")),
            ]
        )
    steps = [
        ("landing generate", ("landing", "measure"), "rows"),
        ("spark bronze full", ("bronze_spark", "full"), "rows"),
        ("duckdb bronze full", ("bronze_duckdb", "full"), "rows"),
        ("transform full", ("transform", "full"), "rows"),
        ("spark bronze incremental", ("bronze_spark", "incremental"), "inc"),
        ("duckdb bronze incremental", ("bronze_duckdb", "incremental"), "inc"),
        ("transform incremental", ("transform", "incremental"), "inc"),
        ("spark bronze rebuild", ("bronze_spark", "rebuild"), "all"),
        ("duckdb bronze rebuild", ("bronze_duckdb", "rebuild"), "all"),
        ("transform rebuild", ("transform", "rebuild"), "all"),
    ]
    for name, s in result.get("scales", {}).items():
        for label, path, basis in steps:
            m = _get(s, *path)
            if not m:
                continue
            if label == "landing generate" and _get(s, "landing", "reused"):
                label = "landing (reused)"
            count = s.get("rows") or 0
            if basis == "inc":
                count = _get(s, "increment", "rows_landed") or 0
            elif basis == "all":
                count = count + (_get(s, "increment", "rows_new") or 0)
            rate = f"{count / m['wall_s']:,.0f}" if m.get("wall_s") and count else "-"
            peak = m.get("peak_rss_mib")
            if m.get("jvm_peak_rss_mib"):
                peak = f"{_s(peak)} (+jvm {m['jvm_peak_rss_mib']:.0f})"
            else:
                peak = _s(peak) if peak is not None else "-"
            if "parts" in m:
                peak = _s(max((p.get("peak_rss_mib") or 0) for p in m["parts"].values()))
            rows.append(
                [label, name, f"{count:,}", _s(m.get("wall_s")), _s(m.get("cpu_s")), rate, peak]
            )
        q = s.get("gold_queries")
        if q:
            rows.append(
                [
                    f"gold queries p50 / p95 (x{q['repeats']})",
                    name,
                    "-",
                    f"{q['p50_s']:.3f} / {q['p95_s']:.3f}",
                    "-",
                    "-",
                    "-",
                ]
            )
    return rows


def print_report(
    result: dict, console: Console | None = None, json_path: Path | None = None
) -> None:
    """Print the figures, the ratios and the goals (stdout by default)."""
    console = console or Console()
    table = Table(
        title="Benchmark figures (wall and CPU seconds; noisy machine: read ratios)",
        title_justify="left",
    )
    for column in ("step", "scale", "rows", "wall s", "cpu s", "rows/s (wall)", "peak MiB"):
        table.add_column(
            column,
            justify="left" if column in ("step", "scale") else "right",
            no_wrap=column in ("step", "scale"),
        )
    for row in figures_rows(result):
        table.add_row(*row)
    console.print(table)

    ratios = result["ratios"]
    rt = Table(title="Ratios per scale (wall; cpu in brackets)", title_justify="left")
    for column in (
        "scale",
        "spark/duckdb",
        "incr/rebuild",
        "spark incr/rebuild",
        "transform incr/rebuild",
        "duckdb incr/rebuild",
        "gates share",
        "spark s/M rows",
        "duckdb s/M rows",
        "same bronze",
        "incr==rebuild gold",
    ):
        rt.add_column(column, justify="left" if column == "scale" else "right")
    for name, r in ratios["per_scale"].items():
        s = result["scales"][name]
        rt.add_row(
            name,
            f"{_x(r.get('spark_over_duckdb'))} ({_x(r.get('spark_over_duckdb_cpu'))})",
            f"{_x(r.get('incremental_over_rebuild'))} "
            f"({_x(r.get('incremental_over_rebuild_cpu'))})",
            _x(r.get("spark_incremental_over_rebuild")),
            _x(r.get("transform_incremental_over_rebuild")),
            _x(r.get("duckdb_incremental_over_rebuild")),
            f"{_x(r.get('gates_share'))} ({_x(r.get('gates_share_cpu'))})",
            _x(r.get("spark_s_per_million_rows")),
            _x(r.get("duckdb_s_per_million_rows")),
            str(_get(s, "bronze_agreement", "equal") if "bronze_agreement" in s else "-"),
            str(
                _get(s, "incremental_check", "gold_identical") if "incremental_check" in s else "-"
            ),
        )
    console.print(rt)
    console.print(
        f"growth exponent (1.0 = linear): spark {_x(ratios.get('spark_exponent'))} "
        f"(cpu {_x(ratios.get('spark_exponent_cpu'))}), duckdb "
        f"{_x(ratios.get('duckdb_exponent'))} (cpu {_x(ratios.get('duckdb_exponent_cpu'))})"
    )

    gt = Table(title="Goals (reported, not asserted)", title_justify="left")
    for column in ("goal", "target", "value", "status", "at", "detail"):
        # Names stay whole (scripts and tests grep them); the detail wraps instead.
        gt.add_column(column, no_wrap=column in ("goal", "value", "status"))
    colours = {"pass": "green", "miss": "red", "n/a": "yellow"}
    for g in result["goals"]:
        gt.add_row(
            g["goal"],
            g["target"],
            _x(g["value"]),
            f"[{colours[g['status']]}]{g['status']}[/]",
            g["scale"] or "-",
            g["detail"],
        )
    console.print(gt)
    peak = result.get("peak_memory", {})
    console.print(
        f"peak memory: python {_s(peak.get('python_mib'))} MiB, spark jvm "
        f"{_s(peak.get('jvm_mib'))} MiB; total {result.get('total_wall_s')} s"
    )
    for error in result.get("errors", []):
        console.print(f"[red]error[/] [{error['scale']}] {error['step']}: {error['error'][:300]}")
    if json_path:
        console.print(f"results: {json_path}")


DOCS_BEGIN = "<!-- BEGIN BENCH RESULTS (written by `lakehouse bench --update-docs`) -->"
DOCS_END = "<!-- END BENCH RESULTS -->"


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(result: dict, json_name: str | None = None) -> str:
    """The results block of ``docs/benchmarks.md``: machine, figures, ratios and goals."""
    machine = result["machine"]
    config = result["config"]
    ratios = result["ratios"]
    if result.get("status", "finished") == "finished":
        when = (
            f"Run `{result['run_id']}` ({result['started_at']} to {result.get('finished_at')}, "
            f"{result.get('total_wall_s')} s in total)"
        )
    else:
        planned = ", ".join(p["scale"] for p in result.get("plan", []))
        done = ", ".join(result.get("scales", {})) or "none"
        when = (
            f"Run `{result['run_id']}` (started {result['started_at']}), **cut short**: of the "
            f"planned scales ({planned}) only these finished: {done}"
        )
    lines = [
        DOCS_BEGIN,
        "",
        when + (f"; raw figures in `bench/results/{json_name}`." if json_name else "."),
        "",
        f"Machine: {machine['nproc']} cores ({machine['cpu_model']}), "
        f"{machine['memory_gib']} GiB memory, {machine['os']}, Python {machine['python']}; "
        f"load average at start {machine.get('load_average_at_start')}. "
        f"Spark `{config['spark_master']}` with {config['spark_driver_memory']} driver memory; "
        f"DuckDB {config['duckdb_threads']} threads, {config['duckdb_memory_limit']} memory limit. "
        "Versions: " + ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v) + ".",
        "",
        "### Figures",
        "",
        _md_table(
            ["step", "scale", "rows", "wall s", "cpu s", "rows/s (wall)", "peak MiB"],
            figures_rows(result),
        ),
        "",
        "### Ratios",
        "",
    ]
    rows = []
    for name, r in ratios["per_scale"].items():
        s = result["scales"][name]
        rows.append(
            [
                name,
                f"{_x(r.get('spark_over_duckdb'))} ({_x(r.get('spark_over_duckdb_cpu'))})",
                f"{_x(r.get('incremental_over_rebuild'))} "
                f"({_x(r.get('incremental_over_rebuild_cpu'))})",
                f"{_x(r.get('gates_share'))} ({_x(r.get('gates_share_cpu'))})",
                str(_get(s, "bronze_agreement", "equal") if "bronze_agreement" in s else "-"),
                str(
                    _get(s, "incremental_check", "gold_identical")
                    if "incremental_check" in s
                    else "-"
                ),
            ]
        )
    lines += [
        _md_table(
            [
                "scale",
                "spark / duckdb (cpu)",
                "incremental / rebuild (cpu)",
                "gates share (cpu)",
                "spark bronze == duckdb bronze",
                "incremental gold == rebuild gold",
            ],
            rows,
        ),
        "",
        f"Growth exponent of the full landing -> bronze run against rows (1.0 = linear): Spark "
        f"{_x(ratios.get('spark_exponent'))} (cpu {_x(ratios.get('spark_exponent_cpu'))}), "
        f"DuckDB {_x(ratios.get('duckdb_exponent'))} "
        f"(cpu {_x(ratios.get('duckdb_exponent_cpu'))}).",
        "",
        "### Goals",
        "",
        _md_table(
            ["goal", "target", "value", "status", "at", "detail"],
            [
                [
                    g["goal"],
                    g["target"],
                    _x(g["value"]),
                    g["status"],
                    g["scale"] or "-",
                    g["detail"],
                ]
                for g in result["goals"]
            ],
        ),
        "",
        f"Peak memory: Python process {_s(result['peak_memory'].get('python_mib'))} MiB, "
        f"Spark JVM {_s(result['peak_memory'].get('jvm_mib'))} MiB.",
    ]
    if result.get("errors"):
        lines += ["", "Steps that failed in this run:", ""]
        lines += [f"- [{e['scale']}] {e['step']}: {e['error'][:300]}" for e in result["errors"]]
    lines += ["", DOCS_END]
    return "\n".join(lines)


def update_docs(result: dict, docs_path: Path, json_name: str | None = None) -> None:
    """Replace the results block of ``docs_path`` (between the markers) with this run's."""
    text = docs_path.read_text(encoding="utf-8") if docs_path.exists() else ""
    block = render_markdown(result, json_name)
    if DOCS_BEGIN in text and DOCS_END in text:
        head, rest = text.split(DOCS_BEGIN, 1)
        tail = rest.split(DOCS_END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + "## Latest results\n\n" + block + "\n"
    docs_path.write_text(text, encoding="utf-8")
