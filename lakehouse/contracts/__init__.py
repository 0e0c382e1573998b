"""Source contracts: the single owner of each source's schema, key, ranges and cadence.

A contract is a YAML file beside this module (``<source>.yml``, or in ``$LAKEHOUSE_CONTRACTS_DIR``).
Everything downstream (ingest, Spark, expectations, dbt, deployments) derives from the typed
:class:`Contract` loaded here; ``docs/contracts.md`` documents every key.

A contract separates *how to fetch* (``source``: its ``kind`` and that kind's options) from
*what a record is* (``entities``: layout, fields, key, event time, quality rules). Every model
forbids unknown keys, so a typo is an error that names the key at fault.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


def _package_dir() -> Path:
    """This package's folder, also when it is imported from a zip (``spark-submit --py-files``)."""
    here = Path(__file__).parent
    text = str(here)
    if ".zip/" in text and not here.exists():
        import zipfile

        archive, inner = text.split(".zip/", 1)
        return zipfile.Path(f"{archive}.zip", at=f"{inner}/")  # type: ignore[return-value]
    return here


CONTRACTS_DIR = _package_dir()
# Points every part at another folder of contracts at once (the benchmark uses a copy of a
# contract with synthetic targets added; tests add sources from tests/fixtures).
CONTRACTS_DIR_ENV = "LAKEHOUSE_CONTRACTS_DIR"

FieldType = Literal[
    "double", "integer", "bigint", "decimal", "string", "boolean", "timestamp", "date"
]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ================================================================ Settings of a source


class SourceSetting(_Model):
    """A setting the source reads at run time: ``LAKEHOUSE_<SOURCE>_<NAME>`` (env or ``.env``)."""

    description: str = ""
    secret: bool = False
    default: str | None = None
    # Older variable names that still work (LAKEHOUSE_<NAME> of a former release).
    aliases: list[str] = Field(default_factory=list)


# ================================================================ http


class NoAuth(_Model):
    type: Literal["none"] = "none"


class OAuth2ClientCredentials(_Model):
    """OAuth2 client credentials: POST a form to ``token_path``, send ``Bearer <token>``."""

    type: Literal["oauth2_client_credentials"]
    token_path: str
    client_id_setting: str = "client_id"
    client_secret_setting: str = "client_secret"
    # Renew this long before the token's expires_in runs out.
    refresh_margin_s: int = Field(60, ge=0)


Auth = Annotated[NoAuth | OAuth2ClientCredentials, Field(discriminator="type")]


class NoPagination(_Model):
    type: Literal["none"] = "none"


class NextLinkPagination(_Model):
    """Follow a link to the next page found at ``next_path`` in the body (absent/null: done)."""

    type: Literal["next_link"]
    next_path: str = "links.next"


class OffsetPagination(_Model):
    """``offset``/``limit`` parameters; stop on a short page or when ``total_path`` is reached."""

    type: Literal["offset"]
    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(100, ge=1)
    records_path: str = "data"
    total_path: str | None = None
    max_pages: int = Field(1000, ge=1)


Pagination = Annotated[
    NoPagination | NextLinkPagination | OffsetPagination, Field(discriminator="type")
]


class RateLimit(_Model):
    """At most ``max_concurrency`` requests in flight and ``requests_per_second`` started."""

    max_concurrency: int = Field(4, ge=1)
    requests_per_second: float | None = Field(None, gt=0)


