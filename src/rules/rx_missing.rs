//! RX_MISSING: the patient has no physician document at all (SPEC §3 "Prescription", §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::{LineFacts, RxStatus};

pub const RULE: RuleDef = RuleDef {
    id: "RX_MISSING",
    severity: Severity::Reject,
    carc: "197",
    rarc: "M62",
    meaning: "the patient has no physician document",
    check: Check::Line(check),
    needs: &[],
};

fn check(ctx: &Context, l: &LineFacts) -> Option<String> {
    (l.rx.status == RxStatus::NoDocument).then(|| {
        format!(
            "patient {} has no prescription, referral or recommendation on file",
            ctx.batch.claim_text(l.line.patient_id)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::rules::Rule;

    #[test]
    fn fires_for_a_patient_without_documents() {
        let l = line("C-1", 1, "P-9", "commercial", "2025-03-10", "97124", 1, "M54.50");
        let rx = prescription("RX-1", "P-1", "M54.50", 10, "2025-03-01", "2025-04-30");
        let f = run(&[Rule::RxMissing], vec![l], vec![], vec![rx]);
        assert_eq!(ids(&f), [(0, "RX_MISSING")]);
        assert_eq!(f[0].2, "patient P-9 has no prescription, referral or recommendation on file");
    }

    #[test]
    fn quiet_when_the_patient_has_a_document() {
        let l = line("C-1", 1, "P-1", "commercial", "2025-06-10", "97124", 1, "M54.50");
        let rx = prescription("RX-1", "P-1", "M54.50", 10, "2025-03-01", "2025-04-30");
        assert!(run(&[Rule::RxMissing], vec![l], vec![], vec![rx]).is_empty());
    }
}
