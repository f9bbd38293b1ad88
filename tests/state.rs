//! The nightly state's mechanics (SPEC §10 "Writing"): a rerun changes nothing, a dry run records
//! nothing, a run killed at any point leaves the state and the previous outputs as they were, and
//! a second run on a state in use stops with a clear message. The billing semantics across nights
//! are the scenarios of tests/nights/.

mod common;

use std::path::Path;
use std::time::Instant;

use common::*;

/// Every table of the state as text, in key order: what "unchanged" means.
fn dump(state: &Path) -> String {
    tables(state, true)
}

/// The lines and prescriptions without the run that recorded them: a rerun adds a row to `runs`
/// and records the same lines again under its run, nothing else.
fn lines_of(state: &Path) -> String {
    tables(state, false)
}

fn tables(state: &Path, with_runs: bool) -> String {
    use rusqlite::types::Value;
    let conn = rusqlite::Connection::open(state).unwrap();
    let mut out = String::new();
    let cell = |v: Value| match v {
        Value::Text(t) => t,
        Value::Integer(n) => n.to_string(),
        Value::Null => "NULL".into(),
        v => format!("{v:?}"),
    };
    for (table, order) in [
        ("runs", "run_id"),
        ("lines", ""),
        ("prescriptions", "patient_id, rx_id"),
    ] {
        if !with_runs && table == "runs" {
            continue;
        }
        if table == "lines" {
            // the lines live in blocks: read as `history --lines` reads them
            for l in claimscrub::state::history::lines(&conn, None).unwrap() {
                let cells = l.cells();
                let cells: Vec<&str> = cells
                    .iter()
                    .zip(claimscrub::state::history::LINE_COLUMNS)
                    .filter(|(_, name)| with_runs || *name != "run_id")
                    .map(|(c, _)| c.as_str())
                    .collect();
                out += &format!("lines: {}\n", cells.join(" | "));
            }
            continue;
        }
        let mut q = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .unwrap();
        let names: Vec<String> = q.column_names().map(|n| n.to_string()).collect();
        let mut rows = q.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let cells: Vec<String> = (0..names.len())
                .filter(|&i| with_runs || names[i] != "run_id")
                .map(|i| cell(r.get::<_, Value>(i).unwrap()))
                .collect();
            out += &format!("{table}: {}\n", cells.join(" | "));
        }
    }
    out
}

