#!/usr/bin/env bash
# Runs the benchmark matrix (docs/benchmarks.md) with the load tester against
# a private Redis (or, with --redis-mode cluster, a private Redis Cluster)
# and a Switchboard node on free loopback ports, measures the
# server's CPU and memory from /proc, and prints a markdown table. With
# --compare it runs the same matrix against the Node baseline
# (scripts/baseline/) as well and prints both side by side.
#
#   scripts/bench.sh                      # Switchboard only, full matrix
#   scripts/bench.sh --compare            # Switchboard and the Node baseline
#   scripts/bench.sh --quick --only fanout-1k,direct
#   scripts/bench.sh --quick --only connect-rate --auth rs256
#   scripts/bench.sh --only room-1k,room-max --history   # the cost of history
#   scripts/bench.sh --only fanout-max,room-max --redis-mode cluster
#
# Everything is kept under build/bench/<timestamp>/ (or --out DIR): the load
# tester's JSON lines and progress, per-second server samples, the servers'
# logs and /metrics, results.jsonl and table.md.
set -Eeuo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/bench.sh [options]

  --compare         run every scenario against Switchboard and then against
                    the Node baseline (scripts/baseline/), each run with its
                    own fresh Redis and server, and print both side by side
                    with ratios
  --baseline-only   run the matrix against the Node baseline only
  --quick           smoke run: 5 s windows, smaller counts
  --duration S      measured seconds of each message and connect-rate run
                    (default 30, --quick 5); hold keeps its connections S/2 s
  --only LIST       comma-separated scenarios to run (default: all):
                    fanout-1k fanout-10k fanout-max direct direct-max
                    publish-max rooms room-1k room-max hold connect-rate
  --workers N       worker processes of each server (default 2)
  --held N          connections the hold scenario opens (default 15000,
                    --quick 2000): one load process per 15,000 and one
                    source address per 14,000 (past half of an address's
                    port range the kernel's port search slows down)
  --auth MODE       none (default), hs256, rs256 or es256: start Switchboard
                    with a fresh key of that kind (--auth-secret, or
                    --auth-public-key with the public half) and have the
                    load tester mint a token per connection with it
                    (--token-secret / --token-key); Switchboard only
  --history         start Switchboard with --history-rooms '*': every room
                    stores and numbers its messages (compare with a run
                    without); Switchboard only
  --redis-mode MODE single (default): one private Redis per run; cluster:
                    a private Redis Cluster per run (6 nodes: 3 primaries,
                    each with a replica; lib.sh's start_redis_cluster), the
                    server on --redis cluster://; Redis CPU is the sum of
                    the six nodes. Switchboard only
  --plot            also write the load tester's CSV and PNG charts per run
  --no-build        use build/ as it is (default: build switchboard and
                    switchboard-load first, as scripts/load.sh does)
  --switchboard-bin PATH
                    measure this switchboard binary instead of
                    build/server/switchboard (an older build, for a
                    before/after on the same machine)
  --load-bin PATH   run this switchboard-load instead of
                    build/scripts/loadtest/switchboard-load
  --out DIR         keep the run's files in DIR instead of
                    build/bench/<timestamp>/
  -h, --help        print this help and exit

The table goes to stdout; progress to stderr. Output directory:
build/bench/<timestamp>/ or --out (printed at the start).
EOF
}

# ---------------------------------------------------------------- options

command_line="scripts/bench.sh $*"
all_scenarios=(fanout-1k fanout-10k fanout-max direct direct-max publish-max rooms room-1k room-max hold connect-rate)
targets=(switchboard)
quick=0
duration=""
only=""
workers=2
held_flag=""
plot=0
build=1
custom_bin=""
custom_load_bin=""
out_dir=""
auth=none
history=0
redis_mode=single
while [ $# -gt 0 ]; do
  case "$1" in
    --compare) targets=(switchboard baseline) ;;
    --baseline-only) targets=(baseline) ;;
    --quick) quick=1 ;;
    --duration) duration="${2:?--duration needs seconds}"; shift ;;
    --duration=*) duration="${1#*=}" ;;
    --only) only="${2:?--only needs a scenario list}"; shift ;;
    --only=*) only="${1#*=}" ;;
    --workers) workers="${2:?--workers needs a number}"; shift ;;
    --workers=*) workers="${1#*=}" ;;
    --held) held_flag="${2:?--held needs a number}"; shift ;;
    --held=*) held_flag="${1#*=}" ;;
    --plot) plot=1 ;;
    --no-build) build=0 ;;
    --switchboard-bin) custom_bin="${2:?--switchboard-bin needs a path}"; shift ;;
    --switchboard-bin=*) custom_bin="${1#*=}" ;;
    --load-bin) custom_load_bin="${2:?--load-bin needs a path}"; shift ;;
    --load-bin=*) custom_load_bin="${1#*=}" ;;
    --out) out_dir="${2:?--out needs a directory}"; shift ;;
    --out=*) out_dir="${1#*=}" ;;
    --auth) auth="${2:?--auth needs none, hs256, rs256 or es256}"; shift ;;
    --history) history=1 ;;
    --redis-mode) redis_mode="${2:?--redis-mode needs single or cluster}"; shift ;;
    --redis-mode=*) redis_mode="${1#*=}" ;;
    --auth=*) auth="${1#*=}" ;;
    -h | --help) usage; exit 0 ;;
    *) printf 'bench.sh: unknown option %s\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[[ "$workers" =~ ^[1-9][0-9]*$ ]] || die "--workers: expected a positive integer, got '$workers'"
