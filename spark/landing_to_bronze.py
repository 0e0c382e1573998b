"""Landing -> bronze: new landing objects of one source entity become rows of its Delta table.

Steps of one run (see ``docs/architecture.md``, section Bronze):

1. list the landing objects and drop those the ledger already holds; none new -> stop, commit
   nothing;
2. read the new objects, reject unreadable envelopes, non-2xx responses and altered bodies;
3. parse bodies with the contract-derived schema (the source system's parser, e.g. Open-Meteo's
   column arrays -> one row per city and UTC hour) and validate each row against the contract:
   missing required fields, wrong types and values outside physical ranges go to quarantine with
   the reason, the source object and the batch; the object's good rows still flow;
4. keep the most recently fetched row per natural key, then MERGE into
   ``<lake>/bronze/<table>`` (latest ``_fetched_at`` wins, ties keep the existing row, so a
   re-run is a no-op) and insert-only MERGE the rejects into ``<lake>/quarantine/<table>``;
5. record the objects in the ledger, then the run record.

Local use goes through ``lakehouse bronze <source>``; on EMR the same file is submitted as-is::

    spark-submit spark/landing_to_bronze.py --source weather --lake-root s3://bucket/lake
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a file by spark-submit: import as the `spark` package instead
    # sys.path[0] is this folder; its modules (schema, paths, ...) must not shadow top-level names.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from delta.tables import DeltaTable  # noqa: E402
from pyspark.sql import DataFrame, SparkSession, Window  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from lakehouse import log  # noqa: E402
from lakehouse.contracts import Contract, Entity, load_contract  # noqa: E402
from lakehouse.lake import Lake  # noqa: E402
from lakehouse.runs import new_run_id, record_run  # noqa: E402
from spark import delta_log, ledger  # noqa: E402
from spark.landing_reader import list_objects, read_objects  # noqa: E402
from spark.parsers import parser_for  # noqa: E402
from spark.paths import LakeUris  # noqa: E402
from spark.schema import QUARANTINE_SCHEMA, bronze_schema  # noqa: E402
from spark.validate import PROBLEMS, apply_checks, is_valid, quarantine_columns, raw  # noqa: E402

STEP = "bronze"
logger = log.get_logger("bronze")


class BronzeJobError(RuntimeError):
    """The bronze job failed; the message says what and where."""


@dataclass
class BronzeResult:
    """What one run did. Field names are the run record's keys (the quality gate reads some)."""

    source: str
    entity: str
    table: str
    status: str = "ok"
    run_id: str = ""
    objects_seen: int = 0
    objects_processed: int = 0
    rows_read: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    quarantine_rate: float = 0.0
    rows_written: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_in_table: int | None = None
    batch_ids: list[str] = field(default_factory=list)
    delta_version_before: int | None = None
    delta_version_after: int | None = None
    bronze_path: str = ""
    quarantine_path: str = ""
    ledger_path: str = ""
    started_at: str = ""
    duration_s: float = 0.0
    error: str | None = None


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def table_version(spark: SparkSession, uri: str) -> int | None:
    """Latest commit version of the Delta table at ``uri``, or None if there is no table."""
    return delta_log.latest_version(spark, uri)


def _bronze_rows(valid: DataFrame, entity: Entity, schema) -> DataFrame:  # noqa: ANN001
    """Typed bronze columns, one row per natural key: the most recently fetched one."""
    event = entity.event_time.column
    typed = valid.withColumn(entity.partition_by, F.to_date(F.col(event)))
    latest_first = Window.partitionBy(*entity.natural_key).orderBy(
        F.col("_fetched_at").desc(), F.col("_landing_path").desc(), F.col("_pos").desc()
    )
    deduped = typed.withColumn("_rank", F.row_number().over(latest_first)).where("_rank = 1")
    # One task per date: every task would otherwise write a small file into every date folder
    # (tasks x dates files), and small files cost the write, every reader and the next MERGE.
    deduped = deduped.repartition(entity.partition_by)
    return deduped.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


def _merge_bronze(spark: SparkSession, rows: DataFrame, uri: str, entity: Entity) -> dict[str, int]:
    """Upsert ``rows`` into the bronze table; returns inserted/updated row counts."""
    version = table_version(spark, uri)
    if version is None:
        # First load: a plain write is one commit; MERGE into a new empty table costs a create
        # commit and several jobs for the same result.
        rows.write.format("delta").partitionBy(entity.partition_by).mode("append").save(uri)
    else:
        keys = [*entity.natural_key, entity.partition_by]
        condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        # Delta prunes the target's files only on literal partition predicates, not on the join
        # condition: without this list a MERGE of one new day reads the whole history.
        dates = sorted(r[0] for r in rows.select(entity.partition_by).distinct().collect())
        if dates:
            listed = ", ".join(f"DATE'{d.isoformat()}'" for d in dates)
            condition += f" AND t.`{entity.partition_by}` IN ({listed})"
        merge = DeltaTable.forPath(spark, uri).alias("t").merge(rows.alias("s"), condition)
        if entity.late_record_policy == "latest_fetched_at_wins":
            # Strictly newer only: an equal _fetched_at is the same fetch seen again (a re-run).
            merge = merge.whenMatchedUpdateAll(condition="s._fetched_at > t._fetched_at")
        merge.whenNotMatchedInsertAll().execute()
    info = delta_log.commit_info(spark, uri, table_version(spark, uri) or 0)
    metrics = info.get("operationMetrics", {})
    if info.get("operation") == "MERGE":
        return {
            "inserted": int(metrics.get("numTargetRowsInserted", 0)),
            "updated": int(metrics.get("numTargetRowsUpdated", 0)),
        }
    return {"inserted": int(metrics.get("numOutputRows", 0)), "updated": 0}


