"""Realistic travel-and-immigration files, in the layouts of the public originals, at any size.

Stands in for the outside world of the immigration source (the I94 arrivals of the US National
Tourism and Trade Office, Berkeley Earth city temperatures, the ACS city demographics and the
OurAirports codes), so tests, the demo and the benchmark need no download. Every trap of the
originals is kept:

- ``i94_<mon><yy>_sub.sas7bdat``, one per month, written by ReadStat (the ``readstat`` command of
  the Debian package of the same name; a CSV goes to Stata ``.dta`` with a JSON column metadata
  file, then to SAS7BDAT, both by ReadStat's own writers). Every number is a float, ids and
  codes included; ``arrdate``/``depdate`` are SAS day numbers (``depdate`` may be empty);
  ``dtadfile`` is ``YYYYMMDD`` text and ``dtaddto`` ``MMDDYYYY`` text; ``cicid`` restarts at 1
  every month; ``admnum`` is an 11-digit number; ``fltno`` keeps leading zeros; ``i94bir`` has
  impossible ages (negative, over 120); some ``i94cit`` codes are labelled ``INVALID: ...`` and
  some are in no label list at all.
- ``I94_SAS_Labels_Descriptions.SAS``: ``PROC FORMAT`` value lists (countries ``i94cntyl``,
  ports ``$i94prtl`` with padded labels, modes ``i94model``, states ``i94addrl`` with the
  original's 'WISCONSON' misspelling, visa categories ``i94visa``) between comments.
- ``GlobalLandTemperaturesByCity.csv``: monthly since 1743 for some cities, early values empty,
  ``57.05N``/``10.33E`` coordinates, city names repeated across countries.
- ``us-cities-demographics.csv``: semicolon-separated, one row per city and race, city totals
  repeated on each.
- ``airport-codes_csv.csv``: OurAirports with ``"lon, lat"`` coordinates and continent ``NA``.

Rows are drawn from a seeded generator, written in chunks (memory stays flat at 100x), so the
same arguments give the same files. ``python -m lakehouse.replay.immigration OUT --months
2016-04 --rows 10000`` writes them; :func:`generate` is the library call.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

SAS_EPOCH = date(1960, 1, 1)
MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

# I94 columns in the original's order; (name, numeric?).
ARRIVAL_COLUMNS: list[tuple[str, bool]] = [
    ("cicid", True),
    ("i94yr", True),
    ("i94mon", True),
    ("i94cit", True),
    ("i94res", True),
    ("i94port", False),
    ("arrdate", True),
    ("i94mode", True),
    ("i94addr", False),
    ("depdate", True),
    ("i94bir", True),
    ("i94visa", True),
    ("count", True),
    ("dtadfile", False),
    ("visapost", False),
    ("occup", False),
    ("entdepa", False),
    ("entdepd", False),
    ("entdepu", False),
    ("matflag", False),
    ("biryear", True),
    ("dtaddto", False),
    ("gender", False),
    ("insnum", False),
    ("airline", False),
    ("admnum", True),
    ("fltno", False),
    ("visatype", False),
]

# Country codes: label, and the city whose temperature stands for it.
COUNTRIES: dict[int, str] = {
    101: "ALBANIA",
    103: "AUSTRIA",
    104: "BELGIUM",
    111: "FRANCE",
    112: "GERMANY",
    117: "ITALY",
    123: "NETHERLANDS",
    135: "UNITED KINGDOM",
    209: "JAPAN",
    245: "CHINA, PRC",
    251: "ISRAEL",
    276: "KOREA",
    438: "AUSTRALIA",
    582: "MEXICO Air Sea, and Not Reported (I-94, no land arrivals)",
    689: "BRAZIL",
    692: "ECUADOR",
    # The original lists codes it will not process as INVALID.
    179: "INVALID: STATELESS",
    710: "INVALID: MEXICO",
    999: "INVALID: NO COUNTRY",
}
UNLABELLED_COUNTRY = 403  # a code present in the data and in no label list
INVALID_COUNTRIES = (179, 710)

# Ports: code -> (city, state) as the labels write them ("CITY, ST").
PORTS: dict[str, tuple[str, str]] = {
    "NYC": ("NEW YORK", "NY"),
    "MIA": ("MIAMI", "FL"),
    "LOS": ("LOS ANGELES", "CA"),
    "SFR": ("SAN FRANCISCO", "CA"),
    "CHI": ("CHICAGO", "IL"),
    "HOU": ("HOUSTON", "TX"),
    "ATL": ("ATLANTA", "GA"),
    "BOS": ("BOSTON", "MA"),
    "SEA": ("SEATTLE", "WA"),
    "ORL": ("ORLANDO", "FL"),
    "DAL": ("DALLAS", "TX"),
    "WAS": ("WASHINGTON", "DC"),
    "MIL": ("MILWAUKEE", "WI"),
}
# Ports that exist in the labels but not as a city (the original has these too).
ODD_PORTS = {"XXX": "NOT REPORTED/UNKNOWN", "UNK": "UNKNOWN POE"}

STATES: dict[str, str] = {
    "NY": "NEW YORK",
    "FL": "FLORIDA",
    "CA": "CALIFORNIA",
    "IL": "ILLINOIS",
    "TX": "TEXAS",
    "GA": "GEORGIA",
    "MA": "MASSACHUSETTS",
    "WA": "WASHINGTON",
    "DC": "DIST. OF COLUMBIA",
    "WI": "WISCONSON",
    "HI": "HAWAII",
    "NJ": "NEW JERSEY",
    "99": "All Other Codes",
}
MODES = {1: "Air", 2: "Sea", 3: "Land", 9: "Not reported"}
VISAS = {1: "Business", 2: "Pleasure", 3: "Student"}
VISA_TYPES = {1: ["B1", "E2", "WB", "I"], 2: ["B2", "WT", "CP"], 3: ["F1", "F2", "M1"]}
AIRLINES = ["AA", "UA", "DL", "BA", "LH", "AF", "JL", "QF", "AM"]
STATE_NAMES = {
    "NY": "New York",
    "FL": "Florida",
    "CA": "California",
    "IL": "Illinois",
    "TX": "Texas",
    "GA": "Georgia",
    "MA": "Massachusetts",
    "WA": "Washington",
    "DC": "District of Columbia",
    "WI": "Wisconsin",
}
RACES = [
    "White",
    "Hispanic or Latino",
    "Black or African-American",
    "Asian",
    "American Indian and Alaska Native",
]
# Temperature cities besides the ports' (names repeated across countries, as in the original).
FOREIGN_CITIES = [
    ("Århus", "Denmark", 57.05, 10.33),
    ("London", "United Kingdom", 52.24, -0.59),
    ("London", "Canada", 42.59, -80.60),
    ("Birmingham", "United Kingdom", 52.24, -2.58),
    ("Birmingham", "United States", 32.95, -87.13),
    ("Sydney", "Australia", -34.56, 151.78),
    ("Rio De Janeiro", "Brazil", -23.31, -42.82),
]
PORT_COORDINATES = {
    "NYC": (40.99, -74.56),
    "MIA": (26.52, -80.60),
    "LOS": (34.56, -118.70),
    "SFR": (37.78, -122.03),
    "CHI": (42.59, -87.27),
    "HOU": (29.74, -96.16),
    "ATL": (34.56, -83.68),
    "BOS": (42.59, -72.00),
    "SEA": (47.42, -121.97),
    "ORL": (28.13, -81.23),
    "DAL": (32.95, -96.70),
    "WAS": (39.38, -76.99),
    "MIL": (42.59, -87.27),
}


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def file_name(self) -> str:
        return f"i94_{MONTH_NAMES[self.month - 1]}{self.year % 100:02d}_sub.sas7bdat"

    @classmethod
    def parse(cls, text: str) -> Month:
        year, month = text.split("-")
        return cls(int(year), int(month))


def sas_day(day: date) -> int:
    return (day - SAS_EPOCH).days


def _month_days(month: Month) -> int:
    nxt = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return (nxt - date(month.year, month.month, 1)).days


def _num(value: float | int | None) -> str:
    return "" if value is None else f"{float(value):.1f}"


def arrival_rows(month: Month, rows: int, seed: int = 0) -> Iterator[list[str]]:
    """The month's I94 records as CSV text cells, in :data:`ARRIVAL_COLUMNS` order."""
    rng = random.Random(f"{seed}-{month.year}-{month.month}")
    countries = [c for c in COUNTRIES if c != 999]
    ports = list(PORTS) + list(ODD_PORTS)
    first = date(month.year, month.month, 1)
    days = _month_days(month)
    for cicid in range(1, rows + 1):
        arrived = first + timedelta(days=rng.randrange(days))
        visa = rng.choices([1, 2, 3], weights=[15, 75, 10])[0]
        age = rng.randint(1, 90)
        if rng.random() < 0.01:
            age = rng.choice([-3, 126, 141])  # impossible ages, as in the original
        country = rng.choice(countries)
        if rng.random() < 0.01:
            country = UNLABELLED_COUNTRY
        departed = None if rng.random() < 0.05 else arrived + timedelta(days=rng.randint(0, 40))
        until = arrived + timedelta(days=rng.choice([30, 90, 180]))
        yield [
            _num(cicid),
            _num(month.year),
            _num(month.month),
            _num(country),
            _num(country if rng.random() < 0.9 else rng.choice(countries)),
            rng.choice(ports),
            _num(sas_day(arrived)),
            _num(rng.choices([1, 2, 3, 9], weights=[90, 4, 5, 1])[0]),
            rng.choice(list(STATES)) if rng.random() < 0.95 else "",
            _num(sas_day(departed) if departed else None),
            _num(age),
            _num(visa),
            "1.0",
            arrived.strftime("%Y%m%d"),
            rng.choice(["", "MEX", "LND", "TKY", "SPL"]),
            "STU" if visa == 3 and rng.random() < 0.5 else "",
            "G",
            rng.choice(["O", "R", "K", ""]),
            "",
            rng.choice(["M", ""]),
            _num(arrived.year - age),
            until.strftime("%m%d%Y"),
            rng.choice(["F", "M", "X", ""]),
            "",
            rng.choice(AIRLINES),
            _num(rng.randrange(10**10, 10**11)),
            f"{rng.randint(1, 9999):05d}",
            rng.choice(VISA_TYPES[visa]),
        ]


