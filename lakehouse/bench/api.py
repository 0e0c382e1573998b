"""One call that runs a benchmark, prints its report and writes its JSON (what the CLI calls)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from lakehouse.bench import report
from lakehouse.bench.generate import VALUE_MODELS
from lakehouse.bench.runner import BenchRunner
from lakehouse.bench.scales import resolve
from lakehouse.settings import Settings


@dataclass(frozen=True)
class BenchOutcome:
    """The finished result document and where it was written."""

    result: dict
    json_path: Path


def run_bench(
    settings: Settings,
    *,
    scales: list[str] | None = None,
    all_steps: bool = False,
    output_dir: Path = Path("bench/results"),
    work_dir: Path = Path("bench/work"),
    repeats: int = 20,
    model: str = "fast",
    docs_path: Path | None = None,
    console: Console | None = None,
) -> BenchOutcome:
    """Run the scales (or plans) given, print the report, write JSON and optionally the docs.

    Args:
        settings: Base settings (Spark master and memory).
        scales: Scale or plan names (``default``, ``smoke``, ``1x`` ...).
        all_steps: Run every step at every scale.
        output_dir: Folder of the result JSON files.
        work_dir: Folder of the generated lakes (reused between runs).
        repeats: Runs of each gold query.
        model: Generator value model (``fast`` or ``replay``).
        docs_path: If given, the results block of this Markdown file is rewritten.
        console: Where progress and the report go (stdout by default).

    Raises:
        ValueError: An unknown scale or model.
    """
    if console is None:
        console = Console()
        if not console.is_terminal:
            # Redirected to a file or a CI log: rich would wrap the wide tables at 80 columns.
            console = Console(width=180)
    plan = resolve(scales, all_steps)
    if model not in VALUE_MODELS:
        raise ValueError(f"unknown value model {model!r}; choose from {', '.join(VALUE_MODELS)}")
    console.print(
        "bench plan: " + ", ".join(f"{s.name} ({s.expected_rows:,} rows, {s.depth})" for s in plan)
    )
    runner = BenchRunner(
        settings,
        plan,
        work_dir.resolve(),
        repeats=repeats,
        model=model,
        progress=lambda line: console.print(f"  {line}", highlight=False, markup=False),
        checkpoint=lambda partial: report.write_json(report.finalize(partial), output_dir),
    )
    result = report.finalize(runner.run())
    json_path = report.write_json(result, output_dir)
    report.print_report(result, console, json_path)
    if docs_path is not None:
        report.update_docs(result, docs_path, json_path.name)
        console.print(f"docs: {docs_path}")
    return BenchOutcome(result, json_path)
