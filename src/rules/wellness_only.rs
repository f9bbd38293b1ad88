//! WELLNESS_ONLY: every billable code of the line is a wellness code (routine exams, counselling,
//! lifestyle, stress: `reference/data/wellness_codes.tsv`), so the service is not medically
//! necessary (SPEC §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::dx::CodeStatus;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "WELLNESS_ONLY",
    severity: Severity::Reject,
    carc: "50",
    rarc: "N130",
    meaning: "every billable code of the line is a wellness code (routine exams, counselling, lifestyle, stress)",
    check: Check::Line(check),
    needs: &[],
};

fn check(ctx: &Context, l: &LineFacts) -> Option<String> {
    let billable: Vec<_> = l.dx.with(CodeStatus::Billable).collect();
    let wellness = |key: &str| ctx.wellness.iter().any(|p| key.starts_with(p.as_str()));
    if billable.is_empty() || !billable.iter().all(|c| wellness(&c.key)) {
        return None;
    }
    let codes: Vec<&str> = billable.iter().map(|c| c.code.as_str()).collect();
    Some(format!(
        "{} {} wellness code{} only (routine exam, counselling, lifestyle or stress): not medically necessary",
        codes.join(", "),
        if codes.len() == 1 { "is a" } else { "are" },
        if codes.len() == 1 { "" } else { "s" }
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn fires_when_every_billable_code_is_wellness() {
        assert_eq!(ids(&dx("Z73.3", "2025-03-10", "Z73.3")), [(0, "WELLNESS_ONLY")]);
        // M54.5 is not billable: the wellness code alone is judged
        assert_eq!(
            ids(&dx("Z73.3;M54.5", "2025-03-10", "Z73")),
            [(0, "DX_NOT_BILLABLE"), (0, "WELLNESS_ONLY")]
        );
    }

    #[test]
    fn quiet_beside_a_medical_code() {
        assert!(dx("Z73.3;M54.50", "2025-03-10", "M54.50").is_empty());
    }
}
