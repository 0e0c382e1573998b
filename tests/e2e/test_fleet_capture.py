"""Change data capture and polling give the same silver and gold (issue 19), against a real
PostgreSQL, the session's Kafka broker, Kafka Connect with Debezium, Spark and dbt.

One module-scoped run with two lakes reading one database: the polling lake owns the fleet's own
server (``lakehouse simulate fleet`` starts it under that lake's ``_state``); the capture lake
reads the same database through ``LAKEHOUSE_FLEET_PG_DSN``-style DSN and a copy of the fleet
contract that says ``capture: cdc`` (its own slot, publication and topic prefix, so it never
meets another test's). Capture starts after the seed (its snapshot), then days are played one
at a time with a poll after each, as the hourly schedule would; a late correction of the first
day follows. The capture lake's bronze is the streaming job over the Debezium topics, the
polling lake's the batch job; dbt builds the fleet's models in both. Silver and gold are
compared row for row (without the load metadata: batch ids and load times differ by design).

Nothing is faked. Kafka Connect is started once for the module; its start time is printed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
import yaml
from psycopg.conninfo import conninfo_to_dict

from lakehouse.contracts import CONTRACTS_DIR, Contract, load_contract
from lakehouse.dbt import build_database, run_dbt
from lakehouse.settings import Settings
from lakehouse.simulate import fleet as fleet_sim
from lakehouse.sources import IngestRequest, postgres_cdc
from lakehouse.sources import postgres as pg_kind
from lakehouse.sources.postgres_local import local_server, resolve_dsn
from lakehouse.warehouse.server import ROOT_CLUSTERS_DIR

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SEED = 11
DAYS = 6
MODELS = ["+dim_transport_unit", "+fct_unit_performance_daily", "+agg_fleet_performance_daily"]
# Load metadata: when and in which batch a row was loaded differs between the lakes by design.
METADATA = {"_batch_id", "_fetched_at", "_ingested_at"}
COMPARED = [
    "stg_fleet__units",
    "stg_fleet__performance",
    "dim_transport_unit",
    "fct_unit_performance_daily",
    "agg_fleet_performance_daily",
]


@dataclass
class Run:
    poll: Settings
    cdc: Settings
    contract: Contract
    cdc_contract: Contract
    dsn: str
    bootstrap: str
    connect_start_s: float = 0.0
    tables: dict[str, dict[str, list[tuple]]] = field(default_factory=dict)
    stream_again: list[Any] = field(default_factory=list)
    versions: dict[str, list[str]] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)
    corrected: tuple[str, str] | None = None


def _cdc_contract_data(suffix: str) -> dict:
    data = yaml.safe_load((CONTRACTS_DIR / "fleet.yml").read_text(encoding="utf-8"))
    data["source"]["capture"] = "cdc"
    data["source"]["cdc"] = {
        "slot": f"lakehouse_test_{suffix}",
        "publication": f"lakehouse_test_{suffix}",
        "topic_prefix": f"fleettest{suffix}",
    }
    return data


def _cdc_contract(suffix: str) -> Contract:
    return Contract.model_validate(_cdc_contract_data(suffix))


def _poll(run: Run) -> None:
    result = pg_kind.run(run.poll, run.contract, IngestRequest())
    assert result.ok, result.failure_message()


def _caught_up(run: Run, timeout: float = 120.0, past: tuple | None = None) -> tuple:
    """Wait until the capture's topics stop growing (Debezium sends within about a second),
    past the end offsets ``past`` when given; returns the end offsets."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer({"bootstrap.servers": run.bootstrap, "group.id": "fleet-capture-probe"})

    def end(topic: str) -> int:
        try:
            return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        except KafkaException:  # Connect creates a topic with the table's first change
            return 0

    try:
        last, stable, deadline = None, 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            ends = tuple(end(t) for t in run.cdc_contract.topic_landings)
            stable = stable + 1 if ends == last else 0
            last = ends
            if stable >= 6 and all(ends) and (past is None or sum(ends) > sum(past)):
                return ends
            time.sleep(0.5)
        raise AssertionError(f"capture did not catch up: end offsets {last}")
    finally:
        consumer.close()


