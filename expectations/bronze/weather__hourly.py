"""Gate suite ``bronze.weather__hourly``: the Spark bronze table, under the API's field names."""

from __future__ import annotations

import great_expectations as gx
import pandas as pd

from expectations import checks
from expectations import contract_expectations as ce
from lakehouse.contracts import load_contract
from lakehouse.lake import Lake

LAYER = "bronze"
TABLE = "weather__hourly"
NAME = f"{LAYER}.{TABLE}"


def suite() -> gx.ExpectationSuite:
    """Contract fields and ranges, the natural key, cities, continuity, quarantine rate and
    freshness (warning)."""
    contract = load_contract("weather")
    entity = contract.entity("hourly")
    expectations = [
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1),
        *ce.key_expectations(entity.natural_key),
        *ce.city_expectations(contract, "city_id"),
        *ce.field_expectations(entity, naming="source"),
        ce.continuity_expectation(),
        ce.quarantine_rate_expectation(entity),
        ce.freshness_expectation(entity),
    ]
    return ce.build_suite(NAME, expectations)


def prepare(df: pd.DataFrame, lake: Lake) -> pd.DataFrame:
    """Add the derived columns the dataset-level expectations read."""
    df = checks.with_hours_since_previous(df, "city_id", "observed_at")
    df = checks.with_run_quarantine_rate(df, lake, "bronze", "weather")
    return checks.with_newest_fetch_age(df, "_fetched_at")
