#!/usr/bin/env bash
# The local demo (`make demo`): a replay server stands in for the source APIs, `lakehouse run`
# takes every source through landing, bronze, the gates, dbt, publish and the site (a fixed
# backfill week plus the recent window), `lakehouse status` shows each layer, and the last
# lines say where to look. Nothing here needs the internet or a cloud account.
#
# Sourcing this file (`source scripts/demo.sh`) defines its functions without running the demo;
# tests/unit/test_setup_purposes.py uses that to check that the replay server is stopped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV="$(command -v uv || echo python3 -m uv)"
lakehouse() { $UV run --frozen lakehouse "$@"; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# ---------------------------------------------------------------- Replay server
replay_pid=""
replay_out=""

# Starts the replay server on a free port; sets replay_pid and url. The server is started with
# the environment's own Python, not through `uv run`: `uv run` stays as the parent of the
# server, so killing the pid of a backgrounded `uv run` would leave the server running.
start_replay_server() {
  local python
  python="$($UV run --frozen python -c 'import sys; print(sys.executable)')"
  replay_out="$(mktemp)"
  "$python" -m lakehouse.cli.app replay-server --port 0 >"$replay_out" 2>/dev/null &
  replay_pid=$!
  url=""
  for _ in $(seq 1 120); do
    url="$(head -n 1 "$replay_out" 2>/dev/null || true)"
    [[ "$url" == http://* ]] && return 0
    if ! kill -0 "$replay_pid" 2>/dev/null; then
      echo "demo: the replay server did not start; run 'uv run lakehouse replay-server --port 0' to see why" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "demo: no replay server URL after 60 s" >&2
  return 1
}

# Stops the replay server (the process itself, see above) and waits until it is gone.
stop_replay_server() {
  if [[ -n "$replay_pid" ]]; then
    kill "$replay_pid" 2>/dev/null || true
    wait "$replay_pid" 2>/dev/null || true
    replay_pid=""
  fi
  if [[ -n "$replay_out" ]]; then
    rm -f "$replay_out"
    replay_out=""
  fi
}

main() {
  # The week before the recent window, so each city's hours run without a gap from the
  # backfill into the recent fetch (the gates reject a series with a missing hour).
  BACKFILL_START="${DEMO_START_DATE:-$(date -u -d '7 days ago' +%F)}"
  BACKFILL_END="${DEMO_END_DATE:-$(date -u -d '1 day ago' +%F)}"
  export LAKEHOUSE_LAKE_ROOT="${LAKEHOUSE_LAKE_ROOT:-.lake}"
  # The replay server's Amadeus credentials (flight fares); never real ones.
  export LAKEHOUSE_FLIGHTS_CLIENT_ID=replay-client-id
  export LAKEHOUSE_FLIGHTS_CLIENT_SECRET=replay-client-secret
  # Flows run on a throwaway local Prefect server with its own home, never on a Prefect Cloud
  # workspace a developer may be logged in to.
  export PREFECT_HOME="${LAKEHOUSE_LAKE_ROOT}/_state/prefect-home"
  unset PREFECT_API_URL PREFECT_API_KEY PREFECT_PROFILE
  # The temporary server gets more than Prefect's default 20 s to start on a busy laptop.
  export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-180}"
  mkdir -p "$PREFECT_HOME"

  step "starting the replay server (Open-Meteo formats, deterministic data)"
  trap stop_replay_server EXIT
  trap 'stop_replay_server; exit 130' INT
  trap 'stop_replay_server; exit 143' TERM
  start_replay_server || exit 1
  echo "replay server: $url"

  # -------------------------------------------------------------- Pipeline
  step "lakehouse run: backfill ${BACKFILL_START}..${BACKFILL_END} plus the recent window"
  started=$SECONDS
  if ! lakehouse run --base-url "$url" --start-date "$BACKFILL_START" --end-date "$BACKFILL_END"; then
    echo >&2
    echo "demo: the pipeline failed; the message above names the step and the reason." >&2
    echo "      'uv run lakehouse status' shows where each layer stands; the published gold is unchanged." >&2
    exit 1
  fi

  step "lakehouse status"
  lakehouse status

  # -------------------------------------------------------------- Where to look
  site="${LAKEHOUSE_LAKE_ROOT}/site/index.html"
  step "done in $((SECONDS - started)) s; where to look"
  cat <<HINTS
  site (dashboards, dbt docs, data docs):  ${site}   or: uv run lakehouse serve
  gold with SQL:   uv run lakehouse sql "select * from agg_weather_city_summary"
  each layer:      uv run lakehouse status
  the lake:        ${LAKEHOUSE_LAKE_ROOT}/{landing,bronze,quarantine,gold}
  run it again:    make demo   (a re-run does only new work)
  kafka broker:    uv run lakehouse kafka stop   (started for the events stream; a re-run reuses it)
HINTS
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
