#!/usr/bin/env bash
# Apache Kafka's jars (KRaft broker, Kafka Connect with Amazon MSK's IAM auth) and the Debezium
# PostgreSQL connector, fetched once from Maven Central into
# ${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse}/{kafka,kafka-connect,debezium}/<version>/
# (lakehouse/kafka/jars.py).
# Quick (no JVM) once the cache is filled.
set -euo pipefail
cd "$(dirname "$0")/../.."
UV=$(command -v uv 2>/dev/null || echo "python3 -m uv")
$UV run --frozen python -m lakehouse.kafka.jars
