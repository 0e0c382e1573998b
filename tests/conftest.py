"""Shared fixtures: every test runs on a temporary lake and never reads a developer's settings.

Flows run against one temporary Prefect server per test session (``prefect_test_harness``); CLI
subprocesses reach the same server through ``PREFECT_API_URL`` so none of them starts its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lakehouse.settings import Settings


@pytest.fixture(scope="session", autouse=True)
def prefect_api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start one temporary Prefect server for the session and export its URL to subprocesses."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        url = PREFECT_API_URL.value()
        os.environ["PREFECT_API_URL"] = url
        try:
            yield url
        finally:
            os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Drop LAKEHOUSE_* variables from the developer's shell, point the lake at tmp and set
    the replay's flight credentials."""
    for name in list(os.environ):
        if name.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(tmp_path / "lake"))
    # The replay server's Amadeus credentials (a test that needs others sets its own).
    monkeypatch.setenv("LAKEHOUSE_FLIGHTS_CLIENT_ID", "replay-client-id")
    monkeypatch.setenv("LAKEHOUSE_FLIGHTS_CLIENT_SECRET", "replay-client-secret")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Local-profile settings on a temporary lake."""
    return Settings(lake_root=tmp_path / "lake", _env_file=None)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """The test session's local Delta session (one JVM for the whole run: the first module to
    ask starts it, ~15 s), with this process's zone set to UTC while the module runs, because
    PySpark hands timestamps to Python in the process's zone."""
    from spark.session import get_session

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TZ", "UTC")
        time.tzset()
        yield get_session(Settings(_env_file=None), "lakehouse-tests")
    time.tzset()


# ---------------------------------------------------------------- Kafka (integration and e2e)


@dataclass(frozen=True)
class KafkaBroker:
    """The session's Kafka broker: where it runs and the settings of its lake."""

    settings: Settings
    bootstrap: str
    cache_dir: Path  # where its jars are, for tests that restart it under an emptied env

    @property
    def lake_root(self) -> Path:
        return self.settings.lake_root


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """One real Kafka broker (KRaft, one node) for the test session, stopped at the end.

    It runs in a lake of its own; tests reach it through ``kafka_broker.bootstrap``. The jars
    come from the cache filled by setup (fetched here only if setup did not run).
    """
    from lakehouse.kafka.broker import LocalBroker
    from lakehouse.kafka.jars import cache_dir, ensure_jars

    ensure_jars()
    settings = Settings(lake_root=tmp_path_factory.mktemp("kafka-lake"), _env_file=None)
    broker = LocalBroker(settings)
    status = broker.start()
    try:
        yield KafkaBroker(settings, bootstrap=status.bootstrap or "", cache_dir=cache_dir())
    finally:
        broker.stop()


@pytest.fixture
def kafka_env(kafka_broker: KafkaBroker, monkeypatch: pytest.MonkeyPatch) -> KafkaBroker:
    """Point this test's environment (LAKEHOUSE_LAKE_ROOT, the jar cache) at the session broker."""
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(kafka_broker.lake_root))
    monkeypatch.setenv("LAKEHOUSE_CACHE_DIR", str(kafka_broker.cache_dir))
    monkeypatch.delenv("LAKEHOUSE_KAFKA_BOOTSTRAP", raising=False)
    return kafka_broker


@pytest.fixture(scope="session")
def own_topic_contracts() -> Callable[[Path], Path]:
    """Copy the registered contracts into a folder, giving every Kafka topic a unique suffix.

    Tests share one broker; a test that runs a source through its topic must not read records
    another test produced (``LAKEHOUSE_CONTRACTS_DIR`` = the returned folder).
    """
    import uuid

    import yaml

    from lakehouse.contracts import CONTRACTS_DIR

    def copy(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        suffix = uuid.uuid4().hex[:8]
        for path in CONTRACTS_DIR.glob("*.yml"):
            text = path.read_text(encoding="utf-8")
            topic = (yaml.safe_load(text).get("source") or {}).get("topic")
            if topic:
                text = text.replace(f"topic: {topic}", f"topic: {topic}.{suffix}")
            (folder / path.name).write_text(text, encoding="utf-8")
        return folder

    return copy


@pytest.fixture(scope="session")
def aws_stand_in() -> Iterator[str]:
    """One moto server (S3, Glue, STS, Secrets Manager, SNS...) for the test session.

    It is the AWS stand-in of every test that talks to AWS: reached through the standard
    ``AWS_ENDPOINT_URL`` (see :func:`aws_env`), so boto3, s3fs, pyarrow, delta-rs and Spark's
    ``s3a`` all find it without code of their own. Yields the endpoint URL.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(aws_stand_in: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point this test's AWS clients at the session's stand-in, with dummy credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_stand_in)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    return aws_stand_in
