//! `claimscrub generate --format 837` and the CSV→837P converter (src/generate/x12.rs): the 837P is
//! well-formed (counts, control numbers, HL parents, LX numbering), depends on the seed only, and
//! gives back the claims rows of SPEC §2, read by a small parser of this file that knows nothing
//! of the writer; scrubbed as those rows, it finds exactly its truth.csv. The demo batch as 837P
//! (fixtures/x12/demo/claims.837) is what the converter writes today, and the samples of fixtures/x12/
//! are well-formed too. `x12valid_*` run pyx12 (scripts/x12valid.sh) and are ignored by default.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{bin, read_csv, repo, scratch, scrub_ok};

// ---------------------------------------------------------------------------------------------
// A small 837P reader, SPEC §11's mapping, checking the envelope as it goes.

/// SPEC §11's default `[x12.payer_type]` table.
fn payer_type(sbr09: &str) -> &'static str {
    match sbr09 {
        "MB" | "MA" => "medicare",
        "MC" => "medicaid",
        "WC" => "workers_comp",
        "AM" => "auto_pip",
        _ => "commercial",
    }
}

/// `YYYYMMDD` as `YYYY-MM-DD`.
fn iso(d8: &str) -> String {
    assert_eq!(d8.len(), 8, "date {d8}");
    format!("{}-{}-{}", &d8[..4], &d8[4..6], &d8[6..])
}

/// Millionths of an X12 decimal.
fn micro(r: &str) -> i64 {
    let (neg, body) = r.strip_prefix('-').map_or((false, r), |b| (true, b));
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    assert!(frac.len() <= 6, "{r}");
    let v =
        int.parse::<i64>().unwrap_or(0) * 1_000_000 + format!("{frac:0<6}").parse::<i64>().unwrap();
    if neg {
        -v
    } else {
        v
    }
}

#[derive(Default)]
struct Line {
    line_no: String,
    procedure: Vec<String>,
    charge: String,
    unit_basis: String,
    units: String,
    pointers: Vec<usize>,
    date: Option<String>,
    rx: Option<String>,
    rendering: Option<String>,
    referring: Option<String>,
}

#[derive(Default)]
struct Claim {
    id: String,
    total: String,
    codes: Vec<String>,
    rx: Option<String>,
    date: Option<String>,
    rendering: Option<String>,
    referring: Option<String>,
    lines: Vec<Line>,
}

/// What a file holds: the §2 rows (in the 13 columns' order) and counts.
#[derive(Default, Debug)]
struct Read {
    rows: Vec<[String; 13]>,
    interchanges: usize,
    groups: usize,
    transactions: usize,
    claims: usize,
}

