"""Kafka topic -> landing -> bronze with Spark Structured Streaming, exactly once.

For a contract whose records arrive on Kafka topics (:attr:`Contract.topic_landings`: a stream
produced to a topic, a ``kafka`` source, or a ``postgres`` source with ``capture: cdc`` and a
topic of Debezium change events per table). One streaming query reads the topics with Spark's
Kafka connector and, per micro-batch (``foreachBatch``):

1. lands each topic's records of the batch, in partition and offset order, one per line and
   unchanged, as one immutable JSON-lines document of ``landing/<source>/<entity>/`` (the
   topic's landing entity; as Firehose delivers a topic to S3); tombstones (null values) carry
   no record and are not landed; the envelope's transport names the topic and the offset range
   of each partition and ``fetched_at`` is the newest Kafka timestamp of the batch, so
   replaying a batch makes the same bytes and landing's sha256 check lands nothing twice;
2. with ``follow``, runs the batch bronze job (:mod:`spark.landing_to_bronze`) on the entities
   reading that landing: it parses by layout, quarantines with reasons and MERGEs by the natural
   key, and its ledger skips objects already loaded. A run that stops (``availableNow``) runs
   it once after the query instead, over every batch it landed.

Exactly once, killed anywhere: Spark writes a batch's offset range to the checkpoint before the
batch runs and marks it committed after ``foreachBatch`` returns, so a killed batch runs again
over the same offsets; the replayed landing document is the same bytes (not landed again), the
ledger knows whether it was loaded, and a load interrupted between its MERGE and its ledger entry
is MERGEd again by natural key, which inserts nothing. A re-run with nothing new on the topic
runs no batch and commits nothing; before Spark starts, :func:`pending_records` compares the
checkpoint's offsets with the topic's end offsets in plain Python, so such a run needs no Spark.

Trigger: ``availableNow`` (what is on the topic now, then stop) or ``follow`` (a micro-batch
every ``interval_s`` until stopped). The checkpoint is ``<lake>/_state/bronze/<table>/stream``
of the first entity reading the landing. After the query, one more batch bronze run loads what
else landed (lines the ingester could not parse land as documents of their own).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse import log
from lakehouse.contracts import Contract, load_contract
from lakehouse.lake import Lake
from lakehouse.landing import land_body
from lakehouse.runs import new_run_id
from spark.landing_to_bronze import BronzeResult
from spark.landing_to_bronze import run as load_bronze

logger = log.get_logger("bronze.stream")
CONTENT_TYPE = "application/x-ndjson"
_SUMMED = (
    "objects_seen",
    "objects_processed",
    "rows_read",
    "rows_valid",
    "rows_quarantined",
    "rows_written",
    "rows_inserted",
    "rows_updated",
)


class StreamJobError(RuntimeError):
    """The streaming job cannot run (no topic, no broker); the message says why."""


def checkpoint_dir(lake: Lake, contract: Contract) -> Path:
    """The streaming query's checkpoint: ``<lake>/_state/bronze/<table>/stream`` (the table of
    the first entity reading the first topic's landing)."""
    landing = next(iter(contract.topic_landings.values()), None) or contract.topic_landing()
    entities = contract.entities_reading(landing)
    if not entities:
        raise StreamJobError(f"no entity of {contract.name!r} reads landing {landing!r}")
    return lake.state / "bronze" / next(iter(entities.values())).bronze_table / "stream"


def _checkpoint_offsets(checkpoint: Path, topic: str) -> dict[int, int] | None:
    """Offsets the last committed batch read up to (partition -> next offset), None: no batch."""
    commits = [int(p.name) for p in (checkpoint / "commits").glob("[0-9]*")]
    if not commits:
        return None
    offsets_file = checkpoint / "offsets" / str(max(commits))
    try:
        # v1 / batch metadata / one JSON per source: {"<topic>": {"<partition>": offset}}
        lines = offsets_file.read_text(encoding="utf-8").splitlines()
        source = json.loads(lines[2])
    except (OSError, IndexError, ValueError):
        return None
    return {int(p): int(o) for p, o in source.get(topic, {}).items()}


def pending_records(lake: Lake, contract: Contract, bootstrap: str) -> int | None:
    """Records on the topics past the checkpoint (plain Python), None when it cannot tell."""
    topics = list(contract.topic_landings)
    if not topics:
        return None
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "lakehouse-probe",
            "enable.auto.commit": False,
            "log_level": 2,
        }
    )
    try:
        pending = 0
        for topic in topics:
            done = _checkpoint_offsets(checkpoint_dir(lake, contract), topic)
            metadata = consumer.list_topics(topic, timeout=10)
            info = metadata.topics.get(topic)
            if info is None or info.error is not None:
                if done is None:
                    continue  # no topic yet: nothing to read
                return None
            for partition in info.partitions:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10
                )
                start = (done or {}).get(partition, low)
                pending += max(0, high - max(start, low))
        return pending
    except KafkaException:
        return None
    finally:
        consumer.close()


