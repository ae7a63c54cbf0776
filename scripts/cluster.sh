#!/usr/bin/env bash
# A whole cluster on this machine: a private Redis, K nodes (each a master
# with its workers, on its own port and --node name) and HAProxy in front of
# them, run with deploy/haproxy/haproxy.cfg. Installs what is missing, builds,
# prints the one URL to use; Ctrl-C stops everything it started.
#
#   scripts/cluster.sh                        # 2 nodes x 2 workers behind http://localhost:8000/
#   NODES=3 WORKERS=1 PORT=9000 scripts/cluster.sh
#   scripts/cluster.sh --log-level debug      # more switchboard flags, for every node
#   scripts/cluster.sh --redis-mode sentinel  # Redis under Sentinel: a primary, a replica, 3 sentinels
#
# Ports, all on 127.0.0.1: PORT (HAProxy, default 8000), PORT+1 .. PORT+NODES
# (the nodes), PORT+379 (Redis, unless REDIS_URL names one; with sentinel:
# PORT+379 the primary, PORT+380 its replica, PORT+381..383 the sentinels,
# master name "switchboard"), PORT+404 (HAProxy's stats page). BIND=0.0.0.0
# opens HAProxy's port to the network. `kill -TERM <node pid>` drains one
# node: HAProxy takes it out of the rotation and its clients reconnect to
# the others. With sentinel, `redis-cli -p PORT+381 SENTINEL FAILOVER
# switchboard` fails the primary over; the nodes follow it by themselves.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
esac

# --redis-mode is this script's; every other argument goes to the nodes.
redis_mode=single
node_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --redis-mode)
      [ $# -ge 2 ] || die "--redis-mode needs single or sentinel"
      redis_mode="$2"
      shift ;;
    --redis-mode=*) redis_mode="${1#*=}" ;;
    *) node_args+=("$1") ;;
  esac
  shift
done
case "$redis_mode" in
  single|sentinel) ;;
  cluster) die "--redis-mode cluster: Redis Cluster is not supported yet (docs/protocol.md, \"Broker topologies\")" ;;
  *) die "--redis-mode must be single or sentinel, not '$redis_mode'" ;;
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
  for pid in "${sentinel_pids[@]}"; do stop_process "$pid"; done
  stop_process "$redis_pid"
  say "stopped; logs are in $run_dir"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# Redis: the one given, or a private one without persistence (with
# sentinel: a primary, its replica and three sentinels watching them).
if [ -z "${REDIS_URL:-}" ]; then
  redis_port=$((PORT + 379))
  port_in_use "$redis_port" && die "port $redis_port (Redis) is taken; set PORT or REDIS_URL"
  start_private_redis "$redis_port" "$run_dir/redis.log"
  wait_for_redis "$redis_port" 5 "$run_dir/redis.log"
  export REDIS_URL="redis://127.0.0.1:$redis_port"
  if [ "$redis_mode" = sentinel ]; then
    replica_port=$((PORT + 380))
    port_in_use "$replica_port" && die "port $replica_port (Redis replica) is taken; set PORT"
    redis-server --bind 127.0.0.1 --port "$replica_port" --save "" --appendonly no --daemonize no \
      --replicaof 127.0.0.1 "$redis_port" --logfile "$run_dir/replica.log" &
    sentinel_pids+=($!)
    wait_for_redis "$replica_port" 5 "$run_dir/replica.log"
    sentinels=()
    for i in 1 2 3; do
      sentinel_port=$((PORT + 380 + i))
      port_in_use "$sentinel_port" && die "port $sentinel_port (sentinel $i) is taken; set PORT"
      # Sentinel rewrites its configuration file, so each gets one of its own.
      printf '%s\n' "port $sentinel_port" "bind 127.0.0.1" "dir $run_dir" \
        "sentinel monitor switchboard 127.0.0.1 $redis_port 2" \
        "sentinel down-after-milliseconds switchboard 1000" \
        "sentinel failover-timeout switchboard 10000" >"$run_dir/sentinel$i.conf"
      redis-sentinel "$run_dir/sentinel$i.conf" --logfile "$run_dir/sentinel$i.log" &
      sentinel_pids+=($!)
      wait_for_redis "$sentinel_port" 5 "$run_dir/sentinel$i.log"
      sentinels+=("127.0.0.1:$sentinel_port")
    done
    REDIS_URL="sentinel://$(IFS=,; echo "${sentinels[*]}")/switchboard"
  fi
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
  name="${node_names[$exited]:-}"
  [ -n "$name" ] || continue
  say "$name (pid $exited) exited with status $status; HAProxy sends its clients to the other nodes"
  alive=()
  for pid in "${node_pids[@]}"; do [ "$pid" = "$exited" ] || alive+=("$pid"); done
  node_pids=("${alive[@]}")
done
