//! RX_MODALITY_MISMATCH: the prescription requires a modality and the line's session rows
//! document another (SPEC §5; rows without a modality document none).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "RX_MODALITY_MISMATCH",
    severity: Severity::Reject,
    carc: "50",
    rarc: "",
    meaning: "the prescription requires a modality and the session documents another",
    check: Check::Line(check),
    needs: &[&["prescriptions.required_modality"], &["sessions.modality"]],
};

fn check(ctx: &Context, l: &LineFacts) -> Option<String> {
    let (documented, doc) = (l.documented?, l.doc?);
    let required = doc.required_modality?;
    let other: Vec<&str> = documented
        .modalities()
        .filter(|m| *m != required)
        .map(|m| m.name())
        .collect();
    (!other.is_empty()).then(|| {
        format!(
            "{} requires {} for {}; session {} documents {}",
            doc.rx_id,
            required.name(),
            l.line.cpt,
            documented.session_ids(ctx.batch),
            other.join(" and ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::model::Modality;

    #[test]
    fn modality_must_match_the_prescription() {
        let f = sessions_case(Some(Modality::Swedish), None, Some(Modality::Mld), None);
        assert_eq!(ids(&f), [(0, "RX_MODALITY_MISMATCH")]);
        assert_eq!(f[0].2, "RX-1 requires mld for 97140; session S-P-1-2025-03-10 documents swedish");
    }

    #[test]
    fn quiet_on_the_required_modality_or_none_documented() {
        assert!(sessions_case(Some(Modality::Mld), None, Some(Modality::Mld), None).is_empty());
        assert!(sessions_case(None, None, Some(Modality::Mld), None).is_empty());
    }
}
