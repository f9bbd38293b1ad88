//! How each rule's defect is planted: one table entry per rule, read by `patient`.
//!
//! An entry changes a clean patient at fixed steps (payer, condition, visit dates, prescription,
//! the target visit's procedures, minutes, session and claim lines) and says which written lines
//! carry its finding in `truth.csv`. `patient` calls each hook at a fixed point of the patient's
//! random stream: what a hook draws is part of what a seed means.

use super::rng::Rng;
use super::{
    day, first_day, schedule, visit_count, visit_dates, visit_gaps, Line, ANTICOAGULANT,
    LYMPHEDEMA, PAYERS,
};
use crate::base::values::{week_of, Day};
use crate::rules::Rule;

/// The changes that plant one rule's defect. `CLEAN` changes nothing.
pub struct Plant {
    /// Payers to draw from, by weight.
    pub payers: &'static [(&'static str, u32)],
    /// A condition (index in `CONDITIONS`) instead of a drawn one.
    pub condition: Option<usize>,
    /// A code the prescription names besides the condition's.
    pub rx_code: Option<&'static str>,
    /// The visit dates, first to last.
    pub dates: fn(&mut Rng) -> Vec<Day>,
    /// Changes to the prescription once its values are drawn, given the visit dates.
    pub rx: fn(&mut Rx, &[Day], &mut Rng),
    /// The visit that carries the defect.
    pub target: Target,
    /// What the target visit bills.
    pub procedures: Procedures,
    /// Minutes documented for each of the target visit's procedures, if not the usual 8 to 52.
    pub minutes: Option<(i64, i64)>,
    /// The session row of the target visit's first procedure.
    pub session: Session,
    /// Changes to the target visit's claim lines, given the prescription's id.
    pub claim: fn(&mut [Line], &str, &mut Rng),
    /// The target claim's first line billed again on a second claim.
    pub copy: bool,
    /// The patient's yearly therapy dollars against the Medicare threshold (SPEC §10).
    pub therapy: Therapy,
    /// The written lines that carry the rule's finding.
    pub finds: fn(&At) -> bool,
}

/// A Medicare patient's therapy of a calendar year against the KX threshold and the review
/// threshold of the built-in policy.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Therapy {
    /// Every year at or under the KX threshold: a patient drawn above it is drawn again.
    Under,
    /// Heavy therapy in one calendar year (see `heavy_year`): visits stop once the year is above
    /// the KX threshold by a margin drawn up to 150.00, so that it stays under the review
    /// threshold; the lines above the threshold lack KX.
    OverWithoutKx,
    /// Heavy therapy in one calendar year until the review threshold is passed, the last visit
    /// passing it; the biller adds KX to every line above the KX threshold.
    OverWithKx,
}

/// The prescription's values a plant may change.
pub struct Rx {
    /// Sessions used before this batch.
    pub used: i64,
    pub authorized: i64,
    pub start: Day,
    pub end: Day,
    pub frequency: &'static str,
    pub doc_type: &'static str,
    /// False: the patient has no document on file.
    pub written: bool,
}

#[derive(Clone, Copy)]
pub enum Target {
    /// A visit drawn at random.
    Any,
    First,
    Last,
}