fn generate(dir: &Path, claims: u64, seed: u64) {
    let o = bin()
        .args([
            "generate",
            "--claims",
            &claims.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn outputs(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let mut bytes = std::fs::read(&p).unwrap();
            if name == "summary.json" {
                // the elapsed time and start differ from run to run
                let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                for k in ["elapsed_seconds", "started_at", "command_line"] {
                    v[k] = serde_json::Value::Null;
                }
                if v["state"].is_object() {
                    v["state"]["path"] = serde_json::Value::Null;
                }
                bytes = v.to_string().into_bytes();
            }
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_same_batch_twice_gives_the_same_outputs_and_lines() {
    let dir = scratch("state_rerun");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    generate(&input, 20_000, 5);
    let state = dir.join("state.db");
    let st = state.to_str().unwrap();
    scrub_ok(&input, &dir.join("a"), &["--state", st]);
    let first = lines_of(&state);
    assert!(first.lines().count() > 2000, "the lines are recorded");
    scrub_ok(&input, &dir.join("b"), &["--state", st, "--parts", "3"]);
    assert_eq!(outputs(&dir.join("a")), outputs(&dir.join("b")));
    assert_eq!(first, lines_of(&state));
    let runs = dump(&state)
        .lines()
        .filter(|l| l.starts_with("runs:"))
        .count();
    assert_eq!(runs, 2, "each completed run is listed");
}

#[test]
fn a_dry_run_records_nothing_and_a_missing_state_is_not_created() {
    let dir = scratch("state_dry");
    small_batch(&dir);
    let state = dir.join("state.db");
    let st = state.to_str().unwrap();
    scrub_ok(&dir, &dir.join("o1"), &["--state", st, "--dry-run"]);
    assert!(!state.exists(), "a dry run creates no state");
    scrub_ok(&dir, &dir.join("o2"), &["--state", st]);
    let before = std::fs::read(&state).unwrap();
    scrub_ok(&dir, &dir.join("o3"), &["--state", st, "--dry-run"]);
    assert_eq!(
        before,
        std::fs::read(&state).unwrap(),
        "the file is not touched"
    );
    let o = scrub(&dir, &dir.join("o4"), &["--dry-run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--dry-run"));
}

#[test]
fn a_state_in_use_stops_a_second_run_with_a_clear_message() {
    let dir = scratch("state_lock");
    small_batch(&dir);
    let state = dir.join("state.db");
    let st = state.to_str().unwrap();
    scrub_ok(&dir, &dir.join("o1"), &["--state", st]);
    let before = lines_of(&state);
    // another run holds the write lock
    let conn = rusqlite::Connection::open(&state).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let o = scrub(&dir, &dir.join("o2"), &["--state", st]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("in use by another claimscrub run"), "{err}");
    assert!(!dir.join("o2").join("clean.csv").exists());
    conn.execute_batch("ROLLBACK").unwrap();
    // a reader (`history`) does not stop a run
    let reader = rusqlite::Connection::open(&state).unwrap();
    let n: i64 = reader
        .query_row("SELECT sum(n) FROM blocks", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
    scrub_ok(&dir, &dir.join("o3"), &["--state", st]);
    assert_eq!(lines_of(&state), before);
}

#[test]
fn a_run_killed_at_any_point_leaves_the_state_and_the_outputs_as_they_were() {
    let dir = scratch("state_kill");
    let night1 = dir.join("night1");
    let night2 = dir.join("night2");
    for (d, seed) in [(&night1, 11), (&night2, 12)] {
        std::fs::create_dir_all(d).unwrap();
        generate(d, 60_000, seed);
    }
    let state = dir.join("state.db");
    let st = state.to_str().unwrap();
    let out = dir.join("out");
    scrub_ok(&night1, &out, &["--state", st]);
    let mut state_before = dump(&state);
    let mut outputs_before = outputs(&out);
    // how long a second night takes, to spread the kills over it
    let probe = dir.join("probe.db");
    std::fs::copy(&state, &probe).unwrap();
    let t = Instant::now();
    scrub_ok(
        &night2,
        &dir.join("probe"),
        &["--state", probe.to_str().unwrap()],
    );
    let full = t.elapsed();
    let points = 12;
    let mut killed = 0;
    for k in 0..points {
        let at = full.mul_f64(k as f64 / points as f64 + 0.02);
        let mut child = bin()
            .arg("scrub")
            .arg(&night2)
            .arg("--out")
            .arg(&out)
            .args(["--quiet", "--state", st])
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
        if finished {
            // it got to the end before the kill: it recorded night 2; start again from night 1
            std::fs::remove_file(&state).unwrap();
            let _ = std::fs::remove_dir_all(&out);
            scrub_ok(&night1, &out, &["--state", st]);
            (state_before, outputs_before) = (dump(&state), outputs(&out));
            continue;
        }
        if dump(&state) != state_before {
            // killed after the commit, while the process was ending: then the state is the whole
            // new night, never a part of it
            assert_eq!(
                lines_of(&state),
                lines_of(&probe),
                "killed after {at:?}: the state is neither the previous nor the new one"
            );
            std::fs::remove_file(&state).unwrap();
            let _ = std::fs::remove_dir_all(&out);
            scrub_ok(&night1, &out, &["--state", st]);
            (state_before, outputs_before) = (dump(&state), outputs(&out));
            continue;
        }
        // each output whole: the previous run's, or (killed after the outputs were moved into
        // place, before the state recorded them) the new one's
        let new = outputs(&dir.join("probe"));
        for (name, bytes) in outputs(&out) {
            let is = |set: &[(String, Vec<u8>)]| set.iter().any(|(n, b)| *n == name && *b == bytes);
            assert!(
                is(&outputs_before) || is(&new),
                "killed after {at:?}: {name} in --out is neither the previous nor the new one"
            );
        }
    }
    assert!(
        killed >= points / 2,
        "only {killed} of {points} runs were killed"
    );
    // the next run succeeds and records night 2
    scrub_ok(&night2, &out, &["--state", st]);
    assert_eq!(lines_of(&state), lines_of(&probe));
}

#[test]
fn history_lists_runs_and_a_patient_and_prune_keeps_later_lines() {
    let dir = scratch("state_history");
    small_batch(&dir);
    let state = dir.join("state.db");
    let st = state.to_str().unwrap();
    scrub_ok(&dir, &dir.join("o1"), &["--state", st]);
    let o = bin().args(["history", "--state", st]).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("1 run"), "{text}");
    assert!(
        text.contains("claims.csv, sessions.csv, prescriptions.csv"),
        "{text}"
    );
    let o = bin()
        .args(["history", "--state", st, "--patient", "P-77"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("RX-55 (prescription, 2025-02-15 to 2025-05-15): authorised 12, used before claimscrub 3, recorded visits 1 clean, 0 held"),
        "{text}"
    );
    let o = bin()
        .args(["history", "--state", st, "--patient", "P-404"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "an unknown patient is an error");
    // every line is dated 2025-03-10
    let count = || -> i64 {
        rusqlite::Connection::open(&state)
            .unwrap()
            .query_row("SELECT coalesce(sum(n), 0) FROM blocks", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(), 3);
    let prune = |day: &str| {
        let o = bin()
            .args(["history", "--state", st, "--prune", day])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    prune("2025-03-10");
    assert_eq!(count(), 3, "lines of the day itself are kept");
    prune("2025-03-11");
    assert_eq!(count(), 0);
    let o = bin()
        .args(["history", "--state", st, "--prune", "March"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_line_corrected_to_another_patient_is_judged_alike_in_any_number_of_parts() {
    let dir = scratch("state_moved");
    let (n1, n2) = (dir.join("n1"), dir.join("n2"));
    for d in [&n1, &n2] {
        std::fs::create_dir_all(d).unwrap();
    }
    let rx = "RX-1,P-1,1999999992,prescription,M54.50,2,2025-03-01,2025-05-31,,97124,,,0\n\
              RX-2,P-2,1999999992,prescription,M54.50,2,2025-03-01,2025-05-31,,97124,,,0\n";
    let session = |p: &str, d: &str| format!("S-{p}-{d},{p},1234567893,{d},97124,15,swedish,\n");
    // night 1: C-1 line 1 sent for P-1
    write_batch(
        &n1,
        "C-1,1,P-1,commercial,1234567893,,RX-1,2025-03-03,97124,,1,40.00,M54.50\n",
        &session("P-1", "2025-03-03"),
        rx,
    );
    // night 2: C-1 line 1 corrected to P-2; P-1 has two more visits (the 2nd is beyond RX-1's 2
    // when the old record still counts for P-1 this once)
    write_batch(
        &n2,
        "C-1,1,P-2,commercial,1234567893,,RX-2,2025-03-03,97124,,1,40.00,M54.50\n\
         C-2,1,P-1,commercial,1234567893,,RX-1,2025-03-10,97124,,1,40.00,M54.50\n\
         C-3,1,P-1,commercial,1234567893,,RX-1,2025-03-17,97124,,1,40.00,M54.50\n",
        &(session("P-2", "2025-03-03")
            + &session("P-1", "2025-03-10")
            + &session("P-1", "2025-03-17")),
        rx,
    );
    let mut seen = Vec::new();
    for parts in ["1", "3"] {
        let state = dir.join(format!("state{parts}.db"));
        let st = state.to_str().unwrap();
        scrub_ok(
            &n1,
            &dir.join(format!("a{parts}")),
            &["--state", st, "--parts", parts],
        );
        let out = dir.join(format!("b{parts}"));
        scrub_ok(&n2, &out, &["--state", st, "--parts", parts]);
        let found = project(
            &out.join("rejections.csv"),
            &["claim_id".into(), "rule".into(), "message".into()],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0][0], "C-3");
        assert!(
            found[0][2].contains(
                "visit 3 of 2 authorised by RX-1 (0 used before claimscrub, 1 in earlier runs)"
            ),
            "{found:?}"
        );
        let lines = lines_of(&state);
        assert_eq!(
            lines
                .lines()
                .filter(|l| l.starts_with("lines: C-1 | 1 |"))
                .count(),
            1
        );
        assert!(lines.contains("lines: C-1 | 1 | P-2 |"), "{lines}");
        seen.push(outputs(&out));
    }
    assert_eq!(seen[0], seen[1]);
}

/// Schema 1 (a row per line in `lines`), as the first release with `--state` wrote it.
const SCHEMA_1: &str = "
CREATE TABLE runs (run_id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, ended_at TEXT NOT NULL,
    inputs TEXT NOT NULL, lines INTEGER NOT NULL, clean INTEGER NOT NULL, held INTEGER NOT NULL,
    malformed INTEGER NOT NULL);
CREATE TABLE lines (claim_id TEXT NOT NULL, line_no INTEGER NOT NULL, patient_id TEXT NOT NULL,
    service_date TEXT NOT NULL, cpt TEXT NOT NULL, modifiers TEXT NOT NULL, units INTEGER NOT NULL,
    charge_micros INTEGER NOT NULL, payer_type TEXT NOT NULL, rendering_npi TEXT NOT NULL,
    rx_id TEXT NOT NULL, outcome TEXT NOT NULL CHECK (outcome IN ('clean', 'held')),
    run_id INTEGER NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (patient_id, claim_id, line_no)) WITHOUT ROWID;
CREATE UNIQUE INDEX lines_by_key ON lines (claim_id, line_no);
CREATE TABLE prescriptions (patient_id TEXT NOT NULL, rx_id TEXT NOT NULL,
    document_type TEXT NOT NULL, authorized_sessions INTEGER, sessions_used INTEGER NOT NULL,
    start_date TEXT NOT NULL, end_date TEXT NOT NULL, run_id INTEGER NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (patient_id, rx_id)) WITHOUT ROWID;
PRAGMA application_id = 1129075555;
PRAGMA user_version = 1;
";

#[test]
fn a_state_of_schema_1_is_upgraded_by_the_next_run_and_judges_the_same() {
    let dir = scratch("state_upgrade");
    let night1 = dir.join("night1");
    let night2 = dir.join("night2");
    for (d, seed) in [(&night1, 21), (&night2, 22)] {
        std::fs::create_dir_all(d).unwrap();
        generate(d, 5_000, seed);
    }
    let new = dir.join("new.db");
    scrub_ok(
        &night1,
        &dir.join("o1"),
        &["--state", new.to_str().unwrap()],
    );
    // the same night recorded in schema 1, row by row
    let old = dir.join("old.db");
    {
        let v2 = rusqlite::Connection::open(&new).unwrap();
        let v1 = rusqlite::Connection::open(&old).unwrap();
        v1.execute_batch(SCHEMA_1).unwrap();
        v1.execute_batch(&format!("ATTACH '{}' AS v2", new.display()))
            .unwrap();
        v1.execute_batch(
            "INSERT INTO runs SELECT * FROM v2.runs;
             INSERT INTO prescriptions SELECT * FROM v2.prescriptions;",
        )
        .unwrap();
        let lines = claimscrub::state::history::lines(&v2, None).unwrap();
        assert!(lines.len() > 1000);
        for l in lines {
            let c = l.cells();
            v1.execute(
                "INSERT INTO lines VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                rusqlite::params_from_iter(c.iter()),
            )
            .unwrap();
        }
    }
    let dry = scrub(
        &night2,
        &dir.join("dry"),
        &["--state", old.to_str().unwrap(), "--dry-run"],
    );
    assert_eq!(dry.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&dry.stderr).contains("schema version 1"));
    scrub_ok(&night2, &dir.join("a"), &["--state", new.to_str().unwrap()]);
    scrub_ok(&night2, &dir.join("b"), &["--state", old.to_str().unwrap()]);
    assert_eq!(outputs(&dir.join("a")), outputs(&dir.join("b")));
    assert_eq!(lines_of(&new), lines_of(&old));
    let version: i64 = rusqlite::Connection::open(&old)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
}