/// Reads an 837P as SPEC §11 maps it, asserting that its envelopes, counts and loops are right.
fn read_837(text: &str) -> Read {
    let t = text.trim_start();
    assert!(t.starts_with("ISA"), "does not start with ISA");
    let b = t.as_bytes();
    let element = b[3] as char;
    let repetition = b[82] as char;
    let component = b[104] as char;
    let segment = b[105] as char;
    assert_eq!(b[103] as char, element, "ISA is 106 characters");
    let segments: Vec<Vec<&str>> = t
        .split(segment)
        .map(|s| s.trim_matches(['\r', '\n']))
        .filter(|s| !s.is_empty())
        .map(|s| s.split(element).collect())
        .collect();
    assert!(repetition != component && repetition != element);
    let el = |s: &Vec<&str>, i: usize| s.get(i).copied().unwrap_or("").to_string();

    let mut read = Read::default();
    // envelope state
    let (mut isa13, mut gs06, mut st02) = (String::new(), String::new(), String::new());
    let (mut groups_in_isa, mut sets_in_gs, mut segs_in_st) = (0usize, 0usize, 0usize);
    // loops
    let mut hl_levels: Vec<String> = Vec::new();
    let mut hl_children: Vec<usize> = Vec::new();
    let mut hl_child_flag: Vec<String> = Vec::new();
    let (mut billing, mut subscriber, mut sbr09) = (String::new(), String::new(), String::new());
    let mut in_claim_area = false; // after an HL, before its first CLM: subscriber segments
    let mut claim: Option<Claim> = None;

    fn flush(
        claim: &mut Option<Claim>,
        billing: &str,
        subscriber: &str,
        payer: &str,
        read: &mut Read,
    ) {
        let Some(c) = claim.take() else { return };
        assert!(!c.lines.is_empty(), "claim {} has no line", c.id);
        let sum: i64 = c.lines.iter().map(|l| micro(&l.charge)).sum();
        assert_eq!(
            micro(&c.total),
            sum,
            "claim {}: CLM02 is not the sum of SV102",
            c.id
        );
        assert!(
            c.codes.len() <= 12,
            "claim {}: {} HI codes",
            c.id,
            c.codes.len()
        );
        for (i, l) in c.lines.iter().enumerate() {
            assert_eq!(l.line_no, (i + 1).to_string(), "claim {}: LX01", c.id);
            assert_eq!(l.unit_basis, "UN", "claim {}: SV103", c.id);
            assert!((1..=4).contains(&l.pointers.len()), "claim {}: SV107", c.id);
            let dx: Vec<&str> = l
                .pointers
                .iter()
                .map(|&p| c.codes[p - 1].as_str())
                .collect();
            let date = l.date.clone().or(c.date.clone()).expect("a service date");
            read.rows.push([
                c.id.clone(),
                l.line_no.clone(),
                subscriber.to_string(),
                payer_type(payer).to_string(),
                l.rendering
                    .clone()
                    .or(c.rendering.clone())
                    .unwrap_or(billing.to_string()),
                l.referring
                    .clone()
                    .or(c.referring.clone())
                    .unwrap_or_default(),
                l.rx.clone().or(c.rx.clone()).unwrap_or_default(),
                date,
                l.procedure[1].clone(),
                l.procedure[2..].join(";"),
                l.units.clone(),
                l.charge.clone(),
                dx.join(";"),
            ]);
        }
        read.claims += 1;
    }

    for s in &segments {
        let id = s[0];
        if !matches!(id, "ISA" | "IEA" | "GS" | "GE") {
            segs_in_st += 1;
        }
        match id {
            "ISA" => {
                assert_eq!(s.len(), 17, "ISA has 16 elements");
                assert_eq!(s[12], "00501");
                isa13 = s[13].to_string();
                groups_in_isa = 0;
                read.interchanges += 1;
            }
            "GS" => {
                assert_eq!(el(s, 1), "HC");
                assert_eq!(el(s, 8), "005010X222A1");
                gs06 = el(s, 6);
                sets_in_gs = 0;
                groups_in_isa += 1;
                read.groups += 1;
            }
            "ST" => {
                assert_eq!(el(s, 1), "837");
                assert_eq!(el(s, 3), "005010X222A1");
                st02 = el(s, 2);
                segs_in_st = 1;
                sets_in_gs += 1;
                read.transactions += 1;
                hl_levels.clear();
                hl_children.clear();
                hl_child_flag.clear();
            }
            "SE" => {
                flush(&mut claim, &billing, &subscriber, &sbr09, &mut read);
                assert_eq!(el(s, 1), segs_in_st.to_string(), "SE01 of {st02}");
                assert_eq!(el(s, 2), st02, "SE02");
                for (i, flag) in hl_child_flag.iter().enumerate() {
                    let want = if hl_children[i] > 0 { "1" } else { "0" };
                    assert_eq!(flag, want, "HL*{}: HL04", i + 1);
                }
            }
            "GE" => {
                assert_eq!(el(s, 1), sets_in_gs.to_string(), "GE01");
                assert_eq!(el(s, 2), gs06, "GE02");
            }
            "IEA" => {
                assert_eq!(el(s, 1), groups_in_isa.to_string(), "IEA01");
                assert_eq!(el(s, 2), isa13, "IEA02");
            }
            "HL" => {
                flush(&mut claim, &billing, &subscriber, &sbr09, &mut read);
                let n: usize = el(s, 1).parse().unwrap();
                assert_eq!(n, hl_levels.len() + 1, "HL01 counts from 1");
                let level = el(s, 3);
                let parent = el(s, 2);
                match level.as_str() {
                    "20" => assert_eq!(parent, "", "2000A has no parent"),
                    "22" | "23" => {
                        let p: usize = parent.parse().expect("a parent");
                        assert!(p < n, "HL parent {p} after HL {n}");
                        let want = if level == "22" { "20" } else { "22" };
                        assert_eq!(hl_levels[p - 1], want, "HL*{n}'s parent level");
                        hl_children[p - 1] += 1;
                    }
                    other => panic!("HL level {other}"),
                }
                hl_levels.push(level);
                hl_children.push(0);
                hl_child_flag.push(el(s, 4));
                in_claim_area = true;
            }
            "SBR" if in_claim_area && claim.is_none() => sbr09 = el(s, 9),
            "NM1" => {
                let who = el(s, 1);
                let npi = el(s, 9);
                match (who.as_str(), claim.as_mut()) {
                    ("85", None) => billing = npi,
                    ("IL", None) => {
                        assert_eq!(el(s, 8), "MI");
                        subscriber = npi;
                    }
                    ("82", Some(c)) => match c.lines.last_mut() {
                        Some(l) => l.rendering = Some(npi),
                        None => c.rendering = Some(npi),
                    },
                    ("DN", Some(c)) => match c.lines.last_mut() {
                        Some(l) => l.referring = Some(npi),
                        None => c.referring = Some(npi),
                    },
                    _ => {}
                }
            }
            "CLM" => {
                flush(&mut claim, &billing, &subscriber, &sbr09, &mut read);
                claim = Some(Claim {
                    id: el(s, 1),
                    total: el(s, 2),
                    ..Claim::default()
                });
            }
            "HI" => {
                let c = claim.as_mut().expect("HI in a claim");
                for (i, e) in s[1..].iter().enumerate() {
                    let (q, code) = e.split_once(component).expect("qualifier:code");
                    let want: &[&str] = if i == 0 {
                        &["ABK", "BK"]
                    } else {
                        &["ABF", "BF"]
                    };
                    assert!(want.contains(&q), "HI{:02} qualifier {q}", i + 1);
                    c.codes.push(code.to_string());
                }
            }
            "REF" if el(s, 1) == "G1" => {
                if let Some(c) = claim.as_mut() {
                    match c.lines.last_mut() {
                        Some(l) => l.rx = Some(el(s, 2)),
                        None => c.rx = Some(el(s, 2)),
                    }
                }
            }
            "DTP" if el(s, 1) == "472" => {
                let c = claim.as_mut().expect("DTP*472 in a claim");
                let d = match el(s, 2).as_str() {
                    "D8" => iso(&el(s, 3)),
                    "RD8" => iso(el(s, 3).split('-').next().unwrap()),
                    other => panic!("DTP02 {other}"),
                };
                match c.lines.last_mut() {
                    Some(l) => l.date = Some(d),
                    None => c.date = Some(d),
                }
            }
            "LX" => {
                let c = claim.as_mut().expect("LX in a claim");
                c.lines.push(Line {
                    line_no: el(s, 1),
                    ..Line::default()
                });
            }
            "SV1" => {
                let c = claim.as_mut().expect("SV1 in a claim");
                let l = c.lines.last_mut().expect("SV1 after LX");
                l.procedure = el(s, 1).split(component).map(String::from).collect();
                assert_eq!(l.procedure[0], "HC");
                assert!(l.procedure.len() <= 6, "at most 4 modifiers");
                l.charge = el(s, 2);
                l.unit_basis = el(s, 3);
                l.units = el(s, 4);
                l.pointers = el(s, 7)
                    .split(component)
                    .map(|p| p.parse().expect("a pointer"))
                    .collect();
                assert!(l.pointers.iter().all(|&p| p >= 1 && p <= c.codes.len()));
            }
            _ => {}
        }
    }
    assert!(read.interchanges > 0);
    read
}

