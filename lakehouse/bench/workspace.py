"""Where one scale's benchmark data lives, and the derived contract that names its cities.

``<work>/<scale>/lake`` is a complete lake: its landing is generated once and reused while the
generator and scale are unchanged (``<work>/<scale>/landing.json`` records that); every other
layer, the run state and the baseline's output are wiped before each run, so a run never
starts from a previous run's tables. ``<work>/contracts/<scale>/`` holds the source contracts
with the weather contract's targets (cities) extended to the scale's synthetic ones;
``LAKEHOUSE_CONTRACTS_DIR`` points every part (Spark, gates, dbt) at it while the scale runs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from lakehouse.bench.generate import ENTITY, SOURCE, bench_cities
from lakehouse.contracts import CONTRACTS_DIR, CONTRACTS_DIR_ENV, load_contract
from lakehouse.lake import Lake
from lakehouse.settings import Settings


@dataclass(frozen=True)
class ScaleWorkspace:
    """Folders of one scale's run."""

    root: Path

    @property
    def lake(self) -> Lake:
        return Lake(self.root / "lake")

    @property
    def manifest(self) -> Path:
        return self.root / "landing.json"

    @property
    def baseline_table(self) -> Path:
        return self.root / "duckdb" / f"{SOURCE}__{ENTITY}"

    @property
    def baseline_state(self) -> Path:
        return self.root / "duckdb" / "_state"

    @property
    def contracts(self) -> Path:
        return self.root / "contracts"

    def settings(self, base: Settings) -> Settings:
        """``base`` with this workspace's lake as the lake root."""
        return base.model_copy(update={"lake_root": self.lake.root})

    def reset(self) -> None:
        """Remove everything but the landing (objects and their digest markers)."""
        lake = self.lake
        keep = {lake.layer("landing"), lake.state}
        if lake.root.exists():
            for child in lake.root.iterdir():
                if child not in keep:
                    _remove(child)
        if lake.state.exists():
            for child in lake.state.iterdir():
                if child.name != "landing":
                    _remove(child)
        _remove(self.root / "duckdb")

    def write_contracts(self, cities: int) -> Path:
        """The benchmarked source's contract alone, listing the scale's ``cities`` cities.

        Other sources are left out: their models are enabled only with their contracts, and
        the benchmark lands, loads and builds this one source.
        """
        folder = self.contracts
        _remove(folder)
        folder.mkdir(parents=True)
        document = yaml.safe_load((CONTRACTS_DIR / f"{SOURCE}.yml").read_text(encoding="utf-8"))
        document["source"]["targets"]["items"] = [
            asdict(c) for c in bench_cities(load_contract(SOURCE, CONTRACTS_DIR), cities)
        ]
        (folder / f"{SOURCE}.yml").write_text(
            yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
        )
        return folder


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


@contextmanager
def contracts_from(folder: Path) -> Iterator[None]:
    """Point ``LAKEHOUSE_CONTRACTS_DIR`` at ``folder`` for the block, then restore it."""
    previous = os.environ.get(CONTRACTS_DIR_ENV)
    os.environ[CONTRACTS_DIR_ENV] = str(folder)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(CONTRACTS_DIR_ENV, None)
        else:
            os.environ[CONTRACTS_DIR_ENV] = previous
