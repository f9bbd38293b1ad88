//! RX_SESSIONS_EXCEEDED: the visit is beyond the prescription's authorised number of sessions.
//! Visits linked to a prescription are numbered in date order after its `sessions_used`; every
//! linked line of a visit past `authorized_sessions` fires (SPEC §3 "Sessions counted", §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "RX_SESSIONS_EXCEEDED",
    severity: Severity::Reject,
    carc: "198",
    rarc: "N54",
    meaning: "the visit is beyond the authorised number of sessions",
    check: Check::Line(check),
    needs: &[&["prescriptions.authorized_sessions"]],
};

fn check(ctx: &Context, l: &LineFacts) -> Option<String> {
    let doc = l.doc?;
    let authorized = doc.authorized_sessions?;
    let number = l.counted.number;
    (number > authorized).then(|| {
        if ctx.facts.earlier.with_state {
            format!(
                "visit {number} of {authorized} authorised by {} ({} used before claimscrub, {} in earlier runs)",
                doc.rx_id, doc.sessions_used, l.counted.earlier
            )
        } else {
            format!(
                "visit {number} of {authorized} authorised by {} ({} used before this batch)",
                doc.rx_id, doc.sessions_used
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::rules::Rule;

    #[test]
    fn visits_beyond_the_authorised_count_fire_on_every_linked_line() {
        let mut rx = prescription("RX-7", "P-1", "M54.50", 3, "2025-03-01", "2025-04-30");
        rx.sessions_used = 1;
        let lines = vec![
            line("C-3", 1, "P-1", "commercial", "2025-03-12", "97124", 1, "M54.50"),
            line("C-1", 1, "P-1", "commercial", "2025-03-03", "97124", 1, "M54.50"),
            line("C-2", 1, "P-1", "commercial", "2025-03-05", "97124", 1, "M54.50"),
            line("C-3", 2, "P-1", "commercial", "2025-03-12", "97140", 1, "M54.50"),
        ];
        let f = run(&[Rule::RxSessionsExceeded], lines, vec![], vec![rx]);
        // visits 2 (03-03), 3 (03-05), 4 (03-12): only the last is over
        assert_eq!(ids(&f), [(0, "RX_SESSIONS_EXCEEDED"), (3, "RX_SESSIONS_EXCEEDED")]);
        assert_eq!(f[0].2, "visit 4 of 3 authorised by RX-7 (1 used before this batch)");
    }

    #[test]
    fn quiet_up_to_the_authorised_count() {
        let rx = prescription("RX-7", "P-1", "M54.50", 2, "2025-03-01", "2025-04-30");
        let lines = vec![
            line("C-1", 1, "P-1", "commercial", "2025-03-03", "97124", 1, "M54.50"),
            line("C-2", 1, "P-1", "commercial", "2025-03-05", "97124", 1, "M54.50"),
            line("C-2", 2, "P-1", "commercial", "2025-03-05", "97140", 1, "M54.50"),
        ];
        assert!(run(&[Rule::RxSessionsExceeded], lines, vec![], vec![rx]).is_empty());
    }
}
