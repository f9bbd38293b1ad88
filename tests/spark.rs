//! `partition` → `scrub` of each part → `merge` gives the outputs of one `scrub` of the whole
//! batch, byte for byte (summary.json but for the run's time and command line); and the PySpark
//! recipe of deploy/spark does the same in Spark local mode, when target/spark-venv is there.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{batch_summary as summary, bin, repo, scratch, scrub_ok};

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.code() == Some(0),
        "{what}: exit {:?}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn partition(input: &Path, parts: usize, out: &Path, extra: &[&str]) {
    let o = bin()
        .arg("partition")
        .arg(input)
        .args(["--parts", &parts.to_string(), "--quiet", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    ok(&o, "partition");
}

/// Scrub every part of `partition` into `work/part=K`; the part folders.
fn scrub_parts(partition: &Path, parts: usize, work: &Path, flags: &[&str]) -> Vec<PathBuf> {
    (0..parts)
        .map(|k| {
            let out = work.join(format!("part={k}"));
            scrub_ok(&partition.join(format!("part={k}")), &out, flags);
            out
        })
        .collect()
}

fn merge(parts: &[PathBuf], out: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("merge")
        .args(parts)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .output()
        .unwrap()
}

fn assert_same(single: &Path, merged: &Path) {
    for name in ["rejections.csv", "clean.csv", "held.csv", "malformed.csv"] {
        let a = std::fs::read(single.join(name)).unwrap();
        let b = std::fs::read(merged.join(name)).unwrap();
        if let Some(at) = common::line_difference(&a, &b) {
            panic!("{name}: merged differs from one scrub (scrub, then merge) at {at}");
        }
    }
    let (a, b) = (summary(single), summary(merged));
    if a != b {
        for (k, v) in a.as_object().unwrap() {
            assert_eq!(&b[k], v, "summary.json: `{k}` differs");
        }
        panic!("summary.json: keys differ");
    }
}

/// One scrub of `input` into `name/single`, and partition → parts → merge into `name/merged`.
fn round_trip(name: &str, input: &Path, parts: usize, flags: &[&str]) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let single = dir.join("single");
    scrub_ok(input, &single, flags);
    let merged = split_and_merge(&dir, input, parts, flags);
    assert_same(&single, &merged);
    (single, merged)
}

fn split_and_merge(dir: &Path, input: &Path, parts: usize, flags: &[&str]) -> PathBuf {
    let pdir = dir.join("partition");
    partition(input, parts, &pdir, &[]);
    let outs = scrub_parts(&pdir, parts, &dir.join("parts"), flags);
    let merged = dir.join("merged");
    // the parts in any order
    let mut shuffled = outs.clone();
    shuffled.reverse();
    ok(&merge(&shuffled, &merged, &[]), "merge");
    merged
}

fn demo_flags() -> Vec<String> {
    vec![
        "--mue".into(),
        repo("fixtures/demo/mue-example.csv").display().to_string(),
        "--ncci".into(),
        repo("fixtures/ncci/ptp-physical-medicine-excerpt.txt")
            .display()
            .to_string(),
    ]
}

#[test]
fn the_demo_in_1_3_and_7_parts_merges_into_one_scrub() {
    let flags = demo_flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    for parts in [1, 3, 7] {
        round_trip(
            &format!("spark-demo-{parts}"),
            &repo("fixtures/demo"),
            parts,
            &flags,
        );
    }
}

fn generate(dir: &Path, claims: u64, seed: u64) {
    let o = bin()
        .args(["generate", "--claims", &claims.to_string(), "--seed"])
        .arg(seed.to_string())
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap();
    ok(&o, "generate");
}

