"""`lakehouse bench`: cost against data size, with a DuckDB baseline (docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakehouse.settings import get_settings


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""

    @app.command(
        "bench",
        epilog=(
            "Examples: lakehouse bench (1x and 10x in full, 100x and 10M landing -> bronze); "
            "lakehouse bench --scale smoke; lakehouse bench --scale 1x --scale 100x --all-steps"
        ),
    )
    def bench(
        scale: Annotated[
            list[str] | None,
            typer.Option(
                "--scale",
                help="Scale (smoke, smoke-x4, 1x, 10x, 100x, 10m) or plan (default, smoke); "
                "repeat for several.",
            ),
        ] = None,
        all_steps: Annotated[
            bool,
            typer.Option("--all-steps", help="Run every step at every scale, not only 1x/10x."),
        ] = False,
        output_dir: Annotated[
            Path, typer.Option("--output-dir", help="Folder of the result JSON files.")
        ] = Path("bench/results"),
        work_dir: Annotated[
            Path,
            typer.Option("--work-dir", help="Folder of the generated lakes, reused between runs."),
        ] = Path("bench/work"),
        repeats: Annotated[
            int, typer.Option("--repeats", min=1, help="Runs of each gold query (p50/p95).")
        ] = 20,
        model: Annotated[
            str,
            typer.Option(
                "--values",
                help="Value model of the generator: fast (numpy) or replay (the replay "
                "server's, ~0.7 s per city-year).",
            ),
        ] = "fast",
        update_docs: Annotated[
            bool,
            typer.Option("--update-docs", help="Rewrite the results block of docs/benchmarks.md."),
        ] = False,
    ) -> None:
        """Measure landing -> bronze (Spark and DuckDB), dbt, gates and gold queries by size."""
        from lakehouse.bench.api import run_bench

        try:
            run_bench(
                get_settings(),
                scales=scale,
                all_steps=all_steps,
                output_dir=output_dir,
                work_dir=work_dir,
                repeats=repeats,
                model=model,
                docs_path=Path("docs/benchmarks.md") if update_docs else None,
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
