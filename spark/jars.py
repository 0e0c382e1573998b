"""Delta Lake's jars for local Spark: fetched once through Ivy, then used straight from the cache.

The first local session resolves ``io.delta:delta-spark_2.12:<version of the delta-spark wheel>``
from Maven Central into ``${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse}/ivy`` and records the
resolved jar files in a manifest beside them. Later sessions put those files on the classpath
(``spark.jars``) and skip Ivy, which would otherwise try the network on every start and print its
resolution report. No pyspark import here, so checking the cache costs no JVM.

A lake in S3 adds ``org.apache.hadoop:hadoop-aws`` at the version of the Hadoop client that
pyspark ships (3.3.4 for Spark 3.5.5; it brings the AWS SDK bundle it was built with), so the
``s3a`` connector matches the Hadoop classes it runs against. It is a second, separately cached
set. Local sessions always put both on the classpath (a running JVM cannot take more jars, and
one process may use a local lake and then one in S3); ``--delta-only`` fills just Delta's.

Spark's Kafka connector (Structured Streaming from a topic, :mod:`spark.kafka_to_bronze`) is in
that second set too, for the same reason.

``python -m spark.jars`` fills the cache (``scripts/setup.d/20-spark-jars.sh``).
"""

from __future__ import annotations

import os
import re
import sys
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlparse

SCALA_VERSION = "2.12"


def delta_package() -> str:
    """Maven coordinate of the Delta jar matching the installed ``delta-spark`` wheel."""
    return f"io.delta:delta-spark_{SCALA_VERSION}:{version('delta-spark')}"


def hadoop_version() -> str:
    """Version of the Hadoop client jars inside the installed pyspark (``3.3.4``)."""
    spec = find_spec("pyspark")
    jars = Path(spec.origin).parent / "jars" if spec and spec.origin else None
    for jar in sorted(jars.glob("hadoop-client-api-*.jar")) if jars else []:
        match = re.match(r"hadoop-client-api-(.+)\.jar$", jar.name)
        if match:
            return match.group(1)
    raise RuntimeError("pyspark ships no hadoop-client-api jar: is pyspark installed?")


def s3_package() -> str:
    """Maven coordinate of the ``s3a`` connector matching pyspark's Hadoop."""
    return f"org.apache.hadoop:hadoop-aws:{hadoop_version()}"


# Spark's Kafka connector of the pinned Spark's minor line. Not the wheel's own patch version:
# the 3.5.5 connector jar is missing from the Maven Central copy the project's setup can reach,
# and a connector built against an earlier patch of the same line runs on a later Spark (it only
# uses APIs that line keeps stable); EMR ships its own matching connector.
KAFKA_CONNECTOR_VERSION = "3.5.3"


def kafka_package() -> str:
    """Maven coordinate of Spark's Kafka connector (Structured Streaming source and sink)."""
    return f"org.apache.spark:spark-sql-kafka-0-10_{SCALA_VERSION}:{KAFKA_CONNECTOR_VERSION}"


def packages(s3: bool = False) -> list[str]:
    """The Maven coordinates of a local session: Delta, plus the ``s3a`` connector for S3 and
    the Kafka connector (the full set every local session loads)."""
    return [delta_package(), s3_package(), kafka_package()] if s3 else [delta_package()]


def cache_dir() -> Path:
    """Cache of downloaded tools and jars, shared by runs and kept outside the repository."""
    return Path(os.environ.get("LAKEHOUSE_CACHE_DIR") or Path.home() / ".cache" / "lakehouse")


def ivy_dir() -> Path:
    """Spark's Ivy folder (``spark.jars.ivy``): resolution cache plus the resolved ``jars/``."""
    return cache_dir() / "ivy"


def _manifest(s3: bool = False) -> Path:
    coordinate = "+".join(p.replace(":", "_") for p in packages(s3))
    return ivy_dir() / f"{coordinate}.jars"


def cached_jars(s3: bool = False) -> list[str] | None:
    """The resolved jar files of :func:`packages`, if a previous session recorded them all."""
    manifest = _manifest(s3)
    if not manifest.exists():
        return None
    jars = [line.strip() for line in manifest.read_text(encoding="utf-8").splitlines()]
    jars = [j for j in jars if j]
    if not jars or not all(Path(urlparse(j).path).is_file() for j in jars):
        return None
    return jars


def record_jars(resolved: str, s3: bool = False) -> None:
    """Record the jar files Ivy resolved (the ``spark.jars`` of a session started with packages)."""
    # SparkSubmit rewrites spark.jars to the local files Ivy resolved (Delta and its transitive
    # dependencies), which is exactly the classpath an offline session needs.
    jars = [j for j in resolved.split(",") if j and str(ivy_dir()) in j]
    if jars:
        manifest = _manifest(s3)
        tmp = manifest.with_suffix(".tmp")
        tmp.write_text("\n".join(jars) + "\n", encoding="utf-8")
        os.replace(tmp, manifest)


def main(argv: list[str] | None = None) -> int:
    """Fill the Ivy cache once (Delta plus the s3a connector); quick when already filled."""
    sets = [False] if "--delta-only" in (sys.argv[1:] if argv is None else argv) else [True]
    for s3 in sets:
        status = _fill(s3)
        if status:
            return status
    return 0


def _fill(s3: bool) -> int:
    wanted = ", ".join(packages(s3))
    if cached_jars(s3):
        print(f"spark jars: cached ({wanted})")
        return 0
    print(f"spark jars: resolving {wanted} from Maven Central into {ivy_dir()}")
    from lakehouse.settings import Settings
    from spark.session import local_session

    spark = local_session(Settings(_env_file=None), "lakehouse-fill-jar-cache", s3=s3)
    spark.stop()
    jars = cached_jars(s3)
    if not jars:
        print("spark jars: resolution finished but no jar files were recorded", file=sys.stderr)
        return 1
    print(f"spark jars: cached {len(jars)} jar files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
