"""Landing -> bronze: new landing objects of one source entity become rows of its Delta table.

Steps of one run (see ``docs/architecture.md``, section Bronze):

1. list the landing objects and drop those the ledger already holds, in plain Python (a local
   lake needs no Spark for this); none new -> stop, start no Spark session, commit nothing;
2. open the new objects on the executors: an empty or corrupt object, a broken envelope, a
   non-2xx HTTP answer or an altered body becomes one quarantine row with its reason;
3. parse the bodies by the entity's layout (:mod:`spark.layouts`: column arrays, records with
   nested arrays, JSON lines, Debezium change events, CSV, Parquet, SAS7BDAT, text) into rows of
   raw values, and validate each row against the contract (:mod:`spark.validate`): missing
   required fields, wrong types, values outside ranges or not allowed go to quarantine with the
   reason, the natural key, the source object and the batch; the object's good rows still flow;
4. keep one row per natural key by the contract's late-record policy, then MERGE into
   ``<lake>/bronze/<table>`` (latest fetch, latest version or first wins; a re-run is a no-op)
   and insert-only MERGE the rejects into ``<lake>/quarantine/<table>``;
5. record the objects in the ledger, then the run record.

Local use goes through ``lakehouse bronze <source>``; on EMR the same file is submitted as-is::

    spark-submit spark/landing_to_bronze.py --source <source> --lake-root s3://bucket/lake
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

from lakehouse import log  # noqa: E402
from lakehouse.contracts import Contract, Entity, load_contract  # noqa: E402
from lakehouse.lake import Lake  # noqa: E402
from lakehouse.runs import new_run_id, record_run  # noqa: E402
from spark import storage  # noqa: E402
from spark.fields import EVENT_COLUMN, OP_COLUMN, VERSION_COLUMN, EntityPlan, plan  # noqa: E402
from spark.paths import LakeUris  # noqa: E402

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


class _Session:
    """The Spark session, started on first use only (a run with nothing new never needs one)."""

    def __init__(self, spark) -> None:  # noqa: ANN001 - a session or a factory of one
        self._spark = spark
        self.started = False

    def get(self):  # noqa: ANN201
        from pyspark.sql import SparkSession

        if not isinstance(self._spark, SparkSession):
            self._spark = self._spark()
        self.started = True
        return self._spark


def table_version(session: _Session, uri: str) -> int | None:
    """Latest commit version of the Delta table at ``uri``, or None if there is no table."""
    if not storage.is_uri(uri):
        return storage.delta_version(uri)
    from spark import delta_log

    return delta_log.latest_version(session.get(), uri)


def _rows_in_table(session: _Session, uri: str) -> int | None:
    if not storage.is_uri(uri):
        return storage.delta_row_count(uri)
    from delta.tables import DeltaTable

    spark = session.get()
    if not DeltaTable.isDeltaTable(spark, uri):
        return None
    return spark.read.format("delta").load(uri).count()


def _processed(session: _Session, ledger_uri: str) -> set[str]:
    if not storage.is_uri(ledger_uri):
        return storage.ledger_keys(ledger_uri)
    from spark import ledger

    return ledger.processed_keys(session.get(), ledger_uri)


def run(
    spark,  # noqa: ANN001 - a SparkSession, or a function returning one (started only if needed)
    lake: LakeUris | Lake | str | Path,
    source: str,
    entity: str | None = None,
    *,
    contract: Contract | None = None,
) -> BronzeResult:
    """Process the new landing objects of ``source``/``entity`` into bronze and quarantine.

    Args:
        spark: a Delta-enabled session (:func:`spark.session.get_session`), or a function that
            returns one: it is called only when there are new objects to load.
        lake: the lake: a local folder, a :class:`Lake`, an ``s3://`` root or :class:`LakeUris`.
        source: contract name.
        entity: entity of the contract (default: its only entity).
        contract: the contract to use instead of ``<contracts dir>/<source>.yml`` (tests).

    Returns:
        What the run did; also written as the run record (``_state/runs``, local or in S3).

    Raises:
        BronzeJobError: the run failed (the failed run is recorded too).
    """
    uris = lake if isinstance(lake, LakeUris) else LakeUris.of(lake)
    contract = contract or load_contract(source)
    if entity is None:
        if len(contract.entities) != 1:
            raise ValueError(
                f"contract {source!r} has entities {sorted(contract.entities)}: name one"
            )
        entity = next(iter(contract.entities))
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
        _process(_Session(spark), uris, contract, ent, result, started)
    except Exception as exc:
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        log.log_event(logger, "bronze.failed", logging.ERROR, table=table, error=result.error)
        raise BronzeJobError(f"bronze {source}/{entity} failed: {result.error}") from exc
    finally:
        result.duration_s = round(time.monotonic() - clock, 1)
        fields = {k: v for k, v in asdict(result).items() if k != "source"}
        record_run(uris.lake, STEP, source, **fields)
    return result


def pending_objects(
    lake: LakeUris | Lake | str | Path,
    source: str,
    entity: str,
    *,
    contract: Contract | None = None,
) -> int | None:
    """How many landed objects of ``source``/``entity`` the ledger does not hold yet.

    Plain Python, no Spark (None for a lake on S3, where the ledger needs a session).
    """
    uris = lake if isinstance(lake, LakeUris) else LakeUris.of(lake)
    contract = contract or load_contract(source)
    ent = contract.entity(entity)
    ledger_uri = uris.state("bronze", ent.bronze_table, "processed_objects")
    landing = uris.landing(source, ent.landing or entity)
    if storage.is_uri(ledger_uri) or storage.is_uri(landing):
        return None
    done = storage.ledger_keys(ledger_uri)
    return sum(1 for key in storage.list_objects(landing) if key not in done)


def _process(
    session: _Session,
    uris: LakeUris,
    contract: Contract,
    ent: Entity,
    result: BronzeResult,
    started: datetime,
) -> None:
    source, table = result.source, result.table
    entity_plan = plan(contract, ent)
    landing = uris.landing(source, ent.landing or result.entity)

    # Step 1 without Spark (local lakes): list, compare with the ledger, stop if nothing is new.
    result.delta_version_before = table_version(session, result.bronze_path)
    landed = storage.list_objects(landing)
    done = _processed(session, result.ledger_path)
    new = {k: ref for k, ref in landed.items() if k not in done}
    result.objects_seen = len(landed)
    result.objects_processed = len(new)
    log.log_event(
        logger, "bronze.objects", table=table, landed=len(landed), new=len(new), done=len(done)
    )
    if not new:
        result.delta_version_after = result.delta_version_before
        result.rows_in_table = _rows_in_table(session, result.bronze_path)
        log.log_event(logger, "bronze.nothing_new", table=table)
        return

    spark = session.get()
    # Bronze timestamps are UTC whatever the cluster's zone; time patterns parse strictly.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    # A field added to the contract becomes a new bronze column instead of a failed MERGE.
    spark.conf.set("spark.databricks.delta.schema.autoMerge.enabled", "true")
    _load(spark, entity_plan, list(new.values()), result, started)
    _record_ledger(spark, result, new, started)
    result.rows_in_table = _rows_in_table(session, result.bronze_path)
    log.log_event(
        logger,
        "bronze.done",
        table=table,
        version=result.delta_version_after,
        rows_in_table=result.rows_in_table,
    )


def _record_ledger(spark, result: BronzeResult, new: dict, started: datetime) -> None:  # noqa: ANN001
    from spark import ledger

    result.delta_version_after = table_version(_Session(spark), result.bronze_path)
    ledger.record_processed(
        spark,
        result.ledger_path,
        {k: ref.path for k, ref in new.items()},
        result.run_id,
        result.delta_version_after,
        started,
    )


def _load(
    spark, entity_plan: EntityPlan, refs: list, result: BronzeResult, started: datetime
) -> None:  # noqa: ANN001
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from spark.layouts import read_candidates, read_tasks
    from spark.schema import bronze_schema, quarantine_schema
    from spark.validate import FATAL, PROBLEMS, apply_checks, is_valid, quarantine_columns

    ent = entity_plan.entity
    table = result.table
    ingested_at = F.lit(started).cast("timestamp")
    candidates = read_candidates(spark, entity_plan, refs, ingested_at)
    validated = apply_checks(candidates, entity_plan.row_checks, F.col(FATAL))
    validated = _with_event_time(spark, validated, entity_plan)
    # One read and parse of the objects feeds the counts, the quarantine and the bronze rows.
    # On disk only: kept in the heap, the rows of a large run would fill the storage memory
    # (up to about a third of the heap) before spilling, so the JVM's memory would grow with
    # the data; read back from local disk, they cost I/O, not memory.
    validated = validated.persist(StorageLevel.DISK_ONLY)
    # The dedupe and the partitioned write sort each shuffle partition, in memory until the
    # execution memory runs out: as many partitions as read tasks keeps each sort about one read
    # task's rows (``TASK_BYTES`` of objects), so a larger run means more sorts of the same size,
    # not larger ones. Adaptive execution would merge them back by their compressed shuffle
    # size (64 MB), several times that in rows; the run's own partitions stay as they are.
    run_conf = {
        "spark.sql.shuffle.partitions": str(
            max(int(spark.conf.get("spark.sql.shuffle.partitions")), read_tasks(spark, refs))
        ),
        "spark.sql.adaptive.coalescePartitions.enabled": "false",
    }
    session_conf = {key: spark.conf.get(key, None) for key in run_conf}
    for key, value in run_conf.items():
        spark.conf.set(key, value)
    try:
        # The row's raw values as the source sent them, missing ones as null.
        record = F.to_json(
            F.struct(*[F.col(c.raw_col).alias(c.name) for c in entity_plan.checks]),
            {"ignoreNullFields": "false"},
        )
        key = F.to_json(
            F.struct(*[F.col(f"raw__{k}").alias(k) for k in _key_names(ent)]),
            {"ignoreNullFields": "false"},
        )
        schema = quarantine_schema(ent)
        quarantine = (
            validated.where(~is_valid())
            .select(
                key.alias("key"),
                F.col(ent.event_time.column),
                *[v.alias(k) for k, v in quarantine_columns().items()],
                F.coalesce(F.col("_record"), record).alias("record"),
                "_batch_id",
                "_landing_path",
                "_fetched_at",
                "_ingested_at",
                "_source_sha256",
            )
            .select(*[F.col(f.name).cast(f.dataType) for f in schema.fields])
        )
        # One small aggregation gives every count and the batch ids of the run.
        row_counts = validated.groupBy(is_valid().alias("ok"), "_batch_id").count().collect()
        result.rows_valid = sum(r["count"] for r in row_counts if r["ok"])
        result.rows_quarantined = sum(r["count"] for r in row_counts if not r["ok"])
        # Every candidate row is valid or quarantined; unreadable objects count as one row each.
        result.rows_read = result.rows_valid + result.rows_quarantined
        total = result.rows_read
        result.quarantine_rate = round(result.rows_quarantined / total, 6) if total else 0.0
        result.batch_ids = sorted(
            {r["_batch_id"] for r in row_counts if r["_batch_id"] is not None}
        )
        log.log_event(
            logger,
            "bronze.validated",
            table=table,
            rows_read=result.rows_read,
            rows_valid=result.rows_valid,
            rows_quarantined=result.rows_quarantined,
        )
        if result.rows_quarantined:
            added = _merge_quarantine(spark, quarantine, result.quarantine_path, ent)
            # A reject already in quarantine (a row re-read in a polling overlap, a file sent
            # again) is not rejected again: neither a second row nor a second count in the rate.
            seen_before = result.rows_quarantined - added
            if seen_before:
                result.rows_quarantined = added
                result.rows_read -= seen_before
                total = result.rows_read
                result.quarantine_rate = round(added / total, 6) if total else 0.0
            log.log_event(
                logger,
                "bronze.quarantined",
                table=table,
                rows=result.rows_quarantined,
                already_quarantined=seen_before,
            )
        if result.rows_valid:
            rows = _bronze_rows(
                validated.where(is_valid()).drop(PROBLEMS, FATAL, "_record"),
                entity_plan,
                bronze_schema(ent),
            )
            written = _merge_bronze(spark, rows, result.bronze_path, entity_plan)
            result.rows_inserted, result.rows_updated = written["inserted"], written["updated"]
            result.rows_written = result.rows_inserted + result.rows_updated
            log.log_event(
                logger,
                "bronze.merged",
                table=table,
                inserted=result.rows_inserted,
                updated=result.rows_updated,
            )
    finally:
        validated.unpersist()
        for key, value in session_conf.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _key_names(ent: Entity) -> list[str]:
    names = {f.name for f in ent.fields}
    return [k for k in ent.key_fields if k in names]


def _zone_ids(spark) -> list[str]:  # noqa: ANN001
    zones = spark.sparkContext._jvm.java.time.ZoneId.getAvailableZoneIds()
    return sorted(str(z) for z in zones)


def _with_event_time(spark, frame, entity_plan: EntityPlan):  # noqa: ANN001, ANN202
    """The UTC event time, its partition date and the layout's extra columns."""
    from pyspark.sql import functions as F

    from spark.schema import EPOCH_FORMATS, partition_is_derived
    from spark.validate import PROBLEMS, problem_struct

    ent = entity_plan.entity
    event = ent.event_time
    local = F.col(EVENT_COLUMN)
    zone = event.timezone
    if event.format in EPOCH_FORMATS or zone.upper() in ("UTC", "GMT", "Z", "ETC/UTC"):
        utc = local
    elif zone.startswith("offset_field:"):
        offset = zone.split(":", 1)[1]
        # Wall time of the record's zone, shifted by its offset (seconds east of UTC).
        utc = F.timestamp_seconds(F.unix_seconds(local) - F.col(offset))
    elif zone.startswith("field:"):
        name = zone.split(":", 1)[1]
        known = F.col(name).isin(*_zone_ids(spark))
        utc = F.when(known, F.to_utc_timestamp(local, F.when(known, F.col(name))))
        bad = F.col(PROBLEMS).isNull() & F.col(name).isNotNull() & ~known
        problem = problem_struct(
            F.lit(name),
            F.col(name),
            F.concat(F.lit(f"{name}="), F.col(name), F.lit(" is not a valid time zone")),
        )
        frame = frame.withColumn(PROBLEMS, F.when(bad, F.array(problem)).otherwise(F.col(PROBLEMS)))
    else:
        utc = F.to_utc_timestamp(local, zone)
    frame = frame.withColumn(event.column, utc)
    if partition_is_derived(ent):
        frame = frame.withColumn(ent.partition_by, F.to_date(F.col(event.column)))
    if ent.layout.type == "debezium":
        frame = frame.withColumn(OP_COLUMN, F.col(f"raw__{OP_COLUMN}")).withColumn(
            "_deleted", F.col(OP_COLUMN) == "d"
        )
    if entity_plan.version_column == VERSION_COLUMN:
        frame = frame.withColumn(VERSION_COLUMN, F.col(f"raw__{VERSION_COLUMN}"))
    return frame


