"""Which rows a gate validates: all of a table, or on an incremental run only what changed.

An incremental transform validates the rows bronze wrote after the *published* gold was built:
each publish records, per bronze table, the newest ``_ingested_at`` its build read (the
pointer's ``watermarks``). Not since the last build: a run whose gate failed left unvalidated
rows in bronze and in dbt's build database, and the next run must validate them again. Rows at
or before that watermark were validated by the run that published them and are unchanged.

The changed rows of a series are taken together with the series' previous row (bronze), so the
continuity check still sees a gap between old and new data; a series with nothing new is not
read at all, and a table with nothing new gives no frame (its suite is not run: an empty
incremental scope is legitimate, never a failed row count). Any key that is duplicated anywhere
in the table is added with all its rows, so key uniqueness stays a whole-table guarantee while
costing one aggregate over the key columns.

Nothing here names a source: the key, the series and the event time come from the contract.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

# Bronze metadata column: when bronze (re)wrote the row; silver carries it unchanged.
INGESTED_AT = "_ingested_at"


@dataclass(frozen=True)
class Scope:
    """``since`` None: validate everything (first or full run); else rows ingested after it."""

    since: datetime | None = None

    @property
    def incremental(self) -> bool:
        return self.since is not None

    def describe(self) -> str:
        return "all rows" if self.since is None else f"rows ingested after {self.since.isoformat()}"


def _parse(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def published_watermarks(settings: Settings) -> dict[str, datetime] | None:
    """Per bronze table, the newest ``_ingested_at`` the published gold was built from.

    None before the first publish, or when the published build predates watermarks (then every
    row is validated once more).
    """
    from lakehouse import gold

    pointer = gold.published_pointer(settings)
    if not pointer or not isinstance(pointer.get("watermarks"), dict):
        return None
    out = {}
    for table, value in pointer["watermarks"].items():
        parsed = _parse(value)
        if parsed is not None:
            out[table] = parsed
    return out


def scope_for(published: dict[str, datetime] | None, table: str, full_refresh: bool) -> Scope:
    """Full runs (or no published watermark) validate everything; incremental ones what
    bronze wrote into ``table`` after the published gold was built.

    A table the published gold did not know yet is new: all of it is validated.
    """
    if full_refresh or published is None:
        return Scope()
    return Scope(published.get(table))


def bronze_watermark(path: Path | str) -> datetime | None:
    """Newest ``_ingested_at`` of the Delta table at ``path`` (None: no table or no rows).

    Read from the transaction log's per-file statistics when every file has them, which costs
    no data read; otherwise from the column itself.
    """
    from deltalake.exceptions import TableNotFoundError

    from lakehouse.storage import delta_table

    try:
        table = delta_table(path)
    except TableNotFoundError:
        return None
    try:
        actions = table.get_add_actions(flatten=True).to_pydict()
        maxima = actions.get(f"max.{INGESTED_AT}")
        if maxima is not None and all(v is not None for v in maxima):
            return _parse(max(maxima)) if maxima else None
    except Exception:  # noqa: BLE001 - statistics are an optimisation; read the column
        pass
    import pyarrow.compute as pc

    column = table.to_pyarrow_dataset().to_table(columns=[INGESTED_AT]).column(0)
    newest = pc.max(column).as_py() if len(column) else None
    return _parse(newest)


def code_fingerprint(project_dir: Path, contracts: dict[str, Any]) -> str:
    """A hash of the dbt project's code and the contracts: a changed model is new work."""
    digest = hashlib.sha256()
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if not path.is_file() or relative.parts[0] in {"target", "logs", "dbt_packages"}:
            continue
        if path.suffix not in {".sql", ".yml", ".yaml", ".csv", ".md"}:
            continue
        digest.update(str(relative).encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(contracts, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def count_rows(con: Any, relation: str, scope: Scope) -> int:
    """Rows of ``relation`` in ``scope`` (ingested after its watermark, or all)."""
    if not scope.incremental:
        return int(con.execute(f"select count(*) from {relation}").fetchone()[0])
    return int(
        con.execute(
            f"select count(*) from {relation} where {_q(INGESTED_AT)} > $since",
            {"since": scope.since},
        ).fetchone()[0]
    )


def last_rows(con: Any, relation: str, series: list[str], time: str) -> pd.DataFrame:
    """The newest row of each series of ``relation`` (the whole newest row without series)."""
    partition = f"partition by {', '.join(_q(c) for c in series)} " if series else ""
    return con.execute(
        f"select * from {relation} "
        f"qualify row_number() over ({partition}order by {_q(time)} desc) = 1"
    ).df()


def series_frame(
    con: Any,
    relation: str,
    *,
    key: list[str],
    series: list[str],
    time: str,
    scope: Scope,
    with_previous: bool = True,
    partition_date: str | None = None,
) -> pd.DataFrame | None:
    """Rows of ``relation`` a gate of ``scope`` validates (None: nothing in scope).

    Args:
        con: DuckDB connection where ``relation`` resolves.
        relation: table or view (already quoted as needed).
        key: the natural key columns (duplicates of it are always added).
        series: columns identifying a series (the cadence's ``per``; may be empty).
        time: the event time column.
        scope: what to validate.
        with_previous: add each changed series' previous row (for the continuity check).
        partition_date: a date column derived from ``time`` that the table is partitioned by;
            filtering on it lets the scan skip old partitions.
    """
    if not scope.incremental:
        return con.execute(f"select * from {relation}").df()
    t, i = _q(time), _q(INGESTED_AT)
    if not with_previous or not series:
        frame = con.execute(
            f"select * from {relation} where {i} > $since", {"since": scope.since}
        ).df()
    else:
        cols = ", ".join(_q(c) for c in series)
        f_cols = ", ".join(f"f.{_q(c)}" for c in series)
        on = " and ".join(f"r.{_q(c)} is not distinct from f.{_q(c)}" for c in series)
        con.execute(
            f"""
            create or replace temp table _gate_starts as
            with firsts as (
                select {cols}, min({t}) filter (where {i} > $since) as first_new
                from {relation}
                group by {cols}
                having min({t}) filter (where {i} > $since) is not null
            )
            select
                {f_cols},
                coalesce(max(r.{t}) filter (where r.{t} < f.first_new), f.first_new) as start_at
            from firsts as f
            inner join {relation} as r on {on}
            group by {f_cols}, f.first_new
            """,
            {"since": scope.since},
        )
        join = " and ".join(f"r.{_q(c)} is not distinct from g.{_q(c)}" for c in series)
        prune = ""
        params: dict[str, Any] = {}
        if partition_date is not None:
            earliest = con.execute("select min(start_at) from _gate_starts").fetchone()[0]
            if earliest is not None:
                # A constant, so DuckDB pushes it into the scan and old partitions are not read.
                prune = f"and r.{_q(partition_date)} >= cast($earliest as date)"
                params["earliest"] = earliest
        frame = con.execute(
            f"""
            select r.* from {relation} as r
            inner join _gate_starts as g on {join}
            where r.{t} >= g.start_at {prune}
            """,
            params,
        ).df()
        con.execute("drop table if exists _gate_starts")
    import pandas as pd

    keys = ", ".join(_q(c) for c in key)
    duplicated = con.execute(f"select {keys} from {relation} group by all having count(*) > 1").df()
    if len(duplicated):
        con.register("_gate_duplicated", duplicated)
        on = " and ".join(f"r.{_q(c)} = d.{_q(c)}" for c in key)
        extra = con.execute(
            f"select r.* from {relation} as r semi join _gate_duplicated as d on {on}"
        ).df()
        con.unregister("_gate_duplicated")
        frame = pd.concat([frame, extra], ignore_index=True)
    return frame if len(frame) else None