[ -z "$held_flag" ] || [[ "$held_flag" =~ ^[1-9][0-9]*$ ]] || die "--held: expected a positive integer, got '$held_flag'"
case "$auth" in
  none | hs256 | rs256 | es256) ;;
  *) die "--auth: expected none, hs256, rs256 or es256, got '$auth'" ;;
esac
if [ "$auth" != none ] && [[ " ${targets[*]} " == *" baseline "* ]]; then
  die "--auth: the Node baseline checks no tokens; use --auth without --compare or --baseline-only"
fi
case "$redis_mode" in
  single | cluster) ;;
  *) die "--redis-mode: expected single or cluster, got '$redis_mode'" ;;
esac
if [ "$redis_mode" = cluster ] && [[ " ${targets[*]} " == *" baseline "* ]]; then
  die "--redis-mode cluster: the Node baseline speaks to one Redis only; Switchboard only"
fi
if [ -z "$duration" ]; then duration=$([ "$quick" = 1 ] && echo 5 || echo 30); fi
[[ "$duration" =~ ^[0-9]+$ ]] && [ "$duration" -ge 2 ] || die "--duration: expected whole seconds, at least 2, got '$duration'"
scenarios=("${all_scenarios[@]}")
if [ -n "$only" ]; then
  IFS=, read -r -a scenarios <<<"$only"
  for s in "${scenarios[@]}"; do
    [[ " ${all_scenarios[*]} " == *" $s "* ]] || die "--only: unknown scenario '$s' (one of: ${all_scenarios[*]})"
  done
fi

# ------------------------------------------------------------- the matrix

# Seconds of load before each window; hold keeps its connections half the window.
warmup=$([ "$quick" = 1 ] && echo 1 || echo 3)
hold_seconds=$(( duration / 2 > 3 ? duration / 2 : 3 ))
# hold: the memory target is stated at 15,000 idle connections.
if [ "$quick" = 1 ]; then big=2000; held=2000; pairs_clients=400; rooms=100; loops=20
else big=10000; held=15000; pairs_clients=2000; rooms=1000; loops=50; fi
[ -n "$held_flag" ] && held="$held_flag"
# A load process holds at most 15,000 connections (its 20,000 descriptors),
# a source address at most 14,000 (half its ephemeral ports), and two of each at least.
hold_procs=$(( (held + 14999) / 15000 )); [ "$hold_procs" -ge 2 ] || hold_procs=2
hold_addrs=$(( (held + 13999) / 14000 )); [ "$hold_addrs" -ge 2 ] || hold_addrs=2
# The final pings: 10,000 a second over the first half of the lead, and the
# other half for the answers (3 s at 15,000 held, 40 s at 200,000: on two
# cores shared with the load processes faster is more than they keep up with).
hold_ping_lead=$(( held / 5000 > 2 ? held / 5000 : 2 ))

# The load tester's arguments for each scenario, --url and --plot aside.
# Fixed rates (open loop), low enough for both servers to keep up on two
# otherwise idle cores: the table compares the cost of the same work.
scenario_args() {
  local common=(--warmup "$warmup" -d "$duration")
  case "$1" in
    fanout-1k) echo fanout -c 1000 -P 10 -r 40 "${common[@]}" ;;
    # As many deliveries per second as fanout-1k, ten times the recipients
    # per message. 20,000 open files per process: 2 load processes.
    fanout-10k) echo fanout -c "$big" -P 10 -r 4 --procs 2 --source-addrs 2 "${common[@]}" ;;
    # Closed loop: each publisher keeps 16 broadcasts unacknowledged. Four
    # load processes share the 1,000 receivers: one process reading them all
    # is busy a whole core at about 500,000 deliveries/s and then sets the
    # rate itself (docs/benchmarks.md, "Fan-out as fast as the server goes").
    fanout-max) echo fanout -c 1000 -P 10 --closed -w 16 --procs 4 "${common[@]}" ;;
    direct) echo direct -c "$pairs_clients" -r "$pairs_clients" "${common[@]}" ;;
    # Closed loop: 500 pairs, each sender keeps 16 direct messages unacknowledged.
    direct-max) echo direct -c 1000 --closed -w 16 "${common[@]}" ;;
    # One connection publishing room messages as fast as it can (64
    # unacknowledged) to 10 rooms of 10.
    publish-max) echo rooms --rooms 10 --room-size 10 -P 1 --closed -w 64 "${common[@]}" ;;
    rooms) echo rooms --rooms "$rooms" --room-size 10 -P 10 -r "$rooms" "${common[@]}" ;;
    room-1k) echo rooms --rooms 1 --room-size 1000 -P 10 -r 40 "${common[@]}" ;;
    # Closed loop into one room: how many publishes per second it takes.
    room-max) echo rooms --rooms 1 --room-size 10 -P 10 --closed -w 4 "${common[@]}" ;;
    hold) echo connect -c "$held" --procs "$hold_procs" --source-addrs "$hold_addrs" -d "$hold_seconds" --ping-lead "$hold_ping_lead" ;;
    # Closed loop of connect, ping, close: TIME_WAIT is spread over 8 source addresses.
    connect-rate) echo churn -c "$loops" --closed --source-addrs 8 "${common[@]}" ;;
  esac
}

