"""Where each layer lives: the one place that turns layer and table names into paths.

Locally the object store is a folder (``LAKEHOUSE_LAKE_ROOT``, ``.lake`` by default) with one
sub-folder per layer, mirroring the one-bucket-per-layer layout of the AWS deployment. The same
root may be an ``s3://bucket[/prefix]`` URI (every layer under it), and each layer may have a
bucket of its own (``layers``, filled from Terraform by ``lakehouse cloud settings``). Paths of
an object store are ``UPath`` objects with the pathlib API (see :mod:`lakehouse.storage`).

What only a local disk can hold (DuckDB database files, dbt's target folder, the site being
built, lock files, local servers' data) lives under :attr:`Lake.work`: the root itself for a
local lake, a local folder (``LAKEHOUSE_WORK_DIR``) for a lake in an object store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.storage import is_remote, location

LAYERS = ("landing", "bronze", "silver", "gold", "quarantine")

#: Where ``_state`` goes when every layer has its own bucket and no ``state`` bucket is given.
STATE_LAYER_FALLBACK = "bronze"


@dataclass(frozen=True)
class Lake:
    """Paths of one lake. Every layer's code asks this object, never joins strings itself.

    Attributes:
        root: the lake's root folder or URI (``s3://bucket/prefix``).
        layers: per-layer roots overriding ``root/<layer>`` (``{"landing": "s3://acme-landing"}``;
            ``state`` may name the root of ``_state``).
        work_dir: local folder for what cannot live in an object store; defaults to ``root``
            (a local lake) or ``.lake`` (a lake in an object store).
    """

    root: Path
    layers: Mapping[str, str] = field(default_factory=dict)
    work_dir: Path | None = None

    @classmethod
    def at(
        cls,
        root: str | Path | Any,
        layers: Mapping[str, str] | None = None,
        work_dir: str | Path | None = None,
    ) -> Lake:
        """A lake at a folder or URI, local paths made absolute."""
        path = location(root) if isinstance(root, str) else root
        if not is_remote(path):
            path = Path(path).expanduser().resolve()
        work = Path(work_dir).expanduser().resolve() if work_dir else None
        return cls(path, dict(layers or {}), work)

    @property
    def is_local(self) -> bool:
        """True when every layer is on the local disk."""
        return not is_remote(self.root) and not self.layers

    def layer(self, name: str) -> Path:
        if name not in LAYERS:
            raise ValueError(f"unknown layer {name!r}; layers are {', '.join(LAYERS)}")
        if name in self.layers:
            return location(self.layers[name])
        return self.root / name

    def landing(self, source: str, entity: str) -> Path:
        """Immutable raw objects: ``landing/<source>/<entity>/``."""
        return self.layer("landing") / source / entity

    def bronze(self, table: str) -> Path:
        """Delta table ``bronze.<source>__<entity>``."""
        return self.layer("bronze") / table

    def quarantine(self, table: str) -> Path:
        """Rejected rows of ``table``, each with its reason."""
        return self.layer("quarantine") / table

    @property
    def state(self) -> Path:
        """Ledgers, checkpoints and run records; never inside a data layer."""
        if "state" in self.layers:
            return location(self.layers["state"])
        if self.layers and STATE_LAYER_FALLBACK in self.layers:
            return location(self.layers[STATE_LAYER_FALLBACK]) / "_state"
        return self.root / "_state"

    @property
    def work(self) -> Path:
        """Local folder for DuckDB files, dbt's target, site builds, locks and local servers."""
        if self.work_dir is not None:
            return self.work_dir
        if self.is_local:
            return self.root
        return Path(".lake").resolve()

    @property
    def local_state(self) -> Path:
        """``_state`` of what needs a local disk (locks, logs, dbt, servers): ``state`` locally."""
        return self.state if self.is_local and self.work_dir is None else self.work / "_state"

    @property
    def catalog(self) -> Path:
        """Local catalog (DuckDB files) standing in for Glue."""
        return self.work / "catalog"

    @property
    def site(self) -> Path:
        """Static site: dashboards, dbt docs and Data Docs (built locally, then published)."""
        return self.work / "site"

    @property
    def docs(self) -> Path:
        """Great Expectations Data Docs and other generated documentation."""
        return self.work / "docs"

    def uri(self, path: Path) -> str:
        """``path`` as a string for other engines: a local path or ``s3://bucket/key``."""
        from lakehouse.storage import uri

        return uri(path)
