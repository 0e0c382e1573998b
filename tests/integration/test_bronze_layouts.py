"""The bronze job on every layout, with small hand-made objects and the fixture contracts.

Contracts: ``tests/fixtures/contracts/layouts/`` (records with nested arrays, JSON lines,
Debezium, csv/parquet/text/sas7bdat files). Objects are landed with the real
:mod:`lakehouse.landing` functions (documents, base64 documents and raw files with their
envelope sidecar); the job runs on the one local Delta session of the test process.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lakehouse.contracts import Contract, load_contract
from lakehouse.lake import Lake
from lakehouse.landing import land_body, land_file, land_response

pytestmark = pytest.mark.slow

CONTRACTS = Path(__file__).resolve().parents[1] / "fixtures" / "contracts" / "layouts"
T1 = datetime(2025, 3, 9, 6, 0, tzinfo=UTC)
T2 = T1 + timedelta(hours=1)
T3 = T1 + timedelta(hours=2)


def contract(name: str) -> Contract:
    return load_contract(name, CONTRACTS)


def run(spark: Any, lake: Lake, source: str, entity: str) -> Any:
    from spark.landing_to_bronze import run as run_job

    return run_job(spark, lake, source, entity, contract=contract(source))


def table(spark: Any, lake: Lake, name: str, layer: str = "bronze") -> list[dict[str, Any]]:
    path = lake.bronze(name) if layer == "bronze" else lake.quarantine(name)
    return [r.asDict() for r in spark.read.format("delta").load(str(path)).collect()]


def lines(*records: Any) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records).encode()


# ---------------------------------------------------------------- records


def offers_body() -> dict[str, Any]:
    def segment(sid: str, carrier: str, at: str, zone: str) -> dict[str, Any]:
        return {"id": sid, "carrierCode": carrier, "departure": {"at": at, "zone": zone}}

    la, ny = "America/Los_Angeles", "America/New_York"
    return {
        "meta": {"currency": "USD", "count": 4},
        "data": [
            {
                "id": "1",
                "price": {"total": "412.30"},
                "numberOfBookableSeats": 4,
                "itineraries": [
                    {
                        "duration": "PT5H",
                        "segments": [
                            segment("1", "UA", "2025-04-01T08:00:00", la),
                            segment("2", "UA", "2025-04-01T15:30:00", ny),
                        ],
                    },
                    {
                        "duration": "PT6H",
                        "segments": [segment("3", "B6", "2025-04-08T09:00:00", ny)],
                    },
                ],
            },
            {
                "id": "2",
                "price": {"total": "55.10"},
                "itineraries": [
                    {
                        "duration": "PT1H",
                        "segments": [segment("1", "AA", "2025-04-01T10:00:00", "Mars/Base")],
                    }
                ],
            },
            {"id": "3", "price": {"total": "99.00"}, "itineraries": []},
            {
                "id": "4",
                "price": {"total": "12.345"},
                "numberOfBookableSeats": 12,
                "itineraries": [
                    {
                        "duration": "PT2H",
                        "segments": [segment("1", "DL", "2025-04-02T07:00:00", la)],
                    }
                ],
            },
        ],
    }


def land_offers(lake: Lake, key: str, origin: str, body: dict[str, Any], at: datetime) -> Path:
    return land_response(
        lake,
        source="trips",
        entity="offers",
        key=key,
        method="GET",
        url="http://trips.invalid/v2/offers",
        params={"origin": origin, "destination": "JFK"},
        http_status=200,
        content_type="application/json",
        body=json.dumps(body).encode(),
        batch_id="s1",
        fetched_at=at,
    ).path


def test_records_explode_nested_arrays_and_carry_parent_values(spark: Any, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    land_offers(lake, "sfo_jfk__30", "SFO", offers_body(), T1)
    # Origin not allowed: one reject for the object (other bytes: the landing keeps one copy).
    land_offers(lake, "ord_jfk__30", "ORD", {**offers_body(), "meta": {"currency": "EUR"}}, T1)

    result = run(spark, lake, "trips", "segments")
    rows = {
        (r["search_key"], r["offer_id"], r["segment_id"]): r
        for r in table(spark, lake, "trips__segments")
    }
    assert set(rows) == {
        ("sfo_jfk__30", "1", "1"),
        ("sfo_jfk__30", "1", "2"),
        ("sfo_jfk__30", "1", "3"),
    }
    first, second, back = (rows[("sfo_jfk__30", "1", s)] for s in ("1", "2", "3"))
    # Offer values carried down to each segment; itinerary values to its own segments only.
    assert {r["total"] for r in (first, second, back)} == {Decimal("412.30")}
    assert {r["seats"] for r in (first, second, back)} == {4}
    assert (first["duration"], second["duration"], back["duration"]) == ("PT5H", "PT5H", "PT6H")
    assert (first["carrier"], back["carrier"]) == ("UA", "B6")
    assert first["currency"] == "USD" and first["origin"] == "SFO"
    # Wall time in each segment's own zone, made UTC.
    assert first["departed_at"] == datetime(2025, 4, 1, 15, 0)
    assert second["departed_at"] == datetime(2025, 4, 1, 19, 30)
    assert back["departed_at"] == datetime(2025, 4, 8, 13, 0)
    assert str(back["departed_date"]) == "2025-04-08"

    rejects = table(spark, lake, "trips__segments", "quarantine")
    by_reason = {r["reason"]: r for r in rejects}
    assert set(by_reason) == {
        "origin=ORD is not one of [SFO, LAX]",
        "departure_zone=Mars/Base is not a valid time zone",
        "total=12.345 is not a valid decimal(10, 2); seats=12 outside [0.0, 9.0]",
    }
    # The rejected object is one row, whatever its number of records.
    origin = by_reason["origin=ORD is not one of [SFO, LAX]"]
    assert json.loads(origin["key"]) == {
        "search_key": "ord_jfk__30",
        "offer_id": None,
        "segment_id": None,
    }
    assert origin["record"].startswith('{"meta"')
    zone = by_reason["departure_zone=Mars/Base is not a valid time zone"]
    assert json.loads(zone["key"]) == {
        "search_key": "sfo_jfk__30",
        "offer_id": "2",
        "segment_id": "1",
    }
    assert zone["field"] == "departure_zone" and zone["raw_value"] == "Mars/Base"
    assert json.loads(zone["record"])["carrier"] == "AA"
    assert result.rows_valid == 3 and result.rows_quarantined == 3


# ---------------------------------------------------------------- json lines


def land_lines(lake: Lake, source: str, entity: str, body: bytes, at: datetime, kind: str) -> Path:
    return land_body(
        lake,
        source=source,
        entity=entity,
        key=f"{entity}-0",
        body=body,
        batch_id=f"{source}-{at:%H}",
        transport={"kind": kind, "topic": entity, "partition": 0},
        content_type="application/x-ndjson",
        fetched_at=at,
    ).path


def click(cid: int, name: str, amount: str, version: int, ts: Any = 1741500000000) -> dict:
    return {"id": cid, "user": {"name": name}, "amount": amount, "version": version, "ts": ts}


BIG = 9007199254740993  # 2**53 + 1: not representable as a double


def test_json_lines_newer_version_wins_whatever_the_fetch_order(spark: Any, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    land_lines(
        lake,
        "clicks",
        "events",
        lines(
            click(BIG, "ann", "3.10", 1),
            click(2, "bob", "1.00", 5),
            "not json {",
            "",
            click(3, "cy", "2.5", 1, ts="soon"),
            "null",
        ),
        T1,
        "stream",
    )
    # Fetched later: a newer version of BIG, an older one of 2 (must lose).
    land_lines(
        lake,
        "clicks",
        "events",
        lines(click(BIG, "ann", "4.20", 2), click(2, "bob-old", "0.50", 4)),
        T2,
        "stream",
    )
    first = run(spark, lake, "clicks", "events")
    assert first.rows_read == 6 and first.rows_valid == 4 and first.rows_quarantined == 2
    rows = {r["click_id"]: r for r in table(spark, lake, "clicks__events")}
    assert set(rows) == {BIG, 2}
    assert rows[BIG]["amount"] == Decimal("4.20") and rows[BIG]["version"] == 2
    assert rows[2]["user_name"] == "bob" and rows[2]["version"] == 5
    assert rows[BIG]["clicked_at"] == datetime.fromtimestamp(1741500000, UTC).replace(tzinfo=None)

    rejects = {r["field"]: r for r in table(spark, lake, "clicks__events", "quarantine")}
    assert rejects["record"]["reason"].startswith("unparseable record: not valid JSON")
    assert rejects["record"]["record"] == "not json {"
    assert rejects["ts"]["reason"] == (
        "ts=soon is not a valid timestamp (epoch_ms); ts=soon is not a valid bigint"
    )
    assert json.loads(rejects["ts"]["key"]) == {"click_id": "3"}

    # Re-sent later: the same version replaces (later fetch), an older one does not.
    land_lines(
        lake,
        "clicks",
        "events",
        lines(click(2, "bob-resent", "1.00", 5), click(BIG, "ann-old", "0", 1)),
        T3,
        "stream",
    )
    second = run(spark, lake, "clicks", "events")
    assert second.rows_updated == 1 and second.rows_inserted == 0
    rows = {r["click_id"]: r for r in table(spark, lake, "clicks__events")}
    assert rows[2]["user_name"] == "bob-resent" and rows[BIG]["user_name"] == "ann"


# ---------------------------------------------------------------- debezium


def change(op: str, lsn: int, before: dict | None = None, after: dict | None = None) -> dict:
    return {
        "op": op,
        "before": before,
        "after": after,
        "source": {"lsn": lsn},
        "ts_ms": 1741500000000 + lsn,
    }


def test_debezium_changes_deletes_and_tombstones(spark: Any, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    ann = {"id": 1, "name": "Ann", "balance": "10.00"}
    ann_b = {"id": 1, "name": "Ann B", "balance": "12.50"}
    bo = {"id": 2, "name": "Bo", "balance": None}
    cy = {"id": 3, "name": "Cy", "balance": "1.00"}
    wrapped = {"schema": {"type": "struct"}, "payload": change("r", 50, after=cy)}
    land_lines(
        lake,
        "crm",
        "customers",
        lines(
            change("c", 100, after=ann),
            change("u", 120, before=ann, after=ann_b),
            change("c", 130, after=bo),
            change("d", 140, before=bo),
            "null",  # tombstone
            wrapped,
            {"schema": {"type": "struct"}, "payload": None},  # tombstone, wrapped
            change("t", 150),
        ),
        T1,
        "kafka",
    )
    first = run(spark, lake, "crm", "customers")
    assert first.rows_read == 6 and first.rows_valid == 5 and first.rows_quarantined == 1
    rows = {r["id"]: r for r in table(spark, lake, "crm__customers")}
    assert rows[1]["name"] == "Ann B" and rows[1]["_op"] == "u" and rows[1]["_version"] == "120"
    assert rows[1]["balance"] == Decimal("12.50") and rows[1]["_deleted"] is False
    assert rows[2]["_deleted"] is True and rows[2]["_op"] == "d" and rows[2]["name"] == "Bo"
    assert rows[3]["name"] == "Cy" and rows[3]["_op"] == "r"
    assert rows[1]["changed_at"] == datetime.fromtimestamp(1741500000.120, UTC).replace(tzinfo=None)
    (reject,) = table(spark, lake, "crm__customers", "quarantine")
    assert reject["reason"] == "op=t is not one of [c, u, d, r]" and reject["field"] == "op"

    # Later: a re-delivered event (same lsn), a stale one (older lsn) and a new row.
    land_lines(
        lake,
        "crm",
        "customers",
        lines(
            change("u", 110, before=ann, after={**ann, "name": "stale"}),
            change("c", 160, after={"id": 4, "name": "Di", "balance": "0"}),
        ),
        T2,
        "kafka",
    )
    second = run(spark, lake, "crm", "customers")
    assert second.rows_inserted == 1 and second.rows_updated == 0
    rows = {r["id"]: r for r in table(spark, lake, "crm__customers")}
    assert rows[1]["name"] == "Ann B" and rows[4]["name"] == "Di"


def captured_fleet() -> Contract:
    """The fleet contract as it reads Debezium change events (capture: cdc)."""
    import yaml

    from lakehouse.contracts import CONTRACTS_DIR

    data = yaml.safe_load((CONTRACTS_DIR / "fleet.yml").read_text(encoding="utf-8"))
    data["source"]["capture"] = "cdc"
    return Contract.model_validate(data)


def unit_event(op: str, tx: int, lsn: int, unit: dict | None, before: dict | None = None) -> dict:
    return {
        "op": op,
        "before": before,
        "after": unit,
        "source": {"lsn": lsn, "txId": tx, "ts_ms": 1796027848000, "table": "transport_units"},
        "ts_ms": 1796027849000,
    }


def test_captured_changes_read_as_polled_rows_and_deletes_as_markers(
    spark: Any, tmp_path: Path
) -> None:
    """Debezium's dates (days), zoned timestamps (...000000Z) and a delete's placeholder image
    become what polling lands: ISO text, and a key-only marker on the table's own clock."""
    from spark.landing_to_bronze import run as run_job

    fleet = captured_fleet()
    assert fleet.entities["units"].layout.type == "debezium"
    lake = Lake(tmp_path / "lake")
    unit = {"unit_id": "AIR-001", "name": "Heron", "unit_type": "aerial", "model": "ATR",
            "capacity": 70, "home_base": "Oslo", "status": "active"}  # fmt: skip
    placeholder = {"unit_id": "SEA-001", "name": "", "unit_type": "", "model": None,
                   "capacity": None, "home_base": None, "status": "",
                   "updated_at": "1970-01-01T00:00:00Z"}  # fmt: skip
    # A fraction of a second stays (iso8601 reads it, polled or captured); whole seconds have none.
    land_lines(
        lake,
        "fleet",
        "units",
        lines(
            unit_event("r", 1, 10, {**unit, "updated_at": "2026-01-01T06:00:00.000000Z"}),
            unit_event(
                "u",
                2,
                20,
                {**unit, "name": "Heron II", "updated_at": "2026-01-02T09:00:00.000000Z"},
            ),  # fmt: skip
            unit_event("d", 2, 21, None, placeholder),
            "null",  # its tombstone
            unit_event(
                "u",
                2,
                22,
                {**unit, "unit_id": "AIR-002", "updated_at": "2026-01-02T17:30:00.250000Z"},
            ),  # fmt: skip
            unit_event("d", 3, 30, None, {**placeholder, "unit_id": "SEA-002"}),
        ),
        T1,
        "kafka",
    )
    result = run_job(spark, lake, "fleet", "units", contract=fleet)
    assert result.rows_quarantined == 0 and result.rows_valid == 5
    rows = {
        (r["unit_id"], r["updated_at"].isoformat()): r for r in table(spark, lake, "fleet__units")
    }
    assert rows[("AIR-001", "2026-01-02T09:00:00")]["name"] == "Heron II"
    # The delete of transaction 2: the newest time among that transaction's other changes.
    marker = rows[("SEA-001", "2026-01-02T17:30:00.250000")]
    assert marker["deleted"] is True and marker["name"] is None and marker["unit_type"] is None
    # Alone in its transaction: the commit time.
    (alone,) = [r for (u, _), r in rows.items() if u == "SEA-002"]
    assert alone["deleted"] is True
    assert alone["updated_at"] == datetime.fromtimestamp(1796027848, UTC).replace(tzinfo=None)
    assert rows[("AIR-001", "2026-01-01T06:00:00")]["deleted"] is None

    land_lines(
        lake,
        "fleet",
        "performance",
        lines(
            {
                "op": "c",
                "before": None,
                "after": {
                    "unit_id": "AIR-001",
                    "stat_date": 20454,
                    "distance_km": 974.5,
                    "fuel_used_l": 2538.5,
                    "hours_active": 19.12,
                    "maintenance_events": 2,
                    "updated_at": "2026-01-02T06:41:00.000000Z",
                },
                "source": {"lsn": 40, "txId": 4, "ts_ms": 1796027848508},
                "ts_ms": 1796027849000,
            }
        ),  # fmt: skip
        T1,
        "kafka",
    )
    result = run_job(spark, lake, "fleet", "performance", contract=fleet)
    assert result.rows_valid == 1 and result.rows_quarantined == 0
    (stat,) = table(spark, lake, "fleet__performance")
    assert stat["stat_date"].isoformat() == "2026-01-01" and stat["distance_km"] == 974.5


