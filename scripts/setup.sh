#!/usr/bin/env bash
# Installs what a purpose needs, by running its steps from scripts/setup.d in file order:
#
#   scripts/setup.sh demo    what `make demo` runs: the jars of local Spark (Delta, Kafka
#                            connector) and of the Kafka broker, the map's world outlines
#   scripts/setup.sh bench   what `make bench` runs: the demo's steps plus the Debian packages of
#                            the files and analyst benchmarks (ReadStat writes the SAS files;
#                            PostgreSQL with psqlODBC and unixODBC serves the ODBC sessions)
#   scripts/setup.sh lint    what `make lint` runs: Terraform (built from source) and checkov
#   scripts/setup.sh test    what `make test` runs: all of the above plus the Debian packages
#                            the tests start for real (PostgreSQL, psqlODBC, Chromium) and
#                            the Kafka broker's jars
#   scripts/setup.sh [all]   every step (`make setup`)
#   scripts/setup.sh --list PURPOSE...   print the steps, run nothing
#
# Several purposes may be given; a step shared by them runs once. The Python environment itself
# comes from `uv sync` (`make dev`), which every make target runs first. Each step is idempotent
# and quick once done, so `make test` on a prepared machine costs nothing here.
set -euo pipefail
cd "$(dirname "$0")/.."

# The steps of each purpose (file names in scripts/setup.d). A new step goes into every purpose
# that needs it; tests/unit/test_setup_purposes.py checks that each step has at least one.
declare -A STEPS=(
  [demo]="20-spark-jars.sh 25-kafka-jars.sh 35-world-atlas.sh"
  [bench]="10-system-packages.sh 20-spark-jars.sh 25-kafka-jars.sh 35-world-atlas.sh"
  [lint]="30-terraform.sh 40-checkov.sh"
  [test]="10-system-packages.sh 20-spark-jars.sh 25-kafka-jars.sh 30-terraform.sh 35-world-atlas.sh 40-checkov.sh"
)

usage() {
  echo "usage: scripts/setup.sh [--list] [all|demo|bench|lint|test]..." >&2
  exit 2
}

list_only=false
if [ "${1:-}" = --list ]; then
  list_only=true
  shift
fi
purposes=("$@")
[ ${#purposes[@]} -eq 0 ] && purposes=(all)
selected=()
for purpose in "${purposes[@]}"; do
  if [ "$purpose" = all ]; then
    for step in scripts/setup.d/*.sh; do
      [ -e "$step" ] && selected+=("$(basename "$step")")
    done
  elif [ -n "${STEPS[$purpose]+set}" ]; then
    read -r -a listed <<<"${STEPS[$purpose]}"
    selected+=("${listed[@]}")
  else
    echo "setup: unknown purpose '$purpose'" >&2
    usage
  fi
done

# Once each, in file order.
mapfile -t ordered < <(printf '%s\n' "${selected[@]}" | LC_ALL=C sort -u)
for name in "${ordered[@]}"; do
  [ -n "$name" ] || continue
  if $list_only; then
    echo "$name"
    continue
  fi
  echo "setup: $name"
  bash "scripts/setup.d/$name"
done
