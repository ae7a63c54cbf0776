# Shared by run.sh and test.sh: installing what is missing and building.
# Sourced, not run.

SWITCHBOARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian 12 packages the build and the tests need.
SWITCHBOARD_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-url1.81-dev libboost-program-options1.81-dev
  libhiredis-dev liburing-dev nlohmann-json3-dev libgtest-dev
  redis-server redis-tools curl
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
