//! MODIFIER_MISSING: the payer profile requires modifiers (medicare, medicaid: GP) on
//! physical-medicine codes (97010-97799 by default) and the line lacks one (SPEC §5, §7).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "MODIFIER_MISSING",
    severity: Severity::Reject,
    carc: "4",
    rarc: "N822",
    meaning: "the payer profile requires a modifier on physical-medicine codes and the line lacks it",
    check: Check::Line(check),
    needs: &[],
};

fn check(_: &Context, l: &LineFacts) -> Option<String> {
    let (line, profile) = (l.line, l.profile);
    if profile.required_modifiers.is_empty() || !profile.physical_medicine.contains(&line.cpt) {
        return None;
    }
    let missing: Vec<&str> = profile
        .required_modifiers
        .iter()
        .filter(|m| !line.modifiers.split(';').any(|have| have == m.as_str()))
        .map(String::as_str)
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{} requires modifier {} on {}",
            profile.name,
            missing.join(" and "),
            line.cpt
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::rules::Rule;

    #[test]
    fn medicare_physical_medicine_needs_gp() {
        let mut no_gp = line("C-1", 1, "P-1", "medicare", "2025-03-10", "97124", 1, "M54.50");
        no_gp.modifiers = "59".into();
        let with_gp = line("C-1", 2, "P-1", "medicare", "2025-03-10", "97140", 1, "M54.50");
        let mut chiro = line("C-1", 3, "P-1", "medicare", "2025-03-10", "98940", 1, "M54.50");
        chiro.modifiers.clear();
        let commercial = line("C-2", 1, "P-2", "commercial", "2025-03-10", "97124", 1, "M54.50");
        let f = run(&[Rule::ModifierMissing], vec![no_gp, with_gp, chiro, commercial], vec![], vec![]);
        assert_eq!(ids(&f), [(0, "MODIFIER_MISSING")]);
        assert_eq!(f[0].2, "medicare requires modifier GP on 97124");
    }
}
