//! Privacy (issue 14, HIPAA minimum necessary): patient identifiers appear in no warning, progress
//! or timing line, error message or closing table on stderr, nor in summary.json, the runs that
//! `history` lists; only in the outputs that are patient data (clean, held, rejections, malformed,
//! the 837P outputs). The batch carries distinctive patient ids, names and member ids, malformed
//! rows of every input, and every warning the reader gives; the 837P runs end inside a
//! subscriber's name segment, or read a file that is no interchange at all.

mod common;

use std::path::Path;

use common::*;

/// Every patient id, name and member id of the batches holds one of these.
const MARKS: [&str; 3] = ["ZQXPAT", "QUAGMIRE", "MBRZQX"];

fn assert_clean(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for m in MARKS {
        assert!(
            !text.contains(m),
            "{what} shows a patient identifier ({m}):\n{text}"
        );
    }
}

fn holds_patient_data(path: &Path) -> bool {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    MARKS.iter().any(|m| text.contains(m))
}

fn batch(dir: &Path) {
    let mut claims: Vec<u8> = format!("{CLAIMS_HEADER},patient_name,member_id\n").into_bytes();
    let mut row = |r: &str| claims.extend_from_slice(r.as_bytes());
    let pre = "workers_comp,1234567893,1999999992";
    // clean, held (3 units over 15 minutes), and malformed: a bad date, bad units, an unknown
    // payer_type, too few fields, a name that is not UTF-8, and a quote left open to the end
    row(&format!(
        "C-1,1,ZQXPAT-0001,{pre},RX-1,2025-03-10,97124,,1,40.00,M54.50,Zeb QUAGMIRE,MBRZQX-1\n"
    ));
    row(&format!(
        "C-2,1,ZQXPAT-0002,{pre},RX-2,2025-03-10,97124,,3,40.00,M54.50,Ann QUAGMIRE,MBRZQX-2\n"
    ));
    row(&format!(
        "C-3,1,ZQXPAT-0003,{pre},RX-3,2025-13-45,97124,,1,40.00,M54.50,Bo QUAGMIRE,MBRZQX-3\n"
    ));
    row(&format!(
        "C-4,1,ZQXPAT-0004,{pre},RX-4,2025-03-10,97124,,x,40.00,M54.50,Cy QUAGMIRE,MBRZQX-4\n"
    ));
    row("C-5,1,ZQXPAT-0005,aetna_ppo,1234567893,,,2025-03-10,97124,,1,40.00,M54.50,Di QUAGMIRE,MBRZQX-5\n");
    row("C-6,1,ZQXPAT-0006,workers_comp,1234567893\n");
    // é in Latin-1: a byte that is not UTF-8
    let latin1 = format!(
        "C-7,1,ZQXPAT-0007,{pre},RX-7,2025-03-10,97124,,1,40.00,M54.50,Ed# QUAGMIRE,MBRZQX-7\n"
    );
    claims.extend(latin1.bytes().map(|b| if b == b'#' { 0xE9 } else { b }));
    claims.extend_from_slice(b"C-8,1,ZQXPAT-0008,\"workers_comp,1234567893,QUAGMIRE\n");
    std::fs::write(dir.join("claims.csv"), claims).unwrap();

    // sessions: `presure` (looks like pressure), a negative minutes row, a bad date
    let mut sessions = SESSIONS_HEADER.replace("pressure", "presure") + "\n";
    for p in 1..=8 {
        sessions += &format!("S-{p},ZQXPAT-000{p},1234567893,2025-03-10,97124,15,swedish,\n");
    }
    sessions += "S-9,ZQXPAT-0009,1234567893,2025-03-10,97124,-5,swedish,\n";
    sessions += "S-10,ZQXPAT-0010,1234567893,03/45/2025,97124,15,swedish,\n";
    std::fs::write(dir.join("sessions.csv"), sessions).unwrap();

    // prescriptions: a second row of one patient and rx_id, a bad authorised count
    let mut rx = format!("{PRESCRIPTIONS_HEADER}\n");
    for p in 1..=8 {
        rx += &format!("RX-{p},ZQXPAT-000{p},1999999992,prescription,M54.50,12,2025-02-15,2025-05-15,2,97124;97140,,,0\n");
    }
    rx += "RX-1,ZQXPAT-0001,1999999992,prescription,M54.50,12,2025-02-15,2025-05-15,2,97124,,,0\n";
    rx +=
        "RX-9,ZQXPAT-0009,1999999992,prescription,M54.50,many,2025-02-15,2025-05-15,2,97124,,,0\n";
    std::fs::write(dir.join("prescriptions.csv"), rx).unwrap();
}

