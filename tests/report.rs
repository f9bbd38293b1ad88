//! `claimscrub report OUT_DIR [--html FILE]` and `scrub --report` (SPEC §12) on the demo and on
//! crafted batches: every number of summary.json on the page equals the summary's, the sections
//! and their evidence, escaping, missing optional columns, and outputs that cannot be reported.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use common::{bin, read_csv, repo, scratch, scrub, scrub_ok, small_batch, write_batch};
use serde_json::Value;

fn demo_args() -> Vec<String> {
    vec![
        "--mue".into(),
        repo("fixtures/demo/mue-example.csv").display().to_string(),
        "--ncci".into(),
        repo("fixtures/ncci/ptp-physical-medicine-excerpt.txt")
            .display()
            .to_string(),
    ]
}

/// The demo scrubbed once, as README's first command, and its report.
fn demo() -> &'static (PathBuf, String, String) {
    static OUT: OnceLock<(PathBuf, String, String)> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = scratch("report-demo");
        let args = demo_args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        scrub_ok(&repo("fixtures/demo"), &out, &args);
        let o = report(&out, &[]);
        let stdout = ok(&o);
        let page = std::fs::read_to_string(out.join("report.html")).unwrap();
        (out, page, stdout)
    })
}

fn report(dir: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("report")
        .arg(dir)
        .args(extra)
        .output()
        .expect("run claimscrub")
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn fails(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(o.stdout.is_empty(), "{o:?}");
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Every `data-s="POINTER"` of the page with the text of its element.
fn marked(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(i) = rest.find("data-s=\"") {
        rest = &rest[i + 8..];
        let end = rest.find('"').unwrap();
        let ptr = unescape(&rest[..end]);
        let open = rest.find('>').unwrap();
        let text_end = rest[open..].find('<').unwrap() + open;
        out.push((ptr, rest[open + 1..text_end].to_string()));
        rest = &rest[text_end..];
    }
    out
}

fn number(text: &str) -> f64 {
    text.replace(',', "")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a number"))
}

/// The text of the page without its tags, entities decoded, whitespace folded.
fn words(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    // tags end words: `<code>x</code>,` reads `x,` (and `x.`)
    unescape(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" ,", ",")
        .replace(" .", ".")
}

/// The part of the page of one section.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = page[start..].find("</section>").unwrap() + start;
    &page[start..end]
}

#[test]
fn every_number_of_the_summary_on_the_page_is_the_summary_s() {
    let (out, page, _) = demo();
    let s = summary(out);
    let marks = marked(page);
    assert!(marks.len() > 150, "{} marked numbers", marks.len());
    for (ptr, text) in &marks {
        let want = s
            .pointer(ptr)
            .unwrap_or_else(|| panic!("{ptr}: not in summary.json"));
        let want: f64 = want.to_string().parse().unwrap();
        assert!(
            (number(text) - want).abs() < 1e-9,
            "{ptr}: the page says {text}, summary.json {want}"
        );
    }
    // and the page shows each of the key numbers
    let shown: BTreeSet<&str> = marks.iter().map(|(p, _)| p.as_str()).collect();
    let mut need: Vec<String> = [
        "/claims/total",
        "/claims/clean",
        "/claims/held",
        "/claims/clean_claim_rate",
        "/lines/clean",
        "/lines/held",
        "/lines/clean_charges",
        "/lines/held_charges",
        "/accounting/claims_rows_read",
        "/accounting/malformed_claims_rows",
    ]
    .map(String::from)
    .to_vec();
    for (rule, v) in s["rules"].as_object().unwrap() {
        if v["findings"].as_u64().unwrap() > 0 {
            for f in ["findings", "lines", "claims", "charges"] {
                need.push(format!("/rules/{rule}/{f}"));
            }
        }
    }
    let payers = s["payer_types"].as_object().unwrap();
    assert_eq!(payers.len(), 5);
    for payer in payers.keys() {
        for f in [
            "clean_lines",
            "held_lines",
            "clean_claims",
            "held_claims",
            "clean_charges",
            "held_charges",
            "findings/findings",
        ] {
            need.push(format!("/payer_types/{payer}/{f}"));
        }
    }
    for n in &need {
        assert!(shown.contains(n.as_str()), "the page does not show {n}");
    }
    // the demo's own figures (fixtures/demo/README.md)
    assert_eq!(s["claims"]["total"], 245);
    assert!(page.contains("<span data-s=\"/claims/total\">245</span>"));
}

#[test]
fn the_page_is_self_contained_and_has_every_section() {
    let (_, page, _) = demo();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    ));
    for banned in [
        "<script", "<link", "<img", "<iframe", "@import", "url(", "http://", "https://",
    ] {
        assert!(!page.contains(banned), "the page holds {banned}");
    }
    for id in [
        "headline",
        "fix-first",
        "carc",
        "payers",
        "therapists",
        "prescribers",
        "weeks",
        "prescriptions",
        "diagnoses",
        "ncci",
        "kx",
        "warnings",
        "not-checked",
    ] {
        section(page, id);
    }
    for chart in [
        "gauge",
        "chart-rules",
        "chart-carc",
        "chart-payers",
        "chart-therapists",
        "chart-prescribers",
        "chart-weeks",
    ] {
        assert!(
            page.contains(&format!("<svg class=\"chart\" id=\"{chart}\"")),
            "{chart}"
        );
        assert!(
            page.contains(&format!("<title id=\"{chart}-t\">")),
            "{chart}"
        );
    }
    // aggregated: far smaller than the outputs would be as rows
    assert!(page.len() < 150_000, "{} bytes", page.len());
}

