#!/usr/bin/env python3
"""Run the DuckDB reference implementation of the claimscrub rules (reference.sql).

usage: /work/venv-bench/bin/python benches/duckdb/run_reference.py INPUT_DIR OUT_DIR [--mue FILE]
                                                                   [--ncci FILE]... [--threads N]
                                                                   [--hold claim|line]
                                                                   [--ref-dir DIR] [--quiet]

INPUT_DIR holds claims.csv, sessions.csv and prescriptions.csv (SPEC §1). Writes OUT_DIR/findings.csv
(claim_id,line_no,rule in rejections order), OUT_DIR/clean.csv, OUT_DIR/held.csv and a simplified
OUT_DIR/malformed.csv, then prints the elapsed seconds (wall clock, reading to writing).
"""

import argparse
import os
import sys
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
DEFAULT_REF_DIR = HERE.parent.parent / "src" / "reference" / "data"


def sql_path(p: Path) -> str:
    """A path inside a SQL string literal."""
    return str(p).replace("'", "''")


def build_script(sql: str, subs: dict, with_mue: bool, with_ncci: bool = False) -> str:
    for block, keep in (("MUE", with_mue), ("NCCI", with_ncci)):
        if not keep:
            start, end = sql.index(f"-- BEGIN {block}"), sql.index(f"-- END {block}")
            sql = sql[:start] + sql[end:]
    for key, value in subs.items():
        sql = sql.replace("${" + key + "}", value)
    return sql


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input_dir", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--mue", type=Path, help="CMS practitioner MUE CSV (UNITS_OVER_MUE is not checked without it)")
    ap.add_argument("--ncci", type=Path, action="append", default=[],
                    help="CMS practitioner PTP edit file, repeatable (NCCI_PTP_CONFLICT is not checked without one)")
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    ap.add_argument("--hold", choices=["claim", "line"], default="claim")
    ap.add_argument("--ref-dir", type=Path, default=DEFAULT_REF_DIR,
                    help="directory with icd10cm_fy*.tsv.gz and wellness_codes.tsv")
    ap.add_argument("--quiet", action="store_true", help="print only the elapsed seconds")
    args = ap.parse_args()

    inputs = {}
    for name in ("claims", "sessions", "prescriptions"):
        found = [args.input_dir / f"{name}{ext}" for ext in (".csv", ".csv.gz")]
        found = [p for p in found if p.is_file()]
        if not found:
            print(f"error: {args.input_dir / (name + '.csv')}: {name} file not found", file=sys.stderr)
            return 2
        inputs[name] = found[0]
    if args.mue is not None and not args.mue.is_file():
        print(f"error: {args.mue}: cannot read --mue file", file=sys.stderr)
        return 2
    for p in args.ncci:
        if not p.is_file():
            print(f"error: --ncci {p}: cannot read the file", file=sys.stderr)
            return 2
    args.out_dir.mkdir(parents=True, exist_ok=True)

    sql = (HERE / "reference.sql").read_text()
    script = build_script(sql, {
        "CLAIMS": sql_path(inputs["claims"].resolve()),
        "SESSIONS": sql_path(inputs["sessions"].resolve()),
        "PRESCRIPTIONS": sql_path(inputs["prescriptions"].resolve()),
        "REF_DIR": sql_path(args.ref_dir.resolve()),
        "MUE": sql_path(args.mue.resolve()) if args.mue else "",
        "NCCI": "[" + ", ".join(f"'{sql_path(p.resolve())}'" for p in args.ncci) + "]",
        "OUT": sql_path(args.out_dir.resolve()),
        "HOLD": args.hold,
    }, with_mue=args.mue is not None, with_ncci=bool(args.ncci))

    config = {"threads": args.threads} if args.threads else {}
    t0 = time.perf_counter()
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute(script)
    except duckdb.Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - t0

    if not args.quiet:
        q = lambda s: con.execute(s).fetchone()  # noqa: E731
        lines, claims = q("SELECT count(*), count(DISTINCT claim_id) FROM claims WHERE len(errors) = 0")
        held_lines, held_claims = q(
            "SELECT count(*), count(DISTINCT c.claim_id) FROM line_hold h JOIN claims c USING (seq) "
            "WHERE h.hold_rules IS NOT NULL")
        n_findings, n_rejects = q(
            "SELECT count(*), count(*) FILTER (WHERE rule NOT IN "
            "('DX_CODESET_UNAVAILABLE', 'UNITS_UNDER_DOCUMENTED')) FROM findings")
        malformed = q("SELECT (SELECT count(*) FROM claims WHERE len(errors) > 0)"
                      " + (SELECT count(DISTINCT line) FROM claims_rejects)")[0]
        print(f"claim lines: {lines} well-formed ({claims} claims), {malformed} malformed; "
              f"held {held_lines} lines / {held_claims} claims; findings {n_findings} ({n_rejects} rejects)",
              file=sys.stderr)
        per_rule = con.execute("SELECT rule, count(*) FROM findings GROUP BY rule ORDER BY rule").fetchall()
        for rule, n in per_rule:
            print(f"  {rule:<28} {n}", file=sys.stderr)
        if args.mue is None:
            print("  not checked: UNITS_OVER_MUE (no --mue table)", file=sys.stderr)
        if not args.ncci:
            print("  not checked: NCCI_PTP_CONFLICT (no --ncci file)", file=sys.stderr)
    print(f"{elapsed:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
