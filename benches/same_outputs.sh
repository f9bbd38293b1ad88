#!/usr/bin/env bash
# Do two builds of claimscrub give the same outputs? For a change that must not change behaviour.
# Runs both binaries on the demo, on every case folder (with its args, whole and in 3 parts) and on
# generated batches, and compares rejections, clean, held and malformed byte for byte and
# summary.json apart from elapsed_seconds, started_at and command_line. Not part of CI.
#
#   benches/same_outputs.sh OLD_BINARY NEW_BINARY [GENERATED_LINES ...]   default: 100000
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1"); new=$(realpath "$2"); shift 2
sizes=("${@:-100000}")
[ $# -eq 0 ] && sizes=(100000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=0 differ=0

# same NAME INPUT_DIR [ARGS...]: scrub with both, compare
same() {
  local name=$1 input=$2; shift 2
  rm -rf "$work/old" "$work/new"
  local a b
  a=$("$old" scrub "$input" --out "$work/old" --quiet "$@" >/dev/null 2>&1; echo $?)
  b=$("$new" scrub "$input" --out "$work/new" --quiet "$@" >/dev/null 2>&1; echo $?)
  runs=$((runs + 1))
  if [ "$a" != "$b" ]; then
    echo "DIFFERS $name: exit $a vs $b"; differ=$((differ + 1)); return
  fi
  for f in rejections.csv clean.csv held.csv malformed.csv; do
    if [ -e "$work/old/$f" ] || [ -e "$work/new/$f" ]; then
      cmp -s "$work/old/$f" "$work/new/$f" || { echo "DIFFERS $name: $f"; differ=$((differ + 1)); }
    fi
  done
  if [ -e "$work/old/summary.json" ]; then
    python3 - "$work/old/summary.json" "$work/new/summary.json" "$name" <<'PY' || differ=$((differ + 1))
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for s in (a, b):
    for key in ("elapsed_seconds", "started_at", "command_line"):
        s.pop(key, None)
if a != b:
    print(f"DIFFERS {sys.argv[3]}: summary.json")
    sys.exit(1)
PY
  fi
}

same demo fixtures/demo --mue fixtures/demo/mue-example.csv
same "demo --ncci" fixtures/demo --mue fixtures/demo/mue-example.csv --ncci fixtures/ncci/ptp-physical-medicine-excerpt.txt
for dir in tests/cases/*/*/; do
  args=()
  if [ -f "$dir/args" ]; then
    for a in $(cat "$dir/args"); do
      if [ -f "$dir/$a" ]; then args+=("$dir/$a"); else args+=("$a"); fi
    done
  fi
  same "${dir#tests/cases/}" "$dir" "${args[@]}"
  same "${dir#tests/cases/} --parts 3" "$dir" "${args[@]}" --parts 3
done
for n in "${sizes[@]}"; do
  "$new" generate --out "$work/gen-$n" --claims "$n" --seed 7 >/dev/null 2>&1
  same "generated $n" "$work/gen-$n" --mue "$work/gen-$n/mue.csv"
  if [ -f "$work/gen-$n/ncci.txt" ]; then
    same "generated $n --ncci" "$work/gen-$n" --mue "$work/gen-$n/mue.csv" --ncci "$work/gen-$n/ncci.txt"
  fi
  rm -rf "$work/gen-$n"
done
echo "$runs runs, $differ differences"
[ "$differ" -eq 0 ]
