//! Linking (SPEC §3): visits, documented minutes and each line's prescription.

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::input::values::{iso, Day};
use crate::model::{Batch, ClaimLine, Code, DocumentType, Modality, Pressure};
use crate::rules::catalogue::Rule;

/// The session rows of one patient, date and procedure, taken together.
#[derive(Debug, Default)]
pub struct Documented {
    pub cpt: Code,
    pub minutes: i64,
    /// Modalities documented (rows with an empty modality document none).
    pub modalities: SmallVec<[Modality; 2]>,
    /// The highest pressure of the rows.
    pub pressure: Option<Pressure>,
    /// The rows, in file order (indices into `Batch::sessions`), for messages.
    pub rows: SmallVec<[u32; 2]>,
}

/// All claim lines with the same patient and service date.
#[derive(Debug)]
pub struct Visit {
    pub date: Day,
    /// Claim lines, in read order.
    pub lines: SmallVec<[u32; 4]>,
    /// Procedures documented in sessions that day, by code.
    pub documented: SmallVec<[u32; 4]>,
}

/// How a line found (or failed to find) its prescription.
#[derive(Debug, Default, Clone)]
pub struct RxLink {
    /// The document whose content rules apply (a prescription, possibly expired or not started).
    pub doc: Option<u32>,
    pub finding: Option<Rule>,
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
                .get(&(batch.c(l.patient_id), l.date, l.cpt.as_str()))
                .copied()
        })
        .collect();
    let mut by_day: FxHashMap<(&str, Day), SmallVec<[u32; 4]>> = FxHashMap::default();
    for (key, &i) in &by_key {
        by_day.entry((key.0, key.1)).or_default().push(i);
    }
    visits.par_iter_mut().for_each(|v| {
        let l = &batch.lines[v.lines[0] as usize];
        if let Some(d) = by_day.get(&(batch.c(l.patient_id), v.date)) {
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
    let mut index: FxHashMap<(&str, Day), u32> = FxHashMap::default();
    let mut visits: Vec<Visit> = Vec::new();
    let mut visit_of = Vec::with_capacity(batch.lines.len());
    for (i, l) in batch.lines.iter().enumerate() {
        let v = *index
            .entry((batch.c(l.patient_id), l.date))
            .or_insert_with(|| {
                visits.push(Visit {
                    date: l.date,
                    lines: SmallVec::new(),
                    documented: SmallVec::new(),
                });
                (visits.len() - 1) as u32
            });
        visits[v as usize].lines.push(i as u32);
        visit_of.push(v);
    }
    (visits, visit_of)
}

type SessionKey<'a> = (&'a str, Day, &'a str);

fn document_sessions(batch: &Batch) -> (Vec<Documented>, FxHashMap<SessionKey<'_>, u32>) {
    let mut by_key: FxHashMap<SessionKey, u32> = FxHashMap::default();
    let mut documented: Vec<Documented> = Vec::new();
    for (row, s) in batch.sessions.iter().enumerate() {
        let i = *by_key
            .entry((batch.s(s.patient_id), s.date, s.cpt.as_str()))
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
        d.rows.push(row as u32);
    }
    (documented, by_key)
}

/// The documents by patient and the rx_ids in use, for messages.
pub struct DocIndex<'a> {
    pub by_patient: FxHashMap<&'a str, SmallVec<[u32; 2]>>,
    pub rx_ids: rustc_hash::FxHashSet<&'a str>,
}

impl<'a> DocIndex<'a> {
    pub fn new(batch: &'a Batch) -> DocIndex<'a> {
        let mut by_patient: FxHashMap<&str, SmallVec<[u32; 2]>> = FxHashMap::default();
        for (i, d) in batch.documents.iter().enumerate() {
            by_patient
                .entry(d.patient_id.as_str())
                .or_default()
                .push(i as u32);
        }
        let rx_ids = batch.documents.iter().map(|d| d.rx_id.as_str()).collect();
        DocIndex { by_patient, rx_ids }
    }

    fn of(&self, patient: &str) -> &[u32] {
        self.by_patient
            .get(patient)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
    }
}

/// Why linking failed, in words (only for the few lines that get a finding).
pub fn rx_message(batch: &Batch, index: &DocIndex, line: &ClaimLine, link: &RxLink) -> String {
    let docs = &batch.documents;
    let date = iso(line.date);
    let patient = batch.c(line.patient_id);
    let rule = link.finding.expect("a linking finding");
    let doc = link.doc.map(|d| &docs[d as usize]);
    match (rule, batch.rx_id(line), doc) {
        (Rule::RxNotFound, Some(rx_id), _) => {
            if index.rx_ids.contains(rx_id) {
                format!("{rx_id} belongs to another patient, not {patient}")
            } else {
                format!("{rx_id} names no document of patient {patient}")
            }
        }
        (Rule::RxNotAPrescription, Some(rx_id), _) => {
            let kind = index
                .of(patient)
                .iter()
                .map(|&d| &docs[d as usize])
                .find(|d| d.rx_id == rx_id)
                .map(|d| d.document_type.name());
            format!(
                "{rx_id} is a {}, not a prescription: it does not make the service reimbursable",
                kind.unwrap_or("document")
            )
        }
        (Rule::RxNotAPrescription, None, _) => {
            let names: Vec<String> = index
                .of(patient)
                .iter()
                .map(|&d| &docs[d as usize])
                .map(|d| format!("{} {}", d.document_type.name(), d.rx_id))
                .collect();
            format!("patient {patient} has no prescription, only: {}; a prescription is needed for payment", names.join(", "))
        }
        (Rule::RxMissing, _, _) => {
            format!("patient {patient} has no prescription, referral or recommendation on file")
        }
        (Rule::RxBeforeStart, given, Some(d)) => {
            let tail = if given.is_some() {
                ""
            } else {
                ", and no prescription of the patient covers that date"
            };
            format!(
                "service on {date} is before {} starts on {}{tail}",
                d.rx_id,
                iso(d.start)
            )
        }
        (Rule::RxExpired, given, Some(d)) => {
            let tail = if given.is_some() {
                ""
            } else {
                ", and no prescription of the patient covers that date"
            };
            format!(
                "service on {date} is after {} ended on {}{tail}",
                d.rx_id,
                iso(d.end)
            )
        }
        _ => rule.info().meaning.to_string(),
    }
}

fn link_rx(batch: &Batch) -> Vec<RxLink> {
    let docs = &batch.documents;
    let index = DocIndex::new(batch);
    let doc = |d: &u32| &docs[*d as usize];
    batch
        .lines
        .par_iter()
        .map(|l| {
            let mine = index.of(batch.c(l.patient_id));
            if let Some(rx_id) = batch.rx_id(l) {
                let Some(&d) = mine.iter().find(|&&d| doc(&d).rx_id == rx_id) else {
                    return RxLink {
                        doc: None,
                        finding: Some(Rule::RxNotFound),
                    };
                };
                if doc(&d).document_type != DocumentType::Prescription {
                    return RxLink {
                        doc: None,
                        finding: Some(Rule::RxNotAPrescription),
                    };
                }
                let finding = if l.date < doc(&d).start {
                    Some(Rule::RxBeforeStart)
                } else if l.date > doc(&d).end {
                    Some(Rule::RxExpired)
                } else {
                    None
                };
                return RxLink {
                    doc: Some(d),
                    finding,
                };
            }
            if mine.is_empty() {
                return RxLink {
                    doc: None,
                    finding: Some(Rule::RxMissing),
                };
            }
            let rxs = || {
                mine.iter()
                    .filter(|d| doc(d).document_type == DocumentType::Prescription)
            };
            if rxs().next().is_none() {
                return RxLink {
                    doc: None,
                    finding: Some(Rule::RxNotAPrescription),
                };
            }
            // covering: the latest start_date, then the smallest rx_id
            if let Some(&d) = rxs()
                .filter(|d| doc(d).start <= l.date && l.date <= doc(d).end)
                .min_by(|a, b| {
                    doc(b)
                        .start
                        .cmp(&doc(a).start)
                        .then_with(|| doc(a).rx_id.cmp(&doc(b).rx_id))
                })
            {
                return RxLink {
                    doc: Some(d),
                    finding: None,
                };
            }
            // expired: the latest end_date, then the latest start_date, then the smallest rx_id
            if let Some(&d) = rxs().filter(|d| doc(d).end < l.date).min_by(|a, b| {
                doc(b)
                    .end
                    .cmp(&doc(a).end)
                    .then_with(|| doc(b).start.cmp(&doc(a).start))
                    .then_with(|| doc(a).rx_id.cmp(&doc(b).rx_id))
            }) {
                return RxLink {
                    doc: Some(d),
                    finding: Some(Rule::RxExpired),
                };
            }
            // not started: the earliest start_date, then the smallest rx_id
            let &d = rxs()
                .min_by(|a, b| {
                    doc(a)
                        .start
                        .cmp(&doc(b).start)
                        .then_with(|| doc(a).rx_id.cmp(&doc(b).rx_id))
                })
                .expect("at least one prescription");
            RxLink {
                doc: Some(d),
                finding: Some(Rule::RxBeforeStart),
            }
        })
        .collect()
}
