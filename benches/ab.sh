#!/usr/bin/env bash
# A/B timing in one run: scrub the same batch with two commands, alternating, N times each, and
# print wall time and peak RSS of every run (from /usr/bin/time). For "within 5% of the build
# before" claims in BENCHMARKS.md. Not part of CI.
#
#   benches/ab.sh RUNS DIR "A: BINARY [ARGS...]" "B: BINARY [ARGS...]"
#   e.g. benches/ab.sh 3 benches/data/10000000 "old: /tmp/old/claimscrub" "new: target/release/claimscrub"
# Each command runs as: BINARY scrub DIR --out OUT --mue DIR/mue.csv --quiet ARGS...
set -euo pipefail
runs=$1 dir=$2; shift 2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for ((i = 1; i <= runs; i++)); do
  for spec in "$@"; do
    name=${spec%%:*}
    read -r -a cmd <<<"${spec#*: }"
    rm -rf "$out/o"
    /usr/bin/time -f "$name run $i: %e s wall, %U+%S s cpu, %M KB peak RSS" \
      "${cmd[0]}" scrub "$dir" --out "$out/o" --mue "$dir/mue.csv" --quiet "${cmd[@]:1}" 2>&1 >/dev/null | tail -1
  done
done
