//! A command whose standard output is a closed pipe (`claimscrub rules | head -1`) ends quietly, as
//! any Unix filter does (by SIGPIPE), never with a panic; and a scrub so ended leaves the earlier
//! outputs as they were.

#![cfg(unix)]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use common::{bin, repo, scratch, scrub_ok};

/// Run with stdout and stderr into pipes whose read ends are closed before the program starts:
/// its first write fails. Ends by SIGPIPE or exit 0; a panic would be exit 101.
fn into_closed_pipe(mut cmd: Command, what: &str) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let (err_reader, err_writer) = std::io::pipe().unwrap();
    let mut child = cmd
        .stdout(Stdio::from(writer))
        .stderr(Stdio::from(err_writer))
        .spawn()
        .unwrap();
    drop(cmd); // the parent's copies of the write ends
               // stderr: a second, open pipe, read to see what was said
    let mut said = String::new();
    std::io::Read::read_to_string(&mut { err_reader }, &mut said).unwrap();
    let status = child.wait().unwrap();
    assert!(!said.contains("panicked"), "{what}: {said}");
    assert!(
        status.signal() == Some(libc_sigpipe()) || status.code() == Some(0),
        "{what}: {status:?} {said}"
    );
}

fn libc_sigpipe() -> i32 {
    13 // SIGPIPE on Linux and the BSDs
}

#[test]
fn printing_commands_end_quietly_into_a_closed_pipe() {
    let demo = repo("fixtures/demo");
    let out = scratch("pipe-demo-out");
    scrub_ok(&demo, &out, &[]);
    let claim = common::read_csv(&out.join("held.csv")).1[0][0].clone();
    let mut cases: Vec<(Command, &str)> = Vec::new();
    let mut c = bin();
    c.arg("rules");
    cases.push((c, "rules"));
    let mut c = bin();
    c.arg("policy");
    cases.push((c, "policy"));
    let mut c = bin();
    c.arg("explain").arg(&out).arg(&claim);
    cases.push((c, "explain"));
    let mut c = bin();
    c.arg("explain").arg(&out).arg(&claim).arg("--json");
    cases.push((c, "explain --json"));
    let mut c = bin();
    c.arg("report")
        .arg(&out)
        .arg("--html")
        .arg(scratch("pipe-report").join("r.html"));
    cases.push((c, "report"));
    let mut c = bin();
    c.arg("--help");
    cases.push((c, "--help"));
    for (cmd, what) in cases {
        into_closed_pipe(cmd, what);
    }
}

/// Standard output on a full device (`> /dev/full`): exit 2 with one line saying so, no panic.
#[test]
fn printing_onto_a_full_device_is_an_error_not_a_panic() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("skipped: no /dev/full here");
        return;
    };
    let demo = repo("fixtures/demo");
    let out = scratch("full-demo-out");
    scrub_ok(&demo, &out, &[]);
    let claim = common::read_csv(&out.join("held.csv")).1[0][0].clone();
    let runs: [(&str, Vec<std::ffi::OsString>); 3] = [
        ("rules", vec!["rules".into()]),
        ("policy", vec!["policy".into()]),
        (
            "explain",
            vec!["explain".into(), out.clone().into(), claim.into()],
        ),
    ];
    for (what, args) in runs {
        let o = bin()
            .args(&args)
            .stdout(Stdio::from(full.try_clone().unwrap()))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {said}");
        assert!(!said.contains("panicked"), "{what}: {said}");
        assert!(
            said.contains("standard output: write error"),
            "{what}: {said}"
        );
    }
}

/// A scrub prints its summary on stderr: when stderr is a closed pipe, the run ends at its first
/// word there, and `--out` holds one run's set whole, the earlier or the new.
#[test]
fn a_scrub_whose_stderr_is_closed_leaves_one_whole_set() {
    let demo = repo("fixtures/demo");
    let files = ["rejections.csv", "clean.csv", "held.csv", "malformed.csv"];
    let set = |dir: &std::path::Path| -> Vec<Vec<u8>> {
        files
            .iter()
            .map(|f| std::fs::read(dir.join(f)).unwrap())
            .collect()
    };
    let (a, b) = (scratch("pipe-scrub-a"), scratch("pipe-scrub-b"));
    scrub_ok(&demo, &a, &[]);
    scrub_ok(&demo, &b, &["--hold", "line"]);
    assert_ne!(set(&a), set(&b), "the two sets tell their runs apart");
    let out = scratch("pipe-scrub-out");
    scrub_ok(&demo, &out, &[]);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = bin()
        .arg("scrub")
        .arg(&demo)
        .arg("--out")
        .arg(&out)
        .args(["--hold", "line"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(writer))
        .status()
        .unwrap();
    assert!(
        status.signal() == Some(libc_sigpipe()) || status.code() == Some(0),
        "{status:?}"
    );
    let now = set(&out);
    assert!(now == set(&a) || now == set(&b), "a mix of two runs");
    // the next run finds what the ended one left and goes on
    scrub_ok(&demo, &out, &[]);
    assert_eq!(set(&out), set(&a));
}
