"""The local warehouse for real: a PostgreSQL server in its own folder, and the gold publish.

Nothing is faked: the tests start Debian's PostgreSQL through ``LocalServer`` (one shared server
for the session, plus short-lived servers for the stop/start cycle and the private-folder start)
and publish Arrow tables built here, shaped like the gold marts.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from lakehouse.cli.app import app
from lakehouse.settings import Settings
from lakehouse.warehouse import testing
from lakehouse.warehouse.publish import last_publish, publish_tables
from lakehouse.warehouse.query import run_query
from lakehouse.warehouse.server import (
    ROOT_CLUSTERS_DIR,
    LocalServer,
    WarehouseError,
    connect,
    require_target,
)

pytestmark = pytest.mark.slow

# One shared server for the session (see lakehouse.warehouse.testing).
warehouse_server = testing.warehouse_server
warehouse_settings = testing.warehouse_settings


def _daily(cities: list[str], temperature: float) -> pa.Table:
    """A small ``agg_weather_daily``: one row per city and day, temperature as given."""
    days = [date(2024, 6, 1), date(2024, 6, 2)]
    rows = [(c, d) for c in cities for d in days]
    return pa.table(
        {
            "city": pa.array([c for c, _ in rows], pa.string()),
            "local_date": pa.array([d for _, d in rows], pa.date32()),
            "observation_count": pa.array([24] * len(rows), pa.int64()),
            "avg_temperature_c": pa.array([temperature] * len(rows), pa.float64()),
        }
    )


def _summary(cities: list[str]) -> pa.Table:
    return pa.table({"city": cities, "days": pa.array([2] * len(cities), pa.int32())})


def _gold_rows(settings) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(
            "select city, local_date, observation_count, avg_temperature_c "
            "from gold.agg_weather_daily order by city, local_date"
        ).fetchall()


def _schemas(settings) -> set[str]:
    with connect(settings) as conn:
        return {r[0] for r in conn.execute("select nspname from pg_namespace").fetchall()}


def test_start_is_idempotent_listens_on_loopback_and_keeps_no_password(warehouse_settings):
    server = LocalServer(warehouse_settings)
    first = server.status()
    again = server.start()
    assert first.running and again.running
    assert (again.pid, again.port) == (first.pid, first.port)

    with connect(warehouse_settings) as conn:
        assert conn.execute("show listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("show port").fetchone()[0] == str(first.port)
        hba = conn.execute(
            "select distinct auth_method from pg_hba_file_rules where error is null"
        ).fetchall()
    assert {r[0] for r in hba} == {"scram-sha-256"}

    password = warehouse_settings.warehouse_password.get_secret_value()
    state = (server.directory / "server.json").read_text(encoding="utf-8")
    assert str(first.port) in state and password not in state
    assert not list(server.directory.glob(".pwfile-*")), "the initdb password file must be gone"

    result = CliRunner().invoke(app, ["warehouse", "status"])
    assert result.exit_code == 0, result.output
    assert f"127.0.0.1:{first.port}" in result.output
    result = CliRunner().invoke(app, ["warehouse", "start"])
    assert result.exit_code == 0, result.output
    assert password not in result.output


def test_wrong_password_is_a_clear_error_without_the_password(warehouse_settings):
    wrong = warehouse_settings.model_copy(
        update={"warehouse_password": SecretStr("not-the-password")}
    )
    with pytest.raises(WarehouseError, match="rejected the password") as excinfo:
        LocalServer(wrong).start()
    assert "not-the-password" not in str(excinfo.value)
    with pytest.raises(WarehouseError, match="LAKEHOUSE_WAREHOUSE_PASSWORD"):
        run_query(wrong, "select 1")


def test_stop_start_cycle_on_its_own_folder(tmp_path: Path, monkeypatch):
    # World-traversable parent so the unprivileged server user (tests as root) can reach it.
    folder = Path("/var/tmp") / f"lakehouse-wh-cycle-{tmp_path.name}-{time.time_ns()}"
    folder.mkdir(mode=0o711)
    folder.chmod(0o711)
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE_DIR", str(folder))
    settings = Settings(lake_root=tmp_path / "lake", warehouse_dir=folder, _env_file=None)
    server = LocalServer(settings)
    try:
        assert not server.status().running
        assert CliRunner().invoke(app, ["warehouse", "status"]).exit_code == 3
        with pytest.raises(WarehouseError, match="not running"):
            require_target(settings)

        started = server.start()
        assert started.running and started.port
        assert run_query(settings, "select current_database()").rows == [("lakehouse",)]

        result = CliRunner().invoke(app, ["warehouse", "stop"])
        assert result.exit_code == 0 and "stopped" in result.output
        assert not server.status().running
        assert server.stop() is False
        with pytest.raises(WarehouseError, match="not running"):
            run_query(settings, "select 1")

        # A restart keeps the data and, when it is still free, the remembered port.
        restarted = server.start()
        assert restarted.running and restarted.port == started.port
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_starts_from_a_private_folder_and_answers_queries(tmp_path: Path, monkeypatch):
    """The common root setup: the lake (and so the warehouse folder) under a 0700 folder.

    As root, PostgreSQL runs as 'postgres', which cannot traverse the private parent; the
    cluster then lives under ROOT_CLUSTERS_DIR, recorded in server.json for stop and status.
    """
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    lake = private / "lake"
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(lake))
    settings = Settings(lake_root=lake, _env_file=None)
    server = LocalServer(settings)
    assert server.directory == (lake / "_state" / "warehouse").resolve()
    runner = CliRunner()
    try:
        started = runner.invoke(app, ["warehouse", "start"])
        assert started.exit_code == 0, started.output
        assert run_query(settings, "select current_database()").rows == [("lakehouse",)]
        answer = runner.invoke(
            app, ["sql", "--engine", "warehouse", "--format", "json", "select 41 + 1 as n"]
        )
        assert answer.exit_code == 0, answer.output
        assert json.loads(answer.stdout) == [{"n": 42}]

        status = server.status()
        assert status.running
        if os.geteuid() == 0:
            state = json.loads((server.directory / "server.json").read_text(encoding="utf-8"))
            assert Path(state["cluster_dir"]).parent == ROOT_CLUSTERS_DIR
            assert status.cluster_dir == Path(state["cluster_dir"])
            assert str(status.log_file).startswith(state["cluster_dir"])
        assert runner.invoke(app, ["warehouse", "status"]).exit_code == 0

        stopped = runner.invoke(app, ["warehouse", "stop"])
        assert stopped.exit_code == 0 and "stopped" in stopped.output
        assert not server.status().running
        # A second start finds the same cluster (its data and password) again.
        again = runner.invoke(app, ["warehouse", "start"])
        assert again.exit_code == 0, again.output
        assert run_query(settings, "select 1 as one").rows == [(1,)]
    finally:
        cluster = server.cluster_dir
        server.stop()
        if cluster != server.directory:
            shutil.rmtree(cluster, ignore_errors=True)


def test_publish_builds_declared_indexes_and_rejects_unknown_columns(warehouse_settings):
    publish_tables(
        warehouse_settings,
        {
            "agg_weather_daily": _daily(["berlin"], 10.0),
            "agg_weather_city_summary": _summary(["berlin"]),
        },
        build_id="build-indexed",
        indexes={"agg_weather_daily": [["local_date"], ["city", "local_date"]]},
    )
    defs = run_query(
        warehouse_settings,
        "select tablename, indexdef from pg_indexes where schemaname = 'gold' order by indexdef",
    ).rows
    assert [(t, d.split(" USING ")[1]) for t, d in defs] == [
        ("agg_weather_daily", "btree (city, local_date)"),
        ("agg_weather_daily", "btree (local_date)"),
    ]
    with pytest.raises(WarehouseError, match="declares an index on rain_mm"):
        publish_tables(
            warehouse_settings,
            {"agg_weather_daily": _daily(["oslo"], 1.0)},
            build_id="build-bad-index",
            indexes={"agg_weather_daily": [["rain_mm"]]},
        )
    # The failed publish left the indexed build published.
    assert _gold_rows(warehouse_settings)[0][0] == "berlin"


def test_publish_replaces_gold_and_records_the_build(warehouse_settings):
    first = publish_tables(
        warehouse_settings,
        {
            "agg_weather_daily": _daily(["berlin", "lima"], 10.0),
            "agg_weather_city_summary": _summary(["berlin", "lima"]),
        },
        build_id="build-a",
    )
    assert first.rows == {"agg_weather_daily": 4, "agg_weather_city_summary": 2}
    second = publish_tables(
        warehouse_settings,
        {
            "agg_weather_daily": _daily(["oslo"], 20.5),
            "agg_weather_city_summary": _summary(["oslo"]),
        },
        build_id="build-b",
    )
    assert second.rows["agg_weather_daily"] == 2
    assert _gold_rows(warehouse_settings) == [
        ("oslo", date(2024, 6, 1), 24, 20.5),
        ("oslo", date(2024, 6, 2), 24, 20.5),
    ]
    assert last_publish(warehouse_settings)["build_id"] == "build-b"
    leftovers = {s for s in _schemas(warehouse_settings) if s.startswith("gold__")}
    assert leftovers == set()
    # Unqualified names resolve to gold for analysts, and the engine is read-only.
    result = run_query(warehouse_settings, "select count(*) as n from agg_weather_city_summary")
    assert (result.columns, result.rows) == (["n"], [(1,)])
    with pytest.raises(WarehouseError, match="read-only"):
        run_query(warehouse_settings, "delete from agg_weather_daily")

    # The same through the CLI, in the same output formats as the lake engine.
    cli = CliRunner().invoke(
        app,
        [
            "sql",
            "--engine",
            "warehouse",
            "--format",
            "json",
            "select city, local_date, avg_temperature_c from agg_weather_daily order by local_date",
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout) == [
        {"city": "oslo", "local_date": "2024-06-01", "avg_temperature_c": 20.5},
        {"city": "oslo", "local_date": "2024-06-02", "avg_temperature_c": 20.5},
    ]
    bad = CliRunner().invoke(app, ["sql", "--engine", "warehouse", "select * from nope"])
    assert bad.exit_code == 1 and "nope" in bad.output


def test_warehouse_sql_is_one_read_only_statement(warehouse_settings):
    publish_tables(
        warehouse_settings, {"agg_weather_daily": _daily(["berlin"], 14.6)}, build_id="ro"
    )
    before = _gold_rows(warehouse_settings)
    runner = CliRunner()

    def sql(query: str):
        return runner.invoke(app, ["sql", "--engine", "warehouse", "--", query])

    for query in (
        "select 1; delete from agg_weather_daily",
        "delete from agg_weather_daily; select 1",
        "select ';'; select 2",
    ):
        result = sql(query)
        assert result.exit_code == 2, (query, result.output)
        assert result.stderr.splitlines() == [
            "error: one statement at a time: the query holds 2 statements"
        ]
    for query in ("", " ; ", "-- nothing"):
        result = sql(query)
        assert result.exit_code == 2, (query, result.output)
        assert "empty" in result.stderr
    for query in (
        "delete from agg_weather_daily",
        "create table gold.x (a int)",
        "drop table agg_weather_daily",
    ):
        result = sql(query)
        assert result.exit_code == 1, (query, result.output)
        assert len(result.stderr.splitlines()) == 1 and "read-only" in result.stderr
    # Nor files of the server: analyst SQL does not run as the cluster's superuser.
    target = Path(tempfile.mkdtemp(prefix="lakehouse-copy-", dir="/var/tmp")) / "x.csv"
    target.parent.chmod(0o777)
    try:
        for query in (
            f"copy (select 1) to '{target}'",
            "select pg_read_file('/etc/hostname')",
            "select * from pg_ls_dir('/')",
            "set role lakehouse",
        ):
            result = sql(query)
            assert result.exit_code == 1, (query, result.output)
            assert len(result.stderr.splitlines()) == 1, result.stderr
        assert not target.exists()
    finally:
        shutil.rmtree(target.parent, ignore_errors=True)
    # One line even where PostgreSQL's message echoes the query with a caret.
    syntax = sql("select from from")
    assert syntax.exit_code == 1 and len(syntax.stderr.splitlines()) == 1, syntax.stderr
    assert _gold_rows(warehouse_settings) == before

    # Values print verbatim (no markup) and floats as people read them.
    table = sql("select '[/x]' as a, '[bold]x[/bold]' as b, 0.1::float8 + 0.2::float8 as c")
    assert table.exit_code == 0, table.output
    assert "[/x]" in table.stdout and "[bold]x[/bold]" in table.stdout
    assert "0.3 " in table.stdout and "0.30000000000000004" not in table.stdout
    one = sql("select city from agg_weather_daily limit 1;")
    assert one.exit_code == 0 and "berlin" in one.stdout


def test_failed_publish_leaves_the_published_gold_unchanged(warehouse_settings):
    publish_tables(
        warehouse_settings, {"agg_weather_daily": _daily(["berlin"], 12.0)}, build_id="good"
    )
    before = _gold_rows(warehouse_settings)
    # The second mart has a nested column the publish refuses, after the first mart loaded.
    broken = pa.table({"city": ["x"], "tags": pa.array([["a", "b"]], pa.list_(pa.string()))})
    with pytest.raises(WarehouseError, match="tags"):
        publish_tables(
            warehouse_settings,
            {"agg_weather_daily": _daily(["oslo"], 30.0), "zz_broken": broken},
            build_id="bad",
        )
    assert _gold_rows(warehouse_settings) == before
    assert last_publish(warehouse_settings)["build_id"] == "good"
    assert not {s for s in _schemas(warehouse_settings) if s.startswith("gold__")}


def test_concurrent_reader_sees_old_or_new_gold_never_a_mix(warehouse_settings):
    old_cities, new_cities = ["berlin", "lima"], ["oslo", "quito", "perth"]
    publish_tables(
        warehouse_settings,
        {
            "agg_weather_daily": _daily(old_cities, 1.0),
            "agg_weather_city_summary": _summary(old_cities),
        },
        build_id="old",
    )
    target = require_target(warehouse_settings)
    password = warehouse_settings.warehouse_password.get_secret_value()

    def snapshot(cur) -> tuple:
        daily = cur.execute(
            "select count(*), sum(avg_temperature_c) from gold.agg_weather_daily"
        ).fetchone()
        summary = cur.execute("select count(*) from gold.agg_weather_city_summary").fetchone()
        return (int(daily[0]), float(daily[1]), int(summary[0]))

    old_state, new_state = (4, 4.0, 2), (6, 12.0, 3)
    reader = psycopg.connect(
        host=target.host,
        port=target.port,
        dbname=target.database,
        user=target.user,
        password=password,
    )
    reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    seen: list[tuple] = []
    stop_polling = threading.Event()

    def poll() -> None:
        # Autocommit reader: every statement pair is taken while the publish runs.
        with psycopg.connect(
            host=target.host,
            port=target.port,
            dbname=target.database,
            user=target.user,
            password=password,
            autocommit=True,
        ) as conn:
            while not stop_polling.is_set():
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute("set transaction isolation level repeatable read")
                    seen.append(snapshot(cur))

    try:
        with reader.cursor() as cur:
            assert snapshot(cur) == old_state  # reader now holds the old marts in a transaction
        poller = threading.Thread(target=poll)
        poller.start()
        publisher = threading.Thread(
            target=publish_tables,
            args=(
                warehouse_settings,
                {
                    "agg_weather_daily": _daily(new_cities, 2.0),
                    "agg_weather_city_summary": _summary(new_cities),
                },
            ),
            kwargs={"build_id": "new"},
        )
        publisher.start()
        time.sleep(1.5)
        # The swap waits for the reader; inside its transaction the reader still sees old gold.
        assert publisher.is_alive()
        with reader.cursor() as cur:
            assert snapshot(cur) == old_state
        reader.commit()
        publisher.join(timeout=60)
        assert not publisher.is_alive()
        with reader.cursor() as cur:
            assert snapshot(cur) == new_state
        reader.commit()
    finally:
        stop_polling.set()
        reader.close()
    poller.join(timeout=30)
    assert seen, "the polling reader should have read during the publish"
    assert set(seen) <= {old_state, new_state}, f"a reader saw a mix: {set(seen)}"
