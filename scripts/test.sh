#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and integration,
# against a real redis-server and the real binary).
#
#   scripts/test.sh              # RelWithDebInfo build in build/
#   scripts/test.sh --sanitize   # AddressSanitizer + UBSan build in build-asan/
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sanitize=0
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg (try --help)" ;;
  esac
done

install_packages "${SWITCHBOARD_PACKAGES[@]}"

if [ "$sanitize" -eq 1 ]; then
  dir="$SWITCHBOARD_ROOT/build-asan"
  configure_and_build "$dir" Debug -DSWITCHBOARD_SANITIZE=ON
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
  dir="$SWITCHBOARD_ROOT/build"
  configure_and_build "$dir" RelWithDebInfo -DSWITCHBOARD_SANITIZE=OFF
fi

say "running tests"
cd "$dir"
ctest --output-on-failure --timeout 300
