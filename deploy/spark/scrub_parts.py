"""Scrub a claims batch on Apache Spark: one task per patient partition, then one merge.

    spark-submit [--master URL] deploy/spark/scrub_parts.py \
        --claimscrub PATH/claimscrub (--input INPUT_DIR --parts N | --partition DIR) \
        --work DIR --out OUT_DIR [-- SCRUB FLAGS...]

1. With --input, the driver cuts the batch: `claimscrub partition INPUT_DIR --parts N --out
   WORK/partition` (with --partition, an existing partition folder is used).
2. One Spark task per part runs `claimscrub scrub PARTITION/part=K --out WORK/out/part=K
   --quiet --threads C` (C = spark.task.cpus) with the SCRUB FLAGS (e.g. --mue, --ncci,
   --policy, --hold line). A task that fails is retried by Spark; a scrub writes its outputs
   whole or not at all, so a retry starts clean.
3. The driver runs `claimscrub merge WORK/out/part=0 ... --partition PARTITION --out OUT_DIR`:
   the outputs of one `claimscrub scrub INPUT_DIR --out OUT_DIR SCRUB FLAGS`.

The folders (INPUT_DIR, WORK, OUT_DIR and the files the flags name) must be at the same path on
the driver and every executor: one machine (local mode) or a shared file system. The binary is
shipped to the executors with SparkContext.addFile. See deploy/spark/README.md.
"""

import argparse
import json
import os
import stat
import subprocess
import sys
import time


def parse_args(argv):
    if "--" in argv:
        cut = argv.index("--")
        argv, scrub_flags = argv[:cut], argv[cut + 1:]
    else:
        scrub_flags = []
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--claimscrub", required=True, help="the claimscrub binary (shipped to the executors)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="the batch folder: partitioned on the driver first")
    src.add_argument("--partition", help="a folder claimscrub partition wrote")
    p.add_argument("--parts", type=int, help="with --input: number of parts")
    p.add_argument("--work", required=True, help="folder for the partition and the parts' outputs")
    p.add_argument("--out", required=True, help="folder for the merged outputs")
    args = p.parse_args(argv)
    if args.input and not args.parts:
        p.error("--input needs --parts N")
    for flag in ("--out", "--threads", "--quiet"):
        if flag in scrub_flags:
            p.error(f"{flag}: the script sets it for each part's scrub; leave it out of the scrub flags")
    if "--state" in scrub_flags and "--dry-run" not in scrub_flags:
        p.error("--state: the parts read the state with --dry-run; merge cannot record a run (README)")
    if "--format" in scrub_flags:
        p.error("--format: the parts are merged from CSV outputs")
    return args, scrub_flags


def run(cmd, what):
    t = time.time()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # 1 is --fail-on-hold's "some claims were held", not a failure
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc, time.time() - t


def scrub_part(k, partition, work, scrub_flags, binary_name, threads):
    """Runs on an executor: scrub part k of the partition into WORK/out/part=k."""
    from pyspark import SparkFiles

    binary = SparkFiles.get(binary_name)
    mode = os.stat(binary).st_mode
    if not mode & stat.S_IXUSR:
        os.chmod(binary, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    out = os.path.join(work, "out", f"part={k}")
    cmd = [binary, "scrub", os.path.join(partition, f"part={k}"), "--out", out,
           "--quiet", "--threads", str(threads)] + scrub_flags
    proc, seconds = run(cmd, f"scrub of part {k}")
    return k, out, proc.returncode, round(seconds, 3)


def main(argv):
    args, scrub_flags = parse_args(argv)
    from pyspark.sql import SparkSession

    binary = os.path.abspath(args.claimscrub)
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    if args.input:
        partition = os.path.join(work, "partition")
        # the policy decides which payer_type values are malformed, the encoding how CSV reads:
        # the partition reads the rows, so it takes both from the scrub flags
        shared = []
        for flag in ("--policy", "--encoding"):
            if flag in scrub_flags:
                shared += [flag, scrub_flags[scrub_flags.index(flag) + 1]]
        _, seconds = run([binary, "partition", args.input, "--parts", str(args.parts),
                          "--out", partition, "--quiet"] + shared, "partition")
        print(f"scrub_parts: partition in {seconds:.2f} s", file=sys.stderr)
    else:
        partition = os.path.abspath(args.partition)
    with open(os.path.join(partition, "manifest.json")) as f:
        parts = json.load(f)["parts"]

    spark = SparkSession.builder.appName("claimscrub").getOrCreate()
    sc = spark.sparkContext
    sc.addFile(binary)
    threads = int(sc.getConf().get("spark.task.cpus", "1"))
    name = os.path.basename(binary)
    t = time.time()
    # one partition of the RDD per part: Spark runs one task for each
    done = (sc.parallelize(range(parts), parts)
            .map(lambda k: scrub_part(k, partition, work, scrub_flags, name, threads))
            .collect())
    print(f"scrub_parts: {parts} parts scrubbed in {time.time() - t:.2f} s "
          f"(slowest {max(d[3] for d in done):.2f} s)", file=sys.stderr)
    spark.stop()

    outs = [d[1] for d in sorted(done)]
    proc, seconds = run([binary, "merge"] + outs + ["--partition", partition, "--out", args.out],
                        "merge")
    sys.stderr.write(proc.stderr)
    print(f"scrub_parts: merged in {seconds:.2f} s into {args.out}", file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
