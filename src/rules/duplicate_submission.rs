//! DUPLICATE_SUBMISSION: the same service (patient, date, procedure, modifier set) was sent clean
//! in an earlier run under another claim line (SPEC §10 "Duplicates across nights"). Needs the
//! nightly state (`--state`); without it there is nothing earlier, and the summary says so.

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::base::values::iso;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "DUPLICATE_SUBMISSION",
    severity: Severity::Reject,
    carc: "18",
    rarc: "",
    meaning: "the same service was sent clean in an earlier run under another claim line",
    check: Check::Line(check),
    needs: &[],
};

fn check(ctx: &Context, l: &LineFacts) -> Option<String> {
    let earlier = ctx.facts.earlier.of(ctx.batch.claim_text(l.line.patient_id));
    if earlier.is_empty() {
        return None;
    }
    let (claim_id, line_no) = (ctx.batch.claim_text(l.line.claim_id), l.line.line_no);
    // by date: the patient's earlier lines are sorted by date, claim_id, line_no
    let from = earlier.partition_point(|e| e.date < l.line.date);
    let sent = earlier[from..]
        .iter()
        .take_while(|e| e.date == l.line.date)
        .find(|e| {
            e.cpt == l.line.cpt
                && e.modifiers == l.line.modifiers
                && (e.claim_id.as_str(), e.line_no) != (claim_id, line_no)
        })?;
    Some(format!(
        "{} on {} was sent clean as claim {} line {} in the run of {}",
        l.line.cpt,
        iso(l.line.date),
        sent.claim_id,
        sent.line_no,
        iso(sent.run_date)
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::base::values::parse_date;
    use crate::facts::EarlierLine;
    use crate::reference::policy::Policy;
    use crate::rules::Rule;

    fn sent(claim: &str, line_no: u32, date: &str, cpt: &str, modifiers: &str) -> EarlierLine {
        EarlierLine {
            patient_id: "P-1".into(),
            claim_id: claim.into(),
            line_no,
            date: parse_date(date).unwrap(),
            cpt: cpt.into(),
            modifiers: modifiers.into(),
            units: 2,
            charge: 90_000_000,
            payer: None,
            rx_id: "RX-1".into(),
            run_date: parse_date("2025-03-11").unwrap(),
        }
    }

    fn scrub(earlier: Vec<EarlierLine>) -> Vec<(u32, &'static str, String)> {
        let l = line("C-2", 1, "P-1", "commercial", "2025-03-10", "97124", 2, "M54.50");
        let modifiers = l.modifiers.to_string();
        let earlier = earlier
            .into_iter()
            .map(|mut e| {
                if e.modifiers == "=" {
                    e.modifiers = modifiers.as_str().into();
                }
                e
            })
            .collect();
        run_earlier(
            &[Rule::DuplicateSubmission],
            vec![l],
            vec![],
            vec![],
            None,
            &Policy::builtin(),
            &[],
            Some(earlier),
        )
    }

    #[test]
    fn fires_on_the_same_service_sent_under_another_claim_line() {
        let f = scrub(vec![sent("C-1", 1, "2025-03-10", "97124", "=")]);
        assert_eq!(ids(&f), [(0, "DUPLICATE_SUBMISSION")]);
        assert_eq!(
            f[0].2,
            "97124 on 2025-03-10 was sent clean as claim C-1 line 1 in the run of 2025-03-11"
        );
        // the same claim, another line number
        let f = scrub(vec![sent("C-2", 2, "2025-03-10", "97124", "=")]);
        assert_eq!(ids(&f), [(0, "DUPLICATE_SUBMISSION")]);
    }

    #[test]
    fn quiet_on_another_date_code_or_modifier_set_and_on_its_own_record() {
        assert!(scrub(vec![sent("C-1", 1, "2025-03-11", "97124", "=")]).is_empty());
        assert!(scrub(vec![sent("C-1", 1, "2025-03-10", "97140", "=")]).is_empty());
        assert!(scrub(vec![sent("C-1", 1, "2025-03-10", "97124", "59;GP")]).is_empty());
        assert!(scrub(vec![sent("C-2", 1, "2025-03-10", "97124", "=")]).is_empty());
        assert!(scrub(vec![]).is_empty());
    }
}
