"""The Glue Data Catalog: bronze and gold tables registered with their locations and schemas.

In the ``aws`` profile every bronze Delta table is registered after its bronze run (Athena reads
Delta natively through ``table_type=DELTA``), and every gold mart is registered as a Parquet
table whose location is the published build. Publishing gold is the swap of those locations
(:func:`publish_tables`), done only after the gold gate passed: a failed gate never calls it, so
Athena keeps answering from the last good build.

Databases come from ``Settings.glue_databases`` (filled from Terraform); boto3 reads the
endpoint and credentials from the standard ``AWS_*`` variables, so a moto server stands in for
Glue in the tests exactly as the account does in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings

logger = get_logger(__name__)

PARQUET_FORMAT = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    },
}


class CatalogError(RuntimeError):
    """The catalog refused a registration; the message names the table."""


@dataclass(frozen=True)
class Registered:
    """One table as the catalog holds it."""

    database: str
    table: str
    location: str
    columns: dict[str, str]
    parameters: dict[str, str]


def enabled(settings: Settings) -> bool:
    """Tables are registered in Glue in the ``aws`` profile (the local catalog is DuckDB)."""
    return settings.profile == "aws"


def database(settings: Settings, layer: str) -> str:
    """Glue database of ``layer``: Terraform's name, else ``lakehouse_<env>_<layer>``."""
    return settings.glue_databases.get(layer) or f"lakehouse_{settings.env}_{layer}"


def glue_client(settings: Settings) -> Any:
    import boto3

    return boto3.client("glue", region_name=settings.aws_region)


def glue_type(dtype: pa.DataType) -> str:
    """The Hive/Glue type of an Arrow type (what Athena reads the column as)."""
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_int8(dtype):
        return "tinyint"
    if pa.types.is_int16(dtype):
        return "smallint"
    if pa.types.is_int32(dtype):
        return "int"
    if pa.types.is_integer(dtype):
        return "bigint"
    if pa.types.is_float32(dtype):
        return "float"
    if pa.types.is_floating(dtype):
        return "double"
    if pa.types.is_decimal(dtype):
        return f"decimal({dtype.precision},{dtype.scale})"
    if pa.types.is_timestamp(dtype):
        return "timestamp"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype):
        return "binary"
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return f"array<{glue_type(dtype.value_type)}>"
    if pa.types.is_struct(dtype):
        fields = ",".join(f"{f.name}:{glue_type(f.type)}" for f in dtype)
        return f"struct<{fields}>"
    if pa.types.is_map(dtype):
        return f"map<{glue_type(dtype.key_type)},{glue_type(dtype.item_type)}>"
    return "string"


def _columns(schema: pa.Schema, skip: set[str] = frozenset()) -> list[dict[str, str]]:
    return [{"Name": f.name, "Type": glue_type(f.type)} for f in schema if f.name not in skip]


def _ensure_database(client: Any, name: str) -> None:
    try:
        client.get_database(Name=name)
    except client.exceptions.EntityNotFoundException:
        # Terraform creates the databases in AWS; a fresh stand-in (or a dev account without
        # the catalog module) gets them here, with no other settings.
        client.create_database(DatabaseInput={"Name": name})


def _put_table(client: Any, db: str, table_input: dict[str, Any]) -> None:
    _ensure_database(client, db)
    try:
        client.update_table(DatabaseName=db, TableInput=table_input)
    except client.exceptions.EntityNotFoundException:
        client.create_table(DatabaseName=db, TableInput=table_input)


def register_delta(
    settings: Settings,
    layer: str,
    table: str,
    location: str,
    schema: pa.Schema,
    partition_by: list[str] | None = None,
) -> Registered:
    """Register (or refresh) a Delta table: its location and its current schema."""
    partitions = list(partition_by or [])
    by_name = {f.name: f for f in schema}
    table_input = {
        "Name": table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"table_type": "DELTA", "classification": "delta", "EXTERNAL": "TRUE"},
        "StorageDescriptor": {
            "Columns": _columns(schema, set(partitions)),
            "Location": location,
            **PARQUET_FORMAT,
        },
        "PartitionKeys": [
            {"Name": p, "Type": glue_type(by_name[p].type)} for p in partitions if p in by_name
        ],
    }
    db = database(settings, layer)
    _put_table(glue_client(settings), db, table_input)
    log_event(logger, "catalog.registered", database=db, table=table, location=location)
    return describe(settings, layer, table)


def publish_tables(
    settings: Settings, layer: str, tables: Mapping[str, tuple[str, pa.Schema]], build_id: str
) -> list[Registered]:
    """Point each Parquet table at its new location: the publish step of write-audit-publish.

    Args:
        settings: lakehouse settings.
        layer: the layer whose database holds the tables (``gold``).
        tables: table name -> (location of the audited build's files, schema).
        build_id: the build being published, kept in the table parameters.
    """
    client = glue_client(settings)
    db = database(settings, layer)
    done = []
    for name, (location, schema) in sorted(tables.items()):
        table_input = {
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {
                "classification": "parquet",
                "EXTERNAL": "TRUE",
                "lakehouse_build_id": build_id,
            },
            "StorageDescriptor": {
                "Columns": _columns(schema),
                "Location": location,
                **PARQUET_FORMAT,
            },
        }
        _put_table(client, db, table_input)
        done.append(describe(settings, layer, name))
    log_event(logger, "catalog.published", database=db, build_id=build_id, tables=len(done))
    return done


def describe(settings: Settings, layer: str, table: str) -> Registered:
    """A registered table's location, columns and parameters.

    Raises:
        CatalogError: no such table.
    """
    client = glue_client(settings)
    db = database(settings, layer)
    try:
        found = client.get_table(DatabaseName=db, Name=table)["Table"]
    except client.exceptions.EntityNotFoundException as exc:
        raise CatalogError(f"no table {db}.{table} in the Glue catalog") from exc
    descriptor = found.get("StorageDescriptor") or {}
    columns = {c["Name"]: c["Type"] for c in descriptor.get("Columns", [])}
    columns.update({c["Name"]: c["Type"] for c in found.get("PartitionKeys", [])})
    return Registered(
        database=db,
        table=table,
        location=descriptor.get("Location", ""),
        columns=columns,
        parameters=dict(found.get("Parameters") or {}),
    )


def tables(settings: Settings, layer: str) -> list[str]:
    """Names of the tables registered in ``layer``'s database (none if it does not exist)."""
    client = glue_client(settings)
    try:
        pages = client.get_paginator("get_tables").paginate(DatabaseName=database(settings, layer))
        return sorted(t["Name"] for page in pages for t in page["TableList"])
    except client.exceptions.EntityNotFoundException:
        return []


def register_bronze(
    settings: Settings, table: str, partition_by: list[str] | None = None
) -> Registered | None:
    """Register bronze ``table`` (a Delta table in the lake) in Glue; None if it has no data."""
    from deltalake.exceptions import TableNotFoundError

    from lakehouse.storage import delta_table

    lake = settings.lake
    path = lake.bronze(table)
    try:
        delta = delta_table(path)
    except TableNotFoundError:
        return None
    schema = pa.schema(delta.schema().to_arrow())
    actual = [c for c in (partition_by or []) if c in delta.metadata().partition_columns]
    return register_delta(settings, "bronze", table, lake.uri(path), schema, actual)
