"""Delta Lake's jars for local Spark: fetched once through Ivy, then used straight from the cache.

The first local session resolves ``io.delta:delta-spark_2.12:<version of the delta-spark wheel>``
from Maven Central into ``${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse}/ivy`` and records the
resolved jar files in a manifest beside them. Later sessions put those files on the classpath
(``spark.jars``) and skip Ivy, which would otherwise try the network on every start and print its
resolution report. No pyspark import here, so checking the cache costs no JVM.

A streaming session also needs Spark's Kafka connector
(``org.apache.spark:spark-sql-kafka-0-10_2.12:<pyspark version>``): a session asks for
:data:`KAFKA` and gets its own manifest for Delta plus the connector, resolved the same way.

``python -m spark.jars`` fills the cache (``scripts/setup.d/20-spark-jars.sh``), both sets.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlparse

SCALA_VERSION = "2.12"


def delta_package() -> str:
    """Maven coordinate of the Delta jar matching the installed ``delta-spark`` wheel."""
    return f"io.delta:delta-spark_{SCALA_VERSION}:{version('delta-spark')}"


# Spark's Kafka connector of the pinned Spark's minor line. Not the wheel's own patch version:
# the 3.5.5 connector jar is missing from the Maven Central copy the project's setup can reach,
# and a connector built against an earlier patch of the same line runs on a later Spark (it only
# uses APIs that line keeps stable); EMR ships its own matching connector.
KAFKA_CONNECTOR_VERSION = "3.5.3"


def kafka_package() -> str:
    """Maven coordinate of Spark's Kafka connector (Structured Streaming source and sink)."""
    return f"org.apache.spark:spark-sql-kafka-0-10_{SCALA_VERSION}:{KAFKA_CONNECTOR_VERSION}"


KAFKA = "kafka"  # the extra a streaming session asks for


def packages(extras: tuple[str, ...] = ()) -> list[str]:
    """Maven coordinates of a session: Delta, plus the Kafka connector when asked for."""
    return [delta_package(), *([kafka_package()] if KAFKA in extras else [])]


def cache_dir() -> Path:
    """Cache of downloaded tools and jars, shared by runs and kept outside the repository."""
    return Path(os.environ.get("LAKEHOUSE_CACHE_DIR") or Path.home() / ".cache" / "lakehouse")


def ivy_dir() -> Path:
    """Spark's Ivy folder (``spark.jars.ivy``): resolution cache plus the resolved ``jars/``."""
    return cache_dir() / "ivy"


def _manifest(extras: tuple[str, ...] = ()) -> Path:
    coordinate = "+".join(p.replace(":", "_") for p in packages(extras))
    return ivy_dir() / f"{coordinate}.jars"


def cached_jars(extras: tuple[str, ...] = ()) -> list[str] | None:
    """The resolved jar files of :func:`packages`, if a previous session recorded them all."""
    manifest = _manifest(extras)
    if not manifest.exists():
        return None
    jars = [line.strip() for line in manifest.read_text(encoding="utf-8").splitlines()]
    jars = [j for j in jars if j]
    if not jars or not all(Path(urlparse(j).path).is_file() for j in jars):
        return None
    return jars


def record_jars(resolved: str, extras: tuple[str, ...] = ()) -> None:
    """Record the jar files Ivy resolved (the ``spark.jars`` of a session started with packages)."""
    # SparkSubmit rewrites spark.jars to the local files Ivy resolved (Delta and its transitive
    # dependencies), which is exactly the classpath an offline session needs.
    jars = [j for j in resolved.split(",") if j and str(ivy_dir()) in j]
    if jars:
        manifest = _manifest(extras)
        tmp = manifest.with_suffix(".tmp")
        tmp.write_text("\n".join(jars) + "\n", encoding="utf-8")
        os.replace(tmp, manifest)


def _fill(extras: tuple[str, ...]) -> int:
    names = ", ".join(packages(extras))
    if cached_jars(extras):
        print(f"spark jars: cached ({names})")
        return 0
    print(f"spark jars: resolving {names} from Maven Central into {ivy_dir()}")
    from lakehouse.settings import Settings
    from spark.session import local_session

    spark = local_session(Settings(_env_file=None), "lakehouse-fill-jar-cache", extras=extras)
    spark.stop()
    jars = cached_jars(extras)
    if not jars:
        print("spark jars: resolution finished but no jar files were recorded", file=sys.stderr)
        return 1
    print(f"spark jars: cached {len(jars)} jar files")
    return 0


def main() -> int:
    """Fill the Ivy cache once (batch and streaming sessions); quick when already filled."""
    return _fill(()) or _fill((KAFKA,))


if __name__ == "__main__":
    sys.exit(main())
