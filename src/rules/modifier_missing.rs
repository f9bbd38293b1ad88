//! MODIFIER_MISSING: the payer profile requires modifiers on physical-medicine codes (97010-97799
//! by default) and the line lacks them (SPEC §5, §7): every one of a list, or one of a set
//! (medicare, medicaid: one of the therapy modifiers GP, GO, GN).

use super::catalogue::{Check, RuleDef, Severity};
use super::{or_list, Context};
use crate::facts::LineFacts;
use crate::reference::policy::Required;

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
    let missing = profile.required_modifiers.missing(&line.modifiers)?;
    let named = match profile.required_modifiers {
        Required::All(_) => missing.join(" and "),
        Required::AnyOf(_) => or_list(&missing),
    };
    Some(format!(
        "{} requires modifier {named} on {}",
        profile.name, line.cpt
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::reference::policy::Policy;
    use crate::rules::Rule;

    #[test]
    fn medicare_physical_medicine_needs_one_of_gp_go_gn() {
        let mut no_gp = line("C-1", 1, "P-1", "medicare", "2025-03-10", "97124", 1, "M54.50");
        no_gp.modifiers = "59".into();
        let with_gp = line("C-1", 2, "P-1", "medicare", "2025-03-10", "97140", 1, "M54.50");
        let mut chiro = line("C-1", 3, "P-1", "medicare", "2025-03-10", "98940", 1, "M54.50");
        chiro.modifiers.clear();
        let commercial = line("C-2", 1, "P-2", "commercial", "2025-03-10", "97124", 1, "M54.50");
        let f = run(&[Rule::ModifierMissing], vec![no_gp, with_gp, chiro, commercial], vec![], vec![]);
        assert_eq!(ids(&f), [(0, "MODIFIER_MISSING")]);
        assert_eq!(f[0].2, "medicare requires modifier GP, GO or GN on 97124");
    }

    #[test]
    fn occupational_and_speech_therapy_lines_are_quiet() {
        let lines: Vec<_> = ["GO", "GN", "59;GO", "GN;KX", ""]
            .iter()
            .enumerate()
            .map(|(n, m)| {
                let mut l = line("C-1", n as u32 + 1, "P-1", "medicaid", "2025-03-10", "97530", 1, "M54.50");
                l.modifiers = (*m).into();
                l
            })
            .collect();
        let f = run(&[Rule::ModifierMissing], lines, vec![], vec![]);
        assert_eq!(ids(&f), [(4, "MODIFIER_MISSING")]);
        assert_eq!(f[0].2, "medicaid requires modifier GP, GO or GN on 97530");
    }

    #[test]
    fn a_list_asks_for_every_modifier() {
        let policy = Policy::parse("[profiles.commercial]\nrequired_modifiers = [\"GP\", \"KX\"]\n", "p.toml").unwrap();
        let mut gp = line("C-1", 1, "P-1", "commercial", "2025-03-10", "97124", 1, "M54.50");
        gp.modifiers = "GP".into();
        let mut both = gp.clone();
        both.line_no = 2;
        both.modifiers = "GP;KX".into();
        let mut none = gp.clone();
        none.line_no = 3;
        none.modifiers.clear();
        let f = run_full(&[Rule::ModifierMissing], vec![gp, both, none], vec![], vec![], None, &policy, &[]);
        assert_eq!(ids(&f), [(0, "MODIFIER_MISSING"), (2, "MODIFIER_MISSING")]);
        assert_eq!(f[0].2, "commercial requires modifier KX on 97124");
        assert_eq!(f[1].2, "commercial requires modifier GP and KX on 97124");
    }
}
