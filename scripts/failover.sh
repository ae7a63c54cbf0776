#!/usr/bin/env bash
# Measures what a broker failover costs clients: a fresh broker, one node of
# two workers on it, two clients broadcasting 100/s each with two more
# listening (scripts/failover-probe.mjs), then the failure; prints per round
# the seconds from the failure to the first delivery of a broadcast sent
# after it, the longest stretch without any delivery in the 8 s after the
# failure and when it ended (the outage clients saw), and the acknowledged
# broadcasts lost (must be 0), refused, unanswered and clients closed.
#
#   scripts/failover.sh sentinel-failover  # SENTINEL FAILOVER (the old primary stays up)
#   scripts/failover.sh sentinel-kill      # the Sentinel group's primary SIGKILLed (down-after 1000 ms)
#   scripts/failover.sh cluster-kill       # a Redis Cluster primary SIGKILLed (cluster-node-timeout 1000 ms)
#   ROUNDS=3 scripts/failover.sh cluster-kill
#
# The cluster case kills the primary serving the broadcast channel's slot.
# Uses build/ as it is (build switchboard first); logs stay in a directory
# printed at the end. Exit status 1 if a round lost an acknowledged
# broadcast or never delivered again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  sentinel-failover | sentinel-kill | cluster-kill) failure="$1" ;;
  -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
  *) die "usage: scripts/failover.sh sentinel-failover|sentinel-kill|cluster-kill (see --help)" ;;
esac
rounds="${ROUNDS:-1}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive whole number"
binary="$SWITCHBOARD_ROOT/build/server/switchboard"
[ -x "$binary" ] || die "missing $binary (build the switchboard target first)"
command -v node >/dev/null || die "node is needed for scripts/failover-probe.mjs"
node_flags=()
node --experimental-websocket -e 0 2>/dev/null && node_flags=(--experimental-websocket)

run_dir="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-failover.XXXXXX")"
redis_sentinel_pids=()
redis_cluster_pids=()
node_pid=""
stop_all() {
  local pid
  stop_process "$node_pid"
  node_pid=""
  for pid in "${redis_sentinel_pids[@]}" "${redis_cluster_pids[@]}"; do stop_process "$pid"; done
  redis_sentinel_pids=() redis_cluster_pids=()
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

# A run of `count` free loopback ports in a row, below the ephemeral range.
free_ports() {
  local count="$1" base p ok
  for _ in $(seq 200); do
    base=$((20000 + RANDOM % 12000))
    ok=1
    for ((p = base; p < base + count; ++p)); do
      (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { ok=0; break; }
    done
    [ "$ok" = 1 ] && { echo "$base"; return 0; }
  done
  die "no free ports found"
}

# The pid of the cluster node (of those started at port $1 on) that is the primary for the slot of key $2.
cluster_owner_pid() {
  local base="$1" key="$2" slot owner
  slot=$(redis-cli -p "$base" cluster keyslot "$key")
  owner=$(redis-cli -p "$base" cluster nodes | awk -v slot="$slot" '
    $3 ~ /master/ && $3 !~ /fail/ {
      for (i = 9; i <= NF; i++) {
        n = split($i, r, "-"); lo = r[1]; hi = (n == 2 ? r[2] : r[1])
        if (slot >= lo && slot <= hi) { split($2, a, "[:@]"); print a[2]; exit }
      }
    }')
  [ -n "$owner" ] || die "no primary serves slot $slot"
  echo "${redis_cluster_pids[$((owner - base))]}"
}

status=0
printf '| round | failure to first delivery | longest gap | gap ended | sent | acked and lost | refused | unanswered | closed |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
for round in $(seq "$rounds"); do
  dir="$run_dir/round$round"
  mkdir -p "$dir"
  base=$(free_ports 13)
  case "$failure" in
    sentinel-*)
      start_redis_sentinel "$dir" "$base" >/dev/null
      url="$redis_sentinel_url"
      if [ "$failure" = sentinel-failover ]; then fail="redis-cli -p $((base + 2)) sentinel failover switchboard >/dev/null"
      else fail="kill -KILL ${redis_sentinel_pids[0]}"; fi ;;
    cluster-kill)
      start_redis_cluster "$dir" "$base" $((base + 6)) >/dev/null
      url="$redis_cluster_url"
      fail="kill -KILL $(cluster_owner_pid "$base" 'sb:broadcast')" ;;
  esac
  node_port=$((base + 12))
  "$binary" --bind 127.0.0.1 --port "$node_port" --workers 2 --redis "$url" --node failover --client-rate 0 \
    --log-level warn >"$dir/node.log" 2>&1 &
  node_pid=$!
  wait_healthy "http://127.0.0.1:$node_port/healthz" "$node_pid" 15 || die "the node did not start (see $dir/node.log)"
  # Every worker healthy, not just the one that answered.
  retry 15 sh -c "[ \"\$(curl -s http://127.0.0.1:$node_port/metrics | grep -c '^switchboard_healthy{.*} 1\$')\" = 2 ]" \
    || die "the node's workers did not all become healthy (see $dir/node.log)"
  result=$(node "${node_flags[@]}" "$SWITCHBOARD_ROOT/scripts/failover-probe.mjs" \
    --url "ws://127.0.0.1:$node_port/ws" --fail "$fail" 2>"$dir/probe.log") || status=1
  echo "$result" >"$dir/result.json"
  [ -n "$result" ] || die "the probe printed nothing (see $dir/probe.log)"
  jq -r --arg round "$round" '"| \($round) | \(.failure_to_first_delivery_s // "never") s | \(.longest_gap_s) s | \(.gap_ended_s // "-") s | \(.sent) | \(.acked_and_lost) | \(.refused) | \(.unanswered) | \(.closed) |"' <<<"$result"
  stop_all
done
say "$failure: logs in $run_dir"
exit "$status"
