//! Writing the outputs (SPEC §6): every file is written into a staging folder inside `--out` and
//! moved into place only when all of them are complete.

pub mod file;
pub mod parquet;
pub mod summary;
pub mod tables;
pub mod x12;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutFormat {
    Csv,
    Parquet,
}

impl OutFormat {
    pub fn ext(self) -> &'static str {
        match self {
            OutFormat::Csv => "csv",
            OutFormat::Parquet => "parquet",
        }
    }
}

/// The file that marks a folder as one claimscrub writes its outputs into.
pub const MARKER: &str = ".claimscrub";

/// The names a run may write into `--out`, whatever the format.
pub const OUTPUT_NAMES: &[&str] = &[
    "rejections.csv",
    "clean.csv",
    "held.csv",
    "malformed.csv",
    "rejections.parquet",
    "clean.parquet",
    "held.parquet",
    "malformed.parquet",
    "clean.837",
    "held.837",
    "summary.json",
    "report.html",
];

/// Refuse an `--out` that holds an input, or files of claimscrub's output names that claimscrub
/// did not write (a folder without its marker): a run replaces its outputs, and must replace
/// nothing else.
pub fn check_out(out: &Path, inputs: &[&Path]) -> Result<()> {
    let Ok(dir) = out.canonicalize() else {
        return Ok(()); // created by this run
    };
    for input in inputs {
        if let Ok(input) = input.canonicalize() {
            if input.starts_with(&dir) {
                anyhow::bail!(
                    "--out {}: the folder holds the input {}; write the outputs to another folder",
                    out.display(),
                    input.display()
                );
            }
        }
    }
    if dir.join(MARKER).is_file() {
        return Ok(());
    }
    if let Some(name) = OUTPUT_NAMES.iter().find(|n| dir.join(n).exists()) {
        anyhow::bail!(
            "--out {}: {name} is there and was not written by claimscrub (no {MARKER} marker); \
             choose an empty folder, or remove it",
            out.display()
        );
    }
    Ok(())
}

/// Folders a run keeps inside `--out` while it runs: its staged outputs, and the claim rows of an
/// 837P (`input::x12`). Each is named by the run's pid and holds an [`OWNER`] file.
pub const STAGING_PREFIX: &str = ".claimscrub-staging-";
pub const X12_PREFIX: &str = ".claimscrub-x12-";
/// A run's Parquet inputs as CSV text, while they are written (then unlinked and mapped).
pub const PARQUET_PREFIX: &str = ".claimscrub-parquet-";

/// Inside a run's folder: the run's pid, start time and boot, to tell it from a later process
/// that got the same pid.
const OWNER: &str = "owner";

/// Inside the staging folder: the moves of a commit, written before the first one (see
/// [`Staging::commit`]).
const JOURNAL: &str = "commit";

/// Who a process is: pid, start time (clock ticks after boot, field 22 of /proc/PID/stat) and
/// boot id. `None` where /proc does not tell (not Linux).
fn identity(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name in parentheses may hold spaces: fields are counted after the last ')'
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is the state (3rd field), fields[19] the start time (22nd)
    if matches!(fields.first(), Some(&"Z" | &"X")) {
        return Some(String::new()); // ended, not yet reaped: no identity matches
    }
    let start = fields.get(19)?;
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    Some(format!("{pid} {start} {}", boot.trim()))
}

/// Whether the run that made a folder named for `pid` (with `owner`, its [`OWNER`] file's text,
/// when there is one) may still be running. Without /proc nothing is known: alive.
fn alive(pid: u32, owner: Option<&str>) -> bool {
    if !Path::new("/proc/self/stat").exists() {
        return true;
    }
    match identity(pid) {
        None => false, // no such process
        Some(now) if now.is_empty() => false,
        // a folder without its owner file (an older claimscrub, or one killed before writing it):
        // judged by the pid alone
        Some(now) => owner.is_none_or(|o| o.trim() == now),
    }
}

/// Make this run's folder `<prefix><pid>` inside `out`, with its [`OWNER`] file. A folder of that
/// name is a dead run's (this pid is ours): it goes.
pub fn run_folder(out: &Path, prefix: &str) -> Result<PathBuf> {
    let pid = std::process::id();
    let dir = out.join(format!("{prefix}{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir)
        .with_context(|| format!("--out {}: cannot write there", out.display()))?;
    if let Err(e) = std::fs::write(dir.join(OWNER), identity(pid).unwrap_or_default() + "\n") {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e).with_context(|| format!("--out {}: cannot write there", out.display()));
    }
    Ok(dir)
}

/// Exclusive hold of `--out` while outputs are moved into place (this run's or a dead run's):
/// two runs into one folder never interleave their moves. The lock is on the marker file and
/// ends with the process, however it ends.
struct CommitLock(#[allow(dead_code)] std::fs::File);

impl CommitLock {
    // File::lock is Rust 1.89, the rust-version
    fn take(out: &Path) -> Result<CommitLock> {
        let marker = out.join(MARKER);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&marker)
            .with_context(|| format!("--out {}: cannot write there", out.display()))?;
        if f.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
            std::io::Write::write_all(&mut &f, MARKER_TEXT.as_bytes())
                .with_context(|| format!("--out {}: cannot write {MARKER}", out.display()))?;
        }
        f.lock()
            .with_context(|| format!("--out {}: cannot lock {MARKER}", out.display()))?;
        Ok(CommitLock(f))
    }
}

const MARKER_TEXT: &str =
    "claimscrub writes its outputs into this folder; each run replaces them.\n";

/// A name a journal may move or remove: a plain file name in `--out`.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && Path::new(name).file_name() == Some(std::ffi::OsStr::new(name))
}

