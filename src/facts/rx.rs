//! Each line's prescription and how it was chosen (SPEC §3 "Prescription"), and the visits counted
//! against each prescription (SPEC §3 "Sessions counted").

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use super::{Earlier, Ids};
use crate::base::sort::sort_by_rank;
use crate::base::values::week_of;
use crate::base::values::Day;
use crate::model::{Batch, Code, Document, DocumentType};

/// How a line's prescription was found, or why none was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RxStatus {
    /// The claim's rx_id names a prescription of the patient that covers the service date.
    Given,
    /// The claim names none; a prescription of the patient covers the service date.
    Covering,
    /// The service is after the end_date of the prescription named, or (none named) of the
    /// patient's latest-ending prescription, and no other covers it.
    Expired,
    /// The service is before the start_date of the prescription named, or (none named) of the
    /// patient's earliest prescription, and none covers it.
    BeforeStart,
    /// The document named, or every document of the patient, is a referral or recommendation.
    NotAPrescription,
    /// The claim's rx_id names no document of this patient.
    NotFound,
    /// The patient has no document at all.
    #[default]
    NoDocument,
}

/// A line's prescription and how it was chosen.
#[derive(Debug, Default, Clone, Copy)]
pub struct RxLink {
    /// The prescription whose content rules apply (possibly expired or not started).
    pub doc: Option<u32>,
    pub status: RxStatus,
}

impl RxLink {
    fn new(doc: Option<u32>, status: RxStatus) -> RxLink {
        RxLink { doc, status }
    }
}

/// A line's visit among the visits linked to its prescription (zero when it has none).
#[derive(Debug, Default, Clone, Copy)]
pub struct Counted {
    /// Its number, in date order, after the `sessions_used` before this batch.
    pub number: i64,
    /// Its number within its Monday-to-Sunday week.
    pub in_week: i64,
    /// Visits of the prescription that earlier runs recorded clean (`--state`), counted before it.
    pub earlier: i64,
}

pub(super) fn link_rx(batch: &Batch, ids: &Ids) -> Vec<RxLink> {
    use RxStatus::*;
    let docs = &batch.documents;
    // documents by patient number: an index array cut into one range per patient
    let mut order: Vec<u32> = (0..docs.len() as u32).collect();
    order.sort_by_key(|&d| ids.doc_patient[d as usize]);
    let mut starts = vec![0u32; ids.patients + 1];
    for &d in &order {
        starts[ids.doc_patient[d as usize] as usize + 1] += 1;
    }
    for p in 0..ids.patients {
        starts[p + 1] += starts[p];
    }
    let doc = |d: &u32| &docs[*d as usize];
    batch
        .lines
        .par_iter()
        .enumerate()
        .map(|(i, l)| {
            let p = ids.line_patient[i] as usize;
            let mine = &order[starts[p] as usize..starts[p + 1] as usize];
            if let Some(rx_id) = batch.rx_id(l) {
                let Some(&d) = mine.iter().find(|&&d| doc(&d).rx_id == rx_id) else {
                    return RxLink::new(None, NotFound);
                };
                if doc(&d).document_type != DocumentType::Prescription {
                    return RxLink::new(None, NotAPrescription);
                }
                let status = if l.date < doc(&d).start {
                    BeforeStart
                } else if l.date > doc(&d).end {
                    Expired
                } else {
                    Given
                };
                return RxLink::new(Some(d), status);
            }
            if mine.is_empty() {
                return RxLink::new(None, NoDocument);
            }
            let rxs = || {
                mine.iter()
                    .filter(|d| doc(d).document_type == DocumentType::Prescription)
            };
            if rxs().next().is_none() {
                return RxLink::new(None, NotAPrescription);
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
                return RxLink::new(Some(d), Covering);
            }
            // expired: the latest end_date, then the latest start_date, then the smallest rx_id
            if let Some(&d) = rxs().filter(|d| doc(d).end < l.date).min_by(|a, b| {
                doc(b)
                    .end
                    .cmp(&doc(a).end)
                    .then_with(|| doc(b).start.cmp(&doc(a).start))
                    .then_with(|| doc(a).rx_id.cmp(&doc(b).rx_id))
            }) {
                return RxLink::new(Some(d), Expired);
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
            RxLink::new(Some(d), BeforeStart)
        })
        .collect()
}

/// A line linked to a prescription, as the visits are counted.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LinkedLine {
    doc: u32,
    date: i32,
    visit: u32,
    line: u32,
}

