"""Spark sessions with Delta Lake: a quiet local session, or the one ``spark-submit`` configured.

Locally the session runs on ``Settings.spark_master`` (``local[2]``) with small memory, few shuffle
partitions, no UI, no progress bar and Spark's logs at ERROR (``log4j2.properties`` beside this
module), so the console shows the project's own progress.

Delta's jars come from Maven Central once and are then used from the cache (:mod:`spark.jars`),
so sessions start offline.

Under ``spark-submit`` (EMR Serverless, EMR on EC2) master, memory and jars come from the submit
command; only the job-level settings the code relies on (UTC session time zone, Delta extensions)
are set here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse.settings import Settings
from spark.jars import cached_jars, ivy_dir, packages, record_jars

LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")

# Settings every session needs, local or on EMR: the bronze schema's timestamps are UTC, and
# Delta's SQL extension and catalog are required for MERGE and DeltaTable.
JOB_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

# Sized for a shared 2-core laptop; the data of one run is megabytes, so a handful of partitions
# beats Spark's defaults (200 shuffle partitions, 50 Delta snapshot partitions) by seconds.
LOCAL_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.ui.retainedExecutions": "1",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


def under_spark_submit() -> bool:
    """True when this Python driver was started by ``spark-submit`` (its JVM is already up)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def local_session(
    settings: Settings, app_name: str = "lakehouse", *, extras: tuple[str, ...] = ()
) -> SparkSession:
    """Start (or reuse) the quiet local Delta session described in the module docstring.

    ``extras=(spark.jars.KAFKA,)`` adds Spark's Kafka connector (streaming jobs).
    """
    # Bind to loopback: a laptop's changing (or absent) network must not break a local run.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers (the object readers) run this interpreter, so they import the project and
    # its packages whatever `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name).master(settings.spark_master)
    java_opts = f"-Dlog4j2.configurationFile=file:{LOG4J_CONFIG} -Dderby.system.home=/tmp"
    conf = {
        **JOB_CONF,
        **LOCAL_CONF,
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.driver.extraJavaOptions": java_opts,
        "spark.executor.extraJavaOptions": java_opts,
    }
    jars = cached_jars(extras)
    if jars:
        conf["spark.jars"] = ",".join(jars)
    else:
        ivy_dir().mkdir(parents=True, exist_ok=True)
        conf["spark.jars.packages"] = ",".join(packages(extras))
        conf["spark.jars.ivy"] = str(ivy_dir())
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if not jars:
        record_jars(spark.sparkContext.getConf().get("spark.jars", ""), extras)
    return spark


def submitted_session(app_name: str = "lakehouse") -> SparkSession:
    """The session of a ``spark-submit`` run, with the job-level settings added."""
    builder = SparkSession.builder.appName(app_name)
    for key, value in JOB_CONF.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def get_session(
    settings: Settings | None = None, app_name: str = "lakehouse", *, extras: tuple[str, ...] = ()
) -> SparkSession:
    """A Delta-enabled session: the submitted one under ``spark-submit``, else a local one."""
    if under_spark_submit():
        return submitted_session(app_name)
    return local_session(settings or Settings(), app_name, extras=extras)