def _readstat() -> str:
    found = shutil.which("readstat")
    if not found:
        raise RuntimeError(
            "the readstat command (Debian package readstat) is not installed: "
            "run `make setup-test` or apt-get install readstat"
        )
    return found


def write_sas7bdat(path: Path, rows: Iterator[list[str]]) -> int:
    """Write ``rows`` (CSV cells in :data:`ARRIVAL_COLUMNS` order) as SAS7BDAT with ReadStat.

    The CSV is streamed to a temporary file, so memory stays flat whatever the row count.
    """
    readstat = _readstat()
    count = 0
    with tempfile.TemporaryDirectory(prefix="i94-") as tmp:
        work = Path(tmp)
        metadata = {
            "type": "STATA",
            "variables": [
                {"type": "NUMERIC" if numeric else "STRING", "name": name, "label": ""}
                for name, numeric in ARRIVAL_COLUMNS
            ],
        }
        (work / "meta.json").write_text(json.dumps(metadata))
        with open(work / "rows.csv", "w", newline="", encoding="latin-1") as fh:
            writer = csv.writer(fh)
            writer.writerow([name for name, _ in ARRIVAL_COLUMNS])
            for row in rows:
                writer.writerow(row)
                count += 1
        for src, dst in (("rows.csv", "rows.dta"), ("rows.dta", "out.sas7bdat")):
            args = [readstat, str(work / src)]
            if src.endswith(".csv"):
                args.append(str(work / "meta.json"))
            args.append(str(work / dst))
            done = subprocess.run(args, capture_output=True, text=True, check=False)
            if done.returncode != 0 or not (work / dst).exists():
                raise RuntimeError(
                    f"readstat {src} -> {dst} failed: {(done.stderr or done.stdout).strip()[-300:]}"
                )
        shutil.move(str(work / "out.sas7bdat"), path)
    return count


