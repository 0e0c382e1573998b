"""The ``site-refresh`` flow: render the site's dashboards from published gold, then publish it.

The daily pipeline calls it after a successful gold publish only, so the site never shows a
build that failed its gates. Rendering swaps ``<lake>/site`` atomically; publishing uploads only
the files that changed to the site bucket.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task

from lakehouse.alerts import on_flow_failure
from lakehouse.orchestration import call, run_logger
from lakehouse.settings import Settings
from lakehouse.site import build_site, publish_site

# ---------------------------------------------------------------- Tasks


@task(name="render-site")
def render_site(settings: Settings, dbt_docs: bool = True) -> dict[str, Any]:
    """Render <lake>/site from published gold, with dbt docs and Data Docs."""
    build = build_site(settings, dbt_docs=dbt_docs)
    return {
        "path": str(build.path),
        "files": build.files,
        "pages": build.pages,
        "dbt_docs": build.dbt_docs,
        "data_docs": build.data_docs,
        "gate": build.content.gate.status,
    }


# S3 errors worth a second try are throttling and brief outages; the upload is incremental,
# so a retry sends only what the failed attempt did not.
@task(name="publish-site", retries=2, retry_delay_seconds=[5, 30])
def upload_site(settings: Settings, bucket: str) -> dict[str, Any]:
    """Upload the changed files of <lake>/site to the site bucket."""
    result = publish_site(settings.lake.site, bucket, region=settings.aws_region)
    return {
        "bucket": bucket,
        "uploaded": len(result.uploaded),
        "unchanged": len(result.unchanged),
        "deleted": len(result.deleted),
    }


# ---------------------------------------------------------------- Flow


@flow(name="site-refresh", log_prints=True, on_failure=[on_flow_failure])
def site_refresh(
    publish: bool | None = None,
    bucket: str | None = None,
    dbt_docs: bool = True,
) -> dict[str, Any]:
    """Render the site and, when a site bucket is known, publish it.

    Args:
        publish: Upload after rendering; None uploads when a bucket is configured
            (``LAKEHOUSE_SITE_BUCKET`` or ``bucket``), which is the case in the AWS profile.
        bucket: Site bucket; defaults to ``Settings.site_bucket``.
        dbt_docs: Regenerate the dbt docs; False keeps the last ones.

    Returns:
        What was rendered and, if published, what was uploaded.
    """
    settings = Settings()
    target = bucket or settings.site_bucket
    if publish and not target:
        raise ValueError("publish=True needs a bucket: pass bucket or set LAKEHOUSE_SITE_BUCKET")
    result: dict[str, Any] = {"render": call(render_site, settings, dbt_docs=dbt_docs)}
    if target and publish is not False:
        result["publish"] = call(upload_site, settings, target)
    run_logger("site-refresh").info("site refreshed: %s", result)
    return result


if __name__ == "__main__":
    # After `lakehouse transform` has published gold on the local lake.
    site_refresh(publish=False)
