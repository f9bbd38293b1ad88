//! Linking (SPEC §3): visits, documented minutes and each line's prescription.

use rayon::prelude::*;
use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};
use smallvec::SmallVec;

use crate::input::values::{iso, Day};
use crate::model::{Batch, ClaimLine, Code, DocumentType, Modality, Pressure};
use crate::rules::catalogue::Rule;

/// The session rows of one patient, date and procedure, taken together.
#[derive(Debug, Default)]
pub struct Documented {
    pub minutes: i64,
    /// Modalities documented, as bits by `Modality` (rows with an empty modality document none).
    modality_bits: u8,
    /// The highest pressure of the rows.
    pub pressure: Option<Pressure>,
    /// The rows, in file order (indices into `Batch::sessions`), for messages.
    pub rows: SmallVec<[u32; 2]>,
}

impl Documented {
    /// The procedure documented.
    pub fn cpt<'b>(&self, batch: &'b Batch) -> &'b Code {
        &batch.sessions[self.rows[0] as usize].cpt
    }

    /// The modalities documented, in `Modality` order.
    pub fn modalities(&self) -> impl Iterator<Item = Modality> + '_ {
        Modality::ALL
            .into_iter()
            .filter(|m| self.modality_bits & (1 << *m as u8) != 0)
    }
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
    pub documented: DocumentedSet,
    /// Per line: the session rows of its patient, date and procedure.
    pub documented_of: Vec<Option<u32>>,
    pub rx: Vec<RxLink>,
}

pub fn link(batch: &Batch) -> Links {
    let ids = &Ids::new(batch);
    crate::timing("patients and codes numbered");
    let ((visits, visit_of), (documented, rx)) = rayon::join(
        || group_visits(batch, ids),
        || rayon::join(|| document_sessions(batch, ids), || link_rx(batch, ids)),
    );
    crate::timing("link: visits, sessions, prescriptions");
    let (documented_of, visits) = rayon::join(
        || documented_of(batch, ids, &documented),
        || documented_by_visit(batch, ids, &documented, visits),
    );
    Links {
        visits,
        visit_of,
        documented,
        documented_of,
        rx,
    }
}

/// Numbers for patients and procedure codes, so that the joins compare integers, not text.
pub struct Ids {
    line_patient: Vec<u32>,
    session_patient: Vec<u32>,
    doc_patient: Vec<u32>,
    line_cpt: Vec<u32>,
    session_cpt: Vec<u32>,
    patients: usize,
}

impl Ids {
    pub fn new(batch: &Batch) -> Ids {
        crate::timing("numbering patients and codes");
        let (lines, sessions, docs) = (&batch.lines, &batch.sessions, &batch.documents);
        let (nl, ns) = (lines.len() as u32, sessions.len() as u32);
        // one numbering over the patients of all three inputs
        let patient = |i: u32| -> &str {
            if i < nl {
                batch.c(lines[i as usize].patient_id)
            } else if i < nl + ns {
                batch.s(sessions[(i - nl) as usize].patient_id)
            } else {
                docs[(i - nl - ns) as usize].patient_id.as_str()
            }
        };
        let ((_, groups), (line_cpt, session_cpt)) = rayon::join(
            || group_by(lines.len() + sessions.len() + docs.len(), patient),
            || code_ids(batch),
        );
        let mut all = vec![0u32; lines.len() + sessions.len() + docs.len()];
        for (p, g) in groups.iter().enumerate() {
            for &i in g {
                all[i as usize] = p as u32;
            }
        }
        let doc_patient = all.split_off((nl + ns) as usize);
        let session_patient = all.split_off(nl as usize);
        Ids {
            line_patient: all,
            session_patient,
            doc_patient,
            line_cpt,
            session_cpt,
            patients: groups.len(),
        }
    }

    /// Patient and date of a line, as one exact integer key.
    fn line_day(&self, batch: &Batch, i: usize) -> u64 {
        day_key(self.line_patient[i], batch.lines[i].date)
    }

