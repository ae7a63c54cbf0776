#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (in build-fuzz/) and runs each on
# its seed corpus (tests/fuzz/corpus/<target>) for a bounded time, two at a
# time. New inputs go to build-fuzz/corpus/<target>; a crash leaves its input
# in build-fuzz/crashes/ and fails the run.
#
#   scripts/fuzz.sh                  # 30 s per target
#   scripts/fuzz.sh --seconds 600 http
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds=30
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds)
      [ $# -ge 2 ] || die "--seconds needs a number"
      seconds="$2"
      shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) die "unknown argument: $1 (try --help)" ;;
    *) targets+=("$1") ;;
  esac
  shift
done
[[ "$seconds" =~ ^[0-9]+$ ]] || die "--seconds: '$seconds' is not a number of seconds"
[ ${#targets[@]} -gt 0 ] || targets=(request envelope resp http token)
for t in "${targets[@]}"; do
  [ -d "$SWITCHBOARD_ROOT/tests/fuzz/corpus/$t" ] || die "no fuzz target '$t' (request, envelope, resp, http, token)"
done

install_packages "${SWITCHBOARD_PACKAGES[@]}" clang libclang-rt-14-dev
dir="$SWITCHBOARD_ROOT/build-fuzz"
CXX=clang++ configure_and_build "$dir" Release -DSWITCHBOARD_FUZZ=ON

run_one() {
  local t="$1"
  mkdir -p "$dir/corpus/$t" "$dir/crashes"
  if "$dir/tests/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$dir/crashes/$t-" "$dir/corpus/$t" "$SWITCHBOARD_ROOT/tests/fuzz/corpus/$t" \
      >"$dir/$t.log" 2>&1; then
    say "fuzz $t: $(grep -E '^#[0-9]+.*DONE' "$dir/$t.log" | tail -1 | sed 's/^#//')"
  else
    grep -E 'ERROR|SUMMARY|artifact' "$dir/$t.log" | head -20 >&2
    say "fuzz $t FAILED; log: $dir/$t.log"
    return 1
  fi
}

say "fuzzing ${targets[*]} for $seconds s each, two at a time"
failed=0
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" -eq 0 ] || die "a fuzz target found a crash (inputs in $dir/crashes)"
