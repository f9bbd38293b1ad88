//! UNITS_UNDER_DOCUMENTED: fewer units than the documented minutes support (SPEC §4): under the CMS
//! 8-minute rule when the visit bills fewer timed units than its pooled minutes support, under the
//! per-code rule when a code bills fewer than its own minutes support.

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::units::{n_units, LineUnits, VisitUnits};

pub const RULE: RuleDef = RuleDef {
    id: "UNITS_UNDER_DOCUMENTED",
    severity: Severity::Warn,
    carc: "",
    rarc: "",
    meaning: "fewer units than the documented minutes support",
    check: Check::Visit(check),
    needs: &[],
};

fn check(ctx: &Context, visit: &VisitUnits, out: &mut Vec<(u32, String)>) {
    for billed in &visit.lines {
        let cpt = ctx.batch.lines[billed.line as usize].cpt.as_str();
        let message = match billed.units {
            LineUnits::PerCode {
                minutes,
                supported,
                billed,
            } if billed < supported => format!(
                "{cpt}: {minutes} min documented supports {}, {billed} billed (per-code rule: 8 minutes or more for each unit)",
                n_units(supported)
            ),
            LineUnits::Cms(c) if c.visit_billed < c.visit_units => format!(
                "the visit's {} timed minutes support {}, {} billed (CMS 8-minute rule)",
                c.visit_minutes,
                n_units(c.visit_units),
                c.visit_billed
            ),
            _ => continue,
        };
        out.push((billed.line, message));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::rules::Rule;

    #[test]
    fn fires_when_the_minutes_support_more() {
        let f = visit_rules(&[Rule::UnitsUnderDocumented], "medicare", &[("97110", 20, 1), ("97140", 20, 1)]);
        assert_eq!(ids(&f), [(0, "UNITS_UNDER_DOCUMENTED"), (1, "UNITS_UNDER_DOCUMENTED")]);
        assert_eq!(f[0].2, "the visit's 40 timed minutes support 3 units, 2 billed (CMS 8-minute rule)");
        let f = visit_rules(&[Rule::UnitsUnderDocumented], "commercial", &[("97124", 38, 2)]);
        assert_eq!(
            f[0].2,
            "97124: 38 min documented supports 3 units, 2 billed (per-code rule: 8 minutes or more for each unit)"
        );
    }

    #[test]
    fn quiet_when_billed_as_supported() {
        assert!(visit_rules(&[Rule::UnitsUnderDocumented], "medicare", &[("97112", 24, 2), ("97110", 23, 1)]).is_empty());
        assert!(visit_rules(&[Rule::UnitsUnderDocumented], "commercial", &[("97124", 38, 3)]).is_empty());
    }
}