describe() {
  case "$1" in
    fanout-1k) echo "broadcast to 1000 clients, 40/s from 10 publishers" ;;
    fanout-10k) echo "broadcast to $big clients, 4/s from 10 publishers, 2 load processes" ;;
    fanout-max) echo "broadcast to 1000 clients as fast as it goes: 10 publishers, 16 unacknowledged each, 4 load processes" ;;
    direct) echo "$((pairs_clients / 2)) pairs on different workers, $pairs_clients direct messages/s" ;;
    direct-max) echo "500 pairs on different workers, as fast as it goes: 16 unacknowledged per sender" ;;
    publish-max) echo "one connection publishing to 10 rooms of 10 as fast as it goes: 64 unacknowledged" ;;
    rooms) echo "$rooms rooms of 10, $rooms room messages/s from 10 senders outside the rooms" ;;
    room-1k) echo "one room of 1000, 40 room messages/s from 10 senders outside it" ;;
    room-max) echo "one room of 10, as fast as it goes: 10 senders, 4 unacknowledged each" ;;
    hold) echo "open $held connections, hold them ${hold_seconds} s idle, ping each at the end" ;;
    connect-rate) echo "$loops loops of connect, ping, close, closed loop" ;;
  esac
}

# ------------------------------------------------------------------ setup

if [ "$build" = 1 ]; then
  packages=("${SWITCHBOARD_PACKAGES[@]}" jq)
  [ "$plot" = 1 ] && packages+=(gnuplot-nox)
  install_packages "${packages[@]}"
  configure_and_build "$SWITCHBOARD_ROOT/build" RelWithDebInfo -DSWITCHBOARD_SANITIZE=OFF -- switchboard switchboard-load >&2
else
  command -v jq >/dev/null || install_packages jq
  [ "$plot" = 1 ] && ! command -v gnuplot >/dev/null && install_packages gnuplot-nox
fi
switchboard_bin="${custom_bin:-$SWITCHBOARD_ROOT/build/server/switchboard}"
load_bin="${custom_load_bin:-$SWITCHBOARD_ROOT/build/scripts/loadtest/switchboard-load}"
[ -x "$switchboard_bin" ] || die "missing $switchboard_bin (run without --no-build)"
[ -x "$load_bin" ] || die "missing $load_bin (run without --no-build)"
command -v redis-server >/dev/null || install_packages redis-server redis-tools

baseline_dir="$SWITCHBOARD_ROOT/scripts/baseline"
if [[ " ${targets[*]} " == *" baseline "* ]]; then
  command -v node >/dev/null && command -v npm >/dev/null || install_packages nodejs npm
  # Install from the committed lock when node_modules is missing or older than it.
  if [ ! -f "$baseline_dir/node_modules/.package-lock.json" ] ||
     [ "$baseline_dir/package-lock.json" -nt "$baseline_dir/node_modules/.package-lock.json" ]; then
    say "installing the baseline's npm packages (npm ci)"
    (cd "$baseline_dir" && npm ci --no-audit --no-fund >&2) || die "npm ci failed in $baseline_dir"
  fi
fi

out="${out_dir:-$SWITCHBOARD_ROOT/build/bench/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out/bin"
# Run from links to today's binaries: a rebuild meanwhile (the linker
# writes a new file) does not change what is measured halfway.
link_or_copy() { ln -f "$1" "$2" 2>/dev/null || cp "$1" "$2"; }
link_or_copy "$switchboard_bin" "$out/bin/switchboard"
link_or_copy "$load_bin" "$out/bin/switchboard-load"
switchboard_bin="$out/bin/switchboard"
load_bin="$out/bin/switchboard-load"
clk_tck=$(getconf CLK_TCK)

# --auth: one fresh key for the whole invocation. The server gets the
# secret through its environment, the load tester on its command line (and
# so in each run's .cmd file: it is a throwaway key).
server_env=()
server_auth=()
load_auth=()
case "$auth" in
  hs256)
    auth_secret=$(openssl rand -hex 32)
    server_env=(SWITCHBOARD_AUTH_SECRET="$auth_secret")
    load_auth=(--token-secret "$auth_secret") ;;
  rs256 | es256)
    if [ "$auth" = rs256 ]; then key_args=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048)
    else key_args=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256); fi
    openssl genpkey "${key_args[@]}" -out "$out/auth-key.pem" 2>/dev/null || die "openssl genpkey failed"
    openssl pkey -in "$out/auth-key.pem" -pubout -out "$out/auth-public.pem" || die "openssl pkey failed"
    server_auth=(--auth-public-key "$out/auth-public.pem")
    load_auth=(--token-key "$out/auth-key.pem") ;;
