//! DX_INVALID_FORMAT: a code is not ICD-10-CM syntax (SPEC §5, §8 "Diagnosis codes"); such a code
//! is not looked up.

use super::catalogue::{Check, RuleDef, Severity};
use super::{is_are, Context};
use crate::facts::dx::CodeStatus;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "DX_INVALID_FORMAT",
    severity: Severity::Reject,
    carc: "16",
    rarc: "M76",
    meaning: "a code is not ICD-10-CM syntax: letter, digit, letter/digit, then optionally `.` and 1-4 letters/digits",
    check: Check::Line(check),
    needs: &[],
};

fn check(_: &Context, l: &LineFacts) -> Option<String> {
    let invalid: Vec<String> = l
        .dx
        .with(CodeStatus::InvalidFormat)
        .map(|c| format!("`{}`", c.code))
        .collect();
    (!invalid.is_empty()).then(|| {
        format!(
            "{} {} not ICD-10-CM syntax (a letter, a digit, a letter or digit, then up to 4 letters or digits after an optional dot)",
            invalid.join(", "),
            is_are(invalid.len())
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn fires_on_bad_syntax_only() {
        let f = dx("M54.;54X", "2025-03-10", "M54");
        assert_eq!(ids(&f), [(0, "DX_INVALID_FORMAT")]);
        assert!(f[0].2.starts_with("`M54.`, `54X` are not ICD-10-CM syntax"), "{}", f[0].2);
    }

    #[test]
    fn quiet_on_well_formed_codes_known_or_not() {
        assert!(dx("m5450 ; M54.2", "2025-03-10", "M54").is_empty());
        assert_eq!(ids(&dx("M54.999", "2025-03-10", "M54")), [(0, "DX_UNKNOWN")]);
    }
}
