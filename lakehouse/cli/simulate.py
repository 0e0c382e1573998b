"""`lakehouse simulate <source>`: play days of a source's outside world (its database)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command(
        "simulate",
        epilog="Example: lakehouse simulate fleet --days 3   (then: lakehouse ingest fleet)",
    )(simulate)


def simulate(
    source: Annotated[str, typer.Argument(help="The source whose world to simulate, e.g. fleet.")],
    days: Annotated[int, typer.Option("--days", help="Days to play after seeding.", min=0)] = 1,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same seed plays the same history.")
    ] = 7,
) -> None:
    """Seed the source's system on first use, then play DAYS simulated days into it."""
    from lakehouse.settings import get_settings
    from lakehouse.simulate import SimulatorError, simulator

    try:
        reports = simulator(source).simulate(get_settings(), days=days, seed=seed)
    except SimulatorError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for r in reports:
        if r.seeded:
            typer.echo(f"{r.day}: seeded {r.seeded} units")
            continue
        typer.echo(
            f"{r.day}: {r.stats_written} statistics of {r.stats_date}, "
            f"renamed {len(r.renamed)}, re-based {len(r.rebased)}, retired {len(r.retired)}, "
            f"added {len(r.added)}, late corrections {len(r.corrected)}"
        )