    fn session_day(&self, batch: &Batch, i: usize) -> u64 {
        day_key(self.session_patient[i], batch.sessions[i].date)
    }
}

fn day_key(patient: u32, date: Day) -> u64 {
    ((patient as u64) << 32) | date as u32 as u64
}

/// Procedure codes numbered in code order (few distinct values: one map, read in parallel).
fn code_ids(batch: &Batch) -> (Vec<u32>, Vec<u32>) {
    let mut distinct: Vec<&str> = batch
        .lines
        .par_iter()
        .map(|l| l.cpt.as_str())
        .chain(batch.sessions.par_iter().map(|s| s.cpt.as_str()))
        .fold(rustc_hash::FxHashSet::default, |mut set, c| {
            set.insert(c);
            set
        })
        .reduce(rustc_hash::FxHashSet::default, |mut a, b| {
            a.extend(b);
            a
        })
        .into_iter()
        .collect();
    distinct.sort_unstable();
    let index: FxHashMap<&str, u32> = distinct
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i as u32))
        .collect();
    rayon::join(
        || {
            batch
                .lines
                .par_iter()
                .map(|l| index[l.cpt.as_str()])
                .collect()
        },
        || {
            batch
                .sessions
                .par_iter()
                .map(|s| index[s.cpt.as_str()])
                .collect()
        },
    )
}

pub fn hash_of<K: Hash>(key: K) -> u64 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

pub type Group = SmallVec<[u32; 4]>;

/// Items `0..n` grouped by `key`, each group in ascending order. Sorting 64-bit hashes of the keys
/// is fast and parallel; runs of equal hashes are then checked key by key, so that two keys that
/// happen to share a hash still form two groups. Groups come out in hash order.
pub fn group_by<K: Hash + Ord + Send>(
    n: usize,
    key: impl Fn(u32) -> K + Sync,
) -> (Vec<u64>, Vec<Group>) {
    // inputs usually list a claim's lines, a patient's rows, together: runs of equal neighbours
    // are found in one sequential pass, and only the runs are sorted and checked key by key
    // (a check reads its keys at random places in the file: few runs, few such reads)
    let starts: Vec<u32> = (0..n as u32)
        .into_par_iter()
        .with_min_len(1 << 14)
        .filter(|&i| i == 0 || key(i) != key(i - 1))
        .collect();
    if starts.len() * 4 > n * 3 {
        return group_by_hash(n, &key, |k| hash_of(k));
    }
    let run_key = |r: u32| key(starts[r as usize]);
    let (hashes, runs) = group_by_hash(starts.len(), &run_key, |k| hash_of(k));
    let end = |r: u32| starts.get(r as usize + 1).copied().unwrap_or(n as u32);
    let groups = runs
        .into_par_iter()
        .map(|g| {
            if let [r] = g[..] {
                (starts[r as usize]..end(r)).collect()
            } else {
                g.iter().flat_map(|&r| starts[r as usize]..end(r)).collect()
            }
        })
        .collect();
    (hashes, groups)
}

fn group_by_hash<K: Ord + Send>(
    n: usize,
    key: &(impl Fn(u32) -> K + Sync),
    hash: impl Fn(K) -> u64 + Sync,
) -> (Vec<u64>, Vec<Group>) {
    let mut hashed: Vec<(u64, u32)> = (0..n as u32)
        .into_par_iter()
        .map(|i| (hash(key(i)), i))
        .collect();
    hashed.par_sort_unstable();
    let groups: Vec<(u64, Group)> = hashed
        .par_chunk_by(|a, b| a.0 == b.0)
        .flat_map_iter(|run| {
            let h = run[0].0;
            let mut items: Group = run.iter().map(|(_, i)| *i).collect();
            if items.len() > 1 && items.iter().any(|&i| key(i) != key(items[0])) {
                items.sort_by(|&a, &b| key(a).cmp(&key(b)).then(a.cmp(&b)));
                let split: SmallVec<[(u64, Group); 1]> = items
                    .chunk_by(|&a, &b| key(a) == key(b))
                    .map(|g| (h, g.iter().copied().collect()))
                    .collect();
                return split;
            }
            // one group: no allocation beyond the group itself
            smallvec::smallvec![(h, items)]
        })
        .collect();
    groups.into_iter().unzip()
}

