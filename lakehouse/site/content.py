"""What the site shows, read from published gold, the run records and the gates' results.

Each page is a dashboard spec (:mod:`lakehouse.site.dashboards`); its content is the rows of its
named queries, read here, and the last runs of its source. The renderer only sees a
:class:`SiteContent`; the gold side is one ``query`` callable that takes SQL and returns
``(columns, rows)`` (the shape of :func:`lakehouse.gold.query`), so the pages can be built and
tested from any DuckDB database holding the marts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lakehouse.lake import Lake
from lakehouse.runs import latest_run
from lakehouse.site.dashboards import Dashboard, MapBlock, load_dashboards
from lakehouse.site.errors import SiteError
from lakehouse.site.gates import QualityReport, collect_quality

QueryFn = Callable[[str], tuple[Sequence[str], Sequence[Sequence[Any]]]]

# Order of the pipeline; the site shows the latest record of each that exists.
RUN_STEPS = ("ingest", "bronze", "gate", "transform")

_RUN_FIELDS_SHOWN_APART = {"step", "source", "run_id", "status", "started_at", "finished_at"}
# Ids and file locations help an operator on the machine (`lakehouse status`), not a reader of
# a published site, which must not reveal the host's folders.
_RUN_FIELD_SUFFIXES_HIDDEN = ("_id", "_ids", "_path", "_dir", "_docs")


def format_number(value: Any, decimals: int = 1) -> str:
    """Format a measure the way the site's table shows it (tests compare gold through this too).

    Args:
        value: A number or None.
        decimals: Digits after the point.

    Returns:
        The fixed-point text, ``"–"`` for a missing value; never ``-0.0``.
    """
    if value is None:
        return "–"
    text = f"{float(value):.{decimals}f}"
    # -0.04 rounds to "-0.0", which reads like a different number from 0.0 in a table.
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


def format_date(value: Any) -> str:
    """ISO date (``YYYY-MM-DD``) of a date, datetime or ISO string; ``–`` when missing."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def format_timestamp(value: Any) -> str:
    """``YYYY-MM-DD HH:MM`` of a datetime or ISO string; ``–`` when missing."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(value).replace("T", " ")
    return text[:16]


@dataclass(frozen=True)
class RunStatus:
    """The latest run of one pipeline step, or its absence."""

    step: str
    status: str | None = None
    finished_at: str | None = None
    run_id: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class DashboardContent:
    """One dashboard's page: its spec, the rows of each of its queries, its source's runs."""

    spec: Dashboard
    data: dict[str, list[dict[str, Any]]]
    runs: list[RunStatus] = field(default_factory=list)

    @property
    def gate(self) -> RunStatus:
        """The latest gate run of the dashboard's source (status None when none ran)."""
        return next((r for r in self.runs if r.step == "gate"), RunStatus(step="gate"))


@dataclass(frozen=True)
class SiteContent:
    """Everything the site's pages show: the dashboards whose marts are in published gold,
    the home page first when one is ``index.html``, and the "Quality gates" page."""

    dashboards: list[DashboardContent]
    quality: QualityReport = field(default_factory=QualityReport)

    @property
    def home(self) -> DashboardContent | None:
        return next((d for d in self.dashboards if d.spec.is_home), None)

    @property
    def gate(self) -> RunStatus:
        """The gates of the last transform, over every source (status None: none ran)."""
        return RunStatus(step="gate", status=self.quality.status)

    def dashboard(self, name: str) -> DashboardContent | None:
        return next((d for d in self.dashboards if d.spec.name == name), None)


def _records(query: QueryFn, sql: str) -> list[dict[str, Any]]:
    columns, rows = query(sql)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _detail_value(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str) and (value.startswith("/") or value[1:3] == ":\\"):
        return None  # an absolute path
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format_number(value, 2)
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, list):
        if all(isinstance(v, int | float | str) for v in value):
            return ", ".join(str(v) for v in value)
        return f"{len(value)} items"
    return None


