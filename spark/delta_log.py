"""Cheap facts about a Delta table, read from its transaction log without starting a Spark job.

The Delta protocol stores commit ``N`` as ``_delta_log/<N, 20 digits>.json`` (one JSON action per
line, among them ``commitInfo`` with ``operationMetrics``). Listing that folder through Hadoop's
FileSystem gives the latest version on a local folder and on S3 alike; ``DeltaTable.history()``
would run a Spark job for the same answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pyspark.sql import SparkSession

_COMMIT = re.compile(r"^(\d{20})\.json$")


def _fs_path(spark: SparkSession, uri: str):  # noqa: ANN202 - py4j objects
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def latest_version(spark: SparkSession, table_uri: str) -> int | None:
    """Version of the latest commit of the table at ``table_uri``; None if there is no table."""
    fs, log_dir = _fs_path(spark, f"{table_uri}/_delta_log")
    if not fs.exists(log_dir):
        return None
    versions = [
        int(m.group(1))
        for status in fs.listStatus(log_dir)
        if (m := _COMMIT.match(status.getPath().getName()))
    ]
    return max(versions) if versions else None


def commit_info(spark: SparkSession, table_uri: str, version: int) -> dict[str, Any]:
    """The ``commitInfo`` action of commit ``version`` (operation, operationMetrics, ...)."""
    fs, path = _fs_path(spark, f"{table_uri}/_delta_log/{version:020d}.json")
    stream = fs.open(path)
    try:
        jvm = spark.sparkContext._jvm
        text = jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
    for line in text.splitlines():
        if line.strip():
            action = json.loads(line)
            if "commitInfo" in action:
                return action["commitInfo"]
    return {}
