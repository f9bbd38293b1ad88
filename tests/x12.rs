//! X12 837P claims in, clean.837 / held.837 out (SPEC §11, issue 11). The fixtures under
//! tests/fixtures/x12/ are hand-written 837Ps (checked with pyx12's x12valid when written):
//! `basic` is the SPEC's small batch (also as CSV), one segment a line, all on one line and with
//! odd separators; `dependent` a subscriber with a dependent patient loop; `two_interchanges` two
//! ISAs of different separators, one of them with two transactions; `malformed` every case of a
//! claim that cannot be mapped; `broken` interchanges that stop the run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{bin, read_csv, repo, scratch};

fn fixture(path: &str) -> PathBuf {
    repo("tests/fixtures/x12").join(path)
}

/// `claimscrub scrub` of a claims file with the sessions and prescriptions of a fixture folder.
fn scrub_with(claims: &Path, folder: &str, out: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("scrub")
        .arg("--claims")
        .arg(claims)
        .arg("--sessions")
        .arg(fixture(folder).join("sessions.csv"))
        .arg("--prescriptions")
        .arg(fixture(folder).join("prescriptions.csv"))
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .output()
        .expect("run claimscrub")
}

fn ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text without line breaks (`clean.837` equals its input but for them).
fn unbroken(b: &[u8]) -> Vec<u8> {
    b.iter()
        .copied()
        .filter(|&c| c != b'\n' && c != b'\r')
        .collect()
}

const TABLES: [&str; 4] = ["rejections.csv", "clean.csv", "held.csv", "malformed.csv"];

#[test]
fn an_837p_gives_the_findings_clean_and_held_of_the_same_claims_as_csv() {
    let dir = scratch("x12_same_as_csv");
    let (a, b) = (dir.join("837"), dir.join("csv"));
    ok(&scrub_with(&fixture("basic/claims.837"), "basic", &a, &[]));
    ok(&scrub_with(&fixture("basic/claims.csv"), "basic", &b, &[]));
    for t in TABLES {
        assert_eq!(
            String::from_utf8_lossy(&read(&a.join(t))),
            String::from_utf8_lossy(&read(&b.join(t))),
            "{t}"
        );
    }
    let (header, rows) = read_csv(&a.join("clean.csv"));
    assert_eq!(
        header.join(","),
        common::CLAIMS_HEADER,
        "exactly the §2 columns"
    );
    assert_eq!(rows.len(), 2);
    let (header, held) = read_csv(&a.join("held.csv"));
    assert_eq!(header.last().unwrap(), "hold_rules");
    assert_eq!(held[0][0], "C-1002");
    let s = summary(&a);
    assert_eq!(s["inputs"]["claims"]["file"], "claims.837");
    assert_eq!(s["accounting"]["claims_rows_read"], 3);
    assert_eq!(s["accounting"]["balanced"], true);
    assert_eq!(s["x12"]["claims"], 2);
    assert_eq!(s["x12"]["clean.837"]["claims"], 1);
    assert_eq!(s["x12"]["held.837"]["claims"], 1);
}

#[test]
fn held_claims_are_taken_out_with_counts_and_hl_numbers_made_right() {
    let out = scratch("x12_held_out");
    ok(&scrub_with(
        &fixture("basic/claims.837"),
        "basic",
        &out,
        &[],
    ));
    // both checked with pyx12's x12valid against 005010X222A1 when written
    for f in ["clean.837", "held.837"] {
        assert_eq!(
            String::from_utf8_lossy(&read(&out.join(f))),
            String::from_utf8_lossy(&read(&fixture(&format!("basic/expected_{f}")))),
            "{f}"
        );
    }
}

#[test]
fn with_nothing_held_clean_837_is_the_input_and_held_837_is_not_written() {
    let dir = scratch("x12_nothing_held");
    // P-78 gets a prescription: every claim is clean
    let folder = dir.join("inputs");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(fixture("basic/sessions.csv"), folder.join("sessions.csv")).unwrap();
    let rx = std::fs::read_to_string(fixture("basic/prescriptions.csv")).unwrap()
        + "RX-78,P-78,1999999992,prescription,M54.50,12,2025-02-15,2025-05-15,2,97124;97140,,,\n";
    std::fs::write(folder.join("prescriptions.csv"), rx).unwrap();
    for input in ["claims.837", "one_line.837", "odd_separators.837"] {
        let out = dir.join(input);
        std::fs::copy(
            fixture(&format!("basic/{input}")),
            folder.join("claims.837"),
        )
        .unwrap();
        let o = bin()
            .arg("scrub")
            .arg(&folder)
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .output()
            .unwrap();
        ok(&o);
        assert_eq!(
            read(&out.join("clean.837")),
            read(&fixture(&format!("basic/{input}"))),
            "{input}: byte for byte"
        );
        assert!(!out.join("held.837").exists(), "{input}");
        let s = summary(&out);
        assert_eq!(s["x12"]["held.837"]["written"], false);
        assert_eq!(
            s["x12"]["held.837"]["not_written_because"],
            "no claim was held"
        );
        assert_eq!(s["claims"]["held"], 0);
    }
}

