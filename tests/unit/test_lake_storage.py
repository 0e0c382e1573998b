"""The Lake's layout at a folder, an ``s3://`` root and per-layer buckets (no network)."""

from __future__ import annotations

from pathlib import Path

from lakehouse.settings import Settings
from lakehouse.storage import is_remote, uri, write_bytes_atomic
from spark.paths import LakeUris


def test_local_lake_is_unchanged(tmp_path: Path) -> None:
    lake = Settings(lake_root=tmp_path / "lake", _env_file=None).lake
    assert lake.is_local and lake.root == (tmp_path / "lake").resolve()
    assert lake.landing("weather", "hourly") == lake.root / "landing" / "weather" / "hourly"
    assert lake.state == lake.local_state == lake.root / "_state"
    assert lake.catalog == lake.root / "catalog" and lake.site == lake.root / "site"
    assert not is_remote(lake.bronze("t"))


def test_s3_root_puts_every_layer_under_it_and_disk_work_in_the_work_dir(tmp_path: Path) -> None:
    settings = Settings(lake_root="s3://acme-lake/dev", work_dir=tmp_path / "work", _env_file=None)
    assert settings.lake_root == "s3://acme-lake/dev"  # not folded into "s3:/acme-lake"
    lake = settings.lake
    assert settings.in_object_store and is_remote(lake.root)
    assert uri(lake.bronze("weather__hourly")) == "s3://acme-lake/dev/bronze/weather__hourly"
    assert uri(lake.state / "runs") == "s3://acme-lake/dev/_state/runs"
    assert lake.catalog == (tmp_path / "work" / "catalog").resolve()
    assert lake.local_state == (tmp_path / "work" / "_state").resolve()
    assert LakeUris.of(lake).bronze("t") == "s3://acme-lake/dev/bronze/t"


def test_aws_profile_takes_a_bucket_per_layer_from_terraform_settings(tmp_path: Path) -> None:
    buckets = {"landing": "acme-landing", "bronze": "acme-bronze", "site": "acme-site"}
    settings = Settings(profile="aws", buckets=buckets, lake_root=tmp_path / "work", _env_file=None)
    lake = settings.lake
    assert uri(lake.landing("weather", "hourly")) == "s3://acme-landing/weather/hourly"
    assert uri(lake.bronze("weather__hourly")) == "s3://acme-bronze/weather__hourly"
    # _state sits beside bronze (Terraform has no state bucket); silver stays in the root.
    assert uri(lake.state) == "s3://acme-bronze/_state"
    assert lake.layer("silver") == (tmp_path / "work" / "silver").resolve()
    assert lake.work == (tmp_path / "work").resolve()
    uris = LakeUris.of(lake)
    assert uris.state("bronze", "t", "processed_objects") == (
        "s3://acme-bronze/_state/bronze/t/processed_objects"
    )
    # The local profile ignores buckets: a laptop never writes to S3 by accident.
    assert Settings(buckets=buckets, lake_root=tmp_path, _env_file=None).lake.is_local


def test_atomic_local_write_never_overwrites_when_exclusive(tmp_path: Path) -> None:
    path = tmp_path / "a" / "object"
    assert write_bytes_atomic(path, b"one", exclusive=True)
    assert not write_bytes_atomic(path, b"two", exclusive=True)
    assert write_bytes_atomic(path, b"three")
    assert path.read_bytes() == b"three"
    assert [p.name for p in path.parent.iterdir()] == ["object"]


def test_threads_landing_the_same_bytes_at_once_all_succeed(tmp_path: Path) -> None:
    # Targets of one ingest run in threads and may land identical bodies at the same moment:
    # exactly one writes, the others see it exists; none trips over another's temporary file.
    from concurrent.futures import ThreadPoolExecutor

    target = tmp_path / "landing" / "same.json.gz"
    with ThreadPoolExecutor(max_workers=8) as pool:
        written = list(
            pool.map(
                lambda _: write_bytes_atomic(target, b"x" * 100_000, exclusive=True), range(32)
            )
        )
    assert written.count(True) == 1
    assert target.read_bytes() == b"x" * 100_000
    assert [p.name for p in target.parent.iterdir()] == ["same.json.gz"]
