"""Transport fleet end to end (issue 19) against a real PostgreSQL: the project's own fleet
server, simulated days, hourly-style polls, Spark bronze, dbt SCD2 and the dashboard mart.

One module-scoped run. ``lakehouse simulate fleet`` (with LAKEHOUSE_FLEET_PG_DSN unset) starts
the fleet's own server under the lake's ``_state`` and seeds it; then days are played one at a
time with a poll after each, as the hourly schedule would, while the test records what the
database holds after each day (its own view of every unit's versions, and each unit's type). A
bad unit (unknown type) and a bad statistic (negative distance) are written straight into the
database. Bronze and transform run; then one more day, a late correction of the first day's
statistic, and bronze and transform again. The marts are compared with what the test computed
from the database's rows (numpy's linear percentile for p90).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest

from lakehouse import gold
from lakehouse.contracts import load_contract
from lakehouse.settings import Settings
from lakehouse.simulate import fleet as fleet_sim
from lakehouse.sources import IngestRequest, IngestResult
from lakehouse.sources import postgres as pg_kind
from lakehouse.sources.postgres_local import local_server, resolve_dsn
from lakehouse.warehouse.server import ROOT_CLUSTERS_DIR

# Two Spark bronze runs and two transforms: minutes on an idle 2-core machine; the timeout only
# stops a run that hangs on a loaded one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

SEED = 11
FIRST_DAYS = 5  # played one at a time before the first transform
ATTRIBUTES = "name, unit_type, model, capacity, home_base, status"
AGG_COLUMNS = [
    "unit_type", "stat_date", "unit_count", "fuel_per_100km_mean", "fuel_per_100km_p90",
    "distance_km_mean", "distance_km_p90", "hours_active_mean", "hours_active_p90",
]  # fmt: skip


@dataclass
class Fleet:
    root: Path
    settings: Settings
    env: dict[str, str]
    dsn: str
    outputs: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    # unit_id -> the distinct descriptions seen after each day, in order
    versions: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    types: dict[str, str] = field(default_factory=dict)
    agg_before: list[tuple] = field(default_factory=list)
    corrected: tuple[str, date, float] | None = None
    again: IngestResult | None = None


def _cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.app", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def _observe(run: Fleet) -> None:
    """Record the database's units as the test sees them (what each poll should find)."""
    with psycopg.connect(run.dsn) as conn:
        rows = conn.execute(f"select unit_id, {ATTRIBUTES} from fleet.transport_units").fetchall()
    for unit_id, *attrs in rows:
        seen = run.versions[unit_id]
        if not seen or seen[-1] != tuple(attrs):
            seen.append(tuple(attrs))
        run.types[unit_id] = attrs[1]


def _poll(run: Fleet) -> IngestResult:
    result = pg_kind.run(run.settings, load_contract("fleet"), IngestRequest())
    assert result.ok, result.failure_message()
    return result


def _bad_rows(run: Fleet) -> None:
    """A unit of an unknown type and a negative distance, written straight into the database.

    Stamped with the newest time there, a day before the last poll of the first round, so that
    poll reads them once: a later poll's overlap (an hour) does not reach back to them.
    """
    with psycopg.connect(run.dsn) as conn:
        conn.execute(
            "insert into fleet.transport_units values ('BAD-001', 'Nemo', 'spaceship', 'X-1', 3, "
            "'Mars', 'active', (select max(updated_at) from fleet.transport_units))"
        )
        conn.execute(
            "insert into fleet.unit_performance values ('AIR-001', '2025-12-31', -5.0, 1.0, 1.0, "
            "0, (select max(updated_at) from fleet.unit_performance))"
        )