#[test]
fn one_line_and_odd_separators_read_as_one_segment_a_line() {
    let dir = scratch("x12_layouts");
    let base = dir.join("base");
    ok(&scrub_with(
        &fixture("basic/claims.837"),
        "basic",
        &base,
        &[],
    ));
    for input in ["one_line.837", "odd_separators.837"] {
        let out = dir.join(input);
        ok(&scrub_with(
            &fixture(&format!("basic/{input}")),
            "basic",
            &out,
            &[],
        ));
        for t in TABLES {
            let (x, y) = (read(&base.join(t)), read(&out.join(t)));
            let (x, y) = (String::from_utf8_lossy(&x), String::from_utf8_lossy(&y));
            // malformed.csv names the file
            assert_eq!(x.replace("claims.837", input), y, "{input}: {t}");
        }
        // the same claims taken out, in the file's own separators and layout
        for f in ["clean.837", "held.837"] {
            let expected = read(&fixture(&format!("basic/expected_{f}")));
            let got = read(&out.join(f));
            let mapped: Vec<u8> = if input == "odd_separators.837" {
                unbroken(&got)
                    .iter()
                    .map(|&c| match c {
                        b'|' => b'*',
                        b'>' => b':',
                        b'!' => b'~',
                        b'{' => b'^',
                        c => c,
                    })
                    .collect()
            } else {
                unbroken(&got)
            };
            assert_eq!(
                String::from_utf8_lossy(&mapped),
                String::from_utf8_lossy(&unbroken(&expected)),
                "{input}: {f}"
            );
        }
    }
}

