"""`lakehouse run`'s footer: where the site is, for a local lake and for one in buckets."""

from __future__ import annotations

from pathlib import Path

from lakehouse.cli.run import where_to_look
from lakehouse.settings import Settings

BUCKETS = {"landing": "acme-landing", "bronze": "acme-bronze", "gold": "acme-gold"}


def test_local_lake_points_at_the_site_under_the_lake(tmp_path: Path) -> None:
    settings = Settings(lake_root=tmp_path / "lake", _env_file=None)
    footer = where_to_look(settings, {})
    assert footer["site"] == f"{tmp_path / 'lake' / 'site'}/index.html (or: lakehouse serve)"
    assert "published site" not in footer


def test_lake_in_buckets_points_at_the_work_folder_and_the_site_bucket(tmp_path: Path) -> None:
    settings = Settings(
        profile="aws",
        lake_root="s3://acme-lake",
        work_dir=tmp_path / "work",
        buckets=BUCKETS,
        _env_file=None,
    )
    # Before the fix the footer joined the lake root: "s3://acme-lake/site", not a local path.
    footer = where_to_look(settings, {})
    assert footer["site"] == f"{tmp_path / 'work' / 'site'}/index.html (or: lakehouse serve)"
    results = {
        "site": {
            "result": {
                "render": {"path": str(tmp_path / "work" / "site"), "dbt_docs": True},
                "publish": {"bucket": "acme-site", "uploaded": 3},
            }
        }
    }
    footer = where_to_look(settings, results)
    assert footer["dbt docs"] == f"{tmp_path / 'work' / 'site'}/docs/index.html"
    assert footer["published site"] == "s3://acme-site/index.html"