/// A generated batch made harder: claims whose lines name two patients (split across parts),
/// prescription numbers of another patient, malformed rows of every input (a claim row's
/// claim then held whole), a payer_type without a profile, an extra column with quotes, commas,
/// a line break and a byte that is not UTF-8.
fn spice(dir: &Path) {
    let claims = std::fs::read_to_string(dir.join("claims.csv")).unwrap();
    let mut lines: Vec<String> = claims.lines().map(String::from).collect();
    let header = lines.remove(0);
    let mut out: Vec<u8> = format!("{header},note\n").into_bytes();
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    for (i, l) in lines.iter().enumerate() {
        let mut f = rows[i].clone();
        if i >= 50 && i % 97 == 0 {
            // the claim of a line 50 rows back: most likely another patient's
            f[0] = rows[i - 50][0].clone();
            f[1] = (100 + i).to_string();
        }
        if i >= 50 && i % 89 == 0 && !rows[i - 50][6].is_empty() {
            f[6] = rows[i - 50][6].clone();
        }
        if i % 211 == 0 {
            f[6] = format!("RX-NONE-{i}");
        }
        if i % 1009 == 5 {
            f[7] = "2026-13-45".into();
        }
        if i % 1499 == 7 {
            f[3] = "medicaree".into();
        }
        let mut text = f.join(",");
        let note: &[u8] = match i % 400 {
            3 => b"\"a, b\"",
            4 => b"\"two\nlines\"",
            5 => b"\"say \"\"hi\"\"\"",
            6 => b"caf\xe9",
            7 => b"=1+2",
            _ => b"",
        };
        if i % 1201 == 11 {
            // a row of too few fields
            text = format!("={}", l.split(',').take(5).collect::<Vec<_>>().join(","));
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
            continue;
        }
        out.extend_from_slice(text.as_bytes());
        out.push(b',');
        out.extend_from_slice(note);
        out.push(b'\n');
    }
    std::fs::write(dir.join("claims.csv"), out).unwrap();
    // a session row of unreadable minutes, and a prescription given twice
    let mut sessions = std::fs::read_to_string(dir.join("sessions.csv")).unwrap();
    let first = sessions.lines().nth(1).unwrap().to_string();
    let mut bad: Vec<String> = first.split(',').map(String::from).collect();
    bad[5] = "ten".into();
    sessions.push_str(&bad.join(","));
    sessions.push('\n');
    std::fs::write(dir.join("sessions.csv"), sessions).unwrap();
    let mut rx = std::fs::read_to_string(dir.join("prescriptions.csv")).unwrap();
    let again = rx.lines().nth(3).unwrap().to_string();
    rx.push_str(&again);
    rx.push('\n');
    std::fs::write(dir.join("prescriptions.csv"), rx).unwrap();
}

/// Lines held in the merge that their part's scrub had clean, and RX_NOT_FOUND findings told
/// again: the work merge does beyond putting rows in order.
fn merge_work(parts: &[PathBuf], merged: &Path) -> (usize, usize) {
    let count = |dir: &Path, name: &str, what: &str| -> usize {
        std::fs::read_to_string(dir.join(name))
            .unwrap()
            .matches(what)
            .count()
    };
    let held = |dir: &Path| summary(dir)["lines"]["held"].as_u64().unwrap() as usize;
    let parts_held: usize = parts.iter().map(|p| held(p)).sum();
    let told = "belongs to another patient";
    let parts_told: usize = parts.iter().map(|p| count(p, "rejections.csv", told)).sum();
    (
        held(merged) - parts_held,
        count(merged, "rejections.csv", told) - parts_told,
    )
}

