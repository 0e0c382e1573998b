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
from lakehouse.kafka.connect import ConnectWorker
from lakehouse.settings import Settings
from lakehouse.sources import postgres_cdc


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
    worker = ConnectWorker(Settings(lake_root=tmp_path / "lake", _env_file=None), "fleet-capture")
    dsn = "host=db.internal port=6543 dbname=fleet user=reader password=s3cret-pw"
    config = postgres_cdc.connector_config(fleet, dsn, worker)
    assert config["plugin.name"] == "pgoutput"
    assert config["table.include.list"] == "fleet.transport_units,fleet.unit_performance"
    assert (config["database.hostname"], config["database.port"]) == ("db.internal", "6543")
    assert config["decimal.handling.mode"] == "string"
    assert config["time.precision.mode"] == "adaptive_time_microseconds"
    assert config["database.password"].startswith("${file:")
    assert "s3cret-pw" not in repr(config)

    worker._write_files("127.0.0.1:9092", 8083, config, {"password": "s3cret-pw"}, tmp_path)
    for path in (worker.worker_file, worker.connector_file):
        assert "s3cret-pw" not in path.read_text(encoding="utf-8")
    for path in (worker.worker_file, worker.connector_file, worker.secrets_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "password=s3cret-pw" in worker.secrets_file.read_text(encoding="utf-8")
    assert worker.status().running is False
