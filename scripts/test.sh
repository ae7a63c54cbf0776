#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit and integration
# (a real redis-server and the real binary; the Sentinel subset also runs a
# replica and three redis-sentinel), the JavaScript client and the
# demo page in headless Chromium, then each fuzz target for a bounded time.
#
#   scripts/test.sh                    # RelWithDebInfo build in build/
#   scripts/test.sh --sanitize         # AddressSanitizer + UBSan build in build-asan/
#   scripts/test.sh --plain            # build/ even when CI=true
#   scripts/test.sh --fuzz-seconds 60  # per fuzz target (default 30; 0 skips)
#
# With CI=true the sanitized build is the default: CI runs the whole suite
# under ASan and UBSan.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sanitize=0
[ "${CI:-}" = true ] && sanitize=1
fuzz_seconds=30
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) sanitize=1 ;;
    --plain) sanitize=0 ;;
    --fuzz-seconds)
      [ $# -ge 2 ] || die "--fuzz-seconds needs a number"
      fuzz_seconds="$2"
      shift ;;
    --fuzz-seconds=*) fuzz_seconds="${1#*=}" ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
  shift
done
[[ "$fuzz_seconds" =~ ^[0-9]+$ ]] || die "--fuzz-seconds: '$fuzz_seconds' is not a number of seconds"

install_packages "${SWITCHBOARD_PACKAGES[@]}" "${SWITCHBOARD_TEST_PACKAGES[@]}"

if [ "$sanitize" -eq 1 ]; then
  dir="$SWITCHBOARD_ROOT/build-asan"
  # What the tests run, not the load tester's executable: the sanitized
  # build is CI's, and CI's time is better spent running tests than
  # compiling a tool no test starts (the plain build compiles everything).
  configure_and_build "$dir" Debug -DSWITCHBOARD_SANITIZE=ON -- \
    switchboard unit_tests integration_tests redis_cluster_server_tests load_unit_tests
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
  dir="$SWITCHBOARD_ROOT/build"
  configure_and_build "$dir" RelWithDebInfo -DSWITCHBOARD_SANITIZE=OFF
fi

say "installing the JavaScript tests' packages and the Node emitter's (npm ci)"
(cd "$SWITCHBOARD_ROOT/tests/js" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in tests/js"
(cd "$SWITCHBOARD_ROOT/scripts/emitter-node" && npm ci --no-audit --no-fund --loglevel=error) \
  || die "npm ci failed in scripts/emitter-node"

say "running tests"
(cd "$dir" && ctest --output-on-failure --timeout 300)

if [ "$fuzz_seconds" -gt 0 ]; then
  "$SWITCHBOARD_ROOT/scripts/fuzz.sh" --seconds "$fuzz_seconds"
fi
