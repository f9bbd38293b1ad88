//! SESSION_MISSING: no session row documents the line's patient, date and procedure (SPEC §3
//! "Documented minutes", §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::base::values::iso;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "SESSION_MISSING",
    severity: Severity::Reject,
    carc: "16",
    rarc: "M127",
    meaning: "no session documents this patient, date and procedure",
    check: Check::Line(check),
    needs: &[],
};

fn check(ctx: &Context, l: &LineFacts) -> Option<String> {
    l.documented.is_none().then(|| {
        format!(
            "no session documents {} for patient {} on {}",
            l.line.cpt,
            ctx.batch.claim_text(l.line.patient_id),
            iso(l.line.date)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::rules::Rule;

    #[test]
    fn fires_without_a_session_row_of_that_procedure() {
        let l = line("C-1", 1, "P-1", "commercial", "2025-03-10", "97124", 1, "M54.50");
        let other = session("P-1", "2025-03-10", "97140", 30);
        let f = run(&[Rule::SessionMissing], vec![l], vec![other], vec![]);
        assert_eq!(ids(&f), [(0, "SESSION_MISSING")]);
        assert_eq!(f[0].2, "no session documents 97124 for patient P-1 on 2025-03-10");
    }

    #[test]
    fn quiet_with_a_row_even_of_zero_minutes() {
        let l = line("C-1", 1, "P-1", "commercial", "2025-03-10", "97124", 1, "M54.50");
        let s = session("P-1", "2025-03-10", "97124", 0);
        assert!(run(&[Rule::SessionMissing], vec![l], vec![s], vec![]).is_empty());
    }
}