def _run_details(record: dict[str, Any]) -> list[tuple[str, str]]:
    """Flatten a run record's own fields (counts, gate results) one level deep for display."""
    details: list[tuple[str, str]] = []
    for key in sorted(record):
        if key in _RUN_FIELDS_SHOWN_APART or key.endswith(_RUN_FIELD_SUFFIXES_HIDDEN):
            continue
        value = record[key]
        if isinstance(value, dict):
            for sub in sorted(value):
                if sub.endswith(_RUN_FIELD_SUFFIXES_HIDDEN):
                    continue
                text = _detail_value(value[sub])
                if text is not None:
                    details.append((f"{key}.{sub}", text))
            continue
        text = _detail_value(value)
        if text is not None:
            details.append((key, text))
    return details


def collect_runs(lake: Lake, source: str) -> list[RunStatus]:
    """The latest record of each pipeline step for ``source``."""
    runs = []
    for step in RUN_STEPS:
        record = latest_run(lake, step, source)
        if record is None:
            runs.append(RunStatus(step=step))
            continue
        runs.append(
            RunStatus(
                step=step,
                status=str(record.get("status", "unknown")),
                finished_at=format_timestamp(record.get("finished_at")),
                run_id=str(record.get("run_id", "")),
                details=_run_details(record),
            )
        )
    return runs


def _present(query: QueryFn, tables: list[str]) -> bool:
    """Whether published gold has every one of ``tables``."""
    names = ", ".join("'" + t.replace("'", "''") + "'" for t in tables)
    _, rows = query(
        f"select count(distinct table_name) from information_schema.tables "
        f"where table_name in ({names})"
    )
    return bool(rows) and rows[0][0] == len(set(tables))


def _assign_nearest(block: MapBlock, data: dict[str, list[dict[str, Any]]]) -> None:
    """Give each point without a group the group of its nearest centre on the sphere."""
    from spark.geo_clusters import nearest

    centres = block.centres
    if centres is None or centres.group is None or block.points.group is not None:
        return
    groups = [c[centres.group] for c in data[centres.query]]
    at = [(float(c[centres.lat]), float(c[centres.lon])) for c in data[centres.query]]
    for point in data[block.points.query]:
        lat, lon = point[block.points.lat], point[block.points.lon]
        if at and lat is not None and lon is not None:
            point[centres.group] = groups[nearest(at, float(lat), float(lon))]
        else:
            point.setdefault(centres.group, None)


def collect_dashboard(spec: Dashboard, query: QueryFn, lake: Lake) -> DashboardContent | None:
    """The content of one dashboard; None when published gold lacks one of its marts."""
    if not _present(query, spec.marts):
        return None
    data = {}
    for name, sql in spec.queries.items():
        try:
            data[name] = _records(query, sql)
        except Exception as exc:  # a spec's SQL: say which file and query to fix
            raise SiteError(f"dashboard {spec.name}.yml, query {name}: {exc}") from exc
    for block in spec.blocks():
        if isinstance(block, MapBlock):
            _assign_nearest(block, data)
    runs = collect_runs(lake, spec.source) if spec.source else []
    return DashboardContent(spec=spec, data=data, runs=runs)


def collect_content(
    query: QueryFn, lake: Lake, dashboards: list[Dashboard] | None = None
) -> SiteContent:
    """Read the marts and run records the site shows.

    Args:
        query: Runs SQL against published gold and returns ``(columns, rows)``.
        lake: The lake whose run records are shown.
        dashboards: The specs to render; default every spec of the dbt project.

    Returns:
        The content of the pages.
    """
    specs = load_dashboards() if dashboards is None else dashboards
    found = [collect_dashboard(spec, query, lake) for spec in specs]
    return SiteContent(
        dashboards=[d for d in found if d is not None],
        quality=collect_quality(lake),
    )
