//! Session-note rules: SESSION_MISSING, RX_MODALITY_MISMATCH and RX_PRESSURE_CONTRAINDICATED
//! (SPEC §3 "Documented minutes", §5, §8 "Sessions").

use rayon::prelude::*;

use super::catalogue::Rule;
use super::{Context, Finding};
use crate::input::values::iso;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let links = ctx.links;
    ctx.batch
        .lines
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, line)| {
            let i32_ = i as u32;
            let mut out = Vec::new();
            let Some(d) = links.documented_of[i] else {
                let msg = format!(
                    "no session documents {} for patient {} on {}",
                    line.cpt,
                    ctx.batch.c(line.patient_id),
                    iso(line.date)
                );
                out.push(Finding::new(i32_, Rule::SessionMissing, msg));
                return out;
            };
            let Some(doc) = links.rx[i].doc.map(|d| &ctx.batch.documents[d as usize]) else {
                return out;
            };
            let documented = &links.documented.entries[d as usize];
            let ids: Vec<&str> = documented
                .rows
                .iter()
                .map(|&r| ctx.batch.s(ctx.batch.sessions[r as usize].session_id))
                .collect();
            let mut ids_unique = ids.clone();
            ids_unique.dedup();
            let sessions = ids_unique.join(", ");
            if let Some(required) = doc.required_modality {
                let other: Vec<&str> = documented
                    .modalities()
                    .filter(|m| *m != required)
                    .map(|m| m.name())
                    .collect();
                if !other.is_empty() {
                    let msg = format!(
                        "{} requires {} for {}; session {sessions} documents {}",
                        doc.rx_id,
                        required.name(),
                        line.cpt,
                        other.join(" and ")
                    );
                    out.push(Finding::new(i32_, Rule::RxModalityMismatch, msg));
                }
            }
            if let (Some(max), Some(p)) = (doc.max_pressure, documented.pressure) {
                if p > max {
                    let msg = format!(
                        "session {sessions} documents {} pressure for {}; {} allows at most {}",
                        p.name(),
                        line.cpt,
                        doc.rx_id,
                        max.name()
                    );
                    out.push(Finding::new(i32_, Rule::RxPressureContraindicated, msg));
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::model::{Modality, Pressure};

    fn one(
        modality: Option<Modality>,
        pressure: Option<Pressure>,
        rx_modality: Option<Modality>,
        max: Option<Pressure>,
    ) -> Vec<(u32, &'static str)> {
        let mut s = session("P-1", "2025-03-10", "97140", 30);
        s.modality = modality;
        s.pressure = pressure.or(modality.map(Modality::default_pressure));
        let mut rx = prescription("RX-1", "P-1", "I97.2", 10, "2025-03-01", "2025-04-30");
        rx.required_modality = rx_modality;
        rx.max_pressure = max;
        let l = line(
            "C-1",
            1,
            "P-1",
            "commercial",
            "2025-03-10",
            "97140",
            2,
            "I97.2",
        );
        ids(&run(check, vec![l], vec![s], vec![rx]))
    }

    #[test]
    fn session_missing_fires_without_a_session_row() {
        let l = line(
            "C-1",
            1,
            "P-1",
            "commercial",
            "2025-03-10",
            "97124",
            1,
            "M54.50",
        );
        let other = session("P-1", "2025-03-10", "97140", 30);
        assert_eq!(
            ids(&run(check, vec![l.clone()], vec![other], vec![])),
            [(0, "SESSION_MISSING")]
        );
        assert!(run(
            check,
            vec![l],
            vec![session("P-1", "2025-03-10", "97124", 0)],
            vec![]
        )
        .is_empty());
    }

    #[test]
    fn modality_must_match_the_prescription() {
        assert_eq!(
            one(Some(Modality::Swedish), None, Some(Modality::Mld), None),
            [(0, "RX_MODALITY_MISMATCH")]
        );
        assert!(one(Some(Modality::Mld), None, Some(Modality::Mld), None).is_empty());
        assert!(one(None, None, Some(Modality::Mld), None).is_empty());
    }

    #[test]
    fn pressure_above_the_maximum_fires() {
        assert_eq!(
            one(Some(Modality::Swedish), None, None, Some(Pressure::Light)),
            [(0, "RX_PRESSURE_CONTRAINDICATED")]
        );
        assert!(one(Some(Modality::Mld), None, None, Some(Pressure::Light)).is_empty());
        assert!(one(
            Some(Modality::DeepTissue),
            Some(Pressure::Light),
            None,
            Some(Pressure::Light)
        )
        .is_empty());
    }
}
