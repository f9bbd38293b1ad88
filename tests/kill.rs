//! Killed runs (issue 14): `scrub` killed with SIGKILL at every phase of a nightly run with
//! `--state`, and at random moments; each time `--out` holds the earlier run's outputs whole or
//! this run's outputs whole (never a mix, never a partial file), the state holds the earlier runs
//! or this one too, and the next run succeeds, gives the expected outputs and leaves no staging
//! folder. Also: the folders killed runs leave in `--out` are removed by the next run, those of
//! live runs are not, and a commit cut between two renames is carried to its end.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

/// The files of an output folder, by name (claimscrub's hidden files and folders apart).
type Files = BTreeMap<String, Vec<u8>>;

fn files(out: &Path) -> Files {
    std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            assert!(e.path().is_file(), "{}: not a file", e.path().display());
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// claimscrub's run folders left in `out`.
fn run_folders(out: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".claimscrub-"))
        .collect();
    v.sort();
    v
}

/// What of a summary.json does not change between two runs of one batch.
fn summary_facts(bytes: &[u8]) -> Option<serde_json::Value> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let o = v.as_object_mut()?;
    for k in ["started_at", "elapsed_seconds", "command_line"] {
        o.remove(k)?;
    }
    Some(v)
}

/// A generated two-night batch and its expected outputs and state.
struct Nights {
    dir: PathBuf,
    format: &'static str,
    /// After night 1: the outputs (with the marker) and the state file.
    out_a: Files,
    state_a: Vec<u8>,
    /// Night 2 scrubbed after night 1, without a kill.
    out_b: Files,
    lines_a: String,
    lines_b: String,
    /// Timing lines of night 2 on stderr.
    phases: usize,
    night2_ms: u64,
}

impl Nights {
    fn scrub(&self, night: &str, out: &Path, state: &Path) -> Command {
        let mut c = bin();
        c.arg("scrub")
            .arg(self.dir.join(night))
            .arg("--out")
            .arg(out)
            .arg("--state")
            .arg(state)
            .arg("--mue")
            .arg(self.dir.join("mue.csv"))
            .arg("--ncci")
            .arg(self.dir.join("ncci.txt"))
            .arg("--quiet");
        c
    }

