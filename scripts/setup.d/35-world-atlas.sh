#!/usr/bin/env bash
# World land outlines for the site's offline map: Natural Earth 1:110m land from the npm package
# world-atlas (TopoJSON), fetched once with npm into
# ${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse}/world-atlas/<version>/ (lakehouse/site/world.py).
# The site draws it as inline SVG: no tile server, no CDN. Quick once cached.
set -euo pipefail
cd "$(dirname "$0")/../.."
UV=$(command -v uv 2>/dev/null || echo "python3 -m uv")
$UV run --frozen python -m lakehouse.site.world