/// Visits linked to each prescription, numbered in date order; a visit counts once however many
/// of its lines link to the prescription.
pub(super) fn count_visits(
    batch: &Batch,
    rx: &[RxLink],
    visit_of: &[u32],
    earlier: &Earlier,
) -> Vec<Counted> {
    let this_batch = (!earlier.is_empty()).then(|| batch_days(batch, earlier));
    let mut linked: Vec<LinkedLine> = rx
        .par_iter()
        .enumerate()
        .filter_map(|(i, l)| {
            l.doc.map(|doc| LinkedLine {
                doc,
                date: batch.lines[i].date,
                visit: visit_of[i],
                line: i as u32,
            })
        })
        .collect();
    // by prescription, then date: the date's bits flipped at the sign keep its order unsigned
    sort_by_rank(&mut linked, |l| {
        (l.doc as u64) << 32 | (l.date as u32 ^ 0x8000_0000) as u64
    });
    let numbered: Vec<(u32, Counted)> = linked
        .par_chunk_by(|a, b| a.doc == b.doc)
        .flat_map_iter(|group| {
            let doc = &batch.documents[group[0].doc as usize];
            let mut out = Vec::with_capacity(group.len());
            let before = match &this_batch {
                Some(days) => earlier_visits(doc, earlier, days),
                None => Vec::new(),
            };
            let n_before = before.len() as i64;
            let (mut number, mut week, mut in_week) = (doc.sessions_used + n_before, i32::MIN, 0);
            for visit in group.chunk_by(|a, b| a.visit == b.visit) {
                number += 1;
                if week_of(visit[0].date) != week {
                    week = week_of(visit[0].date);
                    in_week = before.iter().filter(|&&d| week_of(d) == week).count() as i64;
                }
                in_week += 1;
                let counted = Counted {
                    number,
                    in_week,
                    earlier: n_before,
                };
                out.extend(visit.iter().map(|v| (v.line, counted)));
            }
            out
        })
        .collect();
    let mut counted = vec![Counted::default(); batch.lines.len()];
    for (line, c) in numbered {
        counted[line as usize] = c;
    }
    counted
}

/// The service dates of this batch's patients that earlier runs also recorded something for.
fn batch_days<'b>(batch: &'b Batch, earlier: &Earlier) -> FxHashMap<&'b str, FxHashSet<Day>> {
    batch
        .lines
        .par_iter()
        .filter_map(|l| {
            let p = batch.claim_text(l.patient_id);
            (!earlier.of(p).is_empty()).then_some((p, l.date))
        })
        .fold(
            FxHashMap::default,
            |mut m: FxHashMap<&str, FxHashSet<Day>>, (p, d)| {
                m.entry(p).or_default().insert(d);
                m
            },
        )
        .reduce(FxHashMap::default, |mut a, b| {
            for (p, days) in b {
                a.entry(p).or_default().extend(days);
            }
            a
        })
}

/// The visits of a prescription that earlier runs recorded clean (SPEC §10 "Sessions"): distinct
/// service dates of the patient linked to its rx_id that are not service dates of the patient in
/// this batch.
fn earlier_visits(
    doc: &Document,
    earlier: &Earlier,
    days: &FxHashMap<&str, FxHashSet<Day>>,
) -> Vec<Day> {
    let here = days.get(doc.patient_id.as_str());
    let mut dates: Vec<Day> = earlier
        .of(&doc.patient_id)
        .iter()
        .filter(|e| e.rx_id == doc.rx_id && !here.is_some_and(|h| h.contains(&e.date)))
        .map(|e| e.date)
        .collect();
    dates.dedup(); // by date already
    dates
}

/// The documents by patient and the rx_ids in use, for messages.
pub struct DocIndex {
    by_patient: FxHashMap<Code, SmallVec<[u32; 2]>>,
    rx_ids: FxHashSet<Code>,
}

impl DocIndex {
    pub fn new(batch: &Batch) -> DocIndex {
        let mut by_patient: FxHashMap<Code, SmallVec<[u32; 2]>> = FxHashMap::default();
        for (i, d) in batch.documents.iter().enumerate() {
            by_patient
                .entry(d.patient_id.clone())
                .or_default()
                .push(i as u32);
        }
        let rx_ids = batch.documents.iter().map(|d| d.rx_id.clone()).collect();
        DocIndex { by_patient, rx_ids }
    }

    /// The documents of a patient, in file order.
    pub fn of<'b>(&'b self, batch: &'b Batch, patient: &str) -> impl Iterator<Item = &'b Document> {
        let docs = &batch.documents;
        self.by_patient
            .get(patient)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .map(move |&d| &docs[d as usize])
    }

    /// Whether any patient has a document with this rx_id.
    pub fn has_rx_id(&self, rx_id: &str) -> bool {
        self.rx_ids.contains(rx_id)
    }
}
