"""Expectations generated from a source contract, so no suite restates a field, range or key.

Each helper returns expectations for one naming of the data: bronze uses the API's field names
(``temperature_2m``), silver and gold the contract's silver columns (``temperature_c``).
"""

from __future__ import annotations

from typing import Literal

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from lakehouse.contracts import Contract, Entity

Naming = Literal["source", "silver"]

# Derived columns the gate adds to the frame before validating (see expectations.checks);
# their names start with `_gate_` so they can never collide with a table column.
HOURS_SINCE_PREVIOUS = "_gate_hours_since_previous"
RUN_QUARANTINE_RATE = "_gate_run_quarantine_rate"
NEWEST_FETCH_AGE_HOURS = "_gate_newest_fetch_age_hours"


def column_of(field_name: str, entity: Entity, naming: Naming) -> str:
    field = entity.field(field_name)
    return field.name if naming == "source" else field.column


def field_expectations(entity: Entity, naming: Naming) -> list[Expectation]:
    """Presence, not-null (required fields) and physical range of every contract field."""
    out: list[Expectation] = []
    for field in entity.fields:
        column = field.name if naming == "source" else field.column
        out.append(gx.expectations.ExpectColumnToExist(column=column))
        if field.required:
            out.append(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))
        if field.range is not None:
            out.append(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column=column, min_value=field.range[0], max_value=field.range[1]
                )
            )
    return out


def key_expectations(key_columns: list[str]) -> list[Expectation]:
    """The natural key is present and unique."""
    out: list[Expectation] = [
        gx.expectations.ExpectColumnValuesToNotBeNull(column=c) for c in key_columns
    ]
    if len(key_columns) == 1:
        out.append(gx.expectations.ExpectColumnValuesToBeUnique(column=key_columns[0]))
    else:
        out.append(gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=list(key_columns)))
    return out


def city_expectations(contract: Contract, column: str, attribute: str = "id") -> list[Expectation]:
    """Every row belongs to one of the contract's cities."""
    values = [getattr(city, attribute) for city in contract.cities]
    return [gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=values)]


def continuity_expectation() -> Expectation:
    """No missing hour between a city's first and last hour (and no repeated hour).

    The gate computes, per city, the hours since that city's previous observation; inside a
    gap-free series every value is exactly 1. A city's first hour has no predecessor (null) and
    is ignored, so partial first and last local days are not failures.
    """
    return gx.expectations.ExpectColumnValuesToBeBetween(
        column=HOURS_SINCE_PREVIOUS, min_value=1, max_value=1
    )


def quarantine_rate_expectation(entity: Entity) -> Expectation:
    """The bronze run quarantined at most the contract's share of its rows."""
    return gx.expectations.ExpectColumnMaxToBeBetween(
        column=RUN_QUARANTINE_RATE, min_value=0.0, max_value=entity.max_quarantine_rate
    )


def freshness_expectation(entity: Entity) -> Expectation:
    """The newest fetch is recent. A warning only: a backfill of an old range still publishes."""
    return gx.expectations.ExpectColumnMaxToBeBetween(
        column=NEWEST_FETCH_AGE_HOURS,
        max_value=entity.freshness.warn_after_hours,
        severity="warning",
    )


def build_suite(name: str, expectations: list[Expectation]) -> gx.ExpectationSuite:
    """A suite named ``name`` holding ``expectations``."""
    # Passed to the constructor rather than add_expectation(), which needs an active context;
    # suites are plain values until the gate registers them.
    return gx.ExpectationSuite(name=name, expectations=expectations)
