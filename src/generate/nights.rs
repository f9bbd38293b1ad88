//! Successive nightly batches (`generate --nights K`): one generated batch cut into K nights that,
//! scrubbed in order with one `--state`, find exactly each night's `truth.csv` (SPEC §10).
//!
//! The batch is the one `generate` writes without `--nights`, with its truth; each patient's rows are
//! split over the nights by service date, so no rule is re-implemented for the split. A patient's
//! course of treatment is billed as it goes: its visit dates, in order, are spread over a run of
//! consecutive nights drawn for the patient (a night holds the visits of many courses, of any
//! date). Cutting the batch's two years of dates into K spans instead would leave few patients
//! across two nights, and little of SPEC §10 exercised. What makes the truth carry over: an earlier
//! night holds only lines the whole batch calls clean (a held line is not recorded clean, so a
//! later night would not count it). From a patient's first held claim on (by service date), all of
//! the patient's claims go to that claim's night. Then the visits counted against a
//! prescription, the visits of a week and the Medicare therapy totals of a later night are the
//! whole batch's: the recorded clean lines stand for the earlier dates the whole batch had in
//! front of them.
//!
//! DUPLICATE_SUBMISSION needs an earlier night, so it is planted here: a clean claim of night j is
//! sent again under a new claim_id (its id and `R`) in night j+1, with its visit's sessions, for a
//! patient who has no other rows that night. Its findings are worked out from SPEC §10 against what
//! the state holds by then (the patient's clean claims of nights 1..j): the duplicate on every line,
//! the visit-level warnings of the original, and the visit number, the week's visits and the
//! therapy total, which now count every recorded clean date but the copy's own.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::rng::Rng;
use super::Chunk;
use crate::base::values::{parse_date, week_of, Day};
use crate::facts::therapy::{amount, has_kx, year_of, Bucket};
use crate::reference::policy::Policy;
use crate::rules::Rule;

/// Salt of the stream that draws a patient's nights and re-sent claim: not the patient's own
/// stream, whose draws are what a seed means for the batch.
const NIGHTS_SALT: u64 = 0x6E69_6768_7473_2121;

/// How a batch is cut into nights.
pub struct Nights {
    pub count: usize,
    /// Share of patients one of whose clean claims is sent again the next night.
    pub duplicate_rate: f64,
    pub seed: u64,
    policy: Policy,
}

impl Nights {
    pub fn new(count: usize, duplicate_rate: f64, seed: u64) -> Nights {
        Nights {
            count,
            duplicate_rate,
            seed,
            // the policy the scrub applies by default, as for the batch's own truth
            policy: Policy::builtin(),
        }
    }
}

/// A claims row of the generated text.
struct ClaimRow<'a> {
    text: &'a str,
    claim_id: &'a str,
    line_no: u32,
    payer: &'a str,
    date: Day,
    cpt: &'a str,
    modifiers: &'a str,
    units: i64,
    /// Millionths.
    charge: i64,
}

fn parse_claim(text: &str) -> ClaimRow<'_> {
    let f: Vec<&str> = text.split(',').collect();
    let (whole, cents) = f[11].split_once('.').expect("a charge with cents");
    ClaimRow {
        text,
        claim_id: f[0],
        line_no: f[1].parse().expect("line_no"),
        payer: f[3],
        date: parse_date(f[7]).expect("service_date"),
        cpt: f[8],
        modifiers: f[9],
        units: f[10].parse().expect("units"),
        charge: (whole.parse::<i64>().expect("charge") * 100
            + cents.parse::<i64>().expect("cents"))
            * 10_000,
    }
}

/// The prescription's numbers that count visits; `None` where the document sets no limit.
struct Limits {
    authorized: Option<i64>,
    used: i64,
    frequency: Option<i64>,
}

fn parse_limits(text: &str) -> Option<Limits> {
    let f: Vec<&str> = text.split(',').collect();
    (f[3] == "prescription").then(|| Limits {
        authorized: f[5].parse().ok(),
        used: f[12].parse().unwrap_or(0),
        frequency: f[8].parse().ok(),
    })
}