def _bronze(run: Run) -> None:
    from spark import kafka_to_bronze, landing_to_bronze
    from spark.session import get_session

    def spark():  # noqa: ANN202
        return get_session(run.poll, "fleet-capture-test")

    for entity in run.contract.entities:
        result = landing_to_bronze.run(spark, run.poll.lake, "fleet", entity, contract=run.contract)
        assert result.status == "ok", result
    results = kafka_to_bronze.run(
        spark, run.cdc.lake, "fleet", bootstrap=run.bootstrap, contract=run.cdc_contract
    )
    assert all(r.status == "ok" for r in results), results


def _transform(settings: Settings) -> dict[str, list[tuple]]:
    done = run_dbt(settings, ["run", "--select", *MODELS], quiet=True)
    assert done.success, done
    tables: dict[str, list[tuple]] = {}
    with duckdb.connect(str(build_database(settings)), read_only=True) as con:
        for name in COMPARED:
            (schema,) = con.execute(
                "select table_schema from information_schema.tables where table_name = ?", [name]
            ).fetchone()
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_name = ? "
                    "and table_schema = ? order by ordinal_position",
                    [name, schema],
                ).fetchall()
                if r[0] not in METADATA
            ]
            rows = con.execute(f'select {", ".join(columns)} from "{schema}"."{name}"').fetchall()
            tables[name] = sorted((_comparable(r) for r in rows), key=repr)
    return tables


def _comparable(row: tuple) -> tuple:
    """A row with its doubles to 9 significant digits: a mean over the same values can differ
    in the last bit with the order DuckDB's threads happen to add them (10.13 and
    10.129999999999999 in one run), which says nothing about capture against polling."""
    return tuple(float(f"{v:.9g}") if isinstance(v, float) else v for v in row)


