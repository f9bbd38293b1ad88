//! What real exports and new users trip over (issue "First contact"): each test ran the real binary
//! on files the way practice systems and spreadsheets write them, and failed before the fix.

mod common;

use std::path::Path;

use common::{bin, scratch, scrub, scrub_ok, write_batch};

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// Two Medicare lines of one visit, documented, with a prescription that limits pressure.
fn batch(dir: &Path) {
    write_batch(
        dir,
        "C-1,1,P-1,medicare,1234567893,,RX-1,2025-03-10,97140,GP,2,90.00,M54.50\n\
         C-1,2,P-1,medicare,1234567893,,RX-1,2025-03-10,97124,GP,1,40.00,M54.50\n\
         C-2,1,P-2,commercial,1234567893,,,2025-03-11,97124,,1,40.00,M54.50\n",
        "S-1,P-1,1234567893,2025-03-10,97140,25,myofascial,\n\
         S-1,P-1,1234567893,2025-03-10,97124,15,deep_tissue,\n\
         S-2,P-2,1234567893,2025-03-11,97124,15,swedish,\n",
        "RX-1,P-1,1999999992,prescription,M54.50,12,2025-02-15,2025-05-15,,,,moderate,0\n\
         RX-2,P-2,1999999992,prescription,M54.50,12,2025-02-15,2025-05-15,,,,,0\n",
    );
}