#[test]
fn generated_batches_with_split_claims_and_malformed_rows_merge_into_one_scrub() {
    let dir = scratch("spark-generated");
    let input = dir.join("batch");
    generate(&input, 50_000, 7);
    spice(&input);
    for (hold, flags) in [
        ("claim", ["--hold", "claim"]),
        ("line", ["--hold", "line"]),
        ("defused", ["--defuse-formulas", "--hold=claim"]),
    ] {
        let single = dir.join(format!("single-{hold}"));
        scrub_ok(&input, &single, &flags);
        let s = summary(&single);
        for (what, n) in [
            (
                "malformed claims rows",
                &s["accounting"]["malformed_claims_rows"],
            ),
            (
                "malformed session rows",
                &s["inputs"]["sessions"]["malformed_rows"],
            ),
            (
                "malformed prescription rows",
                &s["inputs"]["prescriptions"]["malformed_rows"],
            ),
        ] {
            assert!(n.as_u64().unwrap() > 0, "the batch has {what}");
        }
        assert!(
            s["warnings"].as_array().unwrap().len() >= 2,
            "{}",
            s["warnings"]
        );
        for parts in [1, 3, 7] {
            let run = dir.join(format!("{hold}-{parts}"));
            let pdir = run.join("partition");
            partition(&input, parts, &pdir, &[]);
            let outs = scrub_parts(&pdir, parts, &run.join("parts"), &flags);
            let merged = run.join("merged");
            ok(&merge(&outs, &merged, &[]), "merge");
            assert_same(&single, &merged);
            let (reheld, retold) = merge_work(&outs, &merged);
            if parts > 1 {
                // claims split across parts were held again, numbers of other parts told again
                assert!(
                    retold > 0,
                    "{hold}, {parts} parts: no RX_NOT_FOUND told again"
                );
                assert!(reheld > 0, "{hold}, {parts} parts: no line held again");
            }
        }
    }
}