esac

# --------------------------------------------------------------- cleanup

# Processes we started; cleanup ends them by id. redis_pids: the one Redis,
# or the six nodes of the Redis Cluster (start_redis_cluster sets
# redis_cluster_pids as it starts them).
redis_pids=()
redis_cluster_pids=()
server_pid=""
load_pid=""
monitor_pid=""

# All descendants of $1, and $1 itself.
tree_pids() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      want[root] = 1; n = 1
      while (n) { n = 0; for (p in parent) if (!(p in want) && (parent[p] in want)) { want[p] = 1; n = 1 } }
      for (p in want) if (p in parent) print p
    }'
}

# Sends $2 (a signal) to $1 and every descendant, waits up to $3 seconds for
# $1 to end, then kills what is left.
stop_tree() {
  local pid="$1" sig="$2" grace="$3"
  [ -n "$pid" ] || return 0
  local pids
  pids=$(tree_pids "$pid")
  [ -n "$pids" ] || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -"$sig" "$pid" 2>/dev/null || true
  local waited=0
  while [ "$waited" -lt $((grace * 10)) ] && [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  trap - EXIT INT TERM
  # The load tester stops in order on SIGINT; the servers on SIGTERM.
  stop_tree "$load_pid" INT 3
  stop_tree "$monitor_pid" TERM 1
  stop_tree "$server_pid" TERM 5
  stop_redis
  load_pid="" monitor_pid="" server_pid=""
}
trap cleanup EXIT
trap 'say "failed (status $?) at line $LINENO: $BASH_COMMAND"' ERR
trap 'say "interrupted: stopping"; exit 130' INT TERM

# ------------------------------------------------------------ processes

# A free TCP port on loopback, below the ephemeral range so that none of the
# load tester's own ports can take it.
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then echo "$p"; return 0; fi
  done
  die "no free port found"
}

# True if none of the $2 ports from $1 on is in use.
ports_free() {
  local p
  for ((p = $1; p < $1 + $2; ++p)); do [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] || return 1; done
}

# start_redis LOG: a fresh Redis on a free port, in a session of its own; or,
# with --redis-mode cluster, a fresh Redis Cluster on 12 free ports in a row
# (six nodes and their cluster bus), each node in a session of its own, its
# files in LOG's name with .d. Sets redis_url and redis_pids.
start_redis() {
  local log="$1"
  if [ "$redis_mode" = cluster ]; then
    local base="" try
    for _ in $(seq 200); do
      try=$((20000 + RANDOM % 12000))
      ports_free "$try" 12 && { base="$try"; break; }
    done
    [ -n "$base" ] || die "no 12 free ports in a row found for the Redis Cluster"
    start_redis_cluster "$log.d" "$base" $((base + 6)) setsid >/dev/null
    redis_pids=("${redis_cluster_pids[@]}")
    redis_url="$redis_cluster_url"
    return 0
  fi
  local redis_port
  redis_port=$(free_port)
  start_private_redis "$redis_port" "$log" setsid >/dev/null 2>&1
  redis_pids=("$redis_pid")
  wait_for_redis "$redis_port" 10 "$log"
  redis_url="redis://127.0.0.1:$redis_port"
}

# Stops every Redis process started (the cluster's nodes too).
stop_redis() {
  local pid
  for pid in "${redis_pids[@]}" "${redis_cluster_pids[@]}"; do stop_tree "$pid" TERM 3; done
  redis_pids=() redis_cluster_pids=()
}

# "cpu rss user" summed over every Redis process (group_usage, below, of each).
redis_usage() {
  local pid
  for pid in "${redis_pids[@]}"; do group_usage "$pid"; done |
    awk '{ cpu += $1; rss += $2; user += $3 } END { printf "%d %d %d\n", cpu, rss, user }'
}

# True once TARGET, logging to LOG, serves on $server_port.
server_ready() {
  local target="$1" log="$2"
  case "$target" in
    # Every worker's own health, not just the one the kernel picked.
    switchboard)
      [ "$(curl -s -m 1 "http://127.0.0.1:$server_port/metrics" 2>/dev/null |
           grep -c '^switchboard_healthy{.*} 1$')" = "$workers" ] ;;
    baseline)
      grep -q 'ready:' "$log" ;;
  esac
}

# --client-rate 0: the scenarios send from a few connections far faster than
# any chat client, and the baseline has no request budget. An older binary
# (--switchboard-bin) without the flag has no budget either.
server_budget=()
"$switchboard_bin" --help 2>/dev/null | grep -q -- '--client-rate' && server_budget=(--client-rate 0)
server_history=()
if [ "$history" = 1 ]; then
  [[ " ${targets[*]} " == *" baseline "* ]] && die "--history: the baseline keeps no history; Switchboard only"
  "$switchboard_bin" --help 2>/dev/null | grep -q -- '--history-rooms' || die "--history: $switchboard_bin has no --history-rooms"
  server_history=(--history-rooms '*')
