"""dbt's documentation site as part of the site (``docs/index.html``).

``dbt docs generate --static`` writes one self-contained HTML file (manifest and catalog inlined),
which needs no server-side support and so works from the S3 site bucket as well.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from lakehouse.lake import Lake
from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings
from lakehouse.site.errors import SiteError

logger = get_logger(__name__)

DBT_DOCS_DIR = "docs"

# dbt-docs (1.10) ships two references that the browser requests before AngularJS has filled
# them in, each answered 404 and logged as a console error: the favicon, left as an unbuilt
# webpack expression, and the sidebar's SVG icons, whose <use xlink:href="{{ ... }}"> is fetched
# as a relative URL while the template is inserted. ng-attr-href sets the (SVG 2) href only once
# the expression has a value; the favicon becomes the site's own. Unknown versions pass through.
_FIXES = (
    (
        "href=\"${require('./assets/favicons/favicon.ico')}\"",
        'href="../assets/favicon.svg"',
    ),
    ('<use xlink:href="{{ getIcon(', '<use ng-attr-href="{{ getIcon('),
)


def fix_broken_references(html: str) -> str:
    """Repair dbt-docs' references that 404 before AngularJS renders (see ``_FIXES``)."""
    for broken, fixed in _FIXES:
        count = html.count(broken)
        html = html.replace(broken, fixed)
        log_event(logger, "site.dbt_docs.fixed", reference=broken[:30], count=count)
    return html


def generate_dbt_docs(settings: Settings, dest: Path) -> bool:
    """Generate dbt's one-file docs site (``--static``) and copy it to ``dest/index.html``.

    The site is built right after a transform, so the manifest that ``dbt build`` left in its
    target folder (compiled SQL included) describes the published gold; docs are generated from
    a copy of it with ``--no-compile``, which neither recompiles nor reads bronze. Without such
    a manifest (no transform on this lake yet) ``dbt parse`` makes one, without compiled SQL.
    dbt writes into a private target folder, so a concurrent transform keeps its own artifacts.

    When the live site's docs were generated from the same manifest (a re-run with nothing
    new), they are reused: ``dbt docs generate`` costs seconds and would write the same page.

    Returns:
        True when the docs were generated or reused.

    Raises:
        SiteError: dbt could not parse the project or build the catalog.
    """
    from lakehouse.dbt import DbtError, dbt_env, run_dbt

    build_target = Path(dbt_env(settings)["DBT_TARGET_PATH"])
    stamp = settings.lake.local_state / "site" / "dbt-docs-manifest.sha256"
    manifest = build_target / "manifest.json"
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None
    if digest and stamp.is_file() and stamp.read_text().strip() == digest:
        if reuse_dbt_docs(settings.lake, dest):
            log_event(logger, "dbt docs unchanged", manifest_sha256=digest[:12])
            return True
    with tempfile.TemporaryDirectory(prefix="dbt-docs-") as target:
        try:
            if (build_target / "manifest.json").is_file():
                for name in ("manifest.json", "partial_parse.msgpack"):
                    if (build_target / name).is_file():
                        shutil.copyfile(build_target / name, Path(target) / name)
            else:
                args = ["parse", "--target-path", target]
                _check(run_dbt(settings, args, quiet=True), "parse")
            args = ["docs", "generate", "--static", "--no-compile", "--target-path", target]
            _check(run_dbt(settings, args, quiet=True), "docs generate")
        except DbtError as exc:
            raise SiteError(f"dbt docs: {exc}") from exc
        static_index = Path(target) / "static_index.html"
        if not static_index.is_file():
            raise SiteError("dbt docs generate --static wrote no static_index.html")
        dest.mkdir(parents=True, exist_ok=True)
        html = static_index.read_text(encoding="utf-8")
        (dest / "index.html").write_text(fix_broken_references(html), encoding="utf-8")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    if digest:
        stamp.write_text(digest + "\n")
    else:
        stamp.unlink(missing_ok=True)
    return True


def _check(result: object, command: str) -> None:
    if not getattr(result, "success", False):
        failures = "; ".join(getattr(result, "failures", [])) or "see the dbt log"
        raise SiteError(f"dbt {command} failed: {failures}")


def reuse_dbt_docs(lake: Lake, dest: Path) -> bool:
    """Carry the live site's dbt docs over to a new build when they are not regenerated."""
    previous = lake.site / DBT_DOCS_DIR / "index.html"
    if not previous.is_file():
        return False
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(previous, dest / "index.html")
    return True
