#!/usr/bin/env bash
# Installs what is missing, builds, makes sure a Redis is reachable (starting
# a private one on 127.0.0.1:6379 when REDIS_URL is unset and none answers),
# and runs one node in the foreground. Ctrl-C stops everything it started.
#
#   scripts/run.sh                      # port 8080, one worker per core
#   PORT=9000 WORKERS=4 scripts/run.sh  # or pass switchboard flags: scripts/run.sh --node a
#
# With auth: give it a secret, then mint a token and open the demo with it
#   export SWITCHBOARD_AUTH_SECRET=$(openssl rand -hex 32)
#   scripts/run.sh
#   scripts/token.sh --sub alice --claims '{"rooms":["*"],"publish":["*"]}'
#   open http://localhost:8080/?token=<the token>
# With the backend API: SWITCHBOARD_API_KEY=<16+ bytes> scripts/run.sh
# Every room keeps its last 100 messages for recovery after a reconnect,
# unless SWITCHBOARD_HISTORY_ROOMS says otherwise (e.g. '' for none); the
# private Redis keeps them across its restarts (AOF in build/redis-data).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_packages "${SWITCHBOARD_PACKAGES[@]}"
configure_and_build "$SWITCHBOARD_ROOT/build" RelWithDebInfo -DSWITCHBOARD_SANITIZE=OFF -- switchboard

PORT="${PORT:-8080}"
WORKERS="${WORKERS:-$(nproc)}"
redis_pid=""
node_pid=""

cleanup() {
  trap - INT TERM EXIT
  stop_process "$node_pid"
  stop_process "$redis_pid"
}
trap cleanup INT TERM EXIT

if [ -z "${REDIS_URL:-}" ]; then
  if redis_answers 6379; then
    say "using the Redis on 127.0.0.1:6379"
  else
    say "starting a private Redis on 127.0.0.1:6379 (append-only file in build/redis-data)"
    redis_aof_dir="$SWITCHBOARD_ROOT/build/redis-data" start_private_redis 6379 "$SWITCHBOARD_ROOT/build/redis.log"
    wait_for_redis 6379 5 build/redis.log
  fi
  export REDIS_URL="redis://127.0.0.1:6379"
fi

export SWITCHBOARD_HISTORY_ROOMS="${SWITCHBOARD_HISTORY_ROOMS-*}"
"$SWITCHBOARD_ROOT/build/server/switchboard" --port "$PORT" --workers "$WORKERS" "$@" &
node_pid=$!
# Alive but not answering yet after 5 s: left to come up in the foreground.
wait_healthy "http://127.0.0.1:$PORT/healthz" "$node_pid" 5 ||
  kill -0 "$node_pid" 2>/dev/null || { node_pid=""; die "switchboard did not start"; }
say "Switchboard is running: open http://localhost:$PORT/ (WebSocket endpoint ws://localhost:$PORT/ws); Ctrl-C stops it"
if [ -n "${SWITCHBOARD_AUTH_SECRET:-}" ]; then
  say "auth is on: every connection needs a token; scripts/token.sh --sub <user> mints one, then open http://localhost:$PORT/?token=<token>"
fi
wait "$node_pid" || true
node_pid=""
