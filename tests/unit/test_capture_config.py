"""``capture: cdc`` in a contract and the Debezium connector's configuration, without a JVM.

The connector itself runs in tests/e2e/test_fleet_capture.py; here: what the contract derives
(names, topics, the layout that reads change events) and what the worker's files hold (the
password by reference only, 0600 files).
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from lakehouse.contracts import CONTRACTS_DIR, Contract, ContractError, load_contract
from lakehouse.kafka import AUTH_ENV, KafkaBrokerError, client_properties
from lakehouse.kafka.jars import CONNECT_MODULES
from lakehouse.kafka.log4j import log4j2_properties
from lakehouse.settings import Settings
from lakehouse.sources import postgres_cdc

ROOT = Path(__file__).resolve().parents[2]


def _fleet(capture: str, cdc: dict | None = None) -> Contract:
    data = yaml.safe_load((CONTRACTS_DIR / "fleet.yml").read_text(encoding="utf-8"))
    data["source"]["capture"] = capture
    if cdc is not None:
        data["source"]["cdc"] = cdc
    return Contract.model_validate(data)


def test_polling_is_the_default_and_reads_polled_rows() -> None:
    fleet = load_contract("fleet")
    assert fleet.source.capture == "polling" and fleet.source.cdc is None
    assert fleet.topic_landings == {}
    assert fleet.entities["units"].layout.type == "json_lines"


def test_capture_cdc_names_slot_publication_topics_and_reads_change_events() -> None:
    fleet = _fleet("cdc")
    assert (fleet.source.cdc.slot, fleet.source.cdc.publication) == (
        "lakehouse_fleet",
        "lakehouse_fleet",
    )
    assert fleet.topic_landings == {
        "fleet.fleet.transport_units": "units",
        "fleet.fleet.unit_performance": "performance",
    }
    for entity in fleet.entities.values():
        assert entity.layout.type == "debezium" and entity.layout.delete_image == "key"
    named = _fleet("cdc", {"slot": "s1", "publication": "p1", "topic_prefix": "ops"})
    assert named.source.cdc.slot == "s1"
    assert set(named.topic_landings) == {"ops.fleet.transport_units", "ops.fleet.unit_performance"}


def test_capture_refuses_a_layout_that_cannot_read_change_events(tmp_path: Path) -> None:
    data = yaml.safe_load((CONTRACTS_DIR / "fleet.yml").read_text(encoding="utf-8"))
    data["source"]["capture"] = "cdc"
    data["entities"]["units"]["layout"] = {"type": "csv"}
    (tmp_path / "fleet.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ContractError, match="capture: cdc lands Debezium change events"):
        load_contract("fleet", tmp_path)


def test_the_connector_reads_pgoutput_with_plain_json_values_and_no_password(
    tmp_path: Path,
) -> None:
    fleet = _fleet("cdc")
    worker = postgres_cdc.worker(Settings(lake_root=tmp_path / "lake", _env_file=None), fleet)
    dsn = "host=db.internal port=6543 dbname=fleet user=reader password=s3cret-pw"
    config = postgres_cdc.connector_config(fleet, dsn, worker)
    assert config["plugin.name"] == "pgoutput"
    assert config["table.include.list"] == "fleet.transport_units,fleet.unit_performance"
    assert (config["database.hostname"], config["database.port"]) == ("db.internal", "6543")
    assert config["decimal.handling.mode"] == "string"
    assert config["time.precision.mode"] == "adaptive_time_microseconds"
    assert config["database.password"].startswith("${file:")
    assert "s3cret-pw" not in repr(config)

    worker._write_files(
        "127.0.0.1:9092", 8083, {"password": "s3cret-pw"}, tmp_path, None, foreground=False
    )
    assert "s3cret-pw" not in worker.worker_file.read_text(encoding="utf-8")
    for path in (worker.worker_file, worker.secrets_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "password=s3cret-pw" in worker.secrets_file.read_text(encoding="utf-8")
    assert worker.status().running is False


def test_the_connector_sends_heartbeats_to_a_topic_bronze_never_reads() -> None:
    fleet = _fleet("cdc", {"topic_prefix": "ops"})
    worker = postgres_cdc.worker(Settings(_env_file=None), fleet)
    config = postgres_cdc.connector_config(fleet, "host=h dbname=d user=u", worker)
    assert int(config["heartbeat.interval.ms"]) > 0
    heartbeat = postgres_cdc.heartbeat_topic(fleet)
    assert heartbeat == f"{config['topic.heartbeat.prefix']}.ops"
    # The streaming bronze job subscribes to exactly these topics.
    assert heartbeat not in fleet.topic_landings and fleet.topic_landings


def _props(text: str) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


def test_the_worker_is_distributed_with_its_state_in_topics_named_for_the_capture(
    tmp_path: Path,
) -> None:
    worker = postgres_cdc.worker(
        Settings(lake_root=tmp_path / "lake", _env_file=None),
        _fleet("cdc", {"topic_prefix": "ops"}),
    )
    assert (worker.name, worker.cluster) == ("fleet-capture", "ops")
    worker._write_files("b:9092", 8083, {}, tmp_path, None, foreground=False)
    props = _props(worker.worker_file.read_text(encoding="utf-8"))
    assert props["group.id"] == "_connect.ops"
    assert props["config.storage.topic"] == "_connect.ops.configs"
    assert props["offset.storage.topic"] == "_connect.ops.offsets"
    assert props["status.storage.topic"] == "_connect.ops.status"
    assert props["offset.storage.replication.factor"] == "-1"  # the cluster's own default
    assert "offset.storage.file.filename" not in props  # nothing on the worker's disk
    assert not any(k.startswith(("security.", "sasl.", "producer.")) for k in props)
    assert props["listeners"] == "http://127.0.0.1:8083"


def test_msk_iam_reaches_the_worker_and_the_connectors_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(AUTH_ENV, "iam")
    worker = postgres_cdc.worker(
        Settings(lake_root=tmp_path / "lake", _env_file=None), _fleet("cdc")
    )
    worker._write_files("boot:9098", 8083, {}, tmp_path, client_properties(), foreground=True)
    props = _props(worker.worker_file.read_text(encoding="utf-8"))
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert props[f"{prefix}security.protocol"] == "SASL_SSL"
        assert props[f"{prefix}sasl.mechanism"] == "AWS_MSK_IAM"
        assert props[f"{prefix}sasl.jaas.config"] == (
            "software.amazon.msk.auth.iam.IAMLoginModule required;"
        )
        assert props[f"{prefix}sasl.client.callback.handler.class"] == (
            "software.amazon.msk.auth.iam.IAMClientCallbackHandler"
        )
    # The library that provides the mechanism is on the worker's classpath.
    assert ("software.amazon.msk", "aws-msk-iam-auth") in {m[:2] for m in CONNECT_MODULES}
    # In the foreground the worker logs to standard output, one structured line per event.
    log4j = worker.log4j_file.read_text(encoding="utf-8")
    assert "SYSTEM_OUT" in log4j and "RollingFile" not in log4j and "%enc{%m}{JSON}" in log4j

    monkeypatch.setenv(AUTH_ENV, "kerberos")
    with pytest.raises(KafkaBrokerError, match="LAKEHOUSE_KAFKA_AUTH"):
        client_properties()
    monkeypatch.delenv(AUTH_ENV)
    assert client_properties() == {}


def test_one_function_writes_the_broker_and_the_worker_logging() -> None:
    from lakehouse.kafka import broker

    text = broker._LOG4J2
    assert "fileName = ${sys:kafka.logs.dir}/server.log" in text
    assert "kafka.request.logger" in text
    connect = log4j2_properties("c", log_file="connect.log", levels={"org.reflections": "ERROR"})
    assert "fileName = ${sys:kafka.logs.dir}/connect.log" in connect
    for config in (text, connect):
        assert "org.apache.kafka.common.config.AbstractConfig" in config


def test_the_capture_task_runs_the_cli_with_settings_the_code_reads() -> None:
    """terraform/modules/source_database: one owner per fact. Every environment variable of the
    capture container is one the code reads, the command is `lakehouse capture run`, and the
    Kafka names the task may use are the ones the code makes."""
    import re

    from typer.testing import CliRunner

    from lakehouse.cli.app import app
    from lakehouse.kafka import BOOTSTRAP_ENV
    from lakehouse.kafka.connect import connect_names
    from lakehouse.source_settings import env_name

    main = (ROOT / "terraform/modules/source_database/main.tf").read_text(encoding="utf-8")
    block = main[main.index("capture_environment = {") :]
    block = block[: block.index("\n  }\n")]
    names = re.findall(r"^\s+([A-Z][A-Z0-9_]+)\s+=", block, flags=re.M)
    secrets = re.findall(r'name = "(LAKEHOUSE_[^"]+)", valueFrom', main)
    assert names and secrets
    fleet = _fleet("cdc")
    read = {f"LAKEHOUSE_{field.upper()}" for field in Settings.model_fields}
    read |= {BOOTSTRAP_ENV, AUTH_ENV}
    read |= {env_name(fleet.name, s) for s in fleet.source.settings}
    # The worker's heap, as Apache Kafka's own scripts take it.
    assert 'os.environ.get("KAFKA_HEAP_OPTS"' in (ROOT / "lakehouse/kafka/connect.py").read_text()
    read.add("KAFKA_HEAP_OPTS")
    for name in [*names, *secrets]:
        assert name.replace("${upper(var.source_name)}", "FLEET") in read, name
    assert 'command     = ["lakehouse", "capture", "run", var.source_name]' in main
    assert "capture run" in CliRunner().invoke(app, ["capture", "run", "--help"]).output

    # The task's permissions name what the code names (source_name fleet, default prefix).
    prefix = fleet.source.cdc.topic_prefix
    assert re.search(r"topic_prefix = coalesce\(var.topic_prefix, var.source_name\)", main)
    assert prefix == fleet.name
    group = connect_names("${local.topic_prefix}")["group.id"]
    assert f'connect_group   = "{group}"' in main
    heartbeat = postgres_cdc.heartbeat_topic(fleet).replace(prefix, "${local.topic_prefix}")
    assert f'heartbeat_topic = "{heartbeat}"' in main
    assert "capture_image" not in main
