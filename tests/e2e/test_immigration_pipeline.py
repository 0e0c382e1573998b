"""Travel and immigration files end to end (issue 20): generated files in an inbox, landed,
loaded to bronze by Spark, modelled by dbt, with the traps of the originals.

One module-scoped run through the CLI as a user types it, with only the immigration contract
registered (``LAKEHOUSE_CONTRACTS_DIR``). The inbox holds two I94 months written by ReadStat's
SAS7BDAT writer (:mod:`lakehouse.replay.immigration`), a truncated third month and the four
reference files. After a first ingest the April file is replaced by a corrected one (other
rows under the same keys), and the inbox is ingested again: only the corrected file is new,
the unchanged files land nothing. Expected figures are computed here from the files as the
``readstat`` command prints them, a different reader than the project's (pyreadstat in Spark
tasks), never from the project's tables.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from lakehouse import gold
from lakehouse.replay.immigration import Month, generate
from lakehouse.settings import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
ROWS = 3000
APRIL, MAY, JUNE = Month(2016, 4), Month(2016, 5), Month(2016, 6)
VISA = {1: "Business", 2: "Pleasure", 3: "Student"}


@dataclass
class Run:
    root: Path
    settings: Settings
    inbox: Path
    outputs: dict[str, subprocess.CompletedProcess]


def _cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.app", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def readstat_rows(path: Path) -> list[dict[str, str]]:
    """A SAS7BDAT file's rows as the ``readstat`` command prints them (CSV to stdout)."""
    done = subprocess.run(["readstat", str(path), "-"], capture_output=True, text=True, check=True)
    return list(csv.DictReader(io.StringIO(done.stdout)))