    fn make(name: &str, claims: u64, format: &'static str) -> Nights {
        let dir = scratch(name);
        let g = bin()
            .args([
                "generate", "--nights", "2", "--seed", "11", "--format", format,
            ])
            .arg("--claims")
            .arg(claims.to_string())
            .arg("--out")
            .arg(dir.join("g"))
            .output()
            .unwrap();
        assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
        let mut n = Nights {
            dir: dir.join("g"),
            format,
            out_a: Files::new(),
            state_a: Vec::new(),
            out_b: Files::new(),
            lines_a: String::new(),
            lines_b: String::new(),
            phases: 0,
            night2_ms: 0,
        };
        let (out, state) = (dir.join("out"), dir.join("state.db"));
        let o = n.scrub("night1", &out, &state).output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        n.out_a = files(&out);
        n.state_a = std::fs::read(&state).unwrap();
        n.lines_a = lines(&state);
        let t = Instant::now();
        let o = n
            .scrub("night2", &out, &state)
            .env("CLAIMSCRUB_TIMING", "1")
            .output()
            .unwrap();
        n.night2_ms = t.elapsed().as_millis() as u64;
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        n.phases = String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| l.starts_with('['))
            .count();
        n.out_b = files(&out);
        n.lines_b = lines(&state);
        assert_ne!(n.lines_a, n.lines_b);
        assert!(run_folders(&out).is_empty(), "{:?}", run_folders(&out));
        if format == "837" {
            assert!(n.out_b.contains_key("clean.837") && n.out_b.contains_key("held.837"));
        }
        n
    }

    /// `--out` as night 1 left it, and night 1's state.
    fn restore(&self, out: &Path, state: &Path) {
        let _ = std::fs::remove_dir_all(out);
        std::fs::create_dir_all(out).unwrap();
        std::fs::write(
            out.join(".claimscrub"),
            "claimscrub writes its outputs into this folder; each run replaces them.\n",
        )
        .unwrap();
        for (name, bytes) in &self.out_a {
            std::fs::write(out.join(name), bytes).unwrap();
        }
        let _ = std::fs::remove_file(state.with_extension("db-journal"));
        std::fs::write(state, &self.state_a).unwrap();
    }

    /// Which whole set each file of `now` belongs to: "a", "b" or "ab" (the same in both).
    fn set_of(&self, name: &str, bytes: &[u8]) -> &'static str {
        let in_a = self.out_a.get(name).is_some_and(|a| a == bytes);
        let in_b = match name {
            // the summary of night 2 tells its own start and elapsed time
            "summary.json" => {
                summary_facts(bytes).is_some()
                    && self
                        .out_b
                        .get(name)
                        .map(Vec::as_slice)
                        .and_then(summary_facts)
                        == summary_facts(bytes)
            }
            _ => self.out_b.get(name).is_some_and(|b| b == bytes),
        };
        match (in_a, in_b) {
            (true, true) => "ab",
            (true, false) => "a",
            (false, true) => "b",
            (false, false) => panic!(
                "{name} ({} bytes) is neither night 1's nor night 2's: a partial or mixed file",
                bytes.len()
            ),
        }
    }

    /// The checks after a killed run of night 2; returns what the kill left ("a", "b", or
    /// "moving" for a commit cut between two renames).
    fn check_killed(&self, out: &Path, state: &Path, what: &str) -> &'static str {
        let now = files(out);
        let sets: BTreeMap<&String, &str> =
            now.iter().map(|(n, b)| (n, self.set_of(n, b))).collect();
        let lines = lines(state);
        assert!(
            lines == self.lines_a || lines == self.lines_b,
            "{what}: the state holds neither night 1 nor nights 1 and 2"
        );
        match now
            .get("summary.json")
            .map(|s| self.set_of("summary.json", s))
        {
            Some("a") => {
                let names: Vec<&String> = now.keys().collect();
                let want: Vec<&String> = self.out_a.keys().collect();
                assert_eq!(names, want, "{what}: night 1's summary beside other files");
                assert!(
                    sets.values().all(|s| s.contains('a')),
                    "{what}: night 1's summary beside night 2's outputs: {sets:?}"
                );
                assert_eq!(
                    lines, self.lines_a,
                    "{what}: night 2 recorded, its outputs not in place"
                );
                "a"
            }
            Some("b") => {
                let names: Vec<&String> = now.keys().collect();
                let want: Vec<&String> = self.out_b.keys().collect();
                assert_eq!(names, want, "{what}: night 2's summary beside other files");
                assert!(
                    sets.values().all(|s| s.contains('b')),
                    "{what}: night 2's summary beside night 1's outputs: {sets:?}"
                );
                "b"
            }
            // both summaries the same: cannot be (times differ)
            Some(s) => panic!("{what}: summary.json of set {s}"),
            None => {
                // a commit cut between two renames: its journal is in the staging folder, and
                // every file is whole
                let journal = run_folders(out)
                    .iter()
                    .any(|f| out.join(f).join("commit").is_file());
                assert!(
                    journal,
                    "{what}: no summary.json and no interrupted commit: {:?}",
                    run_folders(out)
                );
                assert_eq!(
                    lines, self.lines_a,
                    "{what}: recorded before the outputs were in place"
                );
                "moving"
            }
        }
    }

    /// The next run after a kill: exit 0, night 2's outputs, night 2 in the state, nothing left
    /// behind.
    fn check_next(&self, out: &Path, state: &Path, what: &str) {
        let o = self.scrub("night2", out, state).output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{what}: the next run: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let now = files(out);
        assert_eq!(
            now.keys().collect::<Vec<_>>(),
            self.out_b.keys().collect::<Vec<_>>(),
            "{what}: the next run's outputs"
        );
        for (name, bytes) in &now {
            assert!(
                self.set_of(name, bytes).contains('b'),
                "{what}: the next run's {name} is not night 2's"
            );
        }
        assert_eq!(lines(state), self.lines_b, "{what}: the next run's state");
        assert!(
            run_folders(out).is_empty(),
            "{what}: left behind: {:?}",
            run_folders(out)
        );
    }
}

/// The state's recorded lines (the run that recorded each left out: a run killed after it
/// recorded night 2 and the run after it record the same lines under two run ids).
fn lines(state: &Path) -> String {
    let o = bin()
        .args(["history", "--lines", "--state"])
        .arg(state)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(a, _)| a).to_string() + "\n")
        .collect()
}

/// How a run is killed: after its k-th timing line on stderr, or after a delay.
#[derive(Debug, Clone, Copy)]
enum Kill {
    AfterLine(usize),
    AfterMs(u64),
}

