//! A patient's therapy dollars of a calendar year (SPEC §10 "Therapy threshold (Medicare KX)"):
//! each line's bucket and amount, and the running total of its patient, year and bucket, the
//! earlier runs' clean lines first, then this batch's lines by service_date, claim_id, line_no.
//! Facts only: KX_MODIFIER_MISSING and THERAPY_REVIEW_THRESHOLD judge them.

use chrono::Datelike;
use rayon::prelude::*;

use super::{Earlier, EarlierLine};
use crate::base::group::groups_by_int;
use crate::base::values::{date_from_day, format_money, Day};
use crate::model::Batch;
use crate::reference::policy::{Policy, Profile};

/// Medicare counts physical therapy and speech-language pathology together, occupational therapy
/// apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    PtSlp,
    Ot,
}

impl Bucket {
    /// The bucket of a line by its modifiers (`;`-joined, upper-cased): GP or GN → PT/SLP, GO → OT;
    /// none of them → not therapy, not counted. A line carrying both kinds (a coding error: a
    /// service is under one plan of care) counts once, under PT/SLP: the plan of care a massage
    /// and manual-therapy practice bills under, and counting it twice would inflate both totals.
    pub fn of(modifiers: &str) -> Option<Bucket> {
        let mut bucket = None;
        for m in modifiers.split(';') {
            match m {
                "GP" | "GN" => return Some(Bucket::PtSlp),
                "GO" => bucket = Some(Bucket::Ot),
                _ => {}
            }
        }
        bucket
    }

    pub fn label(self) -> &'static str {
        match self {
            Bucket::PtSlp => "PT/SLP",
            Bucket::Ot => "OT",
        }
    }
}

/// Whether a line carries KX (the provider attests that care above the threshold is necessary).
pub fn has_kx(modifiers: &str) -> bool {
    modifiers.split(';').any(|m| m == "KX")
}

pub fn year_of(d: Day) -> i32 {
    date_from_day(d).year()
}

/// A line's therapy amount in millionths: the profile's fee-schedule amount for the code × units
/// when the policy gives one, else the charge.
pub fn amount(profile: &Profile, cpt: &str, units: i64, charge: i64) -> i64 {
    match profile.fee_schedule.get(cpt) {
        Some(&per_unit) => per_unit.saturating_mul(units),
        None => charge,
    }
}

/// One counted line of the batch and its patient's running total of the year and bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Running {
    /// Index of the line in `Batch::lines`.
    pub line: u32,
    pub year: i32,
    pub bucket: Bucket,
    /// The total before this line (earlier runs, then the batch's earlier lines).
    pub before: i64,
    /// The total with this line.
    pub after: i64,
    /// The highest total reached before this line (the earlier runs' total at least): a total
    /// "first" passes an amount on the line where it goes above this peak (a credit line may
    /// lower a total, which must not make it pass again).
    pub peak_before: i64,
}

/// The earlier runs' total of a patient's year and bucket. An earlier line counts when its
/// payer_type's profile in this run's policy applies a kx_threshold (a commercial line or one of
/// a payer_type the policy no longer has does not), with its amount under that profile.
pub fn earlier_total(earlier: &[EarlierLine], policy: &Policy, year: i32, bucket: Bucket) -> i64 {
    earlier
        .iter()
        .filter_map(|e| {
            let profile = &policy.profiles[e.payer? as usize];
            (profile.counts_therapy()
                && year_of(e.date) == year
                && Bucket::of(&e.modifiers) == Some(bucket))
            .then(|| amount(profile, &e.cpt, e.units, e.charge))
        })
        .sum()
}

