//! RX_CPT_NOT_ALLOWED: the procedure is not in the allowed_cpt of the line's prescription
//! (SPEC §5; an empty allowed_cpt means 97124 and 97140).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "RX_CPT_NOT_ALLOWED",
    severity: Severity::Reject,
    carc: "198",
    rarc: "N54",
    meaning: "the procedure is not in the prescription's allowed_cpt",
    check: Check::Line(check),
    needs: &[],
};

fn check(_: &Context, l: &LineFacts) -> Option<String> {
    let doc = l.doc?;
    let cpt = l.line.cpt.as_str();
    (!doc.allowed_cpt.iter().any(|c| c.as_str() == cpt)).then(|| {
        format!(
            "{cpt} is not ordered by {} (allowed: {})",
            doc.rx_id,
            doc.allowed_cpt.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::rules::Rule;

    #[test]
    fn procedure_outside_allowed_cpt_fires() {
        let rx = prescription("RX-1", "P-1", "M54.50", 20, "2025-03-01", "2025-04-30");
        let lines = vec![
            line("C-1", 1, "P-1", "commercial", "2025-03-10", "97110", 1, "M54.50"),
            line("C-1", 2, "P-1", "commercial", "2025-03-10", "97140", 1, "M54.50"),
        ];
        let f = run(&[Rule::RxCptNotAllowed], lines, vec![], vec![rx]);
        assert_eq!(ids(&f), [(0, "RX_CPT_NOT_ALLOWED")]);
        assert_eq!(f[0].2, "97110 is not ordered by RX-1 (allowed: 97124, 97140)");
    }
}
