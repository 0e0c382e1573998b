"""World land outlines for the site's map, drawn as inline SVG (no tile server, no CDN).

The geometry is Natural Earth's 1:110m land as TopoJSON from the npm package ``world-atlas``
(:data:`VERSION`), fetched once with ``npm pack`` into
``${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse}/world-atlas/<version>/land-110m.json``
(``python -m lakehouse.site.world``, a step of the project's setup). :func:`land_path` decodes
the quantized, delta-encoded arcs and returns one SVG path in the equirectangular projection
of :func:`project` (x = longitude + 180, y = 90 - latitude, a 360 x 180 view box). A ring is
broken where it jumps across the antimeridian, so no line crosses the whole map.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "world-atlas"
VERSION = "2.0.2"
FILE = "land-110m.json"


def cache_dir() -> Path:
    base = Path(os.environ.get("LAKEHOUSE_CACHE_DIR") or Path.home() / ".cache" / "lakehouse")
    return base / PACKAGE / VERSION


def land_file() -> Path | None:
    """The cached TopoJSON, or None when setup has not fetched it."""
    path = cache_dir() / FILE
    return path if path.is_file() else None


def fetch() -> Path:
    """``npm pack world-atlas@VERSION`` and keep its land file in the cache."""
    target = cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"],
            cwd=tmp, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            member = tar.extractfile(f"package/{FILE}")
            if member is None:
                raise FileNotFoundError(f"{FILE} is missing from {PACKAGE}@{VERSION}")
            partial = target / f".{FILE}.part"
            with partial.open("wb") as out:
                shutil.copyfileobj(member, out)
            partial.replace(target / FILE)
    return target / FILE


def project(lat: float, lon: float) -> tuple[float, float]:
    """Equirectangular position in the 360 x 180 view box."""
    return (round(lon + 180.0, 2), round(90.0 - lat, 2))


def _arcs(topology: dict) -> list[list[tuple[float, float]]]:
    scale = topology.get("transform", {}).get("scale", [1, 1])
    shift = topology.get("transform", {}).get("translate", [0, 0])
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * scale[0] + shift[0], y * scale[1] + shift[1]))
        arcs.append(points)
    return arcs


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    ring: list[tuple[float, float]] = []
    for i in indexes:
        points = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        ring.extend(points[1:] if ring else points)
    return ring


def _polygons(geometry: dict) -> list[list[list[int]]]:
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["arcs"]
    if geometry["type"] == "GeometryCollection":
        return [p for g in geometry["geometries"] for p in _polygons(g)]
    return []


def land_path(path: Path | None = None) -> str:
    """The land outlines as the ``d`` of one SVG path ('' when the file is not cached)."""
    path = path or land_file()
    if path is None:
        return ""
    topology = json.loads(path.read_text(encoding="utf-8"))
    arcs = _arcs(topology)
    parts: list[str] = []
    for obj in topology["objects"].values():
        for polygon in _polygons(obj):
            for indexes in polygon:
                previous = None
                for lon, lat in _ring(arcs, indexes):
                    x, y = project(lat, lon)
                    jump = previous is None or abs(lon - previous) > 180
                    parts.append(f"{'M' if jump else 'L'}{x:g},{y:g}")
                    previous = lon
    return "".join(parts)


def main() -> int:
    if land_file():
        print(f"world atlas: cached ({PACKAGE}@{VERSION} {FILE})")
        return 0
    try:
        path = fetch()
    except (OSError, subprocess.SubprocessError, StopIteration) as exc:
        print(f"world atlas: could not fetch {PACKAGE}@{VERSION} with npm: {exc}", file=sys.stderr)
        return 1
    print(f"world atlas: cached {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
