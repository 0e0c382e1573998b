"""Spark schemas derived from a source contract, so no job restates a field, type or range.

The bronze table of an entity is: the natural key columns (other than the event time), the event
time and its partition date, every other contract field under the source's name and the
contract's type (in contract order), the columns its layout adds (Debezium's ``_op`` and
``_deleted``; ``_version`` when the contract's version is a path, not a field), then the metadata
columns. The quarantine table of every entity has one shape: the natural key as JSON text
(``key``), the event time under the entity's own column name, ``reason``, ``field``,
``raw_value``, ``record`` and the metadata columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import types as T

from lakehouse.contracts import ContractField, Entity

SPARK_TYPES: dict[str, T.DataType] = {
    "double": T.DoubleType(),
    "integer": T.IntegerType(),
    "bigint": T.LongType(),
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

# Formats of timestamp/date text that are not strftime patterns.
EPOCH_FORMATS = ("epoch_ms", "epoch_s", "sas_date")
# ISO-8601 text as databases and isoformat() write it: the fraction of a second and the offset
# are optional (``2026-11-30T12:00:00+00:00``, ``2026-11-30T12:00:00.123456Z``), which no single
# strftime pattern accepts.
ISO_FORMAT = "iso8601"


@dataclass(frozen=True)
class Check:
    """How one raw (string) value becomes a typed column, and when it is rejected.

    Attributes:
        name: output column, also the field name shown in quarantine reasons.
        type: a contract type (``double``, ``integer``, ``bigint``, ``decimal``, ...).
        required: a null or absent value rejects the row.
        range: inclusive physical range ``[min, max]``; values outside reject the row.
        format: strftime pattern, or ``epoch_ms``/``epoch_s``/``sas_date``, for times and dates.
        allowed: the values the field may take (compared as typed values), or None.
        allowed_label: how a reason names ``allowed`` (the list itself, or the contract's targets).
        precision, scale: of a ``decimal``.
        column, raw_column: the typed and raw columns, when not ``name`` and ``raw__<name>``.
    """

    name: str
    type: str
    required: bool = True
    range: tuple[float, float] | None = None
    format: str | None = None
    allowed: tuple | None = None
    allowed_label: str | None = None
    precision: int = 18
    scale: int = 2
    # Typed and raw column names when they are not the field's own (the event time's).
    column: str | None = None
    raw_column: str | None = None

    @property
    def typed_col(self) -> str:
        return self.column or self.name

    @property
    def raw_col(self) -> str:
        return self.raw_column or f"raw__{self.name}"

    @classmethod
    def from_contract(
        cls, f: ContractField, targets: list[str] | None = None, source: str = ""
    ) -> Check:
        allowed: tuple | None = None
        label = None
        if f.allowed_values == "targets":
            allowed = tuple(targets or ())
            label = f"a target of contract {source}"
        elif f.allowed_values is not None:
            allowed = tuple(f.allowed_values)
            label = "one of [" + ", ".join(str(v) for v in f.allowed_values) + "]"
        return cls(
            name=f.name,
            type=f.type,
            required=f.required or f.role == "key",
            range=f.range,
            format=f.format,
            allowed=allowed,
            allowed_label=label,
            precision=f.precision,
            scale=f.scale,
        )

    @property
    def spark_type(self) -> T.DataType:
        return spark_type(self.type, self.precision, self.scale)

    @property
    def type_label(self) -> str:
        """The type as a reason names it: ``integer``, ``decimal(12, 2)``, ``timestamp (%Y)``."""
        label = f"decimal({self.precision}, {self.scale})" if self.type == "decimal" else self.type
        return f"{label} ({self.format})" if self.format else label


def spark_type(type_name: str, precision: int = 18, scale: int = 2) -> T.DataType:
    """Spark type of a contract type name."""
    if type_name == "decimal":
        return T.DecimalType(precision, scale)
    try:
        return SPARK_TYPES[type_name]
    except KeyError:
        raise ValueError(f"contract type {type_name!r} has no Spark type") from None


def field_type(f: ContractField) -> T.DataType:
    return spark_type(f.type, f.precision, f.scale)


_STRFTIME_TO_JAVA = {
    "%Y": "yyyy",
    "%m": "MM",
    "%d": "dd",
    "%H": "HH",
    "%M": "mm",
    "%S": "ss",
    "%f": "SSSSSS",
    # Like Python's %z: +hhmm, +hh:mm or Z.
    "%z": "[XXX][XX]",
    "%j": "DDD",
    "%b": "MMM",
    "%y": "yy",
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


def layout_columns(entity: Entity) -> list[T.StructField]:
    """Columns a layout or the late-record policy adds to bronze (before the metadata)."""
    extra: list[T.StructField] = []
    if entity.layout.type == "debezium":
        extra += [T.StructField("_op", T.StringType()), T.StructField("_deleted", T.BooleanType())]
    late = entity.late_records
    if late.policy == "latest_version_wins" and late.version_field not in _field_names(entity):
        extra.append(T.StructField("_version", T.StringType()))
    return extra


def _field_names(entity: Entity) -> set[str]:
    return {f.name for f in entity.fields}


def partition_is_derived(entity: Entity) -> bool:
    """True when the partition column is the event time's date rather than a contract field."""
    return entity.partition_by not in _field_names(entity)


def partition_follows_key(entity: Entity) -> bool:
    """True when a row's partition is fixed by its natural key.

    Either the partition column is part of the key, or it is the date of an event time that is.
    Otherwise a newer version of a key may fall on another date (a reference file fetched
    again the next day, a record whose event time was corrected), and a MERGE that matches
    within the partition would keep both versions.
    """
    if entity.partition_by in entity.natural_key:
        return True
    return partition_is_derived(entity) and entity.event_time.column in entity.natural_key


def bronze_schema(entity: Entity) -> T.StructType:
    """The bronze table of ``entity``: key, event time and date, fields, layout extras, metadata."""
    by_name = {f.name: f for f in entity.fields}
    event = entity.event_time.column
    keys = [k for k in entity.key_fields if k in by_name]
    columns = [T.StructField(k, field_type(by_name[k])) for k in keys]
    columns.append(T.StructField(event, T.TimestampType()))
    if partition_is_derived(entity):
        columns.append(T.StructField(entity.partition_by, T.DateType()))
    placed = {*keys, event}
    columns += [T.StructField(f.name, field_type(f)) for f in entity.fields if f.name not in placed]
    columns += layout_columns(entity)
    columns += METADATA_FIELDS
    return T.StructType(columns)


def quarantine_schema(entity: Entity) -> T.StructType:
    """The quarantine table of ``entity`` (the same shape for every source)."""
    return T.StructType(
        [
            # The natural key (without the event time) as JSON text of the raw values, e.g.
            # {"id":"a-17"}; null values are kept as null.
            T.StructField("key", T.StringType()),
            T.StructField(entity.event_time.column, T.TimestampType()),
            T.StructField("reason", T.StringType()),
            T.StructField("field", T.StringType()),
            T.StructField("raw_value", T.StringType()),
            T.StructField("record", T.StringType()),
            *METADATA_FIELDS,
        ]
    )
