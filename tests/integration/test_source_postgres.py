"""Kind postgres (polling) against a real PostgreSQL: the session's warehouse server.

The tests make their own schema ``kinds_pg`` in it. Late rows within the overlap are caught,
rows sharing a timestamp are not lost, and a poll with nothing new lands nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from lakehouse.contracts import Contract, load_contract
from lakehouse.landing import body_bytes, iter_objects, read_object
from lakehouse.sources import IngestRequest
from lakehouse.sources import postgres as pg_kind
from lakehouse.warehouse import testing

pytestmark = pytest.mark.slow

# One shared server for the session (see lakehouse.warehouse.testing).
warehouse_server = testing.warehouse_server

FIXTURES = Path(__file__).parents[1] / "fixtures" / "contracts"
DSN_VAR = "LAKEHOUSE_KINDS_PG_PG_DSN"
T0 = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)


def _dsn(server, password: str | None = None, port: int | None = None) -> str:
    return (
        f"host=127.0.0.1 port={port or server.port} dbname=lakehouse user=lakehouse "
        f"password={password or server.password}"
    )


@pytest.fixture
def shop(warehouse_server, monkeypatch):
    """Fresh ``kinds_pg.orders`` and ``kinds_pg.customers``; a connection to add rows."""
    monkeypatch.setenv(DSN_VAR, _dsn(warehouse_server))
    with psycopg.connect(_dsn(warehouse_server), autocommit=True) as conn:
        conn.execute("drop schema if exists kinds_pg cascade")
        conn.execute("create schema kinds_pg")
        conn.execute(
            "create table kinds_pg.orders (order_id bigint primary key, amount numeric(10, 2), "
            "note text, tags jsonb, updated_at timestamptz not null)"
        )
        conn.execute(
            "create table kinds_pg.customers (customer_id bigint primary key, name text, "
            "updated_at timestamptz not null)"
        )
        yield conn
        conn.execute("drop schema if exists kinds_pg cascade")


@pytest.fixture
def contract():
    return load_contract("kinds_pg", FIXTURES)


def _orders(conn, *rows: tuple[int, str, int]) -> None:
    """Add orders ``(id, amount, minutes after T0)``."""
    for order_id, amount, minutes in rows:
        conn.execute(
            "insert into kinds_pg.orders values (%s, %s, %s, %s, %s)",
            [
                order_id,
                amount,
                f"order {order_id}",
                json.dumps({"n": order_id}),
                T0 + timedelta(minutes=minutes),
            ],
        )


def _landed(settings, entity: str = "orders") -> list[Path]:
    return list(iter_objects(settings.lake, "kinds_pg", entity))


def _rows(paths: list[Path]) -> list[dict]:
    return [json.loads(line) for p in paths for line in body_bytes(p).splitlines()]


def _poll(settings, contract):
    result = pg_kind.run(settings, contract, IngestRequest())
    return result, {t.key: t for t in result.targets}


def test_polls_catch_late_rows_and_same_timestamps_and_repeat_nothing(
    settings, contract, shop, warehouse_server
):
    # 20 and 20 share a timestamp; the last row is at +30 min (overlap 5 min: from +25 on).
    _orders(
        shop, (1, "10.00", 0), (2, "12.50", 10), (3, "7.25", 20), (4, "8.00", 20), (5, "99.99", 30)
    )
    shop.execute("insert into kinds_pg.customers values (1, 'Ada', %s)", [T0])

    result, by_key = _poll(settings, contract)
    assert result.ok and result.kind == "postgres", result.failure_message()
    orders = by_key["orders"]
    assert orders.rows == 5 and orders.objects == 3  # 3 rows, 1 row, the overlap's 1 row
    assert by_key["customers"].rows == 1
    first_objects = _landed(settings)
    rows = _rows(first_objects)
    assert sorted(r["order_id"] for r in rows) == [1, 2, 3, 4, 5]
    one = next(r for r in rows if r["order_id"] == 2)
    assert one == {
        "order_id": 2,
        "amount": "12.50",
        "note": "order 2",
        "tags": {"n": 2},
        "updated_at": "2025-03-05T12:10:00+00:00",
    }
    transports = [read_object(p)["envelope"]["transport"] for p in first_objects]
    server = f"127.0.0.1:{warehouse_server.port}/lakehouse"
    assert {
        "kind": "postgres",
        "table": "kinds_pg.orders",
        "server": server,
        "watermark_from": "2025-03-05T12:00:00+00:00",
        "watermark_to": "2025-03-05T12:20:00+00:00",
        "rows": 3,
    } in transports
    state = json.loads((settings.lake.state / "ingest" / "kinds_pg" / "orders.json").read_text())
    assert state["watermark"] == {"type": "datetime", "value": "2025-03-05T12:30:00+00:00"}

    # Nothing new: the overlap's rows come back as the same bytes and land nothing.
    again, by_key = _poll(settings, contract)
    assert again.ok and by_key["orders"].objects == 0 and by_key["customers"].objects == 0
    assert by_key["orders"].rows == 1 and by_key["orders"].duplicate
    assert _landed(settings) == first_objects

    # Committed late with an older time within the overlap, and one sharing the newest time.
    _orders(shop, (6, "1.00", 27), (7, "2.00", 30))
    late, by_key = _poll(settings, contract)
    assert late.ok and by_key["orders"].objects == 1
    new = [p for p in _landed(settings) if p not in first_objects]
    assert sorted(r["order_id"] for r in _rows(new)) == [5, 6, 7]  # 5: re-read, bronze dedupes
    assert sorted({r["order_id"] for r in _rows(_landed(settings))}) == list(range(1, 8))

    # And once more nothing new: nothing lands.
    quiet, by_key = _poll(settings, contract)
    assert quiet.ok and by_key["orders"].objects == 0 and by_key["orders"].rows == 3
    assert len(_landed(settings)) == len(first_objects) + 1

    # The DSN's password is nowhere: not in landing, state or the result.
    for path in settings.lake.root.rglob("*"):
        if path.is_file() and not path.name.endswith(".gz"):
            assert warehouse_server.password not in path.read_text(errors="ignore")
    for path in _landed(settings):
        assert warehouse_server.password not in json.dumps(read_object(path)["envelope"])
    assert warehouse_server.password not in json.dumps(quiet.to_dict())


def test_a_wrong_password_fails_each_table_with_one_clear_line(
    settings, contract, shop, warehouse_server, monkeypatch
):
    monkeypatch.setenv(DSN_VAR, _dsn(warehouse_server, password="not-the-password"))
    result, by_key = _poll(settings, contract)
    assert not result.ok
    reason = by_key["orders"].reason
    assert reason.startswith(f"cannot connect to PostgreSQL at 127.0.0.1:{warehouse_server.port}")
    assert "password authentication failed" in reason and "\n" not in reason
    assert "not-the-password" not in json.dumps(result.to_dict())
    assert not _landed(settings)


def test_an_unreachable_server_and_a_missing_table_fail_alone(
    settings, contract, shop, warehouse_server, monkeypatch
):
    shop.execute("insert into kinds_pg.customers values (1, 'Ada', %s)", [T0])
    shop.execute("drop table kinds_pg.orders")
    result, by_key = _poll(settings, contract)
    assert by_key["customers"].ok and by_key["customers"].rows == 1
    assert not by_key["orders"].ok
    assert by_key["orders"].reason == 'kinds_pg.orders: relation "kinds_pg.orders" does not exist'
    assert result.failure_message().startswith("1 of 2 targets failed")

    monkeypatch.setenv(DSN_VAR, _dsn(warehouse_server, port=1))
    result, by_key = _poll(settings, contract)
    assert not result.ok
    assert by_key["customers"].reason.startswith("cannot connect to PostgreSQL at 127.0.0.1:1/")


def test_a_missing_dsn_and_cdc_are_clear(settings, contract, monkeypatch):
    monkeypatch.delenv(DSN_VAR, raising=False)
    result = pg_kind.run(settings, contract, IngestRequest())
    assert [t.reason for t in result.targets] == [
        f"{DSN_VAR} is not set (the PostgreSQL connection string, a secret)"
    ] * 2
    data = contract.model_dump()
    data["source"]["capture"] = "cdc"
    cdc = Contract.model_validate(data)
    result = pg_kind.run(settings, cdc, IngestRequest())
    assert [t.reason for t in result.targets] == [
        f"{DSN_VAR} is not set (the PostgreSQL connection string, a secret)"
    ] * 2


def test_capture_against_a_database_without_logical_decoding_is_one_line(
    settings, contract, warehouse_server, monkeypatch
):
    """The warehouse server runs with the default wal_level: capture says what it needs, before
    any broker or connector is started."""
    monkeypatch.setenv(DSN_VAR, _dsn(warehouse_server))
    data = contract.model_dump()
    data["source"]["capture"] = "cdc"
    cdc = Contract.model_validate(data)
    assert cdc.source.cdc.slot == "lakehouse_kinds_pg"
    assert set(cdc.topic_landings) == {f"kinds_pg.{t.table}" for t in cdc.source.tables.values()}
    result = pg_kind.run(settings, cdc, IngestRequest())
    reasons = {t.reason for t in result.targets}
    assert len(reasons) == 1 and not result.ok
    (reason,) = reasons
    assert "wal_level=replica" in reason and "wal_level=logical" in reason
    assert warehouse_server.password not in reason


def test_track_deletes_lands_each_vanished_key_once_as_a_marker(
    settings, contract, shop, warehouse_server
):
    tables = dict(contract.source.tables)
    tables["customers"] = tables["customers"].model_copy(update={"track_deletes": True})
    tracking = contract.model_copy(
        update={"source": contract.source.model_copy(update={"tables": tables})}
    )
    for customer_id, minutes in ((1, 0), (2, 10), (3, 20)):
        shop.execute(
            "insert into kinds_pg.customers values (%s, 'c', %s)",
            [customer_id, T0 + timedelta(minutes=minutes)],
        )
    first = pg_kind.run(settings, tracking, IngestRequest())
    assert first.ok and not _rows(_landed(settings, "customers"))[3:]  # no marker on a first poll

    shop.execute("delete from kinds_pg.customers where customer_id in (2, 3)")
    deleted = pg_kind.run(settings, tracking, IngestRequest())
    assert deleted.ok, deleted.failure_message()
    markers = [r for r in _rows(_landed(settings, "customers")) if r.get("_deleted")]
    # Dated at the newest watermark the table showed (its own clock), keyed like its rows.
    assert markers == [
        {"customer_id": 2, "updated_at": "2025-03-05T12:20:00+00:00", "_deleted": True},
        {"customer_id": 3, "updated_at": "2025-03-05T12:20:00+00:00", "_deleted": True},
    ]
    before = _landed(settings, "customers")
    quiet = pg_kind.run(settings, tracking, IngestRequest())
    assert quiet.ok and _landed(settings, "customers") == before  # each deletion lands once


def test_a_local_server_source_before_its_database_exists_polls_nothing(
    settings, contract, monkeypatch
):
    monkeypatch.delenv(DSN_VAR, raising=False)
    local = contract.model_copy(
        update={"source": contract.source.model_copy(update={"local_server": True})}
    )
    result = pg_kind.run(settings, local, IngestRequest())
    assert result.ok and [t.rows for t in result.targets] == [0, 0]
    assert "has not been created yet" in result.targets[0].warnings[0]
    assert DSN_VAR in result.targets[0].warnings[0]
    # No server was started just to find that out.
    assert not (settings.lake.state / "postgres").exists()
