"""Run dbt programmatically on the project in ``dbt_project/`` with the lake's environment.

Every caller (the transform flow, the site's ``docs generate``, the warehouse's per-target
compile) goes through :func:`run_dbt`, which fixes the project and profiles directories, makes
the lake root absolute for ``profiles.yml`` and passes the source contracts as the ``contracts``
var. That var is how dbt learns field names, silver columns, roles, targets, cadence and
freshness: the contract YAML stays the one owner of those facts (see
``dbt_project/macros/contract.sql``).

Which models belong to which contract is found by name, never listed: a staging model named
``stg_<source>__<entity>`` reads that contract entity (:func:`staging_models`), and the marts
fed by a source are found through dbt's manifest (:func:`mart_sources`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.contracts import available_sources, load_contract
from lakehouse.settings import Settings

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# Points every dbt run at another copy of the project (a test adds a source's models to a copy).
PROJECT_DIR_ENV = "LAKEHOUSE_DBT_PROJECT_DIR"


def project_dir() -> Path:
    """The dbt project: ``$LAKEHOUSE_DBT_PROJECT_DIR`` when set, else ``dbt_project/``."""
    override = os.environ.get(PROJECT_DIR_ENV)
    return Path(override) if override else PROJECT_DIR


# Schemas of the dbt build database (see dbt_project/macros/generate_schema_name.sql).
SILVER_SCHEMA = "silver"
GOLD_SCHEMA = "gold"


class DbtError(RuntimeError):
    """dbt could not run (bad project, profile or connection), as opposed to failing nodes."""


# Staging models that read one contract entity: stg_<source>__<entity>.
_STAGING_MODEL = re.compile(r"^stg_([a-z][a-z0-9_]*?)__([a-z][a-z0-9_]*)$")


@dataclass(frozen=True)
class StagingModel:
    """A staging model that reads contract entity ``source``/``entity`` (by its name)."""

    name: str
    source: str
    entity: str


@dataclass
class DbtResult:
    """Outcome of one dbt invocation.

    Attributes:
        success: True when dbt ran and every selected node passed.
        failures: ``"<node>: <message>"`` for each failed or errored node (tests included).
        nodes: per node, ``{"name", "resource_type", "status", "message"}``.
        raw: the dbtRunnerResult, for callers that need more (e.g. compiled SQL).
    """

    success: bool
    failures: list[str] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    raw: Any = None


def build_database(settings: Settings) -> Path:
    """The DuckDB file the ``dev`` target builds into (never read by analysts)."""
    return settings.lake.catalog / "dbt_build.duckdb"


def contract_vars() -> dict[str, Any]:
    """Every source contract, JSON-ready, keyed by source name (dbt's ``contracts`` var)."""
    return {name: load_contract(name).model_dump(mode="json") for name in available_sources()}


def staging_models(project: Path | None = None) -> list[StagingModel]:
    """The staging models that read a contract entity, found by name (``stg_<src>__<entity>``).

    Only names whose source has a contract with that entity count (a locations model that
    renders a contract's targets reads no entity and is not one).
    """
    contracts = {name: load_contract(name) for name in available_sources()}
    found: list[StagingModel] = []
    for path in sorted(((project or project_dir()) / "models").rglob("stg_*.sql")):
        match = _STAGING_MODEL.match(path.stem)
        if not match:
            continue
        source, entity = match.groups()
        if source in contracts and entity in contracts[source].entities:
            found.append(StagingModel(path.stem, source, entity))
    return found


def manifest_path(settings: Settings) -> Path:
    """dbt's ``manifest.json`` of the last invocation on this lake."""
    return settings.lake.local_state / "dbt" / "target" / "manifest.json"


def load_manifest(settings: Settings) -> dict[str, Any]:
    """The manifest the last dbt invocation wrote (empty when there is none)."""
    path = manifest_path(settings)
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def mart_models(manifest: dict[str, Any], schema: str = "gold") -> dict[str, dict[str, Any]]:
    """Manifest nodes of the models built into ``schema`` (the marts), by model name."""
    return {
        node["name"]: node
        for node in (manifest.get("nodes") or {}).values()
        if node.get("resource_type") == "model" and node.get("schema") == schema
    }


def mart_sources(manifest: dict[str, Any], model: str) -> list[str]:
    """The dbt sources (contract names) whose data reaches ``model``, through any ref chain."""
    nodes = manifest.get("nodes") or {}
    sources = manifest.get("sources") or {}
    start = [uid for uid, n in nodes.items() if n.get("name") == model]
    seen: set[str] = set()
    found: set[str] = set()
    while start:
        uid = start.pop()
        if uid in seen:
            continue
        seen.add(uid)
        if uid in sources:
            found.add(sources[uid]["source_name"])
            continue
        node = nodes.get(uid) or {}
        start.extend((node.get("depends_on") or {}).get("nodes") or [])
    return sorted(found)


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment dbt needs: absolute lake root and telemetry off."""
    return {
        "LAKEHOUSE_LAKE_ROOT": settings.lake.uri(settings.lake.root),
        # The bronze layer's own root (its bucket in AWS) and the local folder of dbt's DuckDB
        # file: a lake in S3 keeps the database file on the local disk.
        "LAKEHOUSE_BRONZE_ROOT": settings.lake.uri(settings.lake.layer("bronze")),
        "LAKEHOUSE_WORK_DIR": str(settings.lake.work),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # Keep dbt's own log and artifacts inside the lake, not in the source tree of a clone.
        "DBT_LOG_PATH": str(settings.lake.local_state / "dbt" / "logs"),
        "DBT_TARGET_PATH": str(settings.lake.local_state / "dbt" / "target"),
    }


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the block, then restore what was there."""
    # dbt reads env_var() from os.environ at parse time; restore it so callers see no change.
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_dbt(
    settings: Settings,
    args: Sequence[str],
    target: str = "dev",
    extra_vars: dict[str, Any] | None = None,
    quiet: bool = False,
) -> DbtResult:
    """Run one dbt command (``["build", "--select", "marts"]``) against ``target``.

    Args:
        settings: lakehouse settings (the lake root feeds ``profiles.yml``).
        args: dbt command and its arguments, without project/profiles/target/vars.
        target: profile target (``dev`` = DuckDB on the lake).
        extra_vars: vars merged over the contract vars.
        quiet: print nothing but errors (dbt's full log still goes to
            ``<lake>/_state/dbt/logs/dbt.log``); colours only on a terminal either way.

    Returns:
        The outcome; ``success`` is False when any node failed.

    Raises:
        DbtError: dbt could not run at all (invalid project, profile or connection).
    """
    from dbt.cli.main import dbtRunner

    settings.lake.catalog.mkdir(parents=True, exist_ok=True)
    if target == "dev":
        _drop_copied_sources(build_database(settings))
    dbt_vars = {
        "contracts": contract_vars(),
        "staging_models": [m.name for m in staging_models()],
        **(extra_vars or {}),
    }
    output: list[str] = []
    if quiet:
        # Errors only on stdout; the file log keeps everything at debug level.
        output += ["--log-level", "error", "--log-level-file", "debug"]
    if quiet or not sys.stdout.isatty():
        output.append("--no-use-colors")
    cli_args = [
        *args,
        *output,
        "--project-dir",
        str(project_dir()),
        "--profiles-dir",
        str(project_dir()),
        "--target",
        target,
        "--vars",
        json.dumps(dbt_vars),
    ]
    with environment(dbt_env(settings)):
        try:
            result = dbtRunner().invoke(cli_args)
        finally:
            _release_duckdb()
    if result.exception is not None:
        raise DbtError(f"dbt {' '.join(args)} could not run: {result.exception}")
    nodes, failures = _node_results(result.result)
    return DbtResult(success=bool(result.success), failures=failures, nodes=nodes, raw=result)


def _drop_copied_sources(database: Path) -> None:
    """Drop bronze sources an older project version copied into the build database as tables.

    Sources are now views over the Delta table (``_<source>__sources.yml``), and DuckDB will not
    replace a table with a view, so a build database from before that change needs this once.
    """
    import duckdb

    if not database.is_file():
        return
    with duckdb.connect(str(database)) as con:
        tables = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'bronze' and table_type = 'BASE TABLE'"
        ).fetchall()
        for (name,) in tables:
            con.execute(f'drop table bronze."{name}"')


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the life of the process.

    dbt-duckdb caches one read-write connection in a class attribute; left open, it blocks any
    other connection to the build file from this process (the gates read it read-only) and its
    write lock blocks other processes.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    env = DuckDBConnectionManager._ENV
    DuckDBConnectionManager.close_all_connections()
    if env is not None:
        env.close()


def _node_results(run_result: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Flatten dbt's per-node results (absent for commands such as ``parse``).

    A data test also says which model it is attached to (``model``), the test's own name
    (``test``, e.g. ``accepted_range``) and column, so the gate can report it like an
    expectation.
    """
    nodes: list[dict[str, Any]] = []
    failures: list[str] = []
    for item in getattr(run_result, "results", None) or []:
        node = getattr(item, "node", None)
        name = getattr(node, "name", None) or getattr(item, "unique_id", "?")
        status = str(getattr(item, "status", ""))
        message = getattr(item, "message", None) or ""
        attached = getattr(node, "attached_node", None) or ""
        metadata = getattr(node, "test_metadata", None)
        nodes.append(
            {
                "name": name,
                "resource_type": str(getattr(node, "resource_type", "")),
                "status": status,
                "message": message,
                "model": attached.rsplit(".", 1)[-1] if attached else None,
                "test": getattr(metadata, "name", None) if metadata else None,
                "column": getattr(node, "column_name", None),
                "failures": getattr(item, "failures", None),
            }
        )
        if status in {"error", "fail", "runtime error"}:
            failures.append(f"{name}: {message}".rstrip(": "))
    return nodes, failures
