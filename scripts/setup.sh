#!/usr/bin/env bash
# Runs every step of scripts/setup.d in order. Each step is idempotent and quick once done,
# so `make test` on a prepared machine costs nothing here.
set -euo pipefail
cd "$(dirname "$0")/.."
for step in scripts/setup.d/*.sh; do
  [ -e "$step" ] || continue
  echo "setup: $(basename "$step")"
  bash "$step"
done
