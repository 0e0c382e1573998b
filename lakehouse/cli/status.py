"""`lakehouse status`: (being built)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