fi

# start_server TARGET LOG: a fresh node on a free port; returns when every
# worker serves.
start_server() {
  local target="$1" log="$2"
  server_port=$(free_port)
  case "$target" in
    switchboard)
      env "${server_env[@]}" setsid "$switchboard_bin" "${server_auth[@]}" "${server_budget[@]}" "${server_history[@]}" --bind 127.0.0.1 --port "$server_port" --workers "$workers" \
        --redis "$redis_url" --node bench --log-level warn --drain-seconds 1 >"$log" 2>&1 &
      ;;
    baseline)
      setsid node "$baseline_dir/server.js" --bind 127.0.0.1 --port "$server_port" --workers "$workers" \
        --redis "$redis_url" --node bench >"$log" 2>&1 &
      ;;
  esac
  server_pid=$!
  local status=0
  retry_while_alive "$server_pid" 20 server_ready "$target" "$log" || status=$?
  case "$status" in
    0) ;;
    1) die "$target exited at start (see $log)" ;;
    *) die "$target did not become ready in 20 s (see $log)" ;;
  esac
}

# ------------------------------------------------------------ measuring

# The processes of process group $1. A server or Redis started by setsid
# (from this shell, which has no job control, so setsid need not fork) leads
# a group of its own whose id is its pid, and its workers stay in that group.
# The group is field 5 of a stat line: the third after the command name.
group_pids() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v pgrp="$1" '{ pid = $1; sub(/^.*\) /, ""); split($0, f, " "); if (f[3] == pgrp) print pid }'
}

