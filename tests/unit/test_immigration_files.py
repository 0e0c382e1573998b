"""The immigration file generator and the readers it feeds (issue 20), without Spark.

The generator's SAS7BDAT files come from ReadStat's writer (the ``readstat`` command) and are
read back here by the same command's CSV output, not by the project's reader; the project's
reader (:func:`spark.objects.table_frames`, pyreadstat) is then checked against that, whole and
split into row ranges as parallel Spark tasks read it.
"""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from lakehouse.lake import Lake
from lakehouse.landing import land_file
from lakehouse.replay.immigration import Month, generate, labels_text
from spark.objects import ReadSpec, sas_format_rows, table_columns, table_frames

FETCHED = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
APRIL = Month(2016, 4)


def readstat_rows(path: Path) -> list[dict[str, str]]:
    done = subprocess.run(["readstat", str(path), "-"], capture_output=True, text=True, check=True)
    return list(csv.DictReader(io.StringIO(done.stdout)))


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inbox")
    written = generate(folder, [APRIL], 1200, seed=3)
    assert written[APRIL.file_name] == 1200
    return folder


def test_the_sas_file_is_read_back_by_readstat_with_the_originals_traps(inbox: Path) -> None:
    assert APRIL.file_name == "i94_apr16_sub.sas7bdat"
    rows = readstat_rows(inbox / APRIL.file_name)
    assert len(rows) == 1200
    assert list(rows[0])[:6] == ["cicid", "i94yr", "i94mon", "i94cit", "i94res", "i94port"]
    assert list(rows[0])[-1] == "visatype"
    assert rows[0]["cicid"] == "1.000000"  # every number a float, cicid restarting at 1
    assert {float(r["i94mon"]) for r in rows} == {4.0}
    arrived = {date(1960, 1, 1) + timedelta(days=int(float(r["arrdate"]))) for r in rows}
    assert min(arrived) >= date(2016, 4, 1) and max(arrived) <= date(2016, 4, 30)
    assert any(r["depdate"] == "" for r in rows)  # not departed
    assert all(len(str(int(float(r["admnum"])))) == 11 for r in rows)
    assert all(len(r["fltno"]) == 5 for r in rows) and any(r["fltno"][0] == "0" for r in rows)
    assert any(not 0 <= float(r["i94bir"]) <= 120 for r in rows)
    assert {"179.000000", "403.000000"} & {r["i94cit"] for r in rows}
    first = rows[0]
    assert datetime.strptime(first["dtadfile"], "%Y%m%d")  # YYYYMMDD text
    assert datetime.strptime(first["dtaddto"], "%m%d%Y")  # MMDDYYYY text


def test_the_reference_files_keep_their_layouts(inbox: Path) -> None:
    temps = pd.read_csv(
        inbox / "GlobalLandTemperaturesByCity.csv", dtype=str, keep_default_na=False
    )
    assert temps["AverageTemperature"].iloc[0] == ""  # early months empty
    assert {"57.05N", "34.56S"} <= set(temps["Latitude"])
    assert (temps.drop_duplicates(["City", "Country"])["City"] == "London").sum() == 2
    demo = pd.read_csv(inbox / "us-cities-demographics.csv", sep=";")
    per_city = demo.groupby(["City", "State"])["Total Population"].agg(["nunique", "size"])
    assert (per_city["nunique"] == 1).all() and (per_city["size"] > 1).all()
    airports = pd.read_csv(inbox / "airport-codes_csv.csv", dtype=str, keep_default_na=False)
    assert airports.loc[0, "coordinates"] == "-74.93360137939453, 40.07080078125"
    assert airports.loc[0, "continent"] == "NA"


def test_proc_format_value_lists_become_lookup_rows() -> None:
    rows = list(sas_format_rows(labels_text()))
    formats = {name for name, _, _ in rows}
    assert formats == {"i94cntyl", "i94prtl", "i94model", "i94addrl", "i94visa"}
    lookup = {(name, code): label for name, code, label in rows}
    assert lookup[("i94cntyl", "135")] == "UNITED KINGDOM"
    assert lookup[("i94cntyl", "179")] == "INVALID: STATELESS"
    assert lookup[("i94prtl", "SFR")] == "SAN FRANCISCO, CA"  # padding and quotes gone
    assert lookup[("i94model", "9")] == "Not reported"
    assert lookup[("i94addrl", "WI")] == "WISCONSON"
    assert lookup[("i94visa", "3")] == "Student"  # an unquoted label
    program = "/* value ignored 1 = 'x'; */\nvalue $odd\n 'A' = \"Quoted\" 'B'='b' ;"
    assert list(sas_format_rows(program)) == [("odd", "A", "Quoted"), ("odd", "B", "b")]


def _landed(tmp_path: Path, source: Path) -> str:
    with open(source, "rb") as fh:
        return str(
            land_file(
                Lake(tmp_path / "lake"),
                source="immigration",
                entity="arrivals",
                name=source.name,
                stream=fh,
                batch_id="b1",
                transport={"kind": "file", "location": "inbox"},
                fetched_at=FETCHED,
            ).path
        )


SPEC = ReadSpec(
    layout={"type": "sas7bdat", "encoding": "latin-1"},
    values={
        "raw__cicid": "cicid",
        "raw__admnum": "admnum",
        "raw__fltno": "fltno",
        "raw__depdate": "depdate",
    },
    required={"raw__cicid"},
)


def test_the_project_reader_splits_a_file_into_row_ranges_that_add_up(
    inbox: Path,
    tmp_path: Path,
) -> None:
    path = _landed(tmp_path, inbox / APRIL.file_name)
    columns = table_columns(SPEC)
    whole = pd.concat(list(table_frames(path, False, SPEC, columns)))
    parts = pd.concat(
        [f for part in range(3) for f in table_frames(path, False, SPEC, columns, part, 3)]
    )
    assert parts["_pos"].tolist() == list(range(1200)) == whole["_pos"].tolist()
    assert parts["raw__cicid"].tolist() == whole["raw__cicid"].tolist()
    expected = readstat_rows(inbox / APRIL.file_name)
    assert whole["raw__cicid"].tolist() == [repr(float(r["cicid"])) for r in expected]
    assert whole["raw__fltno"].tolist() == [r["fltno"] for r in expected]
    assert whole["raw__depdate"].tolist() == [
        repr(float(r["depdate"])) if r["depdate"] else None for r in expected
    ]
    assert whole["raw__admnum"].tolist() == [repr(float(r["admnum"])) for r in expected]


def test_a_truncated_sas_file_is_one_problem_told_once_across_its_parts(
    inbox: Path,
    tmp_path: Path,
) -> None:
    cut = tmp_path / "i94_jun16_sub.sas7bdat"
    data = (inbox / APRIL.file_name).read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    path = _landed(tmp_path, cut)
    columns = table_columns(SPEC)
    frames = [f for part in range(3) for f in table_frames(path, False, SPEC, columns, part, 3)]
    (frame,) = frames
    assert frame["_problem_field"].tolist() == ["body"]
    assert frame["_problem_reason"].iloc[0].startswith("unreadable sas7bdat file")
