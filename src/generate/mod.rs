//! A realistic synthetic batch with planted defects (`claimscrub generate`).
//!
//! Patients are generated one by one from their own random stream, so the batch depends only on
//! the seed, never on threads. Most patients are clean: their codes are billable, their
//! prescription covers every visit with sessions to spare, their units are what the documented
//! minutes support under their payer's unit rule. A share of patients (`defect_rate`) carries one
//! planted defect, built so that it causes exactly the findings written to `truth.csv`.

pub mod rng;

use std::fmt::Write as _;

use crate::base::values::{date_from_day, day_from_date, icd_key, week_of, Day};
use crate::facts::units::{per_code_units, CmsPool, CodeMinutes};
use crate::reference::icd10::{CodeSets, Lookup};
use crate::rules::Rule;
use rng::Rng;

pub const CLAIMS_HEADER: &str = "claim_id,line_no,patient_id,payer_type,rendering_npi,referring_npi,rx_id,service_date,cpt,modifiers,units,charge,diagnosis_codes\n";
pub const SESSIONS_HEADER: &str =
    "session_id,patient_id,therapist_npi,service_date,cpt,minutes,modality,pressure\n";
pub const PRESCRIPTIONS_HEADER: &str = "rx_id,patient_id,prescriber_npi,document_type,diagnosis_codes,authorized_sessions,start_date,end_date,frequency_per_week,allowed_cpt,required_modality,max_pressure,sessions_used\n";
pub const TRUTH_HEADER: &str = "claim_id,line_no,rule\n";

/// Made-up MUE values in the CMS layout, for `--mue` on generated batches.
pub const MUE_CSV: &str = "\"MADE-UP VALUES FOR SYNTHETIC BATCHES: NOT CMS's MUE VALUES\"\n\
\"Written by claimscrub generate so that UNITS_OVER_MUE can be planted; do not use for real claims.\"\n\
\"HCPCS/CPT Code\",\"Practitioner Services MUE Values\",\"MUE Adjudication Indicator\",\"MUE Rationale\"\n\
97010,1,\"3 Date of Service Edit: Clinical\",\"Made up\"\n\
97110,4,\"3 Date of Service Edit: Clinical\",\"Made up\"\n\
97112,4,\"3 Date of Service Edit: Clinical\",\"Made up\"\n\
97124,4,\"3 Date of Service Edit: Clinical\",\"Made up\"\n\
97140,4,\"3 Date of Service Edit: Clinical\",\"Made up\"\n\
97530,4,\"3 Date of Service Edit: Clinical\",\"Made up\"\n";

/// The clinical picture of a patient: what the prescription names and what the claims bill.
struct Condition {
    rx_codes: &'static [&'static str],
    claim_codes: &'static [&'static str],
    required_modality: &'static str,
    max_pressure: &'static str,
}

/// A condition: codes on the prescription, codes the claims bill, required modality, max pressure.
const fn cond(
    rx_codes: &'static [&'static str],
    claim_codes: &'static [&'static str],
    required_modality: &'static str,
    max_pressure: &'static str,
) -> Condition {
    Condition {
        rx_codes,
        claim_codes,
        required_modality,
        max_pressure,
    }
}

#[rustfmt::skip]
const CONDITIONS: &[(Condition, u32)] = &[
    (cond(&["M54.50", "M54.59"], &["M54.50", "M54.59"], "", ""), 30),
    (cond(&["M54.2"], &["M54.2"], "", ""), 15),
    (cond(&["S13.4XXA", "M54.2"], &["S13.4XXA", "M54.2"], "", ""), 10),
    // a header on the prescription matches its billable children on the claims
    (cond(&["M79.1"], &["M79.10", "M79.12", "M79.18"], "", ""), 8),
    (cond(&["M62.830", "M62.838"], &["M62.830", "M62.838"], "", ""), 8),
    (cond(&["M79.7"], &["M79.7"], "", ""), 5),
    (cond(&["Z47.1", "Z96.651"], &["Z47.1;Z96.651"], "", ""), 4),
    (cond(&["M54.50", "Z79.01"], &["M54.50"], "", "light"), 4),
    (cond(&["I97.2", "I89.0"], &["I97.2", "I89.0"], "mld", "light"), 3),
];
/// Weight of a patient whose condition is a random billable M-chapter code.
const RANDOM_CODE_WEIGHT: u32 = 13;
const ANTICOAGULANT: usize = 7;
const LYMPHEDEMA: usize = 8;

