#!/usr/bin/env bash
# Checks of terraform/ that run without provider downloads (so no `terraform validate`):
# formatting, generated README tables, the offline AWS provider schema check, and checkov with
# zero failed checks. Skips are made
# inline (#checkov:skip=ID:reason) next to the resource they concern, never here.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir="${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse}/bin"

terraform_bin="$bin_dir/terraform"
[ -x "$terraform_bin" ] || terraform_bin="$(command -v terraform || true)"
if [ -z "$terraform_bin" ]; then
  echo "lint-terraform: terraform not found; run make setup" >&2
  exit 1
fi
checkov_bin="$bin_dir/checkov"
[ -x "$checkov_bin" ] || checkov_bin="$(command -v checkov || true)"
if [ -z "$checkov_bin" ]; then
  echo "lint-terraform: checkov not found; run make setup" >&2
  exit 1
fi

echo "lint-terraform: terraform fmt -check"
"$terraform_bin" fmt -check -recursive -diff terraform

echo "lint-terraform: README tables"
uv run --frozen python scripts/tfdocs.py --check

# The schema check is the team's shared tool beside the checkout (../shared/tools/tfschema), not
# part of this repository; TFSCHEMA_CHECK points at it elsewhere. It runs on the project's
# python-hcl2 (the version it needs is the one uv.lock pins).
tfschema="${TFSCHEMA_CHECK:-../shared/tools/tfschema/check.py}"
if [ -f "$tfschema" ]; then
  echo "lint-terraform: provider schema ($tfschema)"
  uv run --frozen python "$tfschema" terraform
else
  echo "lint-terraform: provider schema check skipped: $tfschema not found (set TFSCHEMA_CHECK)"
fi

echo "lint-terraform: checkov"
# BC_SKIP_MAPPING: do not fetch guideline links from the vendor's API (no network here).
BC_SKIP_MAPPING=TRUE "$checkov_bin" --directory terraform --framework terraform \
  --compact --quiet --skip-download