#[test]
fn the_headline_and_the_text_summary() {
    let (out, page, stdout) = demo();
    let s = summary(out);
    let rate = s["claims"]["clean_claim_rate"].to_string();
    let head = words(section(page, "headline"));
    assert!(
        head.contains(&format!("{rate} % of claims are clean")),
        "{head}"
    );
    assert!(
        head.contains("below the 97 % clearinghouses count as good"),
        "{head}"
    );
    assert!(head.contains("Fix these first"), "{head}");
    assert!(
        stdout.starts_with(&format!(
            "clean-claim rate {rate} % (below the 97 % target): {} of 245 claims clean, {} held\n",
            s["claims"]["clean"], s["claims"]["held"]
        )),
        "{stdout}"
    );
    assert!(stdout.contains("fix first (held charges"), "{stdout}");
    assert!(
        stdout.ends_with(&format!("report: {}\n", out.join("report.html").display())),
        "{stdout}"
    );
    // the first rule to fix is the one that holds the most charges
    let rules = s["rules"].as_object().unwrap();
    let top = rules
        .iter()
        .filter(|(_, v)| v["severity"] == "reject")
        .max_by(|a, b| {
            let c = |v: &Value| v["charges"].to_string().parse::<f64>().unwrap();
            c(a.1).partial_cmp(&c(b.1)).unwrap().then(b.0.cmp(a.0))
        })
        .unwrap();
    assert!(
        stdout.contains(&format!("  1. {}", top.0)),
        "{} first: {stdout}",
        top.0
    );
}

/// (claim_id, line_no) → (charge in cents, the line's CARCs), from rejections.csv.
fn lines_by_carc(out: &Path) -> BTreeMap<String, (u64, BTreeSet<String>, i64)> {
    let (h, rows) = read_csv(&out.join("rejections.csv"));
    let c = |n: &str| h.iter().position(|x| x == n).unwrap();
    // CARC → (lines, claims, charges in cents)
    let mut lines: BTreeMap<(String, String), (i64, BTreeSet<String>)> = BTreeMap::new();
    for r in &rows {
        if r[c("severity")] != "reject" {
            continue;
        }
        let cents = (r[c("charge")].parse::<f64>().unwrap() * 100.0).round() as i64;
        let e = lines
            .entry((r[c("claim_id")].clone(), r[c("line_no")].clone()))
            .or_insert((cents, BTreeSet::new()));
        e.1.insert(r[c("carc")].clone());
    }
    let mut by: BTreeMap<String, (u64, BTreeSet<String>, i64)> = BTreeMap::new();
    for ((claim, _), (cents, carcs)) in lines {
        for carc in carcs {
            let e = by.entry(carc).or_default();
            e.0 += 1;
            e.1.insert(claim.clone());
            e.2 += cents;
        }
    }
    by
}

fn cents(s: &str) -> String {
    let v = number(s);
    format!("{:.2}", v)
}

