"""Dashboard specs: what one page of the site shows, declared in YAML beside the dbt models.

A dashboard is ``dbt_project/dashboards/<name>.yml`` (or in ``$LAKEHOUSE_DBT_PROJECT_DIR``): its
title, the marts it needs, named SQL queries on published gold, and sections of blocks (a
table, a line or bar chart, a map, the source's last runs, text). One generic renderer
(:mod:`lakehouse.site.render`) turns any spec into its page, so a source adds its page with a
file and no Python. ``docs/dashboards.md`` documents every key.

Every model forbids unknown keys, and a block naming an unknown query or column set is an
error that names the key at fault, as for contracts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lakehouse.site.errors import SiteError

# Where the specs live inside the dbt project: beside the models whose marts they show.
DASHBOARDS_DIR = "dashboards"
HOME_PAGE = "index.html"
# Pages the site itself writes; a dashboard cannot take their names.
RESERVED_PAGES = frozenset({"quality-gates.html"})

_ID = re.compile(r"^[a-z][a-z0-9_-]*$")
_PAGE = re.compile(r"^[a-z][a-z0-9_-]*\.html$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ================================================================ blocks


class Column(_Model):
    """One column of a table: a query column, its heading and how its values read."""

    column: str
    title: str
    # text: as is; number: fixed point (``decimals``); integer; date: YYYY-MM-DD;
    # timestamp: YYYY-MM-DD HH:MM. number and integer are right-aligned.
    format: Literal["text", "number", "integer", "date", "timestamp"] = "text"
    decimals: int = Field(1, ge=0, le=6)
    # The cell that names the row (a <th>); the first column when none says so.
    row_header: bool = False
    # What a missing value (NULL) shows.
    missing: str = "–"
    # Value -> text (codes a reader cannot read); values not listed show ``unlabelled``.
    labels: dict[int | str, str] = Field(default_factory=dict)
    unlabelled: str = "{value}"
    # A dot in the colour the page's map gives this value's group (a legend in the table).
    swatch: bool = False


class TableBlock(_Model):
    """A table of a query's rows (optionally only those whose columns equal ``where``)."""

    kind: Literal["table"]
    id: str
    query: str
    columns: list[Column] = Field(min_length=1)
    where: dict[str, Any] = Field(default_factory=dict)
    empty: str = "Nothing in published gold yet."


class ChartBlock(_Model):
    """A line or bar chart: one trace per value of ``series`` (sorted), ``x`` against ``y``."""

    kind: Literal["line", "bar"]
    id: str
    query: str
    x: str
    y: str
    series: str | None = None
    label: str = ""  # what a screen reader says the chart shows
    x_title: str = ""
    y_title: str = ""
    x_type: Literal["date", "linear", "category"] | None = None
    x_reversed: bool = False
    y_from_zero: bool = False
    range_slider: bool = False
    markers: bool = False
    # Round y in the page's data: smaller pages that stay byte-identical across renders.
    decimals: int | None = Field(None, ge=0, le=6)
    unit: str = ""  # shown after y on hover
    hover: str | None = None  # a Plotly hovertemplate; default: y and ``unit``
    hover_mode: Literal["closest", "x unified"] = "closest"


class MapLayer(_Model):
    """Points of a query at ``lat``/``lon``; ``title`` is the tooltip (a template over the row)."""

    query: str
    lat: str
    lon: str
    group: str | None = None
    title: str = ""


class MapBlock(_Model):
    """An offline world map (inline SVG): ``points`` coloured by group and ``centres`` ringed.

    Each centre's ``group`` value gets a colour; a point without a ``group`` column takes the
    group of its nearest centre on the sphere (what KMeans assigns).
    """

    kind: Literal["map"]
    id: str
    points: MapLayer
    centres: MapLayer | None = None
    label: str = ""


class RunsBlock(_Model):
    """The latest run of each pipeline step of the dashboard's ``source``."""

    kind: Literal["runs"]
    id: str = "run-status"


class TextBlock(_Model):
    """A paragraph: a template over the queries' rows (see ``Dashboard.subtitle``)."""

    kind: Literal["text"]
    text: str


Block = Annotated[
    TableBlock | ChartBlock | MapBlock | RunsBlock | TextBlock, Field(discriminator="kind")
]


class Section(_Model):
    """A titled part of the page; ``nav`` puts a link to it in the page's navigation."""

    id: str
    title: str
    nav: str | None = None
    note: str = ""
    blocks: list[Block] = Field(min_length=1)


# ================================================================ the dashboard


