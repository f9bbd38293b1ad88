#!/usr/bin/env python3
"""Compare a scrub's outputs with the findings gen.py's oracle expects.

    python3 benches/independent/check.py DIR OUT

DIR is a batch written by `gen.py --expect` (DIR/expected/), OUT the scrub's --out directory.
Prints, per rule, the findings expected (all, and those the oracle is sure of), found, sure ones
missing, and found ones the oracle did not expect; then the malformed rows. Exit 0 only when no sure
finding is missing, nothing unexpected is found and the malformed rows are the planted ones.
Python 3 standard library only.
"""
import csv
import os
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    batch, out = sys.argv[1:]
    with open(os.path.join(batch, 'expected', 'findings.csv'), newline='') as f:
        expected = {}
        for r in csv.DictReader(f):
            if r['kind'] == 'F':
                expected[(r['claim_id'], r['line_no'], r['rule_or_column'])] = r['sure'] == '1'
    with open(os.path.join(out, 'rejections.csv'), newline='') as f:
        found = {(r['claim_id'], r['line_no'], r['rule']) for r in csv.DictReader(f)}
    bad = 0
    print(f"{'rule':30} {'expected':>9} {'sure':>7} {'found':>7} {'missing':>8} {'extra':>6}")
    for rule in sorted({k[2] for k in expected} | {k[2] for k in found}):
        exp = {k for k in expected if k[2] == rule}
        sure = {k for k in exp if expected[k]}
        got = {k for k in found if k[2] == rule}
        missing, extra = sure - got, got - exp
        bad += len(missing) + len(extra)
        print(f'{rule:30} {len(exp):9} {len(sure):7} {len(got):7} {len(missing):8} {len(extra):6}')
        for k in sorted(missing)[:3]:
            print(f'    missing {k[0]} line {k[1]}')
        for k in sorted(extra)[:3]:
            print(f'    extra   {k[0]} line {k[1]}')
    with open(os.path.join(batch, 'expected', 'malformed.csv'), newline='') as f:
        planted = {(r['file'], r['line']) for r in csv.DictReader(f)}
    with open(os.path.join(out, 'malformed.csv'), newline='') as f:
        split = {(os.path.splitext(r['file'])[0], r['line']) for r in csv.DictReader(f)}
    print(f'malformed rows: planted {len(planted)}, split off {len(split)}, '
          f'missing {len(planted - split)}, extra {len(split - planted)}')
    bad += len(planted ^ split)
    print('agree' if bad == 0 else f'{bad} differences')
    sys.exit(0 if bad == 0 else 1)


if __name__ == '__main__':
    main()
