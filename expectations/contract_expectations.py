"""Expectations generated from a source contract, so no suite restates a field, range or key.

A rule is checked where data can first break it, and only there:

- **bronze** (per contract entity, the Spark job's table under the source's own names): every
  field's presence, ``required`` (not null), ``range``, ``allowed_values`` (a list, or the
  source's ``targets``), the natural key's uniqueness, the bronze run's quarantine rate,
  freshness (a warning) and continuity against ``cadence`` (a warning: a gap is reported, never
  a block);
- **silver** (per staging model ``stg_<source>__<entity>``): what renames and casts can break:
  the natural key under its silver names is not null and unique, and silver holds exactly the
  rows bronze holds (row count equal to bronze's, over the same scope).

Gold checks live with the marts (dbt data tests in the model's yml, or a suite declared in its
``meta``; see :mod:`expectations.gate`).
"""

from __future__ import annotations

from typing import Any

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from lakehouse.contracts import Contract, ContractField, Entity

# Derived columns the gate adds to the frame before validating (see expectations.checks);
# their names start with `_gate_` so they can never collide with a table column.
STEPS_SINCE_PREVIOUS = "_gate_cadence_steps_since_previous"
RUN_QUARANTINE_RATE = "_gate_run_quarantine_rate"
NEWEST_FETCH_AGE_HOURS = "_gate_newest_fetch_age_hours"
# Suite parameter of the silver row-count check: bronze's rows over the gate's scope.
BRONZE_ROWS = "bronze_rows"
# Bronze metadata column every source's bronze table carries (docs/architecture.md, Bronze).
FETCHED_AT = "_fetched_at"


def checked_fields(entity: Entity) -> list[ContractField]:
    """The fields whose rules the bronze gate checks (``check: none`` is documentation only)."""
    return [f for f in entity.fields if f.check == "bronze"]


def field_expectations(contract: Contract, entity: Entity) -> list[Expectation]:
    """Presence, not-null (required), range and allowed values of every checked field."""
    out: list[Expectation] = []
    for field in checked_fields(entity):
        column = field.name
        out.append(gx.expectations.ExpectColumnToExist(column=column))
        if field.required:
            out.append(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))
        if field.range is not None:
            out.append(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column=column, min_value=field.range[0], max_value=field.range[1]
                )
            )
        allowed = allowed_values(contract, field)
        if allowed is not None:
            out.append(
                gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=allowed)
            )
    return out


def allowed_values(contract: Contract, field: ContractField) -> list[Any] | None:
    """The values a field may take: its list, or the ids of the source's targets."""
    if field.allowed_values == "targets":
        return [str(t["id"]) for t in contract.targets]
    return list(field.allowed_values) if field.allowed_values is not None else None


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


def continuity_expectation() -> Expectation:
    """No missing step inside a series (a warning: reported, never a block).

    The gate computes, per series (``cadence.per``), the cadence steps since the series'
    previous event; inside a gap-free series every value is exactly 1. A series' first event has
    no predecessor (null) and is ignored, so partial first and last days are not gaps.
    """
    return gx.expectations.ExpectColumnValuesToBeBetween(
        column=STEPS_SINCE_PREVIOUS, min_value=1, max_value=1, severity="warning"
    )


def quarantine_rate_expectation(entity: Entity) -> Expectation:
    """The bronze run quarantined at most the contract's share of its rows."""
    return gx.expectations.ExpectColumnMaxToBeBetween(
        column=RUN_QUARANTINE_RATE, min_value=0.0, max_value=entity.max_quarantine_rate
    )


def freshness_expectation(entity: Entity) -> Expectation:
    """The newest fetch is recent. A warning only: a backfill of an old range still publishes."""
    assert entity.freshness is not None
    return gx.expectations.ExpectColumnMaxToBeBetween(
        column=NEWEST_FETCH_AGE_HOURS,
        max_value=entity.freshness.warn_after_hours,
        severity="warning",
    )


def bronze_expectations(contract: Contract, entity_name: str) -> list[Expectation]:
    """The bronze suite of one entity, entirely from its contract."""
    entity = contract.entity(entity_name)
    out: list[Expectation] = [
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1),
        gx.expectations.ExpectColumnToExist(column=entity.event_time.column),
        *key_expectations(list(entity.natural_key)),
        *field_expectations(contract, entity),
        quarantine_rate_expectation(entity),
    ]
    if entity.cadence is not None:
        out.append(continuity_expectation())
    if entity.freshness is not None:
        out.append(freshness_expectation(entity))
    return out


def silver_key(entity: Entity) -> list[str]:
    """The natural key under its silver names (the event time keeps its name)."""
    names = {f.name: f.silver_column for f in entity.fields}
    return [names.get(k, k) for k in entity.natural_key]


def silver_series(entity: Entity) -> list[str]:
    """The cadence's series columns under their silver names."""
    names = {f.name: f.silver_column for f in entity.fields}
    per = entity.cadence.per if entity.cadence else entity.key_fields
    return [names.get(k, k) for k in per]


def silver_expectations(entity: Entity) -> list[Expectation]:
    """The silver suite of a staging model: the renamed key, and bronze's row count."""
    return [
        *key_expectations(silver_key(entity)),
        gx.expectations.ExpectTableRowCountToEqual(value={"$PARAMETER": BRONZE_ROWS}),
    ]


def build_suite(name: str, expectations: list[Expectation]) -> gx.ExpectationSuite:
    """A suite named ``name`` holding ``expectations``."""
    # Passed to the constructor rather than add_expectation(), which needs an active context;
    # suites are plain values until the gate registers them.
    return gx.ExpectationSuite(name=name, expectations=expectations)


def declared_expectations(declared: list[Any]) -> list[Expectation]:
    """Expectations declared in a model's yml ``meta.gate.expectations``.

    Each item is ``{expect_snake_case_name: {kwargs}}`` (or ``{type: ..., kwargs: {...}}``),
    e.g. ``- expect_column_values_to_be_between: {column: day_count, min_value: 1}``.
    """
    from great_expectations.expectations.registry import get_expectation_impl

    out: list[Expectation] = []
    for item in declared:
        if not isinstance(item, dict):
            raise ValueError(f"declared expectation {item!r} is not a mapping")
        if "type" in item:
            name, kwargs = item["type"], dict(item.get("kwargs") or {})
        elif len(item) == 1:
            [(name, kwargs)] = item.items()
            kwargs = dict(kwargs or {})
        else:
            raise ValueError(f"declared expectation {item!r}: one expect_... key per item")
        out.append(get_expectation_impl(name)(**kwargs))
    return out
