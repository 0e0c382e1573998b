"""The baseline: landing -> bronze done by DuckDB alone, writing the same Delta table shape.

What it does, step for step, so the comparison with the Spark job is fair:

1. **List** the landing objects of ``weather/hourly`` and keep those not yet in its ledger
   (``processed.txt`` in its state folder; a full run starts with an empty ledger and an empty
   table). This is the baseline's equivalent of the Spark job's ledger of processed objects.
   The objects are then cut into **batches by city**: every object holds one city, named in its
   file name (``<fetched_at>_<key>_<sha256 prefix>.json.gz``, see ``lakehouse.landing``), and a
   city's objects always go into the same batch, of about ``batch_bytes`` of gzip each. Steps
   2-6 run once per batch, so memory is bounded by a batch, not by the history.
2. **Read** those gzip JSON objects with ``read_json`` (envelope fields and the raw body text).
3. **Parse** each body with ``from_json`` into the Open-Meteo structure (an unparseable body
   becomes one quarantine row) and **unnest** the hourly arrays into one row per city and hour.
4. **Type and validate**: the envelope's key must be a contract city; ``observed_at`` is the
   local ``time`` minus ``utc_offset_seconds`` (UTC), plus ``observed_date``; a row with a
   missing or unparseable time, a missing required field or a value outside the contract's range
   goes to quarantine with the first failing field and its reason; the rest flow on.
5. **Dedupe** on the natural key ``(city_id, observed_at)``: the latest ``_fetched_at`` wins
   (the contract's ``latest_fetched_at_wins``; the landing path breaks exact ties). The key
   begins with the city and a batch holds all of its cities' objects, so the dedupe within a
   batch is the global one. A row whose envelope names a city other than its file name's (only
   a hand-made object can) is held back and merged after the last batch by the same rule.
6. **Write** to Delta with ``deltalake`` (delta-rs), one write per batch: a full run overwrites
   the table partitioned by ``observed_date`` with its first batch and appends the others; an
   incremental run MERGEs each batch on the natural key (update when the incoming row was
   fetched later, insert when new), with the target pruned to the dates the batch touches.
   Rows stream from DuckDB to the writer in record batches. Quarantined rows are collected
   over the batches and written once, at the end.

Same columns and types as bronze (see ``docs/architecture.md``), same threads as Spark's
``local[2]`` and a memory limit equal to Spark's driver memory. It does no schema-evolution,
no run records and no data-quality gate: it is the cost floor, not a replacement.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake

from lakehouse.contracts import Entity, load_contract
from lakehouse.lake import Lake

SOURCE = "weather"
ENTITY = "hourly"
# Gzip bytes of landing objects per batch: about 400,000 rows of the benchmark's landings.
BATCH_BYTES = 8 * 1024 * 1024
# Rows per Arrow record batch streamed from DuckDB to delta-rs.
BATCH_ROWS = 200_000
# MERGE: an incoming row replaces the table's when fetched later (the table wins a tie).
UPDATE = "s._fetched_at > t._fetched_at"
# Held-back rows are merged by the dedupe's own order (fetched_at, then landing path) against
# rows of this run, and by UPDATE against rows of earlier runs, as one batch would have been.
STRAY_UPDATE = (
    "s._fetched_at > t._fetched_at or (s._fetched_at = t._fetched_at"
    " and s._ingested_at = t._ingested_at and s._landing_path > t._landing_path)"
)
_DUCK_TYPES = {
    "double": "DOUBLE",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
}


def _array_fields(entity: Entity) -> list:
    """Fields read from the arrays of the column_arrays layout (no ``$.``/``envelope.`` path)."""
    return [f for f in entity.fields if not (f.path or "").startswith(("$.", "envelope."))]


def _root_fields(entity: Entity) -> list:
    """Fields read from the body root (``$.<name>``): the grid cell and its UTC offset."""
    return [f for f in entity.fields if (f.path or "").startswith("$.")]


def _offset_field(entity: Entity) -> str | None:
    zone = entity.event_time.timezone
    return zone.split(":", 1)[1] if zone.startswith("offset_field:") else None


@dataclass(frozen=True)
class BaselineResult:
    """Counts and timings of one baseline run."""

    mode: str
    objects: int
    rows_landed: int
    rows_written: int
    rows_quarantined: int
    table_rows: int
    seconds: float
    read_parse_s: float
    write_s: float


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _body_type(entity: Entity) -> str:
    arrays = {entity.event_time.source_field: ["VARCHAR"]}
    arrays.update({f.source_path: [_DUCK_TYPES[f.type]] for f in _array_fields(entity)})
    shape: dict = {f.source_path[2:]: _DUCK_TYPES[f.type] for f in _root_fields(entity)}
    shape[entity.layout.arrays] = arrays
    return json.dumps(shape)


def _rows_sql(entity: Entity, cities: list[str], files: list[str], ingested_at: str) -> str:
    """SQL for steps 2-4: one row per (object, hour) with a ``_check`` (NULL when valid)."""
    file_list = "[" + ", ".join(_quote(f) for f in files) + "]"
    fields = _array_fields(entity)
    arrays, time_field = entity.layout.arrays, entity.event_time.source_field
    unnest = ",\n".join(f"unnest(b.{arrays}.{f.source_path}) as {f.name}" for f in fields)
    roots = _root_fields(entity)
    root_select = ", ".join(f"b.{f.source_path[2:]} as {f.name}" for f in roots)
    root_names = ", ".join(f.name for f in roots)
    root_nulls = ", ".join(f"null::{_DUCK_TYPES[f.type]} as {f.name}" for f in roots)
    offset = _offset_field(entity)
    shift = f" - to_seconds(coalesce({offset}, 0))" if offset else ""
    known = ", ".join(_quote(c) for c in cities)
    # The envelope's key names the city; only the contract's cities are accepted (as in Spark).
    checks = [f"when city_id is null or city_id not in ({known}) then 'city_id|unknown city'"]
    for f in fields:
        if f.required:
            checks.append(f"when {f.name} is null then '{f.name}|missing required value'")
        if f.range:
            low, high = f.range
            checks.append(
                f"when {f.name} < {low} or {f.name} > {high} "
                f"then '{f.name}|outside contract range [{low}, {high}]'"
            )
    reasons = "\n".join(checks)
    names = ", ".join(f.name for f in fields)
    record = ", ".join(["time := local_time", *(f"{f.name} := {f.name}" for f in fields)])
    raw_value = "\n".join(
        [
            "when 'time' then local_time",
            "when 'city_id' then city_id",
            *(f"when '{f.name}' then cast({f.name} as varchar)" for f in fields),
        ]
    )
    nulls = ", ".join(f"null as {f.name}" for f in fields)
    time_format = entity.event_time.format
    return f"""
    with landed as (
        select envelope.key as city_id,
               cast(envelope.fetched_at as timestamptz) as _fetched_at,
               envelope.batch_id as _batch_id,
               envelope.sha256 as _source_sha256,
               filename as _landing_path,
               body
        from read_json({file_list},
                       columns = {{envelope: 'STRUCT(key VARCHAR, fetched_at VARCHAR,
                                   batch_id VARCHAR, sha256 VARCHAR)', body: 'VARCHAR'}},
                       format = 'newline_delimited', filename = true,
                       maximum_object_size = 33554432)
    ),
    parsed as (
        select * exclude (body),
               case when json_valid(body)
                    then from_json(body, {_quote(_body_type(entity))}) end as b,
               case when not json_valid(body) then left(body, 200) end as bad_body
        from landed
    ),
    hours as (
        select city_id, {root_select},
               unnest(b.{arrays}.{time_field}) as local_time,
               {unnest},
               _batch_id, _landing_path, _fetched_at, _source_sha256
        from parsed where b.{arrays}.{time_field} is not null
    ),
    typed as (
        select *,
               timezone('UTC', try_strptime(local_time, '{time_format}')){shift} as observed_at
        from hours
    ),
    checked as (
        select *, case when observed_at is null then 'time|missing or unparseable time'
                       {reasons}
                  end as _check
        from typed
    )
    select city_id, observed_at, cast(timezone('UTC', observed_at) as date) as observed_date,
           {root_names}, {names},
           _batch_id, _landing_path, _fetched_at,
           {_quote(ingested_at)}::timestamptz as _ingested_at, _source_sha256, _check,
           case when _check is not null then to_json(struct_pack({record}))::varchar end
               as record,
           case when _check is not null then case split_part(_check, '|', 1) {raw_value} end
               end as raw_value
    from checked
    union all by name
    select city_id, null::timestamptz as observed_at, null::date as observed_date,
           {root_nulls}, {nulls},
           _batch_id, _landing_path, _fetched_at,
           {_quote(ingested_at)}::timestamptz as _ingested_at, _source_sha256,
           'body|unparseable or empty response body' as _check, bad_body as record,
           bad_body as raw_value
    from parsed where b.{arrays}.{time_field} is null
    """


def _columns(entity: Entity) -> str:
    """The bronze columns, in bronze order (key, event time, date, the other fields, metadata)."""
    keys = [k for k in entity.key_fields if k in {f.name for f in entity.fields}]
    return ", ".join(
        [
            *keys,
            entity.event_time.column,
            entity.partition_by,
            *(f.name for f in entity.fields if f.name not in keys),
            "_batch_id",
            "_landing_path",
            "_fetched_at",
            "_ingested_at",
            "_source_sha256",
        ]
    )


def _valid_sql(entity: Entity, source: str, where: str = "true") -> str:
    key = ", ".join(entity.natural_key)
    # Step 5: the latest fetch of each natural key wins; the landing path breaks exact ties.
    return f"""
    select {_columns(entity)} from {source} where {where}
    qualify row_number() over (partition by {key}
                               order by _fetched_at desc, _landing_path desc) = 1
    """


# ``<fetched_at>_<key>_<first 16 hex of the sha256>.json.gz``, as ``land_response`` names objects.
_OBJECT_NAME = re.compile(r"^\d{8}T\d{12}Z_(?P<key>.+)_[0-9a-f]{16}\.json\.gz$")


def _batches(files: list[str], batch_bytes: int) -> list[tuple[list[str], set[str]]]:
    """Objects cut into batches of about ``batch_bytes``, a city's objects always in one batch.

    Returns:
        (objects, cities named by their file names) per batch. An object whose name names no
        city is a group of its own; its rows are held back unless its batch has their city.
    """
    groups: dict[str | None, list[str]] = {}
    loose: list[str] = []
    for f in files:
        match = _OBJECT_NAME.match(Path(f).name)
        if match:
            groups.setdefault(match["key"], []).append(f)
        else:
            loose.append(f)
    units = [(sorted(groups[k]), {k}) for k in sorted(groups)] + [([f], set()) for f in loose]
    batches: list[tuple[list[str], set[str]]] = []
    size = 0
    for objects, keys in units:
        grow = sum(Path(f).stat().st_size for f in objects)
        if not batches or (size and size + grow > batch_bytes):
            batches.append(([], set()))
            size = 0
        batches[-1][0].extend(objects)
        batches[-1][1].update(keys)
        size += grow
    return batches


class DuckDBBaseline:
    """Landing -> bronze with DuckDB and delta-rs, full or incremental (see the module docstring).

    Args:
        lake: Lake whose landing is read.
        table_path: Where the baseline's bronze Delta table goes (kept apart from Spark's).
        state_dir: Where its ledger of processed objects lives.
        threads: DuckDB threads (Spark runs ``local[2]``).
        memory_limit: DuckDB memory limit (Spark's driver memory).
        temp_dir: Spill folder for DuckDB.
        batch_bytes: Gzip bytes of landing objects per batch (whole cities per batch).
    """

    def __init__(
        self,
        lake: Lake,
        table_path: Path,
        state_dir: Path,
        *,
        threads: int = 2,
        memory_limit: str = "2GB",
        temp_dir: Path | None = None,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.lake = lake
        self.table_path = table_path
        self.quarantine_path = table_path.parent / f"{table_path.name}__quarantine"
        self.ledger = state_dir / "processed.txt"
        self.threads = threads
        self.memory_limit = memory_limit
        self.temp_dir = temp_dir or state_dir / "duckdb_tmp"
        self.batch_bytes = batch_bytes
        contract = load_contract(SOURCE)
        self.entity = contract.entity(ENTITY)
        # The targets' ids (the cities): the only envelope keys accepted, as in Spark.
        self.cities = [str(t["id"]) for t in contract.targets]

    def _connect(self) -> duckdb.DuckDBPyConnection:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set threads = {int(self.threads)}")
        con.execute(f"set memory_limit = {_quote(self.memory_limit)}")
        con.execute(f"set temp_directory = {_quote(str(self.temp_dir))}")
        con.execute("set preserve_insertion_order = false")
        return con

    def _pending(self) -> list[str]:
        done = set()
        if self.ledger.exists():
            done = set(self.ledger.read_text(encoding="utf-8").split("\n"))
        landed = sorted(self.lake.landing(SOURCE, ENTITY).glob("fetch_date=*/*.json.gz"))
        return [str(p) for p in landed if str(p) not in done]

    def _exists(self) -> bool:
        return (self.table_path / "_delta_log").exists()

    def _table_rows(self) -> int:
        """Rows of the table, from the row counts its log keeps per file (no file is opened)."""
        table = DeltaTable(self.table_path)
        counts = pa.table(table.get_add_actions(flatten=True)).column("num_records")
        if counts.null_count:
            return table.to_pyarrow_dataset().count_rows()
        return int(pc.sum(counts).as_py() or 0)

    def reset(self) -> None:
        """Forget everything: drop the table, its quarantine and the ledger (a full rebuild)."""
        import shutil

        for path in (self.table_path, self.quarantine_path):
            if path.exists():
                shutil.rmtree(path)
        self.ledger.unlink(missing_ok=True)

    def run(self, *, full: bool) -> BaselineResult:
        """Process new landing objects (all of them when ``full``) into the baseline table.

        Args:
            full: Rebuild from scratch (overwrite) instead of merging new objects.

        Returns:
            Counts and timings of the run.
        """
        started = time.perf_counter()
        if full:
            self.reset()
        files = self._pending()
        if not files:
            rows = self._table_rows() if self._exists() else 0
            return BaselineResult("incremental", 0, 0, 0, 0, rows, 0.0, 0.0, 0.0)
        ingested_at = datetime.now(UTC).isoformat()
        merge = not full and self._exists()
        rows_landed = written = 0
        write_s = 0.0
        con = self._connect()
        try:
            for i, (batch, cities) in enumerate(_batches(files, self.batch_bytes)):
                # Steps 2-4 materialise the batch once (spilling if needed); 5 and 6 stream.
                rows_sql = _rows_sql(self.entity, self.cities, batch, ingested_at)
                con.execute(f"create or replace temp table rows as {rows_sql}")
                rows_landed += con.execute("select count(*) from rows").fetchall()[0][0]
                home = "city_id in (" + ", ".join(_quote(c) for c in sorted(cities)) + ")"
                if not cities:
                    home = "false"
                self._stage(con, i == 0, home)
                count, low = con.execute(
                    f"select count(*), min(observed_date) from rows where _check is null and {home}"
                ).fetchall()[0]
                # An empty batch writes nothing, except the first of a rebuild (the table).
                if count or (i == 0 and not merge):
                    began = time.perf_counter()
                    sql = _valid_sql(self.entity, "rows", f"_check is null and {home}")
                    reader = con.sql(sql).to_arrow_reader(BATCH_ROWS)
                    if merge:
                        written += self._merge(reader, low, UPDATE)
                    else:
                        mode = "overwrite" if i == 0 else "append"
                        write_deltalake(
                            self.table_path, reader, mode=mode, partition_by=["observed_date"]
                        )
                    write_s += time.perf_counter() - began
            con.execute("drop table rows")
            quarantined = self._write_quarantine(con)
            began = time.perf_counter()
            written += self._write_strays(con)
            write_s += time.perf_counter() - began
        finally:
            con.close()
        if not merge:
            written = self._table_rows()
        finished = time.perf_counter()
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with open(self.ledger, "a", encoding="utf-8") as fh:
            fh.write("".join(f + "\n" for f in files))
        table_rows = self._table_rows()
        seconds = finished - started
        return BaselineResult(
            mode="full" if full else "incremental",
            objects=len(files),
            rows_landed=int(rows_landed),
            rows_written=int(written),
            rows_quarantined=quarantined,
            table_rows=table_rows,
            seconds=round(seconds, 3),
            read_parse_s=round(seconds - write_s, 3),
            write_s=round(write_s, 3),
        )

    def _stage(self, con: duckdb.DuckDBPyConnection, first: bool, home: str) -> None:
        """Keep the batch's quarantine rows, and its valid rows of cities not its own, for later."""
        make = "create or replace temp table {} as" if first else "insert into {}"
        con.execute(
            f"""
            {make.format("bad")}
            select city_id, observed_at, split_part(_check, '|', 2) as reason,
                   split_part(_check, '|', 1) as field, raw_value, record,
                   _batch_id, _landing_path, _fetched_at, _ingested_at, _source_sha256
            from rows where _check is not null
            """
        )
        con.execute(
            f"""
            {make.format("strays")}
            select {_columns(self.entity)} from rows where _check is null and not ({home})
            """
        )

    def _write_strays(self, con: duckdb.DuckDBPyConnection) -> int:
        """Merge the held-back rows by the dedupe rule (only hand-named objects have any)."""
        count, low = con.execute("select count(*), min(observed_date) from strays").fetchall()[0]
        if not count:
            return 0
        reader = con.sql(_valid_sql(self.entity, "strays")).to_arrow_reader(BATCH_ROWS)
        return self._merge(reader, low, STRAY_UPDATE)

    def _merge(self, reader: pa.RecordBatchReader, low: object, update: str) -> int:
        key = " and ".join(f"t.{k} = s.{k}" for k in self.entity.natural_key)
        # Prune the target to the dates the batch touches, as a partition filter.
        predicate = f"t.observed_date >= '{low}' and {key}" if low else key
        metrics = (
            DeltaTable(self.table_path)
            .merge(source=reader, predicate=predicate, source_alias="s", target_alias="t")
            .when_matched_update_all(predicate=update)
            .when_not_matched_insert_all()
            .execute()
        )
        return int(metrics.get("num_target_rows_inserted", 0)) + int(
            metrics.get("num_target_rows_updated", 0)
        )

    def _write_quarantine(self, con: duckdb.DuckDBPyConnection) -> int:
        count = con.execute("select count(*) from bad").fetchall()[0][0]
        if count:
            reader = con.sql("select * from bad").to_arrow_reader(BATCH_ROWS)
            write_deltalake(self.quarantine_path, reader, mode="append")
        return int(count)
