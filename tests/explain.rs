//! `claimscrub explain OUT_DIR CLAIM_ID [--json]` on the demo's outputs: held, clean, warning-only,
//! malformed and unknown claims, the JSON against rejections.csv, and folders without outputs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use common::{bin, read_csv, repo, scratch, scrub_ok, small_batch};

/// The demo scrubbed once, as in fixtures/demo/README.md.
fn demo() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = scratch("explain-demo");
        let mue = repo("fixtures/demo/mue-example.csv");
        let ncci = repo("fixtures/ncci/ptp-physical-medicine-excerpt.txt");
        scrub_ok(
            &repo("fixtures/demo"),
            &out,
            &[
                "--mue",
                mue.to_str().unwrap(),
                "--ncci",
                ncci.to_str().unwrap(),
            ],
        );
        out
    })
}

fn explain(dir: &Path, claim: &str, json: bool) -> Output {
    let mut c = bin();
    c.arg("explain").arg(dir).arg(claim);
    if json {
        c.arg("--json");
    }
    c.output().expect("run claimscrub")
}

fn ok_text(dir: &Path, claim: &str) -> String {
    let o = explain(dir, claim, false);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn ok_json(dir: &Path, claim: &str) -> serde_json::Value {
    let o = explain(dir, claim, true);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("--json prints JSON")
}

fn fails(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(o.stdout.is_empty());
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn a_held_claim_names_the_finding_that_held_it_and_the_line_held_with_it() {
    let t = ok_text(demo(), "C-1198");
    assert!(t.starts_with("claim C-1198: held (--hold claim"), "{t}");
    assert!(
        t.contains("why: reject findings: line 2: NCCI_PTP_CONFLICT"),
        "{t}"
    );
    // line 1 has no finding of its own: held because line 2 was
    assert!(
        t.contains("line 1 (held.csv line 38): held: the claim is held whole (--hold claim) for NCCI_PTP_CONFLICT on another line"),
        "{t}"
    );
    assert!(
        t.contains("line 2 (held.csv line 39): held: its own reject finding(s) NCCI_PTP_CONFLICT"),
        "{t}"
    );
    assert!(
        t.contains("CARC 236: This procedure or procedure/modifier combination is not compatible"),
        "{t}"
    );
    assert!(
        t.contains("RARC M80: Not covered when performed during the same session"),
        "{t}"
    );
    // the lines table is aligned: every row's `cpt` starts in the header's column
    let table: Vec<&str> = t
        .lines()
        .skip_while(|l| *l != "lines")
        .skip(1)
        .take(3)
        .collect();
    let col = table[0].find("cpt").unwrap();
    assert_eq!(&table[1][col..col + 5], "97140");
    assert_eq!(&table[2][col..col + 5], "97124");
}

#[test]
fn a_clean_claim_says_there_is_nothing_against_it() {
    let t = ok_text(demo(), "C-1001");
    assert!(t.starts_with("claim C-1001: clean (--hold claim"), "{t}");
    assert!(t.contains("why: no reject finding and no warning"), "{t}");
    assert!(
        t.contains("line 1 (clean.csv line 2): clean: no findings"),
        "{t}"
    );
    assert!(!t.contains("  reject  ") && !t.contains("held"), "{t}");
    assert!(!t.contains("malformed"), "{t}");
}

#[test]
fn a_claim_with_warnings_only_is_clean_and_lists_them() {
    let t = ok_text(demo(), "C-1208");
    assert!(t.starts_with("claim C-1208: clean"), "{t}");
    assert!(
        t.contains("why: no reject finding; 2 warning(s), which do not hold a claim"),
        "{t}"
    );
    assert!(t.contains("warn    UNITS_UNDER_DOCUMENTED: the visit's 45 timed minutes support 3 units, 2 billed (CMS 8-minute rule)"), "{t}");
    assert!(!t.contains("CARC"), "{t}");
}

#[test]
fn malformed_rows_of_the_claim_are_shown() {
    // one readable line held with the malformed one
    let t = ok_text(demo(), "C-1146");
    assert!(
        t.contains("why: a malformed row holds the claim whole (claims.csv line 210)"),
        "{t}"
    );
    assert!(
        t.contains("held: a row of the claim is malformed (claims.csv line 210)"),
        "{t}"
    );
    assert!(
        t.contains("claims.csv line 210: charge: `$60` is not a plain decimal amount"),
        "{t}"
    );
    // no readable row: only in malformed.csv, found by the claim_id column's position
    let t = ok_text(demo(), "C-1220");
    assert!(t.starts_with("claim C-1220: held"), "{t}");
    assert!(
        t.contains("claims.csv line 328: expected 13 fields, found 5"),
        "{t}"
    );
    assert!(!t.contains("\nlines\n"), "{t}");
}

#[test]
fn json_findings_are_the_rows_of_rejections() {
    let (header, rows) = read_csv(&demo().join("rejections.csv"));
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    for claim in ["C-1198", "C-1013", "C-1208", "C-1001"] {
        let e = ok_json(demo(), claim);
        assert_eq!(e["claim_id"], claim);
        assert_eq!(e["hold_mode"], "claim");
        let mut got = Vec::new();
        for l in e["lines"].as_array().unwrap() {
            assert_eq!(l["columns"]["claim_id"], claim);
            for f in l["findings"].as_array().unwrap() {
                assert_eq!(f["line_no"], l["line_no"]);
                got.push(f.clone());
            }
        }
        let want: Vec<&Vec<String>> = rows
            .iter()
            .filter(|r| r[col("claim_id")] == claim)
            .collect();
        assert_eq!(got.len(), want.len(), "{claim}: {e}");
        for (g, w) in got.iter().zip(&want) {
            for n in [
                "line_no",
                "rule",
                "severity",
                "carc",
                "rarc",
                "carc_text",
                "rarc_text",
                "message",
                "charge",
            ] {
                assert_eq!(g[n], w[col(n)].as_str(), "{claim} {n}");
            }
        }
        let outcome = if want.iter().any(|w| w[col("severity")] == "reject") {
            "held"
        } else {
            "clean"
        };
        assert_eq!(e["outcome"], outcome, "{claim}");
    }
}

#[test]
fn an_unknown_claim_is_named_with_the_folder() {
    let err = fails(&explain(demo(), "C-9999", false));
    assert!(err.contains("claim C-9999: not in "), "{err}");
    assert!(err.contains(&demo().display().to_string()), "{err}");
    fails(&explain(demo(), "C-9999", true));
}

#[test]
fn a_folder_without_outputs_names_the_missing_file() {
    let dir = scratch("explain-empty");
    let err = fails(&explain(&dir, "C-1001", false));
    assert!(err.contains("summary.json is missing"), "{err}");
    std::fs::copy(demo().join("summary.json"), dir.join("summary.json")).unwrap();
    let err = fails(&explain(&dir, "C-1001", false));
    assert!(err.contains("rejections.csv is missing"), "{err}");
}

#[test]
fn parquet_outputs_are_refused_clearly() {
    let input = scratch("explain-pq-in");
    small_batch(&input);
    let out = scratch("explain-pq-out");
    scrub_ok(&input, &out, &["--format", "parquet"]);
    let err = fails(&explain(&out, "C-1001", false));
    assert!(
        err.contains("rejections.parquet is a Parquet output; explain reads CSV outputs only"),
        "{err}"
    );
}

#[test]
fn with_hold_line_a_claim_is_partly_held() {
    let input = scratch("explain-line-in");
    small_batch(&input);
    // C-1001 line 2 gets a malformed diagnosis code; line 1 stays clean
    let claims = std::fs::read_to_string(input.join("claims.csv"))
        .unwrap()
        .replace("S13.4XXA;M54.2", "S13.4XXA;12345");
    std::fs::write(input.join("claims.csv"), claims).unwrap();
    let out = scratch("explain-line-out");
    scrub_ok(&input, &out, &["--hold", "line"]);
    let t = ok_text(&out, "C-1001");
    assert!(
        t.starts_with("claim C-1001: partly held (--hold line"),
        "{t}"
    );
    assert!(t.contains("--hold line: only those lines are held"), "{t}");
    assert!(t.contains("line 1 (clean.csv line 2): clean"), "{t}");
    assert!(
        t.contains("line 2 (held.csv line 2): held: its own reject finding(s) DX_INVALID_FORMAT"),
        "{t}"
    );
}

#[test]
fn terminal_escapes_from_the_input_are_shown_as_text() {
    let input = scratch("explain-esc-in");
    small_batch(&input);
    let claims = std::fs::read_to_string(input.join("claims.csv"))
        .unwrap()
        .replace("P-78,commercial", "P-78\u{1b}[2J\u{202e},commercial");
    std::fs::write(input.join("claims.csv"), claims).unwrap();
    let out = scratch("explain-esc-out");
    scrub_ok(&input, &out, &[]);
    let t = ok_text(&out, "C-1002");
    assert!(!t.contains('\u{1b}') && !t.contains('\u{202e}'), "{t:?}");
    assert!(t.contains("P-78\\u{1b}[2J\\u{202e}"), "{t}");
    // JSON keeps the value, escaped the JSON way
    let e = ok_json(&out, "C-1002");
    assert_eq!(
        e["lines"][0]["columns"]["patient_id"],
        "P-78\u{1b}[2J\u{202e}"
    );
}

#[test]
fn damaged_outputs_are_named_with_file_line_and_column() {
    let dir = scratch("explain-damaged");
    for name in ["summary.json", "clean.csv", "held.csv", "malformed.csv"] {
        std::fs::copy(demo().join(name), dir.join(name)).unwrap();
    }
    // a rejections.csv without the CARC texts: not one claimscrub wrote
    std::fs::write(
        dir.join("rejections.csv"),
        "claim_id,line_no,rule,severity,carc,rarc,message,charge\n",
    )
    .unwrap();
    let err = fails(&explain(&dir, "C-1001", false));
    assert!(
        err.contains("rejections.csv: line 1: no `carc_text` column"),
        "{err}"
    );
    // a row with a field too few
    let good = std::fs::read_to_string(demo().join("rejections.csv")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines[3] = "C-1013,2,P-110";
    std::fs::write(dir.join("rejections.csv"), lines.join("\n")).unwrap();
    let err = fails(&explain(&dir, "C-1001", false));
    assert!(err.contains("rejections.csv: line 4: "), "{err}");
    // a summary that is not JSON
    std::fs::copy(demo().join("rejections.csv"), dir.join("rejections.csv")).unwrap();
    std::fs::write(dir.join("summary.json"), "{\n  \"hold\": claim\n}").unwrap();
    let err = fails(&explain(&dir, "C-1001", false));
    assert!(err.contains("summary.json: line 2 column"), "{err}");
    // an unknown claim id holding a terminal escape is named without it
    std::fs::copy(demo().join("summary.json"), dir.join("summary.json")).unwrap();
    let err = fails(&explain(&dir, "C-\u{1b}[2J", false));
    assert!(err.contains("claim C-\\u{1b}[2J: not in"), "{err:?}");
}

#[test]
fn a_reader_that_has_gone_is_not_a_panic() {
    // stdout a pipe whose reading end is already closed: the write fails with EPIPE at once
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = bin()
        .arg("explain")
        .arg(demo())
        .arg("C-1198")
        .stdout(writer)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    // ended quietly by SIGPIPE, as every printing command is (tests/broken_pipe.rs)
    use std::os::unix::process::ExitStatusExt;
    assert!(
        o.status.signal() == Some(13) || o.status.code() == Some(0),
        "{:?} {err}",
        o.status
    );
    assert!(!err.contains("panicked"), "{err}");
}
