"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakehouse.settings import Settings


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
