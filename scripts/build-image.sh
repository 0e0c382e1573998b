#!/usr/bin/env bash
# Build the project's image (Dockerfile) with buildah, no Docker daemon, and smoke-test it:
# `lakehouse --help`, then inside the container the weather ingest flow against the replay
# server (which the image also carries) into a lake folder there, and the bronze job on that
# landing with the Spark, Java and jars of the image.
#
#   scripts/build-image.sh                 # FROM python:3.11-slim-bookworm (pulled from a registry)
#   scripts/build-image.sh --local-base    # FROM a base built here from Debian packages
#   scripts/build-image.sh --no-smoke --tag lakehouse:1.2.3
#
# --local-base is for machines that reach Debian's mirror and the package registries but no
# container registry: debootstrap makes a Debian bookworm root with its python3 (3.11, the
# version python:3.11-slim-bookworm has) and pip, the machine's own extra CA certificates
# (/usr/local/share/ca-certificates, for egress through a TLS-inspecting proxy) and
# UV_SYSTEM_CERTS=1 so uv trusts them too; it is imported once as localhost/lakehouse-base and
# reused. Images are built and run with chroot isolation (no user namespaces, no rlimit changes)
# so this works inside an unprivileged container as well; builds use buildah's layer cache.
#
# Needs: buildah; with --local-base also debootstrap (Debian: apt-get install buildah
# debootstrap) and root. Not part of `make test`: tests/e2e/test_image.py runs it when asked.
set -euo pipefail
cd "$(dirname "$0")/.."

tag="localhost/lakehouse:dev"
local_base=0
smoke=1
suite="bookworm"
# Empty: debootstrap's own default mirror; DEBIAN_MIRROR names another.
mirror="${DEBIAN_MIRROR:-}"
base_tag="localhost/lakehouse-base:${suite}"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --local-base) local_base=1 ;;
    --rebuild-base) local_base=2 ;;
    --tag) tag="$2"; shift ;;
    --no-smoke) smoke=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "build-image: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "build-image: $1 not found; on Debian: apt-get install $2" >&2
    exit 1
  }
}
need buildah buildah
log() { printf 'build-image: %s\n' "$*" >&2; }

# ------------------------------------------------------------------ Base from Debian packages
build_local_base() {
  need debootstrap debootstrap
  if [[ "$(id -u)" != 0 ]]; then
    echo "build-image: --local-base runs debootstrap, which needs root" >&2
    exit 1
  fi
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  log "debootstrap $suite (minbase + python3) from ${mirror:-the default mirror}"
  debootstrap --variant=minbase \
    --include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates \
    "$suite" "$work/rootfs" ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    exit 1
  }
  # The machine's extra CAs: package downloads during the build go through the same egress.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$work/rootfs/usr/local/share/ca-certificates/"
  fi
  chroot "$work/rootfs" update-ca-certificates >/dev/null
  # As in the python images: pip may install into this interpreter (the Dockerfile installs uv
  # with it); the project itself goes into its own virtual environment.
  rm -f "$work/rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
  chroot "$work/rootfs" apt-get clean
  rm -rf "$work/rootfs"/var/lib/apt/lists/*
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  local ctr
  ctr="$(buildah from scratch)"
  buildah add --quiet "$ctr" "$work/rootfs.tar" / >/dev/null
  buildah config --env UV_SYSTEM_CERTS=1 --env LANG=C.UTF-8 --cmd python3 \
    --label "org.opencontainers.image.description=Debian $suite with python3, built by debootstrap" \
    "$ctr"
  buildah run --isolation chroot "$ctr" -- python3 --version
  buildah commit --quiet --rm "$ctr" "$base_tag" >/dev/null
  log "base image $base_tag"
}

build_args=()
if [[ "$local_base" != 0 ]]; then
  if [[ "$local_base" == 2 ]] || ! buildah inspect --type image "$base_tag" >/dev/null 2>&1; then
    build_local_base
  else
    log "reusing base image $base_tag (--rebuild-base to make it again)"
  fi
  build_args+=(--build-arg "PYTHON_IMAGE=$base_tag")
fi

# ------------------------------------------------------------------ The project's image
log "building $tag"
started=$SECONDS
# --format docker: the OCI format drops the Dockerfile's SHELL (bash with pipefail).
buildah bud --format docker --isolation chroot --layers "${build_args[@]}" -t "$tag" .
log "built $tag in $((SECONDS - started)) s"

[[ "$smoke" == 1 ]] || exit 0

# ------------------------------------------------------------------ Smoke test
ctr="$(buildah from "$tag")"
cleanup() { buildah rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT
run() { buildah run --isolation chroot "$ctr" -- "$@"; }

log "smoke: lakehouse --help"
run lakehouse --help >/dev/null

log "smoke: weather ingest against the replay server and bronze, inside the container"
# The replay server and the flows run in the container as its user (10001), the lake in /tmp.
run bash -c '
  set -euo pipefail
  export LAKEHOUSE_LAKE_ROOT=/tmp/lake
  lakehouse replay-server --port 0 >/tmp/replay.url 2>/dev/null &
  replay=$!
  trap "kill $replay" EXIT
  for _ in $(seq 1 120); do
    url="$(head -n 1 /tmp/replay.url 2>/dev/null || true)"
    [[ "$url" == http://* ]] && break
    sleep 0.5
  done
  [[ "$url" == http://* ]] || { echo "no replay server URL" >&2; exit 1; }
  echo "user: $(id -u)"
  lakehouse ingest weather --base-url "$url" --start-date 2024-01-01 --end-date 2024-01-01
  lakehouse bronze weather
  echo "bronze parquet files: $(find /tmp/lake/bronze -name "*.parquet" | wc -l)"
'
log "smoke passed"
