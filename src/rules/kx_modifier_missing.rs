//! KX_MODIFIER_MISSING: the patient's therapy total of the calendar year, with this line, is above
//! the year's threshold of the line's profile (Medicare KX) and the line lacks KX (SPEC §10). The
//! total is kept per patient, year and bucket (PT/SLP together, OT apart) by `facts::therapy`:
//! the earlier runs' clean lines, then this batch's in order of service_date, claim_id, line_no.
//! A year the profile's `kx_threshold` does not list is not checked.

use rayon::prelude::*;

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::therapy::{format_amount, has_kx};

pub const RULE: RuleDef = RuleDef {
    id: "KX_MODIFIER_MISSING",
    severity: Severity::Reject,
    carc: "119",
    rarc: "",
    meaning: "the patient's therapy total for the year exceeds the threshold and the line lacks KX",
    check: Check::Batch(check),
    needs: &[],
};

fn check(ctx: &Context) -> Vec<(u32, String)> {
    let lines = &ctx.batch.lines;
    ctx.facts
        .running
        .par_iter()
        .filter_map(|r| {
            let line = &lines[r.line as usize];
            let profile = &ctx.policy.profiles[line.payer as usize];
            let &threshold = profile.kx_threshold.get(&r.year)?;
            (r.after > threshold && !has_kx(&line.modifiers)).then(|| {
                (
                    r.line,
                    format!(
                        "{} therapy {} this year ({} before this line) exceeds the {} threshold of {}: add KX",
                        r.bucket.label(),
                        format_amount(r.after),
                        format_amount(r.before),
                        r.year,
                        format_amount(threshold)
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

    /// A therapy line of `charge` (whole currency units) with these modifiers.
    fn therapy(claim: &str, no: u32, patient: &str, payer: &str, date: &str, modifiers: &str, charge: i64) -> ClaimLine {
        let mut l = line(claim, no, patient, payer, date, "97124", 2, "M54.50");
        l.modifiers = modifiers.into();
        l.charge = charge * 1_000_000;
        l
    }

    fn earlier(patient: &str, date: &str, modifiers: &str, charge: i64, payer: &str) -> EarlierLine {
        let policy = Policy::builtin();
        EarlierLine {
            patient_id: patient.into(),
            claim_id: "E-1".into(),
            line_no: 1,
            date: parse_date(date).unwrap(),
            cpt: "97124".into(),
            modifiers: modifiers.into(),
            units: 2,
            charge: charge * 1_000_000,
            payer: policy.profile_index(payer).map(|p| p as u8),
            rx_id: "".into(),
            run_date: parse_date("2025-06-01").unwrap(),
        }
    }

    fn kx(lines: Vec<ClaimLine>, before: Vec<EarlierLine>) -> Found {
        let policy = Policy::builtin();
        run_earlier(&[Rule::KxModifierMissing], lines, vec![], vec![], None, &policy, &[], Some(before))
    }

    #[test]
    fn the_spec_example_fires_above_the_2025_threshold() {
        // 2,380.00 before the line, 72.00 with it: 2,452.00 > 2,410.00
        let lines = vec![
            therapy("C-1", 1, "P-1", "medicare", "2025-03-10", "GP", 1_190),
            therapy("C-2", 1, "P-1", "medicare", "2025-04-10", "GP", 1_190),
            therapy("C-3", 1, "P-1", "medicare", "2025-05-12", "GP", 72),
        ];
        let f = kx(lines, vec![]);
        assert_eq!(ids(&f), [(2, "KX_MODIFIER_MISSING")]);
        assert_eq!(
            f[0].2,
            "PT/SLP therapy 2,452.00 this year (2,380.00 before this line) exceeds the 2025 threshold of 2,410.00: add KX"
        );
    }

    #[test]
    fn exactly_at_the_threshold_is_quiet_and_kx_silences_the_lines_above() {
        let lines = vec![
            therapy("C-1", 1, "P-1", "medicare", "2025-03-10", "GP", 2_000),
            therapy("C-1", 2, "P-1", "medicare", "2025-03-10", "GP", 410), // 2,410.00: not above
            therapy("C-2", 1, "P-1", "medicare", "2025-03-17", "GP;KX", 40),
            therapy("C-3", 1, "P-1", "medicare", "2025-03-24", "GP", 40),
        ];
        assert_eq!(ids(&kx(lines, vec![])), [(3, "KX_MODIFIER_MISSING")]);
    }

    #[test]
    fn batch_lines_count_by_date_then_claim_then_line_not_read_order() {
        // read last, served first: the 2,400.00 line of January comes before the March lines
        let lines = vec![
            therapy("C-9", 2, "P-1", "medicare", "2025-03-10", "GP", 20),
            therapy("C-9", 1, "P-1", "medicare", "2025-03-10", "GP", 20),
            therapy("C-1", 1, "P-1", "medicare", "2025-01-06", "GP", 2_400),
        ];
        let f = kx(lines, vec![]);
        assert_eq!(ids(&f), [(0, "KX_MODIFIER_MISSING"), (1, "KX_MODIFIER_MISSING")]);
        assert!(f[1].2.contains("2,420.00 this year (2,400.00 before"), "{}", f[1].2);
        assert!(f[0].2.contains("2,440.00 this year (2,420.00 before"), "{}", f[0].2);
    }

    #[test]
    fn pt_and_slp_pool_ot_is_apart_and_years_are_apart() {
        let lines = vec![
            therapy("C-1", 1, "P-1", "medicare", "2025-03-10", "GP", 1_300),
            therapy("C-2", 1, "P-1", "medicare", "2025-03-11", "GN", 1_200), // 2,500.00 PT/SLP
            therapy("C-3", 1, "P-1", "medicare", "2025-03-12", "GO", 2_400), // OT alone: under
            therapy("C-4", 1, "P-1", "medicare", "2025-12-31", "GO", 10),    // OT 2,410.00: at it
            therapy("C-5", 1, "P-1", "medicare", "2026-01-02", "GP", 2_000), // a new year
            therapy("C-6", 1, "P-2", "medicare", "2025-03-10", "GP", 2_000), // another patient
        ];
        let f = kx(lines, vec![]);
        assert_eq!(ids(&f), [(1, "KX_MODIFIER_MISSING")]);
        assert!(f[0].2.starts_with("PT/SLP therapy 2,500.00"), "{}", f[0].2);
        let lines = vec![
            therapy("C-3", 1, "P-1", "medicare", "2024-12-30", "GO", 2_330),
            therapy("C-4", 1, "P-1", "medicare", "2024-12-31", "GO;59", 1), // above 2024's 2,330
        ];
        let f = kx(lines, vec![]);
        assert_eq!(ids(&f), [(1, "KX_MODIFIER_MISSING")]);
        assert_eq!(
            f[0].2,
            "OT therapy 2,331.00 this year (2,330.00 before this line) exceeds the 2024 threshold of 2,330.00: add KX"
        );
    }

    #[test]
    fn other_payers_and_lines_without_a_therapy_modifier_do_not_count() {
        let lines = vec![
            therapy("C-1", 1, "P-1", "commercial", "2025-03-10", "GP", 2_400),
            therapy("C-2", 1, "P-1", "medicaid", "2025-03-11", "GP", 2_400),
            therapy("C-3", 1, "P-1", "medicare", "2025-03-12", "59", 2_400), // no bucket
            therapy("C-4", 1, "P-1", "medicare", "2025-03-13", "GP", 100),
        ];
        assert!(kx(lines, vec![]).is_empty());
    }

    #[test]
    fn earlier_clean_lines_of_the_year_come_first() {
        let before = vec![
            earlier("P-1", "2025-02-03", "GP", 1_000, "medicare"),
            earlier("P-1", "2025-02-10", "GN", 1_000, "medicare"),
            earlier("P-1", "2025-02-17", "GO", 2_000, "medicare"), // OT: other bucket
            earlier("P-1", "2024-11-04", "GP", 2_000, "medicare"), // last year
            earlier("P-1", "2025-02-24", "GP", 2_000, "commercial"), // not a threshold payer
            earlier("P-2", "2025-02-24", "GP", 2_000, "medicare"), // another patient
        ];
        // served before the earlier lines, still counted after them (SPEC §10)
        let lines = vec![
            therapy("C-1", 1, "P-1", "medicare", "2025-01-06", "GP", 400),
            therapy("C-2", 1, "P-1", "medicare", "2025-03-03", "GP", 20),
            therapy("C-3", 1, "P-3", "medicare", "2025-03-03", "GP", 20),
        ];
        let f = kx(lines, before);
        assert_eq!(ids(&f), [(1, "KX_MODIFIER_MISSING")]);
        assert!(f[0].2.contains("2,420.00 this year (2,400.00 before this line)"), "{}", f[0].2);
    }

    #[test]
    fn a_fee_schedule_sets_the_amount_and_an_unlisted_year_is_not_checked() {
        let policy = Policy::parse(
            "[profiles.medicare]\nfee_schedule = { \"97124\" = 600 }\nkx_threshold = { 2025 = 2410 }\n",
            "p.toml",
        )
        .unwrap();
        // 2 units × 600.00 each: 1,200.00, 2,400.00, 3,600.00, whatever the charge
        let lines = vec![
            therapy("C-1", 1, "P-1", "medicare", "2025-03-10", "GP", 1),
            therapy("C-2", 1, "P-1", "medicare", "2025-03-17", "GP", 1),
            therapy("C-3", 1, "P-1", "medicare", "2025-03-24", "GP", 1),
            // 2026 is not in this policy's kx_threshold: not checked
            therapy("C-4", 1, "P-1", "medicare", "2026-03-09", "GP", 1),
            therapy("C-5", 1, "P-1", "medicare", "2026-03-16", "GP", 1),
            therapy("C-6", 1, "P-1", "medicare", "2026-03-23", "GP", 1),
        ];
        let f = run_earlier(&[Rule::KxModifierMissing], lines, vec![], vec![], None, &policy, &[], None);
        assert_eq!(ids(&f), [(2, "KX_MODIFIER_MISSING")]);
        assert!(f[0].2.contains("3,600.00 this year (2,400.00 before"), "{}", f[0].2);
    }
}
