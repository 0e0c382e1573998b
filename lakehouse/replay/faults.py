"""Faults the replay server can inject per target (a city, a route), consumed in list order.

:class:`TargetFault` is the shape every replayed API shares: a target, a kind and how many
matching requests it applies to (``times=None``: every one). A :class:`Fault` targets a contract
city id with a kind from :data:`FAULT_KINDS`. :class:`FaultBook` holds the active list and hands
out, per request, the first fault of that target that is not used up, so
``[Fault(c, "http_503", 1), Fault(c, "http_429", 1)]`` answers 503, then 429, then normally.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

FAULT_KINDS: dict[str, str] = {
    "http_500": "HTTP 500 with an Open-Meteo error body",
    "http_503": "HTTP 503 with an Open-Meteo error body",
    "http_429": "HTTP 429 with Retry-After: 1",
    "truncate": "HTTP 200 whose JSON body is cut in half",
    "empty_hours": "HTTP 200 whose hourly arrays are all empty",
    "impossible_temperature": "every temperature_2m value is 999.9",
    "out_of_range": "one temperature_2m value is 999.9, the rest are valid",
    "null_value": "one value of a required variable is null",
}


@dataclass(frozen=True)
class TargetFault:
    """One fault for the requests of a target (a city, a route, ...), ``times`` of them.

    Subclasses name their target (``TARGET``: its key in the admin JSON and its spelling in
    ``TARGET:kind[:times]``), their kinds, and how a target is checked and matched.
    """

    target: str
    kind: str
    times: int | None = None

    TARGET: ClassVar[str] = "target"
    KINDS: ClassVar[Mapping[str, str]] = FAULT_KINDS

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; kinds are {', '.join(self.KINDS)}")
        if self.times is not None and self.times < 1:
            raise ValueError(
                f"fault times must be at least 1 (or None for always), not {self.times}"
            )
        self.check_target()

    def check_target(self) -> None:
        """Raise ValueError when the target is not of this kind's shape."""

    @classmethod
    def normalize(cls, target: str) -> str:
        return target

    def matches(self, target: str) -> bool:
        return self.target == target

    def uses(self) -> int | None:
        """How many requests it applies to at first (None: every one)."""
        return self.times

    @classmethod
    def parse(cls, text: str) -> Self:
        """``TARGET:kind[:times]`` as given on a command line."""
        parts = text.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"fault {text!r} is not {cls.TARGET}:kind[:times]")
        times = None
        if len(parts) == 3:
            try:
                times = int(parts[2])
            except ValueError:
                raise ValueError(f"fault {text!r}: times must be an integer") from None
        return cls(cls.normalize(parts[0]), parts[1], times)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build a fault from ``{TARGET, "kind", "times"}`` (an admin endpoint's JSON)."""
        if not isinstance(data, Mapping) or cls.TARGET not in data or "kind" not in data:
            raise ValueError(f"fault {data!r} needs {cls.TARGET!r} and 'kind'")
        unknown = set(data) - {cls.TARGET, "kind", "times"}
        if unknown:
            raise ValueError(f"fault {data!r} has unknown keys {sorted(unknown)}")
        times = data.get("times")
        if times is not None and not isinstance(times, int):
            raise ValueError(f"fault {data!r}: times must be an integer or null")
        return cls(cls.normalize(str(data[cls.TARGET])), str(data["kind"]), times)

    def to_dict(self) -> dict[str, Any]:
        return {self.TARGET: self.target, "kind": self.kind, "times": self.times}


@dataclass(frozen=True)
class Fault(TargetFault):
    """One fault for the requests of a contract city id (``san_diego``, ``walnut_creek``)."""

    TARGET: ClassVar[str] = "city"

    @property
    def city(self) -> str:
        return self.target


class FaultBook:
    """The active faults with their remaining uses; safe to share between request threads."""

    def __init__(self, faults: Iterable[TargetFault] = ()) -> None:
        self._lock = threading.Lock()
        self._entries: list[list[Any]] = []  # [fault, remaining uses or None]
        self.set(faults)

    def set(self, faults: Iterable[TargetFault]) -> None:
        """Replace every active fault."""
        with self._lock:
            self._entries = [[f, f.uses()] for f in faults]

    def take(self, target: str | None) -> Any:
        """The fault to apply to one request for ``target``, using it up once (None: none)."""
        if target is None:
            return None
        with self._lock:
            for entry in self._entries:
                fault, remaining = entry
                if not fault.matches(target) or remaining == 0:
                    continue
                if remaining is not None:
                    entry[1] = remaining - 1
                return fault
        return None

    def active(self) -> list[dict[str, Any]]:
        """Faults not yet used up, with ``remaining`` uses (None: always)."""
        with self._lock:
            return [{**f.to_dict(), "remaining": r} for f, r in self._entries if r is None or r > 0]
