#!/usr/bin/env bash
# Debian packages the project runs for real: PostgreSQL (the local warehouse), psqlODBC with
# unixODBC (BI over ODBC), Chromium with its driver (site tests) and ReadStat (its writer makes
# the SAS7BDAT files of the immigration generator; its reader checks them in tests).
set -euo pipefail
packages=(postgresql odbc-postgresql unixodbc unixodbc-dev chromium chromium-driver readstat)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "setup: please install: ${missing[*]} (apt-get install)" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