def _merge_quarantine(spark: SparkSession, rows: DataFrame, uri: str) -> None:
    """Insert rejects not yet in the quarantine table (keyed by object, key and hour)."""
    keys = ["_landing_path", "city_id", "observed_at"]
    unique = rows.dropDuplicates(keys)
    if table_version(spark, uri) is None:
        unique.write.format("delta").mode("append").save(uri)
        return
    # Insert-only: re-processing an object adds no duplicate rejects.
    condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    (
        DeltaTable.forPath(spark, uri)
        .alias("t")
        .merge(unique.alias("s"), condition)
        .whenNotMatchedInsertAll()
        .execute()
    )


def run(
    spark: SparkSession,
    lake: LakeUris | Lake | str | Path,
    source: str,
    entity: str = "hourly",
    *,
    contract: Contract | None = None,
) -> BronzeResult:
    """Process the new landing objects of ``source``/``entity`` into bronze and quarantine.

    Args:
        spark: a Delta-enabled session (:func:`spark.session.get_session`).
        lake: the lake: a local folder, a :class:`Lake`, an ``s3://`` root or :class:`LakeUris`.
        source: contract name, e.g. ``weather``.
        entity: entity of the contract, e.g. ``hourly``.
        contract: the contract to use instead of ``lakehouse/contracts/<source>.yml`` (tests).

    Returns:
        What the run did; also written as the run record when the lake is a local folder.

    Raises:
        BronzeJobError: the run failed (the failed run is recorded too).
    """
    uris = lake if isinstance(lake, LakeUris) else LakeUris.of(lake)
    contract = contract or load_contract(source)
    ent = contract.entity(entity)
    table = ent.bronze_table
    started = datetime.now(UTC)
    clock = time.monotonic()
    result = BronzeResult(
        source=source,
        entity=entity,
        table=table,
        run_id=new_run_id(),
        bronze_path=uris.bronze(table),
        quarantine_path=uris.quarantine(table),
        ledger_path=uris.state("bronze", table, "processed_objects"),
        started_at=_iso(started),
    )
    try:
        _process(spark, uris, contract, ent, result, started)
    except Exception as exc:
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        log.log_event(logger, "bronze.failed", logging.ERROR, table=table, error=result.error)
        raise BronzeJobError(f"bronze {source}/{entity} failed: {result.error}") from exc
    finally:
        result.duration_s = round(time.monotonic() - clock, 1)
        if uris.is_local and not uris.layers:
            fields = {k: v for k, v in asdict(result).items() if k != "source"}
            record_run(uris.lake, STEP, source, **fields)
    return result


