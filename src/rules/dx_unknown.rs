//! DX_UNKNOWN: a well-formed code is not in the ICD-10-CM code set in effect on the service date
//! (SPEC §5, §7).

use super::catalogue::{Check, RuleDef, Severity};
use super::{is_are, Context};
use crate::base::values::iso;
use crate::facts::dx::CodeStatus;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "DX_UNKNOWN",
    severity: Severity::Reject,
    carc: "146",
    rarc: "M84",
    meaning: "a code is not in the ICD-10-CM code set in effect on the service date",
    check: Check::Line(check),
    needs: &[],
};

fn check(_: &Context, l: &LineFacts) -> Option<String> {
    let unknown: Vec<&str> = l.dx.with(CodeStatus::Unknown).map(|c| c.code.as_str()).collect();
    (!unknown.is_empty()).then(|| {
        format!(
            "{} {} not in the ICD-10-CM FY{} code set{}",
            unknown.join(", "),
            is_are(unknown.len()),
            l.dx.set.fiscal_year,
            if l.dx.covered {
                format!(" in effect on {}", iso(l.line.date))
            } else {
                String::new()
            }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn fires_on_a_code_the_year_does_not_have() {
        let f = dx("M54.999;M54.50", "2025-03-10", "M54");
        assert_eq!(ids(&f), [(0, "DX_UNKNOWN")]);
        assert_eq!(f[0].2, "M54.999 is not in the ICD-10-CM FY2025 code set in effect on 2025-03-10");
    }

    #[test]
    fn quiet_on_known_codes() {
        assert!(dx("M54.50", "2025-03-10", "M54").is_empty());
    }
}