#[test]
fn a_dependent_patient_loop_and_line_level_providers_map_as_spec_11_says() {
    let out = scratch("x12_dependent");
    ok(&scrub_with(
        &fixture("dependent/claims.837"),
        "dependent",
        &out,
        &[],
    ));
    let (_, clean) = read_csv(&out.join("clean.csv"));
    let rows: Vec<String> = clean.iter().map(|r| r.join(",")).collect();
    assert_eq!(
        rows,
        [
            // 2420A rendering and 2420F referring win over the claim's; RD8 gives its first
            // date; SV107 2:1 gives the codes in pointer order; SBR09 CI is commercial
            "C-2001,1,P-90,commercial,1098765435,1555555550,RX-90,2025-04-07,97140,GP,2,85,M62838;M5450",
            // the dependent is known by the subscriber's member id; REF*G1 of the line wins
            "C-2002,1,P-90,commercial,1234567893,,RX-92,2025-04-09,97124,,1,40,S134XXA",
        ]
    );
    let (_, held) = read_csv(&out.join("held.csv"));
    // no 2310B / 2420A: the billing provider renders
    assert_eq!(
        held[0][..13].join(","),
        "C-2003,1,P-90,commercial,1234567893,,,2025-04-10,97140,,1,45,S134XXA"
    );
    let clean = String::from_utf8(read(&out.join("clean.837"))).unwrap();
    let held = String::from_utf8(read(&out.join("held.837"))).unwrap();
    assert!(clean.contains("HL*2*1*22*1~") && clean.contains("HL*3*2*23*0~"));
    assert!(clean.contains("CLM*C-2002") && !clean.contains("CLM*C-2003"));
    // held.837: the subscriber loop without its own (clean) claim, the patient loop with C-2003
    assert!(!held.contains("CLM*C-2001") && held.contains("CLM*C-2003"));
    assert!(held.contains("HL*2*1*22*1~\nSBR*") && held.contains("HL*3*2*23*0~"));
    assert!(held.contains("SE*30*0001~"), "{held}");

    // all the dependent's claims held: the subscriber stays (its own claim is clean) without
    // children, so its HL04 becomes 0
    let dir = scratch("x12_dependent_all_held");
    let sessions = dir.join("sessions.csv");
    let text = std::fs::read_to_string(fixture("dependent/sessions.csv")).unwrap();
    std::fs::write(
        &sessions,
        text.lines().take(2).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = bin()
        .arg("scrub")
        .args([
            "--claims",
            fixture("dependent/claims.837").to_str().unwrap(),
        ])
        .args(["--sessions", sessions.to_str().unwrap()])
        .args([
            "--prescriptions",
            fixture("dependent/prescriptions.csv").to_str().unwrap(),
        ])
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    ok(&o);
    let clean = String::from_utf8(read(&out.join("clean.837"))).unwrap();
    assert!(clean.contains("HL*2*1*22*0~"), "{clean}");
    assert!(!clean.contains("HL*3*") && !clean.contains("PAT*19"));
    assert!(clean.contains("CLM*C-2001") && !clean.contains("CLM*C-2002"));
    let held = String::from_utf8(read(&out.join("held.837"))).unwrap();
    assert!(held.contains("HL*2*1*22*1~") && held.contains("CLM*C-2002"));
}

/// The envelopes of an 837P written by claimscrub: (ISA13, [(GS06, GE01, [(ST02, SE01, segments
/// counted, claims)])]).
type Envelopes = Vec<(
    String,
    Vec<(String, String, Vec<(String, String, usize, usize)>)>,
)>;

fn envelopes(text: &[u8]) -> Envelopes {
    let mut out: Envelopes = Vec::new();
    let mut at = 0;
    while at < text.len() {
        if text[at].is_ascii_whitespace() {
            at += 1;
            continue;
        }
        let el = text[at + 3];
        let term = text[at + 105];
        let mut segs = Vec::new();
        let mut pos = at;
        loop {
            let n = text[pos..].iter().position(|&c| c == term).unwrap();
            let seg = String::from_utf8_lossy(&text[pos..pos + n]).into_owned();
            pos += n + 1;
            while pos < text.len() && (text[pos] == b'\n' || text[pos] == b'\r') {
                pos += 1;
            }
            let done = seg.starts_with("IEA");
            segs.push(seg.split(el as char).map(String::from).collect::<Vec<_>>());
            if done {
                break;
            }
        }
        at = pos;
        let mut groups = Vec::new();
        let mut sets = Vec::new();
        let mut count = 0;
        let mut claims = 0;
        let mut st = String::new();
        for s in &segs {
            match s[0].as_str() {
                "ST" => {
                    count = 1;
                    claims = 0;
                    st = s[2].clone();
                }
                "SE" => {
                    count += 1;
                    sets.push((st.clone(), s[1].clone(), count, claims));
                }
                "GE" => groups.push((s[2].clone(), s[1].clone(), std::mem::take(&mut sets))),
                "CLM" => {
                    count += 1;
                    claims += 1;
                }
                "ISA" | "GS" | "IEA" => {}
                _ => count += 1,
            }
        }
        out.push((segs[0][13].clone(), groups));
    }
    out
}

/// Per interchange (ISA13), per group (GS06), per transaction (ST02): its claims.
type Claims = Vec<(String, Vec<(String, Vec<(String, usize)>)>)>;

#[test]
fn two_interchanges_each_with_its_separators_are_read_in_order_and_empty_envelopes_left_out() {
    let out = scratch("x12_two_interchanges");
    let o = scrub_with(
        &fixture("two_interchanges/claims.837"),
        "two_interchanges",
        &out,
        &[],
    );
    ok(&o);
    let s = summary(&out);
    assert_eq!(s["x12"]["claims"], 5);
    assert_eq!(s["accounting"]["claims_rows_read"], 6);
    let (_, held) = read_csv(&out.join("held.csv"));
    let held: Vec<&str> = held.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(held, ["C-1002", "C-2003"]);
    // clean: both interchanges; the first one's second transaction (only C-1002) is left out
    let clean = read(&out.join("clean.837"));
    let e = envelopes(&clean);
    let counts = |e: &Envelopes| -> Claims {
        e.iter()
            .map(|(isa, groups)| {
                (
                    isa.clone(),
                    groups
                        .iter()
                        .map(|(gs, ge01, sets)| {
                            assert_eq!(ge01, &sets.len().to_string(), "GE01 of {gs}");
                            (
                                gs.clone(),
                                sets.iter()
                                    .map(|(st, se01, counted, claims)| {
                                        assert_eq!(se01, &counted.to_string(), "SE01 of {st}");
                                        (st.clone(), *claims)
                                    })
                                    .collect(),
                            )
                        })
                        .collect(),
                )
            })
            .collect()
    };
    assert_eq!(
        counts(&e),
        [
            (
                "000000001".to_string(),
                vec![("7".to_string(), vec![("0001".to_string(), 1)])]
            ),
            (
                "000000002".to_string(),
                vec![("1".to_string(), vec![("0001".to_string(), 2)])]
            ),
        ]
    );
    // the second interchange keeps its own separators
    let text = String::from_utf8_lossy(&clean);
    assert!(text.contains("CLM+C-2001+85+++11<B<1+Y+A+Y+Y'"));
    let e = envelopes(&read(&out.join("held.837")));
    assert_eq!(
        counts(&e),
        [
            (
                "000000001".to_string(),
                vec![("7".to_string(), vec![("0002".to_string(), 1)])]
            ),
            (
                "000000002".to_string(),
                vec![("1".to_string(), vec![("0001".to_string(), 1)])]
            ),
        ]
    );
}

#[test]
fn clean_837_scrubs_clean_again() {
    let dir = scratch("x12_clean_again");
    for folder in ["basic", "dependent", "two_interchanges"] {
        let first = dir.join(format!("{folder}-1"));
        ok(&scrub_with(
            &fixture(&format!("{folder}/claims.837")),
            folder,
            &first,
            &[],
        ));
        let again = dir.join(format!("{folder}-2"));
        ok(&scrub_with(&first.join("clean.837"), folder, &again, &[]));
        assert_eq!(summary(&again)["claims"]["held"], 0, "{folder}");
        assert_eq!(
            read(&again.join("clean.csv")),
            read(&first.join("clean.csv")),
            "{folder}"
        );
        assert_eq!(
            read(&again.join("clean.837")),
            read(&first.join("clean.837")),
            "{folder}"
        );
    }
}

#[test]
fn claims_that_cannot_be_mapped_are_malformed_whole_named_by_segment_and_held() {
    let out = scratch("x12_malformed");
    ok(&scrub_with(
        &fixture("malformed/claims.837"),
        "malformed",
        &out,
        &[],
    ));
    let (_, rows) = read_csv(&out.join("malformed.csv"));
    let got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    let want: Vec<(&str, &str, &str)> = vec![
        ("claims.837", "19", "segment 18 (HI): service lines with no CLM before them in their HL loop"),
        ("claims.837", "28", "segment 29 (SV1): SV101 `HC` has no procedure code"),
        ("claims.837", "31", "segment 29 (SV1): SV101 `HC` has no procedure code"),
        ("claims.837", "36", "segment 37 (SV1): diagnosis pointer 3 names no code (the claim's HI has 2)"),
        ("claims.837", "41", "segment 41 (LX): the line has no service date (DTP*472 in its 2400 or 2300 loop)"),
        ("claims.837", "45", "segment 46 (SV1): unit basis SV103 `MJ` is not UN: claimscrub reads units, not minutes"),
        ("claims.837", "50", "segment 51 (SV1): SV104 (units): `1.5` is not an integer"),
        ("claims.837", "58", "segment 58 (CLM): the claim has no service line (LX)"),
        ("claims.837", "62", "segment 63 (SV1): SV102 (charge): `40.0.0` is not a plain decimal amount"),
        ("claims.837", "67", "segment 67 (LX): LX01 `0` is not a line number ≥ 1"),
        ("claims.837", "72", "segment 74 (DTP): DTP03 `20250230` is not a date"),
    ];
    let want: Vec<(String, String, String)> = want
        .into_iter()
        .map(|(a, b, c)| (a.into(), b.into(), c.into()))
        .collect();
    assert_eq!(got, want);
    // raw: the claim's segments from CLM to the next claim, for every line of it
    assert_eq!(
        rows[1][3],
        "CLM*M-2*80***11:B:1*Y*A*Y*Y~HI*ABK:M5450~LX*1~SV1*HC*40*UN*1***1~DTP*472*D8*20250310~LX*2~SV1*HC:97124*40*UN*1***1~DTP*472*D8*20250310~"
    );
    assert_eq!(rows[2][3], rows[1][3]);
    assert_eq!(
        rows[0][3],
        "HI*ABK:M5450~LX*1~SV1*HC:97124*40*UN*1***1~DTP*472*D8*20250310~"
    );
    // the one claim that maps (its date from the 2300 loop) is scrubbed; nothing is lost
    let (_, clean) = read_csv(&out.join("clean.csv"));
    assert_eq!(clean.len(), 1);
    assert_eq!(clean[0][0], "M-7");
    assert_eq!(clean[0][7], "2025-03-11");
    let s = summary(&out);
    let a = &s["accounting"];
    // 11 service lines and a claim without any
    assert_eq!(a["claims_rows_read"], 12);
    assert_eq!(a["malformed_claims_rows"], 11);
    assert_eq!(a["balanced"], true);
    assert_eq!(s["claims"]["held_with_only_malformed_rows"], 9);
    // held.837 holds the malformed claims as read
    let held = String::from_utf8(read(&out.join("held.837"))).unwrap();
    for id in [
        "M-2", "M-3", "M-4", "M-5", "M-6", "M-8", "M-9", "M-10", "M-11",
    ] {
        assert!(held.contains(&format!("CLM*{id}*")), "{id}");
    }
    assert!(!held.contains("CLM*M-7*"));
    assert_eq!(s["x12"]["held.837"]["claims"], 10);
}

#[test]
fn a_broken_interchange_stops_the_run_naming_the_segment_and_leaves_nothing() {
    let cases = [
        ("no_isa.837", "no_isa.837: segment 1: expected an ISA segment"),
        ("bad_isa.837", "bad_isa.837: segment 1 (ISA): the element, component and segment separators must differ"),
        ("empty.837", "empty.837: segment 1: the file is empty"),
        ("no_iea.837", "the file ends after segment 46: the interchange opened by ISA at segment 1 has no IEA"),
        ("no_ge.837", "segment 46 (IEA): the functional group opened by GS at segment 2 has no GE"),
        ("no_se.837", "segment 45 (GE): the transaction set opened by ST at segment 3 has no SE"),
        ("bad_se_count.837", "segment 45 (SE): SE01 `40` counts segments, and there are 43"),
        ("bad_control_number.837", "segment 45 (SE): SE02 `0002` is not the control number `0001` of ST02 at segment 3"),
        ("truncated.837", "segment 30: the file ends inside it"),
        ("not_837.837", "segment 3 (ST): transaction set `835` is not an 837"),
        ("institutional.837", "segment 3 (ST): ST03 `005010X223A2` is not an 837P"),
        ("hl_parent.837", "segment 33 (HL): HL02 `9` names no HL loop that encloses this one"),
    ];
    let dir = scratch("x12_broken");
    for (file, message) in cases {
        let out = dir.join(file);
        let o = scrub_with(&fixture(&format!("broken/{file}")), "basic", &out, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(message), "{file}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{file}: one line: {err}");
        assert!(!out.exists(), "{file}: no output left");
    }
}

#[test]
fn an_837p_is_found_in_input_dir_or_by_its_isa_whatever_its_name() {
    let dir = scratch("x12_found");
    let inputs = dir.join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    for f in ["sessions.csv", "prescriptions.csv"] {
        std::fs::copy(fixture("basic").join(f), inputs.join(f)).unwrap();
    }
    let base = dir.join("base");
    ok(&scrub_with(
        &fixture("basic/claims.837"),
        "basic",
        &base,
        &[],
    ));
    for name in ["claims.edi", "claims.x12"] {
        std::fs::copy(fixture("basic/claims.837"), inputs.join(name)).unwrap();
        let out = dir.join(name);
        let o = bin()
            .arg("scrub")
            .arg(&inputs)
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .output()
            .unwrap();
        ok(&o);
        assert_eq!(read(&out.join("clean.837")), read(&base.join("clean.837")));
        std::fs::remove_file(inputs.join(name)).unwrap();
    }
    // any name, when the content starts with ISA (after blank space)
    let odd = dir.join("from-clearinghouse.txt");
    let mut text = b"\n  ".to_vec();
    text.extend(read(&fixture("basic/claims.837")));
    std::fs::write(&odd, text).unwrap();
    let out = dir.join("txt");
    ok(&scrub_with(&odd, "basic", &out, &[]));
    assert_eq!(read(&out.join("held.csv")), read(&base.join("held.csv")));
    // a .txt that is not X12 is still an unknown format
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "claim_id,line_no\n").unwrap();
    let o = scrub_with(&notes, "basic", &dir.join("notes"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown format"));
}

#[test]
fn scrubbed_in_parts_an_837p_gives_the_same_outputs() {
    let dir = scratch("x12_parts");
    let (one, three) = (dir.join("one"), dir.join("three"));
    let claims = fixture("two_interchanges/claims.837");
    ok(&scrub_with(&claims, "two_interchanges", &one, &[]));
    ok(&scrub_with(
        &claims,
        "two_interchanges",
        &three,
        &["--parts", "3"],
    ));
    for f in TABLES.iter().chain(&["clean.837", "held.837"]) {
        assert_eq!(read(&one.join(f)), read(&three.join(f)), "{f}");
    }
}

#[test]
fn sbr09_goes_through_the_policys_x12_payer_type_table() {
    let dir = scratch("x12_policy");
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[x12.payer_type]\nCI = \"workers_comp\"\n").unwrap();
    let out = dir.join("out");
    ok(&scrub_with(
        &fixture("basic/claims.837"),
        "basic",
        &out,
        &["--policy", policy.to_str().unwrap()],
    ));
    let (_, held) = read_csv(&out.join("held.csv"));
    assert_eq!(held[0][3], "workers_comp");
    // WC kept its built-in entry
    let (_, clean) = read_csv(&out.join("clean.csv"));
    assert_eq!(clean[0][3], "workers_comp");
    std::fs::write(&policy, "[x12.payer_type]\nCI = \"blue_plan\"\n").unwrap();
    let o = scrub_with(
        &fixture("basic/claims.837"),
        "basic",
        &dir.join("bad"),
        &["--policy", policy.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("x12.payer_type.CI: no profile `blue_plan`")
    );
}

#[test]
fn an_earlier_runs_837p_outputs_do_not_outlive_it() {
    let dir = scratch("x12_earlier_outputs");
    let out = dir.join("out");
    ok(&scrub_with(
        &fixture("basic/claims.837"),
        "basic",
        &out,
        &[],
    ));
    assert!(out.join("held.837").exists());
    // the same claims as CSV: no 837P outputs any more
    ok(&scrub_with(
        &fixture("basic/claims.csv"),
        "basic",
        &out,
        &[],
    ));
    assert!(!out.join("held.837").exists() && !out.join("clean.837").exists());
    assert!(!std::fs::read_dir(&out).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".claimscrub-x12")));
}

