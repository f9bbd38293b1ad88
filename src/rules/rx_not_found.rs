//! RX_NOT_FOUND: the claim's rx_id names no document of this patient (SPEC §3, §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use super::{Finding, Rule};
use crate::facts::{LineFacts, RxStatus};
use crate::model::Code;

pub const RULE: RuleDef = RuleDef {
    id: "RX_NOT_FOUND",
    severity: Severity::Reject,
    carc: "197",
    rarc: "M62",
    meaning: "rx_id names no document of this patient",
    check: Check::Line(check),
    needs: &[],
};

fn check(ctx: &Context, l: &LineFacts) -> Option<String> {
    if l.rx.status != RxStatus::NotFound {
        return None;
    }
    let rx_id = ctx.batch.rx_id(l.line)?;
    let patient = ctx.batch.claim_text(l.line.patient_id);
    Some(if ctx.facts.doc_index(ctx.batch).has_rx_id(rx_id) {
        another_patient(rx_id, patient)
    } else {
        format!("{rx_id} names no document of patient {patient}")
    })
}

pub fn another_patient(rx_id: &str, patient: &str) -> String {
    format!("{rx_id} belongs to another patient, not {patient}")
}

/// In parts, a number that no document of this part has may be a patient's of another part: the
/// findings (index in `findings`) and numbers to tell again with `another_patient` once every
/// part's documents are known.
pub fn unsettled(ctx: &Context, findings: &[Finding]) -> Vec<(usize, Code)> {
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.rule == Rule::RxNotFound)
        .filter_map(|(i, f)| {
            let rx_id = ctx.batch.rx_id(&ctx.batch.lines[f.line as usize])?;
            (!ctx.facts.doc_index(ctx.batch).has_rx_id(rx_id)).then(|| (i, Code::from(rx_id)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::rules::Rule;

    fn named(rx_id: &str, patient: &str) -> Vec<(u32, &'static str, String)> {
        let mut l = line("C-1", 1, patient, "commercial", "2025-03-10", "97124", 1, "M54.50");
        l.rx_id = text(rx_id);
        let docs = vec![
            prescription("RX-1", "P-1", "M54.50", 10, "2025-03-01", "2025-04-30"),
            prescription("RX-2", "P-2", "M54.50", 10, "2025-03-01", "2025-04-30"),
        ];
        run(&[Rule::RxNotFound], vec![l], vec![], docs)
    }

    #[test]
    fn fires_on_another_patients_number_or_an_unknown_one() {
        assert_eq!(named("RX-2", "P-1")[0].2, "RX-2 belongs to another patient, not P-1");
        assert_eq!(named("RX-9", "P-1")[0].2, "RX-9 names no document of patient P-1");
    }

    #[test]
    fn quiet_on_the_patients_own_number() {
        assert!(named("RX-1", "P-1").is_empty());
    }
}
