"""Published gold: write-audit-publish of the marts, and read-only access for analysts.

Locally, dbt builds gold into its own DuckDB file (``<lake>/catalog/dbt_build.duckdb``), which
analysts never read. A transform then

1. **writes** a build: :func:`stage_build` copies every mart into a new DuckDB file
   ``<lake>/gold/_builds/<build_id>/gold.duckdb`` (schema ``main``, so unqualified names
   resolve), unpublished;
2. **audits** it: the gold gate validates that very file (:func:`open_build`);
3. **publishes** it: :func:`publish_build` replaces the pointer ``<lake>/gold/_published.json``
   with one atomic ``os.replace``. A reader sees the previous build or the new one, never a mix,
   and a failed audit never touches the pointer, so the published gold stays exactly as the last
   good run left it. This is the local twin of swapping a Glue table location in AWS.

Readers (:func:`connect_published`, :func:`query`, :func:`read_mart`) open the pointed-to file
read-only; builds are immutable once published, so readers never contend with a running
transform.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from lakehouse.settings import Settings

POINTER_NAME = "_published.json"
BUILDS_DIR = "_builds"
BUILD_FILE = "gold.duckdb"
# Published builds kept for rollback and for readers that still hold an older one open.
KEEP_BUILDS = 3
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class GoldError(RuntimeError):
    """Published gold is missing or unreadable; the message says what to do."""


class NoPublishedGold(GoldError):
    """No build has passed its gates yet."""


class QueryError(GoldError):
    """The engine rejected a query; the message is the engine's own."""


class NotOneStatement(QueryError):
    """The SQL is empty or holds several statements; ``usage`` marks it as the caller's error."""

    usage = True


@dataclass(frozen=True)
class Build:
    """One staged gold build.

    Attributes:
        build_id: unique, sortable id of the build.
        path: its DuckDB file.
        rows: row count per mart.
    """

    build_id: str
    path: Path
    rows: dict[str, int]


def gold_dir(settings: Settings) -> Path:
    """Builds and the pointer: the gold layer locally; the work folder for a lake in S3, whose
    published gold is the Parquet copy in the gold bucket that Glue points at."""
    lake = settings.lake
    return lake.layer("gold") if lake.is_local else lake.work / "gold"


def pointer_path(settings: Settings) -> Path:
    return gold_dir(settings) / POINTER_NAME


def build_path(settings: Settings, build_id: str) -> Path:
    return gold_dir(settings) / BUILDS_DIR / build_id / BUILD_FILE


def _quote(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise GoldError(f"{name!r} is not a plain table name")
    return f'"{name}"'


def stage_build(
    settings: Settings,
    source_db: Path,
    source_schema: str,
    marts: Sequence[str],
    build_id: str,
) -> Build:
    """Copy ``marts`` from the dbt build database into a new, unpublished build file.

    Args:
        settings: lakehouse settings.
        source_db: DuckDB file dbt built into.
        source_schema: schema of the marts there (``gold``).
        marts: mart names to copy.
        build_id: id of the new build (a directory name).

    Returns:
        The staged build with its row counts.
    """
    target = build_path(settings, build_id)
    if target.parent.exists():
        # A re-staged id starts clean, so a crashed earlier attempt leaves nothing behind.
        shutil.rmtree(target.parent)
    target.parent.mkdir(parents=True)
    rows: dict[str, int] = {}
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source_db}' as build_source (read_only)")
        try:
            con.execute("begin transaction")
            for mart in marts:
                con.execute(
                    f"create table main.{_quote(mart)} as "
                    f"select * from build_source.{_quote(source_schema)}.{_quote(mart)}"
                )
                rows[mart] = con.execute(f"select count(*) from main.{_quote(mart)}").fetchone()[0]
            con.execute("commit")
        finally:
            con.execute("detach build_source")
    return Build(build_id=build_id, path=target, rows=rows)


def open_build(build: Build) -> duckdb.DuckDBPyConnection:
    """Read-only connection to a staged build, for the audit."""
    return duckdb.connect(str(build.path), read_only=True)


