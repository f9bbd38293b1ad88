//! Runs the real binary on every folder of `tests/cases/` and compares its outputs with the
//! expected files (format: `tests/cases/FORMAT.md`). All mismatches are reported together.

mod common;

use std::path::{Path, PathBuf};

fn case_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.join("expected_findings.csv").is_file() {
                out.push(p);
            } else {
                case_dirs(&p, out);
            }
        }
    }
}

/// Compare the named columns of an output with an expected file; `None` when they agree.
fn compare(expected: &Path, actual: &Path) -> Option<String> {
    let (columns, want) = common::read_csv(expected);
    if !actual.is_file() {
        return Some(format!("{} was not written", actual.display()));
    }
    let got = common::project(actual, &columns);
    if got == want {
        return None;
    }
    let show = |rows: &[Vec<String>]| {
        rows.iter()
            .map(|r| format!("    {}", r.join(",")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Some(format!(
        "{}:\n  expected ({}):\n{}\n  got:\n{}",
        expected.file_name().unwrap().to_string_lossy(),
        columns.join(","),
        show(&want),
        show(&got)
    ))
}

/// Run one case folder, with `extra` arguments after its own.
fn run_case(dir: &Path, n: usize, extra: &[&str]) -> Vec<String> {
    let out = common::scratch(&format!("case-{n}-{}", extra.len()));
    let args = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
    let args: Vec<String> = args
        .split_whitespace()
        .map(|a| {
            if dir.join(a).is_file() {
                dir.join(a).display().to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(extra);
    let output = common::scrub(dir, &out, &args);
    let want_exit: i32 = std::fs::read_to_string(dir.join("expected_exit"))
        .map(|s| s.trim().parse().unwrap())
        .unwrap_or(0);
    let mut problems = Vec::new();
    if output.status.code() != Some(want_exit) {
        problems.push(format!(
            "exit {:?}, expected {want_exit}; stderr: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        ));
        return problems;
    }
    for (expected, actual) in [
        ("expected_findings.csv", "rejections.csv"),
        ("expected_held.csv", "held.csv"),
        ("expected_clean.csv", "clean.csv"),
        ("expected_malformed.csv", "malformed.csv"),
    ] {
        if dir.join(expected).is_file() {
            problems.extend(compare(&dir.join(expected), &out.join(actual)));
        }
    }
    problems
}

#[test]
fn every_case_folder_matches_its_expected_outputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs = Vec::new();
    case_dirs(&root, &mut dirs);
    assert!(dirs.len() >= 50, "only {} case folders found", dirs.len());
    let mut failures = Vec::new();
    // each case also in three parts by patient: the expected outputs are the same
    for (n, dir) in dirs.iter().enumerate() {
        for extra in [&[][..], &["--parts", "3"][..]] {
            let problems = run_case(dir, n, extra);
            if !problems.is_empty() {
                failures.push(format!(
                    "== {} {}\n{}",
                    dir.strip_prefix(&root).unwrap().display(),
                    extra.join(" "),
                    problems.join("\n")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
