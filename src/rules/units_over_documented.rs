//! UNITS_OVER_DOCUMENTED: more units than the documented minutes support (SPEC §4). Under the CMS
//! 8-minute rule a code is over when it bills more than its maximum in the visit's pool, or, no
//! code being over its maximum, when the visit bills more timed units than its total supports and
//! the code took a remainder unit. Under the per-code rule each code's own minutes decide. An
//! untimed code supports one unit a visit.

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::units::{n_units, LineUnits, VisitUnits};

pub const RULE: RuleDef = RuleDef {
    id: "UNITS_OVER_DOCUMENTED",
    severity: Severity::Reject,
    carc: "151",
    rarc: "M53",
    meaning: "more units than the documented minutes support (8-minute / per-code rule)",
    check: Check::Visit(check),
    needs: &[],
};

fn check(ctx: &Context, visit: &VisitUnits, out: &mut Vec<(u32, String)>) {
    for billed in &visit.lines {
        let cpt = ctx.batch.lines[billed.line as usize].cpt.as_str();
        let message = match billed.units {
            LineUnits::Untimed { billed } if billed > 1 => {
                format!("{cpt} is untimed: 1 unit per visit, {billed} billed")
            }
            LineUnits::PerCode {
                minutes,
                supported,
                billed,
            } if billed > supported => format!(
                "{cpt}: {minutes} min documented supports at most {}, {billed} billed (per-code rule: 8 minutes or more for each unit)",
                n_units(supported)
            ),
            LineUnits::Cms(c) if c.billed > c.max => format!(
                "{cpt}: {} min documented supports at most {}, {} billed (CMS 8-minute rule, visit total {} min)",
                c.minutes,
                n_units(c.max),
                c.billed,
                c.visit_minutes
            ),
            LineUnits::Cms(c)
                if !c.any_over_max && c.visit_billed > c.visit_units && c.billed > c.full =>
            {
                format!(
                    "{cpt}: the visit's {} timed minutes support {} in all, {} billed; {cpt}'s {} min give {} and its remainder unit is one too many (CMS 8-minute rule)",
                    c.visit_minutes,
                    n_units(c.visit_units),
                    c.visit_billed,
                    c.minutes,
                    n_units(c.full)
                )
            }
            _ => continue,
        };
        out.push((billed.line, message));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::rules::Rule;

    const UNITS: &[Rule] = &[Rule::UnitsInvalid, Rule::UnitsOverDocumented, Rule::UnitsUnderDocumented];

    #[test]
    fn cms_visit_findings() {
        let v = |billed: &[(&str, i64, i64)]| ids(&visit_rules(UNITS, "medicare", billed));
        assert!(v(&[("97112", 24, 2), ("97110", 23, 1)]).is_empty());
        assert!(v(&[("97110", 20, 2), ("97140", 20, 1)]).is_empty());
        assert!(v(&[("97110", 20, 1), ("97140", 20, 2)]).is_empty());
        assert_eq!(
            v(&[("97110", 20, 3), ("97140", 20, 0)]),
            [(0, "UNITS_OVER_DOCUMENTED"), (1, "UNITS_INVALID")]
        );
        assert_eq!(v(&[("97110", 33, 3), ("97140", 7, 1)]), [(0, "UNITS_OVER_DOCUMENTED")]);
        // tied leftovers both took a remainder unit: 4 billed, 3 supported
        assert_eq!(
            v(&[("97110", 20, 2), ("97140", 20, 2)]),
            [(0, "UNITS_OVER_DOCUMENTED"), (1, "UNITS_OVER_DOCUMENTED")]
        );
    }

    #[test]
    fn per_code_and_untimed_findings() {
        let v = |billed: &[(&str, i64, i64)]| ids(&visit_rules(UNITS, "commercial", billed));
        assert_eq!(v(&[("97110", 33, 2), ("97140", 7, 1)]), [(1, "UNITS_OVER_DOCUMENTED")]);
        assert!(v(&[("97110", 33, 2), ("97140", 8, 1)]).is_empty());
        assert_eq!(v(&[("97010", 0, 2)]), [(0, "UNITS_OVER_DOCUMENTED")]);
        assert!(v(&[("97010", 0, 1)]).is_empty());
    }

    #[test]
    fn messages_name_the_rule_used() {
        let f = visit_rules(UNITS, "medicare", &[("97110", 33, 3), ("97140", 7, 1)]);
        assert_eq!(
            f[0].2,
            "97110: 33 min documented supports at most 2 units, 3 billed (CMS 8-minute rule, visit total 40 min)"
        );
        let f = visit_rules(UNITS, "commercial", &[("97140", 7, 1)]);
        assert_eq!(
            f[0].2,
            "97140: 7 min documented supports at most 0 units, 1 billed (per-code rule: 8 minutes or more for each unit)"
        );
    }
}