# ---------------------------------------------------------------- files


STATIONS = (
    "station;name;elevation;opened\n"
    "ZRH;Zürich;556;15.01.2020\n"
    "GVA;Genève;NA;01.07.2019\n"
    "BRN;Bern;-;xx\n"
    'BSL;"Basel; Stadt";260;01.02.2021\n'
)


def test_csv_with_semicolons_null_markers_and_latin1(spark: Any, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    # Landed as a document: latin-1 is not UTF-8, so the body is stored as base64.
    land_body(
        lake,
        source="drops",
        entity="stations",
        key="stations.csv",
        body=STATIONS.encode("latin-1"),
        batch_id="d1",
        transport={"kind": "file", "location": "partner", "name": "stations.csv"},
        content_type="text/csv",
        fetched_at=T1,
    )
    result = run(spark, lake, "drops", "stations")
    assert result.rows_valid == 3 and result.rows_quarantined == 1
    rows = {r["station"]: r for r in table(spark, lake, "drops__stations")}
    assert rows["ZRH"]["name"] == "Zürich" and rows["ZRH"]["elevation"] == 556
    assert rows["GVA"]["name"] == "Genève" and rows["GVA"]["elevation"] is None
    assert rows["BSL"]["name"] == "Basel; Stadt"
    # Midnight in Zurich: CET in January, CEST in July.
    assert rows["ZRH"]["opened_at"] == datetime(2020, 1, 14, 23, 0)
    assert rows["GVA"]["opened_at"] == datetime(2019, 6, 30, 22, 0)
    (reject,) = table(spark, lake, "drops__stations", "quarantine")
    assert reject["reason"] == "opened=xx is not a valid timestamp (%d.%m.%Y)"
    assert json.loads(reject["key"]) == {"station": "BRN"}
    assert json.loads(reject["record"])["elevation"] is None

    # Sent again with one more station: the bad row already in quarantine is not rejected twice.
    land_body(
        lake,
        source="drops",
        entity="stations",
        key="stations.csv",
        body=(STATIONS + "LUG;Lugano;273;01.03.2022\n").encode("latin-1"),
        batch_id="d2",
        transport={"kind": "file", "location": "partner", "name": "stations.csv"},
        content_type="text/csv",
        fetched_at=T2,
    )
    again = run(spark, lake, "drops", "stations")
    assert (again.rows_quarantined, again.quarantine_rate, again.rows_inserted) == (0, 0.0, 1)
    assert len(table(spark, lake, "drops__stations", "quarantine")) == 1


def parquet_bytes(rows: list[tuple]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pa.table(
        {
            "station": [r[0] for r in rows],
            "ts": pa.array([r[1] for r in rows], pa.timestamp("us")),
            "value": [r[2] for r in rows],
            "samples": pa.array([r[3] for r in rows], pa.int64()),
            "price": pa.array([r[4] for r in rows], pa.decimal128(10, 2)),
        }
    )
    out = io.BytesIO()
    pq.write_table(frame, out)
    return out.getvalue()


def land_drop(lake: Lake, entity: str, name: str, data: bytes, at: datetime) -> Path:
    return land_file(
        lake,
        source="drops",
        entity=entity,
        name=name,
        stream=io.BytesIO(data),
        batch_id=f"d-{at:%H}",
        transport={"kind": "file", "location": "partner", "name": name, "size": len(data)},
        fetched_at=at,
    ).path


def test_parquet_files_landed_raw_first_wins(spark: Any, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    ten = datetime(2025, 3, 1, 10, 0)
    land_drop(
        lake,
        "readings",
        "a.parquet",
        parquet_bytes(
            [
                ("ST1", ten, 1.5, 10, Decimal("2.50")),
                ("ST1", ten + timedelta(hours=1), 99.0, 11, None),
                ("ST2", ten, -3.25, 2**40, None),
            ]
        ),
        T1,
    )
    land_drop(lake, "readings", "b.parquet", parquet_bytes([("ST1", ten, 7.0, 1, None)]), T2)
    first = run(spark, lake, "drops", "readings")
    assert first.rows_valid == 3 and first.rows_quarantined == 1
    rows = {(r["station"], r["measured_at"]): r for r in table(spark, lake, "drops__readings")}
    assert rows[("ST1", ten)]["value"] == 1.5 and rows[("ST1", ten)]["price"] == Decimal("2.50")
    assert rows[("ST2", ten)]["samples"] == 2**40 and rows[("ST2", ten)]["value"] == -3.25
    (reject,) = table(spark, lake, "drops__readings", "quarantine")
    assert reject["reason"] == "value=99.0 outside [-50.0, 50.0]"
    assert reject["_landing_path"].endswith("a.parquet")

    land_drop(lake, "readings", "c.parquet", parquet_bytes([("ST2", ten, 0.0, 1, None)]), T3)
    second = run(spark, lake, "drops", "readings")
    assert second.rows_inserted == 0 and second.rows_updated == 0  # the first reading stays
    rows = {(r["station"], r["measured_at"]): r for r in table(spark, lake, "drops__readings")}
    assert rows[("ST2", ten)]["value"] == -3.25


def test_text_file_is_one_record_and_a_bad_sas_file_is_rejected(spark: Any, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    land_drop(lake, "notes", "readme.txt", b"VALUE $i94cntyl\n  582 = 'MEXICO'\n;\n", T1)
    result = run(spark, lake, "drops", "notes")
    assert result.rows_valid == 1
    (row,) = table(spark, lake, "drops__notes")
    assert row["file_name"] == "readme.txt" and row["text"].startswith("VALUE $i94cntyl")
    assert row["received_at"] == datetime(2025, 3, 9, 6, 0)

    # The same file delivered again the next day: its key (the file name) does not fix the
    # partition (the day it was received), and the newer version still replaces the older one.
    land_drop(
        lake,
        "notes",
        "readme.txt",
        b"VALUE $i94cntyl\n  582 = 'MEXICO, REP'\n;\n",
        T1 + timedelta(days=1),
    )
    again = run(spark, lake, "drops", "notes")
    assert (again.rows_inserted, again.rows_updated) == (0, 1)
    (row,) = table(spark, lake, "drops__notes")
    assert "MEXICO, REP" in row["text"] and row["received_at"] == datetime(2025, 3, 10, 6, 0)

    land_drop(lake, "arrivals", "i94_apr16_sub.sas7bdat", b"\x00" * 64 + b"not a sas file", T1)
    result = run(spark, lake, "drops", "arrivals")
    assert result.rows_valid == 0 and result.rows_quarantined == 1
    (reject,) = table(spark, lake, "drops__arrivals", "quarantine")
    assert reject["field"] == "body" and reject["reason"].startswith("unreadable sas7bdat file")
