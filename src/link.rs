//! Linking (SPEC §3): visits, documented minutes and each line's prescription.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::input::values::{iso, Day};
use crate::model::{Batch, DocumentType, Modality, Pressure};
use crate::rules::catalogue::Rule;

/// The session rows of one patient, date and procedure, taken together.
#[derive(Debug, Default)]
pub struct Documented {
    pub cpt: String,
    pub minutes: i64,
    /// Modalities documented (rows with an empty modality document none), sorted.
    pub modalities: Vec<Modality>,
    /// The highest pressure of the rows.
    pub pressure: Option<Pressure>,
    /// Ids of the rows, in file order, for messages.
    pub session_ids: Vec<String>,
}

/// All claim lines with the same patient and service date.
#[derive(Debug)]
pub struct Visit {
    pub date: Day,
    /// Claim lines, in read order.
    pub lines: Vec<u32>,
    /// Procedures documented in sessions that day, by code.
    pub documented: Vec<u32>,
}

/// How a line found (or failed to find) its prescription.
#[derive(Debug, Default, Clone)]
pub struct RxLink {
    /// The document whose content rules apply (a prescription, possibly expired or not started).
    pub doc: Option<u32>,
    pub finding: Option<(Rule, String)>,
}

pub struct Links {
    pub visits: Vec<Visit>,
    /// Per line: its visit.
    pub visit_of: Vec<u32>,
    pub documented: Vec<Documented>,
    /// Per line: the session rows of its patient, date and procedure.
    pub documented_of: Vec<Option<u32>>,
    pub rx: Vec<RxLink>,
}

pub fn link(batch: &Batch) -> Links {
    let (visits_part, (documented_part, rx)) = rayon::join(
        || group_visits(batch),
        || rayon::join(|| document_sessions(batch), || link_rx(batch)),
    );
    let (mut visits, visit_of) = visits_part;
    let (documented, by_key) = documented_part;

    // per line: its session rows; per visit: the procedures documented that day
    let documented_of: Vec<Option<u32>> = batch
        .lines
        .par_iter()
        .map(|l| {
            by_key
                .get(&(l.patient_id.as_str(), l.date, l.cpt.as_str()))
                .copied()
        })
        .collect();
    let mut by_day: HashMap<(&str, Day), Vec<u32>> = HashMap::new();
    for (key, &i) in &by_key {
        by_day.entry((key.0, key.1)).or_default().push(i);
    }
    visits.par_iter_mut().for_each(|v| {
        let l = &batch.lines[v.lines[0] as usize];
        if let Some(d) = by_day.get(&(l.patient_id.as_str(), v.date)) {
            v.documented = d.clone();
            v.documented.sort_unstable_by(|a, b| {
                documented[*a as usize]
                    .cpt
                    .cmp(&documented[*b as usize].cpt)
            });
        }
    });
    Links {
        visits,
        visit_of,
        documented,
        documented_of,
        rx,
    }
}

fn group_visits(batch: &Batch) -> (Vec<Visit>, Vec<u32>) {
    let mut index: HashMap<(&str, Day), u32> = HashMap::new();
    let mut visits: Vec<Visit> = Vec::new();
    let mut visit_of = Vec::with_capacity(batch.lines.len());
    for (i, l) in batch.lines.iter().enumerate() {
        let v = *index
            .entry((l.patient_id.as_str(), l.date))
            .or_insert_with(|| {
                visits.push(Visit {
                    date: l.date,
                    lines: Vec::new(),
                    documented: Vec::new(),
                });
                (visits.len() - 1) as u32
            });
        visits[v as usize].lines.push(i as u32);
        visit_of.push(v);
    }
    (visits, visit_of)
}

type SessionKey<'a> = (&'a str, Day, &'a str);

fn document_sessions(batch: &Batch) -> (Vec<Documented>, HashMap<SessionKey<'_>, u32>) {
    let mut by_key: HashMap<SessionKey, u32> = HashMap::new();
    let mut documented: Vec<Documented> = Vec::new();
    for s in &batch.sessions {
        let i = *by_key
            .entry((s.patient_id.as_str(), s.date, s.cpt.as_str()))
            .or_insert_with(|| {
                documented.push(Documented {
                    cpt: s.cpt.clone(),
                    ..Default::default()
                });
                (documented.len() - 1) as u32
            });
        let d = &mut documented[i as usize];
        d.minutes += s.minutes;
        if let Some(m) = s.modality {
            if !d.modalities.contains(&m) {
                d.modalities.push(m);
                d.modalities.sort();
            }
        }
        d.pressure = d.pressure.max(s.pressure);
        d.session_ids.push(s.session_id.clone());
    }
    (documented, by_key)
}

