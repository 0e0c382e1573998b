"""Spark schemas derived from a source contract, so no job restates a field, type or range.

The bronze table of an entity is: the natural key and event time, the parser's context columns
(for Open-Meteo the location of the grid cell), one column per contract field under the source's
name and the contract's type, then the metadata columns. The quarantine table is the same for
every entity.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import types as T

from lakehouse.contracts import ContractField, Entity

SPARK_TYPES: dict[str, T.DataType] = {
    "double": T.DoubleType(),
    "integer": T.IntegerType(),
    "string": T.StringType(),
    "boolean": T.BooleanType(),
    "timestamp": T.TimestampType(),
    "date": T.DateType(),
}

# Metadata added by the bronze job; names start with "_" (DESIGN.md naming rule).
METADATA_FIELDS: list[T.StructField] = [
    T.StructField("_batch_id", T.StringType()),
    T.StructField("_landing_path", T.StringType()),
    T.StructField("_fetched_at", T.TimestampType()),
    T.StructField("_ingested_at", T.TimestampType()),
    T.StructField("_source_sha256", T.StringType()),
]

QUARANTINE_SCHEMA = T.StructType(
    [
        T.StructField("city_id", T.StringType()),
        T.StructField("observed_at", T.TimestampType()),
        T.StructField("reason", T.StringType()),
        T.StructField("field", T.StringType()),
        T.StructField("raw_value", T.StringType()),
        T.StructField("record", T.StringType()),
        *METADATA_FIELDS,
    ]
)


@dataclass(frozen=True)
class Check:
    """How one raw (string) value becomes a typed column, and when it is rejected.

    Attributes:
        name: output column, also the field name shown in quarantine reasons.
        type: a contract type (``double``, ``integer``, ...).
        required: a null or absent value rejects the row.
        range: inclusive physical range ``[min, max]``; values outside reject the row.
        format: strftime pattern for ``timestamp``/``date`` values.
    """

    name: str
    type: str
    required: bool = True
    range: tuple[float, float] | None = None
    format: str | None = None

    @classmethod
    def from_contract(cls, f: ContractField) -> Check:
        return cls(f.name, f.type, f.required, f.range)


def spark_type(type_name: str) -> T.DataType:
    """Spark type of a contract type name."""
    try:
        return SPARK_TYPES[type_name]
    except KeyError:
        raise ValueError(f"contract type {type_name!r} has no Spark type") from None


_STRFTIME_TO_JAVA = {
    "%Y": "yyyy",
    "%m": "MM",
    "%d": "dd",
    "%H": "HH",
    "%M": "mm",
    "%S": "ss",
    "%f": "SSSSSS",
    "%z": "XX",
    "%j": "DDD",
    "%%": "%",
}


def java_datetime_pattern(strftime: str) -> str:
    """Translate a contract's strftime pattern (``%Y-%m-%dT%H:%M``) to Spark's datetime pattern.

    Literal text is quoted, so ``T`` stays a letter rather than a pattern symbol.

    Raises:
        ValueError: on a directive Spark has no equivalent for.
    """
    out: list[str] = []
    literal = ""
    i = 0
    while i < len(strftime):
        if strftime[i] == "%":
            directive = strftime[i : i + 2]
            if directive not in _STRFTIME_TO_JAVA:
                raise ValueError(f"unsupported strftime directive {directive!r} in {strftime!r}")
            if literal:
                out.append(_quote(literal))
                literal = ""
            out.append(_STRFTIME_TO_JAVA[directive])
            i += 2
        else:
            literal += strftime[i]
            i += 1
    if literal:
        out.append(_quote(literal))
    return "".join(out)


def _quote(literal: str) -> str:
    # Separators are safe unquoted; letters would be read as pattern symbols.
    if all(not c.isalpha() for c in literal):
        return literal
    return "'" + literal.replace("'", "''") + "'"


def bronze_schema(entity: Entity, context: list[Check]) -> T.StructType:
    """The bronze table of ``entity``: key, event time and date, context, fields, metadata."""
    key_fields = [k for k in entity.natural_key if k != entity.event_time.column]
    columns = [T.StructField(k, T.StringType()) for k in key_fields]
    columns.append(T.StructField(entity.event_time.column, T.TimestampType()))
    columns.append(T.StructField(entity.partition_by, T.DateType()))
    columns += [T.StructField(c.name, spark_type(c.type)) for c in context]
    columns += [T.StructField(f.name, spark_type(f.type)) for f in entity.fields]
    columns += METADATA_FIELDS
    return T.StructType(columns)
