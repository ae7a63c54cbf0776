#!/usr/bin/env bash
# A whole cluster on this machine: a private Redis (or a Sentinel group, or
# a Redis Cluster), K nodes (each a master with its workers, on its own port
# and --node name) and HAProxy in front of them, run with
# deploy/haproxy/haproxy.cfg. Installs what is missing, builds,
# prints the one URL to use; Ctrl-C stops everything it started.
#
#   scripts/cluster.sh                        # 2 nodes x 2 workers behind http://localhost:8000/
#   NODES=3 WORKERS=1 PORT=9000 scripts/cluster.sh
#   scripts/cluster.sh --log-level debug      # more switchboard flags, for every node
#   scripts/cluster.sh --redis-mode sentinel  # Redis under Sentinel: a primary, a replica, 3 sentinels
#   scripts/cluster.sh --redis-mode cluster   # a Redis Cluster: 3 primaries, each with a replica
#
# Ports, all on 127.0.0.1: PORT (HAProxy, default 8000), PORT+1 .. PORT+NODES
# (the nodes), PORT+379 (Redis, unless REDIS_URL names one; with sentinel:
# PORT+379 the primary, PORT+380 its replica, PORT+381..383 the sentinels,
# master name "switchboard"; with cluster: PORT+379..384 the six cluster
# nodes, PORT+385..390 their cluster bus), PORT+404 (HAProxy's stats page).
# BIND=0.0.0.0 opens HAProxy's port to the network. `kill -TERM <node pid>`
# drains one node: HAProxy takes it out of the rotation and its clients
# reconnect to the others. With sentinel, `redis-cli -p PORT+381 SENTINEL
# FAILOVER switchboard` fails the primary over; the nodes follow it by
# themselves. With cluster, `CLUSTER FAILOVER` sent to a replica (`redis-cli
# -p PORT+379 CLUSTER NODES` says which are) or a primary killed (its
# replica takes over after 1 s) moves a shard; the nodes follow the slot map.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
esac

# --redis-mode is this script's; every other argument goes to the nodes.
redis_mode=single
node_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --redis-mode)
      [ $# -ge 2 ] || die "--redis-mode needs single, sentinel or cluster"
      redis_mode="$2"
      shift ;;
    --redis-mode=*) redis_mode="${1#*=}" ;;
    *) node_args+=("$1") ;;
  esac
  shift
done
case "$redis_mode" in
  single|sentinel|cluster) ;;
  *) die "--redis-mode must be single, sentinel or cluster, not '$redis_mode'" ;;
esac

NODES="${NODES:-2}"
WORKERS="${WORKERS:-2}"
PORT="${PORT:-8000}"
BIND="${BIND:-127.0.0.1}"
[[ "$NODES" =~ ^[1-9][0-9]?$ ]] || die "NODES must be 1 to 99"
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1024 ] || [ "$PORT" -gt 65000 ]; then
  die "PORT must be 1024 to 65000"
fi

install_packages "${SWITCHBOARD_PACKAGES[@]}"
configure_and_build "$SWITCHBOARD_ROOT/build" RelWithDebInfo -DSWITCHBOARD_SANITIZE=OFF -- switchboard
binary="$SWITCHBOARD_ROOT/build/server/switchboard"
haproxy="$(command -v haproxy || echo /usr/sbin/haproxy)"
[ -x "$haproxy" ] || die "haproxy is not installed"

# Logs and the rendered HAProxy configuration.
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-cluster.XXXXXX")"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Every child in a process group of its own: Ctrl-C reaches this script
# only, and cleanup stops the children in order (nodes drain first, while
# HAProxy still carries their goodbyes to the clients).
set -m
redis_pid=""
sentinel_pids=()  # with --redis-mode sentinel: the replica and the sentinels
redis_sentinel_pids=()  # the same, with the primary first, as lib.sh starts them
redis_cluster_pids=()  # with --redis-mode cluster: the six cluster nodes
haproxy_pid=""
node_pids=()
declare -A node_names=()  # pid -> node name