class Dashboard(_Model):
    """One page of the site, as loaded from ``dashboards/<name>.yml``."""

    name: str
    title: str
    heading: str | None = None  # the page's <h1>; default ``title``
    nav_label: str | None = None  # its link on other pages; default ``title``
    page: str | None = None  # file name; default ``<name>.html`` (``index.html``: the home page)
    source: str | None = None  # whose runs and gate status it shows
    # The page exists only when published gold has every one of these tables.
    marts: list[str] = Field(min_length=1)
    gate_badge: bool = False
    # Templates (Jinja, sandboxed) over the queries' rows by query name, e.g.
    # ``{{ routes | length }} routes``; filters num, day and ts format as the tables do.
    subtitle: str = ""
    note: str = ""
    queries: dict[str, str] = Field(min_length=1)
    sections: list[Section] = Field(min_length=1)

    @property
    def file(self) -> str:
        return self.page or f"{self.name}.html"

    @property
    def link_id(self) -> str:
        """The id of the link to this page in the home page's navigation."""
        return f"{self.file.removesuffix('.html')}-link"

    @property
    def label(self) -> str:
        return self.nav_label or self.title

    @property
    def is_home(self) -> bool:
        return self.file == HOME_PAGE

    def blocks(self) -> list[Any]:
        return [b for s in self.sections for b in s.blocks]

    @model_validator(mode="after")
    def _consistent(self) -> Dashboard:
        if not _ID.match(self.name):
            raise ValueError(f"name {self.name!r}: lowercase letters, digits, - and _ only")
        if not _PAGE.match(self.file) or self.file in RESERVED_PAGES:
            raise ValueError(f"page {self.file!r}: lowercase name.html, not a reserved page")
        if self.gate_badge and not self.source:
            raise ValueError("gate_badge needs the dashboard's source")
        ids: set[str] = set()
        for section in self.sections:
            for block in section.blocks:
                for where, query in _queries_of(block):
                    if query not in self.queries:
                        raise ValueError(
                            f"section {section.id}: {where} names query {query!r}, "
                            f"not one of {sorted(self.queries)}"
                        )
                if isinstance(block, RunsBlock) and not self.source:
                    raise ValueError(f"section {section.id}: a runs block needs the source")
            for an_id in [section.id, *(b.id for b in section.blocks if hasattr(b, "id"))]:
                if an_id in ids:
                    raise ValueError(f"id {an_id!r} is used twice on the page")
                ids.add(an_id)
        return self


def _queries_of(block: Any) -> list[tuple[str, str]]:
    if isinstance(block, TableBlock | ChartBlock):
        return [(f"{block.kind} {block.id}", block.query)]
    if isinstance(block, MapBlock):
        layers = [("points", block.points), ("centres", block.centres)]
        return [(f"map {block.id} {n}", layer.query) for n, layer in layers if layer]
    return []


# ================================================================ loading


def dashboards_dir() -> Path:
    """``dashboards/`` of the dbt project (``$LAKEHOUSE_DBT_PROJECT_DIR`` when set)."""
    from lakehouse.dbt import project_dir

    return project_dir() / DASHBOARDS_DIR


def _error_lines(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        lines.append(f"at {where}: {err['msg']}" if where else err["msg"])
    return "; ".join(lines)


def load_dashboard(path: Path) -> Dashboard:
    """Load and validate one spec; its name is the file's stem.

    Raises:
        SiteError: The file is not YAML or does not match the spec (the message names the key).
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SiteError(f"dashboard {path.name} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SiteError(f"dashboard {path.name} is not a mapping of keys")
    try:
        return Dashboard.model_validate({"name": path.stem, **data})
    except ValidationError as exc:
        raise SiteError(f"dashboard {path.name} is invalid: {_error_lines(exc)}") from exc


def load_dashboards(directory: Path | None = None) -> list[Dashboard]:
    """Every spec of ``directory`` (default :func:`dashboards_dir`), the home page first.

    Raises:
        SiteError: A spec is invalid, or two specs claim the same page.
    """
    folder = directory or dashboards_dir()
    if not folder.is_dir():
        return []
    specs = [load_dashboard(p) for p in sorted(folder.glob("*.yml"))]
    pages: dict[str, str] = {}
    for spec in specs:
        if spec.file in pages:
            raise SiteError(
                f"dashboards {pages[spec.file]}.yml and {spec.name}.yml both make {spec.file}"
            )
        pages[spec.file] = spec.name
    return sorted(specs, key=lambda s: (not s.is_home, s.file))
