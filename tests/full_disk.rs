//! A full disk and a read-only `--out` (issue 14): a 1 MB tmpfs takes the demo's outputs, not those
//! of a 20k-line batch. The run stops with exit 2 and a message naming the file it could not
//! write; the earlier outputs are left whole, the state unchanged, and no staging folder behind.
//! Needs `mount` (root): without it the test says why and passes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).trim().to_string());
        }
        Ok(Tmpfs(at.into()))
    }

    fn remount(&self, opts: &str) {
        let o = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Every file under `out`, hidden ones too, with its bytes (folders as `name/`).
fn tree(out: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut t = BTreeMap::new();
    for e in std::fs::read_dir(out).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            t.insert(format!("{name}/"), Vec::new());
        } else {
            t.insert(name, std::fs::read(e.path()).unwrap());
        }
    }
    t
}

fn generate(dir: &Path, format: &str) {
    let o = bin()
        .args([
            "generate", "--claims", "20000", "--seed", "5", "--format", format,
        ])
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn history_lines(state: &Path) -> Vec<u8> {
    let o = bin()
        .args(["history", "--lines", "--state"])
        .arg(state)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

#[test]
fn a_full_disk_or_read_only_out_is_a_clear_error_with_nothing_half_written() {
    let dir = scratch("full-disk");
    let disk = match Tmpfs::mount(&dir.join("mnt"), "1m") {
        Ok(d) => d,
        Err(why) => {
            eprintln!("full_disk: skipped, a tmpfs cannot be mounted here: {why}");
            return;
        }
    };
    let out = disk.0.join("out");
    let state = dir.join("state.db");
    let demo = repo("fixtures/demo");
    let o = scrub(&demo, &out, &["--state", state.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let before = tree(&out);
    let lines = history_lines(&state);

    // the outputs of 20k lines (about 2 MB of clean.csv) do not fit
    let (csv, x12) = (dir.join("batch"), dir.join("batch837"));
    generate(&csv, "csv");
    generate(&x12, "837");
    let o = scrub(&csv, &out, &["--state", state.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "--out {}: the outputs could not be written (the earlier ones are left as they were)",
            out.display()
        )) && err.contains("No space left on device"),
        "{err}"
    );
    assert!(
        [
            "clean.csv",
            "held.csv",
            "rejections.csv",
            "malformed.csv",
            "summary.json"
        ]
        .iter()
        .any(|n| err.contains(&format!("/{n}: write error"))),
        "the message names no output file: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(tree(&out), before, "--out changed");
    assert_eq!(history_lines(&state), lines, "the state changed");

    // an 837P: its claim rows are written into a scratch folder in --out, which fills first
    let o = scrub(&x12, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "--out {}: the 837P's claim rows could not be written into",
            out.display()
        )) && err.contains("claims.csv: No space left on device"),
        "{err}"
    );
    assert_eq!(tree(&out), before, "--out changed");

    // with room again the batch is scrubbed
    let o = scrub(&x12, &dir.join("elsewhere"), &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // read-only: the existing folder, and a folder to create
    disk.remount("ro");
    let o = scrub(&demo, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("--out {}: cannot write there", out.display()))
            && err.contains("Read-only file system"),
        "{err}"
    );
    assert_eq!(tree(&out), before, "--out changed");
    let new = disk.0.join("new");
    let o = scrub(&demo, &new, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot create the folder"), "{err}");
    assert!(!new.exists());
    disk.remount("rw");

    // the next run with room: the outputs of the demo again, nothing left behind
    let o = scrub(&demo, &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let after = tree(&out);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    assert_eq!(after["clean.csv"], before["clean.csv"]);
}