const PAYERS: &[(&str, u32)] = &[
    ("commercial", 40),
    ("medicare", 25),
    ("workers_comp", 15),
    ("medicaid", 10),
    ("auto_pip", 10),
];
const NPIS: &[&str] = &[
    "1234567893",
    "1497758544",
    "1558364273",
    "1669475382",
    "1770586491",
    "1881697500",
];
const PRESCRIBERS: &[&str] = &["1999999992", "1003000126", "1114111237", "1225222348"];
const MODALITIES: &[&str] = &[
    "swedish",
    "deep_tissue",
    "myofascial",
    "trigger_point",
    "sports",
    "other",
    "",
];

fn price(cpt: &str) -> i64 {
    match cpt {
        "97124" => 4000,
        "97140" => 4500,
        "97110" => 4200,
        "97112" => 4400,
        "97530" => 4600,
        _ => 1500,
    }
}

fn timed(cpt: &str) -> bool {
    cpt != "97010"
}

/// Codes the generator may use, checked against the built-in code sets once.
pub struct Codes {
    /// Billable in FY2025 and FY2026, M chapter (musculoskeletal).
    random_m: Vec<String>,
}

impl Codes {
    pub fn new(sets: &CodeSets) -> Codes {
        let both = |key: &str| {
            sets.sets
                .iter()
                .all(|s| matches!(s.lookup(key), Lookup::Billable))
        };
        for (c, _) in CONDITIONS {
            for code in c
                .rx_codes
                .iter()
                .chain(c.claim_codes)
                .flat_map(|c| c.split(';'))
            {
                let key = icd_key(code);
                assert!(
                    both(&key) || code == "M79.1",
                    "{code} must be billable in every built-in year"
                );
            }
        }
        for (code, want) in [
            ("M79.19", "unknown"),
            ("M54.99", "unknown"),
            ("M54.5", "header"),
            ("M62.83", "header"),
            ("R52", "billable"),
            ("Z73.3", "billable"),
        ] {
            let ok = sets.sets.iter().all(|s| {
                matches!(
                    (s.lookup(&icd_key(code)), want),
                    (Lookup::Unknown, "unknown")
                        | (Lookup::Header, "header")
                        | (Lookup::Billable, "billable")
                )
            });
            assert!(ok, "{code} must be {want} in every built-in year");
        }
        let mut random_m: Vec<String> = sets.sets[0]
            .billable_children("M")
            .into_iter()
            .filter(|k| {
                both(k) && !k.starts_with("M54") && !k.starts_with("M79") && !k.starts_with("M62")
            })
            .map(crate::base::values::icd_display)
            .collect();
        random_m.sort();
        Codes { random_m }
    }
}

/// The rules a patient can carry, planted with equal chance.
const PLANTABLE: [Rule; 24] = [
    Rule::DxMissing,
    Rule::DxInvalidFormat,
    Rule::DxUnknown,
    Rule::DxNotBillable,
    Rule::DxCodesetUnavailable,
    Rule::WellnessOnly,
    Rule::DxNotOnRx,
    Rule::RxMissing,
    Rule::RxNotFound,
    Rule::RxNotAPrescription,
    Rule::RxBeforeStart,
    Rule::RxExpired,
    Rule::RxSessionsExceeded,
    Rule::RxFrequencyExceeded,
    Rule::RxCptNotAllowed,
    Rule::RxModalityMismatch,
    Rule::RxPressureContraindicated,
    Rule::SessionMissing,
    Rule::UnitsInvalid,
    Rule::UnitsOverDocumented,
    Rule::UnitsUnderDocumented,
    Rule::UnitsOverMue,
    Rule::ModifierMissing,
    Rule::DuplicateLine,
];

/// The text of a run of patients.
#[derive(Default)]
pub struct Chunk {
    pub claims: String,
    pub sessions: String,
    pub prescriptions: String,
    pub truth: String,
    pub lines: usize,
}