def _version_order(entity_plan: EntityPlan) -> list:
    """Sort keys, greatest version first (a version path is compared as a number when it is one)."""
    from pyspark.sql import functions as F

    column = entity_plan.version_column
    if column == VERSION_COLUMN:
        number = F.col(column).cast("decimal(38,9)")
        return [number.desc_nulls_last(), F.col(column).desc_nulls_last()]
    return [F.col(column).desc_nulls_last()]


def _bronze_rows(valid, entity_plan: EntityPlan, schema):  # noqa: ANN001, ANN202
    """Typed bronze columns, one row per natural key: the winner of the late-record policy."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ent = entity_plan.entity
    policy = ent.late_records.policy
    tie = [F.col("_fetched_at"), F.col("_landing_path"), F.col("_pos")]
    if policy == "first_wins":
        order = [c.asc() for c in tie]
    elif policy == "latest_version_wins":
        order = [*_version_order(entity_plan), *[c.desc() for c in tie]]
    else:
        order = [c.desc() for c in tie]
    window = Window.partitionBy(*ent.natural_key).orderBy(*order)
    deduped = valid.withColumn("_rank", F.row_number().over(window)).where("_rank = 1")
    # One task per date: every task would otherwise write a small file into every date folder
    # (tasks x dates files), and small files cost the write, every reader and the next MERGE.
    deduped = deduped.repartition(ent.partition_by)
    return deduped.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


def _update_condition(entity_plan: EntityPlan) -> str | None:
    """When a MERGE replaces the table's row with the incoming one (None: never)."""
    policy = entity_plan.entity.late_records.policy
    # Strictly newer only: an equal _fetched_at is the same fetch seen again (a re-run).
    newer_fetch = "s._fetched_at > t._fetched_at"
    if policy == "first_wins":
        return None
    if policy == "latest_fetched_at_wins":
        return newer_fetch
    v = f"`{entity_plan.version_column}`"
    if entity_plan.version_column == VERSION_COLUMN:
        sn, tn = (f"try_cast({x}.{v} AS DECIMAL(38,9))" for x in ("s", "t"))
        greater = f"coalesce({sn} > {tn}, s.{v} > t.{v})"
        equal = f"coalesce({sn} = {tn}, s.{v} = t.{v})"
    else:
        greater, equal = f"s.{v} > t.{v}", f"s.{v} = t.{v}"
    return f"({greater}) OR (({equal}) AND {newer_fetch})"


