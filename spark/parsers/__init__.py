"""Body parsers, one per ``source.system`` of a contract: how a response's layout becomes rows.

A parser turns good landing objects into candidate rows whose values are still the raw text the
source sent (``raw__<name>`` columns), plus object-level quarantine rows for bodies it cannot read.
Types, required fields and ranges come from the contract and are applied by :mod:`spark.validate`,
so a new source with a known layout needs a contract, not Python.
"""

from __future__ import annotations

from types import ModuleType

from spark.parsers import open_meteo

PARSERS: dict[str, ModuleType] = {"open-meteo": open_meteo}


def parser_for(system: str) -> ModuleType:
    """The parser module of a contract's ``source.system``."""
    try:
        return PARSERS[system]
    except KeyError:
        known = ", ".join(sorted(PARSERS))
        raise ValueError(
            f"no bronze parser for source system {system!r} (known: {known})"
        ) from None