#[test]
fn carcs_therapists_and_weeks_agree_with_the_files() {
    let (out, page, _) = demo();
    let carc = words(section(page, "carc"));
    let by = lines_by_carc(out);
    assert!(by.len() > 8);
    for (code, (lines, claims, charges)) in &by {
        let money = format!("{}.{:02}", charges / 100, charges % 100);
        let money = group_money(&money);
        assert!(
            carc.contains(&format!(" {} {} {money}", lines, claims.len())),
            "CARC {code}: {lines} lines, {} claims, {money}: {carc}",
            claims.len()
        );
    }
    // the held charges of all weeks are the summary's held charges
    let s = summary(out);
    let weeks = section(page, "weeks");
    let table = &weeks[weeks.find("<tbody>").unwrap()..];
    let mut sum = 0.0;
    let mut lines = 0.0;
    for row in table.split("<tr>").skip(1) {
        let cells: Vec<&str> = row
            .split("<td")
            .skip(1)
            .map(|c| &c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()])
            .collect();
        lines += number(cells[1]);
        sum += number(cells[2]);
    }
    assert_eq!(lines, s["lines"]["held"].as_f64().unwrap());
    assert_eq!(
        cents(&format!("{sum}")),
        cents(&s["lines"]["held_charges"].to_string())
    );
    // the therapist with the most held charges, counted from held.csv
    let (h, rows) = read_csv(&out.join("held.csv"));
    let c = |n: &str| h.iter().position(|x| x == n).unwrap();
    let mut by_npi: BTreeMap<&str, i64> = BTreeMap::new();
    for r in &rows {
        *by_npi.entry(&r[c("rendering_npi")]).or_default() +=
            (r[c("charge")].parse::<f64>().unwrap() * 100.0).round() as i64;
    }
    let (npi, top) = by_npi.iter().max_by_key(|(_, v)| **v).unwrap();
    let therapists = words(section(page, "therapists"));
    assert!(
        therapists.contains(&format!(
            "Most held: {npi}, {}",
            group_money(&format!("{}.{:02}", top / 100, top % 100))
        )),
        "{therapists}"
    );
}

fn group_money(plain: &str) -> String {
    let (int, frac) = plain.split_once('.').unwrap();
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{out}.{frac}")
}

#[test]
fn the_evidence_sections_read_the_messages() {
    let (_, page, _) = demo();
    let rx = words(section(page, "prescriptions"));
    // visits 13 and 14 of 12 authorised by RX-4113 (rejections.csv)
    assert!(
        rx.contains("RX-4113 P-113 commercial 12 14 2 9 2 2 360.00"),
        "{rx}"
    );
    let dx = words(section(page, "diagnoses"));
    assert!(
        dx.contains("M54.5 header, not billable (DX_NOT_BILLABLE) FY2026 2 1 190.00 bill M54.50, M54.51 or M54.59"),
        "{dx}"
    );
    assert!(
        dx.contains(
            "M79.19 not in the code set (DX_UNKNOWN) FY2026 1 1 120.00 nearest: M79.10, M79.11, M79.12 or M79.18 (check the chart)"
        ),
        "{dx}"
    );
    assert!(
        dx.contains("97140 not ICD-10-CM syntax (DX_INVALID_FORMAT) FY2026 1 1 130.00 a procedure (CPT) code"),
        "{dx}"
    );
    let ncci = words(section(page, "ncci"));
    assert!(
        ncci.contains("97124 97140 NCCI edit, modifier indicator 0 medicaid, medicare 3 3 240.00 no modifier allows the pair"),
        "{ncci}"
    );
    assert!(
        ncci.contains("97140 97012 NCCI edit, modifier indicator 1 medicare 1 1 130.00"),
        "{ncci}"
    );
    let kx = words(section(page, "kx"));
    assert!(kx.contains("PT/SLP 2026 2,480.00 1 2 1 175.00"), "{kx}");
    assert!(kx.contains("THERAPY_REVIEW_THRESHOLD"), "{kx}");
    assert!(kx.contains("PT/SLP 2026 3,000.00 1 1 1 110.00"), "{kx}");
    // warnings are apart from what holds
    let warnings = words(section(page, "warnings"));
    for w in [
        "UNITS_UNDER_DOCUMENTED",
        "DX_CODESET_UNAVAILABLE",
        "THERAPY_REVIEW_THRESHOLD",
    ] {
        assert!(warnings.contains(w), "{w}: {warnings}");
        assert!(
            !words(section(page, "fix-first")).contains(w),
            "{w} among rejects"
        );
    }
    // nothing is left unread
    assert!(!page.contains("could not read"), "a message was not read");
}

