"""Where a Spark job reads and writes: the lake layout of :class:`lakehouse.lake.Lake` as URIs.

:class:`~lakehouse.lake.Lake` owns the layout (``landing/<source>/<entity>``, ``bronze/<table>``,
``_state/...``) but speaks local ``Path``; a job on EMR needs ``s3://`` URIs, and in AWS every layer
may live in its own bucket. :class:`LakeUris` asks ``Lake`` for the relative layout and puts it
under a root URI, or under a per-layer URI where one is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lakehouse.lake import Lake

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")

# A layout relative to nothing, so each method returns "<layer>/<rest>".
_LAYOUT = Lake(Path("."))


def is_uri(location: str) -> bool:
    """True for ``s3://...`` and other scheme URIs, False for local paths."""
    return bool(_SCHEME.match(location))


@dataclass(frozen=True)
class LakeUris:
    """Root URI of a lake plus optional per-layer overrides (``{"landing": "s3://acme-landing"}``)."""

    root: str
    layers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, location: str | Path | Lake, layers: dict[str, str] | None = None) -> LakeUris:
        """Build from a local path, a :class:`Lake` or a URI; local paths become absolute."""
        if isinstance(location, Lake):
            layers = {**location.layers, **(layers or {})}
            location = location.uri(location.root)
        text = str(location)
        if not is_uri(text):
            text = str(Path(text).expanduser().resolve())
        return cls(text.rstrip("/"), dict(layers or {}))

    @property
    def is_local(self) -> bool:
        return not is_uri(self.root)

    @property
    def lake(self) -> Lake:
        """The :class:`Lake` of these URIs (run records and other helpers take one)."""
        return Lake.at(self.root, self.layers)

    def _resolve(self, relative: PurePosixPath | Path) -> str:
        parts = PurePosixPath(relative).parts
        layer, rest = parts[0], "/".join(parts[1:])
        if layer in self.layers:
            base = self.layers[layer].rstrip("/")
            return f"{base}/{rest}" if rest else base
        return f"{self.root}/{PurePosixPath(relative)}"

    def landing(self, source: str, entity: str) -> str:
        return self._resolve(_LAYOUT.landing(source, entity))

    def bronze(self, table: str) -> str:
        return self._resolve(_LAYOUT.bronze(table))

    def quarantine(self, table: str) -> str:
        return self._resolve(_LAYOUT.quarantine(table))

    def state(self, *parts: str) -> str:
        """``_state/<parts...>``: ledgers and checkpoints, never inside a data layer."""
        lake = Lake(Path("."), self.layers)
        if not {"state", "bronze"} & set(self.layers):
            return self._resolve(PurePosixPath(_LAYOUT.state, *parts))
        # Per-layer buckets: _state where the Lake puts it (a state bucket or under bronze's).
        return "/".join([lake.uri(lake.state).rstrip("/"), *parts])
