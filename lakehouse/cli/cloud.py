"""`lakehouse cloud`: wire the local CLI to an AWS deployment made with `terraform apply`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SETTINGS_EPILOG = (
    "Examples: lakehouse cloud settings --env dev  |  "
    "lakehouse cloud settings --env prod --output .env  |  "
    "terraform -chdir=terraform/envs/dev output -json > out.json && "
    "lakehouse cloud settings --env dev --from-file out.json"
)

cloud_app = typer.Typer(
    name="cloud",
    help="Work with the AWS deployment: settings from terraform output.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.add_typer(cloud_app, name="cloud")


@cloud_app.command("settings", epilog=SETTINGS_EPILOG)
def settings(
    env: Annotated[
        str,
        typer.Option(help="Environment root under terraform/envs to read (dev, prod)."),
    ] = "dev",
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file",
            help="Read a saved `terraform output -json` instead of running terraform.",
            dir_okay=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the lines to this .env file (replaced whole) instead of printing them.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Print the LAKEHOUSE_* lines of the aws profile, filled from `terraform output -json`."""
    from lakehouse.cloud import CloudSettingsError, env_lines, settings_from_terraform_output

    try:
        cloud = settings_from_terraform_output(from_file, env=env)
        lines = env_lines(cloud)
    except CloudSettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    text = "\n".join(lines) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(
        f"# aws profile of env {cloud.env}, from terraform output; regenerate, do not edit\n"
        + text,
        encoding="utf-8",
    )
    typer.echo(f"wrote {len(lines)} settings to {output}", err=True)