struct Line {
    claim_id: String,
    line_no: u32,
    cpt: &'static str,
    units: i64,
    modifiers: String,
    dx: String,
    rx_id: String,
    date: Day,
}

fn date_text(rng: &mut Rng, d: Day) -> String {
    let date = date_from_day(d);
    // a few practices export US dates
    if rng.chance(0.03) {
        date.format("%-m/%-d/%Y").to_string()
    } else {
        date.format("%Y-%m-%d").to_string()
    }
}

fn day(y: i32, m: u32, d: u32) -> Day {
    day_from_date(chrono::NaiveDate::from_ymd_opt(y, m, d).expect("valid date"))
}

/// One patient: a prescription, visits with sessions and claims, perhaps one planted defect.
pub fn patient(index: u64, seed: u64, defect_rate: f64, codes: &Codes, out: &mut Chunk) {
    let mut rng = Rng::for_item(seed, index);
    let defect = rng.chance(defect_rate).then(|| *rng.pick(&PLANTABLE));
    let is = |r: Rule| defect == Some(r);
    let pid = format!("P-{index:08}");
    let rx_id = format!("RX-{index:08}");

    let payer = if is(Rule::ModifierMissing) {
        *rng.pick(&["medicare", "medicaid"])
    } else {
        *rng.weighted(PAYERS)
    };
    let cms = payer == "medicare" || payer == "medicaid";

    // the condition, and what the prescription names
    let mut weights: Vec<(usize, u32)> = CONDITIONS
        .iter()
        .enumerate()
        .map(|(i, (_, w))| (i, *w))
        .collect();
    weights.push((usize::MAX, RANDOM_CODE_WEIGHT));
    let cond = if is(Rule::RxModalityMismatch) {
        LYMPHEDEMA
    } else if is(Rule::RxPressureContraindicated) {
        ANTICOAGULANT
    } else {
        *rng.weighted(&weights)
    };
    let random_code;
    let (mut rx_codes, claim_codes, required_modality, max_pressure): (
        Vec<&str>,
        Vec<&str>,
        &str,
        &str,
    ) = if cond == usize::MAX {
        random_code = rng.pick(&codes.random_m).clone();
        (
            vec![random_code.as_str()],
            vec![random_code.as_str()],
            "",
            "",
        )
    } else {
        let c = &CONDITIONS[cond].0;
        (
            c.rx_codes.to_vec(),
            c.claim_codes.to_vec(),
            c.required_modality,
            c.max_pressure,
        )
    };
    if is(Rule::WellnessOnly) {
        rx_codes.push("Z73.3");
    }

    // the visits: 4 to 9 days apart, so no Monday-Sunday week holds more than 2
    let k = if is(Rule::RxFrequencyExceeded) {
        rng.range(2, 10)
    } else {
        *rng.weighted(&[
            (1i64, 6),
            (2, 8),
            (3, 10),
            (4, 12),
            (5, 12),
            (6, 12),
            (7, 10),
            (8, 10),
            (10, 10),
            (12, 10),
        ])
    } as usize;
    let mut gaps: Vec<Day> = (1..k).map(|_| rng.range(4, 9) as Day).collect();
    if is(Rule::RxFrequencyExceeded) {
        gaps[0] = 1; // the second visit the day after the first: same week unless the first is a Sunday
    }
    let span: Day = gaps.iter().sum();
    let mut d0 = if is(Rule::DxCodesetUnavailable) {
        day(2026, 10, 1) + rng.range(0, 30) as Day - span // the last visit after FY2026
    } else {
        // a day inside the window on each side, for the frequency case that moves d0 back a day
        let (lo, hi) = (day(2024, 10, 2), day(2026, 9, 29) - span);
        rng.range(lo as i64, hi as i64) as Day
    };
    if is(Rule::RxFrequencyExceeded) && week_of(d0) != week_of(d0 + 1) {
        d0 -= 1;
    }
    let mut dates = vec![d0];
    for g in &gaps {
        dates.push(dates.last().unwrap() + g);
    }
    let last = *dates.last().unwrap();

    // the prescription
    let used = rng.range(0, 3);
    let mut authorized = used + k as i64 + rng.range(0, 3);
    let mut start = d0 - rng.range(0, 14) as Day;
    let mut end = last + rng.range(0, 30) as Day;
    let mut frequency = *rng.weighted(&[("", 5), ("2", 3), ("3", 2)]);
    if is(Rule::RxSessionsExceeded) {
        authorized = used + k as i64 - 1;
    }
    if is(Rule::RxBeforeStart) {
        start = d0 + 1;
    }
    if is(Rule::RxExpired) {
        start = d0 - 14 - rng.range(0, 14) as Day;
        end = last - 1;
    }
    if is(Rule::RxFrequencyExceeded) {
        frequency = "1";
    }

    // the procedures ordered
    let mut pool: Vec<&'static str> = vec!["97124", "97140"];
    if rng.chance(0.2) {
        pool.push(*rng.pick(&["97110", "97112", "97530"]));
    }
    if rng.chance(0.1) {
        pool.push("97010");
    }
    if is(Rule::RxCptNotAllowed) {
        pool.retain(|c| *c != "97530");
    }
    let allowed = if pool.iter().all(|c| *c == "97124" || *c == "97140") {
        String::new()
    } else {
        pool.join(";")
    };
    // a patient without any document has no authorization number to write on the claim
    let give_rx_id = rng.chance(0.7) && !is(Rule::RxMissing);
    let prescriber = *rng.pick(PRESCRIBERS);
    let therapist = *rng.pick(NPIS);

    if !is(Rule::RxMissing) {
        let doc_type = if is(Rule::RxNotAPrescription) {
            "referral"
        } else {
            "prescription"
        };
        let codes_text: Vec<String> = rx_codes
            .iter()
            .map(|c| {
                if rng.chance(0.1) {
                    c.replace('.', "")
                } else {
                    c.to_string()
                }
            })
            .collect();
        let (s, e) = (date_text(&mut rng, start), date_text(&mut rng, end));
        writeln!(
            out.prescriptions,
            "{rx_id},{pid},{prescriber},{doc_type},{},{authorized},{s},{e},{frequency},{allowed},{required_modality},{max_pressure},{}",
            codes_text.join(";"),
            if used == 0 && rng.chance(0.5) { String::new() } else { used.to_string() }
        )
        .unwrap();
    }

    // visit-level defects land on one visit
    let target = match defect {
        Some(Rule::RxBeforeStart) => 0,
        Some(Rule::RxExpired | Rule::RxSessionsExceeded) => k - 1,
        _ => rng.range(0, k as i64 - 1) as usize,
    };
    let single_line = matches!(
        defect,
        Some(
            Rule::SessionMissing
                | Rule::UnitsInvalid
                | Rule::UnitsOverDocumented
                | Rule::UnitsUnderDocumented
                | Rule::UnitsOverMue
                | Rule::DuplicateLine
                | Rule::RxModalityMismatch
                | Rule::RxPressureContraindicated
        )
    );
    // (position of the line in the file, claim, line_no, rule)
    let mut truth: Vec<(usize, String, u32, Rule)> = Vec::new();
    let mut position = 0usize;
    let mut week_count: std::collections::HashMap<Day, i64> = std::collections::HashMap::new();

    for (v, &date) in dates.iter().enumerate() {
        let here = v == target;
        // the procedures of the visit
        // a defect on one procedure gets a visit of that procedure alone, so that the CMS pool
        // and the other lines of the visit stay as they were
        let cpts: Vec<&'static str> = if here && is(Rule::RxCptNotAllowed) {
            vec!["97530"]
        } else if here && single_line {
            vec![*rng.pick(&["97124", "97140"])]
        } else {
            let n = *rng.weighted(&[(1usize, 5), (2, 4), (3, 1)]);
            let mut c: Vec<&'static str> = pool
                .iter()
                .copied()
                .filter(|_| rng.chance(0.6))
                .take(n)
                .collect();
            if c.is_empty() {
                c.push(pool[(rng.next_u64() % 2) as usize]);
            }
            c
        };
        let minutes: Vec<i64> = cpts
            .iter()
            .enumerate()
            .map(|(i, c)| match (here && i == 0, defect) {
                _ if !timed(c) => rng.range(5, 15),
                (true, Some(Rule::UnitsUnderDocumented)) => rng.range(23, 52),
                (true, Some(Rule::UnitsOverMue)) => rng.range(68, 75),
                (true, Some(Rule::DuplicateLine)) => rng.range(8, 37),
                _ => rng.range(8, 52),
            })
            .collect();
        // units a careful biller would bill under the payer's rule
        let units: Vec<i64> = if cms {
            let documented: Vec<CodeMinutes> = cpts
                .iter()
                .zip(&minutes)
                .filter(|(c, _)| timed(c))
                .map(|(c, m)| CodeMinutes {
                    cpt: (*c).into(),
                    minutes: *m,
                })
                .collect();
            let pool = CmsPool::new(&documented);
            let mut remaining = pool.total_units - pool.codes.iter().map(|c| c.full).sum::<i64>();
            let mut order: Vec<usize> = (0..pool.codes.len()).collect();
            order.sort_by_key(|&i| std::cmp::Reverse(pool.codes[i].minutes % 15));
            let mut alloc: Vec<i64> = pool.codes.iter().map(|c| c.full).collect();
            for i in order {
                if remaining > 0 && pool.codes[i].minutes % 15 > 0 {
                    alloc[i] += 1;
                    remaining -= 1;
                }
            }
            let mut it = alloc.into_iter();
            cpts.iter()
                .map(|c| if timed(c) { it.next().unwrap() } else { 1 })
                .collect()
        } else {
            cpts.iter()
                .zip(&minutes)
                .map(|(c, m)| if timed(c) { per_code_units(*m) } else { 1 })
                .collect()
        };

        // sessions: one row per procedure, sometimes split in two
        let sid = format!("S-{index:08}-{v:02}");
        let date_s = date_text(&mut rng, date);
        for (i, (cpt, m)) in cpts.iter().zip(&minutes).enumerate() {
            if here && i == 0 && is(Rule::SessionMissing) {
                continue;
            }
            let (modality, pressure) = if here && i == 0 && is(Rule::RxModalityMismatch) {
                ("swedish", "light")
            } else if here && i == 0 && is(Rule::RxPressureContraindicated) {
                ("deep_tissue", "")
            } else if !required_modality.is_empty() {
                (required_modality, "")
            } else if max_pressure == "light" {
                *rng.pick(&[("mld", ""), ("swedish", "light"), ("", "light"), ("", "")])
            } else {
                (
                    *rng.pick(MODALITIES),
                    *rng.pick(&["", "", "", "light", "moderate", "deep"]),
                )
            };
            let rows = if *m >= 2 && rng.chance(0.1) {
                vec![m / 2, m - m / 2]
            } else {
                vec![*m]
            };
            for part in rows {
                writeln!(
                    out.sessions,
                    "{sid},{pid},{therapist},{date_s},{cpt},{part},{modality},{pressure}"
                )
                .unwrap();
            }
        }

        // the claim: one per visit; codes the CMS rule gives no unit are not billed
        let claim_id = format!("C-{index:08}-{v:02}");
        let mut lines: Vec<Line> = Vec::new();
        for (cpt, u) in cpts.iter().zip(&units) {
            if *u == 0 {
                continue;
            }
            let picked: Vec<&str> = claim_codes
                .iter()
                .copied()
                .filter(|_| rng.chance(0.5))
                .take(2)
                .collect();
            let dx = if picked.is_empty() {
                claim_codes[0].to_string()
            } else {
                picked.join(";")
            };
            let modifiers = if cms {
                if cpts.len() > 1 && rng.chance(0.1) {
                    "GP;59"
                } else {
                    "GP"
                }
            } else {
                ""
            };
            lines.push(Line {
                claim_id: claim_id.clone(),
                line_no: lines.len() as u32 + 1,
                cpt,
                units: *u,
                modifiers: modifiers.to_string(),
                dx,
                rx_id: if give_rx_id {
                    rx_id.clone()
                } else {
                    String::new()
                },
                date,
            });
        }
        let first_rule = match defect {
            Some(r) if here => Some(r),
            _ => None,
        };
        if let Some(rule) = first_rule {
            let l = &mut lines[0];
            match rule {
                Rule::DxMissing => l.dx.clear(),
                Rule::DxInvalidFormat => {
                    l.dx = rng
                        .pick(&["M54.", "5M54.50", "M5", "M54.12345", "97140"])
                        .to_string()
                }
                Rule::DxUnknown => l.dx = rng.pick(&["M79.19", "M54.99"]).to_string(),
                Rule::DxNotBillable => l.dx = rng.pick(&["M54.5", "M62.83"]).to_string(),
                Rule::WellnessOnly => l.dx = "Z73.3".into(),
                Rule::DxNotOnRx => l.dx = "R52".into(),
                Rule::ModifierMissing => l.modifiers = rng.pick(&["", "59"]).to_string(),
                Rule::UnitsInvalid => l.units = 0,
                Rule::UnitsOverDocumented => l.units += 1,
                Rule::UnitsUnderDocumented => l.units -= 1,
                Rule::RxNotFound => {
                    for l in &mut lines {
                        l.rx_id = format!("{rx_id}-X");
                    }
                }
                _ => {}
            }
        }
        let week = week_of(date);
        let in_week = {
            let c = week_count.entry(week).or_default();
            *c += 1;
            *c
        };
        let write = |l: &Line,
                     out: &mut Chunk,
                     truth: &mut Vec<(usize, String, u32, Rule)>,
                     position: &mut usize| {
            let charge = l.units * price(l.cpt);
            writeln!(
                out.claims,
                "{},{},{pid},{payer},{therapist},{prescriber},{},{date_s},{},{},{},{}.{:02},{}",
                l.claim_id,
                l.line_no,
                l.rx_id,
                l.cpt,
                l.modifiers,
                l.units,
                charge / 100,
                charge % 100,
                l.dx
            )
            .unwrap();
            out.lines += 1;
            let mut add = |r: Rule| truth.push((*position, l.claim_id.clone(), l.line_no, r));
            match defect {
                Some(Rule::RxMissing | Rule::RxNotAPrescription) => add(defect.unwrap()),
                Some(Rule::DxCodesetUnavailable) if l.date >= day(2026, 10, 1) => {
                    add(Rule::DxCodesetUnavailable)
                }
                Some(Rule::RxFrequencyExceeded) if in_week > 1 => add(Rule::RxFrequencyExceeded),
                Some(
                    r @ (Rule::RxBeforeStart
                    | Rule::RxExpired
                    | Rule::RxSessionsExceeded
                    | Rule::RxNotFound),
                ) if here => add(r),
                _ => {}
            }
            *position += 1;
        };
        for (i, l) in lines.iter().enumerate() {
            write(l, out, &mut truth, &mut position);
            if i == 0 && here {
                match defect {
                    Some(Rule::DuplicateLine) => {}
                    Some(r)
                        if !matches!(
                            r,
                            Rule::RxMissing
                                | Rule::RxNotAPrescription
                                | Rule::DxCodesetUnavailable
                                | Rule::RxFrequencyExceeded
                                | Rule::RxBeforeStart
                                | Rule::RxExpired
                                | Rule::RxSessionsExceeded
                                | Rule::RxNotFound
                        ) =>
                    {
                        truth.push((position - 1, l.claim_id.clone(), l.line_no, r));
                    }
                    _ => {}
                }
            }
        }
        if here && is(Rule::DuplicateLine) {
            // the same line billed again on a second claim: a duplicate, and twice the documented units
            let orig = &lines[0];
            let dup = Line {
                claim_id: format!("{}D", orig.claim_id),
                line_no: orig.line_no,
                cpt: orig.cpt,
                units: orig.units,
                modifiers: orig.modifiers.clone(),
                dx: orig.dx.clone(),
                rx_id: orig.rx_id.clone(),
                date: orig.date,
            };
            let orig_pos = position - lines.len();
            truth.push((
                orig_pos,
                orig.claim_id.clone(),
                orig.line_no,
                Rule::UnitsOverDocumented,
            ));
            write(&dup, out, &mut truth, &mut position);
            truth.push((
                position - 1,
                dup.claim_id.clone(),
                dup.line_no,
                Rule::DuplicateLine,
            ));
            truth.push((
                position - 1,
                dup.claim_id.clone(),
                dup.line_no,
                Rule::UnitsOverDocumented,
            ));
        }
    }
    truth.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.3.id().cmp(b.3.id())));
    for (_, claim, line_no, rule) in truth {
        writeln!(out.truth, "{claim},{line_no},{}", rule.id()).unwrap();
    }
}