def labels_text() -> str:
    """``I94_SAS_Labels_Descriptions.SAS`` in the original's style."""
    out = [
        "libname library 'Your file location' ;",
        "proc format library=library ;",
        "",
        "/* I94YR - 4 digit year */",
        "",
        "/* I94MON - Numeric month */",
        "",
        "/* I94CIT & I94RES - This format shows all the valid and invalid codes for processing */",
        "  value i94cntyl",
    ]
    out += [f"   {code} =  '{label}'" for code, label in COUNTRIES.items()]
    out += [
        "",
        ";",
        "",
        "/* I94PORT - This format shows all the valid and invalid codes for processing */",
        "  value $i94prtl",
    ]
    out += [
        f"\t'{code}'\t=\t'{city}, {state}{' ' * (20 - len(city))}'"
        for code, (city, state) in PORTS.items()
    ]
    out += [f"\t'{code}'\t=\t'{label}'" for code, label in ODD_PORTS.items()]
    out += [
        ";",
        "",
        "/* ARRDATE is the Arrival Date in the USA. It is a SAS date numeric field "
        "that a permament format has not been applied. */",
        "",
        "/* I94MODE - There are missing values as well as not reported (9) */",
        "value i94model",
    ]
    out += [f"\t{code} = '{label}'" for code, label in MODES.items()]
    out[-1] += " ;"
    out += [
        "",
        "/* I94ADDR - There is lots of invalid codes in this variable and the list below",
        "shows what we have found to be valid, everything else goes into 'other' */",
        "value i94addrl",
    ]
    out += [f"\t'{code}'='{label}'" for code, label in STATES.items()]
    out += [";", "", "/* I94VISA - Visa codes collapsed into three categories */", "value i94visa"]
    out += [f"   {code} = {label}" for code, label in VISAS.items()]
    out += [";", "", "run ;", ""]
    return "\r\n".join(out)


