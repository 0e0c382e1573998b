#!/usr/bin/env bash
# Terraform 1.5.7 for `terraform fmt -check` (make lint, tests). Release binaries cannot be
# downloaded on every machine, but Go modules can: build it once into the tool cache.
# The first build takes several minutes; afterwards this step returns at once.
set -euo pipefail
version=1.5.7
bin_dir="${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse}/bin"
if [ -x "$bin_dir/terraform" ] && "$bin_dir/terraform" version 2>/dev/null | head -1 | grep -q "v$version"; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go is needed to build terraform $version (apt-get install golang-go)" >&2
  exit 1
fi
mkdir -p "$bin_dir"
echo "setup: building terraform $version into $bin_dir (several minutes, once)"
GOBIN="$bin_dir" GOFLAGS=-buildvcs=false go install "github.com/hashicorp/terraform@v$version"
"$bin_dir/terraform" version | head -1
