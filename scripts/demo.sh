#!/usr/bin/env bash
# The local demo: replay server for the APIs, then every pipeline step built so far.
set -euo pipefail
cd "$(dirname "$0")/.."
UV="$(command -v uv || echo python3 -m uv)"
$UV run --frozen lakehouse version
