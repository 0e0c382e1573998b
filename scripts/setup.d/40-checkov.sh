#!/usr/bin/env bash
# checkov, pinned, in its own tool environment: its dependencies (boto3, networkx, ...) would
# fight the project's lock file if it shared the project's virtualenv.
set -euo pipefail
version=3.3.30
cache="${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse}"
bin_dir="$cache/bin"
if [ -x "$bin_dir/checkov" ] && [ "$("$bin_dir/checkov" --version 2>/dev/null)" = "$version" ]; then
  exit 0
fi
uv_cmd=(uv)
command -v uv >/dev/null 2>&1 || uv_cmd=(python3 -m uv)
echo "setup: installing checkov $version into $cache/tools"
UV_TOOL_DIR="$cache/tools" UV_TOOL_BIN_DIR="$bin_dir" \
  "${uv_cmd[@]}" tool install --force --python 3.11 "checkov==$version" >/dev/null
"$bin_dir/checkov" --version