# "cpu rss user" summed over a process group (the master or primary and
# every worker): cpu = utime+stime+cutime+cstime in ticks, rss = VmRSS in
# KiB, user = utime+cutime in ticks (with cpu, the kernel's share).
group_usage() {
  local p files=()
  for p in $(group_pids "$1"); do files+=("/proc/$p/stat" "/proc/$p/status"); done
  [ ${#files[@]} -gt 0 ] || { echo "0 0 0"; return 0; }
  # A process may end meanwhile: cat skips it. In a stat line the fields
  # after the ")" that ends the command name are 3.. of proc(5), so 12-15
  # are utime, stime, cutime and cstime.
  { cat "${files[@]}" 2>/dev/null || true; } | awk '
    /^[0-9]+ \(/ { sub(/^.*\) /, ""); split($0, f, " "); cpu += f[12] + f[13] + f[14] + f[15]; user += f[12] + f[14]; next }
    /^VmRSS:/ { rss += $2 }
    END { printf "%d %d %d\n", cpu, rss, user }'
}

# One line per process of group $1 for the raw record.
process_table() {
  local p
  for p in $(group_pids "$1"); do
    awk -v pid="$p" '/^(Name|PPid|VmRSS|VmHWM|Threads):/ {v = v " " $1 $2} END {print "pid " pid v}' \
      "/proc/$p/status" 2>/dev/null || true
    sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null |
      awk -v pid="$p" -v hz="$clk_tck" '{printf "pid %s cpu_s utime %.2f stime %.2f cutime %.2f cstime %.2f\n", pid, $12/hz, $13/hz, $14/hz, $15/hz}' || true
  done
}

# Reads the load tester's progress lines as they come, echoes them, and for
# each one appends "second phase server_ticks server_rss_kib redis_ticks
# count conns tcp_pages" to $1, where count is that second's deliveries
# (message scenarios), cycles (churn) or handshakes (connect), and tcp_pages
# the kernel's TCP socket memory (/proc/net/sockstat, in pages).
tcp_pages() { awk '/^TCP:/ {for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1)}' /proc/net/sockstat; }
monitor() {
  local samples="$1" line second phase count conns cpu rss redis
  while IFS= read -r line; do
    printf '    %s\n' "$line" >&2
    [[ "$line" =~ ^\[\ *([0-9]+)s\ ([a-z]+) ]] || continue
    second="${BASH_REMATCH[1]}" phase="${BASH_REMATCH[2]}"
    read -r cpu rss _ <<<"$(group_usage "$server_pid")"
    redis=$(redis_usage)
    count=0 conns=0
    if [[ "$line" =~ (delivered|cycles|handshakes)\ ([0-9]+)/s ]]; then count="${BASH_REMATCH[2]}"; fi
    if [[ "$line" =~ conns\ ([0-9]+) ]]; then conns="${BASH_REMATCH[1]}"; fi
    echo "$second $phase $cpu $rss ${redis%% *} $count $conns $(tcp_pages)" >>"$samples"
  done
}

# run_one TARGET SCENARIO: a fresh server, one load tester run, one line in
# results.jsonl.
run_one() {
  local target="$1" scenario="$2"
  local base="$out/$target-$scenario"
  local args
  read -r -a args <<<"$(scenario_args "$scenario")"
  args+=(--url "ws://127.0.0.1:$server_port/ws")
  [ "$target" = switchboard ] && args+=("${load_auth[@]}")
  [ "$plot" = 1 ] && args+=(--plot "$out/plots/$target-$scenario")
  say "$target $scenario: $(describe "$scenario")"
  echo "switchboard-load ${args[*]}" >"$base.cmd"

  sleep 1  # let the fresh server settle before the idle snapshot
  local idle_cpu idle_rss user_before idle0_cpu redis_before begin_s end_s
  # Two idle snapshots 2 s apart: what the server spends doing nothing
  # (timers, probes, heartbeats), for the record.
  read -r idle0_cpu _ _ <<<"$(group_usage "$server_pid")"
  sleep 2
  read -r idle_cpu idle_rss user_before <<<"$(group_usage "$server_pid")"
  local idle_tcp_pages
  idle_tcp_pages=$(tcp_pages)
  redis_before=$(redis_usage)
  { echo "# idle, before the load tester"; uptime; process_table "$server_pid"; } >"$base.server.txt"
  : >"$base.samples"
  begin_s=$(date +%s.%N)
  "$load_bin" "${args[@]}" >"$base.json" 2>"$base.log" &
  load_pid=$!
  # tail ends by itself once the load tester has. Both run in the
  # background: bash runs a trap (Ctrl-C) at once only while in `wait`.
  { tail -n +1 -s 0.2 --pid="$load_pid" -F "$base.log" 2>/dev/null || true; } | monitor "$base.samples" &
  monitor_pid=$!
  local rc=0
  wait "$load_pid" || rc=$?
  load_pid=""
  wait "$monitor_pid" || say "$target $scenario: progress monitor failed; the CPU window may be missing"
  monitor_pid=""
  end_s=$(date +%s.%N)
  local after_cpu user_after redis_after
  read -r after_cpu _ user_after <<<"$(group_usage "$server_pid")"
  redis_after=$(redis_usage)
  { echo "# after the load tester"; uptime; process_table "$server_pid"; } >>"$base.server.txt"
  if [ "$target" = switchboard ]; then
    curl -s -m 2 "http://127.0.0.1:$server_port/metrics" >"$base.metrics" 2>/dev/null || true
  fi
  [ -s "$base.json" ] || { say "$target $scenario: the load tester printed no result (status $rc, see $base.log)"; return 0; }
  # Frames per send over the whole run, from the server's own counters
  # (null for the baseline, which has none).
  local frames_per_send=null
  if [ -s "$base.metrics" ]; then
    frames_per_send=$(awk '/^switchboard_sent_frames_total/ {f += $NF} /^switchboard_socket_sends_total/ {s += $NF}
      END {if (s > 0) printf "%.2f", f / s; else print "null"}' "$base.metrics")
  fi

  # The server's CPU over the measured seconds: from the first progress line
  # of the measure phase to the last, divided by what the load tester
  # counted in the seconds between them (deliveries; cycles for churn).
  # Hold: from the load tester's start to the first line of the hold phase,
  # per connection opened; RSS per connection from the idle snapshot to the
  # last line of the hold phase.
  local server_json
  server_json=$(awk -v hz="$clk_tck" -v scen="$scenario" \
      -v idle_cpu="$idle_cpu" -v idle_rss="$idle_rss" -v idle_tcp="$idle_tcp_pages" -v lead="$((hold_ping_lead + 1))" -v page_kib="$(( $(getconf PAGESIZE) / 1024 ))" -v after_cpu="$after_cpu" -v idle0_cpu="$idle0_cpu" \
      -v redis_before="${redis_before%% *}" -v redis_after="${redis_after%% *}" \
      -v user_ticks="$((user_after - user_before))" \
      -v seconds="$(awk -v a="$begin_s" -v b="$end_s" 'BEGIN {print b - a}')" '
    { sec[NR] = $1; ph[NR] = $2; cpu[NR] = $3; rss[NR] = $4; rcpu[NR] = $5; cnt[NR] = $6; conns[NR] = $7; tcp[NR] = $8 }
    $2 == "measure" { if (!a) a = NR; b = NR }
    $2 == "hold" { if (!h) h = NR; last_hold = NR }
    END {
      if (after_cpu > idle_cpu) kernel_share = sprintf(",\"kernel_share\":%.3f", 1 - user_ticks / (after_cpu - idle_cpu))
      out = sprintf("\"run_s\":%.1f" kernel_share ",\"cpu_s_total\":%.3f,\"redis_cpu_s_total\":%.3f,\"idle_cpu_ms_per_s\":%.1f,\"rss_idle_kib\":%d", seconds, (after_cpu - idle_cpu) / hz, (redis_after - redis_before) / hz, (idle_cpu - idle0_cpu) * 1000 / hz / 2, idle_rss)
      if (scen == "hold") {
        if (h) {
          opened = conns[last_hold]
          out = out sprintf(",\"rss_hold_kib\":%d,\"held\":%d", rss[last_hold], opened)
          if (opened > 0) {
            out = out sprintf(",\"rss_kib_per_conn\":%.2f", (rss[last_hold] - idle_rss) / opened)
            out = out sprintf(",\"cpu_us_per_handshake\":%.1f", (cpu[h] - idle_cpu) * 1e6 / hz / opened)
            # Before the final pings (their bytes in flight fill socket
            # buffers for a moment): what the idle connections hold. The
            # kernel figure covers both ends of every connection, the load
            # tester being on this machine.
            q = last_hold - lead; if (q < h) q = h
            out = out sprintf(",\"rss_kib_per_conn_before_pings\":%.2f", (rss[q] - idle_rss) / opened)
            out = out sprintf(",\"tcp_kib_per_conn\":%.2f", (tcp[q] - idle_tcp) * page_kib / opened)
          }
        }
      } else if (a && b > a) {
        n = 0
        for (i = a + 1; i <= b; i++) n += cnt[i]
        out = out sprintf(",\"window_s\":%d,\"window_count\":%d,\"cpu_s_window\":%.3f,\"redis_cpu_s_window\":%.3f", sec[b] - sec[a], n, (cpu[b] - cpu[a]) / hz, (rcpu[b] - rcpu[a]) / hz)
        if (n > 0) {
          out = out sprintf(",\"cpu_us_per_delivery\":%.3f", (cpu[b] - cpu[a]) * 1e6 / hz / n)
          out = out sprintf(",\"redis_cpu_us_per_delivery\":%.3f", (rcpu[b] - rcpu[a]) * 1e6 / hz / n)
        }
        out = out sprintf(",\"rss_kib_end\":%d", rss[b])
      }
      print "{" out "}"
    }' "$base.samples")
  jq -c --arg target "$target" --arg scenario "$scenario" --arg auth "$auth" --argjson history "$history" \
     --arg redis_mode "$redis_mode" \
     --argjson server "$server_json" --arg load_avg "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson status "$rc" \
     --argjson fps "$frames_per_send" \
     '{target: $target, scenario: $scenario, auth: $auth, history: ($history == 1), redis_mode: $redis_mode, status: $status,
       load_avg: $load_avg, server: ($server + {frames_per_send: $fps}), load: .}' \
     "$base.json" >>"$out/results.jsonl"
}

# ---------------------------------------------------------------- report

# A markdown table of one target's rows.
table_of() {
  jq -r --arg target "$1" '
    def n(x; d): if x == null then "—" else (x * pow(10; d) | round / pow(10; d) | tostring) end;
    def ms(x): if x == null then "—" elif x < 1 then "\(x * 1000 | round) µs" else "\(x * 100 | round / 100) ms" end;
    select(.target == $target) |
    .load as $l | .server as $s |
    (if .scenario == "hold" then ($l.connections.opened / $l.connections.planned)
     elif .scenario == "connect-rate" then (if $l.all.sent > 0 then $l.all.acknowledged / $l.all.sent else null end)
     else $l.delivery_ratio end) as $ratio |
    (if .scenario == "connect-rate" then $l.cycles_per_s else $l.connections.handshakes_per_s end) as $hs |
    (if .scenario == "hold" then (if $s.cpu_us_per_handshake then "\(n($s.cpu_us_per_handshake; 0)) /conn" else "—" end)
     elif .scenario == "connect-rate" then (if $s.cpu_us_per_delivery then "\(n($s.cpu_us_per_delivery; 0)) /cycle" else "—" end)
     else n($s.cpu_us_per_delivery; 2) end) as $cpu |
    (if $l.expected > 0 and $l.measured_s > 0 and $l.deliveries_per_s < 0.97 * $l.expected / $l.measured_s then " †" else "" end) as $behind |
    "| \(.scenario) | \(if .scenario == "hold" or .scenario == "connect-rate" then "—" else n($l.deliveries_per_s; 0) + $behind end) | \(n($ratio; 4)) | \(ms($l.latency_ms.p50)) | \(ms($l.latency_ms.p99)) | \(ms($l.latency_ms.p99_9)) | \($cpu) | \(if $s.rss_kib_per_conn then "\(n($s.rss_kib_per_conn; 1)) KiB" else "—" end) | \(if $hs and $hs > 0 then n($hs; 0) else "—" end) | \(if $s.kernel_share then "\($s.kernel_share * 100 | round) %" else "—" end) | \(n($s.frames_per_send; 1)) | \(.load_avg | split(" ")[0]) |"
  ' "$out/results.jsonl"
}

table_header='| scenario | deliveries/s | ratio | p50 | p99 | p99.9 | server CPU µs/delivery | RSS/conn | handshakes/s | kernel | frames/send | load |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'

# Side by side: baseline/switchboard for costs, switchboard/baseline for rates.
compare_table() {
  jq -rs '
    def n(x; d): if x == null then "—" else (x * pow(10; d) | round / pow(10; d) | tostring) end;
    def ratio(a; b): if a == null or b == null or b == 0 then "—" else "\(n(a / b; 2))×" end;
    def cpu(r): if r.scenario == "hold" then r.server.cpu_us_per_handshake else r.server.cpu_us_per_delivery end;
    def hs(r): if r.scenario == "connect-rate" then r.load.cycles_per_s else r.load.connections.handshakes_per_s end;
    (map(select(.target == "switchboard")) | INDEX(.scenario)) as $sb |
    (map(select(.target == "baseline")) | INDEX(.scenario)) as $bl |
    def kernel(r): if cpu(r) == null or r.server.kernel_share == null then null else cpu(r) * r.server.kernel_share end;
    "| scenario | CPU µs sb | CPU µs node | node/sb | ceiling | p99 ms sb | p99 ms node | node/sb | RSS/conn KiB sb | node | node/sb | handshakes/s sb | node | sb/node |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    (($sb | keys_unsorted)[] as $k | select($bl[$k]) | $sb[$k] as $a | $bl[$k] as $b |
      "| \($k) | \(n(cpu($a); 2)) | \(n(cpu($b); 2)) | \(ratio(cpu($b); cpu($a))) | \(ratio(cpu($b); kernel($a))) | \(n($a.load.latency_ms.p99; 2)) | \(n($b.load.latency_ms.p99; 2)) | \(ratio($b.load.latency_ms.p99; $a.load.latency_ms.p99)) | \(n($a.server.rss_kib_per_conn; 1)) | \(n($b.server.rss_kib_per_conn; 1)) | \(ratio($b.server.rss_kib_per_conn; $a.server.rss_kib_per_conn)) | \(n(hs($a); 0)) | \(n(hs($b); 0)) | \(ratio(hs($a); hs($b))) |")
  ' "$out/results.jsonl"
}

# ------------------------------------------------------------------- run

say "output in $out"
{
  echo "date: $(date -Is)"
  echo "command: $command_line"
  echo "cpus: $(nproc) x $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "memory: $(awk '/^MemTotal/ {print $2 " KiB"}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "uptime at start: $(uptime)"
  echo "switchboard: built $(stat -c %y "$switchboard_bin"), sha256 $(sha256sum "$switchboard_bin" | cut -c1-16)"
  echo "switchboard-load: built $(stat -c %y "$load_bin"), sha256 $(sha256sum "$load_bin" | cut -c1-16)"
  echo "redis: $(redis-server --version)"
  command -v node >/dev/null && echo "node: $(node --version)"
  echo "workers: $workers; duration: $duration s; warmup: $warmup s; quick: $quick; auth: $auth; history: $history; redis: $redis_mode"
} >"$out/machine.txt"
: >"$out/results.jsonl"
started=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# Scenario by scenario, each target in turn, so that both see the machine in
# the same state (it is shared: other work comes and goes). Every run gets a
# fresh Redis and a fresh server: no run inherits another's heap,
# subscriptions or connections.
for scenario in "${scenarios[@]}"; do
  for target in "${targets[@]}"; do
    start_redis "$out/$target-$scenario.redis.log"
    start_server "$target" "$out/$target-$scenario.server.log"
    run_one "$target" "$scenario"
    stop_tree "$server_pid" TERM 5
    server_pid=""
    stop_redis
  done
done

elapsed=$(( $(date +%s) - started ))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "uptime at end: $(uptime)" >>"$out/machine.txt"

{
  echo "\`$command_line\`"
  echo
  echo "Benchmark $(date -Is): $(nproc) cores, $workers workers per server, ${duration} s windows$([ "$quick" = 1 ] && echo ", --quick")$([ "$auth" != none ] && echo ", auth $auth (tokens minted by the load tester)")$([ "$redis_mode" = cluster ] && echo ", on a Redis Cluster of 3 primaries and 3 replicas"); ran ${elapsed} s; load average $load_start at start, $load_end at end."
  for target in "${targets[@]}"; do
    echo
    echo "### $([ "$target" = switchboard ] && echo Switchboard || echo "Node baseline (cluster + ws + ioredis)")"
    echo
    echo "$table_header"
    table_of "$target"
  done
  if [ ${#targets[@]} -eq 2 ]; then
    echo
    echo "### Side by side (node/sb: baseline over Switchboard; sb/node: Switchboard over baseline)"
    echo
    compare_table
  fi
  echo
  echo "CPU: server processes' utime+stime over the measured window per delivery (hold: per connection opened; connect-rate: per connect-ping-close cycle). Ratio: delivered/expected (hold: opened/planned; connect-rate: cycles completed/started). Latency: delivery from scheduled send (hold: handshake; connect-rate: cycle). Handshakes/s: over the connect phase (rooms: including the join; connect-rate: cycles/s). Kernel: share of the server's CPU (user+system over the whole run) spent in the kernel. Frames/send: WebSocket frames per send to client sockets over the whole run, from the server's /metrics (switchboard_sent_frames_total / switchboard_socket_sends_total). Ceiling: the node/sb CPU ratio Switchboard would reach with no user-space CPU at all (baseline CPU over Switchboard's kernel CPU per delivery). Load: 1-minute load average when the run ended. †: fell behind, fewer deliveries arrived in the window than it owed (latency then includes the backlog)."
} >"$out/table.md"
cat "$out/table.md"
say "done in ${elapsed} s; results in $out"
