//! UNITS_OVER_MUE: the units of a code billed over the whole visit (all claims and payers) exceed
//! its MUE: the payer profile's `mue` value, else the `--mue` table (SPEC §5, §7).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::units::VisitUnits;

pub const RULE: RuleDef = RuleDef {
    id: "UNITS_OVER_MUE",
    severity: Severity::Reject,
    carc: "151",
    rarc: "N362",
    meaning: "units of the code in the visit exceed its MUE",
    check: Check::Visit(check),
    needs: &[],
};

fn check(ctx: &Context, visit: &VisitUnits, out: &mut Vec<(u32, String)>) {
    for &i in &visit.billed_lines {
        let l = &ctx.batch.lines[i as usize];
        let profile = &ctx.policy.profiles[l.payer as usize];
        let (limit, source) = match profile.mue.get(l.cpt.as_str()) {
            Some(v) => (*v, format!("{} policy", profile.name)),
            None => match ctx.mue.and_then(|t| t.values.get(l.cpt.as_str())) {
                Some(v) => (*v, "MUE table".to_string()),
                None => continue,
            },
        };
        let b = visit.billed.get(l.cpt.as_str());
        if b > limit {
            let msg = format!(
                "{}: {b} units billed for the patient that day, MUE {limit} ({source})",
                l.cpt
            );
            out.push((i, msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::reference::mue::MueTable;
    use crate::rules::Rule;

    #[test]
    fn mue_sums_the_visit() {
        let t = MueTable::parse(
            b"HCPCS/CPT Code,Practitioner Services MUE Values\n97124,2,3 Date of Service Edit\n",
            "m",
        )
        .unwrap();
        let lines = vec![
            line("C-1", 1, "P-1", "commercial", "2025-03-10", "97124", 2, "M54.50"),
            line("C-2", 1, "P-1", "commercial", "2025-03-10", "97124", 1, "M54.50"),
        ];
        let s = vec![session("P-1", "2025-03-10", "97124", 45)];
        let f = run_with(&[Rule::UnitsOverMue], lines.clone(), s, vec![], Some(&t));
        assert_eq!(ids(&f), [(0, "UNITS_OVER_MUE"), (1, "UNITS_OVER_MUE")]);
        assert_eq!(f[0].2, "97124: 3 units billed for the patient that day, MUE 2 (MUE table)");
        let s = vec![session("P-1", "2025-03-10", "97124", 30)];
        assert!(run_with(&[Rule::UnitsOverMue], lines[..1].to_vec(), s, vec![], Some(&t)).is_empty());
    }
}
