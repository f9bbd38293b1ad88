//! DX_MISSING: the line points to no diagnosis code (SPEC §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "DX_MISSING",
    severity: Severity::Reject,
    carc: "16",
    rarc: "MA63",
    meaning: "the line has no diagnosis code",
    check: Check::Line(check),
    needs: &[],
};

fn check(_: &Context, l: &LineFacts) -> Option<String> {
    l.dx.codes
        .is_empty()
        .then(|| "the line points to no diagnosis code".into())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn fires_without_codes_and_alone() {
        assert_eq!(ids(&dx("", "2025-03-10", "M54.50")), [(0, "DX_MISSING")]);
        assert_eq!(ids(&dx(" ; ", "2025-03-10", "M54.50")), [(0, "DX_MISSING")]);
    }

    #[test]
    fn quiet_with_a_code() {
        assert!(dx("M54.50", "2025-03-10", "M54.50").is_empty());
    }
}