/// A small deterministic generator (xorshift), for mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Mutations of the fixtures: bytes changed to separators and digits, spans cut out or doubled,
/// the file cut short. The reader must never panic; what it reads, the writers must write, and
/// what they write must read again with every count right.
#[test]
fn mutated_837ps_never_panic_and_what_is_read_is_written_whole() {
    use claimscrub::input::x12::X12Claims;
    let policy = claimscrub::reference::policy::Policy::builtin();
    let dir = scratch("x12_mutations");
    let seeds = [
        "basic/claims.837",
        "basic/one_line.837",
        "basic/odd_separators.837",
        "dependent/claims.837",
        "two_interchanges/claims.837",
        "malformed/claims.837",
    ];
    let pieces: &[&[u8]] = &[
        b"*",
        b"~",
        b":",
        b"^",
        b"\n",
        b"\r\n",
        b"HL*",
        b"CLM*",
        b"LX*1~",
        b"SE*",
        b"ISA",
        b"IEA*1*",
        b"0",
        b"9",
        b"",
        b"\xff",
        b"HL*9*9*23*1~",
        b"SV1*HC:97124*40*UN*1***1:7~",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut read_ok, mut read_err) = (0, 0);
    for round in 0..1000 {
        let seed = read(&fixture(seeds[round % seeds.len()]));
        let mut b = seed.clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(b.len());
            match rng.below(5) {
                0 => {
                    b[at] = pieces[rng.below(pieces.len())]
                        .first()
                        .copied()
                        .unwrap_or(b'~')
                }
                1 => {
                    let end = (at + rng.below(40)).min(b.len());
                    b.drain(at..end);
                }
                2 => {
                    let end = (at + rng.below(60)).min(b.len());
                    let copy = b[at..end].to_vec();
                    b.splice(at..at, copy);
                }
                3 => {
                    let p = pieces[rng.below(pieces.len())];
                    b.splice(at..at, p.iter().copied());
                }
                _ => b.truncate(at),
            }
            if b.is_empty() {
                break;
            }
        }
        let path = dir.join("m.837");
        std::fs::write(&path, &b).unwrap();
        let out = dir.join("out");
        match X12Claims::read(&path, &policy, &out) {
            Err(e) => {
                read_err += 1;
                let m = e.to_string();
                assert!(m.starts_with("m.837: "), "round {round}: {m}");
            }
            Ok(x) => {
                read_ok += 1;
                let held: Vec<bool> = (0..x.claims()).map(|_| rng.below(3) == 0).collect();
                let (c, h) = (dir.join("c.837"), dir.join("h.837"));
                let w = claimscrub::output::x12::write(&x, &held, &c, &h)
                    .unwrap_or_else(|e| panic!("round {round}: written after read: {e}"));
                assert_eq!(
                    (w.clean_claims + w.held_claims) as usize,
                    x.claims(),
                    "round {round}"
                );
                for (f, n) in [(&c, w.clean_claims), (&h, w.held_claims)] {
                    if n == 0 {
                        assert!(!f.exists());
                        continue;
                    }
                    let again = X12Claims::read(f, &policy, &dir.join("again"))
                        .unwrap_or_else(|e| panic!("round {round}: output reads again: {e}"));
                    assert_eq!(again.claims() as u64, n, "round {round}");
                    std::fs::remove_file(f).unwrap();
                }
            }
        }
    }
    eprintln!("mutations: {read_ok} read, {read_err} refused");
    // the mutations reach both sides
    assert!(
        read_ok > 100 && read_err > 100,
        "{read_ok} read, {read_err} refused"
    );
}