/// Items `0..n` grouped by an exact integer key; groups in key order.
fn groups_by_int<K: Ord + Copy + Send + Sync>(
    n: usize,
    key: impl Fn(usize) -> K + Sync,
) -> (Vec<K>, Vec<Group>) {
    let mut keyed: Vec<(K, u32)> = (0..n).into_par_iter().map(|i| (key(i), i as u32)).collect();
    keyed.par_sort_unstable();
    keyed
        .par_chunk_by(|a, b| a.0 == b.0)
        .map(|run| (run[0].0, run.iter().map(|(_, i)| *i).collect::<Group>()))
        .unzip()
}

fn group_visits(batch: &Batch, ids: &Ids) -> (Vec<Visit>, Vec<u32>) {
    let lines = &batch.lines;
    let (_, mut groups) = groups_by_int(lines.len(), |i| ids.line_day(batch, i));
    // visits in the order of their first line, so that later passes read the lines in order
    groups.par_sort_unstable_by_key(|g| g[0]);
    let visits: Vec<Visit> = groups
        .into_par_iter()
        .map(|g| Visit {
            date: lines[g[0] as usize].date,
            lines: g,
            documented: SmallVec::new(),
        })
        .collect();
    let mut visit_of = vec![0u32; lines.len()];
    for (v, visit) in visits.iter().enumerate() {
        for &l in &visit.lines {
            visit_of[l as usize] = v as u32;
        }
    }
    (visits, visit_of)
}

/// Session rows grouped by patient, date and procedure, in that key's order.
pub struct DocumentedSet {
    /// (patient and date, procedure number) of each entry, ascending.
    keys: Vec<(u64, u32)>,
    pub entries: Vec<Documented>,
}

fn document_sessions(batch: &Batch, ids: &Ids) -> DocumentedSet {
    let (keys, groups) = groups_by_int(batch.sessions.len(), |i| {
        (ids.session_day(batch, i), ids.session_cpt[i])
    });
    let entries = groups
        .into_par_iter()
        .map(|rows| {
            let mut d = Documented::default();
            for &r in &rows {
                let s = &batch.sessions[r as usize];
                d.minutes += s.minutes;
                if let Some(m) = s.modality {
                    d.modality_bits |= 1 << m as u8;
                }
                d.pressure = d.pressure.max(s.pressure);
            }
            d.rows = rows.into_iter().collect();
            d
        })
        .collect();
    DocumentedSet { keys, entries }
}

/// Join sorted `(key, id)` probes with sorted entries: `f` gets each probe's id and the range of
/// entries that compare equal to it. Chunks of probes are merged in parallel, each after one
/// binary search, so both arrays are read in order.
fn merge_join<P: Sync, E: Sync, R: Send>(
    probes: &[(P, u32)],
    entries: &[E],
    cmp: impl Fn(&P, &E) -> std::cmp::Ordering + Sync,
    f: impl Fn(u32, std::ops::Range<usize>) -> R + Sync,
) -> Vec<(u32, R)> {
    use std::cmp::Ordering::{Equal, Greater};
    probes
        .par_chunks(1 << 14)
        .flat_map_iter(|chunk| {
            let mut at = entries.partition_point(|e| cmp(&chunk[0].0, e) == Greater);
            let mut out = Vec::with_capacity(chunk.len());
            for (p, id) in chunk {
                while at < entries.len() && cmp(p, &entries[at]) == Greater {
                    at += 1;
                }
                let end = at
                    + entries[at..]
                        .iter()
                        .take_while(|e| cmp(p, e) == Equal)
                        .count();
                out.push((*id, f(*id, at..end)));
            }
            out
        })
        .collect()
}