def _ok(run: Fleet, name: str, *args: str) -> subprocess.CompletedProcess:
    done = _cli(run.env, run.root, *args)
    run.outputs[name] = done
    assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fleet-e2e")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_LAKE_ROOT"] = str(root / "lake")
    env["COLUMNS"] = "200"
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("LAKEHOUSE_")}
    os.environ["LAKEHOUSE_LAKE_ROOT"] = env["LAKEHOUSE_LAKE_ROOT"]
    settings = Settings(lake_root=root / "lake", _env_file=None)
    server = None
    try:
        run = Fleet(root, settings, env, dsn="")
        _ok(run, "simulate seed", "simulate", "fleet", "--days", "0", "--seed", str(SEED))
        contract = load_contract("fleet")
        server = local_server(settings, contract)
        run.dsn = resolve_dsn(settings, contract, start=False) or ""
        assert run.dsn, "the fleet's own server is not running after `lakehouse simulate fleet`"
        _observe(run)
        _ok(run, "ingest seed", "ingest", "fleet")
        for day in range(1, FIRST_DAYS + 1):
            fleet_sim.simulate(settings, days=1, seed=SEED)
            if day == FIRST_DAYS - 1:
                _bad_rows(run)
            _observe(run)
            if day < FIRST_DAYS:
                _poll(run)
        _ok(run, "ingest 1", "ingest", "fleet")
        run.again = _poll(run)
        _ok(run, "bronze 1", "bronze", "fleet")
        _ok(run, "transform 1", "transform")
        run.agg_before = gold.query(
            settings, "select * from agg_fleet_performance_daily order by 1, 2"
        )[1]

        # One more day, then a late correction of the first day's statistic of one unit.
        fleet_sim.simulate(settings, days=1, seed=SEED)
        _observe(run)
        first_day = fleet_sim.SEED_DAY
        with psycopg.connect(run.dsn) as conn:
            unit_id = conn.execute(
                "select min(unit_id) from fleet.unit_performance where stat_date = %s "
                "and unit_id like 'TRK-%%'",
                [first_day],
            ).fetchone()[0]
            conn.execute(
                "update fleet.unit_performance set distance_km = 1234.5, updated_at = "
                "(select max(updated_at) from fleet.unit_performance) + interval '1 minute' "
                "where unit_id = %s and stat_date = %s",
                [unit_id, first_day],
            )
        run.corrected = (unit_id, first_day, 1234.5)
        _poll(run)
        _ok(run, "bronze 2", "bronze", "fleet")
        _ok(run, "transform 2", "transform")
        yield run
    finally:
        if server is not None:
            cluster = server.cluster_dir
            server.stop()
            if cluster.parent == ROOT_CLUSTERS_DIR:
                shutil.rmtree(cluster, ignore_errors=True)
        os.environ.pop("LAKEHOUSE_LAKE_ROOT", None)
        os.environ.update(saved)


def _dim(run: Fleet) -> dict[str, list[tuple]]:
    _, rows = gold.query(
        run.settings,
        "select unit_id, unit_name, unit_type, model, capacity, home_base, status, "
        "valid_from, valid_to, is_current from dim_transport_unit order by unit_id, valid_from",
    )
    by_unit: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_unit[row[0]].append(row[1:])
    return by_unit


def test_the_fleets_own_server_lives_under_the_lakes_state(fleet_run: Fleet) -> None:
    server = local_server(fleet_run.settings, load_contract("fleet"))
    assert server.directory == (fleet_run.root / "lake" / "_state" / "postgres" / "fleet").resolve()
    assert server.status().running
    seeded = fleet_run.outputs["simulate seed"].stdout
    assert "seeded 12 units" in seeded


def test_every_version_the_polls_saw_is_a_dim_row_and_only_the_last_is_current(
    fleet_run: Fleet,
) -> None:
    dim = _dim(fleet_run)
    with psycopg.connect(fleet_run.dsn) as conn:
        alive = {r[0] for r in conn.execute("select unit_id from fleet.transport_units")}
    assert "BAD-001" not in dim  # quarantined: unknown unit type
    for unit_id, seen in fleet_run.versions.items():
        if unit_id == "BAD-001":
            continue
        rows = dim[unit_id]
        assert [r[:6] for r in rows] == seen, unit_id
        for earlier, later in zip(rows, rows[1:], strict=False):
            assert earlier[7] == later[6] and earlier[8] is False  # closed where the next starts
        assert rows[-1][8] is (unit_id in alive), unit_id
        assert (rows[-1][7] is None) is (unit_id in alive), unit_id
    assert sum(r[8] for rows in dim.values() for r in rows) == len(alive - {"BAD-001"})


def test_a_unit_renamed_twice_has_three_versions_and_the_right_current_one(
    fleet_run: Fleet,
) -> None:
    dim = _dim(fleet_run)
    renamed_twice = [
        u for u, seen in fleet_run.versions.items()
        if len(seen) == 3 and len({s[0] for s in seen}) == 3 and len({s[1:] for s in seen}) == 1
    ]  # fmt: skip
    assert renamed_twice, "seed gives no unit renamed exactly twice"
    unit_id = renamed_twice[0]
    rows = dim[unit_id]
    assert len(rows) == 3
    assert [r[0] for r in rows] == [s[0] for s in fleet_run.versions[unit_id]]
    current = [r for r in rows if r[8]]
    assert len(current) <= 1
    with psycopg.connect(fleet_run.dsn) as conn:
        name = conn.execute(
            "select name from fleet.transport_units where unit_id = %s", [unit_id]
        ).fetchone()
    if name:
        assert current and current[0][0] == name[0]


def test_a_deleted_unit_is_closed(fleet_run: Fleet) -> None:
    dim = _dim(fleet_run)
    with psycopg.connect(fleet_run.dsn) as conn:
        alive = {r[0] for r in conn.execute("select unit_id from fleet.transport_units")}
    deleted = [u for u in fleet_run.versions if u not in alive]
    assert deleted, "seed retires no unit"
    for unit_id in deleted:
        assert all(r[8] is False and r[7] is not None for r in dim[unit_id]), unit_id


def test_polling_twice_adds_nothing(fleet_run: Fleet) -> None:
    again = fleet_run.again
    assert again is not None and again.ok
    assert sum(t.objects for t in again.targets) == 0, again.to_dict()
    landed = fleet_run.outputs["ingest 1"].stdout
    assert "new objects: 0" not in landed, landed[-2000:]