#[test]
fn input_values_show_as_text() {
    let dir = scratch("report-escape");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let patient = "\"><img src=x onerror=alert(1)>";
    let npi = "<script>alert('npi')</script>";
    let referrer = "</td><b onmouseover=alert(2)>";
    let rx = "<i>RX</i>&";
    let claims = format!(
        "<script>alert(1)</script>,1,\"{p}\",commercial,{npi},{referrer},{rx},2025-03-10,97124,,1,40.00,<svg/onload=alert(3)>\n\
         C-2,1,\"{p}\",commercial,{npi},{referrer},{rx},2025-03-11,97124,,1,40.00,M54.50\n",
        p = patient.replace('"', "\"\"")
    );
    let sessions = format!(
        "S-1,\"{p}\",{npi},2025-03-10,97124,15,swedish,\nS-2,\"{p}\",{npi},2025-03-11,97124,15,swedish,\n",
        p = patient.replace('"', "\"\"")
    );
    let prescriptions = format!(
        "{rx},\"{p}\",1999999992,prescription,M54.50,1,2025-02-15,2025-05-15,,97124,,,1\n",
        p = patient.replace('"', "\"\"")
    );
    write_batch(&input, &claims, &sessions, &prescriptions);
    let out = dir.join("out");
    scrub_ok(&input, &out, &["--report"]);
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    for raw in [
        patient,
        npi,
        referrer,
        rx,
        "<svg/onload",
        "<script",
        "<img",
        "<b ",
        "<i>",
    ] {
        assert!(!page.contains(raw), "{raw} is in the page as HTML");
    }
    let text = words(&page);
    // the values are there, as text: the patient and prescription of the sessions exceeded,
    // the therapist, the prescriber and the diagnosis code
    for shown in [patient, npi, referrer, rx, "<SVG/ONLOAD=ALERT(3)>"] {
        assert!(text.contains(shown), "{shown} not shown: {text}");
    }
}

#[test]
fn missing_optional_columns_are_named_on_the_page() {
    let dir = scratch("report-optional");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    small_batch(&input);
    // the claims without referring_npi, rx_id and modifiers
    let claims = std::fs::read_to_string(input.join("claims.csv")).unwrap();
    let mut rows = Vec::new();
    for line in claims.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let keep: Vec<&str> = f
            .iter()
            .enumerate()
            .filter(|(i, _)| ![5, 6, 9].contains(i))
            .map(|(_, v)| *v)
            .collect();
        rows.push(keep.join(","));
    }
    std::fs::write(input.join("claims.csv"), rows.join("\n") + "\n").unwrap();
    let out = dir.join("out");
    scrub_ok(&input, &out, &[]);
    let stdout = ok(&report(&out, &[]));
    assert!(stdout.contains("clean-claim rate 50.0 %"), "{stdout}");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    let p = words(section(&page, "prescribers"));
    assert!(
        p.contains("Not available: held.csv has no referring_npi column"),
        "{p}"
    );
    assert!(section(&page, "therapists").contains("1234567893"));
}

#[test]
fn scrub_report_writes_the_same_page_with_the_outputs() {
    let dir = scratch("report-scrub");
    let out = dir.join("out");
    let args = demo_args();
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.push("--report");
    scrub_ok(&repo("fixtures/demo"), &out, &args);
    let with_scrub = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!std::fs::read_dir(&out).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("staging")));
    // the page of `claimscrub report` on the same outputs is the same page
    let again = dir.join("again.html");
    ok(&report(&out, &["--html", again.to_str().unwrap()]));
    assert_eq!(with_scrub, std::fs::read_to_string(&again).unwrap());
    // a later scrub without --report takes the earlier page away with the earlier outputs
    args.pop();
    scrub_ok(&repo("fixtures/demo"), &out, &args);
    assert!(out.join("summary.json").is_file());
    assert!(!out.join("report.html").exists());
}