/// Splits one generated patient (`patient`'s text) over the nights, appending to `out` (one chunk a
/// night); plants a re-sent claim now and then.
pub fn split(index: u64, patient: &Chunk, nights: &Nights, out: &mut [Chunk]) {
    let claims: Vec<ClaimRow> = patient.claims.lines().map(parse_claim).collect();
    if claims.is_empty() {
        // no visit billed: the documents alone, in the first night
        out[0].sessions.push_str(&patient.sessions);
        out[0].prescriptions.push_str(&patient.prescriptions);
        return;
    }
    let truth: Vec<(&str, u32, Rule)> = patient
        .truth
        .lines()
        .map(|t| {
            let mut f = t.split(',');
            let (c, n, r) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            (
                c,
                n.parse().expect("line_no"),
                Rule::from_id(r).expect("a rule"),
            )
        })
        .collect();
    let held = |claim: &str| truth.iter().any(|t| t.0 == claim && t.2.is_reject());
    let sessions: Vec<(&str, Day)> = patient
        .sessions
        .lines()
        .map(|s| (s, parse_date(s.split(',').nth(3).unwrap()).expect("date")))
        .collect();
    // the first held claim's date: it and everything after go to one night
    let tail = claims
        .iter()
        .filter(|c| held(c.claim_id))
        .map(|c| c.date)
        .min();
    let mut units: Vec<Day> = claims
        .iter()
        .map(|c| c.date)
        .chain(sessions.iter().map(|s| s.1))
        .map(|d| tail.map_or(d, |t| d.min(t)))
        .collect();
    units.sort_unstable();
    units.dedup();
    // the patient's run of nights, first..=last; its dates spread evenly over it, in order
    let mut rng = Rng::for_item(nights.seed ^ NIGHTS_SALT, index);
    // two nights drawn, the earlier one first: a night holds about as many lines as another
    let (a, b) = (
        rng.range(0, nights.count as i64 - 1) as usize,
        rng.range(0, nights.count as i64 - 1) as usize,
    );
    let (first, last) = (a.min(b), a.max(b));
    let span = last - first + 1;
    let night = |d: Day| {
        let i = units.partition_point(|&u| u < tail.map_or(d, |t| d.min(t)));
        first + i * span / units.len()
    };

    let mut present = vec![false; nights.count];
    for c in &claims {
        let n = night(c.date);
        present[n] = true;
        writeln!(out[n].claims, "{}", c.text).unwrap();
        out[n].lines += 1;
    }
    for t in &truth {
        let c = claims.iter().find(|c| c.claim_id == t.0).expect("a claim");
        writeln!(out[night(c.date)].truth, "{},{},{}", t.0, t.1, t.2.id()).unwrap();
    }
    for (s, d) in &sessions {
        let n = night(*d);
        present[n] = true;
        writeln!(out[n].sessions, "{s}").unwrap();
    }

    let resent = resend(
        &mut rng, &claims, &truth, &sessions, patient, nights, &night, &present, out,
    );
    for (n, here) in present.iter().enumerate() {
        if *here || resent == Some(n) {
            // an export lists every active document of its patients
            out[n].prescriptions.push_str(&patient.prescriptions);
        }
    }
}

