#!/usr/bin/env bash
# Installs what is missing, builds the load tester (in build/, like test.sh)
# and runs it with the given arguments; with --plot it installs gnuplot-nox
# too. Progress and the summary go to stderr, one JSON line to stdout.
#
#   scripts/load.sh --help
#   scripts/load.sh fanout --url ws://127.0.0.1:8080/ws -c 1000 -P 10 -r 40
#   scripts/load.sh connect -c 30000 --procs 2 --source-addrs 2 --plot out/
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

packages=("${SWITCHBOARD_PACKAGES[@]}")
for arg in "$@"; do
  case "$arg" in
    --plot | --plot=*) packages+=(gnuplot-nox) ;;
  esac
done
install_packages "${packages[@]}"
# The build's output would mix with the JSON line on stdout.
configure_and_build "$SWITCHBOARD_ROOT/build" RelWithDebInfo -DSWITCHBOARD_SANITIZE=OFF -- switchboard-load >&2

exec "$SWITCHBOARD_ROOT/build/scripts/loadtest/switchboard-load" "$@"
