"""JSON lines: one record per line of the body (streams and Kafka batches land like this).

Blank lines and ``null`` lines are skipped. A line that is not a JSON object is rejected alone
(``unparseable record``), never its neighbours. Field paths are relative to the line's object;
``$.`` means the same object.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark.fields import EntityPlan
from spark.layouts import body_problem, carried
from spark.layouts.json_tree import CORRUPT, Node, get, parse, prefix, unparseable
from spark.validate import FATAL, problem_struct


def line_schema(plan: EntityPlan) -> T.StructType:
    node = Node()
    for value in [*plan.by_scope("root"), *plan.by_scope("record")]:
        node.add(value.rel)
    return node.struct()


def explode_lines(objects: DataFrame, schema: T.StructType) -> tuple[DataFrame, list[str]]:
    """One row per non-blank line with ``_line`` (text), ``_j`` (parsed) and ``_p`` (position).

    An object with a problem keeps one row (null position) for its quarantine row; an empty
    body is such a problem.
    """
    checked = body_problem(
        objects,
        [(F.col("body").isNull() | (F.trim(F.col("body")) == ""), "body", F.lit("empty body"))],
    )
    keep = carried(checked)
    ok = F.col(FATAL).isNull()
    lines = checked.select(
        *keep,
        F.posexplode_outer(F.when(ok, F.split(F.col("body"), "\r?\n"))).alias("_p", "_line"),
    ).where(~ok | ((F.trim(F.col("_line")) != "") & (F.trim(F.col("_line")) != "null")))
    return lines.withColumn("_j", parse(F.col("_line"), schema)), keep


def with_line_problem(
    lines: DataFrame, condition: Column, field: Column, raw_value: Column, reason: Column
) -> DataFrame:
    """A line's own problem when ``condition`` holds (rows of bad objects keep theirs); the
    quarantine row then shows the line itself."""
    problem = F.array(problem_struct(field, raw_value, reason))
    bad = F.col(FATAL).isNull() & F.coalesce(condition, F.lit(False))
    return (
        lines.withColumn("_bad_line", bad)
        .withColumn(FATAL, F.when(F.col("_bad_line"), problem).otherwise(F.col(FATAL)))
        .withColumn(
            "_record",
            F.when(F.col("_bad_line"), prefix(F.col("_line"))).otherwise(F.col("_record")),
        )
        .drop("_bad_line")
    )


def rows(objects: DataFrame, plan: EntityPlan) -> DataFrame:
    lines, keep = explode_lines(objects, line_schema(plan))
    lines = with_line_problem(
        lines,
        F.col(f"_j.{CORRUPT}").isNotNull() | F.col("_j").isNull(),
        F.lit("record"),
        prefix(F.col("_line")),
        unparseable(F.col("_line"), "record"),
    )
    values = [*plan.by_scope("root"), *plan.by_scope("record")]
    return lines.select(
        *keep,
        *[get(F.col("_j"), v.rel).alias(v.column) for v in values],
        F.array(F.col("_p")).alias("_pos"),
    )