/// Run night 2 and kill it (SIGKILL) as `how` says; whether it ended by itself first.
fn run_and_kill(n: &Nights, out: &Path, state: &Path, how: Kill) -> bool {
    let mut child = n
        .scrub("night2", out, state)
        .env("CLAIMSCRUB_TIMING", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    match how {
        Kill::AfterLine(k) => {
            let mut seen = 0;
            while seen < k {
                match rx.recv_timeout(Duration::from_secs(60)) {
                    Ok(l) if l.starts_with('[') => seen += 1,
                    Ok(_) => {}
                    Err(_) => break, // the run ended
                }
            }
        }
        Kill::AfterMs(ms) => std::thread::sleep(Duration::from_millis(ms)),
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    status.code() == Some(0)
}

/// A small deterministic generator for the random delays.
fn delays(seed: u64, n: usize, below: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % below.max(1)
        })
        .collect()
}

fn kill_everywhere(n: &Nights, every: usize, random: usize) {
    // the paths of the runs that made the expected outputs (the summary names the state)
    let dir = n.dir.parent().unwrap();
    let (out, state) = (dir.join("out"), dir.join("state.db"));
    let mut plans: Vec<Kill> = (1..=n.phases).step_by(every).map(Kill::AfterLine).collect();
    plans.push(Kill::AfterMs(0));
    plans.extend(
        delays(n.phases as u64, random, n.night2_ms + 50)
            .into_iter()
            .map(Kill::AfterMs),
    );
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for how in plans {
        n.restore(&out, &state);
        let what = format!("{} night 2 killed {how:?}", n.format);
        let finished = run_and_kill(n, &out, &state, how);
        let left = n.check_killed(&out, &state, &what);
        if finished {
            assert_eq!(
                left, "b",
                "{what}: ended with exit 0, but not with its outputs"
            );
        }
        *seen.entry(left).or_default() += 1;
        n.check_next(&out, &state, &what);
    }
    eprintln!("{}: kills left {seen:?}", n.format);
    // the kills reached from before the first output to after the last
    assert!(seen.get("a").is_some_and(|c| *c > 0), "{seen:?}");
    assert!(seen.get("b").is_some_and(|c| *c > 0), "{seen:?}");
}

#[test]
fn killed_at_every_phase_of_a_nightly_run() {
    let n = Nights::make("kill-csv", 40_000, "csv");
    kill_everywhere(&n, 1, 8);
}

#[test]
fn killed_837p_runs() {
    // the 837P's claim rows are written to a scratch folder in --out, and clean.837 / held.837
    // are moved with the other outputs
    let n = Nights::make("kill-837", 20_000, "837");
    kill_everywhere(&n, 3, 4);
}

/// The pid of a process that has ended (and was reaped).
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

/// A process's identity as claimscrub writes it in a run folder's `owner` file.
fn identity(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    let start = rest.split_whitespace().nth(19).unwrap();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    format!("{pid} {start} {}", boot.trim())
}

fn demo_args(out: &Path) -> Vec<String> {
    vec![
        "scrub".into(),
        repo("fixtures/demo").display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--quiet".into(),
    ]
}

#[test]
fn leftovers_of_dead_runs_go_those_of_live_runs_stay() {
    let dir = scratch("kill-leftovers");
    let out = dir.join("out");
    let o = bin().args(demo_args(&out)).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    let live = sleeper.id();
    let dead = dead_pid();
    let folder = |prefix: &str, pid: u32, owner: Option<String>| {
        let f = out.join(format!(".claimscrub-{prefix}-{pid}"));
        std::fs::create_dir_all(&f).unwrap();
        std::fs::write(f.join("clean.csv"), "half a file").unwrap();
        if let Some(o) = owner {
            std::fs::write(f.join("owner"), o + "\n").unwrap();
        }
        f
    };
    // dead runs: staging and 837P scratch, with and without their owner file
    let gone = [
        folder("staging", dead, Some(format!("{dead} 123 x"))),
        folder("x12", dead, None),
    ];
    // a live run: its folders stay
    let stays = [
        folder("staging", live, Some(identity(live))),
        folder("x12", live, None),
    ];
    let o = bin().args(demo_args(&out)).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in &gone {
        assert!(!f.exists(), "{} was left", f.display());
    }
    for f in &stays {
        assert!(
            f.join("clean.csv").is_file(),
            "{} of a live run was removed",
            f.display()
        );
    }
    // the live pid, but the owner file of another process (the pid reused): dead
    std::fs::write(stays[0].join("owner"), format!("{live} 1 another-boot\n")).unwrap();
    let o = bin().args(demo_args(&out)).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(!stays[0].exists(), "a folder of a reused pid was left");
    assert!(
        stays[1].exists(),
        "a live pid's folder without an owner file was removed"
    );
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let o = bin().args(demo_args(&out)).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(run_folders(&out).is_empty(), "{:?}", run_folders(&out));
    // the outputs are the demo's, whole
    let again = dir.join("again");
    let o = bin().args(demo_args(&again)).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    for name in ["clean.csv", "held.csv", "rejections.csv", "malformed.csv"] {
        assert_eq!(
            std::fs::read(out.join(name)).unwrap(),
            std::fs::read(again.join(name)).unwrap(),
            "{name}"
        );
    }
}

