"""Benchmark of analysts on the warehouse: N concurrent ODBC sessions querying the arrivals marts.

What BI users do: each session connects through unixODBC and the PostgreSQL ODBC driver
(psqlODBC, "PostgreSQL Unicode") with the DSN ``lakehouse warehouse odbc-dsn`` writes, runs a
few typical questions on ``agg_arrivals_monthly`` and ``fct_arrivals`` and disconnects. All
sessions are open at once (a barrier holds the queries until every session has connected, and
the disconnects until every session has finished), so the server really carries N sessions.
Reported: connect and query latency (p50, p95, max), per question and over all, errors, and the
most backends the server held at one time (``pg_stat_activity``).

The marts come from the real pipeline: a year of generated I94 months is ingested, loaded to
bronze by Spark and transformed by dbt in ``--work-dir`` (reused while the scale is unchanged),
then published to the bench's own warehouse server, as ``lakehouse transform`` publishes.

Run: ``make bench-analysts`` or ``python -m lakehouse.bench.analysts --sessions 100``. Results
go to ``bench/results/analysts-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings

_log = get_logger("bench.analysts")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Question:
    """One analyst question: SQL with ``?`` markers and how to pick its parameters."""

    name: str
    sql: str
    params: Callable[[random.Random, Domain], tuple[Any, ...]]


@dataclass(frozen=True)
class Domain:
    """Values the questions pick parameters from (read from the published marts)."""

    months: list[tuple[int, int]]  # (arrival_year, arrival_month)
    ports: list[str]


QUESTIONS: list[Question] = [
    Question(
        "monthly_by_visa",
        "select arrival_month, visa_category, sum(arrivals) as arrivals "
        "from agg_arrivals_monthly where arrival_year = ? "
        "group by arrival_month, visa_category order by arrival_month, visa_category",
        lambda rng, d: (rng.choice(d.months)[0],),
    ),
    Question(
        "top_ports_in_month",
        "select port_code, port_name, sum(arrivals) as arrivals from agg_arrivals_monthly "
        "where arrival_year = ? and arrival_month = ? "
        "group by port_code, port_name order by arrivals desc, port_code limit 10",
        lambda rng, d: rng.choice(d.months),
    ),
    Question(
        "port_series",
        "select arrival_year, arrival_month, visa_category, sum(arrivals) as arrivals "
        "from agg_arrivals_monthly where port_code = ? "
        "group by arrival_year, arrival_month, visa_category order by 1, 2, 3",
        lambda rng, d: (rng.choice(d.ports),),
    ),
    Question(
        "citizenship_stay_in_month",
        "select citizenship_country_code, count(*) as arrivals, avg(stay_days) as avg_stay_days "
        "from fct_arrivals where arrival_year = ? and arrival_month = ? "
        "group by citizenship_country_code order by arrivals desc, 1 limit 20",
        lambda rng, d: rng.choice(d.months),
    ),
    Question(
        "port_visa_types_in_month",
        "select visa_type, count(*) as arrivals, "
        "sum(case when is_age_impossible then 1 else 0 end) as impossible_ages "
        "from fct_arrivals where port_code = ? and arrival_year = ? and arrival_month = ? "
        "group by visa_type order by arrivals desc, visa_type",
        lambda rng, d: (rng.choice(d.ports), *rng.choice(d.months)),
    ),
]


# Every session names itself, so the sessions of a run can be counted on the server (client
# backends only: a parallel query's workers carry their leader's application name).
APPLICATION_NAME = "lakehouse-analyst-bench"
_OPEN_SESSIONS = (
    "select count(*) from pg_stat_activity where backend_type = 'client backend' "
    f"and application_name = '{APPLICATION_NAME}'"
)


@dataclass
class SessionResult:
    """What one session saw: latencies in seconds, rows of each question, its error if any."""

    connect_s: float | None = None
    queries: list[tuple[str, float]] = field(default_factory=list)
    answers: list[tuple[str, tuple[Any, ...], list[tuple[Any, ...]]]] = field(default_factory=list)
    error: str | None = None


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, p50, p95 and max of ``values`` (seconds, rounded to ms)."""
    if not values:
        return {"count": 0, "p50_s": None, "p95_s": None, "max_s": None}
    ordered = sorted(values)
    # Nearest-rank p95: the value 95% of the observations do not exceed.
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return {
        "count": len(ordered),
        "p50_s": round(statistics.median(ordered), 4),
        "p95_s": round(p95, 4),
        "max_s": round(ordered[-1], 4),
    }