fn link_rx(batch: &Batch) -> Vec<RxLink> {
    let docs = &batch.documents;
    let mut by_patient: HashMap<&str, Vec<u32>> = HashMap::new();
    let mut by_rx: HashMap<&str, Vec<u32>> = HashMap::new();
    for (i, d) in docs.iter().enumerate() {
        by_patient
            .entry(d.patient_id.as_str())
            .or_default()
            .push(i as u32);
        by_rx.entry(d.rx_id.as_str()).or_default().push(i as u32);
    }
    batch
        .lines
        .par_iter()
        .map(|l| {
            let date = iso(l.date);
            let mine = by_patient.get(l.patient_id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(rx_id) = &l.rx_id {
                let Some(&d) = mine.iter().find(|&&d| docs[d as usize].rx_id == *rx_id) else {
                    let elsewhere = by_rx.contains_key(rx_id.as_str());
                    let msg = if elsewhere {
                        format!("{rx_id} belongs to another patient, not {}", l.patient_id)
                    } else {
                        format!("{rx_id} names no document of patient {}", l.patient_id)
                    };
                    return RxLink { doc: None, finding: Some((Rule::RxNotFound, msg)) };
                };
                let doc = &docs[d as usize];
                if doc.document_type != DocumentType::Prescription {
                    let msg = format!(
                        "{rx_id} is a {}, not a prescription: it does not make the service reimbursable",
                        doc.document_type.name()
                    );
                    return RxLink { doc: None, finding: Some((Rule::RxNotAPrescription, msg)) };
                }
                let finding = if l.date < doc.start {
                    Some((Rule::RxBeforeStart, format!("service on {date} is before {rx_id} starts on {}", iso(doc.start))))
                } else if l.date > doc.end {
                    Some((Rule::RxExpired, format!("service on {date} is after {rx_id} ended on {}", iso(doc.end))))
                } else {
                    None
                };
                return RxLink { doc: Some(d), finding };
            }
            if mine.is_empty() {
                let msg = format!("patient {} has no prescription, referral or recommendation on file", l.patient_id);
                return RxLink { doc: None, finding: Some((Rule::RxMissing, msg)) };
            }
            let rxs: Vec<u32> =
                mine.iter().copied().filter(|&d| docs[d as usize].document_type == DocumentType::Prescription).collect();
            if rxs.is_empty() {
                let names: Vec<String> = mine
                    .iter()
                    .map(|&d| format!("{} {}", docs[d as usize].document_type.name(), docs[d as usize].rx_id))
                    .collect();
                let msg = format!(
                    "patient {} has no prescription, only: {}; a prescription is needed for payment",
                    l.patient_id,
                    names.join(", ")
                );
                return RxLink { doc: None, finding: Some((Rule::RxNotAPrescription, msg)) };
            }
            let doc = |d: &u32| &docs[*d as usize];
            // covering: the latest start_date, then the smallest rx_id
            if let Some(&d) = rxs
                .iter()
                .filter(|d| doc(d).start <= l.date && l.date <= doc(d).end)
                .min_by(|a, b| doc(b).start.cmp(&doc(a).start).then_with(|| doc(a).rx_id.cmp(&doc(b).rx_id)))
            {
                return RxLink { doc: Some(d), finding: None };
            }
            // expired: the latest end_date, then the latest start_date, then the smallest rx_id
            if let Some(&d) = rxs.iter().filter(|d| doc(d).end < l.date).min_by(|a, b| {
                doc(b)
                    .end
                    .cmp(&doc(a).end)
                    .then_with(|| doc(b).start.cmp(&doc(a).start))
                    .then_with(|| doc(a).rx_id.cmp(&doc(b).rx_id))
            }) {
                let msg = format!(
                    "service on {date} is after {} ended on {}, and no prescription of the patient covers that date",
                    doc(&d).rx_id,
                    iso(doc(&d).end)
                );
                return RxLink { doc: Some(d), finding: Some((Rule::RxExpired, msg)) };
            }
            // not started: the earliest start_date, then the smallest rx_id
            let &d = rxs
                .iter()
                .min_by(|a, b| doc(a).start.cmp(&doc(b).start).then_with(|| doc(a).rx_id.cmp(&doc(b).rx_id)))
                .expect("at least one prescription");
            let msg = format!(
                "service on {date} is before {} starts on {}, and no prescription of the patient covers that date",
                doc(&d).rx_id,
                iso(doc(&d).start)
            );
            RxLink { doc: Some(d), finding: Some((Rule::RxBeforeStart, msg)) }
        })
        .collect()
}