cleanup() {
  trap - INT TERM EXIT
  local pid
  if [ ${#node_pids[@]} -gt 0 ]; then
    say "draining the nodes"
    for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${node_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  fi
  stop_process "$haproxy_pid"
  for pid in "${sentinel_pids[@]}" "${redis_sentinel_pids[@]}"; do stop_process "$pid"; done
  for pid in "${redis_cluster_pids[@]}"; do stop_process "$pid"; done
  stop_process "$redis_pid"
  say "stopped; logs are in $run_dir"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# Redis: the one given, or a private one without persistence (with
# sentinel: a primary, its replica and three sentinels watching them,
# lib.sh's start_redis_sentinel; with cluster: six cluster nodes, lib.sh's
# start_redis_cluster).
if [ -z "${REDIS_URL:-}" ] && [ "$redis_mode" = cluster ]; then
  for p in $(seq $((PORT + 379)) $((PORT + 390))); do
    port_in_use "$p" && die "port $p (Redis Cluster) is taken; set PORT"
  done
  say "starting a Redis Cluster on ports $((PORT + 379))-$((PORT + 384))"
  start_redis_cluster "$run_dir/redis-cluster" $((PORT + 379)) $((PORT + 385))
  export REDIS_URL="$redis_cluster_url"
elif [ -z "${REDIS_URL:-}" ] && [ "$redis_mode" = sentinel ]; then
  for p in $(seq $((PORT + 379)) $((PORT + 383))); do
    port_in_use "$p" && die "port $p (Redis under Sentinel) is taken; set PORT"
  done
  start_redis_sentinel "$run_dir" $((PORT + 379))
  # The primary is watched as Redis itself; the rest as the sentinel group.
  redis_pid="${redis_sentinel_pids[0]}"
  sentinel_pids=("${redis_sentinel_pids[@]:1}")
  export REDIS_URL="$redis_sentinel_url"
elif [ -z "${REDIS_URL:-}" ]; then
  redis_port=$((PORT + 379))
  port_in_use "$redis_port" && die "port $redis_port (Redis) is taken; set PORT or REDIS_URL"
  start_private_redis "$redis_port" "$run_dir/redis.log"
  wait_for_redis "$redis_port" 5 "$run_dir/redis.log"
  export REDIS_URL="redis://127.0.0.1:$redis_port"
fi
say "Redis: $REDIS_URL"

# The nodes. Defaults go through the environment, so that flags given to
# this script win instead of clashing. The drain notice covers HAProxy's
# health checks (1 s apart, 500 ms after a failure, out after two): a
# stopping node answers 503 for 2 s while it still serves, and HAProxy has
# stopped sending it clients by the time it closes them.
export SWITCHBOARD_WORKERS="$WORKERS"
export SWITCHBOARD_DRAIN_NOTICE_SECONDS="${SWITCHBOARD_DRAIN_NOTICE_SECONDS:-2}"
export SWITCHBOARD_DRAIN_SECONDS="${SWITCHBOARD_DRAIN_SECONDS:-5}"
for i in $(seq "$NODES"); do
  port=$((PORT + i))
  port_in_use "$port" && die "port $port (node$i) is taken; set PORT"
  "$binary" --bind 127.0.0.1 --port "$port" --node "node$i" "${node_args[@]}" >"$run_dir/node$i.log" 2>&1 &
  node_pids+=($!)
  node_names[$!]="node$i"
  export "SB_NODE$i=127.0.0.1:$port"
done
for i in $(seq "$NODES"); do
  wait_healthy "http://127.0.0.1:$((PORT + i))/healthz" "${node_pids[$((i - 1))]}" 10 \
    || die "node$i did not start; its log:"$'\n'"$(tail -n 20 "$run_dir/node$i.log")"
done

# HAProxy with the shipped file, its one "server node1" line repeated for
# every node (the file lists two).
config="$run_dir/haproxy.cfg"
awk -v nodes="$NODES" '
  /^[[:space:]]*server node1[[:space:]]/ {
    for (i = 1; i <= nodes; ++i) {
      line = $0
      gsub(/node1/, "node" i, line)
      gsub(/SB_NODE1/, "SB_NODE" i, line)
      print line
    }
    next
  }
  /^[[:space:]]*server node[0-9]+[[:space:]]/ { next }
  { print }
' "$SWITCHBOARD_ROOT/deploy/haproxy/haproxy.cfg" >"$config"
port_in_use "$PORT" && die "port $PORT (HAProxy) is taken; set PORT"
export SB_LISTEN="$BIND:$PORT" SB_STATS="127.0.0.1:$((PORT + 404))"
unset SB_USER
"$haproxy" -c -q -f "$config" || die "haproxy rejects $config"
"$haproxy" -db -f "$config" >"$run_dir/haproxy.log" 2>&1 &
haproxy_pid=$!
wait_healthy "http://127.0.0.1:$PORT/healthz" "$haproxy_pid" 10 \
  || die "haproxy did not start; its log:"$'\n'"$(tail -n 20 "$run_dir/haproxy.log")"

say "nodes (pid, port):"
for i in $(seq "$NODES"); do say "  node$i  ${node_pids[$((i - 1))]}  127.0.0.1:$((PORT + i))"; done
say "HAProxy stats: http://127.0.0.1:$((PORT + 404))/   logs: $run_dir"
say "Switchboard cluster of $NODES nodes x $WORKERS workers: open http://localhost:$PORT/ (WebSocket endpoint ws://localhost:$PORT/ws); Ctrl-C stops it"

# Until Ctrl-C: a node that exits is reported (it may have been drained on
# purpose); HAProxy or Redis exiting ends the cluster.
while true; do
  status=0
  exited=""
  wait -n -p exited || status=$?
  [ -n "$exited" ] || continue
  [ "$exited" = "$haproxy_pid" ] && { haproxy_pid=""; die "haproxy exited with status $status; see $run_dir/haproxy.log"; }
  # With Sentinel a primary that exits is failed over, and the nodes follow.
  if [ "$exited" = "$redis_pid" ]; then
    redis_pid=""
    [ "$redis_mode" = sentinel ] && { say "the Redis primary exited; the sentinels fail over to the replica"; continue; }
    die "redis-server exited with status $status; see $run_dir/redis.log"
  fi
  # A cluster node that exits: its replica takes its slots over (or, a replica, nothing changes).
  if [[ " ${redis_cluster_pids[*]} " == *" $exited "* ]]; then
    say "a Redis Cluster node (pid $exited) exited with status $status; see $run_dir/redis-cluster"
    continue
  fi
  name="${node_names[$exited]:-}"
  [ -n "$name" ] || continue
  say "$name (pid $exited) exited with status $status; HAProxy sends its clients to the other nodes"
  alive=()
  for pid in "${node_pids[@]}"; do [ "$pid" = "$exited" ] || alive+=("$pid"); done
  node_pids=("${alive[@]}")
done
