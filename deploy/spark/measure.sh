#!/usr/bin/env bash
# The figures of deploy/spark/README.md: one scrub against the recipe in Spark local mode
# (local[1], local[2]), and the peak memory of one part's scrub against the part's size.
#   deploy/spark/measure.sh DATA_DIR [LINES] [REPEATS]
# Needs target/release/claimscrub and target/spark-venv (scripts/spark-venv.sh). Writes
# DATA_DIR/batch (a generated batch of LINES claim lines, default 1000000) and the runs' outputs;
# prints one line per run. Wall time and peak RSS by /usr/bin/time (for spark-submit: the largest
# single process of the tree, which is the JVM or a part's scrub, not their sum).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
data="$1"
lines="${2:-1000000}"
repeats="${3:-1}"
bin="$repo/target/release/claimscrub"
venv="$repo/target/spark-venv"
export PATH="$venv/bin:$PATH" PYSPARK_PYTHON="$venv/bin/python" SPARK_LOCAL_IP=127.0.0.1
mkdir -p "$data"
cd "$data"
[ -f batch/claims.csv ] || "$bin" generate --claims "$lines" --seed 3 --out batch
flags=(--mue batch/mue.csv --ncci batch/ncci.txt)
timed() { # label, command...
    local label="$1"
    shift
    /usr/bin/time -o time.txt -f "%e %M %U %S" "$@" >run.log 2>&1 || { cat run.log >&2; exit 1; }
    read -r wall kb user sys <time.txt
    printf '%-52s %7.2f s wall %7.2f s cpu %6d MB peak RSS\n' "$label" "$wall" "$(awk "BEGIN { print $user + $sys }")" "$((kb / 1024))"
}
same() { # merged folder: byte-for-byte against single/
    for f in rejections clean held malformed; do cmp -s single/$f.csv "$1/$f.csv" || { echo "$1/$f.csv DIFFERS" >&2; exit 1; }; done
    python3 - single "$1" <<'EOF'
import json, sys
a, b = (json.load(open(p + "/summary.json")) for p in sys.argv[1:3])
for d in (a, b):
    for k in ("started_at", "command_line", "elapsed_seconds"):
        d.pop(k)
sys.exit(0 if a == b else f"{sys.argv[2]}/summary.json differs")
EOF
}
echo "batch: $(($(wc -l <batch/claims.csv) - 1)) claim lines, $(du -sh batch | cut -f1); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$repeats"); do
    rm -rf single
    timed "scrub (2 threads)" "$bin" scrub batch --out single --quiet "${flags[@]}"
    for m in 1 2; do
        rm -rf "work$m" "merged$m"
        timed "spark local[$m], 4 parts (partition+scrubs+merge)" \
            spark-submit --master "local[$m]" --conf spark.ui.enabled=false \
            "$repo/deploy/spark/scrub_parts.py" --claimscrub "$bin" --input batch --parts 4 \
            --work "work$m" --out "merged$m" -- "${flags[@]}"
        same "merged$m"
        grep "^scrub_parts:" run.log | sed 's/^/    /'
    done
done
# one part's scrub (1 thread, as one executor core runs it) against the part's size
for parts in 1 2 4 8 16; do
    rm -rf "p$parts" "o$parts"
    timed "partition into $parts" "$bin" partition batch --parts "$parts" --out "p$parts" --quiet
    n=$(python3 -c "import json; print(json.load(open('p$parts/manifest.json'))['part_rows'][0][0])")
    timed "scrub of part 0 of $parts ($n lines, 1 thread)" \
        "$bin" scrub "p$parts/part=0" --out "o$parts/part=0" --quiet --threads 1 "${flags[@]}"
done
rm -rf p16 o16
"$bin" partition batch --parts 16 --out p16 --quiet
for k in $(seq 0 15); do "$bin" scrub "p16/part=$k" --out "o16/part=$k" --quiet "${flags[@]}"; done
rm -rf m16
timed "merge of 16 parts" "$bin" merge o16/part=* --out m16 --quiet
same m16
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
