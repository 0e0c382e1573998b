"""Simulators: stand-ins for the outside world of the reference domain that are not APIs.

``lakehouse simulate <source>`` runs ``lakehouse.simulate.<source>.simulate(settings, days=...,
seed=...)``, which returns a :class:`DayReport` per day played. A simulator writes into the
system the source reads (an operational database), never into the lake.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any


@dataclass
class DayReport:
    """What one simulated day changed, so a test or a person can check what the lake shows."""

    day: str
    seeded: int = 0
    renamed: list[str] = field(default_factory=list)
    rebased: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    stats_written: int = 0
    stats_date: str | None = None
    corrected: list[tuple[str, str]] = field(default_factory=list)  # (unit_id, stat_date)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SimulatorError(RuntimeError):
    """The simulator cannot run; the message is the one line to show."""


def simulator(source: str) -> ModuleType:
    """The simulator module of ``source``, or :class:`SimulatorError` naming the ones there are."""
    if not source.isidentifier() or source.startswith("_"):
        raise SimulatorError(f"no simulator named {source!r}")
    try:
        return importlib.import_module(f"{__name__}.{source}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{source}":
            raise
        raise SimulatorError(
            f"no simulator for source {source!r}; simulators: {', '.join(available()) or 'none'}"
        ) from None


def available() -> list[str]:
    import pkgutil

    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
