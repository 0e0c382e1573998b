"""Gate suite ``gold.fct_weather_hourly``: the hourly fact of a staged gold build."""

from __future__ import annotations

import great_expectations as gx
import pandas as pd

from expectations import checks
from expectations import contract_expectations as ce
from lakehouse.contracts import load_contract
from lakehouse.lake import Lake

LAYER = "gold"
TABLE = "fct_weather_hourly"
NAME = f"{LAYER}.{TABLE}"


def suite() -> gx.ExpectationSuite:
    """Key uniqueness, cities, contract ranges, local dates present and continuity."""
    contract = load_contract("weather")
    entity = contract.entity("hourly")
    expectations = [
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1),
        *ce.key_expectations(["location_id", "observed_at"]),
        *ce.city_expectations(contract, "location_id"),
        *ce.field_expectations(entity, naming="silver"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="local_date"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="local_observed_at"),
        ce.continuity_expectation(),
    ]
    return ce.build_suite(NAME, expectations)


def prepare(df: pd.DataFrame, lake: Lake) -> pd.DataFrame:
    """Add the per-city hour gaps."""
    return checks.with_hours_since_previous(df, "location_id", "observed_at")
