"""Where each layer lives: the one place that turns layer and table names into paths.

Locally the object store is a folder (``LAKEHOUSE_LAKE_ROOT``, ``.lake`` by default) with one
sub-folder per layer, mirroring the one-bucket-per-layer layout of the AWS deployment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LAYERS = ("landing", "bronze", "silver", "gold", "quarantine")


@dataclass(frozen=True)
class Lake:
    """Paths of one lake. Every layer's code asks this object, never joins strings itself."""

    root: Path

    def layer(self, name: str) -> Path:
        if name not in LAYERS:
            raise ValueError(f"unknown layer {name!r}; layers are {', '.join(LAYERS)}")
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
        return self.root / "_state"

    @property
    def catalog(self) -> Path:
        """Local catalog (DuckDB files) standing in for Glue."""
        return self.root / "catalog"

    @property
    def site(self) -> Path:
        """Static site: dashboards, dbt docs and Data Docs."""
        return self.root / "site"

    @property
    def docs(self) -> Path:
        """Great Expectations Data Docs and other generated documentation."""
        return self.root / "docs"
