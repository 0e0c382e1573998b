"""Table layouts (csv, parquet, sas7bdat, text, sas_formats): the executors read the records.

:func:`spark.objects.read_tables` reads each object in chunks (pandas ``read_csv`` with the
layout's delimiter, encoding, header, null markers and quote; pyarrow for Parquet; ReadStat for
SAS7BDAT, large files as row ranges on several tasks; a whole file as one ``text`` record; the
value-list entries of a SAS PROC FORMAT program for ``sas_formats``) and hands back one row per
record with every value as raw text, so this layout only shapes the frame like the others.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark.fields import EntityPlan
from spark.layouts import carried


def rows(records: DataFrame, plan: EntityPlan) -> DataFrame:
    keep = carried(records, drop=("_pos",))
    return records.select(*keep, F.array(F.col("_pos").cast("int")).alias("_pos"))
