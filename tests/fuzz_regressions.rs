//! Every input the fuzzers (fuzz/, `cargo fuzz`) found to break a reader, kept and run through the
//! real binary: no panic, exit 0 or 2 (an error naming its file), and when the scrub completes the
//! accounting of SPEC §6 holds (claims rows read = clean + held + malformed claims rows).
//!
//! A file of `fuzz/regressions/<target>/` is what its fuzz target reads: for `inputs` and
//! `references` the first byte says which file it is and how it is stored (see the targets).

mod common;

use std::path::{Path, PathBuf};

use common::{bin, repo, scratch};

/// The demo's three inputs, one of them replaced.
fn demo_with(dir: &Path, which: usize, name: &str, bytes: &[u8]) -> [PathBuf; 3] {
    let demo = repo("fixtures/demo");
    let mut files = ["claims", "sessions", "prescriptions"].map(|n| demo.join(format!("{n}.csv")));
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    files[which] = p;
    files
}

fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(body).unwrap();
    z.finish().unwrap()
}

/// The scrub a fuzz input stands for: its files and flags.
fn scrub_args(target: &str, data: &[u8], dir: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    let demo = repo("fixtures/demo");
    let mut files = ["claims", "sessions", "prescriptions"].map(|n| demo.join(format!("{n}.csv")));
    match target {
        "inputs" => {
            let (&how, body) = data.split_first().expect("an inputs case has a mode byte");
            let which = (how % 3) as usize;
            let name = ["claims", "sessions", "prescriptions"][which];
            let (file, bytes) = match (how >> 2) & 3 {
                1 => (format!("{name}.csv.gz"), gzip(body)),
                2 => (format!("{name}.parquet"), body.to_vec()),
                _ => (format!("{name}.csv"), body.to_vec()),
            };
            files = demo_with(dir, which, &file, &bytes);
            let encoding = ["utf8", "latin1", "cp1252", "utf8"][((how >> 4) & 3) as usize];
            args.extend(["--encoding".into(), encoding.into()]);
            if how & 64 != 0 {
                args.extend(["--hold".into(), "line".into()]);
            }
        }
        "x12" => files = demo_with(dir, 0, "claims.837", data),
        "references" => {
            let (&how, body) = data
                .split_first()
                .expect("a references case has a mode byte");
            let (flag, name) = match how % 4 {
                0 => ("--mue", "mue.csv"),
                1 => ("--ncci", "ptp.txt"),
                2 => ("--policy", "policy.toml"),
                _ if how & 4 != 0 => ("--icd10", "icd10cm_order_2030.txt"),
                _ => ("--icd10", "codes.tsv"),
            };
            let p = dir.join(name);
            std::fs::write(&p, body).unwrap();
            let value = if flag == "--icd10" {
                format!("FY2030={}", p.display()).into()
            } else {
                p.into_os_string()
            };
            args.extend([flag.into(), value]);
        }
        other => panic!("fuzz/regressions/{other}: no such fuzz target"),
    }
    for (flag, f) in ["--claims", "--sessions", "--prescriptions"]
        .iter()
        .zip(files)
    {
        args.extend([(*flag).into(), f.into_os_string()]);
    }
    args
}

#[test]
fn fuzz_finds_stay_fixed() {
    let root = repo("fuzz/regressions");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|t| t.unwrap().path())
        .filter(|t| t.is_dir())
        .flat_map(|t| std::fs::read_dir(t).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(
        !cases.is_empty(),
        "no regression inputs in {}",
        root.display()
    );
    for (i, case) in cases.iter().enumerate() {
        let target = case
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let data = std::fs::read(case).unwrap();
        let dir = scratch(&format!("fuzz-regression-{i}"));
        let out = dir.join("out");
        let o = bin()
            .arg("scrub")
            .args(scrub_args(target, &data, &dir))
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        let name = case.display();
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        match o.status.code() {
            Some(0) => {
                let summary: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap())
                        .unwrap();
                let a = &summary["accounting"];
                let n = |k: &str| {
                    a[k].as_u64()
                        .unwrap_or_else(|| panic!("{name}: accounting.{k}"))
                };
                assert_eq!(
                    n("claims_rows_read"),
                    n("clean_lines") + n("held_lines") + n("malformed_claims_rows"),
                    "{name}"
                );
                let rows = |f: &str| common::read_csv(&out.join(f)).1.len() as u64;
                assert_eq!(rows("clean.csv"), n("clean_lines"), "{name}");
                assert_eq!(rows("held.csv"), n("held_lines"), "{name}");
            }
            Some(2) => {
                assert!(stderr.contains("claimscrub: error: "), "{name}: {stderr}");
                assert!(
                    !out.join("summary.json").exists(),
                    "{name}: an error left outputs"
                );
            }
            other => panic!("{name}: exit {other:?}: {stderr}"),
        }
    }
}
