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