#[derive(Clone, Copy)]
pub enum Procedures {
    /// The visit's usual draw from the ordered procedures.
    Usual,
    /// 97124 or 97140 alone, so that the CMS pool and the other lines stay as they were.
    OneMassage,
    /// This procedure alone, and the prescription does not allow it.
    NotOrdered(&'static str),
    /// 97140 and 97124, in either order.
    BothMassages,
}

#[derive(Clone, Copy)]
pub enum Session {
    Usual,
    /// Not documented.
    Missing,
    /// Documented with this modality and pressure.
    Done(&'static str, &'static str),
}

/// A written claim line, as `Plant::finds` sees it.
pub struct At {
    /// On the visit that carries the defect.
    pub target: bool,
    /// The first line of its claim.
    pub first: bool,
    /// Its procedure code.
    pub cpt: &'static str,
    /// The copy billed on a second claim (`Plant::copy`).
    pub copy: bool,
    pub date: Day,
    /// Its visit is not the first in its Monday-Sunday week.
    pub repeat_in_week: bool,
    /// A Medicare therapy line above the year's KX threshold, without KX.
    pub over_kx_without_kx: bool,
    /// The Medicare therapy line on which the year's total first passes the review threshold.
    pub first_over_review: bool,
}

pub const CLEAN: Plant = Plant {
    payers: PAYERS,
    condition: None,
    rx_code: None,
    dates: visit_dates,
    rx: |_, _, _| {},
    target: Target::Any,
    procedures: Procedures::Usual,
    minutes: None,
    session: Session::Usual,
    claim: |_, _, _| {},
    copy: false,
    therapy: Therapy::Under,
    finds: |_| false,
};

const FIRST_LINE: fn(&At) -> bool = |at| at.target && at.first;
const TARGET_CLAIM: fn(&At) -> bool = |at| at.target;
const EVERY_LINE: fn(&At) -> bool = |_| true;

/// The rules a patient can carry, drawn with equal chance. The draw picks by position, so the
/// order is part of what a seed means: keep it the catalogue's.
#[rustfmt::skip]
pub static PLANTS: [(Rule, Plant); 27] = [
    (Rule::DxMissing, Plant {
        claim: |l, _, _| l[0].dx.clear(),
        finds: FIRST_LINE,
        ..CLEAN
    }),
    (Rule::DxInvalidFormat, Plant {
        claim: |l, _, rng| {
            l[0].dx = rng.pick(&["M54.", "5M54.50", "M5", "M54.12345", "97140"]).to_string()
        },
        finds: FIRST_LINE,
        ..CLEAN
    }),
    (Rule::DxUnknown, Plant {
        claim: |l, _, rng| l[0].dx = rng.pick(&["M79.19", "M54.99"]).to_string(),
        finds: FIRST_LINE,
        ..CLEAN
    }),
    (Rule::DxNotBillable, Plant {
        claim: |l, _, rng| l[0].dx = rng.pick(&["M54.5", "M62.83"]).to_string(),
        finds: FIRST_LINE,
        ..CLEAN
    }),
    (Rule::DxCodesetUnavailable, Plant {
        dates: past_code_sets,
        finds: |at| at.date >= day(2026, 10, 1),
        ..CLEAN
    }),
    // the prescription names the wellness code too, so that the line is not also DX_NOT_ON_RX
    (Rule::WellnessOnly, Plant {
        rx_code: Some("Z73.3"),
        claim: |l, _, _| l[0].dx = "Z73.3".into(),
        finds: FIRST_LINE,
        ..CLEAN
    }),
    (Rule::DxNotOnRx, Plant {
        claim: |l, _, _| l[0].dx = "R52".into(),
        finds: FIRST_LINE,
        ..CLEAN
    }),
    (Rule::RxMissing, Plant {
        rx: |rx, _, _| rx.written = false,
        finds: EVERY_LINE,
        ..CLEAN
    }),
    (Rule::RxNotFound, Plant {
        claim: |lines, rx_id, _| lines.iter_mut().for_each(|l| l.rx_id = format!("{rx_id}-X")),
        finds: TARGET_CLAIM,
        ..CLEAN
    }),
    (Rule::RxNotAPrescription, Plant {
        rx: |rx, _, _| rx.doc_type = "referral",
        finds: EVERY_LINE,
        ..CLEAN
    }),
    (Rule::RxBeforeStart, Plant {
        rx: |rx, dates, _| rx.start = dates[0] + 1,
        target: Target::First,
        finds: TARGET_CLAIM,
        ..CLEAN
    }),
    // a start two weeks before the first visit keeps it before the end for a single visit too
    (Rule::RxExpired, Plant {
        rx: |rx, dates, rng| {
            rx.start = dates[0] - 14 - rng.range(0, 14) as Day;
            rx.end = dates[dates.len() - 1] - 1;
        },
        target: Target::Last,
        finds: TARGET_CLAIM,
        ..CLEAN
    }),
    (Rule::RxSessionsExceeded, Plant {
        rx: |rx, dates, _| rx.authorized = rx.used + dates.len() as i64 - 1,
        target: Target::Last,
        finds: TARGET_CLAIM,
        ..CLEAN
    }),
    (Rule::RxFrequencyExceeded, Plant {
        dates: two_in_a_week,
        rx: |rx, _, _| rx.frequency = "1",
        finds: |at| at.repeat_in_week,
        ..CLEAN
    }),
    (Rule::RxCptNotAllowed, Plant {
        procedures: Procedures::NotOrdered("97530"),
        finds: FIRST_LINE,
        ..CLEAN
    }),
    (Rule::RxModalityMismatch, Plant {
        condition: Some(LYMPHEDEMA),
        procedures: Procedures::OneMassage,
        session: Session::Done("swedish", "light"),
        finds: FIRST_LINE,
        ..CLEAN
    }),
    (Rule::RxPressureContraindicated, Plant {
        condition: Some(ANTICOAGULANT),
        procedures: Procedures::OneMassage,
        session: Session::Done("deep_tissue", ""),
        finds: FIRST_LINE,
        ..CLEAN
    }),
    (Rule::SessionMissing, Plant {
        procedures: Procedures::OneMassage,
        session: Session::Missing,
        finds: FIRST_LINE,
        ..CLEAN
    }),
    (Rule::UnitsInvalid, Plant {
        procedures: Procedures::OneMassage,
        claim: |l, _, _| l[0].units = 0,
        finds: FIRST_LINE,
        ..CLEAN
    }),
    (Rule::UnitsOverDocumented, Plant {
        procedures: Procedures::OneMassage,
        claim: |l, _, _| l[0].units += 1,
        finds: FIRST_LINE,
        ..CLEAN
    }),
    // 23 minutes or more support 2 units, so one fewer still bills a unit
    (Rule::UnitsUnderDocumented, Plant {
        procedures: Procedures::OneMassage,
        minutes: Some((23, 52)),
        claim: |l, _, _| l[0].units -= 1,
        finds: FIRST_LINE,
        ..CLEAN
    }),
    // 5 units, over the made-up MUE of 4
    (Rule::UnitsOverMue, Plant {
        procedures: Procedures::OneMassage,
        minutes: Some((68, 75)),
        finds: FIRST_LINE,
        ..CLEAN
    }),
    // the modifier is asked of CMS payers only
    (Rule::ModifierMissing, Plant {
        payers: &[("medicare", 1), ("medicaid", 1)],
        claim: |l, _, rng| l[0].modifiers = rng.pick(&["", "59"]).to_string(),
        finds: FIRST_LINE,
        ..CLEAN
    }),
    // at most 2 units, so that billed twice they stay within the MUE; the copy also makes both
    // lines over their documented units
    (Rule::DuplicateLine, Plant {
        procedures: Procedures::OneMassage,
        minutes: Some((8, 37)),
        copy: true,
        finds: |at| at.copy,
        ..CLEAN
    }),
    // massage beside manual therapy on a CMS payer's visit, both lines by the patient's one
    // therapist: the 97124 line is denied. 15 minutes or more each give both codes a unit (both
    // are billed) and at most 4, within the made-up MUE. Now and then the 97124 line goes on a
    // claim of its own: the edit looks across claims.
    (Rule::NcciPtpConflict, Plant {
        payers: &[("medicare", 1), ("medicaid", 1)],
        procedures: Procedures::BothMassages,
        minutes: Some((15, 52)),
        claim: |l, _, rng| {
            if rng.chance(0.3) {
                l[1].claim_id.push('B');
                l[1].line_no = 1;
            }
        },
        finds: |at| at.target && at.cpt == "97124",
        ..CLEAN
    }),
    // a Medicare patient in heavy physical therapy all year, whose biller never adds KX
    (Rule::KxModifierMissing, Plant {
        payers: &[("medicare", 1)],
        dates: heavy_year,
        therapy: Therapy::OverWithoutKx,
        finds: |at| at.over_kx_without_kx,
        ..CLEAN
    }),
    // the same, with KX added past the threshold, until the year passes the review threshold
    (Rule::TherapyReviewThreshold, Plant {
        payers: &[("medicare", 1)],
        dates: heavy_year,
        therapy: Therapy::OverWithKx,
        finds: |at| at.first_over_review,
        ..CLEAN
    }),
];

/// Visits whose last falls after FY2026, where no built-in code set applies.
fn past_code_sets(rng: &mut Rng) -> Vec<Day> {
    let k = visit_count(rng);
    let gaps = visit_gaps(rng, k);
    let span: Day = gaps.iter().sum();
    schedule(day(2026, 10, 1) + rng.range(0, 30) as Day - span, &gaps)
}

/// 26 to 30 visits, 4 to 9 days apart, inside one calendar year (2025, or 2026 up to the end of
/// FY2026): with the heavy visits of `Therapy::Over*` (at least 120.00 each) enough to pass the
/// review threshold of 3,000.00 in that year.
fn heavy_year(rng: &mut Rng) -> Vec<Day> {
    let k = rng.range(26, 30) as usize;
    let gaps = visit_gaps(rng, k);
    let span: Day = gaps.iter().sum();
    let (lo, hi) = if rng.chance(0.5) {
        (day(2025, 1, 1), day(2025, 12, 31))
    } else {
        (day(2026, 1, 1), day(2026, 9, 29))
    };
    schedule(lo + rng.range(0, (hi - span - lo) as i64) as Day, &gaps)
}

/// 2 to 10 visits, the first two in the same Monday-Sunday week.
fn two_in_a_week(rng: &mut Rng) -> Vec<Day> {
    let k = rng.range(2, 10) as usize;
    let mut gaps = visit_gaps(rng, k);
    gaps[0] = 1;
    let mut d0 = first_day(rng, gaps.iter().sum());
    if week_of(d0) != week_of(d0 + 1) {
        d0 -= 1; // a Sunday: start on the Saturday instead
    }
    schedule(d0, &gaps)
}

#[cfg(test)]
mod tests {
    use super::PLANTS;
    use crate::rules::Rule;

    /// Rules the generator does not plant in one batch: a duplicate submission needs an earlier
    /// night (`generate --nights`).
    const NOT_PLANTED: &[Rule] = &[Rule::DuplicateSubmission];

    #[test]
    fn one_entry_per_rule_in_catalogue_order() {
        let planted: Vec<Rule> = Rule::all().filter(|r| !NOT_PLANTED.contains(r)).collect();
        assert_eq!(PLANTS.len(), planted.len());
        for ((rule, _), want) in PLANTS.iter().zip(planted) {
            assert_eq!(*rule, want);
        }
    }
}