def _merge_bronze(spark, rows, uri: str, entity_plan: EntityPlan) -> dict[str, int]:  # noqa: ANN001
    """Upsert ``rows`` into the bronze table; returns inserted/updated row counts."""
    from delta.tables import DeltaTable

    from spark import delta_log
    from spark.schema import partition_follows_key

    ent = entity_plan.entity
    version = delta_log.latest_version(spark, uri)
    if version is None:
        # First load: a plain write is one commit; MERGE into a new empty table costs a create
        # commit and several jobs for the same result.
        rows.write.format("delta").partitionBy(ent.partition_by).mode("append").save(uri)
    else:
        follows = partition_follows_key(ent)
        keys = list(dict.fromkeys([*ent.natural_key, *([ent.partition_by] if follows else [])]))
        condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        # Delta prunes the target's files only on literal partition predicates, not on the join
        # condition: without this list a MERGE of one new day reads the whole history. When the
        # key does not fix the partition, the older version may sit in any partition, so the
        # MERGE reads them all (and moves an updated row to its new partition).
        values = (
            sorted(
                r[0] for r in rows.select(ent.partition_by).distinct().collect() if r[0] is not None
            )
            if follows
            else []
        )
        if values:
            condition += (
                f" AND t.`{ent.partition_by}` IN ({', '.join(_literal(v) for v in values)})"
            )
        merge = DeltaTable.forPath(spark, uri).alias("t").merge(rows.alias("s"), condition)
        update = _update_condition(entity_plan)
        if update is not None:
            merge = merge.whenMatchedUpdateAll(condition=update)
        merge.whenNotMatchedInsertAll().execute()
        if delta_log.latest_version(spark, uri) == version:
            return {"inserted": 0, "updated": 0}  # an insert-only MERGE with nothing new: no commit
    info = delta_log.commit_info(spark, uri, delta_log.latest_version(spark, uri) or 0)
    metrics = info.get("operationMetrics", {})
    if info.get("operation") == "MERGE":
        return {
            "inserted": int(metrics.get("numTargetRowsInserted", 0)),
            "updated": int(metrics.get("numTargetRowsUpdated", 0)),
        }
    return {"inserted": int(metrics.get("numOutputRows", 0)), "updated": 0}