// ---------------------------------------------------------------------------------------------
// The CSV rows as the 837P must give them back.

/// `[A-Z][0-9][A-Z0-9](\.?[A-Z0-9]{1,4})?`
fn icd_syntax(c: &str) -> bool {
    let b = c.as_bytes();
    let an = |x: &u8| x.is_ascii_digit() || x.is_ascii_uppercase();
    if b.len() < 3 || !b[0].is_ascii_uppercase() || !b[1].is_ascii_digit() || !an(&b[2]) {
        return false;
    }
    let rest = b[3..].strip_prefix(b".").unwrap_or(&b[3..]);
    (b.len() == 3 || !rest.is_empty()) && rest.len() <= 4 && rest.iter().all(an)
}

/// A CSV claims row in the form of the 837P's: ISO date, upper-cased codes, distinct modifiers and
/// codes (codes without their dot when they are ICD-10-CM syntax), units as an integer.
fn normal(row: &[String], col: &dyn Fn(&str) -> usize) -> [String; 13] {
    let v = |c: &str| row[col(c)].trim().to_string();
    let list = |s: String, dx: bool| {
        let mut out: Vec<String> = Vec::new();
        for c in s.split(';').map(|c| c.trim().to_ascii_uppercase()) {
            let c = if dx && icd_syntax(&c) {
                c.replace('.', "")
            } else {
                c
            };
            if !c.is_empty() && !out.contains(&c) {
                out.push(c);
            }
        }
        out.join(";")
    };
    let date = v("service_date");
    let date = if date.contains('/') {
        let p: Vec<u32> = date.split('/').map(|x| x.parse().unwrap()).collect();
        format!("{:04}-{:02}-{:02}", p[2], p[0], p[1])
    } else {
        date
    };
    [
        v("claim_id"),
        v("line_no").parse::<u32>().unwrap().to_string(),
        v("patient_id"),
        v("payer_type").to_ascii_lowercase(),
        v("rendering_npi"),
        v("referring_npi"),
        v("rx_id"),
        date,
        v("cpt").to_ascii_uppercase(),
        list(v("modifiers"), false),
        v("units").parse::<i64>().unwrap().to_string(),
        v("charge"),
        list(v("diagnosis_codes"), true),
    ]
}

