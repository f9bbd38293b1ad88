//! RX_NOT_A_PRESCRIPTION: the document named, or every document of the patient, is a referral or
//! a recommendation, which does not make the service reimbursable (SPEC §3, §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::facts::{LineFacts, RxStatus};

pub const RULE: RuleDef = RuleDef {
    id: "RX_NOT_A_PRESCRIPTION",
    severity: Severity::Reject,
    carc: "173",
    rarc: "",
    meaning: "the only documents are a referral or a recommendation",
    check: Check::Line(check),
    needs: &[],
};

fn check(ctx: &Context, l: &LineFacts) -> Option<String> {
    if l.rx.status != RxStatus::NotAPrescription {
        return None;
    }
    let batch = ctx.batch;
    let patient = batch.claim_text(l.line.patient_id);
    let mut docs = ctx.facts.doc_index(batch).of(batch, patient);
    Some(match batch.rx_id(l.line) {
        Some(rx_id) => {
            let kind = docs.find(|d| d.rx_id == rx_id).map(|d| d.document_type.name());
            format!(
                "{rx_id} is a {}, not a prescription: it does not make the service reimbursable",
                kind.unwrap_or("document")
            )
        }
        None => {
            let names: Vec<String> = docs
                .map(|d| format!("{} {}", d.document_type.name(), d.rx_id))
                .collect();
            format!(
                "patient {patient} has no prescription, only: {}; a prescription is needed for payment",
                names.join(", ")
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::model::DocumentType;
    use crate::rules::Rule;

    fn with_referral(rx_id: &str) -> Vec<(u32, &'static str, String)> {
        let mut l = line("C-1", 1, "P-1", "commercial", "2025-03-10", "97124", 1, "M54.50");
        l.rx_id = text(rx_id);
        let mut referral = prescription("REF-1", "P-1", "M54.50", 10, "2025-03-01", "2025-04-30");
        referral.document_type = DocumentType::Referral;
        let rx = prescription("RX-1", "P-2", "M54.50", 10, "2025-03-01", "2025-04-30");
        run(&[Rule::RxNotAPrescription], vec![l], vec![], vec![referral, rx])
    }

    #[test]
    fn fires_on_a_referral_named_or_found() {
        assert_eq!(
            with_referral("REF-1")[0].2,
            "REF-1 is a referral, not a prescription: it does not make the service reimbursable"
        );
        assert_eq!(
            with_referral("")[0].2,
            "patient P-1 has no prescription, only: referral REF-1; a prescription is needed for payment"
        );
    }

    #[test]
    fn quiet_with_a_prescription() {
        let l = line("C-1", 1, "P-2", "commercial", "2025-03-10", "97124", 1, "M54.50");
        let rx = prescription("RX-1", "P-2", "M54.50", 10, "2025-03-01", "2025-04-30");
        assert!(run(&[Rule::RxNotAPrescription], vec![l], vec![], vec![rx]).is_empty());
    }
}
