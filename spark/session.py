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


def s3_conf(endpoint: str | None = None) -> dict[str, str]:
    """Hadoop settings that let Spark read and write ``s3://`` lake URIs through ``s3a``.

    The lake's URIs say ``s3://`` as they do on EMR (whose EMRFS serves that scheme); outside EMR
    the scheme is mapped onto the ``s3a`` connector. Credentials come from the standard AWS chain
    (environment, profile, instance or task role). ``endpoint`` (``AWS_ENDPOINT_URL``, e.g. a
    moto server standing in for S3) switches to path-style requests, which stand-ins serve.
    """
    conf = {
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.AbstractFileSystem.s3.impl": "org.apache.hadoop.fs.s3a.S3A",
        # Delta's single-driver log store for S3: one writer per table at a time, which the
        # pipeline's lock and the Prefect deployment's concurrency limit of one guarantee.
        "spark.delta.logStore.s3.impl": "io.delta.storage.S3SingleDriverLogStore",
        "spark.hadoop.fs.s3a.aws.credentials.provider": (
            "com.amazonaws.auth.EnvironmentVariableCredentialsProvider,"
            "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"
        ),
    }
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        conf["spark.hadoop.fs.s3a.endpoint.region"] = region
    if endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(
            endpoint.startswith("https")
        ).lower()
        conf["spark.hadoop.fs.s3a.change.detection.version.required"] = "false"
    return conf


def under_spark_submit() -> bool:
    """True when this Python driver was started by ``spark-submit`` (its JVM is already up)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def local_session(
    settings: Settings, app_name: str = "lakehouse", s3: bool | None = None
) -> SparkSession:
    """Start (or reuse) the quiet local Delta session described in the module docstring.

    ``s3`` (default: whether the settings' lake is in an object store) adds the ``s3a``
    connector's jars and :func:`s3_conf`.
    """
    if s3 is None:
        s3 = settings.in_object_store
    # Bind to loopback: a laptop's changing (or absent) network must not break a local run.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers (the object readers) run this interpreter, so they import the project and
    # its packages whatever `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name).master(settings.spark_master)
    java_opts = f"-Dlog4j2.configurationFile=file:{LOG4J_CONFIG} -Dderby.system.home=/tmp"
    # The driver takes its whole heap at start (-Xms = spark.driver.memory), as JVM services
    # do: a small run then costs what a large one does, instead of the garbage collector
    # growing the heap with the length of a load (1.9x the resident memory from 1x to 100x of
    # the files bench). What the data holds inside the heap is bounded per task.
    driver_opts = f"{java_opts} -Xms{settings.spark_driver_memory}"
    conf = {
        **JOB_CONF,
        **LOCAL_CONF,
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.driver.extraJavaOptions": driver_opts,
        "spark.executor.extraJavaOptions": java_opts,
    }
    # The s3a jars are always on the classpath (jars cannot be added to a running JVM, and one
    # process may use a local lake first and an S3 one later); their settings only for S3.
    if s3:
        conf.update(s3_conf(_endpoint()))
    jars = cached_jars(True)
    if jars:
        conf["spark.jars"] = ",".join(jars)
    else:
        ivy_dir().mkdir(parents=True, exist_ok=True)
        conf["spark.jars.packages"] = ",".join(packages(True))
        conf["spark.jars.ivy"] = str(ivy_dir())
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if not jars:
        record_jars(spark.sparkContext.getConf().get("spark.jars", ""), True)
    if s3:
        # A session reused from an earlier (local) use, or an endpoint set since: Hadoop reads
        # its settings when a bucket's file system is first made, so set them on the running one.
        hadoop = spark.sparkContext._jsc.hadoopConfiguration()
        for key, value in s3_conf(_endpoint()).items():
            if key.startswith("spark.hadoop."):
                hadoop.set(key[len("spark.hadoop.") :], value)
    return spark


def _endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


def submitted_session(app_name: str = "lakehouse") -> SparkSession:
    """The session of a ``spark-submit`` run, with the job-level settings added."""
    builder = SparkSession.builder.appName(app_name)
    for key, value in JOB_CONF.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def get_session(settings: Settings | None = None, app_name: str = "lakehouse") -> SparkSession:
    """A Delta-enabled session: the submitted one under ``spark-submit``, else a local one."""
    if under_spark_submit():
        return submitted_session(app_name)
    return local_session(settings or Settings(), app_name)
