//! The outputs in `--out` are one run's set: a run removes the outputs of an earlier run that it
//! does not write again — the other `--format`'s tables, an 837P, a report — so that no file
//! beside them tells another run.

mod common;

use std::path::Path;

use common::{repo, scratch, scrub_ok};

fn names(out: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

fn tables(ext: &str) -> Vec<String> {
    let mut v: Vec<String> = ["clean", "held", "malformed", "rejections"]
        .iter()
        .map(|t| format!("{t}.{ext}"))
        .collect();
    v.push("summary.json".into());
    v.sort();
    v
}

#[test]
fn switching_format_removes_the_other_formats_tables() {
    let demo = repo("fixtures/demo");
    let out = scratch("stale-format");
    scrub_ok(&demo, &out, &["--report"]);
    let mut with_page = tables("csv");
    with_page.insert(4, "report.html".into());
    assert_eq!(names(&out), with_page);
    scrub_ok(&demo, &out, &["--format", "parquet"]);
    assert_eq!(
        names(&out),
        tables("parquet"),
        "no CSV table, no page of the earlier run"
    );
    scrub_ok(&demo, &out, &["--format", "csv"]);
    assert_eq!(names(&out), tables("csv"));
}

#[test]
fn a_merge_leaves_only_its_own_set() {
    let demo = repo("fixtures/demo");
    let dir = scratch("stale-merge");
    let parts = dir.join("parts");
    let o = common::bin()
        .arg("partition")
        .arg(&demo)
        .args(["--parts", "2", "--quiet", "--out"])
        .arg(&parts)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let scrubbed: Vec<_> = (0..2)
        .map(|k| {
            let p = dir.join(format!("out{k}"));
            scrub_ok(&parts.join(format!("part={k}")), &p, &[]);
            p
        })
        .collect();
    let out = dir.join("merged");
    scrub_ok(&demo, &out, &["--format", "parquet"]);
    let o = common::bin()
        .arg("merge")
        .args(&scrubbed)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(names(&out), tables("csv"));
}
