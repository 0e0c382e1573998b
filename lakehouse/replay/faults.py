"""Faults the replay server can inject per city, consumed in list order.

A :class:`Fault` names a contract city id, a kind from :data:`FAULT_KINDS` and how many matching
requests it applies to (``times=None``: every one). :class:`FaultBook` holds the active list and
hands out, per request, the first fault of that city that is not used up, so
``[Fault(c, "http_503", 1), Fault(c, "http_429", 1)]`` answers 503, then 429, then normally.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

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
class Fault:
    """One fault to inject.

    Args:
        city: Contract city id (``san_francisco``, ``walnut_creek``, ...).
        kind: One of :data:`FAULT_KINDS`.
        times: Apply to the next ``times`` matching requests, then stop; None means always.
    """

    city: str
    kind: str
    times: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; kinds are {', '.join(FAULT_KINDS)}"
            )
        if self.times is not None and self.times < 1:
            raise ValueError(
                f"fault times must be at least 1 (or None for always), not {self.times}"
            )

    @classmethod
    def parse(cls, text: str) -> Fault:
        """Parse ``city:kind[:times]`` as given on the command line."""
        parts = text.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"fault {text!r} is not city:kind[:times]")
        times = None
        if len(parts) == 3:
            try:
                times = int(parts[2])
            except ValueError:
                raise ValueError(f"fault {text!r}: times must be an integer") from None
        return cls(parts[0], parts[1], times)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from ``{"city", "kind", "times"}`` (the admin endpoint's JSON)."""
        if not isinstance(data, dict) or "city" not in data or "kind" not in data:
            raise ValueError(f"fault {data!r} needs 'city' and 'kind'")
        unknown = set(data) - {"city", "kind", "times"}
        if unknown:
            raise ValueError(f"fault {data!r} has unknown keys {sorted(unknown)}")
        times = data.get("times")
        if times is not None and not isinstance(times, int):
            raise ValueError(f"fault {data!r}: times must be an integer or null")
        return cls(str(data["city"]), str(data["kind"]), times)

    def to_dict(self) -> dict[str, Any]:
        return {"city": self.city, "kind": self.kind, "times": self.times}


class FaultBook:
    """The active faults with their remaining uses; safe to share between request threads."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._lock = threading.Lock()
        self._entries: list[list[Any]] = []  # [fault, remaining uses or None]
        self.set(faults or [])

    def set(self, faults: list[Fault]) -> None:
        """Replace every active fault."""
        with self._lock:
            self._entries = [[f, f.times] for f in faults]

    def take(self, city: str | None) -> Fault | None:
        """The fault to apply to one request for ``city``, using it up once."""
        if city is None:
            return None
        with self._lock:
            for entry in self._entries:
                fault, remaining = entry
                if fault.city != city or remaining == 0:
                    continue
                if remaining is not None:
                    entry[1] = remaining - 1
                return fault
        return None

    def active(self) -> list[dict[str, Any]]:
        """Faults not yet used up, with ``remaining`` uses (None: always)."""
        with self._lock:
            return [{**f.to_dict(), "remaining": r} for f, r in self._entries if r is None or r > 0]