/// One generated batch as CSV and as 837P (`generate --format 837`, the converter no reader code
/// shares): scrubbed, both give the same findings, clean and held claims (but for the claims the
/// converter lists as left out), and the 837P run finds exactly its truth.
#[test]
fn a_generated_batch_as_csv_and_as_837p_gives_the_same_findings_and_claims() {
    let dir = scratch("x12_generated_both_forms");
    let gen = |format: &str| {
        let d = dir.join(format);
        let o = bin()
            .args([
                "generate", "--claims", "20000", "--seed", "9", "--format", format, "--out",
            ])
            .arg(&d)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = d.join("out");
        let o = bin()
            .arg("scrub")
            .arg(&d)
            .arg("--out")
            .arg(&out)
            .arg("--mue")
            .arg(d.join("mue.csv"))
            .arg("--ncci")
            .arg(d.join("ncci.txt"))
            .arg("--quiet")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        d
    };
    let (csv_dir, x12_dir) = (gen("csv"), gen("837"));
    let left_out: std::collections::BTreeSet<String> = {
        let (h, rows) = read_csv(&x12_dir.join("claims_left_out.csv"));
        let c = h.iter().position(|n| n == "claim_id").unwrap();
        rows.into_iter().map(|r| r[c].clone()).collect()
    };
    let keyed = |path: &Path, cols: &[&str]| -> std::collections::BTreeSet<Vec<String>> {
        let (h, rows) = read_csv(path);
        let idx: Vec<usize> = cols
            .iter()
            .map(|c| h.iter().position(|n| n == c).unwrap())
            .collect();
        rows.into_iter()
            .map(|r| idx.iter().map(|&i| r[i].clone()).collect::<Vec<_>>())
            .filter(|r| !left_out.contains(&r[0]))
            .collect()
    };
    // messages echo codes as written, and 837P writes ICD-10 codes without their dot
    let finding = ["claim_id", "line_no", "rule", "severity", "carc"];
    let line = [
        "claim_id",
        "line_no",
        "patient_id",
        "cpt",
        "units",
        "charge",
    ];
    assert_eq!(
        keyed(&csv_dir.join("out/rejections.csv"), &finding),
        keyed(&x12_dir.join("out/rejections.csv"), &finding)
    );
    for f in ["out/clean.csv", "out/held.csv"] {
        assert_eq!(
            keyed(&csv_dir.join(f), &line),
            keyed(&x12_dir.join(f), &line),
            "{f}"
        );
    }
    let rule = ["claim_id", "line_no", "rule"];
    assert_eq!(
        keyed(&x12_dir.join("out/rejections.csv"), &rule),
        keyed(&x12_dir.join("truth.csv"), &rule)
    );
    assert!(x12_dir.join("out/clean.837").is_file() && x12_dir.join("out/held.837").is_file());
}
