"""An array of records at ``layout.path``; ``a[].b[].c[]`` explodes nested arrays level by level.

With ``path: data[].itineraries[].segments[]`` one row is one segment. A field path may name any
level: ``data[].price.total`` is the offer's value, carried down to each of its segments;
``data[].itineraries[].segments[].departure.at`` (or just ``departure.at``) is the segment's
own. ``$.<path>`` reads from the body root, ``path: $`` means the body itself is the array.

Each level is exploded with only the values it carries plus the next level's array, so a row
never holds its siblings' data. A body without the first array is rejected as an object; a
record whose nested array is empty or absent yields no rows (nothing to load at that level).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark.fields import EntityPlan, record_levels
from spark.layouts import body_problem, carried
from spark.layouts.json_tree import CORRUPT, Array, Node, get, parse, unparseable
from spark.validate import FATAL

ROOT = "_root"


def _tree(plan: EntityPlan) -> tuple[Node, list[Node]]:
    """The body's schema tree and the element node of each level."""
    levels = record_levels(plan.entity.layout.path)
    root = Node()
    wrapped = levels[0] == ""
    if wrapped and plan.by_scope("root"):
        raise ValueError("records with path '$': the body is an array, so no '$.' paths")
    for value in plan.by_scope("root"):
        root.add(value.rel)
    elements: list[Node] = []
    holder, path = root, ROOT if wrapped else levels[0]
    for index in range(len(levels)):
        if index > 0:
            path = levels[index]
        array = holder.add(path, Array())
        assert isinstance(array, Array)
        elements.append(array.element)
        holder = array.element
    for value in plan.by_scope("record"):
        level = len(levels) - 1 if value.level is None else value.level
        elements[level].add(value.rel)
    return root, elements


def body_schema(plan: EntityPlan) -> T.StructType:
    return _tree(plan)[0].struct()


def rows(objects: DataFrame, plan: EntityPlan) -> DataFrame:
    levels = record_levels(plan.entity.layout.path)
    wrapped = levels[0] == ""
    schema = body_schema(plan)
    ok = F.col(FATAL).isNull()
    text = F.col("body")
    if wrapped:  # the body is the array itself: parse it as the value of one key
        text = F.concat(F.lit('{"' + ROOT + '":'), F.col("body"), F.lit("}"))
    parsed = objects.withColumn("_body", parse(F.when(ok, text), schema))
    first_path = ROOT if wrapped else levels[0]
    first = get(F.col("_body"), first_path)
    shown = plan.entity.layout.path
    checked = body_problem(
        parsed,
        [
            (F.col("body").isNull() | (F.trim(F.col("body")) == ""), "body", F.lit("empty body")),
            (F.col(f"_body.{CORRUPT}").isNotNull(), "body", unparseable(F.col("body"))),
            (first.isNull(), shown, F.lit(f"missing required field {shown}")),
        ],
    )
    keep = carried(checked, drop=("body", "_body"))
    roots = plan.by_scope("root")
    frame = checked.select(
        *keep,
        *[get(F.col("_body"), v.rel).alias(v.column) for v in roots],
        F.when(F.col(FATAL).isNull(), first).alias("_array"),
    )
    carry = [*keep, *[v.column for v in roots]]
    positions: list[str] = []
    by_level = plan.by_scope("record")
    for index in range(len(levels)):
        pos = f"_p{index}"
        exploded = frame.select(
            *carry, *positions, F.posexplode_outer("_array").alias(pos, "_element")
        ).where(F.col(FATAL).isNotNull() | F.col(pos).isNotNull())
        positions.append(pos)
        own = [v for v in by_level if v.level == index]
        values: list[Column] = [get(F.col("_element"), v.rel).alias(v.column) for v in own]
        carry += [v.column for v in own]
        nxt: list[Column] = []
        if index + 1 < len(levels):
            nxt = [get(F.col("_element"), levels[index + 1]).alias("_array")]
        frame = exploded.select(
            *[c for c in carry if c not in {v.column for v in own}], *values, *positions, *nxt
        )
    return frame.select(*carry, F.array(*[F.col(p) for p in positions]).alias("_pos"))
