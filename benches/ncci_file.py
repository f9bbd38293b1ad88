#!/usr/bin/env python3
"""A synthetic NCCI PTP edit file the size of CMS's practitioner set (about a million edits), in CMS's
layout, to measure loading it (BENCHMARKS.md). The codes and pairs are made up; not CMS's edits.

    python3 benches/ncci_file.py OUT_FILE [EDITS]
"""
import random
import sys

out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
rng = random.Random(7)
rationales = [
    "Misuse of column two code with column one code",
    "Standards of medical / surgical practice",
    "Mutually exclusive procedures",
    "CPT Manual or CMS manual coding instructions",
]
with open(out, "w") as f:
    f.write("MADE-UP EDITS FOR A BENCHMARK: NOT CMS's NCCI EDITS\n")
    f.write("Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date\tModifier\tPTP Edit Rationale\n")
    f.write("\t\t\t\t*=no data\t0=not allowed, 1=allowed, 9=not applicable\t\n")
    for i in range(n):
        c1 = f"{rng.randrange(10000, 99999)}"
        c2 = f"{rng.randrange(10000, 99999)}"
        deleted = rng.random() < 0.1
        f.write(
            f"{c1}\t{c2}\t{'*' if rng.random() < 0.2 else ''}\t{rng.randrange(1996, 2024)}0101\t"
            f"{str(rng.randrange(2010, 2024)) + '1231' if deleted else '*'}\t{rng.choice('0119')}\t{rng.choice(rationales)}\n"
        )
