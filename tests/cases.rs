//! Runs the real binary on every folder of `tests/cases/` and compares its outputs with the
//! expected files (format: `tests/cases/FORMAT.md`). Each folder is its own test, named by its
//! path (`DX_MISSING/empty_and_blank_codes`), and runs once more in three parts by patient
//! (`DX_MISSING/empty_and_blank_codes::parts3`), where the expected outputs are the same.
//! The harness is libtest-mimic, so libtest's filters and flags work:
//! `cargo test --release --test cases -- DX_MISSING`, `--exact`, `--skip ::parts3`, `--list`.

mod common;

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};

/// The runs of every case folder: a test-name suffix, the name of its output folder and the
/// arguments added after the folder's own.
const RUNS: [(&str, &str, &[&str]); 2] = [
    ("", "whole", &[]),
    ("::parts3", "parts3", &["--parts", "3"]),
];

/// Fewer case folders than this means some were lost (moved, or their expected file misnamed).
const AT_LEAST: usize = 50;

/// The case folders under `dir` (those with an `expected_findings.csv`), sorted, and the
/// folders without subfolders that lack one, which would else be skipped without a word.
fn case_dirs(dir: &Path, cases: &mut Vec<PathBuf>, strays: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for p in entries {
        if p.join("expected_findings.csv").is_file() {
            cases.push(p);
        } else if std::fs::read_dir(&p)
            .unwrap()
            .any(|e| e.unwrap().path().is_dir())
        {
            case_dirs(&p, cases, strays);
        } else {
            strays.push(p);
        }
    }
}

/// A folder's path under `root`, with `/` between the parts: its test name.
fn case_name(root: &Path, dir: &Path) -> String {
    let parts: Vec<_> = dir
        .strip_prefix(root)
        .unwrap()
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// Compare the named columns of an output with an expected file; `None` when they agree.
fn compare(expected: &Path, actual: &Path) -> Option<String> {
    let (columns, want) = common::read_csv(expected);
    if !actual.is_file() {
        return Some(format!("{} was not written", actual.display()));
    }
    let got = common::project(actual, &columns);
    let difference = common::first_difference(&columns, &want, &got)?;
    let show = |rows: &[Vec<String>]| {
        rows.iter()
            .map(|r| format!("    {}", r.join(",")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Some(format!(
        "{} against {}: {difference}\n  expected ({}):\n{}\n  got:\n{}",
        expected.file_name().unwrap().to_string_lossy(),
        actual.file_name().unwrap().to_string_lossy(),
        columns.join(","),
        show(&want),
        show(&got)
    ))
}

/// Run one case folder into `out`, with `extra` arguments after its own; what differed, if anything.
fn run_case(dir: &Path, out: &Path, extra: &[&str]) -> Result<(), String> {
    let out = common::scratch(&out.to_string_lossy());
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
    let command = format!(
        "claimscrub scrub {} --out {} --quiet {}",
        dir.display(),
        out.display(),
        args.join(" ")
    );
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
    } else if want_exit == 2 {
        // a run that could not be done leaves no output (SPEC §1)
        let left: Vec<String> = std::fs::read_dir(&out)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if !left.is_empty() {
            problems.push(format!("exit 2 left outputs in --out: {left:?}"));
        }
    } else {
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
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!("{}\n{}", command.trim_end(), problems.join("\n")))
}

fn main() {
    let args = Arguments::from_args();
    let root = common::repo("tests/cases");
    let (mut dirs, mut strays) = (Vec::new(), Vec::new());
    case_dirs(&root, &mut dirs, &mut strays);

    let found = dirs.len();
    let strays: Vec<String> = strays.iter().map(|p| case_name(&root, p)).collect();
    let mut trials = vec![Trial::test("case_folders_found", move || {
        if !strays.is_empty() {
            return Err(format!(
                "folders without expected_findings.csv (FORMAT.md: required): {}",
                strays.join(", ")
            )
            .into());
        }
        if found < AT_LEAST {
            return Err(
                format!("only {found} case folders found, expected at least {AT_LEAST}").into(),
            );
        }
        Ok(())
    })];
    for dir in dirs {
        let name = case_name(&root, &dir);
        for (suffix, run, extra) in RUNS {
            let dir = dir.clone();
            // each run its own output folder, so that tests can run in parallel
            let out = Path::new("cases").join(&name).join(run);
            trials.push(Trial::test(format!("{name}{suffix}"), move || {
                run_case(&dir, &out, extra).map_err(Failed::from)
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
