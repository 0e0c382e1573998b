# The project's image: the Prefect ECS worker and every flow run it starts (prefect.yaml's
# `lakehouse-ecs` pool, terraform's `worker_image`), with this project installed from uv.lock.
#
#   docker build -t lakehouse:dev .        # or: podman build / buildah bud
#   docker run --rm lakehouse:dev lakehouse --help
#   scripts/build-image.sh [--local-base]  # buildah, no daemon; builds and smoke-tests (make image)
#
# PYTHON_IMAGE is the base: any Debian bookworm image with Python 3.11 on PATH as python and
# pip (build-image.sh --local-base makes one from Debian packages where no registry is reachable).
#
# One image for every role: the worker's task runs `prefect worker start --pool lakehouse-ecs`,
# and the flow runs it launches run `prefect flow-run execute` in the same image, so the code
# is already there (prefect.yaml pulls nothing; LAKEHOUSE_PROJECT_DIR=/app); a source's change
# data capture task runs `lakehouse capture run <source>` (terraform's source_database module). Java is in it for
# the steps that start a local Spark session; the bronze job of the AWS profile is also
# packaged for EMR Serverless by `lakehouse cloud package`, whose dependency archive must be
# built on the EMR release's OS (Amazon Linux 2023), which this Debian image is not.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

ARG UV_VERSION=0.13.9
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    LAKEHOUSE_PROJECT_DIR=/app \
    LAKEHOUSE_CACHE_DIR=/opt/lakehouse-cache \
    DO_NOT_TRACK=1 \
    GX_ANALYTICS_ENABLED=false \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    UV_NO_CACHE=1 \
    PATH=/app/.venv/bin:$PATH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Java 17 for Spark (pyspark 3.5.5) and Kafka Connect; procps for Spark's launch scripts.
# Debian's versions are not pinned on purpose: a rebuild takes the release's security updates
# (Python's are locked).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir "uv==${UV_VERSION}"

# The non-root user owns what it installs (no recursive chown layer copying the venv), and
# uv keeps no download cache in the image (UV_NO_CACHE): both would double its size.
RUN useradd --create-home --uid 10001 lakehouse \
    && install -d -o lakehouse /app /opt/lakehouse-cache
WORKDIR /app
USER 10001

# Dependencies first (their layer is reused while only the code changes), exactly uv.lock's.
COPY --chown=10001 pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

# Then the jars, before the code, so a code change does not fetch them again: Spark's (Delta,
# s3a, Kafka source) and Kafka Connect's with Debezium and Amazon MSK's IAM auth (`lakehouse
# capture run`, the capture task's command). Fetched by the project's own jar modules, copied
# alone with what they import (tests/unit/test_dockerfile.py checks that they import).
COPY --chown=10001 lakehouse/__init__.py lakehouse/settings.py lakehouse/lake.py lakehouse/storage.py ./lakehouse/
COPY --chown=10001 lakehouse/kafka/__init__.py lakehouse/kafka/jars.py ./lakehouse/kafka/
COPY --chown=10001 spark/__init__.py spark/jars.py spark/session.py spark/log4j2.properties ./spark/
# (Ivy's resolution cache of the Kafka jars goes: they are used from their own lib/ folders.)
RUN python -m spark.jars \
    && python -m lakehouse.kafka.jars --connect-only \
    && rm -rf /opt/lakehouse-cache/kafka/ivy-cache

COPY --chown=10001 lakehouse ./lakehouse
COPY --chown=10001 spark ./spark
COPY --chown=10001 flows ./flows
COPY --chown=10001 expectations ./expectations
COPY --chown=10001 dbt_project ./dbt_project
COPY --chown=10001 prefect.yaml ./
RUN uv sync --frozen --no-dev \
    && lakehouse --help > /dev/null

CMD ["lakehouse", "--help"]
