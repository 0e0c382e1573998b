"""Gate suite ``silver.stg_weather__hourly``: silver column names and units from the contract."""

from __future__ import annotations

import great_expectations as gx
import pandas as pd

from expectations import checks
from expectations import contract_expectations as ce
from lakehouse.contracts import load_contract
from lakehouse.lake import Lake

LAYER = "silver"
TABLE = "stg_weather__hourly"
NAME = f"{LAYER}.{TABLE}"


def suite() -> gx.ExpectationSuite:
    """Contract fields (silver names) and ranges, key uniqueness, cities and continuity."""
    contract = load_contract("weather")
    entity = contract.entity("hourly")
    expectations = [
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1),
        *ce.key_expectations(["location_id", "observed_at"]),
        *ce.city_expectations(contract, "location_id"),
        *ce.field_expectations(entity, naming="silver"),
        ce.continuity_expectation(),
    ]
    return ce.build_suite(NAME, expectations)


def prepare(df: pd.DataFrame, lake: Lake) -> pd.DataFrame:
    """Add the per-city hour gaps."""
    return checks.with_hours_since_previous(df, "location_id", "observed_at")
