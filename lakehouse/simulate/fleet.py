"""The transport company's operational database: units that change slowly, daily statistics.

Schema ``fleet`` (created on first use)::

    transport_units   unit_id (key), name, unit_type (aerial|maritime|terrestrial), model,
                      capacity, home_base, status, updated_at
    unit_performance  unit_id, stat_date (key), distance_km, fuel_used_l, hours_active,
                      maintenance_events, updated_at

The first run seeds twelve units on the seed day (2026-01-01, 06:00 UTC). Each day played is the
day after the newest ``updated_at`` in the database, with its changes stamped at random hours of
that simulated day (the database's own clock, not the wall clock):

- a few units renamed or re-based (each unit changes at most once a day, so an hourly poll and
  change data capture see the same versions);
- sometimes one unit retired: its row deleted;
- sometimes a new unit added;
- yesterday's statistics of every unit that existed at the end of yesterday, written at one
  random hour;
- sometimes a late correction of a statistics row three days old (a new ``updated_at``).

Everything follows from the seed and the day, so the same seed plays the same history. The
constraints are loose on purpose (no check on ``unit_type`` or signs): bad rows are the
contract's to quarantine. The database is the source's :func:`resolve_dsn`:
``LAKEHOUSE_FLEET_PG_DSN``, else the project's own server under the lake's ``_state``.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import psycopg

from lakehouse.contracts import load_contract
from lakehouse.settings import Settings
from lakehouse.simulate import DayReport, SimulatorError
from lakehouse.sources.postgres import failure_line
from lakehouse.sources.postgres_local import resolve_dsn
from lakehouse.warehouse.server import WarehouseError

SOURCE = "fleet"
SEED_DAY = date(2026, 1, 1)

SCHEMA = """
create schema if not exists fleet;
create table if not exists fleet.transport_units (
    unit_id text primary key,
    name text not null,
    unit_type text not null,
    model text,
    capacity integer,
    home_base text,
    status text not null,
    updated_at timestamptz not null
);
create table if not exists fleet.unit_performance (
    unit_id text not null,
    stat_date date not null,
    distance_km double precision,
    fuel_used_l double precision,
    hours_active double precision,
    maintenance_events integer,
    updated_at timestamptz not null,
    primary key (unit_id, stat_date)
);
"""

# Per type: id prefix, models with capacity, daily distance (km), fuel (litres per 100 km).
TYPES = {
    "aerial": (
        "AIR",
        [("ATR 72-600", 70), ("Dash 8-400", 78), ("A220-300", 140)],
        (400.0, 2400.0),
        (180.0, 320.0),
    ),
    "maritime": (
        "SEA",
        [("Ro-Pax 180", 1200), ("Cargo 90", 40), ("Ferry 60", 600)],
        (80.0, 600.0),
        (900.0, 2200.0),
    ),
    "terrestrial": (
        "TRK",
        [("Actros 1845", 24), ("Citaro G", 150), ("Sprinter 519", 19)],
        (90.0, 900.0),
        (18.0, 38.0),
    ),
}
NAMES = [
    "Albatross",
    "Borealis",
    "Condor",
    "Dolphin",
    "Eider",
    "Falcon",
    "Gannet",
    "Heron",
    "Ibis",
    "Jaeger",
    "Kestrel",
    "Lynx",
    "Merlin",
    "Narwhal",
    "Osprey",
    "Puffin",
]
SUFFIXES = ["II", "III", "Star", "Express", "Spirit", "Pride"]
BASES = ["Rotterdam", "Hamburg", "Lyon", "Oslo", "Porto", "Gdansk", "Bilbao", "Turin"]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _connect(dsn: str) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, connect_timeout=10, application_name="lakehouse-simulate")
    except psycopg.Error as exc:
        raise SimulatorError(failure_line(exc, dsn)) from None


def _new_unit(rng: random.Random, conn: psycopg.Connection, unit_type: str, at: datetime) -> str:
    prefix, models, _, _ = TYPES[unit_type]
    taken = conn.execute(
        "select count(*) from fleet.transport_units where unit_id like %s", [f"{prefix}-%"]
    ).fetchone()[0]
    # Ids are never reused: the next number after every id this type ever had (rows of
    # retired units are gone from the table but live on in unit_performance).
    used = conn.execute(
        "select max(n) from (select substr(unit_id, 5)::int as n from fleet.transport_units "
        "where unit_id like %s union all select substr(unit_id, 5)::int from "
        "fleet.unit_performance where unit_id like %s) ids",
        [f"{prefix}-%", f"{prefix}-%"],
    ).fetchone()[0]
    unit_id = f"{prefix}-{max(int(used or 0), taken) + 1:03d}"
    model, capacity = rng.choice(models)
    conn.execute(
        "insert into fleet.transport_units values (%s, %s, %s, %s, %s, %s, 'active', %s)",
        [unit_id, rng.choice(NAMES), unit_type, model, capacity, rng.choice(BASES), at],
    )
    return unit_id


def _seed(rng: random.Random, conn: psycopg.Connection) -> DayReport:
    report = DayReport(day=SEED_DAY.isoformat())
    for unit_type in TYPES:
        for _ in range(4):
            _new_unit(rng, conn, unit_type, _at(SEED_DAY, 6))
            report.seeded += 1
    return report


def _stats(rng: random.Random, unit_type: str) -> tuple[float, float, float, int]:
    _, _, (dmin, dmax), (fmin, fmax) = TYPES[unit_type]
    distance = round(rng.uniform(dmin, dmax), 1)
    fuel = round(distance * rng.uniform(fmin, fmax) / 100.0, 1)
    hours = round(rng.uniform(2.0, 20.0), 2)
    return distance, fuel, hours, rng.choice([0, 0, 0, 0, 1, 2])


def _play(rng: random.Random, conn: psycopg.Connection, day: date) -> DayReport:
    report = DayReport(day=day.isoformat())
    # Only the company's own kinds of unit: a row someone else wrote with another type (a test's
    # bad row) is left alone.
    units = conn.execute(
        "select unit_id, name, unit_type from fleet.transport_units where unit_type = any(%s) "
        "order by unit_id",
        [list(TYPES)],
    ).fetchall()
    hours = iter(rng.sample(range(1, 23), 20))  # distinct hours: one change per unit and day
    changed: set[str] = set()

    # Yesterday's statistics of every unit alive at the end of yesterday, at one random hour,
    # stamped to the microsecond as a database's now() is (its own generator: the day's other
    # draws, and so the simulated history, stay what they were).
    fraction = timedelta(microseconds=random.Random(f"{day.isoformat()}:us").randrange(1, 10**6))
    stats_at = _at(day, next(hours), rng.randrange(60)) + fraction
    yesterday = day - timedelta(days=1)
    for unit_id, _, unit_type in units:
        conn.execute(
            "insert into fleet.unit_performance values (%s, %s, %s, %s, %s, %s, %s) "
            "on conflict (unit_id, stat_date) do nothing",
            [unit_id, yesterday, *_stats(rng, unit_type), stats_at],
        )
        report.stats_written += 1
    report.stats_date = yesterday.isoformat()

    candidates = list(units)
    rng.shuffle(candidates)
    for unit_id, name, _ in candidates[: rng.randint(1, 3)]:
        base_name = name.split(" ")[0]
        new_name = f"{base_name} {rng.choice(SUFFIXES)}"
        if new_name == name:
            new_name = rng.choice([n for n in NAMES if n != base_name])
        conn.execute(
            "update fleet.transport_units set name = %s, updated_at = %s where unit_id = %s",
            [new_name, _at(day, next(hours)), unit_id],
        )
        report.renamed.append(unit_id)
        changed.add(unit_id)
    for unit_id, _, _ in candidates[3 : 3 + rng.randint(0, 2)]:
        base = conn.execute(
            "select home_base from fleet.transport_units where unit_id = %s", [unit_id]
        ).fetchone()[0]
        conn.execute(
            "update fleet.transport_units set home_base = %s, updated_at = %s where unit_id = %s",
            [rng.choice([b for b in BASES if b != base]), _at(day, next(hours)), unit_id],
        )
        report.rebased.append(unit_id)
        changed.add(unit_id)

    # One unit retired now and then (never one changed today: one change per unit and day).
    if rng.random() < 0.4:
        spare = [u for u, _, _ in candidates if u not in changed]
        if len(spare) > 6:
            victim = rng.choice(spare)
            conn.execute("delete from fleet.transport_units where unit_id = %s", [victim])
            report.retired.append(victim)
    if rng.random() < 0.5:
        report.added.append(_new_unit(rng, conn, rng.choice(list(TYPES)), _at(day, next(hours))))

    # A late correction of a three-day-old statistic: the meter was re-read.
    old_day = day - timedelta(days=3)
    if old_day >= SEED_DAY and rng.random() < 0.5:
        rows = conn.execute(
            "select unit_id from fleet.unit_performance where stat_date = %s order by unit_id",
            [old_day],
        ).fetchall()
        if rows:
            unit_id = rng.choice(rows)[0]
            conn.execute(
                "update fleet.unit_performance set distance_km = round((distance_km * 1.1)::numeric"
                ", 1), fuel_used_l = round((fuel_used_l * 1.05)::numeric, 1), updated_at = %s "
                "where unit_id = %s and stat_date = %s",
                [_at(day, next(hours)), unit_id, old_day],
            )
            report.corrected.append((unit_id, old_day.isoformat()))
    return report


def next_day(conn: psycopg.Connection) -> date | None:
    """The day to play: the one after the newest change in the database (None: not seeded)."""
    newest = conn.execute(
        "select max(d) from (select max(updated_at at time zone 'UTC')::date as d from "
        "fleet.transport_units union all select max(updated_at at time zone 'UTC')::date "
        "from fleet.unit_performance) t"
    ).fetchone()[0]
    return None if newest is None else newest + timedelta(days=1)


def simulate(settings: Settings, *, days: int = 1, seed: int = 7) -> list[DayReport]:
    """Seed the database (first run), then play ``days`` days, each in one transaction."""
    if days < 0:
        raise SimulatorError("--days must be 0 or more")
    contract = load_contract(SOURCE)
    try:
        dsn = resolve_dsn(settings, contract)
    except WarehouseError as exc:
        raise SimulatorError(str(exc).splitlines()[0]) from None
    if not dsn:
        raise SimulatorError(
            "LAKEHOUSE_FLEET_PG_DSN is not set and the fleet contract has no local server"
        )
    reports: list[DayReport] = []
    with _connect(dsn) as conn:
        conn.execute(SCHEMA)
        day = next_day(conn)
        if day is None:
            reports.append(_seed(random.Random(f"{seed}:seed"), conn))
            day = SEED_DAY + timedelta(days=1)
        conn.commit()
        for _ in range(days):
            reports.append(_play(random.Random(f"{seed}:{day.isoformat()}"), conn, day))
            conn.commit()
            day += timedelta(days=1)
    return reports