/// The running totals of every counted line of the batch: a line of a profile with a
/// kx_threshold and a therapy modifier. Lines with other findings count too (they will be
/// corrected and sent). Grouped by patient (all of a patient's lines are in one part), each
/// patient in parallel; within a patient, by year and bucket, in order of service_date,
/// claim_id, line_no, then read order. Entries of one patient, year and bucket are contiguous.
pub fn running_totals(
    batch: &Batch,
    line_patient: &[u32],
    earlier: &Earlier,
    policy: &Policy,
) -> Vec<Running> {
    if !policy.profiles.iter().any(Profile::counts_therapy) {
        return Vec::new();
    }
    let lines = &batch.lines;
    let counted: Vec<(u32, Bucket)> = lines
        .par_iter()
        .enumerate()
        .filter_map(|(i, l)| {
            if !policy.profiles[l.payer as usize].counts_therapy() {
                return None;
            }
            Bucket::of(&l.modifiers).map(|b| (i as u32, b))
        })
        .collect();
    // by the patient's number (linking numbered them): integers, not the ids' text
    let (_, groups) = groups_by_int(counted.len(), |k| line_patient[counted[k].0 as usize]);
    groups
        .par_iter()
        .flat_map_iter(|g| {
            let mut rows: Vec<(i32, Bucket, &str, u32, u32)> = g
                .iter()
                .map(|&k| {
                    let (i, bucket) = counted[k as usize];
                    let l = &lines[i as usize];
                    (
                        year_of(l.date),
                        bucket,
                        batch.claim_text(l.claim_id),
                        l.line_no,
                        i,
                    )
                })
                .collect();
            rows.sort_unstable_by(|a, b| {
                let (la, lb) = (&lines[a.4 as usize], &lines[b.4 as usize]);
                (a.0, a.1, la.date, a.2, a.3, a.4).cmp(&(b.0, b.1, lb.date, b.2, b.3, b.4))
            });
            let patient = batch.claim_text(lines[rows[0].4 as usize].patient_id);
            let earlier = earlier.of(patient);
            let mut out = Vec::with_capacity(rows.len());
            for run in rows.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
                let (year, bucket) = (run[0].0, run[0].1);
                let mut total = earlier_total(earlier, policy, year, bucket);
                let mut peak = total;
                for &(_, _, _, _, i) in run {
                    let l = &lines[i as usize];
                    let profile = &policy.profiles[l.payer as usize];
                    let after = total.saturating_add(amount(profile, &l.cpt, l.units, l.charge));
                    out.push(Running {
                        line: i,
                        year,
                        bucket,
                        before: total,
                        after,
                        peak_before: peak,
                    });
                    total = after;
                    peak = peak.max(after);
                }
            }
            out
        })
        .collect()
}

/// Millionths as money with thousands separators and two decimals: `2,452.00`.
pub fn format_amount(micro: i64) -> String {
    let plain = format_money(micro);
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", plain.as_str()),
    };
    let (int, cents) = digits.split_once('.').expect("format_money writes cents");
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (n, c) in int.chars().enumerate() {
        if n > 0 && (int.len() - n) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{cents}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_by_therapy_modifier() {
        assert_eq!(Bucket::of("GP"), Some(Bucket::PtSlp));
        assert_eq!(Bucket::of("59;GN"), Some(Bucket::PtSlp));
        assert_eq!(Bucket::of("GO;KX"), Some(Bucket::Ot));
        // both kinds: counted once, under PT/SLP
        assert_eq!(Bucket::of("GO;GP"), Some(Bucket::PtSlp));
        assert_eq!(Bucket::of("KX"), None);
        assert_eq!(Bucket::of(""), None);
        assert!(has_kx("GP;KX") && !has_kx("GP;KXX"));
    }

    #[test]
    fn money_with_thousands_separators() {
        assert_eq!(format_amount(2_452_000_000), "2,452.00");
        assert_eq!(format_amount(410_000_000), "410.00");
        assert_eq!(format_amount(1_234_567_890_000), "1,234,567.89");
        assert_eq!(format_amount(999_995_000), "1,000.00");
        assert_eq!(format_amount(-3_000_500_000), "-3,000.50");
        assert_eq!(format_amount(0), "0.00");
    }

    #[test]
    fn amount_from_the_fee_schedule_else_the_charge() {
        let policy = Policy::parse(
            "[profiles.medicare]\nfee_schedule = { \"97124\" = 28.50 }\n",
            "p.toml",
        )
        .unwrap();
        let medicare = &policy.profiles[policy.profile_index("medicare").unwrap()];
        assert_eq!(amount(medicare, "97124", 3, 99_000_000), 85_500_000);
        assert_eq!(amount(medicare, "97140", 3, 99_000_000), 99_000_000);
    }
}
