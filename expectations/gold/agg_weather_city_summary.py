"""Gate suite ``gold.agg_weather_city_summary``: per-city summary of a staged gold build."""

from __future__ import annotations

import great_expectations as gx
import pandas as pd

from expectations import contract_expectations as ce
from lakehouse.contracts import load_contract
from lakehouse.lake import Lake

LAYER = "gold"
TABLE = "agg_weather_city_summary"
NAME = f"{LAYER}.{TABLE}"


def suite() -> gx.ExpectationSuite:
    """One row per contract city with an ordered date span and a wettest day inside it."""
    contract = load_contract("weather")
    expectations = [
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1),
        *ce.key_expectations(["city"]),
        *ce.city_expectations(contract, "city", attribute="name"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="day_count", min_value=1),
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="last_local_date", column_B="first_local_date", or_equal=True
        ),
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="wettest_local_date", column_B="first_local_date", or_equal=True
        ),
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="last_local_date", column_B="wettest_local_date", or_equal=True
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="total_precipitation_mm", min_value=0.0
        ),
    ]
    return ce.build_suite(NAME, expectations)


def prepare(df: pd.DataFrame, lake: Lake) -> pd.DataFrame:
    """No derived columns."""
    return df