/// Carry out a commit's journal: remove the summary in `--out`, move every staged file still in
/// the staging folder into place, remove the stale names, and move the summary last. Done again
/// after it was done (whole or in part), it does only what is left.
fn apply(out: &Path, dir: &Path, journal: &str) -> Result<()> {
    let mut moves = Vec::new();
    let mut removals = Vec::new();
    for line in journal.lines() {
        match line.split_once(' ') {
            Some(("move", n)) if plain_name(n) => moves.push(n),
            Some(("remove", n)) if plain_name(n) => removals.push(n),
            _ => anyhow::bail!(
                "{}: not a claimscrub commit journal (line `{}`)",
                dir.join(JOURNAL).display(),
                line.escape_debug()
            ),
        }
    }
    let cannot = |what: &str, name: &str| format!("--out {}: cannot {what} {name}", out.display());
    let summary = "summary.json";
    if dir.join(summary).exists() {
        // summary.json is there only while the outputs beside it are the run it describes
        match std::fs::remove_file(out.join(summary)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| cannot("replace", summary));
            }
            _ => {}
        }
    }
    for name in moves.iter().filter(|n| **n != summary) {
        let from = dir.join(name);
        if from.exists() {
            std::fs::rename(&from, out.join(name))
                .with_context(|| cannot("move into place", name))?;
            crate::timing(&format!("moved {name} into place"));
        }
    }
    for name in removals {
        match std::fs::remove_file(out.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| cannot("remove the earlier", name));
            }
            _ => {}
        }
    }
    if moves.contains(&summary) && dir.join(summary).exists() {
        std::fs::rename(dir.join(summary), out.join(summary))
            .with_context(|| cannot("move into place", summary))?;
        crate::timing("moved summary.json into place");
    }
    Ok(())
}

/// Before a run: the folders that runs which ended without finishing left in `--out` (killed, or
/// a machine that stopped) go. A staging folder whose commit had begun (its journal is there) is
/// first carried to its end, so that `--out` holds that run's outputs whole. Folders of runs
/// still alive are left alone. Returns what was done, one line each.
pub fn recover(out: &Path) -> Result<Vec<String>> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(Vec::new()); // created by this run
    };
    let mut done = Vec::new();
    let mut lock = None;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((prefix, pid)) = [STAGING_PREFIX, X12_PREFIX, PARQUET_PREFIX]
            .iter()
            .find_map(|p| Some((*p, name.strip_prefix(p)?.parse::<u32>().ok()?)))
        else {
            continue;
        };
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let owner = std::fs::read_to_string(dir.join(OWNER)).ok();
        if alive(pid, owner.as_deref()) {
            continue;
        }
        if prefix == STAGING_PREFIX {
            if let Ok(journal) = std::fs::read_to_string(dir.join(JOURNAL)) {
                if lock.is_none() {
                    lock = Some(CommitLock::take(out)?);
                }
                apply(out, &dir, &journal).with_context(|| {
                    format!(
                        "--out {}: cannot finish moving the outputs of run {pid} into place",
                        out.display()
                    )
                })?;
                done.push(format!(
                    "the outputs of run {pid}, killed while they were moved into place, moved"
                ));
            }
        }
        std::fs::remove_dir_all(&dir).with_context(|| {
            format!(
                "--out {}: cannot remove {name}, left by run {pid} that ended",
                out.display()
            )
        })?;
        done.push(format!("{name} of run {pid} that ended removed"));
    }
    Ok(done)
}

/// A folder beside the outputs; dropped without `commit`, it is removed with what it holds.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    created_out: bool,
    committed: bool,
}

impl Staging {
    pub fn new(out: &Path) -> Result<Staging> {
        let created_out = !out.exists();
        std::fs::create_dir_all(out)
            .with_context(|| format!("--out {}: cannot create the folder", out.display()))?;
        let dir = run_folder(out, STAGING_PREFIX).inspect_err(|_| {
            if created_out {
                let _ = std::fs::remove_dir(out);
            }
        })?;
        Ok(Staging {
            out: out.into(),
            dir,
            created_out,
            committed: false,
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Move every staged file into `--out`, and remove the earlier outputs named in `stale`.
    /// Renames are atomic one by one, not together; so that a run killed between two of them
    /// leaves no mix of two runs' outputs for good, the moves are first written to a journal in
    /// the staging folder, and the next run carries out a journal it finds (see [`recover`]).
    /// summary.json is removed first and moved last: while it is in `--out`, every output there
    /// is of the run it describes.
    pub fn commit(mut self, names: &[String], stale: &[&str]) -> Result<()> {
        let lock = CommitLock::take(&self.out)?;
        let mut journal = String::new();
        for name in names {
            anyhow::ensure!(plain_name(name), "{name}: not an output name");
            journal += &format!("move {name}\n");
        }
        for name in stale.iter().filter(|n| !names.iter().any(|m| m == *n)) {
            journal += &format!("remove {name}\n");
        }
        // the journal appears whole or not at all
        let tmp = self.dir.join(format!("{JOURNAL}.tmp"));
        std::fs::write(&tmp, &journal)
            .and_then(|_| std::fs::rename(&tmp, self.dir.join(JOURNAL)))
            .with_context(|| {
                format!(
                    "--out {}: cannot write the staging folder's journal",
                    self.out.display()
                )
            })?;
        crate::timing("outputs: moving into place");
        apply(&self.out, &self.dir, &journal)?;
        self.committed = true;
        let _ = std::fs::remove_dir_all(&self.dir);
        drop(lock);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
            if self.created_out {
                let _ = std::fs::remove_dir(&self.out);
            }
        }
    }
}