def _literal(value: object) -> str:
    """A partition value as a SQL literal (dates are the usual partition)."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return f"TIMESTAMP'{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE'{value.isoformat()}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _merge_quarantine(spark, rows, uri: str, ent: Entity) -> int:  # noqa: ANN001
    """Insert rejects not yet in the quarantine table; returns how many were new.

    A reject is the same when its key, event time and raw record are: the same bad row landed
    again in another object (the tail of a polling overlap, a file re-sent under a new name) is
    quarantined once. A reject without a key (an unreadable object, a line that is not JSON)
    is only the same within its own object.
    """
    from delta.tables import DeltaTable
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from spark import delta_log

    # The key of a row whose key fields are all missing, as the reject's `key` column spells it.
    no_key = json.dumps(dict.fromkeys(_key_names(ent)), separators=(",", ":"))
    keyless = F.col("key").isNull() | (F.col("key") == no_key)
    scope = F.when(keyless, F.col("_landing_path"))
    keys = ["key", ent.event_time.column, "record"]
    unique = rows.withColumn("_scope", scope).dropDuplicates([*keys, "_scope"]).drop("_scope")
    if delta_log.latest_version(spark, uri) is None:
        unique = unique.persist(StorageLevel.DISK_ONLY)  # the rejects of a bad year can be many
        try:
            unique.write.format("delta").mode("append").save(uri)
            return unique.count()
        finally:
            unique.unpersist()
    existing = set(spark.read.format("delta").load(uri).columns)
    if not {*keys, "_landing_path"} <= existing:
        # A quarantine table from before the generic schema: add the new columns, keep its rows.
        unique.write.format("delta").mode("append").option("mergeSchema", "true").save(uri)
        return rows.count()
    version = delta_log.latest_version(spark, uri)
    condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    condition += (
        f" AND ((s.key IS NOT NULL AND s.key <> {_literal(no_key)})"
        " OR t._landing_path <=> s._landing_path)"
    )
    (
        DeltaTable.forPath(spark, uri)
        .alias("t")
        .merge(unique.alias("s"), condition)
        .whenNotMatchedInsertAll()
        .execute()
    )
    if delta_log.latest_version(spark, uri) == version:
        return 0
    info = delta_log.commit_info(spark, uri, delta_log.latest_version(spark, uri) or 0)
    return int(info.get("operationMetrics", {}).get("numTargetRowsInserted", 0))


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
        epilog="example: spark-submit spark/landing_to_bronze.py --source <source> "
        "--lake-root s3://acme-lake",
    )
    parser.add_argument(
        "--source", required=True, help="contract name (a file of the contracts folder)"
    )
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
    session = _Session(lambda: get_session(settings, f"bronze-{args.source}"))
    status = 0
    for entity in entities:
        try:
            result = run(session.get, uris, args.source, entity, contract=contract)
            print(json.dumps(asdict(result), default=str))
        except BronzeJobError as exc:
            print(str(exc), file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