fn run(args: &[&str]) -> std::process::Output {
    bin()
        .args(args)
        .env("CLAIMSCRUB_TIMING", "1")
        .output()
        .unwrap()
}

#[test]
fn no_patient_identifier_on_stderr_or_in_the_summary() {
    let dir = scratch("privacy");
    batch(&dir);
    let out = dir.join("out");
    let state = dir.join("state.db");
    let (d, o, s) = (
        dir.to_str().unwrap(),
        out.to_str().unwrap(),
        state.to_str().unwrap(),
    );
    // twice with the state: the second night meets the first one's lines (duplicates, visits)
    for night in 1..=2 {
        let r = run(&["scrub", d, "--out", o, "--state", s, "--hold", "line"]);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(0), "{err}");
        // the test meets what it means to: warnings, timing lines, the closing table
        for want in [
            "looks like `pressure`",
            "payer_type `aetna_ppo`",
            "not UTF-8",
            "malformed",
        ] {
            assert!(
                err.contains(want),
                "night {night}: no `{want}` on stderr:\n{err}"
            );
        }
        assert_clean(&format!("night {night}: stderr"), &r.stderr);
        assert_clean(
            "summary.json",
            &std::fs::read(out.join("summary.json")).unwrap(),
        );
        assert!(r.stdout.is_empty());
    }
    // ... and the patient data is in the outputs that are patient data
    for name in ["clean.csv", "held.csv", "rejections.csv", "malformed.csv"] {
        assert!(holds_patient_data(&out.join(name)), "{name}");
    }
    let (_, malformed) = read_csv(&out.join("malformed.csv"));
    assert!(malformed.len() >= 8, "{malformed:?}");
    // the runs history lists
    let r = run(&["history", "--state", s]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_clean("history", &r.stdout);
    assert_clean("history's stderr", &r.stderr);
    let r = run(&["history", "--state", s, "--json"]);
    assert!(r.status.success());
    assert_clean("history --json", &r.stdout);
    // --quiet with --fail-on-hold: exit 1, still nothing
    let r = run(&["scrub", d, "--out", o, "--quiet", "--fail-on-hold"]);
    assert_eq!(r.status.code(), Some(1));
    assert_clean("--quiet stderr", &r.stderr);
}

#[test]
fn no_patient_identifier_in_837p_messages() {
    let dir = scratch("privacy-837");
    batch(&dir);
    let x12 = std::fs::read_to_string(repo("fixtures/x12/commercial.837"))
        .unwrap()
        .replace(
            "NM1*IL*1*SMITH*JANE****MI*JS00111223333",
            "NM1*IL*1*QUAGMIRE*ZQXPAT****MI*MBRZQX00111",
        )
        .replace("SMITH", "QUAGMIRE");
    assert!(x12.contains("QUAGMIRE*ZQXPAT"));
    let whole = dir.join("claims.837");
    std::fs::write(&whole, &x12).unwrap();
    let cut = dir.join("cut.837");
    let at = x12.find("QUAGMIRE*ZQXPAT").unwrap() + "QUAGMIRE*ZQXPAT".len();
    std::fs::write(&cut, &x12[..at]).unwrap();
    let not_x12 = dir.join("export.edi");
    std::fs::write(&not_x12, "ZQXPAT-0001,QUAGMIRE,MBRZQX-1\n").unwrap();
    let sessions = dir.join("sessions.csv");
    let rx = dir.join("prescriptions.csv");
    let scrub837 = |claims: &Path, out: &str| {
        run(&[
            "scrub",
            "--claims",
            claims.to_str().unwrap(),
            "--sessions",
            sessions.to_str().unwrap(),
            "--prescriptions",
            rx.to_str().unwrap(),
            "--out",
            dir.join(out).to_str().unwrap(),
        ])
    };
    let r = scrub837(&whole, "out");
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_clean("837P stderr", &r.stderr);
    assert_clean(
        "837P summary.json",
        &std::fs::read(dir.join("out/summary.json")).unwrap(),
    );
    assert!(
        holds_patient_data(&dir.join("out/held.csv"))
            || holds_patient_data(&dir.join("out/clean.csv"))
    );

    let r = scrub837(&cut, "cut-out");
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the file ends inside it") && err.contains("`NM1…`"),
        "{err}"
    );
    assert_clean("a cut 837P's error", &r.stderr);

    let r = scrub837(&not_x12, "edi-out");
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("expected an ISA segment"), "{err}");
    assert_clean("a file that is no 837P", &r.stderr);
}