/// A scrub without --quiet, as a user runs it: its exit status and stderr.
fn scrub_loud(input: &Path, out: &Path) -> (Option<i32>, String) {
    let o = bin()
        .arg("scrub")
        .arg(input)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn replace_in(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{from} not in {}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn a_header_that_looks_like_a_known_column_is_a_warning_and_its_rule_is_not_checked() {
    let input = scratch("fc-typo-in");
    batch(&input);
    replace_in(&input.join("claims.csv"), "modifiers", "modifers");
    replace_in(
        &input.join("prescriptions.csv"),
        "max_pressure",
        "max_presure",
    );
    let out = scratch("fc-typo-out");
    let (code, stderr) = scrub_loud(&input, &out);
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains("claims.csv: `modifers` looks like `modifiers`; it was carried through as an extra column"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`max_presure` looks like `max_pressure`"),
        "{stderr}"
    );
    let s = summary(&out);
    assert_eq!(s["warnings"].as_array().unwrap().len(), 2, "{s}");
    let not_checked: Vec<&str> = s["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["rule"].as_str().unwrap())
        .collect();
    assert!(
        not_checked.contains(&"RX_PRESSURE_CONTRAINDICATED"),
        "{not_checked:?}"
    );
    // the same batch with its columns named right: no warning, the pressure rule checked (and firing)
    let input = scratch("fc-typo-fixed-in");
    batch(&input);
    let out = scratch("fc-typo-fixed-out");
    scrub_ok(&input, &out, &[]);
    let s = summary(&out);
    assert_eq!(s["warnings"].as_array().unwrap().len(), 0);
    assert_eq!(s["rules"]["RX_PRESSURE_CONTRAINDICATED"]["findings"], 1);
    assert!(!s["not_checked"].to_string().contains("RX_PRESSURE"));
}

#[test]
fn a_semicolon_separated_file_is_named_as_such() {
    let input = scratch("fc-semicolon-in");
    batch(&input);
    let text = std::fs::read_to_string(input.join("claims.csv")).unwrap();
    std::fs::write(input.join("claims.csv"), text.replace(',', ";")).unwrap();
    let o = scrub(&input, &scratch("fc-semicolon-out"), &[]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("claims.csv: missing required column `claim_id` (the header has one field; the file looks `;`-separated"),
        "{stderr}"
    );
}

#[test]
fn out_holding_an_input_or_foreign_files_is_refused() {
    let input = scratch("fc-out-in");
    batch(&input);
    let before: Vec<_> = std::fs::read_dir(&input).unwrap().collect();
    let o = scrub(&input, &input, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds the input"));
    assert_eq!(
        std::fs::read_dir(&input).unwrap().count(),
        before.len(),
        "nothing written"
    );
    // a folder with a rejections.csv that claimscrub did not write
    let out = scratch("fc-out-foreign");
    std::fs::write(out.join("rejections.csv"), "mine\n").unwrap();
    let o = scrub(&input, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not written by claimscrub"));
    assert_eq!(
        std::fs::read_to_string(out.join("rejections.csv")).unwrap(),
        "mine\n"
    );
    // its own outputs it replaces
    let out = scratch("fc-out-own");
    scrub_ok(&input, &out, &[]);
    scrub_ok(&input, &out, &[]);
    assert!(out.join(".claimscrub").is_file());
}

#[test]
fn a_partial_policy_takes_the_rest_from_the_built_in_one() {
    let input = scratch("fc-policy-in");
    batch(&input);
    let policy = input.join("policy.toml");
    std::fs::write(
        &policy,
        "[profiles.commercial]\nrequired_modifiers = [\"GP\"]\n",
    )
    .unwrap();
    let out = scratch("fc-policy-out");
    scrub_ok(&input, &out, &["--policy", policy.to_str().unwrap()]);
    let s = summary(&out);
    assert_eq!(
        s["rules"]["MODIFIER_MISSING"]["findings"], 1,
        "commercial now needs GP"
    );
    assert_eq!(
        s["accounting"]["malformed_claims_rows"], 0,
        "medicare kept its profile"
    );
}

#[test]
fn a_payer_type_without_a_profile_is_one_warning_with_its_count() {
    let input = scratch("fc-payer-in");
    batch(&input);
    let claims = input.join("claims.csv");
    let text = std::fs::read_to_string(&claims)
        .unwrap()
        .replace("commercial", "tricare");
    std::fs::write(
        &claims,
        text + "C-3,1,P-2,tricare,1234567893,,,2025-03-12,97124,,1,40.00,M54.50\n",
    )
    .unwrap();
    let out = scratch("fc-payer-out");
    let (_, stderr) = scrub_loud(&input, &out);
    assert_eq!(
        stderr
            .matches("payer_type `tricare` has no profile")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("2 claim rows are malformed"), "{stderr}");
    assert!(
        stderr.contains("malformed rows (2 claims rows): "),
        "{stderr}"
    );
}

/// A shifted column makes every row's payer_type another value: five warnings and one line for
/// the rest, not a line a row.
#[test]
fn many_unknown_payer_types_are_five_warnings_and_a_count_of_the_rest() {
    let input = scratch("fc-payers-in");
    batch(&input);
    let claims = input.join("claims.csv");
    let mut text = std::fs::read_to_string(&claims).unwrap();
    for i in 0..40 {
        // payer `plan-0` on one row, `plan-1` on two, …: the most common are told
        for _ in 0..=(i % 8) {
            text += &format!(
                "C-9{i},1,P-9{i},plan-{},1234567893,,,2025-03-12,97124,,1,40.00,M54.50\n",
                i % 8
            );
        }
    }
    std::fs::write(&claims, text).unwrap();
    let out = scratch("fc-payers-out");
    let (_, stderr) = scrub_loud(&input, &out);
    let told: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("payer_type"))
        .collect();
    assert_eq!(told.len(), 6, "{stderr}");
    assert!(told[0].contains("`plan-7` has no profile"), "{stderr}");
    assert!(told[4].contains("`plan-3` has no profile"), "{stderr}");
    // plan-0 … plan-2: 5 rows each of 1, 2 and 3 rows a claim
    assert!(
        told[5].contains("3 more payer_type values have no profile")
            && told[5].contains("30 claim rows are malformed"),
        "{stderr}"
    );
}

#[test]
fn summary_json_says_what_ran_and_counts_charges_as_numbers() {
    let input = scratch("fc-summary-in");
    batch(&input);
    let out = scratch("fc-summary-out");
    scrub_ok(&input, &out, &[]);
    let s = summary(&out);
    assert!(s["started_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(s["command_line"][1], "scrub");
    assert_eq!(s["exit_status"], 0);
    let bytes = std::fs::metadata(input.join("claims.csv")).unwrap().len();
    assert_eq!(s["inputs"]["claims"]["bytes"], bytes);
    assert!(s["inputs"]["claims"]["path"]
        .as_str()
        .unwrap()
        .ends_with("claims.csv"));
    assert!(s["lines"]["held_charges"].is_number(), "{}", s["lines"]);
    assert_eq!(s["lines"]["held_charges"].to_string(), "130.00");
    let c = &s["claims"];
    assert_eq!(
        c["held"].as_u64().unwrap(),
        c["held_with_lines"].as_u64().unwrap()
            + c["held_with_only_malformed_rows"].as_u64().unwrap()
    );
    assert_eq!(c["clean_claim_rate"].to_string(), "50.0");
}

#[test]
fn the_closing_table_totals_and_fits_100_columns() {
    let input = scratch("fc-table-in");
    batch(&input);
    // a line dated after the built-in code sets: a long "not checked" reason
    let claims = input.join("claims.csv");
    let text = std::fs::read_to_string(&claims).unwrap();
    std::fs::write(
        &claims,
        text + "C-4,1,P-2,commercial,1234567893,,,2026-10-05,97124,,1,40.00,M54.50\n\"broken\n",
    )
    .unwrap();
    let out = scratch("fc-table-out");
    let (_, stderr) = scrub_loud(&input, &out);
    assert!(stderr.lines().all(|l| l.chars().count() <= 100), "{stderr}");
    assert!(stderr.contains("held in all"), "{stderr}");
    assert!(stderr.contains("% clean)"), "{stderr}");
    assert!(
        stderr.contains("1 line dated 2026-10-05 has no loaded"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not checked: DX_UNKNOWN, DX_NOT_BILLABLE:"),
        "{stderr}"
    );
    assert!(stderr.contains("malformed.csv"), "{stderr}");
}

#[test]
fn rejections_and_rules_show_the_official_carc_and_rarc_texts() {
    let input = scratch("fc-texts-in");
    batch(&input);
    let out = scratch("fc-texts-out");
    scrub_ok(&input, &out, &[]);
    let rows = common::project(
        &out.join("rejections.csv"),
        &[
            "rule".into(),
            "carc".into(),
            "carc_text".into(),
            "rarc_text".into(),
        ],
    );
    let pressure = rows
        .iter()
        .find(|r| r[0] == "RX_PRESSURE_CONTRAINDICATED")
        .unwrap();
    assert_eq!(pressure[1], "50");
    assert!(
        pressure[2].starts_with("These are non-covered services because"),
        "{pressure:?}"
    );
    let o = bin().arg("rules").output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("CARC 198: "), "{text}");
}

#[test]
fn parquet_inputs_of_every_common_type_read_like_their_csv() {
    use common::parquet::{int32, int64, text, write, Col, Values};
    let input = scratch("fc-pq-in");
    batch(&input);
    let csv_out = scratch("fc-pq-csv");
    scrub_ok(&input, &csv_out, &[]);
    let pq = scratch("fc-pq");
    let day = |d: &str| {
        (chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
            - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
        .num_days() as i32
    };
    // claims: a decimal charge, a date, 16-bit line numbers, unsigned 8-bit units, nulls, text
    // columns dictionary-encoded (the writer's default)
    let claims = vec![
        text("claim_id", &[Some("C-1"), Some("C-1"), Some("C-2")]),
        int32("line_no", "INT32 (INTEGER(16,true))", &[1, 2, 1]),
        text("patient_id", &[Some("P-1"), Some("P-1"), Some("P-2")]),
        text(
            "payer_type",
            &[Some("medicare"), Some("medicare"), Some("commercial")],
        ),
        int64("rendering_npi", "INT64", &[1234567893; 3]),
        text("referring_npi", &[None, None, None]),
        text("rx_id", &[Some("RX-1"), Some("RX-1"), None]),
        int32(
            "service_date",
            "INT32 (DATE)",
            &[day("2025-03-10"), day("2025-03-10"), day("2025-03-11")],
        ),
        text("cpt", &[Some("97140"), Some("97124"), Some("97124")]),
        text("modifiers", &[Some("GP"), Some("GP"), None]),
        int32("units", "INT32 (INTEGER(8,false))", &[2, 1, 1]),
        int64("charge", "INT64 (DECIMAL(10,2))", &[9000, 4000, 4000]),
        text("diagnosis_codes", &[Some("M54.50"); 3]),
    ];
    // sessions: a timestamp for the service date, 32-bit minutes
    let ms = |d: &str| day(d) as i64 * 86_400_000 + 9 * 3_600_000;
    let sessions = vec![
        text("session_id", &[Some("S-1"), Some("S-1"), Some("S-2")]),
        text("patient_id", &[Some("P-1"), Some("P-1"), Some("P-2")]),
        text("therapist_npi", &[Some("1234567893"); 3]),
        int64(
            "service_date",
            "INT64 (TIMESTAMP(MILLIS,false))",
            &[ms("2025-03-10"), ms("2025-03-10"), ms("2025-03-11")],
        ),
        text("cpt", &[Some("97140"), Some("97124"), Some("97124")]),
        int32("minutes", "INT32", &[25, 15, 15]),
        text(
            "modality",
            &[Some("myofascial"), Some("deep_tissue"), Some("swedish")],
        ),
        text("pressure", &[None, None, None]),
    ];
    write(&pq.join("claims.parquet"), &claims);
    write(&pq.join("sessions.parquet"), &sessions);
    std::fs::copy(
        input.join("prescriptions.csv"),
        pq.join("prescriptions.csv"),
    )
    .unwrap();
    let pq_out = scratch("fc-pq-out");
    scrub_ok(&pq, &pq_out, &[]);
    let findings = |out: &Path| {
        common::project(
            &out.join("rejections.csv"),
            &[
                "claim_id".into(),
                "line_no".into(),
                "rule".into(),
                "charge".into(),
            ],
        )
    };
    assert_eq!(findings(&pq_out), findings(&csv_out));
    assert!(!findings(&pq_out).is_empty());

    // a column of a type that holds no single value: exit 2 naming the file and column
    let bad = scratch("fc-pq-bad");
    let list = Col {
        name: "claim_id".into(),
        ty: String::new(),
        values: Values::TextList(vec![vec!["C-1".into(), "C-2".into()]]),
    };
    write(&bad.join("claims.parquet"), &[list]);
    std::fs::copy(input.join("sessions.csv"), bad.join("sessions.csv")).unwrap();
    std::fs::copy(
        input.join("prescriptions.csv"),
        bad.join("prescriptions.csv"),
    )
    .unwrap();
    let o = scrub(&bad, &scratch("fc-pq-bad-out"), &[]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("claims.parquet") && stderr.contains("`claim_id`"),
        "{stderr}"
    );
}