def _fingerprint(rows: list[tuple]) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def fleet_capture(tmp_path_factory: pytest.TempPathFactory, kafka_broker) -> Iterator[Run]:  # noqa: ANN001
    root = tmp_path_factory.mktemp("fleet-capture")
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("LAKEHOUSE_")}
    os.environ["LAKEHOUSE_LAKE_ROOT"] = str(root / "poll-lake")
    os.environ["LAKEHOUSE_KAFKA_BOOTSTRAP"] = kafka_broker.bootstrap
    os.environ["LAKEHOUSE_CACHE_DIR"] = str(kafka_broker.cache_dir)
    poll = Settings(lake_root=root / "poll-lake", _env_file=None)
    cdc = Settings(lake_root=root / "cdc-lake", _env_file=None)
    contract = load_contract("fleet")
    server = None
    run = None
    try:
        fleet_sim.simulate(poll, days=0, seed=SEED)
        server = local_server(poll, contract)
        dsn = resolve_dsn(poll, contract, start=False) or ""
        run = Run(
            poll=poll,
            cdc=cdc,
            contract=contract,
            cdc_contract=_cdc_contract(os.urandom(4).hex()),
            dsn=dsn,
            bootstrap=kafka_broker.bootstrap,
        )
        started = time.monotonic()
        capture, warnings, _ = postgres_cdc.ensure_capture(cdc, run.cdc_contract, dsn)
        run.connect_start_s = time.monotonic() - started
        print(f"\nKafka Connect with Debezium started in {run.connect_start_s:.1f} s", flush=True)
        assert warnings == [] and capture.status().capturing
        _poll(run)
        for _ in range(DAYS):
            for report in fleet_sim.simulate(poll, days=1, seed=SEED):
                run.retired += report.retired
            _poll(run)
        with psycopg.connect(dsn) as conn:
            unit_id = conn.execute(
                "select min(unit_id) from fleet.unit_performance where stat_date = %s",
                [fleet_sim.SEED_DAY],
            ).fetchone()[0]
            conn.execute(
                "update fleet.unit_performance set distance_km = 2345.6, updated_at = "
                "(select max(updated_at) from fleet.unit_performance) + interval '1 minute' "
                "where unit_id = %s and stat_date = %s",
                [unit_id, fleet_sim.SEED_DAY],
            )
        run.corrected = (unit_id, fleet_sim.SEED_DAY.isoformat())
        _poll(run)
        _caught_up(run)
        print(f"capture caught up after {time.monotonic() - started:.0f} s", flush=True)
        _bronze(run)
        print(f"bronze done after {time.monotonic() - started:.0f} s", flush=True)
        from spark import kafka_to_bronze

        run.stream_again = kafka_to_bronze.run(
            lambda: pytest.fail("a re-run with nothing new started Spark"),
            cdc.lake,
            "fleet",
            bootstrap=run.bootstrap,
            contract=run.cdc_contract,
        )
        run.tables = {"poll": _transform(poll), "cdc": _transform(cdc)}
        print(f"transforms done after {time.monotonic() - started:.0f} s", flush=True)
        yield run
    finally:
        if run is not None:
            postgres_cdc.worker(cdc, run.cdc_contract).stop()
        from lakehouse.kafka.broker import LocalBroker

        for lake_settings in (poll, cdc):  # none should have started one: the session's is used
            assert not LocalBroker(lake_settings).stop(), "a broker of its own was started"
        if server is not None:
            cluster = server.cluster_dir
            server.stop()
            if cluster.parent == ROOT_CLUSTERS_DIR:
                shutil.rmtree(cluster, ignore_errors=True)
        for key in ("LAKEHOUSE_LAKE_ROOT", "LAKEHOUSE_KAFKA_BOOTSTRAP", "LAKEHOUSE_CACHE_DIR"):
            os.environ.pop(key, None)
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def _session_broker(kafka_broker, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """Each test's isolated environment points at the session's broker too (as the module's
    run does), so a connector restarted in a test writes where the run's topics are."""
    monkeypatch.setenv("LAKEHOUSE_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    monkeypatch.setenv("LAKEHOUSE_CACHE_DIR", str(kafka_broker.cache_dir))


def test_capture_and_polling_give_identical_silver_and_gold(fleet_capture: Run) -> None:
    poll, cdc = fleet_capture.tables["poll"], fleet_capture.tables["cdc"]
    for name in COMPARED:
        assert poll[name], f"{name} is empty"
        print(f"{name}: {len(poll[name])} rows, fingerprint {_fingerprint(poll[name])}")
        assert _fingerprint(cdc[name]) == _fingerprint(poll[name]), (
            name,
            sorted(set(cdc[name]) ^ set(poll[name]), key=repr)[:6],
        )


def test_capture_keeps_three_versions_of_a_unit_renamed_twice_and_closes_deleted_ones(
    fleet_capture: Run,
) -> None:
    dim = fleet_capture.tables["cdc"]["dim_transport_unit"]
    # columns: unit_sk, unit_id, unit_name, unit_type, model, capacity, home_base, status,
    # valid_from, valid_to, is_current
    by_unit: dict[str, list[tuple]] = {}
    for row in sorted(dim, key=lambda r: (r[1], r[8])):
        by_unit.setdefault(row[1], []).append(row)
    renamed_twice = [
        u for u, rows in by_unit.items()
        if len(rows) == 3 and len({r[2] for r in rows}) == 3 and len({r[6] for r in rows}) == 1
    ]  # fmt: skip
    assert renamed_twice, "the seed renames no unit exactly twice"
    for unit_id in renamed_twice:
        rows = by_unit[unit_id]
        assert [r[10] for r in rows[:2]] == [False, False]
    assert fleet_capture.retired, "the seed retires no unit"
    for unit_id in fleet_capture.retired:
        assert all(r[10] is False and r[9] is not None for r in by_unit[unit_id]), unit_id
    assert sum(1 for rows in by_unit.values() for r in rows if r[10]) == sum(
        1 for rows in by_unit.values() if rows[-1][10]
    )


def test_a_late_correction_reaches_the_captured_gold(fleet_capture: Run) -> None:
    unit_id, day = fleet_capture.corrected
    fct = fleet_capture.tables["cdc"]["fct_unit_performance_daily"]
    found = [r for r in fct if unit_id in r and any(str(v) == day for v in r)]
    assert found and any(2345.6 in r for r in found), found


def test_a_second_stream_run_with_nothing_new_lands_nothing(fleet_capture: Run) -> None:
    assert fleet_capture.stream_again
    again = fleet_capture.stream_again
    assert all(r.rows_inserted == 0 and r.objects_processed == 0 for r in again)


def test_a_dropped_slot_or_publication_is_one_line_and_recovered_by_a_new_snapshot(
    fleet_capture: Run,
) -> None:
    run = fleet_capture
    cdc = run.cdc_contract.source.cdc
    capture = postgres_cdc.worker(run.cdc, run.cdc_contract)
    before = _caught_up(run)
    capture.stop()  # a slot in use cannot be dropped
    with psycopg.connect(run.dsn, autocommit=True) as conn:
        conn.execute(f'drop publication "{cdc.publication}"')
        publication = postgres_cdc.check_replication(run.dsn, cdc, ran_before=True)
        conn.execute("select pg_drop_replication_slot(%s)", [cdc.slot])
        slot = postgres_cdc.check_replication(run.dsn, cdc, ran_before=True)
    assert publication and "publication" in publication and "re-snapshot" in publication
    assert slot and "replication slot" in slot and "re-snapshot" in slot
    assert "\n" not in publication + slot
    assert postgres_cdc.check_replication(run.dsn, cdc, ran_before=False) is None  # first start

    _, warnings, _ = postgres_cdc.ensure_capture(run.cdc, run.cdc_contract, run.dsn)
    assert warnings == [slot]
    assert capture.status().capturing
    found = postgres_cdc.replication(run.dsn, cdc)
    assert found.slot_exists and found.publication_exists
    # The new snapshot reaches bronze as rows it already has: nothing doubles.
    _caught_up(run, past=before)
    from spark import kafka_to_bronze
    from spark.session import get_session

    results = kafka_to_bronze.run(
        lambda: get_session(run.poll, "fleet-capture-test"),
        run.cdc.lake,
        "fleet",
        bootstrap=run.bootstrap,
        contract=run.cdc_contract,
    )
    assert all(r.rows_inserted == 0 and r.rows_updated == 0 for r in results), results
    assert sum(r.rows_read for r in results) > 0


def _events_after(run: Run, ends: tuple, want: int, timeout: float = 180.0) -> list[dict]:
    """The change events (tombstones left out) the capture's topics got past ``ends``, once
    there are at least ``want`` of them."""
    import json

    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": run.bootstrap, "group.id": "fleet-resume-probe", "log_level": 2}
    )
    consumer.assign(
        [
            TopicPartition(t, 0, end)
            for t, end in zip(run.cdc_contract.topic_landings, ends, strict=True)
        ]
    )
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(events) < want:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None and message.value():
                events.append(json.loads(message.value()))
        return events
    finally:
        consumer.close()


@contextmanager
def _capture_run(run: Run, log: Path) -> Iterator[subprocess.Popen]:
    """`lakehouse capture run fleet` as the container runs it (a process of its own, settings
    from the environment), its output to ``log``: a file, not a pipe nobody drains. Killed
    with its worker when the block ends with it still running."""
    contracts = log.parent / "contracts"
    contracts.mkdir()
    suffix = run.cdc_contract.source.cdc.topic_prefix.removeprefix("fleettest")
    (contracts / "fleet.yml").write_text(
        yaml.safe_dump(_cdc_contract_data(suffix)), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update(
        LAKEHOUSE_LAKE_ROOT=str(run.cdc.lake_root),
        LAKEHOUSE_CONTRACTS_DIR=str(contracts),
        LAKEHOUSE_FLEET_PG_DSN=run.dsn,
        LAKEHOUSE_KAFKA_BOOTSTRAP=run.bootstrap,
        LAKEHOUSE_CACHE_DIR=os.environ["LAKEHOUSE_CACHE_DIR"],
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lakehouse.cli.app", "capture", "run", "fleet"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_capture_run_resumes_from_kafka_without_a_second_snapshot(
    fleet_capture: Run, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`lakehouse capture run` (the container's command) after the worker was stopped: the
    distributed worker finds its connector and offsets in Kafka, sends the rows changed while
    it was down, and snapshots nothing again (no op=r); SIGTERM stops it with exit code 0."""
    run = fleet_capture
    before = _caught_up(run)
    assert postgres_cdc.worker(run.cdc, run.cdc_contract).stop()  # it was running
    with psycopg.connect(run.dsn) as conn:  # changes while nothing captures
        unit_id = conn.execute(
            "select min(unit_id) from fleet.transport_units where status <> 'retired'"
        ).fetchone()[0]
        conn.execute(
            "update fleet.transport_units set home_base = 'Resumed Base', "
            "updated_at = updated_at + interval '1 second' where unit_id = %s",
            [unit_id],
        )
        conn.execute(
            "insert into fleet.unit_performance values (%s, date '2099-01-01', 10, 1, 1, 0, now())",
            [unit_id],
        )
    log = tmp_path_factory.mktemp("resume") / "capture-run.log"
    started = time.monotonic()
    with _capture_run(run, log) as proc:
        events = _events_after(run, before, want=2)
        print(
            f"\ncapture run delivered the changes made while down after "
            f"{time.monotonic() - started:.1f} s",
            flush=True,
        )
        assert proc.poll() is None, "capture run exited while capturing"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 0, text[-3000:]
    assert [e["op"] for e in events if e["op"] == "r"] == []  # no second snapshot
    changed = {(e["op"], (e.get("after") or {}).get("unit_id")) for e in events}
    assert ("u", unit_id) in changed and ("c", unit_id) in changed, events
    assert any(e["after"].get("home_base") == "Resumed Base" for e in events if e["op"] == "u")
    # The worker's own log is on standard output, one structured line per event.
    assert "logger=org.apache.kafka.connect" in text and 'event="' in text
    started = re.search(r"event=connect.started .*seconds=([0-9.]+)", text)
    assert started and "event=connect.stopping" in text, text[-3000:]
    print(f"capture run: worker and connector running {started.group(1)} s after launch")
    assert conninfo_to_dict(run.dsn)["password"] not in text


def test_capture_run_fails_when_its_worker_dies(
    fleet_capture: Run, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A worker that dies under `lakehouse capture run` (killed, out of memory) ends the run
    with a structured line and exit code 137 (128 + SIGKILL, as a shell says), so ECS
    restarts the task."""
    run = fleet_capture
    capture = postgres_cdc.worker(run.cdc, run.cdc_contract)
    capture.stop()  # whatever an earlier test left running
    log = tmp_path_factory.mktemp("dies") / "capture-run.log"
    with _capture_run(run, log) as proc:
        deadline = time.monotonic() + 240
        while "event=capture.running" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(1)
        pid = capture.status().pid
        assert pid and pid != proc.pid
        os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=60)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 137, text[-3000:]
    assert re.search(r"level=error .*event=connect.exited .*code=-9", text), text[-3000:]
    assert not capture.status().running
