"""``lakehouse simulate fleet`` with LAKEHOUSE_FLEET_PG_DSN set: it plays into that database.

The session's warehouse server stands in for "another database" (two databases of it); the
fleet's own server (DSN unset) is exercised by tests/e2e/test_fleet_pipeline.py. The same seed
plays the same history, byte for byte; another seed another one.
"""

from __future__ import annotations

import psycopg
import pytest

from lakehouse.simulate import SimulatorError
from lakehouse.simulate import fleet as fleet_sim
from lakehouse.warehouse import testing

pytestmark = pytest.mark.slow

warehouse_server = testing.warehouse_server


def _dsn(server, database: str) -> str:
    return (
        f"host=127.0.0.1 port={server.port} dbname={database} user=lakehouse "
        f"password={server.password}"
    )


@pytest.fixture
def databases(warehouse_server):
    names = ["sim_fleet_a", "sim_fleet_b", "sim_fleet_c"]
    with psycopg.connect(_dsn(warehouse_server, "lakehouse"), autocommit=True) as conn:
        for name in names:
            conn.execute(f"drop database if exists {name}")
            conn.execute(f"create database {name}")
    yield {n: _dsn(warehouse_server, n) for n in names}
    with psycopg.connect(_dsn(warehouse_server, "lakehouse"), autocommit=True) as conn:
        for name in names:
            conn.execute(f"drop database if exists {name} with (force)")


def _dump(dsn: str) -> tuple[list, list]:
    with psycopg.connect(dsn) as conn:
        units = conn.execute("select * from fleet.transport_units order by unit_id").fetchall()
        stats = conn.execute(
            "select * from fleet.unit_performance order by unit_id, stat_date"
        ).fetchall()
    return units, stats


def test_the_same_seed_plays_the_same_days_into_the_database_the_dsn_names(
    settings, databases, monkeypatch
):
    runs = {}
    for name, seed in (("sim_fleet_a", 5), ("sim_fleet_b", 5), ("sim_fleet_c", 6)):
        monkeypatch.setenv("LAKEHOUSE_FLEET_PG_DSN", databases[name])
        reports = fleet_sim.simulate(settings, days=4, seed=seed)
        runs[name] = (reports, _dump(databases[name]))
    reports, (units, stats) = runs["sim_fleet_a"]
    assert [r.day for r in reports] == [
        "2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"
    ]  # fmt: skip
    assert reports[0].seeded == 12
    # Yesterday's statistics of every unit alive at the end of yesterday, each day.
    assert [r.stats_date for r in reports[1:]] == ["2026-01-01", "2026-01-02", "2026-01-03",
                                                  "2026-01-04"]  # fmt: skip
    assert len(stats) == sum(r.stats_written for r in reports)
    assert sum(len(r.renamed) + len(r.rebased) for r in reports) > 0
    assert runs["sim_fleet_b"][1] == (units, stats)
    assert [r.to_dict() for r in runs["sim_fleet_b"][0]] == [r.to_dict() for r in reports]
    assert runs["sim_fleet_c"][1] != (units, stats)
    # The project's own server was not started: the DSN named the database to use.
    assert not (settings.lake.state / "postgres" / "fleet" / "pgdata").exists()

    # A second call goes on from the newest day in the database.
    monkeypatch.setenv("LAKEHOUSE_FLEET_PG_DSN", databases["sim_fleet_a"])
    more = fleet_sim.simulate(settings, days=1, seed=5)
    assert [r.day for r in more] == ["2026-01-06"]


def test_a_wrong_password_is_one_line_without_it(settings, warehouse_server, monkeypatch):
    monkeypatch.setenv(
        "LAKEHOUSE_FLEET_PG_DSN",
        f"host=127.0.0.1 port={warehouse_server.port} dbname=lakehouse user=lakehouse "
        "password=wrong-pw-31",
    )
    with pytest.raises(SimulatorError) as err:
        fleet_sim.simulate(settings, days=1)
    message = str(err.value)
    assert "password authentication failed" in message and "wrong-pw-31" not in message
    assert "\n" not in message