def _hemisphere(value: float, positive: str, negative: str) -> str:
    return f"{abs(value):.2f}{positive if value >= 0 else negative}"


def temperature_rows(first_year: int, last: Month, seed: int = 0) -> Iterator[list[str]]:
    """Monthly city temperatures; the early values empty, as the original's are."""
    rng = random.Random(f"temps-{seed}")
    cities = [(PORTS[p][0].title(), "United States", *PORT_COORDINATES[p]) for p in PORTS]
    cities += FOREIGN_CITIES
    for city, country, lat, lon in cities:
        base = 25.0 - abs(lat) * 0.45
        year, month = first_year, 1
        while (year, month) <= (last.year, last.month):
            early = year < first_year + 2
            season = (-1 if lat >= 0 else 1) * 9 * math.cos((month - 1) / 12 * 2 * math.pi)
            value = "" if early else f"{base + season + rng.uniform(-1.5, 1.5):.3f}"
            uncertainty = "" if early else f"{rng.uniform(0.1, 2.0):.3f}"
            yield [
                f"{year:04d}-{month:02d}-01",
                value,
                uncertainty,
                city,
                country,
                _hemisphere(lat, "N", "S"),
                _hemisphere(lon, "E", "W"),
            ]
            month += 1
            if month > 12:
                year, month = year + 1, 1


def demographic_rows(seed: int = 0) -> Iterator[list[str]]:
    """One row per city and race; the city's totals repeat on each of its rows."""
    rng = random.Random(f"demo-{seed}")
    for city, state in PORTS.values():
        if state not in STATE_NAMES:
            continue
        male, female = rng.randint(40_000, 4_000_000), rng.randint(40_000, 4_000_000)
        totals = [
            f"{rng.uniform(28, 42):.1f}",
            str(male),
            str(female),
            str(male + female),
            str(rng.randint(1_000, 200_000)),
            str(rng.randint(5_000, 3_000_000)),
            f"{rng.uniform(2.0, 3.5):.2f}",
            state,
        ]
        for race in rng.sample(RACES, rng.randint(3, 5)):
            yield [
                city.title(),
                STATE_NAMES[state],
                *totals,
                race,
                str(rng.randint(1_000, male + female)),
            ]