def run_sessions(
    connection_string: str,
    domain: Domain,
    *,
    sessions: int = 100,
    questions_per_session: int = len(QUESTIONS),
    questions: Sequence[Question] = QUESTIONS,
    seed: int = 0,
    timeout_s: int = 60,
    keep_answers: bool = False,
    monitor: Callable[[], int] | None = None,
) -> dict[str, Any]:
    """Open ``sessions`` ODBC sessions at once, each running ``questions_per_session`` questions.

    Args:
        connection_string: pyodbc connection string (``DSN=...;PWD=...``).
        domain: values the questions' parameters are picked from.
        sessions: concurrent sessions (threads; pyodbc releases the GIL while the driver works).
        questions_per_session: questions per session, cycling through ``questions`` from a
            different start in each session so every question runs under full load.
        questions: the question mix.
        seed: parameter choice seed (session ``i`` uses ``seed + i``).
        timeout_s: ODBC login timeout, and how long a session waits for the others.
        keep_answers: keep every question's rows (tests compare them to expected answers).
        monitor: returns the server's current backend count; sampled while sessions run.

    Returns:
        Latency summaries (connect, every question, per question), errors and the sessions.
    """
    import pyodbc

    # Each session connects itself; pyodbc's pool would hand out shared connections.
    pyodbc.pooling = False
    connected = threading.Barrier(sessions, timeout=timeout_s * 4)
    finished = threading.Barrier(sessions, timeout=timeout_s * 20)
    results = [SessionResult() for _ in range(sessions)]
    # Sessions of this run the server held at once, as the first session counts them while
    # every session is connected.
    seen_open: list[int] = []

    def one(index: int) -> None:
        result = results[index]
        rng = random.Random(seed + index)
        conn = None
        try:
            started = time.perf_counter()
            try:
                conn = pyodbc.connect(connection_string, timeout=timeout_s, autocommit=True)
                conn.execute(f"set application_name = '{APPLICATION_NAME}'")
            finally:
                result.connect_s = time.perf_counter() - started
                connected.wait()
            if index == 0:
                seen_open.append(int(conn.execute(_OPEN_SESSIONS).fetchone()[0]))
            for n in range(questions_per_session):
                question = questions[(index + n) % len(questions)]
                params = question.params(rng, domain)
                started = time.perf_counter()
                rows = conn.execute(question.sql, *params).fetchall()
                result.queries.append((question.name, time.perf_counter() - started))
                if keep_answers:
                    result.answers.append((question.name, params, [tuple(r) for r in rows]))
        except threading.BrokenBarrierError:
            result.error = result.error or "another session failed to connect in time"
        except pyodbc.Error as exc:
            result.error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        finally:
            try:
                finished.wait()
            except threading.BrokenBarrierError:
                pass
            if conn is not None:
                conn.close()

    peak = {"backends": 0}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                peak["backends"] = max(peak["backends"], monitor())
            except Exception:  # noqa: BLE001 - the monitor is a figure, never a failure
                pass
            stop.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True) if monitor else None
    if watcher:
        watcher.start()
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(sessions)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    stop.set()
    if watcher:
        watcher.join()

    latencies = [s for r in results for _, s in r.queries]
    by_question = {
        q.name: percentiles([s for r in results for name, s in r.queries if name == q.name])
        for q in questions
    }
    errors = [r.error for r in results if r.error]
    return {
        "sessions": sessions,
        "questions_per_session": questions_per_session,
        "wall_s": round(wall, 3),
        "connect": percentiles([r.connect_s for r in results if r.connect_s is not None]),
        "queries": percentiles(latencies),
        "by_question": by_question,
        "queries_per_s": round(len(latencies) / wall, 1) if wall else None,
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "sessions_seen_open": seen_open[0] if seen_open else None,
        "peak_backends": peak["backends"] if monitor else None,
        "results": results,
    }


# ---------------------------------------------------------------- the bench: lake, server, run


