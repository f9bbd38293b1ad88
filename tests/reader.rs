//! Reading real exports (issue "Reader"): a stray quote must not swallow the rows after it, and
//! bytes that are not UTF-8 must not make outputs that are not UTF-8. Each test ran the real binary
//! and failed before the fix (but the one on notes, which guards what must keep working).

mod common;

use std::path::{Path, PathBuf};

use common::{read_csv, repo, scratch, scrub, scrub_ok, write_batch};

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// A copy of the demo batch in a scratch folder, with its claims file changed by `edit`.
fn demo_with(name: &str, edit: impl Fn(&mut Vec<String>)) -> PathBuf {
    let dir = scratch(name);
    for f in ["sessions.csv", "prescriptions.csv", "mue-example.csv"] {
        std::fs::copy(repo("tests/fixtures/export").join(f), dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(repo("tests/fixtures/export/claims.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    edit(&mut lines);
    std::fs::write(dir.join("claims.csv"), lines.join("\n") + "\n").unwrap();
    dir
}

/// The rows of an output CSV whose first column (claim_id) is not one of `except`.
fn rows_without(path: &Path, except: &[&str]) -> Vec<Vec<String>> {
    let (_, rows) = read_csv(path);
    rows.into_iter()
        .filter(|r| !except.contains(&r[0].as_str()))
        .collect()
}

/// `clean`, `held` and `rejections` of two runs agree but for the claims named.
fn same_apart_from(a: &Path, b: &Path, except: &[&str]) {
    for f in ["clean.csv", "held.csv", "rejections.csv"] {
        let (x, y) = (
            rows_without(&a.join(f), except),
            rows_without(&b.join(f), except),
        );
        assert!(x.len() > 10, "{f}: {} rows", x.len());
        assert_eq!(x, y, "{f}");
    }
}

fn same_files(a: &Path, b: &Path) {
    for f in ["rejections.csv", "clean.csv", "held.csv", "malformed.csv"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
}

fn mue(dir: &Path) -> String {
    dir.join("mue-example.csv").to_str().unwrap().to_string()
}

#[test]
fn a_stray_quote_is_one_malformed_row_and_every_other_row_is_scrubbed_as_before() {
    let base = scratch("rd-stray-base");
    let demo = repo("tests/fixtures/export");
    scrub_ok(&demo, &base, &["--mue", &mue(&demo)]);
    let input = demo_with("rd-stray-in", |lines| {
        lines[2] = lines[2].replacen(",97124,", ",\"97124,", 1);
    });
    let line3 = std::fs::read_to_string(input.join("claims.csv"))
        .unwrap()
        .lines()
        .nth(2)
        .unwrap()
        .to_string();
    assert!(line3.starts_with("C-1002,1,") && line3.contains(",\"97124,"));
    let non_blank = std::fs::read_to_string(input.join("claims.csv"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    let whole = scratch("rd-stray-out");
    scrub_ok(&input, &whole, &["--mue", &mue(&input)]);
    let parts = scratch("rd-stray-out-3");
    scrub_ok(&input, &parts, &["--mue", &mue(&input), "--parts", "3"]);
    same_files(&whole, &parts);

    // the rows a person sees, and the accounting over them
    let s = summary(&whole);
    assert_eq!(s["inputs"]["claims"]["rows_read"], non_blank - 1, "{s}");
    assert_eq!(s["accounting"]["balanced"], true);
    assert_eq!(s["accounting"]["malformed_claims_rows"], 4);
    assert_eq!(
        summary(&parts)["inputs"]["claims"]["rows_read"],
        non_blank - 1
    );

    // the line of the stray quote is one malformed row, naming the line and the column
    let (_, malformed) = read_csv(&whole.join("malformed.csv"));
    let row = malformed
        .iter()
        .find(|m| m[1] == "3")
        .expect("line 3 in malformed.csv");
    assert_eq!(row[0], "claims.csv");
    assert!(
        row[2].contains(
            "line 3: a quote opens in field `cpt` (column 9) and is not closed on this line"
        ),
        "{row:?}"
    );
    assert_eq!(row[3], line3);
    // the demo's own malformed rows are all still there
    let (_, before) = read_csv(&base.join("malformed.csv"));
    let others: Vec<_> = malformed.iter().filter(|m| m[1] != "3").cloned().collect();
    assert_eq!(others, before);

    // every other row is scrubbed as before; the claim of the stray row is held whole
    same_apart_from(&base, &whole, &["C-1002"]);
    let (_, held) = read_csv(&whole.join("held.csv"));
    let c1002: Vec<_> = held.iter().filter(|r| r[0] == "C-1002").collect();
    assert_eq!(c1002.len(), 1);
    assert_eq!(c1002[0][1], "2");
    assert_eq!(c1002[0].last().unwrap(), "MALFORMED_LINE");
}

#[test]
fn a_stray_quote_closed_by_a_later_quote_does_not_hide_the_rows_between() {
    // the stray quote of line 3 is closed by the first quote of line 200: 197 rows between
    let input = demo_with("rd-stray2-in", |lines| {
        lines[2] = lines[2].replacen(",97124,", ",\"97124,", 1);
        let last = lines[199].rfind(',').unwrap();
        let dx = lines[199][last + 1..].to_string();
        lines[199] = format!("{},\"{dx}\"", &lines[199][..last]);
    });
    let base = scratch("rd-stray2-base");
    let demo = repo("tests/fixtures/export");
    scrub_ok(&demo, &base, &["--mue", &mue(&demo)]);
    let out = scratch("rd-stray2-out");
    scrub_ok(&input, &out, &["--mue", &mue(&input)]);
    let parts = scratch("rd-stray2-out-3");
    scrub_ok(&input, &parts, &["--mue", &mue(&input), "--parts", "3"]);
    same_files(&out, &parts);
    assert_eq!(summary(&out)["inputs"]["claims"]["rows_read"], 384);
    same_apart_from(&base, &out, &["C-1002"]);
}

#[test]
fn a_stray_quote_in_a_file_read_in_chunks_and_in_parts() {
    // a generated batch large enough to be cut in chunks, with a notes column holding quoted notes
    // over two lines (with commas) and two stray quotes far apart
    let dir = scratch("rd-big");
    let o = common::bin()
        .args(["generate", "--claims", "20000", "--seed", "11", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.join("claims.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(text.len() > 1 << 20);
    let write = |name: &str, strays: &[usize]| -> PathBuf {
        let d = scratch(name);
        for f in ["sessions.csv", "prescriptions.csv", "mue.csv"] {
            std::fs::copy(dir.join(f), d.join(f)).unwrap();
        }
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate() {
            let l = if strays.contains(&i) {
                l.replacen(",97", ",\"97", 1)
            } else {
                l.to_string()
            };
            out.push_str(&l);
            out.push_str(match i {
                0 => ",notes\n",
                _ if i % 50 == 0 => ",\"seen, treated, and\nsent home, well, again\"\n",
                _ => ",\n",
            });
        }
        std::fs::write(d.join("claims.csv"), out).unwrap();
        d
    };
    let strays = [1_001, 15_001];
    assert!(strays.iter().all(|&i| lines[i].contains(",97")));
    let stray_claims: Vec<&str> = strays
        .iter()
        .map(|&i| lines[i].split(',').next().unwrap())
        .collect();
    let base_in = write("rd-big-base-in", &[]);
    let input = write("rd-big-in", &strays);
    let args = |d: &Path| vec!["--mue".to_string(), d.join("mue.csv").display().to_string()];
    let base = scratch("rd-big-base");
    let a = args(&base_in);
    scrub_ok(&base_in, &base, &[&a[0], &a[1]]);
    let whole = scratch("rd-big-out");
    let a = args(&input);
    scrub_ok(&input, &whole, &[&a[0], &a[1]]);
    let parts = scratch("rd-big-out-3");
    scrub_ok(&input, &parts, &[&a[0], &a[1], "--parts", "3"]);
    same_files(&whole, &parts);
    let rows = (lines.len() - 1) as u64;
    assert_eq!(summary(&base)["inputs"]["claims"]["rows_read"], rows);
    assert_eq!(summary(&whole)["inputs"]["claims"]["rows_read"], rows);
    let (_, malformed) = read_csv(&whole.join("malformed.csv"));
    let lines_of: Vec<String> = malformed.iter().map(|m| m[1].clone()).collect();
    assert_eq!(
        lines_of,
        strays
            .iter()
            .map(|&i| {
                // physical line: one more per two-line note above it
                (i + 1 + (1..i).filter(|j| j % 50 == 0).count()).to_string()
            })
            .collect::<Vec<_>>()
    );
    same_apart_from(&base, &whole, &stray_claims);
}

#[test]
fn notes_with_line_breaks_in_an_extra_column_are_still_read() {
    let dir = scratch("rd-notes-in");
    write_batch(
        &dir,
        "",
        "S-1,P-1,1234567893,2025-03-10,97140,25,myofascial,\n",
        "RX-1,P-1,1999999992,prescription,M54.50,12,2025-02-15,2025-05-15,,,,,0\n",
    );
    // a spreadsheet's export: the note of line 1 holds line breaks, one line with many commas
    let claims = format!(
        "{},notes\n\
         C-1,1,P-1,commercial,1234567893,,RX-1,2025-03-10,97140,,2,90.00,M54.50,\"first visit\nneck, back, hips, knees, a, b, c, d, e, f, g, h, i\nend\"\n\
         C-2,1,P-1,commercial,1234567893,,RX-1,2025-03-10,97140,,2,90.00,M54.50,plain\n",
        common::CLAIMS_HEADER
    );
    std::fs::write(dir.join("claims.csv"), claims).unwrap();
    let out = scratch("rd-notes-out");
    scrub_ok(&dir, &out, &[]);
    assert_eq!(summary(&out)["inputs"]["claims"]["rows_read"], 2);
    let (_, malformed) = read_csv(&out.join("malformed.csv"));
    assert!(malformed.is_empty(), "{malformed:?}");
    let (header, clean) = read_csv(&out.join("clean.csv"));
    let (_, held) = read_csv(&out.join("held.csv"));
    let rows: Vec<_> = clean.iter().chain(&held).collect();
    let notes = header.iter().position(|h| h == "notes").unwrap();
    assert!(rows.iter().any(
        |r| r[notes] == "first visit\nneck, back, hips, knees, a, b, c, d, e, f, g, h, i\nend"
    ));
}

/// The demo with a `notes` column; `patient` and `note` are the raw bytes of line 3's patient id
/// and note.
fn latin1_demo(name: &str, patient: &[u8], note: &[u8]) -> PathBuf {
    let dir = demo_with(name, |_| {});
    let text = std::fs::read(dir.join("claims.csv")).unwrap();
    let mut out = Vec::new();
    for (i, l) in text.split(|&b| b == b'\n').enumerate() {
        if l.is_empty() {
            continue;
        }
        if i == 2 {
            let s = String::from_utf8(l.to_vec()).unwrap();
            let (head, tail) = s.split_once(",P-101,").unwrap();
            out.extend_from_slice(head.as_bytes());
            out.push(b',');
            out.extend_from_slice(patient);
            out.push(b',');
            out.extend_from_slice(tail.as_bytes());
            out.push(b',');
            out.extend_from_slice(note);
        } else {
            out.extend_from_slice(l);
            out.extend_from_slice(if i == 0 { b",notes" } else { b"," });
        }
        out.push(b'\n');
    }
    std::fs::write(dir.join("claims.csv"), out).unwrap();
    dir
}

fn utf8_outputs(out: &Path) {
    for f in [
        "clean.csv",
        "held.csv",
        "rejections.csv",
        "malformed.csv",
        "summary.json",
    ] {
        let bytes = std::fs::read(out.join(f)).unwrap();
        assert!(std::str::from_utf8(&bytes).is_ok(), "{f} is not UTF-8");
    }
}

#[test]
fn latin1_bytes_are_escaped_where_they_are_and_every_output_is_utf8() {
    // in an extra column only: the line is scrubbed, and written with the bytes as \xNN
    let input = latin1_demo("rd-l1-note-in", b"P-101", b"Jos\xe9 \x93ok\x94");
    let out = scratch("rd-l1-note-out");
    scrub_ok(&input, &out, &[]);
    utf8_outputs(&out);
    let (header, clean) = read_csv(&out.join("clean.csv"));
    let notes = header.iter().position(|h| h == "notes").unwrap();
    let row = clean
        .iter()
        .find(|r| r[0] == "C-1002" && r[1] == "1")
        .expect("C-1002 line 1 clean");
    assert_eq!(row[notes], "Jos\\xE9 \\x93ok\\x94");
    let s = summary(&out);
    let warnings = s["warnings"].to_string();
    assert!(
        warnings.contains("claims.csv: 1 line holds bytes that are not UTF-8 (the first on line 3"),
        "{warnings}"
    );
    assert!(
        warnings.contains("--encoding latin1 or cp1252"),
        "{warnings}"
    );
    assert_eq!(s["accounting"]["malformed_claims_rows"], 3);

    // in patient_id: the row is malformed, raw shows the byte as read, the error names the column
    let input = latin1_demo("rd-l1-id-in", b"P-10\xe9", b"ok");
    let out = scratch("rd-l1-id-out");
    scrub_ok(&input, &out, &["--parts", "3"]);
    utf8_outputs(&out);
    let (_, malformed) = read_csv(&out.join("malformed.csv"));
    let row = malformed.iter().find(|m| m[1] == "3").expect("line 3");
    assert_eq!(row[2], "patient_id: not valid UTF-8 (\\xE9)");
    assert!(
        row[3].starts_with("C-1002,1,P-10\\xE9,commercial,") && row[3].ends_with(",ok"),
        "{row:?}"
    );
    let (_, held) = read_csv(&out.join("held.csv"));
    assert!(held
        .iter()
        .any(|r| r[0] == "C-1002" && r.last().unwrap() == "MALFORMED_LINE"));
}

#[test]
fn encoding_latin1_and_cp1252_read_such_exports_on_purpose() {
    let input = latin1_demo("rd-cp-in", b"P-101", b"Jos\xe9 \x93ok\x94 \x80 5 \x96 x");
    for (encoding, note) in [
        ("cp1252", "José “ok” € 5 – x"),
        ("latin1", "José \u{93}ok\u{94} \u{80} 5 \u{96} x"),
    ] {
        let out = scratch(&format!("rd-cp-out-{encoding}"));
        scrub_ok(&input, &out, &["--encoding", encoding]);
        utf8_outputs(&out);
        let (header, clean) = read_csv(&out.join("clean.csv"));
        let notes = header.iter().position(|h| h == "notes").unwrap();
        let row = clean
            .iter()
            .find(|r| r[0] == "C-1002" && r[1] == "1")
            .expect("C-1002 line 1 clean");
        assert_eq!(row[notes], note, "{encoding}");
        assert_eq!(summary(&out)["warnings"].as_array().unwrap().len(), 0);
    }
    // a name in a column claimscrub reads: José is a patient like any other
    let input = latin1_demo("rd-cp-id-in", b"P-Jos\xe9", b"ok");
    let out = scratch("rd-cp-id-out");
    scrub_ok(&input, &out, &["--encoding", "cp1252", "--parts", "2"]);
    let (_, rejections) = read_csv(&out.join("rejections.csv"));
    assert!(
        rejections
            .iter()
            .any(|r| r[2] == "P-José" && r[6] == "RX_MISSING"),
        "{rejections:?}"
    );
    // an unknown encoding is a usage error
    let o = scrub(&input, &scratch("rd-cp-bad"), &["--encoding", "ebcdic"]);
    assert_eq!(o.status.code(), Some(2));
}