def _land_batch(
    lake: Lake, contract: Contract, topic: str, entity: str, rows: list[Any], batch: int
) -> bool:
    """Land one topic's records of a micro-batch as one document; False when the same bytes
    landed before."""
    ranges: dict[str, list[int]] = {}
    for r in rows:
        span = ranges.setdefault(str(r["partition"]), [r["offset"], r["offset"]])
        span[0], span[1] = min(span[0], r["offset"]), max(span[1], r["offset"])
    fetched_at = datetime.fromtimestamp(max(r["timestamp_ms"] for r in rows) / 1000, UTC)
    landed = land_body(
        lake,
        source=contract.name,
        entity=entity,
        key=topic,
        body=b"".join(bytes(r["value"]).rstrip(b"\r\n") + b"\n" for r in rows),
        batch_id=f"{topic}-{min(int(p) for p in ranges)}-{ranges[min(ranges, key=int)][0]}",
        transport={
            "kind": "kafka",
            "topic": topic,
            "offsets": ranges,
            "records": len(rows),
        },
        content_type=CONTENT_TYPE,
        fetched_at=fetched_at,
    )
    log.log_event(
        logger,
        "stream.batch_landed",
        topic=topic,
        batch=batch,
        records=len(rows),
        created=landed.created,
        path=str(landed.path),
    )
    return landed.created


def _add(total: dict[str, BronzeResult], result: BronzeResult) -> None:
    seen = total.get(result.entity)
    if seen is None:
        total[result.entity] = result
        return
    for name in _SUMMED:
        setattr(seen, name, getattr(seen, name) + getattr(result, name))
    seen.batch_ids = sorted({*seen.batch_ids, *result.batch_ids})
    seen.delta_version_after = result.delta_version_after
    seen.rows_in_table = result.rows_in_table
    seen.duration_s = round(seen.duration_s + result.duration_s, 1)
    seen.status = "failed" if "failed" in (seen.status, result.status) else "ok"
    total_rows = seen.rows_read
    seen.quarantine_rate = round(seen.rows_quarantined / total_rows, 6) if total_rows else 0.0


def run(
    spark_factory,  # noqa: ANN001 - returns a session with Delta and the Kafka connector
    lake: Lake,
    source: str,
    *,
    bootstrap: str,
    follow: bool = False,
    interval_s: float = 5.0,
    max_records_per_batch: int = 50_000,
    contract: Contract | None = None,
) -> list[BronzeResult]:
    """Read the contract's topics into landing and bronze (see the module docstring).

    Returns one result per entity reading a topic's landing, summed over the micro-batches.
    """
    contract = contract or load_contract(source)
    landings = contract.topic_landings
    if not landings:
        raise StreamJobError(f"source {source!r} has no Kafka topic (source.topic)")
    topic = ",".join(landings)
    entities = [
        e
        for landing in dict.fromkeys(landings.values())
        for e in contract.entities_reading(landing)
    ]
    checkpoint = checkpoint_dir(lake, contract)
    totals: dict[str, BronzeResult] = {}
    started = time.monotonic()

    pending = None if follow else pending_records(lake, contract, bootstrap)
    if pending != 0:
        spark = spark_factory()

        def each_batch(frame, batch_id: int) -> None:  # noqa: ANN001
            rows = (
                frame.selectExpr(
                    "topic",
                    "value",
                    "partition",
                    "offset",
                    "unix_millis(timestamp) AS timestamp_ms",
                )
                .where("value IS NOT NULL")  # tombstones carry no record
                .orderBy("topic", "partition", "offset")
                .collect()
            )
            if not rows:
                return
            for name, landing in landings.items():
                mine = [r for r in rows if r["topic"] == name]
                if mine:
                    _land_batch(lake, contract, name, landing, mine, batch_id)
            if follow:  # a run that stops loads once at the end instead (one Spark job set)
                for entity in entities:
                    _add(totals, load_bronze(spark, lake, source, entity, contract=contract))

        reader = (
            spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("subscribe", topic)
            .option("startingOffsets", _starting_offsets(contract))
            .option("maxOffsetsPerTrigger", max_records_per_batch)
            # Records removed by retention before they were read are reported, not fatal.
            .option("failOnDataLoss", "false")
            .load()
        )
        writer = reader.writeStream.foreachBatch(each_batch).option(
            "checkpointLocation", str(checkpoint)
        )
        writer = (
            writer.trigger(processingTime=f"{interval_s} seconds")
            if follow
            else writer.trigger(availableNow=True)
        )
        log.log_event(
            logger,
            "stream.start",
            topic=topic,
            follow=follow,
            pending=pending,
            checkpoint=str(checkpoint),
        )
        query = writer.queryName(f"bronze-{source}").start()
        try:
            query.awaitTermination()
        except KeyboardInterrupt:
            query.stop()
        error = query.exception()
        if error is not None:
            raise StreamJobError(f"streaming query failed: {str(error).splitlines()[0]}")
    # What else landed (lines that are not records, a batch landed by a killed run).
    for entity in entities:
        _add(totals, load_bronze(spark_factory, lake, source, entity, contract=contract))
    results = [totals[e] for e in entities]
    for r in results:
        r.run_id = r.run_id or new_run_id()
    log.log_event(
        logger,
        "stream.done",
        topic=topic,
        seconds=round(time.monotonic() - started, 1),
        **{r.table: r.rows_inserted for r in results},
    )
    return results


def _starting_offsets(contract: Contract) -> str:
    starting = getattr(contract.source, "starting_offsets", "earliest")
    return str(starting)


def result_dicts(results: list[BronzeResult]) -> list[dict[str, Any]]:
    return [asdict(r) for r in results]
