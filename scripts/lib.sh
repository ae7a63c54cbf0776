# Shared by the scripts: installing what is missing, building, starting a
# private Redis and waiting for a node to answer. Sourced, not run.

SWITCHBOARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian 12 packages the build and the tests need.
SWITCHBOARD_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-url1.81-dev libboost-program-options1.81-dev
  libhiredis-dev liburing-dev nlohmann-json3-dev libgtest-dev libssl-dev
  redis-server redis-sentinel redis-tools curl openssl
  haproxy nginx-light
)

# What scripts/test.sh needs on top: Node for the client library's tests
# (the machine's own Node 20 counts: its package provides npm), Chromium for
# the browser test, clang and its fuzzer runtime for the fuzz targets.
SWITCHBOARD_TEST_PACKAGES=(
  nodejs chromium
  clang libclang-rt-14-dev
)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the packages in "$@" that are not installed yet.
install_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install failed for: ${missing[*]}"
}

# configure_and_build BUILD_DIR BUILD_TYPE [cmake args...] -- [targets...]
configure_and_build() {
  local dir="$1" type="$2"
  shift 2
  local cmake_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmake_args+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  local targets=("$@")
  say "building in $dir ($type)"
  cmake -S "$SWITCHBOARD_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "${cmake_args[@]}" >/dev/null \
    || die "cmake configure failed"
  local target_args=()
  [ ${#targets[@]} -gt 0 ] && target_args=(--target "${targets[@]}")
  cmake --build "$dir" "${target_args[@]}" -- -j"$(nproc)" || die "build failed"
}

# Runs "$@" every 0.1 s for up to $1 seconds until it succeeds; 1 if it never did.
retry() {
  local tries=$(($1 * 10)) i
  shift
  for ((i = 0; ; ++i)); do
    "$@" && return 0
    [ "$i" -lt "$tries" ] || return 1
    sleep 0.1
  done
}

# Runs "$@" every 0.1 s for up to $2 s while process $1 lives: 0 on success, 1 if $1 ended, 2 on timeout.
retry_while_alive() {
  local pid="$1" tries=$(($2 * 10)) i
  shift 2
  for ((i = 0; ; ++i)); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$i" -lt "$tries" ] || return 2
    sleep 0.1
  done
}

# True if the Redis on 127.0.0.1:$1 answers PING.
redis_answers() { redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1; }

# True if URL $1 answers 2xx.
url_answers() { curl -fs "$1" >/dev/null 2>&1; }

# Starts redis-server on 127.0.0.1:$1, logging to $2, under "${@:3}" if given; sets redis_pid. No persistence,
# unless redis_aof_dir names a directory: then an append-only file there, fsynced every second, so that room
# history and its epochs survive a restart (deploy/README.md, "History and Redis persistence").
start_private_redis() {
  local port="$1" log="$2"
  shift 2
  local persistence=(--appendonly no)
  if [ -n "${redis_aof_dir:-}" ]; then
    mkdir -p "$redis_aof_dir"
    persistence=(--appendonly yes --appendfsync everysec --dir "$redis_aof_dir")
  fi
  "$@" redis-server --bind 127.0.0.1 --port "$port" --save "" "${persistence[@]}" --daemonize no --logfile "$log" &
  redis_pid=$!
}

# Waits up to $2 s for the Redis on 127.0.0.1:$1 to answer PING, or dies pointing at its log, named $3.
wait_for_redis() {
  retry "$2" redis_answers "$1" || die "redis-server did not start (see $3)"
}

# Waits up to $3 s for URL $1 to answer 2xx while process $2 lives; status as retry_while_alive.
wait_healthy() { retry_while_alive "$2" "$3" url_answers "$1"; }

# Sends SIGTERM to process $1, if there is one, and reaps it.
stop_process() {
  [ -n "${1:-}" ] || return 0
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# How long a Redis Cluster primary may be silent before the others fail it over (cluster-node-timeout, ms).
redis_cluster_node_timeout="${redis_cluster_node_timeout:-1000}"

# True once the cluster node on 127.0.0.1:$1 serves every slot (cluster_state:ok).
redis_cluster_ok() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

# True once the cluster node on 127.0.0.1:$1 is a primary, or a replica whose link to its primary is up.
redis_cluster_linked() {
  local info
  info="$(redis-cli -h 127.0.0.1 -p "$1" info replication 2>/dev/null)" || return 1
  grep -q '^role:master' <<<"$info" || grep -q '^master_link_status:up' <<<"$info"
}

# start_redis_cluster DIR PORT BUS_PORT [COMMAND...]: a Redis Cluster of six nodes on 127.0.0.1, three
# primaries each with one replica, joined by `redis-cli --cluster create`: nodes on PORT..PORT+5, their
# cluster bus on BUS_PORT..BUS_PORT+5 (named, since the default, port + 10000, may not exist), no persistence,
# each node's log and nodes.conf in DIR. Each node runs under COMMAND if given (e.g. setsid). Returns once
# every node says cluster_state:ok and every replica is linked to its primary, or dies. Sets
# redis_cluster_pids (the six, in port order) and redis_cluster_url (cluster:// with the first three nodes).
start_redis_cluster() {
  local dir="$1" port="$2" bus_port="$3"
  shift 3
  local i p addresses=()
  mkdir -p "$dir"
  redis_cluster_pids=()
  for i in 0 1 2 3 4 5; do
    p=$((port + i))
    "$@" redis-server --bind 127.0.0.1 --port "$p" --save "" --appendonly no --daemonize no \
      --cluster-enabled yes --cluster-port $((bus_port + i)) --cluster-node-timeout "$redis_cluster_node_timeout" \
      --cluster-config-file "$dir/nodes-$p.conf" --dir "$dir" --logfile "$dir/redis-$p.log" &
    redis_cluster_pids+=($!)
    addresses+=("127.0.0.1:$p")
  done
  for i in 0 1 2 3 4 5; do wait_for_redis $((port + i)) 5 "$dir/redis-$((port + i)).log"; done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$dir/cluster-create.log" 2>&1 \
    || die "redis-cli --cluster create failed (see $dir/cluster-create.log)"
  for i in 0 1 2 3 4 5; do
    retry 30 redis_cluster_ok $((port + i)) || die "Redis Cluster node $((port + i)) never reached cluster_state:ok"
    retry 30 redis_cluster_linked $((port + i)) || die "Redis Cluster replica $((port + i)) never linked to its primary"
  done
  redis_cluster_url="cluster://$(IFS=,; echo "${addresses[*]:0:3}")"
}

# start_redis_sentinel DIR PORT: a Redis primary on 127.0.0.1:PORT, its replica on PORT+1 and three sentinels
# on PORT+2..PORT+4 watching it under the name "switchboard" (down-after-milliseconds 1000), no persistence,
# logs and the sentinels' files in DIR. Returns once all of them answer, or dies. Sets redis_sentinel_pids
# (primary, replica, sentinels) and redis_sentinel_url (sentinel:// with the three sentinels).
start_redis_sentinel() {
  local dir="$1" port="$2" i sentinel_port sentinels=()
  mkdir -p "$dir"
  redis_sentinel_pids=()
  start_private_redis "$port" "$dir/redis.log"
  redis_sentinel_pids+=("$redis_pid")
  wait_for_redis "$port" 5 "$dir/redis.log"
  redis-server --bind 127.0.0.1 --port $((port + 1)) --save "" --appendonly no --daemonize no \
    --replicaof 127.0.0.1 "$port" --logfile "$dir/replica.log" &
  redis_sentinel_pids+=($!)
  wait_for_redis $((port + 1)) 5 "$dir/replica.log"
  for i in 1 2 3; do
    sentinel_port=$((port + 1 + i))
    # Sentinel rewrites its configuration file, so each gets one of its own.
    printf '%s\n' "port $sentinel_port" "bind 127.0.0.1" "dir $dir" \
      "sentinel monitor switchboard 127.0.0.1 $port 2" \
      "sentinel down-after-milliseconds switchboard 1000" \
      "sentinel failover-timeout switchboard 10000" >"$dir/sentinel$i.conf"
    redis-sentinel "$dir/sentinel$i.conf" --logfile "$dir/sentinel$i.log" &
    redis_sentinel_pids+=($!)
    wait_for_redis "$sentinel_port" 5 "$dir/sentinel$i.log"
    sentinels+=("127.0.0.1:$sentinel_port")
  done
  redis_sentinel_url="sentinel://$(IFS=,; echo "${sentinels[*]}")/switchboard"
}
