//! Multi-night scenarios of the nightly state (SPEC §10), format: `tests/nights/README.md`.
//! Each folder of `tests/nights/` is one test: its nights (`night1/`, `night2/`, …) are scrubbed in
//! order against one state file in a scratch folder, each night into its own `--out`, and every
//! night's outputs, the state's `lines` table and `history --json` are compared with the expected
//! files. Each scenario runs a second time with `--parts 3` on every night (`<name>::parts3`).
//! The harness is libtest-mimic: `cargo test --release --test nights -- kx_`, `--skip ::parts3`.

mod common;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The runs of every scenario: a test-name suffix, the name of its scratch folder and the
/// arguments added to every night.
const RUNS: [(&str, &str, &[&str]); 2] = [
    ("", "whole", &[]),
    ("::parts3", "parts3", &["--parts", "3"]),
];

/// Fewer scenarios than this means some were lost (moved, or their nights misnamed).
const AT_LEAST: usize = 14;

/// The three inputs of a night, as the history's `inputs` must describe them.
const INPUTS: [&str; 3] = ["claims.csv", "sessions.csv", "prescriptions.csv"];

/// The outputs that must be byte-identical when a night names another in `same_outputs_as`.
const COMPARED_OUTPUTS: [&str; 4] = ["clean.csv", "held.csv", "rejections.csv", "malformed.csv"];

/// SPEC §10 as the brief fixes it: the SQLite header of a claimscrub state.
const APPLICATION_ID: &str = "1129075555";
const SCHEMA_VERSION: &str = "2";

/// The rows of a query on the state database, every value as text (NULL as empty).
///
/// The one place that opens the state: read-only, so that later nights can check the file byte
/// for byte. Every value as text (NULL as empty), like the expected files.
fn query_state(state: &Path, sql: &str) -> Result<Vec<Vec<String>>, String> {
    use rusqlite::types::ValueRef;
    let conn =
        rusqlite::Connection::open_with_flags(state, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("opening {}: {e}", state.display()))?;
    let mut q = conn
        .prepare(sql)
        .map_err(|e| format!("reading {} ({sql}): {e}", state.display()))?;
    let n = q.column_count();
    let mut rows = q.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| e.to_string())? {
        let mut row = Vec::with_capacity(n);
        for i in 0..n {
            row.push(match r.get_ref(i).map_err(|e| e.to_string())? {
                ValueRef::Null => String::new(),
                ValueRef::Integer(v) => v.to_string(),
                ValueRef::Real(v) => v.to_string(),
                ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
            });
        }
        out.push(row);
    }
    Ok(out)
}

/// SHA-256 (FIPS 180-4) of `data`, in lower-case hex: what `history` must report of each input.
/// Written out here because the crate has no hashing dependency the tests could borrow.
fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in message.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// The scenario folders under `root` (those with a `night1/`), sorted, and the folders that
/// have none, which would else be skipped without a word.
fn scenario_dirs(root: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter().partition(|d| d.join("night1").is_dir())
}

/// A scenario's nights in order: `night1`, `night2`, … `night10` (by number, not by name).
fn nights(scenario: &Path) -> Vec<(u32, PathBuf)> {
    let mut nights: Vec<(u32, PathBuf)> = std::fs::read_dir(scenario)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name()?.to_str()?.to_string();
            let n = name.strip_prefix("night")?.parse().ok()?;
            path.is_dir().then_some((n, path))
        })
        .collect();
    nights.sort();
    nights
}

