"""The data sizes the benchmark knows, and which steps run at each by default.

1x is the real source: the contract's four cities, one year of hourly history. Larger scales add
synthetic cities of the same shape (one year each), so rows grow linearly with the scale while
the per-city shape (8760 hours, one landing object per city-month) stays fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Depth = Literal["all", "bronze"]

HOURS_PER_YEAR = 8760


@dataclass(frozen=True)
class Scale:
    """One data size: ``cities`` cities x ``months`` months of hourly rows from ``start_year``.

    Attributes:
        name: Label used in the table, the JSON and ``--scale``.
        cities: Number of cities; the first four are the contract's own.
        months: Months of history per city, starting in January of ``start_year``.
        depth: ``all`` runs every step (bronze full + incremental, baseline, dbt, gates, queries);
            ``bronze`` runs landing -> bronze (Spark and the DuckDB baseline) only.
        start_year: First year of the history.
    """

    name: str
    cities: int
    months: int
    depth: Depth
    start_year: int = 2025

    @property
    def expected_rows(self) -> int:
        """Rows in the base landing (before the incremental +1%)."""
        from lakehouse.bench.generate import month_starts

        starts = month_starts(self.start_year, self.months + 1)
        hours = int((starts[-1] - starts[0]) / 3600)
        return self.cities * hours


# 10M rows: 1142 city-years x 8760 hours = 10,003,920 rows.
SCALES: dict[str, Scale] = {
    "smoke": Scale("smoke", cities=4, months=1, depth="all"),
    "smoke-x4": Scale("smoke-x4", cities=16, months=1, depth="bronze"),
    "1x": Scale("1x", cities=4, months=12, depth="all"),
    "10x": Scale("10x", cities=40, months=12, depth="all"),
    "100x": Scale("100x", cities=400, months=12, depth="bronze"),
    "10m": Scale("10m", cities=1142, months=12, depth="bronze"),
}

# What `make bench` and `--scale smoke` run. The full pipeline at 1x and 10x; landing -> bronze
# only at 100x and 10M, which is where engine cost dominates and fits the 30-minute budget.
PLANS: dict[str, tuple[str, ...]] = {
    "default": ("1x", "10x", "100x", "10m"),
    "smoke": ("smoke", "smoke-x4"),
}


def resolve(names: list[str] | None, all_steps: bool = False) -> list[Scale]:
    """Turn ``--scale`` values (scale or plan names) into scales, in order, without repeats.

    Args:
        names: Scale names (``1x``) or plan names (``default``, ``smoke``); empty means default.
        all_steps: Run every step at every scale, not just at the scales whose depth is ``all``.

    Raises:
        ValueError: A name is neither a scale nor a plan.
    """
    out: list[Scale] = []
    for name in names or ["default"]:
        key = name.strip().lower()
        if key in PLANS:
            members = [SCALES[m] for m in PLANS[key]]
        elif key in SCALES:
            members = [SCALES[key]]
        else:
            known = ", ".join([*SCALES, *(p for p in PLANS if p not in SCALES)])
            raise ValueError(f"unknown scale {name!r}; choose from {known}")
        for scale in members:
            if all_steps and scale.depth != "all":
                scale = Scale(scale.name, scale.cities, scale.months, "all", scale.start_year)
            if scale.name not in {s.name for s in out}:
                out.append(scale)
    return out
