//! `scrub --defuse-formulas` (issue 14): cells of clean, held and malformed that a spreadsheet
//! would run as a formula get a leading `'`, as rejections always do; without the flag clean and
//! held keep every value as read, byte for byte.

mod common;

use std::path::Path;

use common::*;

/// A batch whose values would start formulas: an extra `note` column with `=`, `+`, `@`, `-`,
/// tab and carriage-return starts (some quoted, one with a comma), ids and modifiers that start
/// one, a negative number that does not, and a malformed row.
fn batch(dir: &Path) {
    let line = |claim: &str, no: u32, patient: &str, cpt: &str, units: &str, note: &str| {
        let rx = patient.trim_start_matches(['@', '=']).replace("P-", "RX-");
        format!("{claim},{no},{patient},workers_comp,1234567893,1999999992,{rx},2025-03-10,{cpt},,{units},40.00,M54.50,{note}\n")
    };
    let claims = [
        line(
            "C-1",
            1,
            "P-1",
            "97124",
            "1",
            "\"=HYPERLINK(\"\"http://x\"\")\"",
        ),
        line("C-1", 2, "P-1", "97140", "1", "\"\t=1+1\""),
        line("C-2", 1, "@P-2", "97124", "1", "-12"),
        // 3 units over 15 minutes documented: held
        line("C-2", 2, "@P-2", "97140", "3", "\"+1,2\""),
        line("=C-3", 1, "P-3", "97124", "1", "-cmd|' /C calc'!A0"),
        line("=C-4", 1, "P-4", "97124", "x", "=bad units"),
        line("C-5", 1, "P-5", "97124", "1", "\"\r=cr\""),
        line("C-6", 1, "P-6", "97124", "1", "plain"),
    ];
    std::fs::write(
        dir.join("claims.csv"),
        format!("{CLAIMS_HEADER},note\n{}", claims.concat()),
    )
    .unwrap();
    let patients = ["P-1", "@P-2", "P-3", "P-4", "P-5", "P-6"];
    let mut sessions = String::new();
    let mut rx = String::new();
    for p in patients {
        for cpt in ["97124", "97140"] {
            sessions += &format!("S-{p},{p},1234567893,2025-03-10,{cpt},15,swedish,\n");
        }
        let id = p.trim_start_matches('@').replace("P-", "RX-");
        rx += &format!(
            "{id},{p},1999999992,prescription,M54.50,12,2025-02-15,2025-05-15,2,97124;97140,,,0\n"
        );
    }
    std::fs::write(
        dir.join("sessions.csv"),
        format!("{SESSIONS_HEADER}\n{sessions}"),
    )
    .unwrap();
    std::fs::write(
        dir.join("prescriptions.csv"),
        format!("{PRESCRIPTIONS_HEADER}\n{rx}"),
    )
    .unwrap();
}

/// What a spreadsheet would run: the SPEC §8 starts, and tab or carriage return.
fn risky(v: &str) -> bool {
    let b = v.as_bytes();
    match b.first() {
        Some(b'=' | b'+' | b'@' | b'\t' | b'\r') => true,
        Some(b'-') => !b.get(1).is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

fn cells(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    r.records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect()
}

#[test]
fn off_by_default_clean_and_held_keep_the_values_as_read() {
    let dir = scratch("defuse-off");
    batch(&dir);
    let out = dir.join("out");
    scrub_ok(&dir, &out, &[]);
    let clean = std::fs::read_to_string(out.join("clean.csv")).unwrap();
    let input = std::fs::read_to_string(dir.join("claims.csv")).unwrap();
    // every clean row is an input row, value for value (quoting re-done only where CSV needs it,
    // SPEC §8), and byte for byte where the input needs no quotes
    let rows = cells(&dir.join("claims.csv"));
    let clean_rows = cells(&out.join("clean.csv"));
    for row in &clean_rows {
        assert!(rows.contains(row), "{row:?} is not as read");
    }
    for (line, row) in input.lines().zip(&rows).skip(1) {
        if !line.contains('"') && clean_rows.contains(row) {
            assert!(
                clean.contains(&format!("{line}\n")),
                "{line:?} is not as read"
            );
        }
    }
    assert!(
        clean.contains(",\"=HYPERLINK(\"\"http://x\"\")\"\n"),
        "{clean}"
    );
    assert!(clean.contains("=C-3,1,P-3,"), "{clean}");
    let held = cells(&out.join("held.csv"));
    assert!(held.iter().flatten().any(|c| risky(c)), "{held:?}");
    // rejections are always defused
    let rejections = cells(&out.join("rejections.csv"));
    assert!(
        !rejections.iter().flatten().any(|c| risky(c)),
        "{rejections:?}"
    );
    assert!(rejections.iter().any(|r| r[2] == "'@P-2"), "{rejections:?}");
}

#[test]
fn defused_clean_held_and_malformed() {
    let dir = scratch("defuse-on");
    batch(&dir);
    let (plain, out) = (dir.join("plain"), dir.join("out"));
    scrub_ok(&dir, &plain, &[]);
    scrub_ok(&dir, &out, &["--defuse-formulas"]);
    let mut defused = 0;
    for name in ["clean.csv", "held.csv", "malformed.csv"] {
        let (was, now) = (cells(&plain.join(name)), cells(&out.join(name)));
        assert_eq!(was.len(), now.len(), "{name}");
        for (w, n) in was.iter().zip(&now) {
            assert_eq!(w.len(), n.len(), "{name}");
            for (a, b) in w.iter().zip(n) {
                if risky(a) {
                    assert_eq!(*b, format!("'{a}"), "{name}");
                    defused += 1;
                } else {
                    assert_eq!(a, b, "{name}: a value that starts no formula was changed");
                }
                assert!(!risky(b), "{name}: {b:?}");
            }
        }
    }
    // the note's five formulas beside clean and held lines, the ids =C-3 and @P-2 (two lines),
    // and malformed.csv's raw record
    assert_eq!(defused, 9);
    assert!(cells(&out.join("held.csv")).iter().any(|r| r[0] == "C-2"));
    let clean = std::fs::read_to_string(out.join("clean.csv")).unwrap();
    assert!(
        clean.contains("C-6,1,P-6,"),
        "an untouched row is copied: {clean}"
    );
    // the rest of the run is the same
    for name in ["rejections.csv", "summary.json"] {
        let (a, b) = (
            std::fs::read_to_string(plain.join(name)).unwrap(),
            std::fs::read_to_string(out.join(name)).unwrap(),
        );
        if name == "summary.json" {
            let v = |s: &str| -> serde_json::Value {
                let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
                for k in ["started_at", "elapsed_seconds", "command_line"] {
                    v.as_object_mut().unwrap().remove(k);
                }
                v
            };
            assert_eq!(v(&a), v(&b));
        } else {
            assert_eq!(a, b);
        }
    }
}

#[test]
fn defused_parquet_text_columns() {
    let dir = scratch("defuse-parquet");
    batch(&dir);
    let out = dir.join("out");
    scrub_ok(&dir, &out, &["--defuse-formulas", "--format", "parquet"]);
    let mut seen = 0;
    for name in ["clean.parquet", "held.parquet", "malformed.parquet"] {
        let t = common::parquet::read(&out.join(name));
        for row in &t.rows {
            for (c, v) in row.iter().enumerate() {
                if let common::parquet::Value::Text(v) = v {
                    assert!(!risky(v), "{name}.{}: {v:?}", t.names[c]);
                    seen += v.starts_with('\'') as usize;
                }
            }
        }
    }
    assert_eq!(seen, 9);
}
