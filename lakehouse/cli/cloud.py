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
    """Print the LAKEHOUSE_* lines of the aws profile, filled from `terraform output -json`,
    and the flow runs' further variables (each file inbox as LAKEHOUSE_<SOURCE>_LOCATION)."""
    from lakehouse.cloud import (
        CloudSettingsError,
        env_lines,
        flow_run_environment,
        read_outputs,
        settings_from_terraform_output,
    )

    try:
        outputs, origin = read_outputs(from_file, env=env)
        cloud = settings_from_terraform_output(outputs, env=env)
        lines = env_lines(cloud, flow_run_environment(outputs, origin=origin))
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


PACKAGE_EPILOG = (
    "Examples: lakehouse cloud package  |  "
    "lakehouse cloud package --out dist/emr --artifacts-uri s3://acme-artifacts/bronze  |  "
    "lakehouse cloud package --no-environment"
)


@cloud_app.command("package", epilog=PACKAGE_EPILOG)
def package(
    out: Annotated[
        Path, typer.Option(help="Folder to write the artifacts to.", file_okay=False)
    ] = Path("dist/emr"),
    environment: Annotated[
        bool,
        typer.Option(
            help="Also build the dependency archive (a relocatable virtualenv of the job's "
            "libraries at the uv.lock versions; for EMR, build it on Amazon Linux 2023)."
        ),
    ] = True,
    artifacts_uri: Annotated[
        str | None,
        typer.Option(
            help="Where the artifacts will be uploaded (s3://bucket/prefix); the printed "
            "sparkSubmitParameters name them there."
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Source the printed job runs (default: the first contract by name)."),
    ] = None,
) -> None:
    """Build the bronze job's spark-submit artifacts and print EMR Serverless's job driver."""
    import json

    from lakehouse.contracts import available_sources
    from lakehouse.package import PackageError, build_package, job_args, submit_args
    from lakehouse.settings import get_settings

    source = source or next(iter(available_sources()), None)
    if source is None:
        typer.echo("error: no source contract found; pass --source", err=True)
        raise typer.Exit(2)
    try:
        built = build_package(out, environment=environment)
    except PackageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for path in built.files():
        typer.echo(f"built {path} ({path.stat().st_size} bytes)", err=True)
    base = (artifacts_uri or str(out.resolve())).rstrip("/")
    args = submit_args(
        f"{base}/{built.code.name}",
        f"{base}/{built.entry_point.name}",
        f"{base}/{built.environment.name}" if built.environment else None,
        job_args=job_args(get_settings(), source),
    )
    entry = args.index(f"{base}/{built.entry_point.name}")
    driver = {
        "sparkSubmit": {
            "entryPoint": args[entry],
            "entryPointArguments": args[entry + 1 :],
            "sparkSubmitParameters": " ".join(args[:entry]),
        }
    }
    typer.echo(json.dumps(driver, indent=2))
