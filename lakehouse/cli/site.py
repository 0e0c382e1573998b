"""`lakehouse site`: render the dashboards from published gold, optionally publish to S3."""

from __future__ import annotations

from typing import Annotated

import typer

EPILOG = (
    "Examples: lakehouse site  |  lakehouse site --skip-dbt-docs  |  "
    "lakehouse site --publish --bucket my-lakehouse-dev-site"
)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("site", epilog=EPILOG)(site)


def site(
    publish: Annotated[
        bool,
        typer.Option(
            "--publish", help="Upload the site to the site bucket after rendering (changed files)."
        ),
    ] = False,
    bucket: Annotated[
        str | None,
        typer.Option(help="Site bucket to publish to; defaults to LAKEHOUSE_SITE_BUCKET."),
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            help="S3 endpoint for --publish (an S3-compatible server); defaults to "
            "AWS_ENDPOINT_URL, else AWS."
        ),
    ] = None,
    skip_dbt_docs: Annotated[
        bool,
        typer.Option(
            "--skip-dbt-docs",
            help="Do not run `dbt docs generate`; keep the docs of the last build, if any.",
        ),
    ] = False,
) -> None:
    """Render <lake>/site: a page per dashboard spec, the quality gates, dbt docs."""
    from lakehouse.settings import get_settings
    from lakehouse.site import SiteError, build_site, publish_site
    from lakehouse.summary import print_summary

    settings = get_settings()
    target = bucket or settings.site_bucket
    if publish and not target:
        typer.echo(
            "error: --publish needs a bucket: pass --bucket or set LAKEHOUSE_SITE_BUCKET "
            "(from the storage module's terraform outputs)",
            err=True,
        )
        raise typer.Exit(2)
    try:
        build = build_site(settings, dbt_docs=not skip_dbt_docs)
        footer: dict[str, object] = {"site": build.path / "index.html", "files": build.files}
        if publish:
            result = publish_site(
                build.path, target, region=settings.aws_region, endpoint_url=endpoint_url
            )
            footer.update(
                bucket=f"s3://{result.bucket}",
                uploaded=len(result.uploaded),
                unchanged=len(result.unchanged),
                deleted=len(result.deleted),
            )
    except SiteError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    footer["view"] = "lakehouse serve"
    print_summary(
        "site",
        [
            {
                "pages": len(build.pages),
                "dbt docs": "yes" if build.dbt_docs else "no",
                "data docs": "yes" if build.data_docs else "no",
                "gates": build.content.gate.status or "no run yet",
            }
        ],
        footer=footer,
    )