class Targets(_Model):
    """The list of parameter sets a request fans out over (cities, routes x departure offsets).

    Each item is a mapping with an ``id``; ``vary`` crosses every item with every value of each
    listed parameter (the landed key is ``<id>__<value>...``). ``key`` names the bronze column
    that carries the target id (records find it at ``envelope.key``).
    """

    key: str = "target_id"
    items: list[dict[str, Any]] = Field(min_length=1)
    vary: dict[str, list[Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> Targets:
        ids = [str(item.get("id", "")) for item in self.items]
        if any(not i for i in ids):
            raise ValueError("every target needs an 'id'")
        if len(set(ids)) != len(ids):
            raise ValueError(f"target ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
        return self


class WindowMode(_Model):
    """Parameters (templates) added to a request in one window mode."""

    params: dict[str, Any] = Field(default_factory=dict)
    # recent only: how far back from the current UTC hour a run without dates reaches.
    past_days: int = Field(1, ge=0)


class Window(_Model):
    """Recent/history windowing: no dates -> ``recent``; a date range -> ``range``."""

    recent: WindowMode
    range: WindowMode


class HttpEndpoint(_Model):
    method: Literal["GET", "POST"] = "GET"
    path: str
    # Host of this endpoint when the source's base_url setting is unset.
    base_url: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    json_body: dict[str, Any] | None = Field(None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    # Window modes this endpoint serves; a run picks the first that fits.
    serves: list[Literal["recent", "range", "always"]] = Field(default_factory=lambda: ["always"])
    # Only serves data at least this many days old (Open-Meteo's archive lags reanalysis).
    min_age_days: int = Field(0, ge=0)
    # Landing entity its answers land under (landing/<source>/<lands_as>); default: the only one.
    lands_as: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HttpSource(_Model):
    kind: Literal["http"]
    settings: dict[str, SourceSetting] = Field(default_factory=dict)
    base_url: str | None = None
    auth: Auth = NoAuth()
    headers: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    pagination: Pagination = NoPagination()
    rate_limit: RateLimit = RateLimit()
    targets: Targets | None = None
    window: Window | None = None
    endpoints: dict[str, HttpEndpoint] = Field(min_length=1)
    # Error bodies: where the API puts its own message (shown in the one-line failure).
    error_message_paths: list[str] = Field(
        default_factory=lambda: [
            "errors[0].title + errors[0].detail",
            "errors[0].title",
            "error_description",
            "error",
            "reason",
            "message",
        ]
    )


# ================================================================ stream, kafka


class StreamSource(_Model):
    """An HTTP stream: chunked JSON lines or server-sent events, resumable by a record field."""

    kind: Literal["stream"]
    settings: dict[str, SourceSetting] = Field(default_factory=dict)
    base_url: str | None = None
    path: str
    format: Literal["json_lines", "sse"] = "json_lines"
    params: dict[str, Any] = Field(default_factory=dict)
    # Resume a dropped stream: send `resume_param=<last value of resume_field>`.
    resume_param: str | None = None
    resume_field: str | None = None
    # Produce each record unchanged to this Kafka topic (keyed by key_field); else land batches.
    topic: str | None = None
    key_field: str | None = None
    # Records per landed batch object.
    batch_records: int = Field(10_000, ge=1)
    lands_as: str | None = None


class KafkaSource(_Model):
    """A Kafka topic read from a stored position (bootstrap servers from a setting)."""

    kind: Literal["kafka"]
    settings: dict[str, SourceSetting] = Field(default_factory=dict)
    topic: str
    bootstrap_setting: str = "kafka_bootstrap"
    key_field: str | None = None
    starting_offsets: Literal["earliest", "latest"] = "earliest"
    lands_as: str | None = None


# ================================================================ postgres


class PostgresTable(_Model):
    """One table polled by watermark: rows with ``watermark > last - overlap`` each poll."""

    table: str
    watermark_column: str
    # Re-read this much before the last watermark: rows committed late with an older
    # timestamp are caught; the natural key dedupes what is read twice.
    overlap_s: int = Field(300, ge=0)
    columns: list[str] | None = None
    batch_rows: int = Field(50_000, ge=1)
    # Polling cannot see a deleted row. With this on, each poll also reads every primary key and
    # lands the keys that vanished since the last poll as delete markers (for small tables:
    # descriptions, not facts).
    track_deletes: bool = False


class ChangeCapture(_Model):
    """Debezium change data capture instead of polling (names default from the source's name).

    ``slot``: the logical replication slot (default ``lakehouse_<source>``); ``publication``:
    the pgoutput publication of the contract's tables (default ``lakehouse_<source>``);
    ``topic_prefix``: Debezium's ``topic.prefix``, topics ``<prefix>.<schema>.<table>``
    (default ``<source>``).
    """

    slot: str | None = None
    publication: str | None = None
    topic_prefix: str | None = None


class PostgresSource(_Model):
    kind: Literal["postgres"]
    settings: dict[str, SourceSetting] = Field(default_factory=dict)
    dsn_setting: str = "pg_dsn"
    # Keyed by landing entity name.
    tables: dict[str, PostgresTable] = Field(min_length=1)
    capture: Literal["polling", "cdc"] = "polling"
    cdc: ChangeCapture | None = None
    # With the DSN setting unset, use the project's own PostgreSQL server for this source (under
    # the lake's _state; started on first use) instead of failing: the local stand-in for the
    # source's operational database.
    local_server: bool = False

    @model_validator(mode="after")
    def _cdc_has_its_options(self) -> PostgresSource:
        if self.capture == "cdc" and self.cdc is None:
            self.cdc = ChangeCapture()
        return self


# ================================================================ files


class FilePattern(_Model):
    """Files of one landing entity: names matched by glob patterns (``i94_*_sub.sas7bdat``)."""

    patterns: list[str] = Field(min_length=1)


class FilesSource(_Model):
    kind: Literal["files"]
    settings: dict[str, SourceSetting] = Field(default_factory=dict)
    # Where files arrive when the `location` setting is unset: a folder, s3:// prefix or URL.
    location: str | None = None
    location_setting: str = "location"
    # Keyed by landing entity name.
    files: dict[str, FilePattern] = Field(min_length=1)


Source = Annotated[
    HttpSource | StreamSource | KafkaSource | PostgresSource | FilesSource,
    Field(discriminator="kind"),
]


# ================================================================ entities


class ContractField(_Model):
    """One field of an entity: where it is found, its bronze and silver names, and its rules.

    ``name`` is the bronze column (the source's own name); ``path`` says where the value is
    (a dotted path relative to the record; ``$.a.b`` from the document root; ``envelope.key``,
    ``envelope.fetched_at`` or ``envelope.transport.params.x`` from the landing envelope; for
    the column_arrays layout, a name under the arrays object); ``column`` is the silver name.
    """

    name: str
    path: str | None = None
    column: str | None = None
    type: FieldType
    # decimal only: precision and scale (amounts as strings stay exact).
    precision: int = Field(18, ge=1, le=38)
    scale: int = Field(2, ge=0, le=38)
    # timestamp/date: strftime pattern of the text, or iso8601 / epoch_ms / epoch_s / sas_date;
    # double: `hemisphere` (57.05N, 10.33W: a number and N/S/E/W, S and W negative).
    format: str | None = None
    unit: str | None = None
    required: bool = True
    description: str = ""
    range: tuple[float, float] | None = None
    # A list, or "targets": the ids of the source's fan-out targets (cities, routes).
    allowed_values: list[Any] | Literal["targets"] | None = None
    # key: identifies the record; measure: a quantity marts aggregate; attribute: the rest.
    role: Literal["key", "attribute", "measure"] = "attribute"
    # Where the gate checks this field's rules: bronze (default) or nowhere (documented only).
    check: Literal["bronze", "none"] = "bronze"

    @model_validator(mode="after")
    def _range_is_ordered(self) -> ContractField:
        if self.range and self.range[0] > self.range[1]:
            raise ValueError(f"field {self.name}: range {self.range} is not [min, max]")
        return self

    @property
    def source_path(self) -> str:
        return self.path or self.name

    @property
    def silver_column(self) -> str:
        return self.column or self.name


class EventTime(_Model):
    """The event time column (UTC in bronze) and how it is read."""

    column: str
    source_field: str
    format: str = "%Y-%m-%dT%H:%M"
    # Zone of wall-clock text without an offset: a name (UTC, America/Los_Angeles), or
    # `field:<name>` for a per-record zone or `offset_field:<name>` for seconds east of UTC.
    timezone: str = "UTC"


class Freshness(_Model):
    warn_after_hours: float


class Cadence(_Model):
    """The expected spacing of a series (hourly per city); a gap is reported, never a block."""

    every: Literal["minute", "hour", "day", "month"]
    per: list[str] = Field(default_factory=list)


class LateRecords(_Model):
    """How a late or re-sent record wins against the one bronze holds."""

    policy: Literal["latest_fetched_at_wins", "latest_version_wins", "first_wins"]
    # latest_version_wins: the field whose greater value wins (mtime, updated_at, source.lsn).
    version_field: str | None = None

    @model_validator(mode="after")
    def _version_needs_field(self) -> LateRecords:
        if self.policy == "latest_version_wins" and not self.version_field:
            raise ValueError("latest_version_wins needs version_field")
        return self


class ColumnArraysLayout(_Model):
    """Parallel arrays, index i of each is one row (Open-Meteo's ``hourly.time[i]``)."""

    type: Literal["column_arrays"]
    arrays: str


class RecordsLayout(_Model):
    """An array of records at ``path``; ``a[].b[]`` explodes nested arrays, parents carried down."""

    type: Literal["records"]
    path: str = "$"


class JsonLinesLayout(_Model):
    type: Literal["json_lines"]


class DebeziumLayout(_Model):
    """Debezium change events (``op``, ``before``, ``after``, ``source.lsn``, ``ts_ms``)."""

    type: Literal["debezium"]
    # before: a delete is the row's last image; key: a delete marker carrying the key alone,
    # stamped on the table's own clock (what a polled delete marker is; capture: cdc sets it).
    delete_image: Literal["before", "key"] = "before"


class CsvLayout(_Model):
    type: Literal["csv"]
    delimiter: str = ","
    encoding: str = "utf-8"
    header: bool = True
    null_values: list[str] = Field(default_factory=lambda: [""])
    quote: str = '"'


class ParquetLayout(_Model):
    type: Literal["parquet"]


class Sas7bdatLayout(_Model):
    type: Literal["sas7bdat"]
    encoding: str = "latin-1"


class TextLayout(_Model):
    """A whole file as one text record (for lookups parsed later, e.g. SAS PROC FORMAT)."""

    type: Literal["text"]
    encoding: str = "utf-8"


class SasFormatsLayout(_Model):
    """A SAS ``PROC FORMAT`` program: one record per entry of its ``value`` lists, with
    ``format`` (the list's name, lowercase, no ``$``), ``code`` and ``label`` (lookup tables
    such as I94's country and port codes)."""

    type: Literal["sas_formats"]
    encoding: str = "latin-1"


Layout = Annotated[
    ColumnArraysLayout
    | RecordsLayout
    | JsonLinesLayout
    | DebeziumLayout
    | CsvLayout
    | ParquetLayout
    | Sas7bdatLayout
    | TextLayout
    | SasFormatsLayout,
    Field(discriminator="type"),
]


class Entity(_Model):
    """One dataset of a source (``landing/<source>/<landing>`` -> ``bronze.<source>__<entity>``)."""

    description: str
    grain: str
    # The landing entity its objects are read from (several entities may share one, e.g.
    # offers, itineraries and segments of one flight search); default: the entity's own name.
    landing: str | None = None
    bronze_table: str
    layout: Layout
    natural_key: list[str] = Field(min_length=1)
    event_time: EventTime
    partition_by: str
    late_records: LateRecords
    freshness: Freshness | None = None
    cadence: Cadence | None = None
    max_quarantine_rate: float = Field(0.05, ge=0.0, le=1.0)
    fields: list[ContractField] = Field(min_length=1)

    def field(self, name: str) -> ContractField:
        """Return the field whose bronze name is ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"no field {name!r} in contract")

    @property
    def required_fields(self) -> list[ContractField]:
        return [f for f in self.fields if f.required]

    @property
    def key_fields(self) -> list[str]:
        """Natural key columns other than the event time."""
        return [k for k in self.natural_key if k != self.event_time.column]

    @model_validator(mode="after")
    def _names_are_known(self) -> Entity:
        names = {f.name for f in self.fields} | {self.event_time.column, self.partition_by}
        unknown = [k for k in self.natural_key if k not in names]
        if unknown:
            raise ValueError(f"natural_key names unknown fields {unknown}")
        if self.cadence:
            missing = [k for k in self.cadence.per if k not in names]
            if missing:
                raise ValueError(f"cadence.per names unknown fields {missing}")
        return self


# ================================================================ the contract


class Schedule(_Model):
    """The one owner of a source's cadence; Prefect deployments are generated from it."""

    cron: str
    timezone: str = "UTC"
    description: str = ""


class Contract(_Model):
    """A source contract as loaded from ``lakehouse/contracts/<name>.yml``."""

    name: str
    description: str
    owner: str
    source: Source
    schedule: Schedule
    entities: dict[str, Entity] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        if not _NAME.match(self.name):
            raise ValueError(f"name {self.name!r}: lowercase letters, digits and _ only")
        landings = set(self.landing_entities)
        for name, entity in self.entities.items():
            if not _NAME.match(name):
                raise ValueError(f"entity {name!r}: lowercase letters, digits and _ only")
            if entity.bronze_table != f"{self.name}__{name}":
                raise ValueError(
                    f"entity {name}: bronze_table must be {self.name}__{name} "
                    f"(got {entity.bronze_table})"
                )
        for lands_as in self._declared_landings():
            if lands_as not in landings:
                raise ValueError(f"source lands as {lands_as!r}, which no entity reads")
        return self

    @model_validator(mode="before")
    @classmethod
    def _capture_by_cdc(cls, data: Any) -> Any:
        """``capture: cdc``: name the slot, publication and topics; read change events.

        The same contract serves polling and capture: an entity declared with the polled rows'
        layout (``json_lines``) reads Debezium change events instead, with deletes as the key
        markers polling lands (``delete_image: key``), so both give the same bronze rows.
        """
        if not isinstance(data, dict):
            return data
        src, name = data.get("source"), data.get("name")
        if not isinstance(src, dict) or src.get("kind") != "postgres":
            return data
        if src.get("capture") != "cdc":
            return data
        cdc = dict(src.get("cdc") or {})
        cdc.setdefault("slot", f"lakehouse_{name}")
        cdc.setdefault("publication", f"lakehouse_{name}")
        cdc.setdefault("topic_prefix", name)
        entities = {}
        for entity_name, entity in (data.get("entities") or {}).items():
            layout = entity.get("layout") if isinstance(entity, dict) else None
            landing = entity.get("landing") or entity_name if isinstance(entity, dict) else None
            if isinstance(layout, dict) and landing in (src.get("tables") or {}):
                if layout.get("type") == "json_lines":
                    entity = {**entity, "layout": {"type": "debezium", "delete_image": "key"}}
                elif layout.get("type") != "debezium":
                    raise ValueError(
                        f"entity {entity_name}: capture: cdc lands Debezium change events, which "
                        f"layout {layout.get('type')!r} cannot read (use json_lines or debezium)"
                    )
            entities[entity_name] = entity
        return {**data, "source": {**src, "cdc": cdc}, "entities": entities}

    def _declared_landings(self) -> list[str]:
        src = self.source
        if isinstance(src, HttpSource):
            return [e.lands_as for e in src.endpoints.values() if e.lands_as]
        if isinstance(src, StreamSource | KafkaSource):
            return [src.lands_as] if src.lands_as else []
        if isinstance(src, PostgresSource):
            return list(src.tables)
        return list(src.files)

    @property
    def landing_entities(self) -> list[str]:
        """Names of the landing entities (``landing/<source>/<name>``), each once."""
        seen: list[str] = []
        for name, entity in self.entities.items():
            landing = entity.landing or name
            if landing not in seen:
                seen.append(landing)
        return seen

    def default_landing(self) -> str:
        """The landing entity of a source that declares only one."""
        names = self.landing_entities
        if len(names) != 1:
            raise ValueError(
                f"contract {self.name!r} reads several landing entities {names}: "
                "say which with lands_as"
            )
        return names[0]

    @property
    def topic(self) -> str | None:
        """The Kafka topic the source's records arrive on (a stream produced to a topic, or a
        ``kafka`` source), else None: such a source's bronze is the streaming job."""
        src = self.source
        if isinstance(src, StreamSource | KafkaSource):
            return src.topic
        return None

    @property
    def topic_landings(self) -> dict[str, str]:
        """Every Kafka topic the source's records arrive on -> the landing entity they land
        under: the one topic of a stream or kafka source, a topic per table with
        ``capture: cdc`` (``<topic_prefix>.<schema>.<table>``); empty for the other sources."""
        if self.topic:
            return {self.topic: self.topic_landing()}
        src = self.source
        if isinstance(src, PostgresSource) and src.capture == "cdc" and src.cdc is not None:
            found: dict[str, str] = {}
            for entity, table in src.tables.items():
                relation = table.table if "." in table.table else f"public.{table.table}"
                found[f"{src.cdc.topic_prefix}.{relation}"] = entity
            return found
        return {}

    def topic_landing(self) -> str:
        """The landing entity the topic's records land under."""
        src = self.source
        lands_as = src.lands_as if isinstance(src, StreamSource | KafkaSource) else None
        return lands_as or self.default_landing()

    def entity(self, name: str) -> Entity:
        try:
            return self.entities[name]
        except KeyError:
            raise KeyError(f"contract {self.name!r} has no entity {name!r}") from None

    def entities_reading(self, landing: str) -> dict[str, Entity]:
        """The entities whose objects come from landing entity ``landing``."""
        return {n: e for n, e in self.entities.items() if (e.landing or n) == landing}

    @property
    def targets(self) -> list[dict[str, Any]]:
        """The fan-out targets of an http source (cities, routes), else empty."""
        src = self.source
        return list(src.targets.items) if isinstance(src, HttpSource) and src.targets else []

    def target(self, target_id: str) -> dict[str, Any]:
        for t in self.targets:
            if str(t["id"]) == target_id:
                return t
        raise KeyError(f"contract {self.name!r} has no target {target_id!r}")


class ContractError(ValueError):
    """A contract file is missing or does not match the contract schema."""


def contracts_dir() -> Path:
    """Folder of the contracts: ``$LAKEHOUSE_CONTRACTS_DIR`` when set, else this package's."""
    override = os.environ.get(CONTRACTS_DIR_ENV)
    return Path(override) if override else CONTRACTS_DIR


def load_contract(name: str, directory: Path | None = None) -> Contract:
    """Load and validate the contract of source ``name`` (from :func:`contracts_dir` by default)."""
    return _load_contract(name, directory or contracts_dir())


def _error_lines(exc: ValidationError) -> str:
    """One ``at <key path>: <message>`` per problem, so the message names the key at fault."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        lines.append(f"at {where}: {err['msg']}")
    return "; ".join(lines)


@lru_cache
def _load_contract(name: str, directory: Path) -> Contract:
    path = directory / f"{name}.yml"
    if not path.exists():
        known = _yml_names(directory)
        raise ContractError(f"no contract for source {name!r} (known: {', '.join(known)})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"contract {path.name} is not valid YAML: {exc}") from exc
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        raise ContractError(f"contract {path.name} is invalid: {_error_lines(exc)}") from exc
    if contract.name != name:
        raise ContractError(f"contract {path.name} names itself {contract.name!r}")
    return contract


def available_sources(directory: Path | None = None) -> list[str]:
    """Names of all sources that have a contract."""
    return _yml_names(directory or contracts_dir())


def _yml_names(directory: Path) -> list[str]:
    # iterdir, not glob: a folder inside a zip archive (zipfile.Path) has no glob in 3.11.
    if not directory.exists():
        return []
    return sorted(p.name[: -len(".yml")] for p in directory.iterdir() if p.name.endswith(".yml"))


def load_all(directory: Path | None = None) -> dict[str, Contract]:
    """Every contract, by source name."""
    return {name: load_contract(name, directory) for name in available_sources(directory)}