/// `want` against `got` as rows of the named columns; `None` when they agree.
fn compare_rows(
    what: &str,
    columns: &[String],
    want: &[Vec<String>],
    got: &[Vec<String>],
) -> Option<String> {
    let difference = common::first_difference(columns, want, got)?;
    let show = |rows: &[Vec<String>]| {
        rows.iter()
            .map(|r| format!("    {}", r.join(",")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Some(format!(
        "{what}: {difference}\n  expected ({}):\n{}\n  got:\n{}",
        columns.join(","),
        show(want),
        show(got)
    ))
}

/// Compare the named columns of an output with an expected file; `None` when they agree.
fn compare(expected: &Path, actual: &Path) -> Option<String> {
    let (columns, want) = common::read_csv(expected);
    if !actual.is_file() {
        return Some(format!("{} was not written", actual.display()));
    }
    let got = common::project(actual, &columns);
    let what = format!(
        "{} against {}",
        expected.file_name().unwrap().to_string_lossy(),
        actual.file_name().unwrap().to_string_lossy()
    );
    compare_rows(&what, &columns, &want, &got)
}

/// Whether `want` is contained in `got`: every key of an object with a contained value; every
/// element of an array contained in a different element of the other, in any order (the runs'
/// number is checked apart, see `check_recorded_run`); numbers by value; everything else equal.
fn contained(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| contained(v, gv))),
        (Value::Array(w), Value::Array(g)) => {
            w.len() <= g.len() && pair_off(w, g, &mut vec![false; g.len()])
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => want == got,
    }
}

/// Whether the expected elements `w` can each take a different unused element of `g` that
/// contains it (backtracking: the arrays here are a few elements long).
fn pair_off(w: &[Value], g: &[Value], used: &mut Vec<bool>) -> bool {
    let Some((first, rest)) = w.split_first() else {
        return true;
    };
    for i in 0..g.len() {
        if !used[i] && contained(first, &g[i]) {
            used[i] = true;
            if pair_off(rest, g, used) {
                return true;
            }
            used[i] = false;
        }
    }
    false
}

/// `claimscrub history --state STATE --json [--patient ID]`, parsed.
fn history(state: &Path, patient: Option<&str>) -> Result<Value, String> {
    let mut command = common::bin();
    command
        .arg("history")
        .arg("--state")
        .arg(state)
        .arg("--json");
    if let Some(p) = patient {
        command.arg("--patient").arg(p);
    }
    let output = command.output().map_err(|e| e.to_string())?;
    if output.status.code() != Some(0) {
        return Err(format!(
            "history exit {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "history --json is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The state file's bytes, or `None` when there is none.
fn snapshot(state: &Path) -> Option<Vec<u8>> {
    std::fs::read(state).ok()
}

/// The checks every recorded night gets without an expected file (SPEC §10 "What is
/// recorded"): the claimscrub header of the database, one more run in the history, and that
/// run's inputs and counts as the night's files and outputs show them.
fn check_recorded_run(state: &Path, night: &Path, out: &Path, runs_so_far: usize) -> Vec<String> {
    let mut problems = Vec::new();
    match query_state(state, "SELECT * FROM pragma_application_id, pragma_user_version") {
        Ok(rows) if rows == [vec![APPLICATION_ID.to_string(), SCHEMA_VERSION.to_string()]] => {}
        Ok(rows) => problems.push(format!(
            "state header (application_id, user_version) {rows:?}, expected [{APPLICATION_ID}, {SCHEMA_VERSION}]"
        )),
        Err(e) => problems.push(e),
    }
    let history = match history(state, None) {
        Ok(h) => h,
        Err(e) => {
            problems.push(e);
            return problems;
        }
    };
    let Some(runs) = history.get("runs").and_then(Value::as_array) else {
        problems.push(format!("history --json has no runs array: {history}"));
        return problems;
    };
    if runs.len() != runs_so_far {
        problems.push(format!(
            "history lists {} runs, expected {runs_so_far} (one per night recorded so far)",
            runs.len()
        ));
    }
    let Some(last) = runs
        .iter()
        .max_by_key(|r| r.get("run_id").and_then(Value::as_i64).unwrap_or(i64::MIN))
    else {
        return problems;
    };
    let inputs = last
        .get("inputs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for name in INPUTS {
        let bytes = std::fs::read(night.join(name)).unwrap();
        let (size, sha) = (bytes.len() as u64, sha256_hex(&bytes));
        let found = inputs.iter().any(|i| {
            i.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.ends_with(name))
                && i.get("bytes").and_then(Value::as_u64) == Some(size)
                && i.get("sha256").and_then(Value::as_str) == Some(sha.as_str())
        });
        if !found {
            problems.push(format!(
                "the last run's inputs lack {name} ({size} bytes, sha256 {sha}): {}",
                Value::Array(inputs.clone())
            ));
        }
    }
    for (key, file) in [("clean", "clean.csv"), ("held", "held.csv")] {
        let rows = common::read_csv(&out.join(file)).1.len() as u64;
        if last.get(key).and_then(Value::as_u64) != Some(rows) {
            problems.push(format!(
                "the last run's {key} is {:?}, {file} has {rows} lines",
                last.get(key)
            ));
        }
    }
    problems
}

/// The expected `lines` table after a night: the columns its header names, every row, ordered
/// by claim_id, line_no.
fn check_state_lines(state: &Path, expected: &Path) -> Option<String> {
    let (columns, want) = common::read_csv(expected);
    let known = claimscrub::state::history::LINE_COLUMNS;
    if let Some(c) = columns.iter().find(|c| !known.contains(&c.as_str())) {
        return Some(format!("{}: {c} is no column of lines", expected.display()));
    }
    // the lines as `history --lines` reads them from the state's blocks
    let got = claimscrub::state::history::open(state, false)
        .and_then(|conn| claimscrub::state::history::lines(&conn, None))
        .map(|lines| {
            lines
                .iter()
                .map(|l| {
                    let cells = l.cells();
                    columns
                        .iter()
                        .map(|c| cells[known.iter().position(|k| k == c).unwrap()].clone())
                        .collect::<Vec<String>>()
                })
                .collect::<Vec<_>>()
        })
        .map_err(|e| format!("reading {}: {e:#}", state.display()));
    match got {
        Ok(got) => compare_rows(
            "expected_state_lines.csv against lines",
            &columns,
            &want,
            &got,
        ),
        Err(e) => Some(e),
    }
}

/// Run one night against `state` into `out`; what differed, if anything. `recorded` counts
/// the nights that wrote a run so far and is raised when this one should have.
fn run_night(
    scenario: &Path,
    night: &Path,
    state: &Path,
    out: &Path,
    extra: &[&str],
    recorded: &mut usize,
) -> Result<(), String> {
    let text = std::fs::read_to_string(night.join("args")).unwrap_or_default();
    // file names in `args` are relative to the night's folder, else to the scenario's
    let mut args: Vec<String> = text
        .split_whitespace()
        .map(|a| {
            [night.join(a), scenario.join(a)]
                .into_iter()
                .find(|p| p.is_file())
                .map_or_else(|| a.to_string(), |p| p.display().to_string())
        })
        .collect();
    if scenario.join("policy.toml").is_file() && !args.iter().any(|a| a == "--policy") {
        args.push("--policy".into());
        args.push(scenario.join("policy.toml").display().to_string());
    }
    args.push("--state".into());
    args.push(state.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let command = format!(
        "claimscrub scrub {} --out {} --quiet {}",
        night.display(),
        out.display(),
        args.join(" ")
    );

    let before = snapshot(state);
    let output = common::scrub(night, out, &args);
    let want_exit: i32 = std::fs::read_to_string(night.join("expected_exit"))
        .map(|s| s.trim().parse().unwrap())
        .unwrap_or(0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut problems = Vec::new();
    if output.status.code() != Some(want_exit) {
        problems.push(format!(
            "exit {:?}, expected {want_exit}; stderr: {stderr}",
            output.status.code()
        ));
    } else if want_exit == 2 {
        // a run that could not be done leaves no output (SPEC §1) and changes no state (§10)
        let left: Vec<String> = std::fs::read_dir(out)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if !left.is_empty() {
            problems.push(format!("exit 2 left outputs in --out: {left:?}"));
        }
        if before.is_some() {
            let name = state.file_name().unwrap().to_string_lossy();
            if !stderr.contains(name.as_ref()) {
                problems.push(format!(
                    "the error does not name the state file {name}: {stderr}"
                ));
            }
        }
    } else {
        for (expected, actual) in [
            ("expected_findings.csv", "rejections.csv"),
            ("expected_held.csv", "held.csv"),
            ("expected_clean.csv", "clean.csv"),
            ("expected_malformed.csv", "malformed.csv"),
        ] {
            if night.join(expected).is_file() {
                problems.extend(compare(&night.join(expected), &out.join(actual)));
            }
        }
        if let Ok(other) = std::fs::read_to_string(night.join("same_outputs_as")) {
            let other = out.parent().unwrap().join(other.trim());
            for file in COMPARED_OUTPUTS {
                if std::fs::read(out.join(file)).ok() != std::fs::read(other.join(file)).ok() {
                    problems.push(format!(
                        "{file} differs from {}'s, byte for byte",
                        other.display()
                    ));
                }
            }
        }
    }
    let after = snapshot(state);
    if want_exit == 2 || dry_run {
        if before != after {
            let why = if dry_run {
                "--dry-run records nothing"
            } else {
                "a run that could not be done changes nothing"
            };
            problems.push(format!(
                "the state file changed ({why}): {} bytes before, {} after",
                before.map_or("absent, no".into(), |b| b.len().to_string()),
                after.map_or("absent, no".into(), |b| b.len().to_string())
            ));
        }
    } else if output.status.code() == Some(want_exit) {
        if after.is_none() {
            problems.push(format!(
                "no state file at {} after the run",
                state.display()
            ));
        } else {
            *recorded += 1;
            problems.extend(check_recorded_run(state, night, out, *recorded));
        }
    }
    if night.join("expected_state_lines.csv").is_file() {
        problems.extend(check_state_lines(
            state,
            &night.join("expected_state_lines.csv"),
        ));
    }
    if night.join("expected_history.json").is_file() {
        let text = std::fs::read_to_string(night.join("expected_history.json")).unwrap();
        let want: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", night.join("expected_history.json").display()));
        let patient = std::fs::read_to_string(night.join("history_patient")).ok();
        match history(state, patient.as_deref().map(str::trim)) {
            Ok(got) if contained(&want, &got) => {}
            Ok(got) => problems.push(format!(
                "expected_history.json is not contained in history --json{}:\n  expected: {}\n  got: {}",
                patient.map_or(String::new(), |p| format!(" --patient {}", p.trim())),
                want,
                serde_json::to_string_pretty(&got).unwrap()
            )),
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!("{}\n{}", command.trim_end(), problems.join("\n")))
}

/// Run a scenario's nights in order against one fresh state; the first night that differed.
fn run_scenario(scenario: &Path, scratch: &str, extra: &[&str]) -> Result<(), String> {
    let dir = common::scratch(scratch);
    let state = dir.join("state.db");
    if scenario.join("initial_state").is_file() {
        std::fs::copy(scenario.join("initial_state"), &state).unwrap();
    }
    let mut recorded = 0;
    for (n, night) in nights(scenario) {
        let out = dir.join(format!("night{n}"));
        run_night(scenario, &night, &state, &out, extra, &mut recorded)
            .map_err(|e| format!("night{n}: {e}"))?;
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let root = common::repo("tests/nights");
    let (dirs, strays) = scenario_dirs(&root);
    let found = dirs.len();
    let name = |d: &Path| d.file_name().unwrap().to_string_lossy().into_owned();
    let strays: Vec<String> = strays.iter().map(|d| name(d)).collect();
    let mut trials = vec![
        Trial::test("scenario_folders_found", move || {
            if !strays.is_empty() {
                return Err(format!(
                    "folders without night1/ (README.md: required): {}",
                    strays.join(", ")
                )
                .into());
            }
            if found < AT_LEAST {
                return Err(
                    format!("only {found} scenarios found, expected at least {AT_LEAST}").into(),
                );
            }
            Ok(())
        }),
        // the history check trusts this digest, so it is checked against FIPS 180-4's examples
        Trial::test("sha256_known_answers", || {
            let cases = [
                (
                    "",
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                ),
                (
                    "abc",
                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                ),
                (
                    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
                ),
            ];
            for (text, digest) in cases {
                if sha256_hex(text.as_bytes()) != digest {
                    return Err(format!("sha256({text:?}) != {digest}").into());
                }
            }
            Ok(())
        }),
    ];
    for dir in dirs {
        let name = name(&dir);
        for (suffix, run, extra) in RUNS {
            let dir = dir.clone();
            // each run its own scratch folder, so that scenarios can run in parallel
            let scratch = format!("nights/{name}/{run}");
            trials.push(Trial::test(format!("{name}{suffix}"), move || {
                run_scenario(&dir, &scratch, extra).map_err(Failed::from)
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
