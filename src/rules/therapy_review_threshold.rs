//! THERAPY_REVIEW_THRESHOLD (warning): the line on which the patient's therapy total of the
//! calendar year first goes above the profile's `kx_review_threshold` (Medicare: 3,000.00; claims
//! above it may go to targeted medical review). Totals per patient, year and bucket as for
//! KX_MODIFIER_MISSING (`facts::therapy`), with or without KX on the line. The review amount is
//! one for every year; it applies to the profiles that have a `kx_threshold`. A total the earlier
//! runs already took above it warns no more.

use rayon::prelude::*;

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::therapy::format_amount;

pub const RULE: RuleDef = RuleDef {
    id: "THERAPY_REVIEW_THRESHOLD",
    severity: Severity::Warn,
    carc: "",
    rarc: "",
    meaning: "the patient's therapy total for the year first exceeds the medical-review threshold",
    check: Check::Batch(check),
    needs: &[],
};

fn check(ctx: &Context) -> Vec<(u32, String)> {
    let lines = &ctx.batch.lines;
    ctx.facts
        .running
        .par_iter()
        .filter_map(|r| {
            let profile = &ctx.policy.profiles[lines[r.line as usize].payer as usize];
            let review = profile.kx_review_threshold?;
            (r.peak_before <= review && r.after > review).then(|| {
                (
                    r.line,
                    format!(
                        "{} therapy {} this year ({} before this line) exceeds the {} medical-review threshold of {}: claims may go to targeted medical review",
                        r.bucket.label(),
                        format_amount(r.after),
                        format_amount(r.before),
                        r.year,
                        format_amount(review)
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::base::values::parse_date;
    use crate::facts::EarlierLine;
    use crate::model::ClaimLine;
    use crate::reference::policy::Policy;
    use crate::rules::Rule;

    fn therapy(claim: &str, patient: &str, date: &str, modifiers: &str, charge: i64) -> ClaimLine {
        let mut l = line(claim, 1, patient, "medicare", date, "97140", 2, "M54.50");
        l.modifiers = modifiers.into();
        l.charge = charge * 1_000_000;
        l
    }

    fn review(lines: Vec<ClaimLine>, before: Option<Vec<EarlierLine>>) -> Found {
        let policy = Policy::builtin();
        let rules = [Rule::KxModifierMissing, Rule::TherapyReviewThreshold];
        run_earlier(&rules, lines, vec![], vec![], None, &policy, &[], before)
    }

    #[test]
    fn warns_once_on_the_line_that_first_passes_3000() {
        let lines = vec![
            therapy("C-1", "P-1", "2025-03-03", "GP", 2_400),
            therapy("C-2", "P-1", "2025-03-10", "GP;KX", 600), // 3,000.00: not above
            therapy("C-3", "P-1", "2025-03-17", "GP;KX", 90),  // 3,090.00: first above
            therapy("C-4", "P-1", "2025-03-24", "GP;KX", 90),  // still above: no second warning
        ];
        let f = review(lines, None);
        assert_eq!(ids(&f), [(2, "THERAPY_REVIEW_THRESHOLD")]);
        assert_eq!(
            f[0].2,
            "PT/SLP therapy 3,090.00 this year (3,000.00 before this line) exceeds the 2025 medical-review threshold of 3,000.00: claims may go to targeted medical review"
        );
    }

    #[test]
    fn without_kx_both_rules_fire_on_the_crossing_line() {
        let lines = vec![
            therapy("C-1", "P-1", "2026-03-02", "GO", 2_900),
            therapy("C-2", "P-1", "2026-03-09", "GO", 200),
        ];
        let f = review(lines, None);
        assert_eq!(
            ids(&f),
            [(0, "KX_MODIFIER_MISSING"), (1, "KX_MODIFIER_MISSING"), (1, "THERAPY_REVIEW_THRESHOLD")]
        );
        assert!(f[2].2.starts_with("OT therapy 3,100.00"), "{}", f[2].2);
    }

    #[test]
    fn quiet_under_it_per_bucket_and_per_year_and_after_earlier_runs_passed_it() {
        let lines = vec![
            therapy("C-1", "P-1", "2025-12-29", "GP;KX", 2_000),
            therapy("C-2", "P-1", "2026-01-05", "GP;KX", 2_000), // new year
            therapy("C-3", "P-1", "2026-01-12", "GO;KX", 2_000), // OT apart
        ];
        assert!(review(lines, None).is_empty());
        let earlier = EarlierLine {
            patient_id: "P-1".into(),
            claim_id: "E-1".into(),
            line_no: 1,
            date: parse_date("2025-02-03").unwrap(),
            cpt: "97140".into(),
            modifiers: "GP;KX".into(),
            units: 2,
            charge: 3_100_000_000,
            payer: Policy::builtin().profile_index("medicare").map(|p| p as u8),
            rx_id: "".into(),
            run_date: parse_date("2025-02-04").unwrap(),
        };
        // an earlier run passed 3,000.00 (and warned then): this batch's line is not the first
        let lines = vec![therapy("C-1", "P-1", "2025-03-03", "GP;KX", 50)];
        assert!(review(lines, Some(vec![earlier])).is_empty());
    }

    #[test]
    fn a_credit_line_does_not_make_the_total_pass_again() {
        let lines = vec![
            therapy("C-1", "P-1", "2025-03-03", "GP;KX", 3_050),
            therapy("C-2", "P-1", "2025-03-04", "GP;KX", -100),
            therapy("C-3", "P-1", "2025-03-05", "GP;KX", 100),
        ];
        assert_eq!(ids(&review(lines, None)), [(0, "THERAPY_REVIEW_THRESHOLD")]);
    }
}
