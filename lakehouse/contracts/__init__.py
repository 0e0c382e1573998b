"""Source contracts: the single owner of each source's schema, key, ranges and cadence.

A contract is a YAML file beside this module (``<source>.yml``). Everything downstream (ingest,
Spark, expectations, dbt) derives from the typed :class:`Contract` loaded here.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

CONTRACTS_DIR = Path(__file__).parent
# Points every part at another folder of contracts at once (the benchmark uses a copy of the
# weather contract with synthetic cities added), so no part needs its own city parameter.
CONTRACTS_DIR_ENV = "LAKEHOUSE_CONTRACTS_DIR"

FieldType = Literal["double", "integer", "string", "boolean", "timestamp", "date"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContractField(_Model):
    """One measured field of an entity, as the source names it and as silver names it."""

    name: str
    column: str
    type: FieldType
    unit: str | None = None
    required: bool = True
    description: str = ""
    range: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> ContractField:
        if self.range and self.range[0] > self.range[1]:
            raise ValueError(f"field {self.name}: range {self.range} is not [min, max]")
        return self


class EventTime(_Model):
    column: str
    source_field: str
    format: str
    timezone: str = "UTC"


class Freshness(_Model):
    warn_after_hours: float


class Entity(_Model):
    """One dataset of a source (``landing/<source>/<entity>`` -> ``bronze.<source>__<entity>``)."""

    description: str
    grain: str
    landing: str
    bronze_table: str
    natural_key: list[str]
    event_time: EventTime
    partition_by: str
    late_record_policy: Literal["latest_fetched_at_wins", "first_wins"]
    freshness: Freshness
    max_quarantine_rate: float = Field(ge=0.0, le=1.0)
    fields: list[ContractField]

    def field(self, name: str) -> ContractField:
        """Return the field the source calls ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"no field {name!r} in contract")

    @property
    def required_fields(self) -> list[ContractField]:
        return [f for f in self.fields if f.required]


class Endpoint(_Model):
    method: Literal["GET", "POST"] = "GET"
    path: str
    base_url_setting: str
    # Only serves data at least this many days old (Open-Meteo's archive lags reanalysis).
    min_age_days: int = Field(0, ge=0)


class Source(_Model):
    kind: Literal["http", "stream", "postgres", "files"]
    system: str
    format: str
    endpoints: dict[str, Endpoint] = Field(default_factory=dict)
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    recent_window: dict[str, int] = Field(default_factory=dict)


class Schedule(_Model):
    cron: str
    interval_minutes: int
    timezone: str = "UTC"


class City(_Model):
    id: str
    name: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    timezone: str


class Contract(_Model):
    """A source contract as loaded from ``lakehouse/contracts/<name>.yml``."""

    name: str
    description: str
    owner: str
    source: Source
    schedule: Schedule
    cities: list[City] = Field(default_factory=list)
    entities: dict[str, Entity]

    def entity(self, name: str) -> Entity:
        try:
            return self.entities[name]
        except KeyError:
            raise KeyError(f"contract {self.name!r} has no entity {name!r}") from None

    def city(self, city_id: str) -> City:
        for c in self.cities:
            if c.id == city_id:
                return c
        raise KeyError(f"contract {self.name!r} has no city {city_id!r}")


class ContractError(ValueError):
    """A contract file is missing or does not match the contract schema."""


def contracts_dir() -> Path:
    """Folder of the contracts: ``$LAKEHOUSE_CONTRACTS_DIR`` when set, else this package's."""
    override = os.environ.get(CONTRACTS_DIR_ENV)
    return Path(override) if override else CONTRACTS_DIR


def load_contract(name: str, directory: Path | None = None) -> Contract:
    """Load and validate the contract of source ``name`` (from :func:`contracts_dir` by default)."""
    return _load_contract(name, directory or contracts_dir())


@lru_cache
def _load_contract(name: str, directory: Path) -> Contract:
    path = directory / f"{name}.yml"
    if not path.exists():
        known = sorted(p.stem for p in directory.glob("*.yml"))
        raise ContractError(f"no contract for source {name!r} (known: {', '.join(known)})")
    try:
        return Contract.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except Exception as exc:  # pydantic and yaml errors alike become one clear message
        raise ContractError(f"contract {path.name} is invalid: {exc}") from exc


def available_sources(directory: Path | None = None) -> list[str]:
    """Names of all sources that have a contract."""
    return sorted(p.stem for p in (directory or contracts_dir()).glob("*.yml"))