def airport_rows() -> Iterator[list[str]]:
    """OurAirports rows: ``"lon, lat"`` coordinates, continent ``NA``."""
    iata = {
        "NYC": "JFK",
        "MIA": "MIA",
        "LOS": "LAX",
        "SFR": "SFO",
        "CHI": "ORD",
        "HOU": "IAH",
        "ATL": "ATL",
        "BOS": "BOS",
        "SEA": "SEA",
        "ORL": "MCO",
        "DAL": "DFW",
        "WAS": "IAD",
        "MIL": "MKE",
    }
    yield [
        "00A",
        "heliport",
        "Total Rf Heliport",
        "11",
        "NA",
        "US",
        "US-PA",
        "Bensalem",
        "00A",
        "",
        "00A",
        "-74.93360137939453, 40.07080078125",
    ]
    for port, (city, state) in PORTS.items():
        lat, lon = PORT_COORDINATES[port]
        code = iata[port]
        yield [
            f"K{code}",
            "large_airport",
            f"{city.title()} International Airport",
            "20",
            "NA",
            "US",
            f"US-{state}",
            city.title(),
            f"K{code}",
            code,
            code,
            f"{lon}, {lat}",
        ]
    yield [
        "EGLL",
        "large_airport",
        "London Heathrow Airport",
        "83",
        "EU",
        "GB",
        "GB-ENG",
        "London",
        "EGLL",
        "LHR",
        "",
        "-0.461941, 51.4706",
    ]


def _write_csv(
    path: Path, header: Sequence[str], rows: Iterator[list[str]], delimiter: str = ","
) -> int:
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def generate(
    folder: Path,
    months: Sequence[Month],
    rows_per_month: int,
    seed: int = 0,
    *,
    reference: bool = True,
) -> dict[str, int]:
    """Write the month files (and, with ``reference``, the four reference files) to ``folder``.

    Returns:
        Rows written per file name.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for month in months:
        written[month.file_name] = write_sas7bdat(
            folder / month.file_name, arrival_rows(month, rows_per_month, seed)
        )
    if reference:
        labels = folder / "I94_SAS_Labels_Descriptions.SAS"
        labels.write_bytes(labels_text().encode("latin-1"))
        written[labels.name] = 1
        last = max(months, key=lambda m: (m.year, m.month)) if months else Month(2016, 12)
        written["GlobalLandTemperaturesByCity.csv"] = _write_csv(
            folder / "GlobalLandTemperaturesByCity.csv",
            [
                "dt",
                "AverageTemperature",
                "AverageTemperatureUncertainty",
                "City",
                "Country",
                "Latitude",
                "Longitude",
            ],
            temperature_rows(last.year - 4, last, seed),
        )
        written["us-cities-demographics.csv"] = _write_csv(
            folder / "us-cities-demographics.csv",
            [
                "City",
                "State",
                "Median Age",
                "Male Population",
                "Female Population",
                "Total Population",
                "Number of Veterans",
                "Foreign-born",
                "Average Household Size",
                "State Code",
                "Race",
                "Count",
            ],
            demographic_rows(seed),
            delimiter=";",
        )
        written["airport-codes_csv.csv"] = _write_csv(
            folder / "airport-codes_csv.csv",
            [
                "ident",
                "type",
                "name",
                "elevation_ft",
                "continent",
                "iso_country",
                "iso_region",
                "municipality",
                "gps_code",
                "iata_code",
                "local_code",
                "coordinates",
            ],
            airport_rows(),
        )
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write I94-style immigration files.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--months", default="2016-04", help="comma-separated YYYY-MM")
    parser.add_argument("--rows", type=int, default=10_000, help="arrival rows per month")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arrivals-only", action="store_true", help="only the monthly SAS files")
    args = parser.parse_args(argv)
    months = [Month.parse(m) for m in args.months.split(",") if m]
    written = generate(args.folder, months, args.rows, args.seed, reference=not args.arrivals_only)
    for name, rows in written.items():
        print(f"{name}\t{rows}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
