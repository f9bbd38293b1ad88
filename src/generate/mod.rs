//! A realistic synthetic batch with planted defects (`claimscrub generate`).
//!
//! Patients are generated one by one from their own random stream, so the batch depends only on
//! the seed, never on threads. Most patients are clean: their codes are billable, their
//! prescription covers every visit with sessions to spare, their units are what the documented
//! minutes support under their payer's unit rule. A share of patients (`defect_rate`) carries one
//! planted defect, built so that it causes exactly the findings written to `truth.csv`; how each
//! rule's defect is planted is its entry in `plant::PLANTS`. Beside the batch go made-up MUE values
//! (`mue.csv`) and the physical-medicine PTP edits of DOMAIN.md (`ncci.txt`): a clean Medicare or
//! Medicaid visit never bills a pair in force of them.

pub mod nights;
mod plant;
pub mod rng;
pub mod x12;

use std::fmt::Write as _;

use crate::base::values::{date_from_day, day_from_date, icd_key, week_of, Day};
use crate::facts::units::{per_code_units, CmsPool, CodeMinutes};
use crate::reference::icd10::{CodeSets, Lookup};
use crate::rules::Rule;
use plant::{At, Plant, Procedures, Rx, Session, Target, Therapy, CLEAN, PLANTS};
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

/// The physical-medicine pairs of CMS's practitioner PTP edits (2024-07-01) as DOMAIN.md lists them:
/// column 1, column 2, deletion date (`*` = not deleted), modifier indicator.
#[rustfmt::skip]
const NCCI_PAIRS: &[(&str, &str, &str, u8)] = &[
    ("97012", "97140", "*", 1),
    ("97016", "97018", "*", 1), ("97016", "97026", "*", 1),
    ("97112", "97022", "*", 1), ("97112", "97036", "*", 1),
    ("97113", "97110", "*", 1),
    ("97140", "97018", "*", 1),
    ("97140", "97124", "*", 0),
    ("97140", "97161", "*", 9), ("97140", "97162", "*", 9), ("97140", "97163", "*", 9),
    ("97140", "97530", "20191231", 1), // DOMAIN.md gives no indicator: 1
    ("97140", "97750", "*", 1),
    ("97150", "97110", "*", 1), ("97150", "97112", "*", 1), ("97150", "97116", "*", 1),
    ("97150", "97124", "*", 1), ("97150", "97140", "*", 1), ("97150", "97530", "*", 1),
    ("97530", "97161", "*", 9), ("97530", "97162", "*", 9), ("97530", "97163", "*", 9),
    ("97530", "97537", "*", 1), ("97530", "97542", "*", 1), ("97530", "97750", "*", 1),
    ("97760", "97016", "*", 1), ("97760", "97110", "*", 1), ("97760", "97112", "*", 1),
    ("97760", "97116", "*", 1), ("97760", "97124", "*", 1), ("97760", "97140", "*", 1),
    ("97761", "97016", "*", 1), ("97761", "97110", "*", 1), ("97761", "97112", "*", 1),
    ("97761", "97116", "*", 1), ("97761", "97124", "*", 1), ("97761", "97140", "*", 1),
    ("97763", "97016", "*", 1), ("97763", "97110", "*", 1), ("97763", "97112", "*", 1),
    ("97763", "97116", "*", 1), ("97763", "97124", "*", 1), ("97763", "97140", "*", 1),
    ("98925", "97140", "*", 0), ("98926", "97140", "*", 0), ("98927", "97140", "*", 0),
    ("98928", "97140", "*", 0), ("98929", "97140", "*", 0),
    ("98940", "97112", "*", 1), ("98940", "97124", "*", 1), ("98940", "97140", "*", 1),
    ("98941", "97112", "*", 1), ("98941", "97124", "*", 1), ("98941", "97140", "*", 1),
    ("98942", "97112", "*", 1), ("98942", "97124", "*", 1), ("98942", "97140", "*", 1),
];

/// The effective date written for every pair: DOMAIN.md gives none, so a placeholder before any
/// generated visit.
const NCCI_EFFECTIVE: &str = "20020101";