def test_bad_rows_are_quarantined_with_their_reasons(fleet_run: Fleet) -> None:
    from deltalake import DeltaTable

    lake = fleet_run.settings.lake
    units = DeltaTable(str(lake.quarantine("fleet__units"))).to_pandas()
    bad_unit = units[units.key.map(lambda k: json.loads(k).get("unit_id")) == "BAD-001"]
    # Once per landing that carried it (the next poll's overlap may read it again).
    assert len(bad_unit) >= 1 and bad_unit.reason.str.contains("spaceship").all()
    perf = DeltaTable(str(lake.quarantine("fleet__performance"))).to_pandas()
    negative = perf[perf.field == "distance_km"]
    assert len(negative) >= 1 and negative.reason.str.contains("-5.0").all()
    assert len(units) == len(bad_unit) and len(perf) == len(negative)  # nothing else
    _, rows = gold.query(
        fleet_run.settings,
        "select count(*) from fct_unit_performance_daily where stat_date = '2025-12-31'",
    )
    assert rows[0][0] == 0


def _expected_agg(run: Fleet) -> list[tuple]:
    """The dashboard computed here from the database's statistics and the units' types."""
    with psycopg.connect(run.dsn) as conn:
        stats = conn.execute(
            "select unit_id, stat_date, distance_km, fuel_used_l, hours_active "
            "from fleet.unit_performance where distance_km >= 0"
        ).fetchall()
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for unit_id, stat_date, distance, fuel, hours in stats:
        unit_type = run.types.get(unit_id)
        if unit_type in ("aerial", "maritime", "terrestrial"):
            groups[(unit_type, stat_date)].append((unit_id, distance, fuel, hours))
    rows = []
    for (unit_type, stat_date), found in sorted(groups.items()):
        distance = [f[1] for f in found]
        per_100 = [100.0 * f[2] / f[1] for f in found if f[1] > 0]
        hours = [f[3] for f in found]
        rows.append((
            unit_type, stat_date, len({f[0] for f in found}),
            float(np.mean(per_100)), float(np.percentile(per_100, 90)),
            float(np.mean(distance)), float(np.percentile(distance, 90)),
            float(np.mean(hours)), float(np.percentile(hours, 90)),
        ))  # fmt: skip
    return rows


def test_the_dashboard_equals_figures_computed_from_the_databases_rows(fleet_run: Fleet) -> None:
    columns, rows = gold.query(
        fleet_run.settings, "select * from agg_fleet_performance_daily order by 1, 2"
    )
    assert list(columns) == AGG_COLUMNS
    expected = _expected_agg(fleet_run)
    assert len(rows) == len(expected) >= 3 * (FIRST_DAYS + 1)
    for got, want in zip(rows, expected, strict=True):
        assert got[:3] == want[:3]
        assert got[3:] == pytest.approx(want[3:], rel=1e-9), got[:2]


def test_a_late_correction_of_an_older_day_updates_that_days_gold(fleet_run: Fleet) -> None:
    unit_id, day, distance = fleet_run.corrected
    _, rows = gold.query(
        fleet_run.settings,
        f"select distance_km from fct_unit_performance_daily "
        f"where unit_id = '{unit_id}' and stat_date = '{day.isoformat()}'",
    )
    assert rows == [(distance,)]
    before = {r[:2]: r for r in fleet_run.agg_before}
    _, after = gold.query(
        fleet_run.settings, "select * from agg_fleet_performance_daily order by 1, 2"
    )
    after_by = {r[:2]: r for r in after}
    key = ("terrestrial", day)
    assert before[key][5] != after_by[key][5]  # that day's mean distance moved
    untouched = day + timedelta(days=1)
    assert after_by[("aerial", untouched)][2:] == pytest.approx(before[("aerial", untouched)][2:])


def test_a_wrong_password_or_an_unreachable_database_is_one_clear_line(
    fleet_run: Fleet, tmp_path: Path
) -> None:
    status = local_server(fleet_run.settings, load_contract("fleet")).status()
    for dsn, words in (
        (f"host=127.0.0.1 port={status.port} dbname=fleet user=lakehouse password=not-it-9f3",
         "password authentication failed"),
        ("host=127.0.0.1 port=1 dbname=fleet user=lakehouse password=not-it-9f3",
         "127.0.0.1:1/fleet"),
    ):  # fmt: skip
        env = dict(
            fleet_run.env, LAKEHOUSE_FLEET_PG_DSN=dsn, LAKEHOUSE_LAKE_ROOT=str(tmp_path / "lake")
        )
        for args in (("ingest", "fleet"), ("simulate", "fleet")):
            done = _cli(env, tmp_path, *args)
            assert done.returncode == 1, (args, done.stdout[-2000:])
            text = done.stdout + done.stderr
            assert words in text, text[-2000:]
            assert "not-it-9f3" not in text and "Traceback" not in text
            if args[0] == "simulate":
                assert len(done.stderr.strip().splitlines()) == 1, done.stderr
