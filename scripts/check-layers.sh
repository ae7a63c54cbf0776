#!/usr/bin/env bash
# Checks the include graph of server/ against its layers (docs/architecture.md):
#
#   common/          includes nothing of server/
#   server/cluster/  Redis: includes common/ and cluster/ only
#   server/net/      clients: includes common/, cluster/ and net/, never process/
#   worker_context   wires one worker: net/, cluster/, common/
#   server/process/  the master and its workers: anything
#
# and no arrow back up into a session: only the sessions themselves, the
# listener that makes them and process/ include ws_session.hpp,
# http_session.hpp or worker_context.hpp. Prints each offending include and
# exits 1; run by ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bad=0
offend() { printf 'layering: %s includes %s (%s)\n' "$1" "$2" "$3"; bad=1; }

while IFS= read -r file; do
  while IFS= read -r inc; do
    case "$file" in
      common/*)
        [[ "$inc" == server/* ]] && offend "$file" "$inc" "common/ is below server/" ;;
      server/cluster/*)
        [[ "$inc" == server/* && "$inc" != server/cluster/* ]] && offend "$file" "$inc" "cluster/ sees only cluster/ and common/" ;;
      server/net/*|server/worker_context.hpp)
        [[ "$inc" == server/process/* ]] && offend "$file" "$inc" "process/ is above net/" ;;
    esac
    case "$inc" in
      server/net/ws_session.hpp|server/net/http_session.hpp|server/worker_context.hpp)
        case "$file" in
          server/net/ws_session.*|server/net/http_session.*|server/net/listener.*|server/process/*) ;;
          *) offend "$file" "$inc" "only sessions, the listener and process/ reach a session or the worker's wiring" ;;
        esac ;;
    esac
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find common server -name '*.hpp' -o -name '*.cpp' | sort)

[ "$bad" -eq 0 ] && echo "layering: server/ and common/ include only downward"
exit "$bad"