#[test]
fn parquet_inputs_and_a_dry_run_state_merge_into_one_scrub() {
    let dir = scratch("spark-state");
    let o = bin()
        .args([
            "generate", "--claims", "8000", "--seed", "11", "--nights", "2", "--out",
        ])
        .arg(dir.join("gen"))
        .output()
        .unwrap();
    ok(&o, "generate --nights");
    // night 2 with its sessions and prescriptions as Parquet (a 1-part partition's files)
    let night2 = dir.join("gen/night2");
    let one = dir.join("one");
    partition(&night2, 1, &one, &[]);
    let input = dir.join("batch");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(night2.join("claims.csv"), input.join("claims.csv")).unwrap();
    for name in ["sessions.parquet", "prescriptions.parquet"] {
        std::fs::copy(one.join("part=0").join(name), input.join(name)).unwrap();
    }
    // the state of night 1, read by every part and by the single run alike
    let state = dir.join("state.db");
    scrub_ok(
        &dir.join("gen/night1"),
        &dir.join("night1"),
        &["--state", state.to_str().unwrap()],
    );
    let flags = ["--state", state.to_str().unwrap(), "--dry-run"];
    let single = dir.join("single");
    scrub_ok(&input, &single, &flags);
    let s = summary(&single);
    assert!(
        s["state"]["earlier_lines_read"].as_u64().unwrap() > 0,
        "{}",
        s["state"]
    );
    assert_eq!(s["inputs"]["sessions"]["file"], "sessions.parquet");
    let merged = split_and_merge(&dir, &input, 3, &flags);
    assert_same(&single, &merged);
    // a part's scrub does not record into the state
    let o = bin()
        .arg("scrub")
        .arg(dir.join("partition/part=0"))
        .arg("--out")
        .arg(dir.join("recording"))
        .args(["--quiet", "--state", state.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--dry-run"));
    assert!(!dir.join("recording").exists());
}

#[test]
fn merge_refuses_missing_repeated_foreign_and_differently_scrubbed_parts() {
    let dir = scratch("spark-errors");
    let input = repo("fixtures/demo");
    let (a, b) = (dir.join("a"), dir.join("b"));
    partition(&input, 3, &a, &[]);
    partition(&input, 3, &b, &[]);
    let pa = scrub_parts(&a, 3, &dir.join("pa"), &[]);
    let pb = scrub_parts(&b, 3, &dir.join("pb"), &[]);
    let out = dir.join("out");
    let refused = |parts: Vec<PathBuf>, extra: &[&str], says: &str| {
        let o = merge(&parts, &out, extra);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{says:?} not in: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(!out.exists(), "no partial output");
    };
    refused(vec![pa[0].clone(), pa[2].clone()], &[], "part 1 of the 3");
    refused(
        vec![pa[0].clone(), pa[1].clone(), pa[1].clone()],
        &[],
        "given twice",
    );
    refused(
        vec![pa[0].clone(), pb[1].clone(), pa[2].clone()],
        &[],
        "a part of partition",
    );
    refused(
        vec![pb[0].clone(), pb[1].clone(), pb[2].clone()],
        &["--partition", a.to_str().unwrap()],
        "a part of partition",
    );
    // a part scrubbed with other flags
    let line = dir.join("pa-line");
    scrub_ok(&a.join("part=1"), &line, &["--hold", "line"]);
    refused(vec![pa[0].clone(), line, pa[2].clone()], &[], "--hold");
    // not a part's outputs
    let whole = dir.join("whole");
    scrub_ok(&input, &whole, &[]);
    refused(
        vec![whole],
        &[],
        "not the outputs of a scrub of a partition's part",
    );
    // a part's scrub that did not finish
    let gone = dir.join("gone");
    scrub_ok(&a.join("part=2"), &gone, &[]);
    std::fs::remove_file(gone.join("held.csv")).unwrap();
    refused(vec![pa[0].clone(), pa[1].clone(), gone], &[], "held.csv");
    // and the three parts of one partition merge
    ok(&merge(&pa, &out, &[]), "merge");
}

#[test]
fn partition_refuses_what_it_cannot_cut() {
    let dir = scratch("spark-partition-errors");
    let o = bin()
        .args(["partition", "--parts", "0", "--out"])
        .arg(dir.join("p"))
        .arg(repo("fixtures/demo"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--parts 0"));
    // a folder that holds something else
    let busy = dir.join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let o = bin()
        .args(["partition", "--parts", "2", "--out"])
        .arg(&busy)
        .arg(repo("fixtures/demo"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    // a partition is replaced whole by the next one
    let p = dir.join("again");
    partition(&repo("fixtures/demo"), 4, &p, &[]);
    partition(&repo("fixtures/demo"), 2, &p, &[]);
    assert!(p.join("part=1").is_dir() && !p.join("part=2").exists());
}

/// The PySpark recipe in Spark local mode against one scrub (skipped without target/spark-venv,
/// unless CLAIMSCRUB_REQUIRE_SPARK=1).
#[test]
fn spark_local_mode_merges_into_one_scrub() {
    let venv = repo("target/spark-venv");
    let submit = venv.join("bin/spark-submit");
    if !submit.is_file() {
        assert!(
            std::env::var("CLAIMSCRUB_REQUIRE_SPARK").as_deref() != Ok("1"),
            "CLAIMSCRUB_REQUIRE_SPARK=1 but {} is missing: run scripts/spark-venv.sh",
            submit.display()
        );
        // straight to stderr: the test harness would swallow eprintln!
        let _ = writeln!(
            std::io::stderr(),
            "spark_local_mode_merges_into_one_scrub: skipped (no target/spark-venv; scripts/spark-venv.sh makes it)"
        );
        return;
    }
    let dir = scratch("spark-local");
    let input = dir.join("batch");
    generate(&input, 20_000, 5);
    spice(&input);
    let flags = demo_flags();
    let single = dir.join("single");
    let mut with_hold: Vec<&str> = flags.iter().map(String::as_str).collect();
    with_hold.extend(["--hold", "line"]);
    scrub_ok(&input, &single, &with_hold);
    let merged = dir.join("merged");
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = std::process::Command::new(&submit)
        .args(["--master", "local[2]", "--conf", "spark.ui.enabled=false"])
        .arg(repo("deploy/spark/scrub_parts.py"))
        .arg("--claimscrub")
        .arg(env!("CARGO_BIN_EXE_claimscrub"))
        .arg("--input")
        .arg(&input)
        .args(["--parts", "4", "--work"])
        .arg(dir.join("work"))
        .arg("--out")
        .arg(&merged)
        .arg("--")
        .args(&with_hold)
        .env("PATH", path)
        .env("PYSPARK_PYTHON", venv.join("bin/python"))
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("SPARK_LOCAL_DIRS", dir.join("spark-tmp"))
        .output()
        .unwrap();
    ok(&o, "spark-submit deploy/spark/scrub_parts.py");
    assert_same(&single, &merged);
    assert_eq!(
        std::fs::read_dir(dir.join("work/out")).unwrap().count(),
        4,
        "one scrub per part"
    );
}