#[test]
fn a_failed_scrub_leaves_no_report() {
    let dir = scratch("report-failed");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    small_batch(&input);
    // no charge column: the run cannot be done
    let claims = std::fs::read_to_string(input.join("claims.csv")).unwrap();
    std::fs::write(
        input.join("claims.csv"),
        claims.replacen("charge", "charges", 1),
    )
    .unwrap();
    let out = dir.join("out");
    let o = scrub(&input, &out, &["--report"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(!out.exists(), "{} was left", out.display());
    // and --report needs the CSV outputs
    small_batch(&input);
    let o = scrub(&input, &out, &["--report", "--format", "parquet"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("--report: the report is built from the CSV outputs"));
    assert!(!out.exists());
}

#[test]
fn parquet_outputs_are_refused() {
    let dir = scratch("report-parquet");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    small_batch(&input);
    let out = dir.join("out");
    scrub_ok(&input, &out, &["--format", "parquet"]);
    let err = fails(&report(&out, &[]));
    assert!(
        err.contains("rejections.parquet is a Parquet output; the report reads CSV outputs only"),
        "{err}"
    );
    assert!(!out.join("report.html").exists());
}

/// The small batch scrubbed, with one output changed by `damage`.
fn damaged(name: &str, file: &str, damage: impl Fn(String) -> String) -> (PathBuf, String) {
    let dir = scratch(name);
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    small_batch(&input);
    let out = dir.join("out");
    scrub_ok(&input, &out, &[]);
    let path = out.join(file);
    std::fs::write(&path, damage(std::fs::read_to_string(&path).unwrap())).unwrap();
    let err = fails(&report(&out, &[]));
    assert!(!out.join("report.html").exists());
    (out, err)
}

#[test]
fn damaged_outputs_are_named_by_file_line_and_column() {
    // a row cut short
    let (out, err) = damaged("report-cut", "rejections.csv", |t| {
        let mut lines: Vec<String> = t.lines().map(String::from).collect();
        lines[1] = lines[1].split(',').take(4).collect::<Vec<_>>().join(",");
        lines.join("\n") + "\n"
    });
    let file = out.join("rejections.csv").display().to_string();
    assert!(
        err.contains(&format!("{file}: line 2: not a claimscrub output row")),
        "{err}"
    );
    // a charge that is not an amount
    let (_, err) = damaged("report-charge", "rejections.csv", |t| {
        let mut lines: Vec<String> = t.lines().map(String::from).collect();
        let cut = lines[1].rfind(',').unwrap();
        lines[1] = format!("{},forty", &lines[1][..cut]);
        lines.join("\n") + "\n"
    });
    assert!(
        err.contains(
            "rejections.csv: line 2, column charge: `forty` is not a plain decimal amount"
        ),
        "{err}"
    );
    // a rule that is not a rule
    let (_, err) = damaged("report-rule", "rejections.csv", |t| {
        t.replace("RX_MISSING", "RX_MYSTERY")
    });
    assert!(
        err.contains("rejections.csv: line 2, column rule: `RX_MYSTERY` is not a claimscrub rule"),
        "{err}"
    );
    // held.csv with a line missing, and summary.json that is not JSON
    let (_, err) = damaged("report-held", "held.csv", |t| {
        t.lines().take(1).collect::<Vec<_>>().join("\n") + "\n"
    });
    assert!(
        err.contains("held.csv: 0 held lines of 0.00 in all, but")
            && err.contains("the files are not of one scrub"),
        "{err}"
    );
    let (_, err) = damaged("report-json", "summary.json", |t| {
        t[..t.len() / 2].to_string()
    });
    assert!(
        err.contains("summary.json: line ") && err.contains("not JSON"),
        "{err}"
    );
}

#[test]
fn outputs_that_are_not_there() {
    let dir = scratch("report-missing");
    let err = fails(&report(&dir.join("nope"), &[]));
    assert!(err.contains("nope: not a folder"), "{err}");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    small_batch(&input);
    let out = dir.join("out");
    scrub_ok(&input, &out, &[]);
    std::fs::remove_file(out.join("held.csv")).unwrap();
    let err = fails(&report(&out, &[]));
    assert!(
        err.contains("held.csv is missing; the report reads the outputs of a finished scrub"),
        "{err}"
    );
    // --html never over an output
    scrub_ok(&input, &out, &[]);
    let before = std::fs::read(out.join("summary.json")).unwrap();
    let err = fails(&report(
        &out,
        &["--html", out.join("summary.json").to_str().unwrap()],
    ));
    assert!(err.contains("must be named *.html"), "{err}");
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), before);
}

#[test]
fn long_lists_show_the_worst_and_sum_the_rest() {
    let dir = scratch("report-long");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    // 14 therapists, each with one patient without a prescription: therapist i holds 10 × i
    let (mut claims, mut sessions) = (String::new(), String::new());
    for i in 1..=14 {
        claims += &format!(
            "C-{i},1,P-{i},commercial,T-{i:02},,,2025-03-10,97124,,1,{}.00,M54.50\n",
            10 * i
        );
        sessions += &format!("S-{i},P-{i},T-{i:02},2025-03-10,97124,15,swedish,\n");
    }
    write_batch(&input, &claims, &sessions, "");
    let out = dir.join("out");
    scrub_ok(&input, &out, &["--report"]);
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    let t = words(section(&page, "therapists"));
    assert!(
        t.contains("14 therapists have held lines. Most held: T-14, 140.00 on 1 line, mostly for RX_MISSING."),
        "{t}"
    );
    assert!(t.contains("T-03 1 1 30.00 RX_MISSING (1)"), "{t}");
    assert!(!t.contains("T-02 1 1") && !t.contains("T-01 1 1"), "{t}");
    assert!(
        t.contains("and 2 more therapists: 30.00 held on 2 lines"),
        "{t}"
    );
    // the chart shows the 12 worst
    let chart = section(&page, "therapists");
    assert_eq!(chart.matches("<g class=\"bar\">").count(), 12);
}