@pytest.fixture(scope="module")
def immigration_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("immigration-e2e")
    contracts = root / "contracts"
    contracts.mkdir()
    shutil.copyfile(
        ROOT / "lakehouse" / "contracts" / "immigration.yml", contracts / "immigration.yml"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update(
        LAKEHOUSE_CONTRACTS_DIR=str(contracts),
        LAKEHOUSE_LAKE_ROOT=str(root / "lake"),
        COLUMNS="200",
    )
    inbox = root / "inbox"
    generate(inbox, [APRIL, MAY, JUNE], ROWS, seed=1)
    june = inbox / JUNE.file_name
    june.write_bytes(june.read_bytes()[: june.stat().st_size // 2])  # cut off mid-upload

    outputs: dict[str, subprocess.CompletedProcess] = {}
    outputs["ingest"] = _cli(env, root, "ingest", "immigration", "--from", str(inbox))
    # A corrected April: the same keys (i94yr, i94mon, cicid) with other values.
    generate(inbox, [APRIL], ROWS, seed=2, reference=False)
    outputs["ingest corrected"] = _cli(env, root, "ingest", "immigration", "--from", str(inbox))
    for args in (("bronze", "immigration"), ("transform",)):
        outputs[" ".join(args)] = _cli(env, root, *args)
    for name, done in outputs.items():
        assert done.returncode == 0, (name, done.stdout[-3000:], done.stderr[-3000:])
    settings = Settings(lake_root=root / "lake", _env_file=None)
    return Run(root, settings, inbox, outputs)


def _expected_rows(run: Run) -> list[dict[str, str]]:
    return readstat_rows(run.inbox / APRIL.file_name) + readstat_rows(run.inbox / MAY.file_name)


def _sas_date(text: str) -> date:
    return date(1960, 1, 1) + timedelta(days=int(float(text)))


def test_the_same_files_again_land_nothing_and_a_corrected_month_lands_alone(
    immigration_run: Run,
) -> None:
    out = immigration_run.outputs
    first, second = (out[k].stdout + out[k].stderr for k in ("ingest", "ingest corrected"))
    assert "new objects: 7" in first, first[-2000:]
    # The six unchanged files land nothing the second time; the corrected April is new bytes.
    assert "new objects: 1" in second and "targets: 7 ok, 0 failed" in second, second[-2000:]


def test_arrivals_by_visa_category_and_port_equal_counts_from_the_files(
    immigration_run: Run,
) -> None:
    expected: Counter = Counter()
    for row in _expected_rows(immigration_run):
        arrived = _sas_date(row["arrdate"])
        visa = VISA[int(float(row["i94visa"]))]
        expected[(arrived.year, arrived.month, row["i94port"], visa)] += 1
    columns, rows = gold.query(
        immigration_run.settings,
        "select arrival_year, arrival_month, port_code, port_name, visa_category, arrivals "
        "from agg_arrivals_monthly",
    )
    assert list(columns) == [
        "arrival_year", "arrival_month", "port_code", "port_name", "visa_category", "arrivals",
    ]  # fmt: skip
    got = {(r[0], r[1], r[2], r[4]): r[5] for r in rows}
    assert got == dict(expected)
    names = {r[2]: r[3] for r in rows}
    assert names["SFR"] == "SAN FRANCISCO, CA" and names["XXX"] == "NOT REPORTED/UNKNOWN"


def test_the_corrected_april_file_supersedes_the_first_in_bronze(immigration_run: Run) -> None:
    first = {
        int(float(r["cicid"])): r for r in readstat_rows(immigration_run.inbox / APRIL.file_name)
    }
    _, rows = gold.query(
        immigration_run.settings,
        "select record_id, cast(admission_number as varchar) from fct_arrivals "
        "where file_year = 2016 and file_month = 4",
    )
    assert len(rows) == ROWS
    assert {r[0]: Decimal(r[1]) for r in rows} == {
        k: Decimal(str(int(float(v["admnum"])))) for k, v in first.items()
    }


def test_float_codes_sas_and_text_dates_and_admission_numbers_are_typed(
    immigration_run: Run,
) -> None:
    source = {
        (int(float(r["i94mon"])), int(float(r["cicid"]))): r
        for r in _expected_rows(immigration_run)
    }
    _, rows = gold.query(
        immigration_run.settings,
        "select file_month, record_id, citizenship_country_code, visa_category_code, "
        "arrival_date, departure_date, admitted_until_date, cast(admission_number as varchar), "
        "flight_number from fct_arrivals",
    )
    assert len(rows) == len(source) == 2 * ROWS
    for month, record, country, visa, arrived, departed, until, admnum, flight in rows:
        row = source[(month, record)]
        assert isinstance(country, int) and country == int(float(row["i94cit"]))
        assert visa == int(float(row["i94visa"]))
        assert arrived == _sas_date(row["arrdate"])
        assert departed == (_sas_date(row["depdate"]) if row["depdate"] else None)
        assert until == datetime.strptime(row["dtaddto"], "%m%d%Y").date()
        assert len(admnum) == 11 and int(admnum) == int(float(row["admnum"]))
        assert flight == row["fltno"] and len(flight) == 5  # leading zeros kept
    _, added = gold.query(
        immigration_run.settings,
        "select count(*) from fct_arrivals where file_added_date = arrival_date",
    )
    assert added[0][0] == 2 * ROWS  # dtadfile (YYYYMMDD) is the arrival day in the generator


def test_invalid_and_unknown_countries_are_kept_and_flagged(immigration_run: Run) -> None:
    _, dims = gold.query(
        immigration_run.settings,
        "select country_code, country_name, is_known, is_invalid from dim_country "
        "where country_code in (135, 179, 403)",
    )
    assert sorted(dims) == [
        (135, "UNITED KINGDOM", True, False),
        (179, "INVALID: STATELESS", True, True),
        (403, "UNKNOWN", False, False),
    ]
    expected = Counter(int(float(r["i94cit"])) for r in _expected_rows(immigration_run))
    _, facts = gold.query(
        immigration_run.settings,
        "select citizenship_country_code, count(*), bool_and(is_citizenship_country_invalid), "
        "bool_or(is_citizenship_country_known) from fct_arrivals "
        "where citizenship_country_code in (179, 403) group by 1",
    )
    assert {r[0]: r[1:] for r in facts} == {
        179: (expected[179], True, True),
        403: (expected[403], False, False),
    }


def test_impossible_ages_are_kept_flagged_and_not_used_as_ages(immigration_run: Run) -> None:
    ages = [int(float(r["i94bir"])) for r in _expected_rows(immigration_run)]
    impossible = sum(1 for a in ages if a < 0 or a > 120)
    assert impossible > 0
    _, rows = gold.query(
        immigration_run.settings,
        "select count(*), count(age_years) from fct_arrivals where is_age_impossible",
    )
    assert rows[0] == (impossible, 0)


def test_a_truncated_month_is_quarantined_with_a_reason_while_the_others_load(
    immigration_run: Run,
) -> None:
    from deltalake import DeltaTable

    lake = immigration_run.settings.lake
    quarantine = DeltaTable(str(lake.quarantine("immigration__arrivals"))).to_pandas()
    (reject,) = quarantine.to_dict("records")
    assert reject["_landing_path"].endswith(JUNE.file_name)
    assert reject["reason"].startswith("unreadable sas7bdat file")
    _, months = gold.query(
        immigration_run.settings,
        "select file_month, count(*) from fct_arrivals group by 1 order by 1",
    )
    assert months == [(4, ROWS), (5, ROWS)]


def test_coordinates_are_signed_degrees_and_demographics_are_pivoted(
    immigration_run: Run,
) -> None:
    _, temps = gold.query(
        immigration_run.settings,
        "select distinct city_name, country_name, latitude, longitude "
        "from fct_city_temperatures_monthly where city_name in ('Sydney', 'Århus', 'London')",
    )
    assert sorted(temps) == [
        ("London", "Canada", 42.59, -80.6), ("London", "United Kingdom", 52.24, -0.59),
        ("Sydney", "Australia", -34.56, 151.78), ("Århus", "Denmark", 57.05, 10.33),
    ]  # fmt: skip
    with open(immigration_run.inbox / "us-cities-demographics.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    totals = {f"{r['City'].upper()}, {r['State Code']}": int(r["Total Population"]) for r in rows}
    _, dims = gold.query(
        immigration_run.settings, "select city_key, total_population from dim_city_demographics"
    )
    assert dict(dims) == totals
    _, joined = gold.query(
        immigration_run.settings,
        "select count(*), count(avg_temperature_c) from agg_arrivals_port_temperature "
        "where city_name = 'SAN FRANCISCO'",
    )
    assert joined[0][0] == joined[0][1] == 2
