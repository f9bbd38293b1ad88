#!/usr/bin/env bash
# The nightly state at scale (issue 10): night 2 of `generate --nights 2` scrubbed without a state,
# then night 1 into a new state and night 2 against it; wall time, cpu, peak RSS, the state's size,
# and each night's findings against its truth.csv. Not part of CI.
#
#   claimscrub generate --claims 20000000 --nights 2 --seed 7 --out benches/data/n20m
#   benches/state.sh benches/data/n20m [BINARY]
set -euo pipefail
dir=$1 bin=${2:-target/release/claimscrub}
work=$(mktemp -d -p "$(dirname "$dir")")
trap 'rm -rf "$work"' EXIT
common=(--mue "$dir/mue.csv" --ncci "$dir/ncci.txt" --quiet)
run() { # name, out, args...
  local name=$1 out=$2; shift 2
  /usr/bin/time -f "$name: %e s wall, %U+%S s cpu, %M KB peak RSS" \
    "$bin" scrub "$@" --out "$out" "${common[@]}" 2>&1 >/dev/null | grep -v '^\[' | tail -1
}
same_as_truth() { # out, night
  python3 - "$1/rejections.csv" "$dir/$2/truth.csv" <<'PY'
import csv, sys
got = {(r["claim_id"], r["line_no"], r["rule"]) for r in csv.DictReader(open(sys.argv[1]))}
want = {(r["claim_id"], r["line_no"], r["rule"]) for r in csv.DictReader(open(sys.argv[2]))}
print(f"  findings {len(got)}, truth {len(want)}: " + ("equal" if got == want else f"DIFFER ({len(got - want)} extra, {len(want - got)} missing)"))
PY
}
run "night 2 without --state" "$work/o0" "$dir/night2"
run "night 1 with --state (new)" "$work/o1" "$dir/night1" --state "$work/state.db"
same_as_truth "$work/o1" night1
echo "  state after night 1: $(stat -c %s "$work/state.db") bytes"
run "night 2 with --state" "$work/o2" "$dir/night2" --state "$work/state.db"
same_as_truth "$work/o2" night2
echo "  state after night 2: $(stat -c %s "$work/state.db") bytes"
run "night 2 without --state (again)" "$work/o3" "$dir/night2"
