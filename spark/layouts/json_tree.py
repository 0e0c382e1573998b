"""The JSON schema a body is parsed with, built from the paths the contract reads.

Every leaf is read as text (Spark's JSON reader gives a number's own digits and an object's JSON
text for a string field), so one bad value never nulls its neighbours and
:mod:`spark.validate` decides what is valid. Only the paths the contract names are in the
schema, so Spark skips the rest of a large body.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

CORRUPT = "_corrupt"
TEXT = T.StringType()
RECORD_PREFIX_CHARS = 2000


@dataclass
class Node:
    """A JSON object of the schema: named children that are nodes, arrays or text leaves."""

    children: dict[str, Node | Array | T.DataType] = field(default_factory=dict)

    def add(self, path: str, leaf: Node | Array | T.DataType = TEXT) -> Node | Array:
        """Add ``path`` (dotted) ending in ``leaf``; returns what sits at the path."""
        parts = [p for p in path.split(".") if p] if path else []
        if not parts:
            raise ValueError("an empty path names no value")
        node = self
        for part in parts[:-1]:
            child = node.children.setdefault(part, Node())
            if not isinstance(child, Node):
                raise ValueError(f"path {path}: {part} is both a value and an object")
            node = child
        last = parts[-1]
        existing = node.children.get(last)
        if existing is None:
            node.children[last] = leaf
            return leaf
        if isinstance(leaf, T.DataType) and isinstance(existing, T.DataType):
            return existing
        if type(existing) is not type(leaf):
            raise ValueError(f"path {path}: {last} is read both as a value and as a container")
        return existing

    def struct(self) -> T.StructType:
        return T.StructType([T.StructField(k, _type(v)) for k, v in self.children.items()])


@dataclass
class Array:
    """An array of objects (a records level)."""

    element: Node = field(default_factory=Node)


def _type(item: Node | Array | T.DataType) -> T.DataType:
    if isinstance(item, Node):
        return item.struct()
    if isinstance(item, Array):
        return T.ArrayType(item.element.struct())
    return item


def get(column: Column, path: str) -> Column:
    """The field at dotted ``path`` inside a struct column."""
    for part in [p for p in path.split(".") if p]:
        column = column.getField(part)
    return column


def with_corrupt(schema: T.StructType) -> T.StructType:
    return T.StructType([*schema.fields, T.StructField(CORRUPT, T.StringType())])


def parse(text: Column, schema: T.StructType) -> Column:
    """``from_json`` that keeps unparseable text in ``_corrupt`` instead of failing."""
    return F.from_json(text, with_corrupt(schema), {"columnNameOfCorruptRecord": CORRUPT})


def unparseable(body: Column, what: str = "body") -> Column:
    tail = F.substring(body, -40, 40)
    return F.concat(
        F.lit(f"unparseable {what}: not valid JSON ("),
        F.length(body).cast("string"),
        F.lit(" characters, ends with '"),
        tail,
        F.lit("')"),
    )


def prefix(text: Column) -> Column:
    """The start of a body, as the ``record`` of an object-level quarantine row."""
    return F.substring(F.coalesce(text, F.lit("")), 1, RECORD_PREFIX_CHARS)
