//! DX_CODESET_UNAVAILABLE: no loaded code set covers the service date, so the nearest one was used
//! (SPEC §5, §7). Only lines with a well-formed code are looked up.

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::base::values::{fiscal_year, iso};
use crate::facts::dx::CodeStatus;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "DX_CODESET_UNAVAILABLE",
    severity: Severity::Warn,
    carc: "",
    rarc: "",
    meaning: "no loaded code set covers the service date; the nearest one was used",
    check: Check::Line(check),
    needs: &[],
};

fn check(_: &Context, l: &LineFacts) -> Option<String> {
    let looked_up = l.dx.codes.iter().any(|c| c.status != CodeStatus::InvalidFormat);
    (!l.dx.covered && looked_up).then(|| {
        format!(
            "no loaded ICD-10-CM code set covers {} (FY{}); the codes were checked against FY{} — load it with --icd10",
            iso(l.line.date),
            fiscal_year(l.line.date),
            l.dx.set.fiscal_year
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn warns_and_uses_the_nearest_set() {
        let f = dx("M54.50", "2026-10-15", "M54.50");
        assert_eq!(ids(&f), [(0, "DX_CODESET_UNAVAILABLE")]);
        assert!(
            f[0].2.contains("FY2027") && f[0].2.contains("checked against FY2026"),
            "{}",
            f[0].2
        );
    }

    #[test]
    fn quiet_inside_a_loaded_year_or_without_well_formed_codes() {
        assert!(dx("M54.50", "2026-09-30", "M54.50").is_empty());
        assert_eq!(ids(&dx("M54.", "2026-10-15", "M54")), [(0, "DX_INVALID_FORMAT")]);
    }
}