fn normal_rows(path: &Path, skip: &BTreeSet<String>) -> Vec<[String; 13]> {
    // flexible: the demo has a row of five fields (its claim is left out)
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    let col = |c: &str| header.iter().position(|h| h == c).unwrap();
    rows.iter()
        .filter(|r| !skip.contains(&r[col("claim_id")]))
        .map(|r| normal(r, &col))
        .collect()
}

fn left_out(dir: &Path) -> BTreeSet<String> {
    let (header, rows) = read_csv(&dir.join("claims_left_out.csv"));
    assert_eq!(header, ["claim_id", "reason"]);
    rows.into_iter().map(|r| r[0].clone()).collect()
}

fn generate(out: &Path, format: &str, lines: &str, seed: &str, threads: &str, rate: &str) {
    let o = bin()
        .args([
            "generate", "--format", format, "--claims", lines, "--seed", seed,
        ])
        .args(["--threads", threads, "--defect-rate", rate, "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

const COLUMNS: [&str; 13] = [
    "claim_id",
    "line_no",
    "patient_id",
    "payer_type",
    "rendering_npi",
    "referring_npi",
    "rx_id",
    "service_date",
    "cpt",
    "modifiers",
    "units",
    "charge",
    "diagnosis_codes",
];

/// Rows as a claims CSV (no value of a generated or converted batch needs quoting).
fn claims_csv(rows: &[[String; 13]]) -> String {
    let mut out = COLUMNS.join(",") + "\n";
    for r in rows {
        assert!(r.iter().all(|v| !v.contains([',', '"', '\n'])));
        out.push_str(&r.join(","));
        out.push('\n');
    }
    out
}

fn sorted(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.sort();
    rows
}

// ---------------------------------------------------------------------------------------------

/// The same seed as CSV and as 837P: the 837P holds the CSV's rows but those of the claims it
/// lists as left out (lines without a diagnosis, the DX_MISSING plant), truth.csv loses exactly
/// their findings, and sessions and prescriptions are the same bytes.
#[test]
fn a_generated_837p_gives_back_the_csv_rows_but_the_claims_it_leaves_out() {
    let (csv_dir, x_dir) = (scratch("genx-csv"), scratch("genx-837"));
    generate(&csv_dir, "csv", "20000", "5", "2", "0.3");
    generate(&x_dir, "837", "20000", "5", "2", "0.3");
    for f in ["sessions.csv", "prescriptions.csv", "mue.csv", "ncci.txt"] {
        assert!(
            std::fs::read(csv_dir.join(f)).unwrap() == std::fs::read(x_dir.join(f)).unwrap(),
            "{f} differs"
        );
    }
    assert!(!x_dir.join("claims.csv").exists() && !csv_dir.join("claims.837").exists());
    let gone = left_out(&x_dir);
    let (_, reasons) = read_csv(&x_dir.join("claims_left_out.csv"));
    assert!(gone.len() > 5, "{} claims left out", gone.len());
    assert!(
        reasons
            .iter()
            .all(|r| r[1].starts_with("no diagnosis code")),
        "{reasons:?}"
    );

    let text = std::fs::read_to_string(x_dir.join("claims.837")).unwrap();
    let read = read_837(&text);
    assert_eq!((read.interchanges, read.groups), (1, 1));
    assert!(read.transactions >= 2, "{} transactions", read.transactions);
    let want = normal_rows(&csv_dir.join("claims.csv"), &gone);
    assert_eq!(read.rows.len(), want.len());
    for (got, want) in read.rows.iter().zip(&want) {
        assert_eq!(got, want);
    }

    let (cols, truth_csv) = read_csv(&csv_dir.join("truth.csv"));
    let (cols837, truth_837) = read_csv(&x_dir.join("truth.csv"));
    assert_eq!(cols, cols837);
    let kept: Vec<Vec<String>> = truth_csv
        .iter()
        .filter(|r| !gone.contains(&r[0]))
        .cloned()
        .collect();
    assert_eq!(truth_837, kept);
    let dx_missing = truth_csv.iter().filter(|r| r[2] == "DX_MISSING").count();
    assert!(dx_missing > 0);
    assert!(truth_837.iter().all(|r| r[2] != "DX_MISSING"));
    // the rules 837P can carry are all still planted
    let rules: BTreeSet<&str> = truth_837.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(rules.len(), 26, "{rules:?}");
}

/// What SPEC §11's reader gives of the generated 837P, scrubbed as CSV with the batch's sessions
/// and prescriptions, finds exactly the 837P batch's truth.csv: leaving claims out changes no
/// other finding.
#[test]
fn the_rows_of_a_generated_837p_scrub_to_its_truth() {
    let x_dir = scratch("genx-837-scrub");
    generate(&x_dir, "837", "30000", "9", "2", "0.2");
    let read = read_837(&std::fs::read_to_string(x_dir.join("claims.837")).unwrap());
    let input = scratch("genx-837-as-csv");
    std::fs::write(input.join("claims.csv"), claims_csv(&read.rows)).unwrap();
    for f in ["sessions.csv", "prescriptions.csv"] {
        std::fs::copy(x_dir.join(f), input.join(f)).unwrap();
    }
    let out = scratch("genx-837-scrub-out");
    let (mue, ncci) = (x_dir.join("mue.csv"), x_dir.join("ncci.txt"));
    scrub_ok(
        &input,
        &out,
        &[
            "--mue",
            mue.to_str().unwrap(),
            "--ncci",
            ncci.to_str().unwrap(),
        ],
    );
    let (cols, truth) = read_csv(&x_dir.join("truth.csv"));
    let found = common::project(&out.join("rejections.csv"), &cols);
    assert!(truth.len() > 300, "{} findings planted", truth.len());
    assert_eq!(sorted(found), sorted(truth));
}

#[test]
fn a_generated_837p_depends_on_the_seed_only() {
    let (a, b, c) = (
        scratch("genx-seed-a"),
        scratch("genx-seed-b"),
        scratch("genx-seed-c"),
    );
    generate(&a, "837", "6000", "21", "1", "0.1");
    generate(&b, "837", "6000", "21", "2", "0.1");
    generate(&c, "837", "6000", "22", "2", "0.1");
    let bytes = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    for f in [
        "claims.837",
        "truth.csv",
        "claims_left_out.csv",
        "sessions.csv",
    ] {
        assert!(bytes(&a, f) == bytes(&b, f), "{f} depends on the threads");
    }
    assert!(bytes(&a, "claims.837") != bytes(&c, "claims.837"));
    // a rerun in the same folder as CSV leaves one claims file
    generate(&a, "csv", "6000", "21", "1", "0.1");
    assert!(a.join("claims.csv").exists());
    assert!(!a.join("claims.837").exists() && !a.join("claims_left_out.csv").exists());
}

#[test]
fn every_night_of_a_generated_run_is_an_837p_of_its_own() {
    let dir = scratch("genx-nights");
    let o = bin()
        .args([
            "generate", "--format", "837", "--claims", "4000", "--nights", "2", "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for n in ["night1", "night2"] {
        let read = read_837(&std::fs::read_to_string(dir.join(n).join("claims.837")).unwrap());
        assert!(read.rows.len() > 1000, "{n}: {} lines", read.rows.len());
        let claims: BTreeSet<&str> = read.rows.iter().map(|r| r[0].as_str()).collect();
        let (_, truth) = read_csv(&dir.join(n).join("truth.csv"));
        assert!(truth.iter().all(|r| claims.contains(r[0].as_str())), "{n}");
    }
}

// ---------------------------------------------------------------------------------------------
// The demo batch as 837P.

/// The demo claims the converter cannot carry: the three malformed rows' claims and the line
/// without a diagnosis (fixtures/x12/README.md says why).
const DEMO_LEFT_OUT: [&str; 4] = ["C-1051", "C-1146", "C-1220", "C-1227"];

fn demo_837() -> claimscrub::generate::x12::Conversion {
    let csv = std::fs::read(repo("fixtures/demo/claims.csv")).unwrap();
    claimscrub::generate::x12::convert_csv(
        &csv,
        "claims.csv",
        &claimscrub::generate::x12::Options::default(),
    )
    .unwrap()
}

/// fixtures/x12/demo/claims.837 is what the converter writes of fixtures/demo/claims.csv today.
/// `CLAIMSCRUB_BLESS=1 cargo test --release --test generate_x12 demo` writes it again.
#[test]
fn the_demo_837p_is_the_converters_output_of_the_demo_csv() {
    let c = demo_837();
    let path = repo("fixtures/x12/demo/claims.837");
    if std::env::var_os("CLAIMSCRUB_BLESS").is_some() {
        std::fs::write(&path, &c.text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == c.text,
        "fixtures/x12/demo/claims.837 is stale: run CLAIMSCRUB_BLESS=1 cargo test --release --test generate_x12 demo"
    );
    let gone: Vec<&str> = c.left_out.iter().map(|l| l.claim_id.as_str()).collect();
    assert_eq!(gone, DEMO_LEFT_OUT, "{:?}", c.left_out);
    assert_eq!((c.claims, c.lines), (241, 357));
}

/// The demo's rows come back from its 837P column for column (SPEC §2 after the 837P's
/// normalisations), but the left-out claims; its findings are planted.csv's but C-1227's
/// DX_MISSING.
#[test]
fn the_demo_837p_gives_back_the_demo_rows_and_scrubs_to_its_findings() {
    let c = demo_837();
    let read = read_837(&c.text);
    let gone: BTreeSet<String> = DEMO_LEFT_OUT.iter().map(|s| s.to_string()).collect();
    let mut want = normal_rows(&repo("fixtures/demo/claims.csv"), &gone);
    let mut got = read.rows.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);

    let input = scratch("demo-837-as-csv");
    std::fs::write(input.join("claims.csv"), claims_csv(&read.rows)).unwrap();
    for f in ["sessions.csv", "prescriptions.csv"] {
        std::fs::copy(repo("fixtures/demo").join(f), input.join(f)).unwrap();
    }
    let out = scratch("demo-837-out");
    let mue = repo("fixtures/demo/mue-example.csv");
    let ncci = repo("fixtures/ncci/ptp-physical-medicine-excerpt.txt");
    scrub_ok(
        &input,
        &out,
        &[
            "--mue",
            mue.to_str().unwrap(),
            "--ncci",
            ncci.to_str().unwrap(),
        ],
    );
    let (cols, planted) = read_csv(&repo("fixtures/demo/planted.csv"));
    let planted: Vec<Vec<String>> = planted
        .into_iter()
        .filter(|r| !gone.contains(&r[0]))
        .collect();
    let found = common::project(&out.join("rejections.csv"), &cols);
    assert_eq!(sorted(found), sorted(planted));
}

// ---------------------------------------------------------------------------------------------
// The samples of fixtures/x12/.

fn samples() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(repo("fixtures/x12"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "837"))
        .collect();
    v.sort();
    v
}

#[test]
fn the_samples_are_well_formed_and_each_has_its_readme_line() {
    let readme = std::fs::read_to_string(repo("fixtures/x12/README.md")).unwrap();
    let files = samples();
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md says nothing of {name}"
        );
        let read = read_837(&std::fs::read_to_string(f).unwrap());
        assert!(!read.rows.is_empty(), "{name}");
    }
}

/// The samples' claims, as SPEC §11 reads them (the README states them too).
#[test]
fn the_samples_map_onto_the_claims_columns() {
    let row = |file: &str, claim: &str, line: &str| -> [String; 13] {
        let read = read_837(&std::fs::read_to_string(repo("fixtures/x12").join(file)).unwrap());
        read.rows
            .into_iter()
            .find(|r| r[0] == claim && r[1] == line)
            .unwrap_or_else(|| panic!("{file}: no {claim} line {line}"))
    };
    let s = |v: [&str; 13]| v.map(String::from);
    assert_eq!(
        row("commercial.837", "26463774", "2"),
        s([
            "26463774",
            "2",
            "JS00111223333",
            "commercial",
            "1497758544",
            "1999999992",
            "",
            "2025-10-03",
            "97124",
            "",
            "1",
            "40",
            "M5450;M62830"
        ])
    );
    // a dependent: known by the subscriber's member id; SBR09 BL is commercial; the 2420A of
    // line 2 wins over 2310B
    assert_eq!(
        row("chiropractic-dependent.837", "CHIRO-2001", "2"),
        s([
            "CHIRO-2001",
            "2",
            "HX99887766",
            "commercial",
            "1669475382",
            "1225222348",
            "AUTH-44-1187",
            "2025-11-04",
            "97140",
            "GP;59",
            "2",
            "90",
            "S134XXA;M542"
        ])
    );
    assert_eq!(
        row("chiropractic-dependent.837", "CHIRO-2001", "1")[4],
        "1881697500"
    );
    // the billing provider renders the ambulance's lines
    assert_eq!(
        row("ambulance.837", "AMB-51877", "2"),
        s([
            "AMB-51877",
            "2",
            "3ZK8WQ1RT54",
            "medicare",
            "1245319599",
            "",
            "",
            "2025-10-18",
            "A0425",
            "RH",
            "12",
            "192",
            "S72001A"
        ])
    );
    // no 2310B: the billing provider renders
    assert_eq!(
        row("envelopes-one-line.837", "MB-3003", "1"),
        s([
            "MB-3003",
            "1",
            "1EG4TE5MK72",
            "medicare",
            "1245319599",
            "1003000126",
            "",
            "2025-12-01",
            "97110",
            "GP",
            "2",
            "84",
            "M6281"
        ])
    );
    // RD8: the range's first date
    assert_eq!(
        row("pipes-newline.837", "PIP-4001", "1"),
        s([
            "PIP-4001",
            "1",
            "AP-552201",
            "auto_pip",
            "1558364273",
            "1114111237",
            "CLM-88-201",
            "2026-01-12",
            "97124",
            "",
            "3",
            "120",
            "S161XXA;S39012A"
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// pyx12 (scripts/x12valid.sh installs it into target/x12-venv once: it needs PyPI).

fn x12valid(files: &[&Path]) {
    let o = std::process::Command::new(repo("scripts/x12valid.sh"))
        .args(files)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
#[ignore = "needs pyx12 (scripts/x12valid.sh installs it from PyPI); run with --ignored"]
fn x12valid_accepts_a_generated_837p_the_demo_and_the_samples() {
    let dir = scratch("genx-x12valid");
    generate(&dir, "837", "4000", "13", "2", "0.5");
    let mut files = vec![dir.join("claims.837"), repo("fixtures/x12/demo/claims.837")];
    files.extend(samples());
    x12valid(&files.iter().map(|p| p.as_path()).collect::<Vec<_>>());
}

#[test]
#[ignore = "needs pyx12 (scripts/x12valid.sh installs it from PyPI); run with --ignored"]
fn x12valid_rejects_a_broken_837p() {
    let dir = scratch("genx-x12valid-broken");
    generate(&dir, "837", "500", "13", "1", "0.0");
    let text = std::fs::read_to_string(dir.join("claims.837")).unwrap();
    // one segment less than SE01 counts
    let broken = text.replacen("PER*IC*BILLING OFFICE*TE*5555550100~\n", "", 1);
    std::fs::write(dir.join("broken.837"), broken).unwrap();
    let o = std::process::Command::new(repo("scripts/x12valid.sh"))
        .arg(dir.join("broken.837"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("NOT VALID") && out.contains("SE count"),
        "{out}"
    );
}

/// claimscrub's own 837P reader (src/input/x12/) and this file's parser, which share no code, read
/// the samples and the demo as 837P alike: every claims row of SPEC §11's mapping, none malformed.
#[test]
fn the_readers_837p_rows_are_this_parsers_rows() {
    let dir = scratch("x12-reader-vs-parser");
    std::fs::write(
        dir.join("sessions.csv"),
        common::SESSIONS_HEADER.to_string() + "\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("prescriptions.csv"),
        common::PRESCRIPTIONS_HEADER.to_string() + "\n",
    )
    .unwrap();
    let mut files = samples();
    files.push(repo("fixtures/x12/demo/claims.837"));
    for (k, f) in files.iter().enumerate() {
        let out = dir.join(format!("out{k}"));
        let o = bin()
            .arg("scrub")
            .arg("--claims")
            .arg(f)
            .arg("--sessions")
            .arg(dir.join("sessions.csv"))
            .arg("--prescriptions")
            .arg(dir.join("prescriptions.csv"))
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .output()
            .unwrap();
        assert!(
            o.status.code().is_some_and(|c| c < 2),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let mut got: Vec<Vec<String>> = Vec::new();
        for name in ["clean.csv", "held.csv"] {
            // the columns of §2, in order; held.csv adds hold_rules (§6)
            let (cols, rows) = read_csv(&out.join(name));
            assert_eq!(
                cols[..13],
                COLUMNS.map(String::from),
                "{}: {name}",
                f.display()
            );
            assert_eq!(cols.len(), if name == "held.csv" { 14 } else { 13 });
            got.extend(rows.into_iter().map(|mut r| {
                r.truncate(13);
                r
            }));
        }
        let (_, malformed) = read_csv(&out.join("malformed.csv"));
        assert!(malformed.is_empty(), "{}: {malformed:?}", f.display());
        let want: Vec<Vec<String>> = read_837(&std::fs::read_to_string(f).unwrap())
            .rows
            .into_iter()
            .map(Vec::from)
            .collect();
        assert_eq!(sorted(got), sorted(want), "{}", f.display());
    }
}