/// Plants DUPLICATE_SUBMISSION for a patient drawn with `duplicate_rate`: one clean claim of a night
/// that holds its visit's every line, sent again the next night, where the patient has nothing
/// else. Returns that night.
#[allow(clippy::too_many_arguments)]
fn resend(
    rng: &mut Rng,
    claims: &[ClaimRow],
    truth: &[(&str, u32, Rule)],
    sessions: &[(&str, Day)],
    patient: &Chunk,
    nights: &Nights,
    night: &dyn Fn(Day) -> usize,
    present: &[bool],
    out: &mut [Chunk],
) -> Option<usize> {
    if nights.count < 2 || !rng.chance(nights.duplicate_rate) {
        return None;
    }
    let held = |claim: &str| truth.iter().any(|t| t.0 == claim && t.2.is_reject());
    let mut ids: Vec<&str> = claims.iter().map(|c| c.claim_id).collect();
    ids.dedup();
    let candidates: Vec<&str> = ids
        .into_iter()
        .filter(|&id| {
            let c = claims.iter().find(|c| c.claim_id == id).unwrap();
            let n = night(c.date);
            n + 1 < nights.count
                && !present[n + 1]
                && !held(id)
                && claims.iter().all(|o| o.date != c.date || o.claim_id == id)
        })
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let id = *rng.pick(&candidates);
    let lines: Vec<&ClaimRow> = claims.iter().filter(|c| c.claim_id == id).collect();
    let date = lines[0].date;
    let n = night(date);
    // what the state holds for the patient when night n+1 is scrubbed: its clean claims so far
    let recorded: Vec<&ClaimRow> = claims
        .iter()
        .filter(|c| night(c.date) <= n && !held(c.claim_id))
        .collect();

    let mut findings: Vec<Vec<Rule>> = lines
        .iter()
        .map(|l| {
            let mut f = vec![Rule::DuplicateSubmission];
            // the visit is the same visit: what it alone decides is found again
            f.extend(
                truth
                    .iter()
                    .filter(|t| {
                        t.0 == id
                            && t.1 == l.line_no
                            && matches!(
                                t.2,
                                Rule::DxCodesetUnavailable | Rule::UnitsUnderDocumented
                            )
                    })
                    .map(|t| t.2),
            );
            f
        })
        .collect();

    // SPEC §10 "Sessions": every recorded clean date but the copy's, which is a date of this batch
    let limits = patient.prescriptions.lines().next().and_then(parse_limits);
    if let Some(rx) = limits {
        let mut earlier: Vec<Day> = recorded
            .iter()
            .map(|c| c.date)
            .filter(|&d| d != date)
            .collect();
        earlier.sort_unstable();
        earlier.dedup();
        let number = rx.used + earlier.len() as i64 + 1;
        let in_week = earlier
            .iter()
            .filter(|&&d| week_of(d) == week_of(date))
            .count() as i64
            + 1;
        for f in &mut findings {
            if rx.authorized.is_some_and(|a| number > a) {
                f.push(Rule::RxSessionsExceeded);
            }
            if rx.frequency.is_some_and(|w| in_week > w) {
                f.push(Rule::RxFrequencyExceeded);
            }
        }
    }

    // SPEC §10 "Therapy threshold": the recorded clean lines of the year and bucket, then the copy
    let policy = &nights.policy;
    let profile = policy
        .profile_index(lines[0].payer)
        .map(|p| &policy.profiles[p]);
    if let Some(profile) = profile.filter(|p| p.counts_therapy()) {
        let year = year_of(date);
        let mut totals: BTreeMap<Bucket, (i64, i64)> = BTreeMap::new();
        for c in recorded.iter().filter(|c| year_of(c.date) == year) {
            if let Some(b) = Bucket::of(&c.modifiers.to_ascii_uppercase()) {
                let e = totals.entry(b).or_default();
                e.0 += amount(profile, c.cpt, c.units, c.charge);
                e.1 = e.0;
            }
        }
        let mut order: Vec<usize> = (0..lines.len()).collect();
        order.sort_by_key(|&i| lines[i].line_no);
        for i in order {
            let l = lines[i];
            let modifiers = l.modifiers.to_ascii_uppercase();
            let Some(b) = Bucket::of(&modifiers) else {
                continue;
            };
            let (total, peak) = totals.entry(b).or_default();
            let after = *total + amount(profile, l.cpt, l.units, l.charge);
            if profile
                .kx_threshold
                .get(&year)
                .is_some_and(|&t| after > t && !has_kx(&modifiers))
            {
                findings[i].push(Rule::KxModifierMissing);
            }
            if profile
                .kx_review_threshold
                .is_some_and(|r| *peak <= r && after > r)
            {
                findings[i].push(Rule::TherapyReviewThreshold);
            }
            *total = after;
            *peak = (*peak).max(after);
        }
    }

    let next = &mut out[n + 1];
    for (l, f) in lines.iter().zip(&mut findings) {
        let rest = &l.text[l.claim_id.len()..];
        writeln!(next.claims, "{id}R{rest}").unwrap();
        next.lines += 1;
        f.sort_by_key(|r| r.id());
        for r in f.iter() {
            writeln!(next.truth, "{id}R,{},{}", l.line_no, r.id()).unwrap();
        }
    }
    for (s, _) in sessions.iter().filter(|(_, d)| *d == date) {
        writeln!(next.sessions, "{s}").unwrap();
    }
    Some(n + 1)
}
