//! UNITS_INVALID: units < 1 (SPEC §5). A check of the field: it fires with or without a session row.

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "UNITS_INVALID",
    severity: Severity::Reject,
    carc: "16",
    rarc: "M53",
    meaning: "units < 1",
    check: Check::Line(check),
    needs: &[],
};

fn check(_: &Context, l: &LineFacts) -> Option<String> {
    (l.line.units < 1).then(|| {
        format!(
            "{} billed with {} units: at least 1 is needed",
            l.line.cpt, l.line.units
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::rules::Rule;

    #[test]
    fn fires_below_one_unit_only() {
        let f = visit_rules(&[Rule::UnitsInvalid], "commercial", &[("97124", 30, 0), ("97140", 30, 1)]);
        assert_eq!(ids(&f), [(0, "UNITS_INVALID")]);
        assert_eq!(f[0].2, "97124 billed with 0 units: at least 1 is needed");
    }
}