def publish_build(settings: Settings, build: Build, **details: Any) -> dict[str, Any]:
    """Make ``build`` the published gold with one atomic pointer replace; prune old builds.

    Args:
        settings: lakehouse settings.
        build: a staged build whose gate passed.
        **details: extra fields kept in the pointer (e.g. the transform run id).

    Returns:
        The new pointer document.
    """
    if not build.path.is_file():
        raise GoldError(f"build {build.build_id} has no database at {build.path}")
    from lakehouse import catalog

    if catalog.enabled(settings):
        # The cloud publish: the audited marts as Parquet in the gold bucket, then each Glue
        # table's location swapped to them; only then does the local pointer follow.
        details["catalog"] = publish_to_catalog(settings, build)
    pointer = {
        "build_id": build.build_id,
        "path": str(build.path.relative_to(gold_dir(settings))),
        "published_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "marts": build.rows,
        **details,
    }
    target = pointer_path(settings)
    tmp = target.with_name(f".{POINTER_NAME}.{build.build_id}.tmp")
    tmp.write_text(json.dumps(pointer, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, target)
    prune_builds(settings, keep=KEEP_BUILDS)
    return pointer


def mart_location(settings: Settings, mart: str, build_id: str) -> Path:
    """Folder of one mart of one build in the gold layer: ``<gold>/<mart>/build_id=<id>``."""
    return settings.lake.layer("gold") / mart / f"build_id={build_id}"


def publish_to_catalog(settings: Settings, build: Build) -> dict[str, str]:
    """Copy the build's marts to the gold layer as Parquet and swap their Glue locations.

    Returns:
        Mart name -> the location Glue now points at.
    """
    import pyarrow.parquet as pq
    from pyarrow import fs as pafs

    from lakehouse import catalog, storage

    lake = settings.lake
    located: dict[str, tuple[str, pa.Schema]] = {}
    with open_build(build) as con:
        for mart in sorted(build.rows):
            data = con.execute(f"select * from main.{_quote(mart)}").to_arrow_table()
            folder = mart_location(settings, mart, build.build_id)
            where = lake.uri(folder)
            if storage.is_remote(folder):
                filesystem, inner = pafs.FileSystem.from_uri(where)
            else:
                filesystem, inner = pafs.LocalFileSystem(), str(folder)
                folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(data, f"{inner}/part-00000.parquet", filesystem=filesystem)
            located[mart] = (where.rstrip("/") + "/", data.schema)
    registered = catalog.publish_tables(settings, "gold", located, build.build_id)
    return {r.table: r.location for r in registered}


def discard_build(build: Build) -> None:
    """Delete a staged build that failed its audit (the published pointer never named it)."""
    shutil.rmtree(build.path.parent, ignore_errors=True)


def prune_builds(settings: Settings, keep: int = KEEP_BUILDS) -> list[str]:
    """Delete all but the newest ``keep`` builds, never the published one."""
    builds_root = gold_dir(settings) / BUILDS_DIR
    if not builds_root.is_dir():
        return []
    current = published_pointer(settings)
    current_id = current["build_id"] if current else None
    builds = sorted(p.name for p in builds_root.iterdir() if p.is_dir())
    removed = []
    for build_id in builds[:-keep] if keep else builds:
        if build_id != current_id:
            shutil.rmtree(builds_root / build_id, ignore_errors=True)
            removed.append(build_id)
    if removed and not settings.lake.is_local:
        from lakehouse import storage

        # Their Parquet copies too: Glue points at the published build's, never at these.
        for build_id in removed:
            for mart in (current or {}).get("marts", {}):
                storage.remove_tree(mart_location(settings, mart, build_id))
    return removed


def published_pointer(settings: Settings) -> dict[str, Any] | None:
    """The pointer document of the published build, or None before the first publish."""
    path = pointer_path(settings)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def connect_published(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Read-only DuckDB connection to the published gold; unqualified mart names resolve.

    The connection reaches nothing but the published build: the file is opened read-only and
    DuckDB's external access is off (``enable_external_access=false``), so SQL on it can neither
    read nor write other files (``read_csv``, ``COPY ... TO``, ``ATTACH``) nor load extensions,
    and a query cannot switch that back on.

    Raises:
        NoPublishedGold: nothing was published yet.
        GoldError: the published build cannot be opened.
    """
    pointer = published_pointer(settings)
    if pointer is None:
        raise NoPublishedGold(
            f"no published gold under {gold_dir(settings)}: run `lakehouse transform` first"
        )
    path = gold_dir(settings) / pointer["path"]
    try:
        return duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})
    except duckdb.Error as exc:
        build_id = pointer["build_id"]
        raise GoldError(f"published gold build {build_id} cannot be opened: {exc}") from exc


def published_marts(settings: Settings) -> list[str]:
    """Names of the published marts, sorted."""
    with connect_published(settings) as con:
        return [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' order by table_name"
            ).fetchall()
        ]


def query(settings: Settings, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one read-only statement ``sql`` on the published gold.

    Analyst SQL is exactly one statement (a trailing ``;`` is fine), counted by DuckDB's own
    parser, and a query: ``SELECT`` in all its forms (``WITH``, ``FROM t``, ``VALUES``,
    ``DESCRIBE``, ``SHOW``, ``SUMMARIZE``, ``PIVOT``), ``EXPLAIN``, ``PRAGMA`` or ``CALL``. The
    connection is read-only without external access (:func:`connect_published`).

    Returns:
        Column names and rows.

    Raises:
        NotOneStatement: ``sql`` is empty or holds more than one statement (a usage error).
        QueryError: the engine rejected the query, or it is not a query (the engine's message).
        NoPublishedGold: nothing was published yet.
    """
    statement = single_statement(sql)
    with connect_published(settings) as con:
        try:
            cursor = con.execute(statement)
            if cursor.description is None:
                return [], []
            columns = [d[0] for d in cursor.description]
            return columns, cursor.fetchall()
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from exc


# Statement kinds that only read; anything else (CREATE, SET, ATTACH, COPY, ...) is refused
# before it reaches the engine, even where the read-only connection would refuse it too.
_QUERY_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "CALL", "MULTI"})