/// A kill between two renames of a commit (rare to hit by timing; made here as such a kill
/// leaves it): the next run finishes the commit before anything else, so that even a run that
/// then stops with an error leaves that run's outputs whole.
#[test]
fn a_commit_cut_between_two_renames_is_finished() {
    let dir = scratch("kill-journal");
    let (old, new) = (dir.join("old"), dir.join("new"));
    let o = bin().args(demo_args(&old)).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let o = bin()
        .args(demo_args(&new))
        .args(["--hold", "line"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let (old_files, new_files) = (files(&old), files(&new));
    assert_ne!(old_files["held.csv"], new_files["held.csv"]);
    // the old outputs; a dead run's staging folder whose journal was written, summary.json
    // removed from --out, and two of the moves done
    let out = dir.join("out");
    let o = bin().args(demo_args(&out)).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let dead = dead_pid();
    let staging = out.join(format!(".claimscrub-staging-{dead}"));
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(staging.join("owner"), format!("{dead} 5 x\n")).unwrap();
    let names = [
        "rejections.csv",
        "clean.csv",
        "held.csv",
        "malformed.csv",
        "summary.json",
    ];
    let journal: String = names
        .iter()
        .map(|n| format!("move {n}\n"))
        .chain(["remove clean.837\n".to_string()])
        .collect();
    std::fs::write(staging.join("commit"), journal).unwrap();
    std::fs::write(out.join("clean.837"), "an earlier run's").unwrap();
    for n in names {
        let to = if ["rejections.csv", "clean.csv"].contains(&n) {
            out.join(n)
        } else {
            staging.join(n)
        };
        std::fs::write(to, &new_files[n]).unwrap();
    }
    std::fs::remove_file(out.join("summary.json")).unwrap();
    // the next run stops on a bad policy, after it has finished the commit
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[[").unwrap();
    let o = bin()
        .args(demo_args(&out))
        .arg("--policy")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        files(&out),
        new_files,
        "the interrupted commit was not finished"
    );
    assert!(run_folders(&out).is_empty(), "{:?}", run_folders(&out));
}

/// Two runs into one `--out` at once: the second leaves the first one's live folders alone (an
/// 837P's scratch folder lives from its first to its last second), both succeed, and `--out`
/// holds the whole set of the run that committed last.
#[test]
fn a_concurrent_run_leaves_a_live_run_alone() {
    let dir = scratch("kill-concurrent");
    let g = bin()
        .args([
            "generate", "--claims", "100000", "--seed", "2", "--format", "837", "--out",
        ])
        .arg(dir.join("g"))
        .output()
        .unwrap();
    assert!(g.status.success());
    let batch = |out: &Path| {
        let mut c = bin();
        c.arg("scrub")
            .arg(dir.join("g"))
            .arg("--out")
            .arg(out)
            .arg("--mue")
            .arg(dir.join("g/mue.csv"))
            .arg("--quiet")
            .arg("--threads")
            .arg("1");
        c
    };
    let reference = dir.join("reference");
    assert!(batch(&reference).status().unwrap().success());
    let out = dir.join("out");
    let mut first = batch(&out).spawn().unwrap();
    let folder = format!(".claimscrub-x12-{}", first.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    let scratch_of_first = || out.exists() && run_folders(&out).contains(&folder);
    while !scratch_of_first() {
        assert!(
            Instant::now() < deadline,
            "the first run made no scratch folder"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let o = bin().args(demo_args(&out)).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "the batch took less time than the demo"
    );
    assert!(
        scratch_of_first(),
        "the second run removed the live run's folder"
    );
    assert_eq!(
        first.wait().unwrap().code(),
        Some(0),
        "the first run failed"
    );
    let (now, want) = (files(&out), files(&reference));
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &want {
        if name != "summary.json" {
            assert_eq!(now.get(name), Some(bytes), "{name}");
        }
    }
    assert!(run_folders(&out).is_empty(), "{:?}", run_folders(&out));
}
