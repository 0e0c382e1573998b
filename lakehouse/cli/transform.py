"""`lakehouse transform`: gates, dbt build and write-audit-publish of gold as one Prefect flow."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lakehouse.cli._console import quiet_console

EPILOG = (
    "Examples: lakehouse transform  |  lakehouse transform --full-refresh  |  "
    "lakehouse transform --verbose"
)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("transform", epilog=EPILOG)(transform)


def transform(
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help=(
                "Rebuild incremental models (staging, the hourly fact) from all of bronze and "
                "validate every row, not only the new ones."
            ),
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Also print dbt's and Prefect's own output (kept in the lake's logs anyway).",
        ),
    ] = False,
) -> None:
    """Gate bronze, build silver and gold with dbt, audit gold and publish it; exits 1 naming
    the failing gate and expectations (the published gold is then left as it was). With
    nothing new in bronze since the published gold it does nothing and exits 0."""
    summary = _run_flow(full_refresh, verbose)
    if summary["status"] == "skipped":
        typer.echo(
            f"transform skipped: {summary.get('reason')}; published gold unchanged "
            f"({summary.get('published_build_id') or 'nothing published yet'})",
            err=True,
        )
        return
    _print_summary(summary)
    if summary["status"] != "ok":
        typer.echo(f"error: transform failed at {summary['failed_step']}", err=True)
        for name in summary["failed_expectations"]:
            typer.echo(f"  failed: {name}", err=True)
        if not summary["failed_expectations"] and summary.get("error"):
            typer.echo(f"  {summary['error']}", err=True)
        kept = summary.get("published_build_id")
        typer.echo(
            "  published gold unchanged"
            + (f" (build {kept})" if kept else " (nothing published yet)"),
            err=True,
        )
        raise typer.Exit(1)


def _run_flow(full_refresh: bool, verbose: bool = False) -> dict[str, Any]:
    """Run the flow in-process; return its summary whether it passed or failed."""
    from lakehouse.transform_plan import skip_if_nothing_new

    # Nothing new: say so without importing or starting the orchestrator (the flow checks too).
    skipped = skip_if_nothing_new(full_refresh=full_refresh)
    if skipped is not None:
        return skipped
    from flows.transform import TransformFailed
    from flows.transform import transform as transform_flow
    from lakehouse.orchestration import run_flow

    try:
        with quiet_console("transform", verbose):
            data = run_flow(transform_flow, full_refresh=full_refresh, verbose=verbose)
    except Exception as exc:  # the orchestrator itself failed: say so, without a traceback
        typer.echo(f"error: transform could not run: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if isinstance(data, TransformFailed):
        return data.summary.as_dict()
    if isinstance(data, dict):
        return data
    typer.echo(f"error: transform failed: {type(data).__name__}: {data}", err=True)
    raise typer.Exit(1)


MAX_WARNINGS = 5


def _print_summary(summary: dict[str, Any]) -> None:
    from lakehouse.summary import print_summary

    rows: list[dict[str, Any]] = []
    for layer in ("bronze", "silver", "gold"):
        gate = summary["gates"].get(layer)
        rows.append(
            {
                "gate": layer,
                "result": "not run" if gate is None else ("passed" if gate["passed"] else "FAILED"),
                "expectations": "" if gate is None else gate["evaluated"],
                "failed": "" if gate is None else len(gate["failed"]),
                "warnings": "" if gate is None else len(gate["warnings"]),
            }
        )
    footer: dict[str, Any] = {}
    for step, result in summary["dbt"].items():
        footer[f"dbt build {step}"] = (
            f"{result.get('models', 0)} models, {result.get('data_tests', 0)} data tests, "
            f"{result.get('unit_tests', 0)} unit tests: "
            + ("ok" if result["success"] else "FAILED")
        )
    if summary["marts"]:
        footer["rows per mart"] = ", ".join(f"{k}={v}" for k, v in summary["marts"].items())
    footer["published build"] = (
        summary["published_build_id"]
        if summary["published"]
        else f"unchanged ({summary.get('published_build_id') or 'nothing published yet'})"
    )
    for item in summary.get("downstream") or []:
        footer[str(item.get("step", "downstream"))] = ", ".join(
            f"{k}={v}" for k, v in item.items() if k != "step"
        )
    warnings = [w for gate in summary["gates"].values() for w in gate["warnings"]]
    for n, warning in enumerate(warnings[:MAX_WARNINGS], 1):
        footer[f"warning {n}"] = warning
    if len(warnings) > MAX_WARNINGS:
        footer["more warnings"] = f"{len(warnings) - MAX_WARNINGS} (see `lakehouse status`)"
    footer["time"] = f"{summary['seconds']} s"
    if summary.get("data_docs"):
        footer["data docs"] = summary["data_docs"]
    # An example query: the first mart of a source (the completeness mart is everyone's).
    marts = sorted(summary["marts"], key=lambda m: (m == "agg_series_completeness", m))
    mart = next(iter(marts), None)
    if mart:
        footer["query"] = f'lakehouse sql "select * from {mart}"'
    title = "transform " + ("ok" if summary["status"] == "ok" else "FAILED")
    print_summary(title, rows, footer=footer)