/// Per line: the session rows of its patient, date and procedure.
fn documented_of(batch: &Batch, ids: &Ids, set: &DocumentedSet) -> Vec<Option<u32>> {
    let mut probes: Vec<((u64, u32), u32)> = (0..batch.lines.len())
        .into_par_iter()
        .map(|i| ((ids.line_day(batch, i), ids.line_cpt[i]), i as u32))
        .collect();
    probes.par_sort_unstable();
    let found = merge_join(
        &probes,
        &set.keys,
        |p, e| p.cmp(e),
        |_, r| (!r.is_empty()).then_some(r.start as u32),
    );
    let mut out = vec![None; batch.lines.len()];
    for (line, d) in found {
        out[line as usize] = d;
    }
    out
}

/// Per visit: the procedures documented that day, by code (the entries are sorted by patient and
/// date, then procedure number, which follows code order: a visit's entries are one range).
fn documented_by_visit(
    batch: &Batch,
    ids: &Ids,
    set: &DocumentedSet,
    mut visits: Vec<Visit>,
) -> Vec<Visit> {
    let mut probes: Vec<(u64, u32)> = visits
        .par_iter()
        .enumerate()
        .map(|(v, visit)| (ids.line_day(batch, visit.lines[0] as usize), v as u32))
        .collect();
    probes.par_sort_unstable();
    let found = merge_join(&probes, &set.keys, |p, e| p.cmp(&e.0), |_, r| r);
    for (v, r) in found {
        visits[v as usize].documented = (r.start as u32..r.end as u32).collect();
    }
    visits
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
        (Rule::RxBeforeStart | Rule::RxExpired, given, Some(d)) => {
            let (when, day) = if rule == Rule::RxBeforeStart {
                ("before", "starts")
            } else {
                ("after", "ended")
            };
            let date_of_rx = iso(if rule == Rule::RxBeforeStart {
                d.start
            } else {
                d.end
            });
            // found by date: say that nothing else covers the service date either
            let tail = if given.is_some() {
                ""
            } else {
                ", and no prescription of the patient covers that date"
            };
            format!(
                "service on {date} is {when} {} {day} on {date_of_rx}{tail}",
                d.rx_id
            )
        }
        _ => rule.info().meaning.to_string(),
    }
}

fn link_rx(batch: &Batch, ids: &Ids) -> Vec<RxLink> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_stay_exact_when_hashes_collide() {
        let keys = ["b", "a", "b", "c", "a", "b"];
        let key = |i: u32| keys[i as usize];
        // every key shares one hash: the groups must still be by key, items ascending
        let (_, groups) = group_by_hash(keys.len(), &key, |_| 7);
        let groups: Vec<Vec<u32>> = groups.into_iter().map(|g| g.to_vec()).collect();
        assert_eq!(groups, vec![vec![1, 4], vec![0, 2, 5], vec![3]]);
        let (_, groups) = group_by(keys.len(), key);
        let mut groups: Vec<Vec<u32>> = groups.into_iter().map(|g| g.to_vec()).collect();
        groups.sort();
        assert_eq!(groups, vec![vec![0, 2, 5], vec![1, 4], vec![3]]);
        // runs of equal neighbours are grouped as runs, and still by key
        let keys = ["a", "a", "b", "a", "c", "c", "b", "b"];
        let (_, groups) = group_by(keys.len(), |i: u32| keys[i as usize]);
        let mut groups: Vec<Vec<u32>> = groups.into_iter().map(|g| g.to_vec()).collect();
        groups.sort();
        assert_eq!(groups, vec![vec![0, 1, 3], vec![2, 6, 7], vec![4, 5]]);
    }
}