def single_statement(sql: str) -> str:
    """The one query in ``sql``, as DuckDB's parser splits it.

    Raises:
        NotOneStatement: no statement (blank, only ``;`` or comments) or more than one.
        QueryError: ``sql`` does not parse, or its statement is not a query.
    """
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from exc
    if not statements:
        raise NotOneStatement("the query is empty: give one SQL statement")
    if len(statements) > 1:
        raise NotOneStatement(
            f"one statement at a time: the query holds {len(statements)} statements"
        )
    kind = statements[0].type.name
    if kind not in _QUERY_STATEMENTS:
        raise QueryError(
            f"only queries run on the published gold (SELECT, EXPLAIN, ...), not {kind}"
        )
    return sql


def read_mart(settings: Settings, mart: str) -> pa.Table:
    """One published mart as an Arrow table."""
    with connect_published(settings) as con:
        if mart not in _tables(con):
            raise GoldError(f"no published mart {mart!r} (published: {', '.join(_tables(con))})")
        return con.execute(f"select * from main.{_quote(mart)}").to_arrow_table()


def read_marts(settings: Settings, marts: Iterable[str] | None = None) -> dict[str, pa.Table]:
    """Several published marts (all by default) as Arrow tables, from one consistent build."""
    with connect_published(settings) as con:
        names = list(marts) if marts is not None else _tables(con)
        missing = sorted(set(names) - set(_tables(con)))
        if missing:
            raise GoldError(f"no published mart(s) {', '.join(missing)}")
        return {n: con.execute(f"select * from main.{_quote(n)}").to_arrow_table() for n in names}


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'main' order by table_name"
        ).fetchall()
    ]
