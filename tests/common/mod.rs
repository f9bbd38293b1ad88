//! Helpers shared by the integration tests: run the real binary, read its CSV outputs.

#![allow(dead_code)]

pub mod parquet;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_claimscrub"))
}

/// A fresh, empty folder under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn scrub(input: &Path, out: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("scrub")
        .arg(input)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .output()
        .expect("run claimscrub")
}

/// `scrub` that must succeed: exit 0, else the test fails showing stderr.
pub fn scrub_ok(input: &Path, out: &Path, extra: &[&str]) {
    let o = scrub(input, out, extra);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

pub const CLAIMS_HEADER: &str = "claim_id,line_no,patient_id,payer_type,rendering_npi,referring_npi,rx_id,service_date,cpt,modifiers,units,charge,diagnosis_codes";
pub const SESSIONS_HEADER: &str =
    "session_id,patient_id,therapist_npi,service_date,cpt,minutes,modality,pressure";
pub const PRESCRIPTIONS_HEADER: &str = "rx_id,patient_id,prescriber_npi,document_type,diagnosis_codes,authorized_sessions,start_date,end_date,frequency_per_week,allowed_cpt,required_modality,max_pressure,sessions_used";

/// The three inputs in `dir`: the SPEC §2 header of each file, then the rows given (one per line).
pub fn write_batch(dir: &Path, claims: &str, sessions: &str, prescriptions: &str) {
    for (name, header, rows) in [
        ("claims.csv", CLAIMS_HEADER, claims),
        ("sessions.csv", SESSIONS_HEADER, sessions),
        ("prescriptions.csv", PRESCRIPTIONS_HEADER, prescriptions),
    ] {
        std::fs::write(dir.join(name), format!("{header}\n{rows}")).unwrap();
    }
}

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A CSV file as a header and rows of strings.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// The named columns of a CSV file, row by row.
pub fn project(path: &Path, columns: &[String]) -> Vec<Vec<String>> {
    let (header, rows) = read_csv(path);
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(c))
                .unwrap_or_else(|| panic!("{}: no column {c}", path.display()))
        })
        .collect();
    rows.iter()
        .map(|r| idx.iter().map(|&i| r[i].clone()).collect())
        .collect()
}

/// A small batch written into `dir`: the SPEC example (clean) and a patient without documents (held).
pub fn small_batch(dir: &Path) {
    write_batch(
        dir,
        "C-1001,1,P-77,workers_comp,1234567893,1999999992,RX-55,2025-03-10,97140,,2,90.00,S13.4XXA\n\
         C-1001,2,P-77,workers_comp,1234567893,1999999992,RX-55,2025-03-10,97124,,1,40.00,S13.4XXA;M54.2\n\
         C-1002,1,P-78,commercial,1234567893,,,2025-03-10,97124,,1,40.00,M54.50\n",
        "S-9001,P-77,1234567893,2025-03-10,97140,25,myofascial,\n\
         S-9001,P-77,1234567893,2025-03-10,97124,15,swedish,light\n\
         S-9002,P-78,1234567893,2025-03-10,97124,15,swedish,\n",
        "RX-55,P-77,1999999992,prescription,S13.4XXA;M54.2,12,2025-02-15,2025-05-15,2,97124;97140,,,3\n",
    );
}

/// Whether an output's cell agrees with the expected one: the same text, except in a `message`
/// column, whose expected cell holds one fragment, or several separated by `|`, that must all
/// occur in the message (empty: not checked).
pub fn cell_agrees(column: &str, want: &str, got: &str) -> bool {
    if column.trim().eq_ignore_ascii_case("message") {
        want.split('|').all(|fragment| got.contains(fragment))
    } else {
        want == got
    }
}

/// The first place where `got` does not agree with `want`, in words (case folders and nights).
pub fn first_difference(
    columns: &[String],
    want: &[Vec<String>],
    got: &[Vec<String>],
) -> Option<String> {
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        for ((column, w), g) in columns.iter().zip(w).zip(g) {
            if !cell_agrees(column, w, g) {
                let wanted = if column.trim().eq_ignore_ascii_case("message") {
                    format!("a message containing {w:?}")
                } else {
                    format!("{w:?}")
                };
                return Some(format!(
                    "row {}, column {column}: expected {wanted}, got {g:?}",
                    i + 1
                ));
            }
        }
    }
    (want.len() != got.len()).then(|| format!("expected {} rows, got {}", want.len(), got.len()))
}

/// summary.json of `dir` without what tells the run rather than the batch (its start, command
/// line and elapsed time, each required to be there).
pub fn batch_summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let m = v.as_object_mut().unwrap();
    for key in ["started_at", "command_line", "elapsed_seconds"] {
        assert!(m.remove(key).is_some(), "summary without {key}");
    }
    v
}

/// Where two files' bytes part, in words: the first differing line of each and their line counts.
pub fn line_difference(a: &[u8], b: &[u8]) -> Option<String> {
    if a == b {
        return None;
    }
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let at = a
        .lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or(a.lines().count().min(b.lines().count()));
    Some(format!(
        "line {}:\n  {:?}\n  {:?}\n({} and {} lines)",
        at + 1,
        a.lines().nth(at),
        b.lines().nth(at),
        a.lines().count(),
        b.lines().count()
    ))
}
