#!/usr/bin/env bash
# Delta Lake's jars and the s3a connector (hadoop-aws) for local Spark, fetched once from Maven Central into the Ivy folder under
# ${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse}/ivy. Later Spark sessions put the cached jar files
# on the classpath directly, so they start offline. Quick (no JVM) once the cache is filled.
set -euo pipefail
cd "$(dirname "$0")/../.."
UV=$(command -v uv 2>/dev/null || echo "python3 -m uv")
$UV run --frozen python -m spark.jars
