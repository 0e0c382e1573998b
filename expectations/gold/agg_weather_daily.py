"""Gate suite ``gold.agg_weather_daily``: daily aggregates of a staged gold build."""

from __future__ import annotations

import great_expectations as gx
import pandas as pd

from expectations import contract_expectations as ce
from lakehouse.contracts import load_contract
from lakehouse.lake import Lake

LAYER = "gold"
TABLE = "agg_weather_daily"
NAME = f"{LAYER}.{TABLE}"
# A local day has 24 hours, or 23/25 on a daylight-saving change; partial edge days have fewer.
MAX_HOURS_PER_LOCAL_DAY = 25


def suite() -> gx.ExpectationSuite:
    """One row per city and local date, plausible counts, ordered extremes, contract ranges."""
    contract = load_contract("weather")
    temperature = contract.entity("hourly").field("temperature_2m")
    precipitation = contract.entity("hourly").field("precipitation")
    low, high = temperature.range or (None, None)
    # The most one local day can hold: the hourly maximum over its longest possible length.
    max_daily_mm = precipitation.range[1] * MAX_HOURS_PER_LOCAL_DAY if precipitation.range else None
    expectations = [
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1),
        *ce.key_expectations(["city", "local_date"]),
        *ce.city_expectations(contract, "city", attribute="name"),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="observation_count", min_value=1, max_value=MAX_HOURS_PER_LOCAL_DAY
        ),
        *[
            gx.expectations.ExpectColumnValuesToBeBetween(
                column=column, min_value=low, max_value=high
            )
            for column in ("avg_temperature_c", "min_temperature_c", "max_temperature_c")
        ],
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="max_temperature_c", column_B="avg_temperature_c", or_equal=True
        ),
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="avg_temperature_c", column_B="min_temperature_c", or_equal=True
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="total_precipitation_mm",
            min_value=0.0,
            max_value=max_daily_mm,
        ),
    ]
    return ce.build_suite(NAME, expectations)


def prepare(df: pd.DataFrame, lake: Lake) -> pd.DataFrame:
    """No derived columns."""
    return df
