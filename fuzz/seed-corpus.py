#!/usr/bin/env python3
"""Seed corpora for the fuzz targets from the project's fixtures (run from fuzz/).

The Parquet seeds need pyarrow: `python3 -m venv target/fuzz-venv && target/fuzz-venv/bin/pip install pyarrow`,
then run this script with that venv's python; without pyarrow they are left out."""
import csv, glob, io, os, subprocess

os.makedirs("corpus/inputs", exist_ok=True)
os.makedirs("corpus/x12", exist_ok=True)
os.makedirs("corpus/references", exist_ok=True)
names = ["claims", "sessions", "prescriptions"]
for w, n in enumerate(names):
    b = open(f"../fixtures/demo/{n}.csv", "rb").read()
    # mode byte: which file | 4 gzip | 8 Parquet | 16 latin1 | 32 cp1252 | 64 hold by line
    for mode in (0, 4, 16, 32, 64):
        open(f"corpus/inputs/{n}-{mode}", "wb").write(bytes([w | mode]) + b)
    lines = b.split(b"\n")
    open(f"corpus/inputs/{n}-small", "wb").write(bytes([w]) + b"\n".join(lines[:12]) + b"\n")
try:
    import pyarrow as pa, pyarrow.parquet as pq
    for w, n in enumerate(names):
        rows = list(csv.reader(open(f"../fixtures/demo/{n}.csv", newline="")))
        h, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])][:20]
        buf = io.BytesIO()
        pq.write_table(pa.table({c: [r[i] for r in body] for i, c in enumerate(h)}), buf)
        open(f"corpus/inputs/{n}-parquet", "wb").write(bytes([w | 8]) + buf.getvalue())
except ImportError:
    print("pyarrow not installed: no Parquet seeds")
for p in glob.glob("../fixtures/x12/*.837") + ["../fixtures/x12/demo/claims.837"]:
    name = os.path.basename(os.path.dirname(p)) + "-" + os.path.basename(p)
    open("corpus/x12/" + name, "wb").write(open(p, "rb").read())
# references: mode byte 0 MUE, 1 NCCI, 2 policy, 3 ICD-10 TSV, 7 ICD-10 CMS order file
open("corpus/references/0", "wb").write(b"\x00" + open("../fixtures/demo/mue-example.csv", "rb").read())
ptp = open("../fixtures/ncci/ptp-physical-medicine-excerpt.txt", "rb").read()[:20000]
open("corpus/references/1", "wb").write(b"\x01" + ptp)
policy = subprocess.run(["../target/release/claimscrub", "policy"], capture_output=True, check=True).stdout
open("corpus/references/2", "wb").write(b"\x02" + policy)
import gzip
tsv = gzip.open("../src/reference/data/icd10cm_fy2026.tsv.gz").read().split(b"\n")[:300]
open("corpus/references/3", "wb").write(b"\x03" + b"\n".join(tsv) + b"\n")
order = []
for i, l in enumerate(tsv[1:40]):
    code, billable = l.split(b"\t")[:2]
    order.append(b"%05d %-7s %s %-60s long description" % (i + 1, code.replace(b".", b""), billable, b"short"))
open("corpus/references/7", "wb").write(b"\x07" + b"\n".join(order) + b"\n")
