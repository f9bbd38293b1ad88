//! DX_NOT_BILLABLE: a code is in the code set as a header, not a billable leaf; the message names
//! the billable codes under it (SPEC §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::{or_list, Context};
use crate::base::values::icd_display;
use crate::facts::dx::CodeStatus;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "DX_NOT_BILLABLE",
    severity: Severity::Reject,
    carc: "16",
    rarc: "M81",
    meaning: "a code exists but is a header, not a billable leaf",
    check: Check::Line(check),
    needs: &[],
};

fn check(_: &Context, l: &LineFacts) -> Option<String> {
    let set = l.dx.set;
    let parts: Vec<String> = l
        .dx
        .with(CodeStatus::Header)
        .map(|c| {
            let children = set.billable_children(&c.key);
            let shown: Vec<String> = children.iter().take(5).map(|c| icd_display(c)).collect();
            let more = if children.len() > 5 {
                format!(" (or one of {} more)", children.len() - 5)
            } else {
                String::new()
            };
            format!(
                "{} is a header in FY{}; bill {}{more}",
                c.code,
                set.fiscal_year,
                or_list(&shown)
            )
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn header_names_its_billable_children() {
        let f = dx("M54.5", "2025-03-10", "M54.5");
        assert_eq!(ids(&f), [(0, "DX_NOT_BILLABLE")]);
        assert_eq!(f[0].2, "M54.5 is a header in FY2025; bill M54.50, M54.51 or M54.59");
    }

    #[test]
    fn quiet_on_a_leaf() {
        assert!(dx("M54.50", "2025-03-10", "M54.5").is_empty());
    }
}