def _process(
    spark: SparkSession,
    uris: LakeUris,
    contract: Contract,
    ent: Entity,
    result: BronzeResult,
    started: datetime,
) -> None:
    # Bronze timestamps are UTC whatever the cluster's zone; time patterns parse strictly.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    # A field added to the contract becomes a new bronze column instead of a failed MERGE.
    spark.conf.set("spark.databricks.delta.schema.autoMerge.enabled", "true")
    source, entity, table = result.source, result.entity, result.table
    parser = parser_for(contract.source.system)

    result.delta_version_before = table_version(spark, result.bronze_path)
    landed = list_objects(spark, uris.landing(source, entity))
    done = ledger.processed_keys(spark, result.ledger_path)
    new = {k: p for k, p in landed.items() if k not in done}
    result.objects_seen = len(landed)
    result.objects_processed = len(new)
    log.log_event(
        logger, "bronze.objects", table=table, landed=len(landed), new=len(new), done=len(done)
    )
    if not new:
        result.delta_version_after = result.delta_version_before
        result.rows_in_table = _count(spark, result.bronze_path)
        log.log_event(logger, "bronze.nothing_new", table=table)
        return

    ingested_at = F.lit(started).cast("timestamp")
    objects = read_objects(spark, list(new.values()), ingested_at)
    candidates = parser.explode(objects, contract, ent)
    checks = parser.checks(ent)
    validated = apply_checks(candidates, checks, F.col("_object_problem")).withColumn(
        ent.event_time.column, parser.event_time(ent)
    )
    # One read and parse of the objects feeds the counts, the quarantine and the bronze rows.
    validated = validated.persist()
    raw_record = F.to_json(F.struct(*[F.col(raw(c.name)).alias(c.name) for c in checks]))
    quarantine = (
        validated.where(~is_valid())
        .select(
            F.col("city_id"),
            F.col(ent.event_time.column).alias("observed_at"),
            *[v.alias(k) for k, v in quarantine_columns().items()],
            F.coalesce(F.col("_record"), raw_record).alias("record"),
            "_batch_id",
            "_landing_path",
            "_fetched_at",
            "_ingested_at",
            "_source_sha256",
        )
        .select(*[F.col(f.name).cast(f.dataType) for f in QUARANTINE_SCHEMA.fields])
    )
    # One small aggregation gives every count and the batch ids of the run.
    row_counts = validated.groupBy(is_valid().alias("ok"), "_batch_id").count().collect()
    result.rows_valid = sum(r["count"] for r in row_counts if r["ok"])
    result.rows_quarantined = sum(r["count"] for r in row_counts if not r["ok"])
    # Every candidate row is valid or quarantined; unreadable objects count as one row each.
    result.rows_read = result.rows_valid + result.rows_quarantined
    total = result.rows_read
    result.quarantine_rate = round(result.rows_quarantined / total, 6) if total else 0.0
    result.batch_ids = sorted({r["_batch_id"] for r in row_counts if r["_batch_id"] is not None})
    log.log_event(
        logger,
        "bronze.validated",
        table=table,
        rows_read=result.rows_read,
        rows_valid=result.rows_valid,
        rows_quarantined=result.rows_quarantined,
    )

    if result.rows_quarantined:
        _merge_quarantine(spark, quarantine, result.quarantine_path)
        log.log_event(logger, "bronze.quarantined", table=table, rows=result.rows_quarantined)
    schema = bronze_schema(ent, parser.CONTEXT)
    if result.rows_valid:
        rows = _bronze_rows(
            validated.where(is_valid()).drop(PROBLEMS, "_object_problem", "_record"), ent, schema
        )
        written = _merge_bronze(spark, rows, result.bronze_path, ent)
        result.rows_inserted, result.rows_updated = written["inserted"], written["updated"]
        result.rows_written = result.rows_inserted + result.rows_updated
        log.log_event(
            logger,
            "bronze.merged",
            table=table,
            inserted=result.rows_inserted,
            updated=result.rows_updated,
        )
    result.delta_version_after = table_version(spark, result.bronze_path)
    ledger.record_processed(
        spark, result.ledger_path, new, result.run_id, result.delta_version_after, started
    )
    result.rows_in_table = _count(spark, result.bronze_path)
    validated.unpersist()
    log.log_event(
        logger,
        "bronze.done",
        table=table,
        version=result.delta_version_after,
        rows_in_table=result.rows_in_table,
    )


def _count(spark: SparkSession, uri: str) -> int | None:
    if not DeltaTable.isDeltaTable(spark, uri):
        return None
    return spark.read.format("delta").load(uri).count()


def _parse_layers(values: list[str]) -> dict[str, str]:
    layers = {}
    for value in values:
        layer, sep, uri = value.partition("=")
        if not sep or not uri:
            raise SystemExit(f"--layer-root expects LAYER=URI, got {value!r}")
        layers[layer] = uri
    return layers


def main(argv: list[str] | None = None) -> int:
    """Command line of the job, for ``spark-submit`` (EMR) and ``python -m``."""
    parser = argparse.ArgumentParser(
        prog="landing_to_bronze",
        description="Load new landing objects of a source entity into its bronze Delta table.",
        epilog="example: spark-submit spark/landing_to_bronze.py --source weather "
        "--lake-root s3://acme-lake",
    )
    parser.add_argument("--source", required=True, help="contract name, e.g. weather")
    parser.add_argument(
        "--entity", action="append", help="entity of the contract (repeatable; default: all)"
    )
    parser.add_argument(
        "--lake-root", help="lake root: a local folder or s3:// URI (default: LAKEHOUSE_LAKE_ROOT)"
    )
    parser.add_argument(
        "--layer-root",
        action="append",
        default=[],
        metavar="LAYER=URI",
        help="a layer in its own bucket, e.g. landing=s3://acme-landing (repeatable)",
    )
    args = parser.parse_args(argv)

    from lakehouse.settings import Settings
    from spark.session import get_session

    log.configure()
    settings = Settings()
    lake_root = args.lake_root or str(settings.lake_root)
    uris = LakeUris.of(lake_root, _parse_layers(args.layer_root))
    contract = load_contract(args.source)
    entities = args.entity or list(contract.entities)
    spark = get_session(settings, f"bronze-{args.source}")
    status = 0
    for entity in entities:
        try:
            result = run(spark, uris, args.source, entity, contract=contract)
            print(json.dumps(asdict(result), default=str))
        except BronzeJobError as exc:
            print(str(exc), file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