/// A PTP edit file in CMS's practitioner layout (tab-separated, a preamble, the header, a legend
/// row, one edit a row), for `--ncci` on generated batches.
pub fn ncci_txt() -> String {
    let mut out = String::from(
        "Physical-medicine pairs of CMS's NCCI practitioner PTP edits (version 2024-07-01) as listed in claimscrub's DOMAIN.md: not CMS's whole file.\n\
         Written by claimscrub generate for synthetic batches; do not use for real claims. CPT codes are AMA's.\n\
         Effective dates are placeholders (20020101: DOMAIN.md gives none). Deletion dates and modifier indicators are DOMAIN.md's, but for 97140/97530 (deleted 20191231), whose indicator DOMAIN.md does not give: 1 here.\n\
         Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date\tModifier\tPTP Edit Rationale\n\
         \t\t\t\t*=no data\t0=not allowed 1=allowed 9=not applicable\t\n",
    );
    for (c1, c2, deletion, indicator) in NCCI_PAIRS {
        writeln!(
            out,
            "{c1}\t{c2}\t\t{NCCI_EFFECTIVE}\t{deletion}\t{indicator}\tListed in DOMAIN.md (CMS's rationale not copied)"
        )
        .unwrap();
    }
    out
}

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
    /// The built-in medicare profile's KX threshold by calendar year, in cents.
    kx_threshold: std::collections::BTreeMap<i32, i64>,
    /// Its review threshold, in cents.
    kx_review: i64,
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
        // the thresholds the scrub applies by default, so that truth.csv follows the policy
        let policy = crate::reference::policy::Policy::builtin();
        let medicare = &policy.profiles[policy.profile_index("medicare").expect("medicare")];
        let kx_review = medicare.kx_review_threshold.expect("a review threshold") / 10_000;
        let kx_threshold = medicare
            .kx_threshold
            .iter()
            .map(|(&y, &t)| (y, t / 10_000))
            .collect();
        Codes {
            random_m,
            kx_threshold,
            kx_review,
        }
    }
}

/// The text of a run of patients.
#[derive(Default)]
pub struct Chunk {
    pub claims: String,
    pub sessions: String,
    pub prescriptions: String,
    pub truth: String,
    pub lines: usize,
}

