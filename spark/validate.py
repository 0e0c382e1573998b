"""Row-level validation: raw string values become typed columns or reasons to quarantine the row.

Layouts keep every value as the text the source sent (``raw__<name>`` columns), so one wrong value
never nulls its neighbours. :func:`apply_checks` then casts each value to its contract type and
collects, per row, every problem found: a missing required value, a value of the wrong type, a
value outside the physical range, a value not among the allowed ones. Rows without problems are
valid; the others go to quarantine with all their reasons.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark.schema import ISO_FORMAT, Check, java_datetime_pattern

PROBLEMS = "_problems"
# Problems that replace every field check of a row (an unreadable object, an unparseable line,
# an envelope value the contract rejects): an array of problem structs, or null.
FATAL = "_fatal"

PROBLEM_TYPE = T.ArrayType(
    T.StructType(
        [
            T.StructField("field", T.StringType()),
            T.StructField("raw_value", T.StringType()),
            T.StructField("reason", T.StringType()),
        ]
    )
)

_SAS_EPOCH = "1960-01-01"


def _whole(number: Column, low: float, high: float) -> Column:
    return (number == F.floor(number)) & number.between(low, high)


def _number(value: Column) -> Column:
    # Exact for long ids and amounts; a float code such as "135.0" is a whole number too.
    return value.cast(T.DecimalType(38, 6))


def _epoch(check: Check, value: Column) -> Column:
    number = _number(value)
    if check.format == "epoch_ms":
        return F.timestamp_micros((number * 1000).cast("long"))
    if check.format == "epoch_s":
        return F.timestamp_micros((number * 1_000_000).cast("long"))
    # sas_date: whole days since 1960-01-01.
    days = F.when(_whole(number, -(2**31), 2**31 - 1), number.cast("int"))
    return F.date_add(F.lit(_SAS_EPOCH).cast("date"), days).cast("timestamp")


def _hemisphere(value: Column) -> Column:
    """``57.05N``/``10.33E`` as signed degrees (S and W negative); null when not that shape."""
    text = F.upper(F.trim(value))
    number = F.regexp_extract(text, r"^([0-9]+(\.[0-9]*)?)\s*[NSEW]$", 1)
    degrees = F.when(number != "", number.cast("double"))
    return F.when(text.endswith("S") | text.endswith("W"), -degrees).otherwise(degrees)


def typed_value(check: Check, value: Column) -> Column:
    """The typed value of ``value`` for ``check``, or null when it is not a valid one."""
    kind = check.type
    if kind == "double":
        if check.format == "hemisphere":
            return _hemisphere(value)
        return value.cast("double")
    if kind == "integer":
        # A plain cast would truncate 3.7 to 3; only whole numbers in int range are integers.
        number = value.cast("double")
        return F.when(_whole(number, -(2**31), 2**31 - 1), number.cast("int"))
    if kind == "bigint":
        number = _number(value)
        return F.when(_whole(number, -(2**63), 2**63 - 1), number.cast("long"))
    if kind == "decimal":
        wanted = T.DecimalType(check.precision, check.scale)
        typed = F.trim(value).cast(wanted)
        # Exact: a value with more digits than the scale keeps is not silently rounded.
        return F.when(typed == F.trim(value).cast(T.DecimalType(38, 18)), typed)
    if kind == "string":
        return value
    if kind == "boolean":
        lowered = F.lower(F.trim(value))
        return F.when(lowered.isin("true", "false"), lowered == "true")
    if kind in ("timestamp", "date"):
        if check.format in ("epoch_ms", "epoch_s", "sas_date"):
            stamp = _epoch(check, value)
        elif check.format == ISO_FORMAT:
            # Spark's own ISO reading; try_: unparseable text is null, never a failed job.
            stamp = F.try_to_timestamp(value)
        elif check.format:
            # try_: an unparseable time is a quarantine reason, never a failed job (even ANSI).
            stamp = F.try_to_timestamp(value, F.lit(java_datetime_pattern(check.format)))
        else:
            stamp = value.cast("timestamp")
        return stamp.cast("date") if kind == "date" else stamp
    raise ValueError(f"no validation for type {kind!r} of {check.name}")


def problem_struct(field: Column, raw_value: Column, reason: Column) -> Column:
    """One reason to quarantine: the field, its raw value and why (an element of ``_problems``)."""
    return F.struct(
        field.alias("field"), raw_value.cast("string").alias("raw_value"), reason.alias("reason")
    )


def _problem(check: Check, value: Column, reason: Column) -> Column:
    return problem_struct(F.lit(check.name), value, reason)


def _literal(value: object) -> Column:
    return F.lit(value)


def apply_checks(df: DataFrame, checks: list[Check], fatal: Column | None = None) -> DataFrame:
    """Add a typed column per check and ``_problems``: null for a valid row, else an array of
    field/raw_value/reason structs.

    ``fatal`` (an array of problem structs, or null) marks rows whose problem is already known
    (an unreadable object, an unparseable record): those problems are their only ones.
    """
    typed = {check.typed_col: typed_value(check, F.col(check.raw_col)) for check in checks}
    problems: list[tuple[Column, Column]] = []  # (condition, problem)
    for check in checks:
        value = F.col(check.raw_col)
        # The typed column, not its expression again: one cast per value, and a plan small
        # enough for Spark to compile into code (a huge one falls back to slow interpretation).
        cast = F.col(check.typed_col)
        if check.required:
            problems.append(
                (
                    value.isNull(),
                    _problem(check, value, F.lit(f"missing required field {check.name}")),
                )
            )
        problems.append(
            (
                value.isNotNull() & cast.isNull(),
                _problem(
                    check,
                    value,
                    F.concat(
                        F.lit(f"{check.name}="), value, F.lit(f" is not a valid {check.type_label}")
                    ),
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
        if check.allowed is not None:
            allowed = [_literal(v) for v in check.allowed]
            outside = ~cast.isin(*allowed) if allowed else F.lit(True)
            problems.append(
                (
                    cast.isNotNull() & outside,
                    _problem(
                        check,
                        value,
                        F.concat(
                            F.lit(f"{check.name}="), value, F.lit(f" is not {check.allowed_label}")
                        ),
                    ),
                )
            )
    if problems:
        # The plain predicate decides; the array of reasons is only built for the rows that
        # have one, so a valid row costs a few comparisons.
        any_problem = reduce(lambda a, b: a | b, (F.coalesce(c, F.lit(False)) for c, _ in problems))
        reasons = F.array_compact(F.array(*[F.when(c, p) for c, p in problems]))
        problems_column = F.when(any_problem, reasons)
    else:
        problems_column = F.lit(None).cast(PROBLEM_TYPE)
    if fatal is not None:
        problems_column = F.when(fatal.isNotNull(), fatal).otherwise(problems_column)
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