def _cli(env: dict[str, str], cwd: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.app", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip()[-2000:]
        raise RuntimeError(f"lakehouse {' '.join(args)} failed (exit {done.returncode}):\n{tail}")


def build_lake(work: Path, rows: int, months: int) -> Settings:
    """A lake with published immigration gold from ``months`` generated months of ``rows`` each.

    Reused while ``work/built.json`` records the same scale; the pipeline runs through the CLI
    as a user types it, with only the immigration contract registered.
    """
    from lakehouse import gold
    from lakehouse.replay.immigration import Month, generate

    lake = work / "lake"
    settings = Settings(lake_root=lake, _env_file=None)
    marker = work / "built.json"
    scale = {"rows_per_month": rows, "months": months}
    if marker.is_file() and json.loads(marker.read_text()) == scale:
        if gold.published_pointer(settings) is not None:
            log_event(_log, "bench.analysts.lake_reused", lake=str(lake), **scale)
            return settings
    for name in ("lake", "inbox", "contracts", "built.json"):
        path = work / name
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    contracts = work / "contracts"
    contracts.mkdir(parents=True)
    shutil.copyfile(
        ROOT / "lakehouse" / "contracts" / "immigration.yml", contracts / "immigration.yml"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update(
        LAKEHOUSE_CONTRACTS_DIR=str(contracts.resolve()),
        LAKEHOUSE_LAKE_ROOT=str(lake.resolve()),
        # The bench publishes to its own server below; the transform must not pick another.
        LAKEHOUSE_WAREHOUSE_PUBLISH="never",
    )
    generate(work / "inbox", [Month(2016, m) for m in range(1, months + 1)], rows, seed=7)
    for args in (
        ("ingest", "immigration", "--from", str((work / "inbox").resolve())),
        ("bronze", "immigration"),
        ("transform",),
    ):
        started = time.perf_counter()
        _cli(env, ROOT, *args)
        log_event(
            _log, "bench.analysts.built", step=args[0], s=round(time.perf_counter() - started, 1)
        )
    marker.write_text(json.dumps(scale))
    return settings


def read_domain(settings: Settings) -> Domain:
    """Months and ports that have arrivals (questions ask about data that exists)."""
    from lakehouse.warehouse.query import run_query

    months = run_query(
        settings,
        "select distinct arrival_year, arrival_month from agg_arrivals_monthly order by 1, 2",
    ).rows
    ports = run_query(
        settings,
        "select port_code from agg_arrivals_monthly group by port_code "
        "order by sum(arrivals) desc limit 50",
    ).rows
    if not months or not ports:
        raise RuntimeError("agg_arrivals_monthly is empty on the warehouse")
    return Domain(months=[(int(y), int(m)) for y, m in months], ports=[str(p[0]) for p in ports])


def backend_counter(settings: Settings) -> Callable[[], int]:
    """A function returning how many client backends the warehouse holds right now."""
    from lakehouse.warehouse.server import connect

    conn = connect(settings, autocommit=True)

    def count() -> int:
        row = conn.execute(
            "select count(*) from pg_stat_activity where backend_type = 'client backend' "
            "and pid <> pg_backend_pid()"
        ).fetchone()
        return int(row[0])

    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Concurrent ODBC analyst sessions on the marts.")
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS), help="per session")
    parser.add_argument("--rows", type=int, default=25_000, help="arrival rows per month")
    parser.add_argument("--months", type=int, default=12, help="months of 2016 (1-12)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole run")
    parser.add_argument(
        "--without-indexes",
        action="store_true",
        help="publish the marts without the indexes their dbt YAML declares (for comparison)",
    )
    parser.add_argument("--work-dir", type=Path, default=Path("bench/work/analysts"))
    parser.add_argument("--output-dir", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)

    from lakehouse.bench.runner import machine_info
    from lakehouse.warehouse.odbc import write_dsn
    from lakehouse.warehouse.publish import publish_gold
    from lakehouse.warehouse.query import run_query
    from lakehouse.warehouse.server import LocalServer

    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    machine = machine_info()  # its load average is the one at the start
    started = time.perf_counter()
    lake_settings = build_lake(work, args.rows, args.months)
    built_s = round(time.perf_counter() - started, 1)
    password = secrets.token_urlsafe(18)
    server_dir = work / "warehouse"
    shutil.rmtree(server_dir, ignore_errors=True)
    server_dir.mkdir(parents=True)
    server_dir.chmod(0o711)  # the unprivileged server user must reach its data folder
    settings = Settings(
        lake_root=lake_settings.lake_root,
        warehouse_dir=server_dir,
        warehouse_password=password,
        _env_file=None,
    )
    server = LocalServer(settings)
    server.start()
    try:
        published = publish_gold(settings, with_indexes=not args.without_indexes)
        indexes = [
            f"{table}: {definition.split(' USING ', 1)[1]}"
            for table, definition in run_query(
                settings,
                "select tablename, indexdef from pg_indexes where schemaname = 'gold' "
                "order by tablename, indexdef",
            ).rows
        ]
        print(f"published {sum(published.rows.values())} rows; indexes: {indexes or 'none'}")
        max_connections = int(run_query(settings, "show max_connections").rows[0][0])
        domain = read_domain(settings)
        dsn = write_dsn(settings, name="lakehouse_bench", path=work / "odbc.ini")
        os.environ["ODBCINI"] = str(dsn.path)
        connection = f"DSN={dsn.name};PWD={password}"
        monitor = backend_counter(settings)
        load_before = list(os.getloadavg())
        rounds = []
        for n in range(args.rounds):
            outcome = run_sessions(
                connection,
                domain,
                sessions=args.sessions,
                questions_per_session=args.questions,
                seed=n * 1000,
                monitor=monitor,
            )
            outcome.pop("results")
            rounds.append(outcome)
            q, c = outcome["queries"], outcome["connect"]
            print(
                f"round {n + 1}: {args.sessions} sessions x {args.questions} questions in "
                f"{outcome['wall_s']} s; queries p50 {q['p50_s']} s, p95 {q['p95_s']} s, "
                f"max {q['max_s']} s; connect p50 {c['p50_s']} s, p95 {c['p95_s']} s; "
                f"errors {outcome['errors']}; sessions open at once "
                f"{outcome['sessions_seen_open']}, peak backends {outcome['peak_backends']}",
                flush=True,
            )
    finally:
        server.stop()
    report = {
        "machine": machine,
        "load_average_before_sessions": load_before,
        "load_average_at_end": list(os.getloadavg()),
        "scale": {"rows_per_month": args.rows, "months": args.months},
        "lake_build_s": built_s,
        "published_rows": published.rows,
        "indexes": indexes,
        "max_connections": max_connections,
        "driver": dsn.driver,
        "rounds": rounds,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    out = args.output_dir / f"analysts-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"results: {out}")
    return 0 if all(r["errors"] == 0 for r in rounds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