#[derive(Clone)]
struct Line {
    claim_id: String,
    line_no: u32,
    cpt: &'static str,
    units: i64,
    modifiers: String,
    dx: String,
    rx_id: String,
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

/// How many visits a patient has.
fn visit_count(rng: &mut Rng) -> usize {
    *rng.weighted(&[
        (1usize, 6),
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
}

/// The gaps between `k` visits: 4 to 9 days, so no Monday-Sunday week holds more than 2.
fn visit_gaps(rng: &mut Rng, k: usize) -> Vec<Day> {
    (1..k).map(|_| rng.range(4, 9) as Day).collect()
}

/// A first visit for visits spanning `span` days inside FY2025-FY2026, with a day to spare on
/// each side for a plant that moves it back a day.
fn first_day(rng: &mut Rng, span: Day) -> Day {
    let (lo, hi) = (day(2024, 10, 2), day(2026, 9, 29) - span);
    rng.range(lo as i64, hi as i64) as Day
}

/// The visit dates from the first visit and the gaps.
fn schedule(d0: Day, gaps: &[Day]) -> Vec<Day> {
    let mut dates = vec![d0];
    for g in gaps {
        dates.push(dates.last().unwrap() + g);
    }
    dates
}

/// A clean patient's visit dates.
fn visit_dates(rng: &mut Rng) -> Vec<Day> {
    let k = visit_count(rng);
    let gaps = visit_gaps(rng, k);
    let d0 = first_day(rng, gaps.iter().sum());
    schedule(d0, &gaps)
}

/// One patient: a prescription, visits with sessions and claims, perhaps one planted defect.
///
/// A clean patient is built step by step; a planted defect's `Plant` changes some steps. A
/// Medicare patient whose yearly therapy must stay under the KX threshold (`Therapy::Under`) but
/// was drawn above it is drawn again, with the same defect, from a stream of its own (rare: few
/// patients have enough visits in one year).
pub fn patient(index: u64, seed: u64, defect_rate: f64, codes: &Codes, out: &mut Chunk) {
    let mut rng = Rng::for_item(seed, index);
    let defect = rng.chance(defect_rate).then(|| rng.pick(&PLANTS));
    let mark = (
        out.claims.len(),
        out.sessions.len(),
        out.prescriptions.len(),
        out.truth.len(),
        out.lines,
    );
    for attempt in 1u64.. {
        if draw_patient(index, defect, codes, &mut rng, out) {
            return;
        }
        out.claims.truncate(mark.0);
        out.sessions.truncate(mark.1);
        out.prescriptions.truncate(mark.2);
        out.truth.truncate(mark.3);
        out.lines = mark.4;
        rng = Rng::for_item(seed ^ attempt.wrapping_mul(0xD1B5_4A32_D192_ED03), index);
    }
}

/// A patient drawn from `rng`; false when its therapy went above a threshold it must stay under.
fn draw_patient(
    index: u64,
    defect: Option<&(Rule, Plant)>,
    codes: &Codes,
    rng: &mut Rng,
    out: &mut Chunk,
) -> bool {
    let plant = defect.map_or(&CLEAN, |(_, p)| p);
    let pid = format!("P-{index:08}");
    let rx_id = format!("RX-{index:08}");

    let payer = *rng.weighted(plant.payers);
    let cms = payer == "medicare" || payer == "medicaid";

    // the condition, and what the prescription names
    let mut weights: Vec<(usize, u32)> = CONDITIONS
        .iter()
        .enumerate()
        .map(|(i, (_, w))| (i, *w))
        .collect();
    weights.push((usize::MAX, RANDOM_CODE_WEIGHT));
    let cond = plant.condition.unwrap_or_else(|| *rng.weighted(&weights));
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
    rx_codes.extend(plant.rx_code);

    let dates = (plant.dates)(rng);
    let (k, d0, last) = (dates.len(), dates[0], dates[dates.len() - 1]);

    // the prescription
    let used = rng.range(0, 3);
    let authorized = used + k as i64 + rng.range(0, 3);
    let start = d0 - rng.range(0, 14) as Day;
    let end = last + rng.range(0, 30) as Day;
    let frequency = *rng.weighted(&[("", 5), ("2", 3), ("3", 2)]);
    let mut rx = Rx {
        used,
        authorized,
        start,
        end,
        frequency,
        doc_type: "prescription",
        written: true,
    };
    (plant.rx)(&mut rx, &dates, rng);
    let Rx {
        authorized,
        start,
        end,
        frequency,
        doc_type,
        ..
    } = rx;

    // the procedures ordered
    let mut pool: Vec<&'static str> = vec!["97124", "97140"];
    if rng.chance(0.2) {
        pool.push(*rng.pick(&["97110", "97112", "97530"]));
    }
    if rng.chance(0.1) {
        pool.push("97010");
    }
    if let Procedures::NotOrdered(cpt) = plant.procedures {
        pool.retain(|c| *c != cpt);
    }
    let allowed = if pool.iter().all(|c| *c == "97124" || *c == "97140") {
        String::new()
    } else {
        pool.join(";")
    };
    // a patient without any document has no authorization number to write on the claim
    let give_rx_id = rng.chance(0.7) && rx.written;
    let prescriber = *rng.pick(PRESCRIBERS);
    let therapist = *rng.pick(NPIS);

    if rx.written {
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
        let (s, e) = (date_text(rng, start), date_text(rng, end));
        writeln!(
            out.prescriptions,
            "{rx_id},{pid},{prescriber},{doc_type},{},{authorized},{s},{e},{frequency},{allowed},{required_modality},{max_pressure},{}",
            codes_text.join(";"),
            if used == 0 && rng.chance(0.5) { String::new() } else { used.to_string() }
        )
        .unwrap();
    }

    // visit-level defects land on one visit
    let target = match plant.target {
        Target::First => 0,
        Target::Last => k - 1,
        Target::Any => rng.range(0, k as i64 - 1) as usize,
    };
    // (position of the line in the file, claim, line_no, rule)
    let mut truth: Vec<(usize, String, u32, Rule)> = Vec::new();
    let mut position = 0usize;
    let mut week_count: std::collections::HashMap<Day, i64> = std::collections::HashMap::new();
    // Medicare therapy dollars (lines with GP) by calendar year, in cents, in the order the scrub
    // counts them: the visits by date, a claim's lines by number (copies and split claims sort
    // after the claim they come from)
    let heavy = plant.therapy != Therapy::Under;
    let mut therapy: std::collections::BTreeMap<i32, i64> = Default::default();
    let threshold = |d: Day| {
        codes
            .kx_threshold
            .get(&crate::facts::therapy::year_of(d))
            .copied()
    };
    // a KX plant's visits stop a little above the threshold, safely under the review threshold
    let kx_margin = if plant.therapy == Therapy::OverWithoutKx {
        rng.range(0, 15_000)
    } else {
        0
    };
    let mut over_threshold = false;

    for (v, &date) in dates.iter().enumerate() {
        let here = v == target;
        // the procedures of the visit
        let cpts: Vec<&'static str> = match plant.procedures {
            Procedures::NotOrdered(cpt) if here => vec![cpt],
            Procedures::OneMassage if here => vec![*rng.pick(&["97124", "97140"])],
            Procedures::BothMassages if here => {
                if rng.chance(0.5) {
                    vec!["97140", "97124"]
                } else {
                    vec!["97124", "97140"]
                }
            }
            _ => {
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
                // CMS's edit 97140 / 97124 (indicator 0: no modifier allows it) denies massage
                // beside manual therapy, so a Medicare or Medicaid visit bills one of the two. No
                // other edit of NCCI_PAIRS in force pairs codes of the pool.
                if cms && c.contains(&"97124") && c.contains(&"97140") {
                    let dropped = *rng.pick(&["97124", "97140"]);
                    c.retain(|x| *x != dropped);
                }
                // heavy therapy: every visit bills a massage or manual therapy
                if heavy && !c.contains(&"97124") && !c.contains(&"97140") {
                    c.insert(0, pool[(rng.next_u64() % 2) as usize]);
                }
                c
            }
        };
        let minutes: Vec<i64> = cpts
            .iter()
            .map(|c| match plant.minutes.filter(|_| here) {
                _ if !timed(c) => rng.range(5, 15),
                Some((lo, hi)) => rng.range(lo, hi),
                // 3 or 4 units a code (within the made-up MUE of 4): 120.00 a visit at least
                None if heavy => rng.range(38, 52),
                None => rng.range(8, 52),
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
        let date_s = date_text(rng, date);
        for (i, (cpt, m)) in cpts.iter().zip(&minutes).enumerate() {
            let (modality, pressure) = match plant.session {
                Session::Missing if here && i == 0 => continue,
                Session::Done(modality, pressure) if here && i == 0 => (modality, pressure),
                _ if !required_modality.is_empty() => (required_modality, ""),
                _ if max_pressure == "light" => {
                    *rng.pick(&[("mld", ""), ("swedish", "light"), ("", "light"), ("", "")])
                }
                _ => (
                    *rng.pick(MODALITIES),
                    *rng.pick(&["", "", "", "light", "moderate", "deep"]),
                ),
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
            });
        }
        if here {
            (plant.claim)(&mut lines, &rx_id, rng);
        }
        let in_week = {
            let c = week_count.entry(week_of(date)).or_default();
            *c += 1;
            *c
        };
        let at = |first, copy, cpt| At {
            target: here,
            first,
            cpt,
            copy,
            date,
            repeat_in_week: in_week > 1,
            over_kx_without_kx: false,
            first_over_review: false,
        };
        let mut emit = |l: &Line, mut at: At| {
            let charge = l.units * price(l.cpt);
            let mut l = std::borrow::Cow::Borrowed(l);
            if payer == "medicare" && l.modifiers.split(';').any(|m| m == "GP") {
                let total = therapy
                    .entry(crate::facts::therapy::year_of(date))
                    .or_default();
                let before = *total;
                *total += charge;
                if threshold(date).is_some_and(|t| *total > t) {
                    over_threshold = true;
                    if plant.therapy == Therapy::OverWithKx {
                        l.to_mut().modifiers.push_str(";KX");
                    } else {
                        at.over_kx_without_kx = true;
                    }
                }
                at.first_over_review = before <= codes.kx_review && *total > codes.kx_review;
            }
            let l = &*l;
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
            if let Some((rule, p)) = defect {
                if (p.finds)(&at) {
                    truth.push((position, l.claim_id.clone(), l.line_no, *rule));
                }
            }
            // a line billed twice against minutes documented once: both bill too many units
            if plant.copy && at.target && at.first {
                truth.push((
                    position,
                    l.claim_id.clone(),
                    l.line_no,
                    Rule::UnitsOverDocumented,
                ));
            }
            position += 1;
        };
        for (i, l) in lines.iter().enumerate() {
            emit(l, at(i == 0, false, l.cpt));
        }
        if here && plant.copy {
            let copy = Line {
                claim_id: format!("{}D", lines[0].claim_id),
                ..lines[0].clone()
            };
            emit(&copy, at(true, true, copy.cpt));
        }
        if over_threshold && plant.therapy == Therapy::Under {
            return false;
        }
        // a heavy patient's visits end above the threshold aimed at
        let year_total = therapy.get(&crate::facts::therapy::year_of(date)).copied();
        let stop = match plant.therapy {
            Therapy::Under => None,
            Therapy::OverWithoutKx => threshold(date).map(|t| t + kx_margin),
            Therapy::OverWithKx => Some(codes.kx_review),
        };
        if stop.is_some_and(|s| year_total.unwrap_or(0) > s) {
            break;
        }
    }
    truth.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.3.id().cmp(b.3.id())));
    for (_, claim, line_no, rule) in truth {
        writeln!(out.truth, "{claim},{line_no},{}", rule.id()).unwrap();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::{ncci_txt, NCCI_PAIRS};
    use crate::base::values::parse_date;
    use crate::reference::ncci::{pack, parse};

    #[test]
    fn the_ptp_file_reads_as_cms_layout_with_every_pair() {
        let edits = parse(ncci_txt().as_bytes(), "ncci.txt").unwrap();
        assert_eq!(edits.len(), NCCI_PAIRS.len());
        let day = parse_date("2025-03-10").unwrap();
        let of = |c1: &str, c2: &str| {
            edits
                .iter()
                .find(|e| e.column1 == pack(c1).unwrap() && e.column2 == pack(c2).unwrap())
                .unwrap()
        };
        let e = of("97140", "97124");
        assert!(e.indicator == 0 && e.in_force(day));
        assert!(!of("97140", "97530").in_force(day), "deleted 2019-12-31");
        assert!(!of("97530", "97161").in_force(day), "indicator 9");
    }

    /// The codes a visit may bill: no edit in force pairs two of them but 97140 / 97124, which a
    /// Medicare or Medicaid visit bills only as the planted defect.
    #[test]
    fn the_procedure_mix_meets_no_other_edit_in_force() {
        let edits = parse(ncci_txt().as_bytes(), "ncci.txt").unwrap();
        let day = parse_date("2025-03-10").unwrap();
        let mix = ["97124", "97140", "97110", "97112", "97530", "97010"];
        for c1 in mix {
            for c2 in mix {
                let hit = edits.iter().any(|e| {
                    e.column1 == pack(c1).unwrap()
                        && e.column2 == pack(c2).unwrap()
                        && e.in_force(day)
                });
                assert_eq!(hit, (c1, c2) == ("97140", "97124"), "{c1} / {c2}");
            }
        }
    }
}
