//! RX_PRESSURE_CONTRAINDICATED: the session's pressure (stated, or implied by its modality)
//! exceeds the prescription's max_pressure (SPEC §2, §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "RX_PRESSURE_CONTRAINDICATED",
    severity: Severity::Reject,
    carc: "50",
    rarc: "",
    meaning: "the session's pressure exceeds the prescription's max_pressure",
    check: Check::Line(check),
    needs: &[&["prescriptions.max_pressure"], &["sessions.pressure", "sessions.modality"]],
};

fn check(ctx: &Context, l: &LineFacts) -> Option<String> {
    let (documented, doc) = (l.documented?, l.doc?);
    let (max, p) = (doc.max_pressure?, documented.pressure?);
    (p > max).then(|| {
        format!(
            "session {} documents {} pressure for {}; {} allows at most {}",
            documented.session_ids(ctx.batch),
            p.name(),
            l.line.cpt,
            doc.rx_id,
            max.name()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::model::{Modality, Pressure};

    #[test]
    fn pressure_above_the_maximum_fires() {
        let f = sessions_case(Some(Modality::Swedish), None, None, Some(Pressure::Light));
        assert_eq!(ids(&f), [(0, "RX_PRESSURE_CONTRAINDICATED")]);
        assert_eq!(
            f[0].2,
            "session S-P-1-2025-03-10 documents moderate pressure for 97140; RX-1 allows at most light"
        );
    }

    #[test]
    fn quiet_at_or_below_the_maximum() {
        assert!(sessions_case(Some(Modality::Mld), None, None, Some(Pressure::Light)).is_empty());
        assert!(sessions_case(
            Some(Modality::DeepTissue),
            Some(Pressure::Light),
            None,
            Some(Pressure::Light)
        )
        .is_empty());
    }
}
