#!/usr/bin/env bash
# Benchmarks of BENCHMARKS.md: generate batches, then time on the same files
#   1. claimscrub scrub                         (this project)
#   2. the DuckDB reference of the same rules   (benches/duckdb, DuckDB from PyPI in a venv)
#   3. polars reading the three inputs and writing the claims back out (benches/floor/, a project of
#      its own: claimscrub does not depend on polars)
# with wall time and peak RSS from /usr/bin/time -v. Not part of CI.
#
#   benches/run.sh [LINES ...]        default: 1000000 10000000
#   SKIP_DUCKDB=1 benches/run.sh ...  without the DuckDB reference
#   PAIRS=5 benches/run.sh ...        then 5 more claimscrub / read_write pairs, one after the other,
#                                     and the median of their ratios (the host's speed drifts by
#                                     25-30 % within minutes; a pair's two runs see the same drift)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000000 10000000}")
[ $# -eq 0 ] && sizes=(1000000 10000000)
data=benches/data
mkdir -p "$data"

cargo build --release --quiet
bin=target/release/claimscrub
cargo build --release --locked --quiet --manifest-path benches/floor/Cargo.toml
baseline=benches/floor/target/release/read_write

venv=benches/.venv
if [ -z "${SKIP_DUCKDB:-}" ] && [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb
fi

# run NAME CMD...: wall seconds, user+sys seconds, peak RSS in MB. The inputs are read once first,
# so that every system starts with them in the page cache (the one run first would otherwise pay
# the disk for all three, after a larger batch pushed them out)
run() {
  local name=$1; shift
  cat "$dir"/claims.csv "$dir"/sessions.csv "$dir"/prescriptions.csv >/dev/null
  local log; log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || { echo "$name failed:"; tail -5 "$log"; }
  python3 - "$name" "$log" <<'PY'
import re, sys
name, log = sys.argv[1], open(sys.argv[2]).read()
def get(pat):
    m = re.search(pat, log)
    return m.group(1) if m else "?"
wall = get(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)")
parts = [float(p) for p in wall.split(":")] if wall != "?" else [0]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
cpu = float(get(r"User time \(seconds\): (\S+)")) + float(get(r"System time \(seconds\): (\S+)"))
rss = int(get(r"Maximum resident set size \(kbytes\): (\d+)")) / 1024
print(f"{name}\t{secs:.2f}\t{cpu:.2f}\t{rss:.0f}")
PY
  rm -f "$log"
}

printf '%s\n' "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
for n in "${sizes[@]}"; do
  dir=$data/$n
  # a batch of a generator older than ncci.txt would not scrub to its truth under the PTP edits
  if [ ! -f "$dir/claims.csv" ] || [ ! -f "$dir/ncci.txt" ]; then
    "$bin" generate --out "$dir" --claims "$n" 2>/dev/null
  fi
  bytes=$(cat "$dir"/claims.csv "$dir"/sessions.csv "$dir"/prescriptions.csv | wc -c)
  lines=$(($(wc -l < "$dir/claims.csv") - 1))
  echo "== $lines claim lines, $((bytes / 1000000)) MB of CSV in $dir"
  echo -e "system\twall_s\tcpu_s\tpeak_rss_mb"
  # the two commands compared, run once here and again in each pair below
  scrub=("$bin" scrub "$dir" --out "$dir/out-claimscrub" --mue "$dir/mue.csv" --ncci "$dir/ncci.txt" --quiet)
  floor=("$baseline" "$dir" "$dir/out-read-write.csv")
  run claimscrub "${scrub[@]}"
  # the findings must be the ones the generator planted
  python3 - "$dir/truth.csv" "$dir/out-claimscrub/rejections.csv" <<'PY'
import csv, sys
truth = {tuple(r) for r in list(csv.reader(open(sys.argv[1])))[1:]}
with open(sys.argv[2]) as f:
    found = {(r[0], r[1], r[6]) for r in list(csv.reader(f))[1:]}
print(f"findings: {len(found)}, planted: {len(truth)}, equal: {found == truth}")
PY
  run read_write "${floor[@]}"
  if [ -z "${SKIP_DUCKDB:-}" ]; then
    run duckdb "$venv/bin/python" benches/duckdb/run_reference.py "$dir" "$dir/out-duckdb" --mue "$dir/mue.csv" --ncci "$dir/ncci.txt" --quiet
  fi
  if [ "${PAIRS:-0}" -gt 0 ]; then
    pairs=$(mktemp)
    for _ in $(seq "$PAIRS"); do
      run claimscrub "${scrub[@]}"
      run read_write "${floor[@]}"
    done | tee "$pairs"
    python3 - "$pairs" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
cs = [float(r[1]) for r in rows if r[0] == "claimscrub"]
rw = [float(r[1]) for r in rows if r[0] == "read_write"]
ratios = [a / b for a, b in zip(cs, rw)]
print("pair ratios: " + ", ".join(f"{r:.2f}" for r in ratios))
print(f"median ratio claimscrub / read_write: {statistics.median(ratios):.2f} "
      f"(claimscrub median {statistics.median(cs):.2f} s, read_write median {statistics.median(rw):.2f} s)")
PY
    rm -f "$pairs"
  fi
done
