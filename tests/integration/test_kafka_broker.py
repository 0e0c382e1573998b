"""The project's Kafka broker for real: Apache Kafka's jars on a JVM, a Python client against it.

One broker serves the session (``kafka_broker`` in tests/conftest.py). The tests run
in file order: the last one stops and restarts that broker (same port, data kept), so the
broker is running again for whatever test uses it next. The port and configuration checks at
the end start no JVM.
"""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner

from lakehouse.cli.kafka import kafka_app
from lakehouse.kafka import KafkaBrokerError, bootstrap_servers
from lakehouse.kafka.broker import (
    HOST,
    LocalBroker,
    create_topic,
    list_topics,
    new_cluster_id,
    server_properties,
)
from lakehouse.settings import Settings

# The broker is shared with every other test of the session (the events pipeline creates
# events.rsvps with one partition), so this module's topics carry a suffix of their own.
_RUN = uuid.uuid4().hex[:8]
TOPIC = f"broker.test.{_RUN}"
TX_TOPIC = f"tx.test.{_RUN}"
CLI_TOPIC = f"cli.topic.{_RUN}"
RECORDS = [(f"rsvp-{i}".encode(), f'{{"rsvp_id": {i}}}'.encode()) for i in range(5)]


def _consume(bootstrap: str, topic: str, expected: int, *, committed_only: bool = False) -> list:
    """Read ``topic`` from the beginning with a new consumer group until ``expected`` records."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed" if committed_only else "read_uncommitted",
        }
    )
    consumer.subscribe([topic])
    got = []
    deadline = time.monotonic() + 60
    try:
        while len(got) < expected and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            assert message.error() is None, message.error()
            got.append((message.key(), message.value()))
    finally:
        consumer.close()
    return got


@pytest.mark.slow
def test_start_is_idempotent_and_listens_on_loopback(kafka_env):
    broker = LocalBroker(kafka_env.settings)
    first = broker.status()
    again = broker.start()
    assert first.running and again.running and first.formatted
    assert (again.pid, again.port) == (first.pid, first.port)
    assert again.bootstrap == kafka_env.bootstrap == f"{HOST}:{first.port}"
    assert again.directory == kafka_env.lake_root.resolve() / "_state" / "kafka"
    props = (again.directory / "server.properties").read_text()
    assert f"listeners=PLAINTEXT://{HOST}:{first.port},CONTROLLER://{HOST}:" in props
    assert "process.roles=broker,controller" in props
    assert bootstrap_servers(kafka_env.settings) == kafka_env.bootstrap


@pytest.mark.slow
def test_topic_created_on_purpose_then_records_produced_and_consumed(kafka_env):
    bootstrap = kafka_env.bootstrap
    assert create_topic(bootstrap, TOPIC, partitions=3) is True
    assert create_topic(bootstrap, TOPIC, partitions=3) is False  # exists: left as is
    assert list_topics(bootstrap)[TOPIC] == 3

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    for key, value in RECORDS:
        producer.produce(TOPIC, key=key, value=value)
    assert producer.flush(30) == 0
    assert sorted(_consume(bootstrap, TOPIC, len(RECORDS))) == sorted(RECORDS)

    # A transactional producer works on one node (transaction state log: RF 1, min ISR 1).
    create_topic(bootstrap, TX_TOPIC)
    tx = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"test-tx-{_RUN}"})
    tx.init_transactions(30)
    tx.begin_transaction()
    tx.produce(TX_TOPIC, key=b"k", value=b"committed")
    tx.commit_transaction(30)
    assert _consume(bootstrap, TX_TOPIC, 1, committed_only=True) == [(b"k", b"committed")]

    # Nothing creates a topic implicitly: asking for an unknown one leaves it unknown.
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.list_topics(topic="not.created", timeout=10)
    assert "not.created" not in list_topics(bootstrap)


@pytest.mark.slow
def test_cli_status_topics_and_another_cluster(kafka_env, monkeypatch):
    runner = CliRunner()
    result = runner.invoke(kafka_app, ["status"])
    assert result.exit_code == 0, result.output
    assert f"kafka running on {kafka_env.bootstrap}" in result.output

    result = runner.invoke(kafka_app, ["start"])  # running: a no-op that prints the address
    assert result.exit_code == 0, result.output
    assert kafka_env.bootstrap in result.output

    result = runner.invoke(kafka_app, ["topics", "create", CLI_TOPIC, "--partitions", "2"])
    assert result.exit_code == 0, result.output
    assert "created (2 partitions)" in result.output
    result = runner.invoke(kafka_app, ["topics", "list"])
    assert f"{CLI_TOPIC}\t2" in result.output.splitlines()

    monkeypatch.setenv("LAKEHOUSE_KAFKA_BOOTSTRAP", "b-1.example.internal:9094")
    assert bootstrap_servers(kafka_env.settings) == "b-1.example.internal:9094"
    result = runner.invoke(kafka_app, ["status"])
    assert result.exit_code == 0 and "using Kafka at b-1.example.internal:9094" in result.output
    result = runner.invoke(kafka_app, ["start"])
    assert result.exit_code == 0 and "no local broker started" in result.output


@pytest.mark.slow
def test_stop_then_restart_keeps_port_topics_and_records(kafka_env):
    broker = LocalBroker(kafka_env.settings)
    before = broker.status()
    started = time.monotonic()
    assert broker.stop() is True
    stop_s = time.monotonic() - started
    after = broker.status()
    assert not after.running and after.formatted and after.bootstrap is None
    assert not _pid_exists(before.pid)
    assert broker.stop() is False  # stopped: a no-op
    with pytest.raises(KafkaBrokerError, match="no Kafka broker: run `lakehouse kafka start`"):
        bootstrap_servers(kafka_env.settings)
    result = CliRunner().invoke(kafka_app, ["status"])
    assert result.exit_code == 3 and "not running (stopped)" in result.output

    started = time.monotonic()
    again = broker.start()
    restart_s = time.monotonic() - started
    print(f"kafka stop {stop_s:.1f} s, restart {restart_s:.1f} s")
    assert again.running and again.pid != before.pid
    assert again.port == before.port and again.cluster_id == before.cluster_id
    assert list_topics(kafka_env.bootstrap)[TOPIC] == 3
    assert sorted(_consume(kafka_env.bootstrap, TOPIC, len(RECORDS))) == sorted(RECORDS)


def _pid_exists(pid: int | None) -> bool:
    return pid is not None and Path(f"/proc/{pid}").exists() and "Z" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


# ------------------------------------------------------------------ no JVM below


def test_a_remembered_port_that_is_taken_is_picked_again(tmp_path):
    broker = LocalBroker(Settings(lake_root=tmp_path / "lake", _env_file=None))
    first = broker._choose_ports(fresh=False)
    assert first[0] != first[1]
    broker.directory.mkdir(parents=True)
    broker._write_state(port=first[0], controller_port=first[1])
    assert broker._choose_ports(fresh=False) == first  # remembered while free
    with socket.socket() as squatter:
        squatter.bind((HOST, first[0]))
        squatter.listen()
        port, controller_port = broker._choose_ports(fresh=False)
    assert port != first[0] and controller_port == first[1]


def test_without_a_broker_bootstrap_is_a_clear_error(tmp_path, monkeypatch):
    settings = Settings(lake_root=tmp_path / "lake", _env_file=None)
    with pytest.raises(KafkaBrokerError, match="LAKEHOUSE_KAFKA_BOOTSTRAP"):
        bootstrap_servers(settings)
    monkeypatch.setenv("LAKEHOUSE_KAFKA_BOOTSTRAP", " b-1:9092,b-2:9092 ")
    assert bootstrap_servers(settings) == "b-1:9092,b-2:9092"


def test_configuration_suits_one_node():
    props = server_properties(Path("/x"), 9092, 9093)
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["auto.create.topics.enable"] == "false"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "default.replication.factor",
    ):
        assert props[key] == "1"
    cluster_id = new_cluster_id()
    assert len(cluster_id) == 22 and not cluster_id.startswith("-")
