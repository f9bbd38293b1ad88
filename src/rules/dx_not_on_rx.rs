//! DX_NOT_ON_RX: none of the line's billable codes is on its prescription; a prescription code
//! covers the codes it is a prefix of (SPEC §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::{is_are, or_list, Context};
use crate::base::values::icd_display;
use crate::facts::dx::CodeStatus;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "DX_NOT_ON_RX",
    severity: Severity::Reject,
    carc: "11",
    rarc: "",
    meaning: "none of the line's billable codes is on its prescription (prefix match)",
    check: Check::Line(check),
    needs: &[],
};

fn check(_: &Context, l: &LineFacts) -> Option<String> {
    let doc = l.doc?;
    let billable: Vec<_> = l.dx.with(CodeStatus::Billable).collect();
    let on_rx = |key: &str| doc.diagnosis_keys.iter().any(|rx| key.starts_with(rx.as_str()));
    if billable.is_empty() || billable.iter().any(|c| on_rx(&c.key)) {
        return None;
    }
    let codes: Vec<&str> = billable.iter().map(|c| c.code.as_str()).collect();
    let rx_codes: Vec<String> = doc.diagnosis_keys.iter().map(|k| icd_display(k)).collect();
    Some(format!(
        "{} {} not on {}, which names {}",
        or_list(&codes),
        is_are(codes.len()),
        doc.rx_id,
        rx_codes.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn fires_when_no_billable_code_is_on_the_prescription() {
        let f = dx("M54.2", "2025-03-10", "M54.50");
        assert_eq!(ids(&f), [(0, "DX_NOT_ON_RX")]);
        assert_eq!(f[0].2, "M54.2 is not on RX-1, which names M54.50");
    }

    #[test]
    fn quiet_on_a_prefix_match_or_without_billable_codes() {
        assert!(dx("M54.50", "2025-03-10", "M54").is_empty());
        assert_eq!(ids(&dx("M54.5", "2025-03-10", "S13.4XXA")), [(0, "DX_NOT_BILLABLE")]);
    }
}
