//! The command line of SPEC §1 run for real: exit statuses, errors, formats and reruns.

mod common;

use std::path::Path;

use common::{bin, repo, scratch, scrub, scrub_ok};

const OUTPUTS: [&str; 4] = ["rejections.csv", "clean.csv", "held.csv", "malformed.csv"];

use common::small_batch;

/// Edit an input file in place.
fn replace_in(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap().replace(from, to);
    std::fs::write(file, text).unwrap();
}

#[test]
fn spec_example_is_clean_and_a_patient_without_documents_is_held() {
    let input = scratch("cli-small-in");
    small_batch(&input);
    let out = scratch("cli-small-out");
    scrub_ok(&input, &out, &[]);
    let clean = std::fs::read_to_string(out.join("clean.csv")).unwrap();
    assert_eq!(clean.lines().count(), 3, "{clean}");
    let held = std::fs::read_to_string(out.join("held.csv")).unwrap();
    assert!(
        held.ends_with(
            "C-1002,1,P-78,commercial,1234567893,,,2025-03-10,97124,,1,40.00,M54.50,RX_MISSING\n"
        ),
        "{held}"
    );
    let rej = std::fs::read_to_string(out.join("rejections.csv")).unwrap();
    assert_eq!(
        rej,
        "claim_id,line_no,patient_id,service_date,cpt,payer_type,rule,severity,carc,rarc,carc_text,rarc_text,message,charge\n\
         C-1002,1,P-78,2025-03-10,97124,commercial,RX_MISSING,reject,197,M62,Precertification/authorization/notification/pre-treatment absent.,Missing/incomplete/invalid treatment authorization code.,\"patient P-78 has no prescription, referral or recommendation on file\",40.00\n"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["accounting"]["claims_rows_read"], 3);
    assert_eq!(summary["accounting"]["balanced"], true);
    assert_eq!(summary["claims"]["held"], 1);
    assert_eq!(summary["not_checked"][0]["rule"], "UNITS_OVER_MUE");
    // --fail-on-hold turns a held claim into exit 1
    assert_eq!(
        scrub(&input, &scratch("cli-small-out2"), &["--fail-on-hold"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn missing_required_column_stops_with_exit_2_and_no_output() {
    let input = scratch("cli-nocol-in");
    small_batch(&input);
    replace_in(&input.join("sessions.csv"), ",minutes,", ",mins,");
    let out = scratch("cli-nocol-out").join("fresh");
    let o = scrub(&input, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("sessions.csv") && err.contains("`minutes`"),
        "{err}"
    );
    assert!(!out.exists(), "no output folder is left behind");
}

#[test]
fn missing_file_and_bad_policy_exit_2_leaving_earlier_outputs_whole() {
    let input = scratch("cli-nofile-in");
    small_batch(&input);
    let out = scratch("cli-nofile-out");
    assert_eq!(scrub(&input, &out, &[]).status.code(), Some(0));
    let before = std::fs::read(out.join("rejections.csv")).unwrap();

    std::fs::remove_file(input.join("prescriptions.csv")).unwrap();
    let o = scrub(&input, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("prescriptions"));
    small_batch(&input);

    let policy = input.join("bad.toml");
    std::fs::write(
        &policy,
        "timed_codes = [\"97124\"]\n[profiles.medicare]\nunit_rule = \"eight_minutes\"\n",
    )
    .unwrap();
    let o = scrub(&input, &out, &["--policy", policy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("bad.toml"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(out.join("rejections.csv")).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    // the five outputs and the marker of the first run, no staging folder
    assert_eq!(leftovers.len(), 6, "{leftovers:?}");
}

#[test]
fn unknown_option_exits_2() {
    let o = bin()
        .args(["scrub", "x", "--out", "y", "--hold", "visit"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let input = scratch("cli-parts0-in");
    small_batch(&input);
    let o = scrub(&input, &scratch("cli-parts0-out"), &["--parts", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--parts 0"));
}

#[test]
fn rerun_and_thread_count_give_byte_identical_outputs() {
    let demo = repo("fixtures/demo");
    let mue = demo.join("mue-example.csv");
    let runs: Vec<_> = [("1", "rerun-a"), ("1", "rerun-b"), ("2", "rerun-c")]
        .iter()
        .map(|(threads, name)| {
            let out = scratch(name);
            scrub_ok(
                &demo,
                &out,
                &["--threads", threads, "--mue", mue.to_str().unwrap()],
            );
            out
        })
        .collect();
    for name in OUTPUTS {
        let first = std::fs::read(runs[0].join(name)).unwrap();
        for other in &runs[1..] {
            assert!(
                first == std::fs::read(other.join(name)).unwrap(),
                "{name} differs between runs"
            );
        }
    }
}

#[test]
fn gzip_and_parquet_inputs_give_the_same_findings_as_csv() {
    let input = scratch("cli-formats-in");
    small_batch(&input);
    let csv_out = scratch("cli-formats-csv");
    assert_eq!(scrub(&input, &csv_out, &[]).status.code(), Some(0));

    // the same three files as .csv.gz and as .parquet
    let gz = scratch("cli-formats-gz");
    let pq = scratch("cli-formats-pq");
    for name in ["claims", "sessions", "prescriptions"] {
        let text = std::fs::read(input.join(format!("{name}.csv"))).unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, &text).unwrap();
        std::fs::write(gz.join(format!("{name}.csv.gz")), enc.finish().unwrap()).unwrap();
        common::parquet::csv_to_parquet(
            &input.join(format!("{name}.csv")),
            &pq.join(format!("{name}.parquet")),
        );
    }
    // each also in two parts by patient
    for (dir, parts) in [(&gz, "1"), (&pq, "1"), (&gz, "2"), (&pq, "2")] {
        let out = scratch(&format!(
            "{}-out-{parts}",
            dir.file_name().unwrap().to_string_lossy()
        ));
        scrub_ok(dir, &out, &["--parts", parts]);
        for name in ["rejections.csv", "clean.csv", "held.csv"] {
            assert_eq!(
                std::fs::read_to_string(out.join(name)).unwrap(),
                std::fs::read_to_string(csv_out.join(name)).unwrap(),
                "{name} from {} in {parts} parts",
                dir.display()
            );
        }
    }
}

#[test]
fn parquet_outputs_hold_the_same_rows() {
    let input = scratch("cli-pqout-in");
    small_batch(&input);
    let out = scratch("cli-pqout-out");
    scrub_ok(&input, &out, &["--format", "parquet"]);
    let t = common::parquet::read(&out.join("held.parquet"));
    assert_eq!(t.height(), 1);
    assert_eq!(t.names.last().unwrap(), "hold_rules");
    let t = common::parquet::read(&out.join("clean.parquet"));
    assert_eq!(t.height(), 2);
}

#[test]
fn rules_and_policy_commands_print_the_catalogue_and_a_usable_policy() {
    let o = bin().arg("rules").output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    // a line per rule (and the header), each code's official text indented below it
    assert_eq!(
        text.lines().filter(|l| !l.starts_with(' ')).count(),
        claimscrub::rules::Rule::ALL.len() + 1
    );
    assert!(text.contains("KX_MODIFIER_MISSING") && text.contains("CARC 119: Benefit maximum"));
    assert!(text.contains("\n                             CARC 198: Precertification/notification/authorization/pre-treatment exceeded."), "{text}");
    assert!(text.contains("RX_SESSIONS_EXCEEDED") && text.contains("198") && text.contains("N54"));

    let o = bin().arg("policy").output().unwrap();
    let dir = scratch("cli-policy");
    std::fs::write(dir.join("policy.toml"), &o.stdout).unwrap();
    small_batch(&dir);
    let a = scratch("cli-policy-a");
    let b = scratch("cli-policy-b");
    assert_eq!(scrub(&dir, &a, &[]).status.code(), Some(0));
    assert_eq!(
        scrub(
            &dir,
            &b,
            &["--policy", dir.join("policy.toml").to_str().unwrap()]
        )
        .status
        .code(),
        Some(0)
    );
    assert_eq!(
        std::fs::read(a.join("rejections.csv")).unwrap(),
        std::fs::read(b.join("rejections.csv")).unwrap()
    );
}

/// A one-line batch on a date of FY2027 (2026-10-15), no built-in code set covers it.
fn fy2027_batch(dir: &Path, dx: &str) {
    common::write_batch(
        dir,
        &format!(
            "C-1,1,P-77,workers_comp,1234567893,1999999992,RX-56,2026-10-15,97124,,1,40.00,{dx}\n"
        ),
        "S-1,P-77,1234567893,2026-10-15,97124,15,swedish,\n",
        "RX-56,P-77,1999999992,prescription,S13.4XXA;M54.2;Q99.9,12,2026-10-01,2026-12-31,,,,,\n",
    );
}

fn rules_of(out: &Path) -> Vec<String> {
    common::project(&out.join("rejections.csv"), &["rule".to_string()])
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

#[test]
fn icd10_loads_a_further_year_in_both_layouts() {
    let input = scratch("cli-icd-in");
    fy2027_batch(&input, "M54.2");
    // without FY2027 the nearest set (FY2026) is used, with a warning and a not-checked note
    let out = scratch("cli-icd-none");
    assert_eq!(scrub(&input, &out, &[]).status.code(), Some(0));
    assert_eq!(rules_of(&out), ["DX_CODESET_UNAVAILABLE"]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["rule"] == "DX_UNKNOWN"));

    // a made-up FY2027 in the project's TSV layout where M54.2 became a header of M54.20
    let tsv = input.join("icd10cm_fy2027.tsv");
    std::fs::write(&tsv, "code\tbillable\tshort_description\nM542\t0\tCervicalgia\nM5420\t1\tCervicalgia, unspecified\nS134XXA\t1\tSprain\n").unwrap();
    let out = scratch("cli-icd-tsv");
    assert_eq!(
        scrub(&input, &out, &["--icd10", tsv.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(rules_of(&out), ["DX_NOT_BILLABLE"]);
    let rej = std::fs::read_to_string(out.join("rejections.csv")).unwrap();
    assert!(
        rej.contains("M54.2 is a header in FY2027; bill M54.20"),
        "{rej}"
    );

    // the same year in CMS's order-file layout, named by FY=; a code it lacks is DX_UNKNOWN
    let order = input.join("codes.txt");
    std::fs::write(
        &order,
        "00001 M542    0 Cervicalgia                                                  Cervicalgia\n\
         00002 M5420   1 Cervicalgia, unspecified                                     Cervicalgia, unspecified\n",
    )
    .unwrap();
    fy2027_batch(&input, "S13.4XXA");
    let out = scratch("cli-icd-order");
    let arg = format!("FY2027={}", order.display());
    assert_eq!(
        scrub(&input, &out, &["--icd10", &arg]).status.code(),
        Some(0)
    );
    assert_eq!(rules_of(&out), ["DX_UNKNOWN"]);
}

#[test]
fn a_policy_can_add_a_payer_with_its_own_rules() {
    let input = scratch("cli-policy2-in");
    small_batch(&input);
    replace_in(&input.join("claims.csv"), "workers_comp", "Tricare");
    // the built-in policy knows no tricare: those rows are malformed, the claim held whole
    let out = scratch("cli-policy2-builtin");
    assert_eq!(scrub(&input, &out, &[]).status.code(), Some(0));
    let (_, malformed) = common::read_csv(&out.join("malformed.csv"));
    assert_eq!(malformed.len(), 2);
    assert!(malformed[0][2].contains("payer_type"), "{:?}", malformed[0]);
    // a policy with a tricare profile: CMS rule, GP required, an MUE of 1 for 97140
    let policy = input.join("policy.toml");
    let builtin = String::from_utf8(bin().arg("policy").output().unwrap().stdout).unwrap();
    std::fs::write(&policy, builtin + "\n[profiles.tricare]\nunit_rule = \"cms\"\nrequired_modifiers = [\"GP\"]\nmue = { \"97140\" = 1 }\n").unwrap();
    let out = scratch("cli-policy2-custom");
    assert_eq!(
        scrub(&input, &out, &["--policy", policy.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    let got = common::project(
        &out.join("rejections.csv"),
        &["line_no".to_string(), "rule".to_string()],
    );
    let got: Vec<String> = got.iter().map(|r| r.join(" ")).collect();
    // 97140 25 min + 97124 15 min pooled: 40 min = 3 units, 2 + 1 billed: the units are right
    // and C-1002 (commercial, patient without documents) stays as it was
    assert_eq!(
        got,
        [
            "1 MODIFIER_MISSING",
            "1 UNITS_OVER_MUE",
            "2 MODIFIER_MISSING",
            "1 RX_MISSING"
        ]
    );
}

#[test]
fn a_claim_whose_lines_name_two_patients_is_held_whole_in_any_number_of_parts() {
    // C-1's second line names P-2 (a keying slip): P-1 and P-2 fall in different parts, the
    // claim must still be one claim, held whole because its P-2 line has no documents
    let (p1, p2) = ("P-1", "P-2");
    let parts = (2..16)
        .find(|&k| {
            claimscrub::input::table::part_of_key(p1, k)
                != claimscrub::input::table::part_of_key(p2, k)
        })
        .expect("two parts that separate the patients");
    let input = scratch("cli-split-claim-in");
    common::write_batch(
        &input,
        "C-1,1,P-1,commercial,1234567893,1999999992,RX-1,2025-03-10,97124,,1,40.00,M54.50\n\
         C-1,2,P-2,commercial,1234567893,1999999992,,2025-03-10,97140,,1,40.00,M54.50\n\
         C-2,1,P-1,commercial,1234567893,1999999992,RX-1,2025-03-12,97124,,1,40.00,M54.50\n",
        "S-1,P-1,1234567893,2025-03-10,97124,15,swedish,\n\
         S-2,P-2,1234567893,2025-03-10,97140,15,swedish,\n\
         S-3,P-1,1234567893,2025-03-12,97124,15,swedish,\n",
        "RX-1,P-1,1999999992,prescription,M54.50,12,2025-02-15,2025-05-15,2,97124;97140,,,0\n",
    );
    let mut seen = Vec::new();
    for k in ["1".to_string(), parts.to_string()] {
        let out = scratch(&format!("cli-split-claim-out-{k}"));
        scrub_ok(&input, &out, &["--parts", &k]);
        let held = std::fs::read_to_string(out.join("held.csv")).unwrap();
        assert_eq!(held.lines().count(), 3, "--parts {k}: {held}");
        assert!(
            held.contains("C-1,1,P-1") && held.contains("C-1,2,P-2"),
            "{held}"
        );
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["claims"]["total"], 2, "--parts {k}");
        assert_eq!(summary["claims"]["held"], 1, "--parts {k}");
        seen.push(held);
    }
    assert_eq!(seen[0], seen[1]);
}

#[test]
fn malformed_rows_are_counted_by_input_even_when_two_inputs_share_a_file_name() {
    // claims and sessions both named `batch.csv` (in two folders), one malformed row in each
    let input = scratch("cli-samename-in");
    small_batch(&input);
    replace_in(&input.join("claims.csv"), "C-1002,1,", "C-1002,x,");
    replace_in(
        &input.join("sessions.csv"),
        "S-9002,P-78,1234567893,2025-03-10,97124,15",
        "S-9002,P-78,1234567893,2025-03-10,97124,-5",
    );
    let (a, b) = (input.join("a"), input.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::rename(input.join("claims.csv"), a.join("batch.csv")).unwrap();
    std::fs::rename(input.join("sessions.csv"), b.join("batch.csv")).unwrap();
    let mut seen = Vec::new();
    for parts in ["1", "3"] {
        let out = scratch(&format!("cli-samename-out-{parts}"));
        let (a, b) = (a.join("batch.csv"), b.join("batch.csv"));
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        // INPUT_DIR gives the prescriptions; the flags the two files of the same name
        scrub_ok(
            &input,
            &out,
            &["--parts", parts, "--claims", a, "--sessions", b],
        );
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(
            summary["inputs"]["claims"]["malformed_rows"], 1,
            "--parts {parts}"
        );
        assert_eq!(
            summary["inputs"]["sessions"]["malformed_rows"], 1,
            "--parts {parts}"
        );
        assert_eq!(
            summary["accounting"]["malformed_claims_rows"], 1,
            "--parts {parts}"
        );
        let held = std::fs::read_to_string(out.join("held.csv")).unwrap();
        assert_eq!(held.lines().count(), 1, "nothing else held: {held}");
        let malformed = std::fs::read_to_string(out.join("malformed.csv")).unwrap();
        seen.push(malformed);
    }
    assert_eq!(seen[0], seen[1]);
    // claims' rows first, then sessions'
    let rows: Vec<&str> = seen[0].lines().skip(1).collect();
    assert!(
        rows[0].contains("C-1002") && rows[1].contains("S-9002"),
        "{rows:?}"
    );
}
