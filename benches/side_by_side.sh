#!/usr/bin/env bash
# A/B of two builds in one host minute: both scrub the same batch at the same time, one thread each
# (one core each), so that the shared host's drift (25-40 % within minutes) hits both alike; prints
# each run's cpu seconds (user + sys) and B/A. For small changes that one-after-the-other runs
# cannot tell from the drift. Not part of CI.
#
#   benches/side_by_side.sh RUNS DIR BINARY_A BINARY_B
#   e.g. benches/side_by_side.sh 3 benches/data/10000000 /tmp/old/claimscrub target/release/claimscrub
# Each runs: BINARY scrub DIR --out OUT --mue DIR/mue.csv --ncci DIR/ncci.txt --quiet --threads 1
set -euo pipefail
runs=$1 dir=$2 a=$3 b=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
one() {
  /usr/bin/time -f "%U %S" -o "$tmp/$1.t" "$2" scrub "$dir" --out "$tmp/$1" --mue "$dir/mue.csv" \
    --ncci "$dir/ncci.txt" --quiet --threads 1 >/dev/null
}
for ((i = 1; i <= runs; i++)); do
  one a "$a" &
  one b "$b" &
  wait
  python3 - "$tmp/a.t" "$tmp/b.t" "$i" <<'PY'
import sys
cpu = [sum(map(float, open(p).read().split()[-2:])) for p in sys.argv[1:3]]
print(f"run {sys.argv[3]}: A {cpu[0]:.2f} s cpu, B {cpu[1]:.2f} s cpu, B/A {cpu[1] / cpu[0]:.3f}")
PY
done
