"""Where each value of an entity comes from, and how it is checked, read off the contract.

Paths of a contract field (``docs/architecture.md``, Bronze):

- ``envelope.<path>``: from the landing envelope (``envelope.key``, ``envelope.fetched_at``,
  ``envelope.transport.params.x``); the same for every row of an object.
- ``$.<path>``: from the document root (Debezium: the change event, e.g. ``$.source.lsn``).
- anything else: relative to the record (column_arrays: the name of an array under
  ``layout.arrays``; records: a path that may start with a level of ``layout.path``, such as
  ``data[].price.total`` for the parent offer of ``data[].itineraries[].segments[]``; Debezium:
  the row image; tables: a column name).

The event time's ``source_field`` names a contract field or is a path of its own; a late-record
``version_field`` likewise (a Debezium version path is read from the event: ``source.lsn``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.contracts import Contract, Entity
from spark.schema import Check

EVENT_COLUMN = "_event_local"
VERSION_COLUMN = "_version"
OP_COLUMN = "_op"

TABLE_LAYOUTS = ("csv", "parquet", "sas7bdat", "text", "sas_formats")
# Table layouts whose large files are read by several tasks, each a range of rows.
SPLIT_LAYOUTS = ("sas7bdat",)


def raw(name: str) -> str:
    """Column name holding the raw text of ``name``."""
    return f"raw__{name}"


@dataclass(frozen=True)
class Value:
    """One raw value to extract: its column, the path as written and where it is read.

    ``scope`` is ``envelope``, ``root`` or ``record``; ``rel`` the path inside that scope;
    ``level`` the records layout's level it belongs to (None: the innermost record).
    """

    column: str
    path: str
    scope: str
    rel: str
    level: int | None = None


def record_levels(layout_path: str) -> list[str]:
    """The array levels of a records layout path: ``data[].itineraries[]`` -> [data, itineraries].

    ``$`` (the body is the array) gives ``[""]``.
    """
    text = layout_path.strip()
    if text in ("", "$", "$[]"):
        return [""]
    levels: list[str] = []
    if text.startswith("$[]"):
        levels.append("")
        text = text[3:]
    text = text.removeprefix("$").removeprefix(".")
    for part in text.split("[]"):
        part = part.strip(".")
        if part:
            levels.append(part)
    return levels or [""]


def _level_prefixes(layout_path: str) -> list[str]:
    """``data[]``, ``data[].itineraries[]``, ... as field paths spell them."""
    levels = record_levels(layout_path)
    prefixes, current = [], ""
    for level in levels:
        current = f"{current}.{level}[]" if current else f"{level}[]"
        prefixes.append(current)
    return prefixes


def locate(entity: Entity, column: str, path: str, event_scope: bool = False) -> Value:
    """Where the value at ``path`` of ``entity`` is read (see the module docstring)."""
    if path.startswith("envelope."):
        return Value(column, path, "envelope", path[len("envelope.") :])
    if path.startswith("$."):
        return Value(column, path, "root", path[2:])
    if event_scope:
        return Value(column, path, "root", path)
    layout = entity.layout
    if layout.type == "records":
        prefixes = _level_prefixes(layout.path)
        for index in range(len(prefixes) - 1, -1, -1):
            prefix = prefixes[index] + "."
            if path.startswith(prefix):
                return Value(column, path, "record", path[len(prefix) :], index)
        return Value(column, path, "record", path, len(prefixes) - 1)
    return Value(column, path, "record", path)


@dataclass(frozen=True)
class EntityPlan:
    """Everything the job needs to read, check and place the values of one entity."""

    entity: Entity
    values: list[Value]
    checks: list[Check]
    event_check: Check
    # Checks of values that come from the envelope: a failure rejects the object once.
    object_checks: list[Check]
    row_checks: list[Check]
    version_column: str | None

    @property
    def layout(self) -> str:
        return self.entity.layout.type

    def value(self, column: str) -> Value:
        for v in self.values:
            if v.column == column:
                return v
        raise KeyError(column)

    def by_scope(self, scope: str) -> list[Value]:
        return [v for v in self.values if v.scope == scope]


def plan(contract: Contract, entity: Entity) -> EntityPlan:
    """The values and checks of ``entity`` (fields in contract order, event time first)."""
    targets = [str(t["id"]) for t in contract.targets]
    fields = {f.name: f for f in entity.fields}
    values: list[Value] = []
    checks: list[Check] = []
    for f in entity.fields:
        values.append(locate(entity, raw(f.name), f.source_path))
        checks.append(Check.from_contract(f, targets, contract.name))

    event = entity.event_time
    if event.source_field in fields:
        event_raw = raw(event.source_field)
    else:
        event_raw = raw(EVENT_COLUMN)
        values.append(locate(entity, event_raw, event.source_field))
    event_check = Check(
        name=event.source_field,
        type="timestamp",
        required=True,
        format=event.format,
        column=EVENT_COLUMN,
        raw_column=event_raw,
    )

    version_column = None
    late = entity.late_records
    if late.policy == "latest_version_wins" and late.version_field:
        if late.version_field in fields:
            version_column = late.version_field
        else:
            version_column = VERSION_COLUMN
            values.append(
                locate(
                    entity,
                    raw(VERSION_COLUMN),
                    late.version_field,
                    event_scope=entity.layout.type == "debezium",
                )
            )
    if entity.layout.type == "debezium":
        values.append(Value(raw(OP_COLUMN), "$.op", "root", "op"))

    scopes = {v.column: v.scope for v in values}
    object_checks = [c for c in checks if scopes[c.raw_col] == "envelope"]
    row_checks = [event_check, *(c for c in checks if scopes[c.raw_col] != "envelope")]
    if scopes.get(event_raw) == "envelope":
        object_checks.insert(0, event_check)
        row_checks.remove(event_check)
    return EntityPlan(
        entity=entity,
        values=values,
        checks=[event_check, *checks],
        event_check=event_check,
        object_checks=object_checks,
        row_checks=row_checks,
        version_column=version_column,
    )
