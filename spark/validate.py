"""Row-level validation: raw string values become typed columns or reasons to quarantine the row.

Parsers keep every value as the text the source sent (``raw__<name>`` columns), so one wrong value
never nulls its neighbours. :func:`apply_checks` then casts each value to its contract type and
collects, per row, every problem found: a missing required value, a value of the wrong type, a
value outside the physical range. Rows without problems are valid; the others go to quarantine
with all their reasons.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark.schema import Check, java_datetime_pattern

PROBLEMS = "_problems"


def raw(name: str) -> str:
    """Column name holding the raw text of ``name``."""
    return f"raw__{name}"


def _typed(check: Check, value: Column) -> Column:
    if check.type == "double":
        return value.cast("double")
    if check.type == "integer":
        # A plain cast would truncate 3.7 to 3; only whole numbers in int range are integers.
        number = value.cast("double")
        whole = (number == F.floor(number)) & number.between(-(2**31), 2**31 - 1)
        return F.when(whole, number.cast("int"))
    if check.type == "string":
        return value
    if check.type == "boolean":
        lowered = F.lower(F.trim(value))
        return F.when(lowered.isin("true", "false"), lowered == "true")
    if check.type == "timestamp" and check.format:
        # try_: an unparseable time is a quarantine reason, never a failed job (even under ANSI).
        return F.try_to_timestamp(value, F.lit(java_datetime_pattern(check.format)))
    if check.type == "date" and check.format:
        return F.to_date(value, java_datetime_pattern(check.format))
    if check.type in ("timestamp", "date"):
        return value.cast(check.type)
    raise ValueError(f"no validation for type {check.type!r} of {check.name}")


def problem_struct(field: Column, raw_value: Column, reason: Column) -> Column:
    """One reason to quarantine: the field, its raw value and why (an element of ``_problems``)."""
    return F.struct(
        field.alias("field"), raw_value.cast("string").alias("raw_value"), reason.alias("reason")
    )


def _problem(check: Check, value: Column, reason: Column) -> Column:
    return problem_struct(F.lit(check.name), value, reason)


def apply_checks(
    df: DataFrame, checks: list[Check], object_problem: Column | None = None
) -> DataFrame:
    """Add a typed column per check and ``_problems``: null for a valid row, else an array of
    field/raw_value/reason structs.

    ``object_problem`` (a :func:`problem_struct` or null) marks rows standing for a whole object
    that could not be read or parsed: that problem is their only one.
    """
    typed = {check.name: _typed(check, F.col(raw(check.name))) for check in checks}
    problems: list[tuple[Column, Column]] = []  # (condition, problem)
    for check in checks:
        value = F.col(raw(check.name))
        # The typed column, not its expression again: one cast per value, and a plan small
        # enough for Spark to compile into code (a huge one falls back to slow interpretation).
        cast = F.col(check.name)
        if check.required:
            problems.append(
                (
                    value.isNull(),
                    _problem(check, value, F.lit(f"missing required field {check.name}")),
                )
            )
        expected = check.type if not check.format else f"{check.type} ({check.format})"
        problems.append(
            (
                value.isNotNull() & cast.isNull(),
                _problem(
                    check,
                    value,
                    F.concat(F.lit(f"{check.name}="), value, F.lit(f" is not a valid {expected}")),
                ),
            )
        )
        if check.range is not None:
            low, high = check.range
            outside = F.isnan(cast.cast("double")) | (cast < F.lit(low)) | (cast > F.lit(high))
            problems.append(
                (
                    cast.isNotNull() & outside,
                    _problem(
                        check,
                        value,
                        F.concat(
                            F.lit(f"{check.name}="), value, F.lit(f" outside [{low}, {high}]")
                        ),
                    ),
                )
            )
    # The plain predicate decides; the array of reasons is only built for the rows that have
    # one, so a valid row costs a few comparisons.
    any_problem = reduce(lambda a, b: a | b, (F.coalesce(c, F.lit(False)) for c, _ in problems))
    reasons = F.array_compact(F.array(*[F.when(c, p) for c, p in problems]))
    problems_column = F.when(any_problem, reasons)
    if object_problem is not None:
        problems_column = F.when(object_problem.isNotNull(), F.array(object_problem)).otherwise(
            problems_column
        )
    return df.withColumns(typed).withColumn(PROBLEMS, problems_column)


def is_valid() -> Column:
    """Predicate of rows without problems (after :func:`apply_checks`)."""
    return F.col(PROBLEMS).isNull()


def quarantine_columns() -> dict[str, Column]:
    """``reason``/``field``/``raw_value`` of a rejected row: all reasons, the first field."""
    first = F.col(PROBLEMS).getItem(0)
    return {
        "reason": F.array_join(F.transform(F.col(PROBLEMS), lambda p: p["reason"]), "; "),
        "field": first["field"],
        "raw_value": first["raw_value"],
    }
