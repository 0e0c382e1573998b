"""Analyst sessions over ODBC for real: several pyodbc sessions at once, through unixODBC and
psqlODBC, on the arrivals marts published to the project's PostgreSQL server, each answer
checked against one computed here from the published rows (the path of ``make bench-analysts``).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyodbc
import pytest

from lakehouse.bench.analysts import QUESTIONS, Domain, run_sessions
from lakehouse.warehouse import testing
from lakehouse.warehouse.odbc import DRIVER_NAME, write_dsn
from lakehouse.warehouse.publish import publish_tables

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        DRIVER_NAME not in pyodbc.drivers(),
        reason=f"the PostgreSQL ODBC driver ({DRIVER_NAME!r}) is not registered with unixODBC: "
        "`make setup-test` installs Debian's odbc-postgresql and unixodbc",
    ),
]

warehouse_server = testing.warehouse_server
warehouse_settings = testing.warehouse_settings

SESSIONS = 6
VISAS = ["Business", "Pleasure", "Student"]
PORTS = {"NYC": "NEW YORK, NY", "SFR": "SAN FRANCISCO, CA", "MIA": "MIAMI, FL"}


def _marts(seed: int = 3) -> dict[str, pa.Table]:
    """A small fct_arrivals and the agg_arrivals_monthly counted from it."""
    rng = random.Random(seed)
    facts = defaultdict(list)
    for record_id in range(600):
        month = rng.randint(1, 3)
        facts["arrival_year"].append(2016)
        facts["arrival_month"].append(month)
        facts["port_code"].append(rng.choice(list(PORTS)))
        facts["visa_category"].append(rng.choice(VISAS))
        facts["visa_type"].append(rng.choice(["B1", "B2", "F1", "WT"]))
        facts["citizenship_country_code"].append(rng.choice([101, 135, 209, 999]))
        facts["stay_days"].append(rng.choice([None, 3, 10, 30]))
        facts["is_age_impossible"].append(rng.random() < 0.05)
        facts["record_id"].append(record_id)
    counted = Counter(
        zip(
            facts["arrival_year"],
            facts["arrival_month"],
            facts["port_code"],
            facts["visa_category"],
            strict=True,
        )
    )
    keys = sorted(counted)
    monthly = pa.table(
        {
            "arrival_year": pa.array([k[0] for k in keys], pa.int32()),
            "arrival_month": pa.array([k[1] for k in keys], pa.int32()),
            "port_code": [k[2] for k in keys],
            "port_name": [PORTS[k[2]] for k in keys],
            "visa_category": [k[3] for k in keys],
            "arrivals": pa.array([counted[k] for k in keys], pa.int64()),
        }
    )
    fact = {k: v for k, v in facts.items() if k != "visa_category"}
    return {"agg_arrivals_monthly": monthly, "fct_arrivals": pa.table(fact)}


def test_concurrent_odbc_sessions_answer_the_arrivals_questions(
    warehouse_settings, tmp_path: Path, monkeypatch
):
    marts = _marts()
    publish_tables(warehouse_settings, marts, build_id="analysts-test")
    dsn = write_dsn(warehouse_settings, name="analysts_test", path=tmp_path / "odbc.ini")
    monkeypatch.setenv("ODBCINI", str(dsn.path))
    password = warehouse_settings.warehouse_password.get_secret_value()
    domain = Domain(months=[(2016, 1), (2016, 2), (2016, 3)], ports=list(PORTS))

    outcome = run_sessions(
        f"DSN={dsn.name};PWD={password}",
        domain,
        sessions=SESSIONS,
        keep_answers=True,
    )

    assert outcome["errors"] == 0, outcome["error_samples"]
    # Every session ran every question once, all sessions open at the same time.
    assert outcome["queries"]["count"] == SESSIONS * len(QUESTIONS)
    assert {name for name, summary in outcome["by_question"].items() if summary["count"]} == {
        q.name for q in QUESTIONS
    }
    assert outcome["sessions_seen_open"] == SESSIONS

    # Arrivals by month and visa category of a year, computed here from the published rows.
    monthly = marts["agg_arrivals_monthly"].to_pylist()
    expected: Counter = Counter()
    for row in monthly:
        expected[(row["arrival_month"], row["visa_category"])] += row["arrivals"]
    seen = 0
    for result in outcome["results"]:
        for name, params, rows in result.answers:
            if name == "monthly_by_visa":
                assert params == (2016,)
                assert {(r[0], r[1]): int(r[2]) for r in rows} == dict(expected)
                seen += 1
            if name == "top_ports_in_month":
                year, month = params
                by_port: Counter = Counter()
                for row in monthly:
                    if (row["arrival_year"], row["arrival_month"]) == (year, month):
                        by_port[(row["port_code"], row["port_name"])] += row["arrivals"]
                assert [(r[0], r[1], int(r[2])) for r in rows] == sorted(
                    ((p, n, c) for (p, n), c in by_port.items()), key=lambda t: (-t[2], t[0])
                )
    assert seen == SESSIONS
