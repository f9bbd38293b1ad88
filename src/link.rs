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
    let ((visits, visit_of), (documented, rx)) = rayon::join(
        || group_visits(batch),
        || rayon::join(|| document_sessions(batch), || link_rx(batch)),
    );
    crate::timing("link: visits, sessions, prescriptions");
    let (documented_of, visits) = rayon::join(
        || documented_of(batch, &documented),
        || documented_by_visit(batch, &documented, visits),
    );
    Links {
        visits,
        visit_of,
        documented,
        documented_of,
        rx,
    }
}

fn hash_of<K: Hash>(key: K) -> u64 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

pub type Group = SmallVec<[u32; 4]>;

/// Items `0..n` grouped by `key`, each group in ascending order. Sorting 64-bit hashes of the keys
/// is fast and parallel; runs of equal hashes are then checked key by key, so that two keys that
/// happen to share a hash still form two groups. Groups come out in hash order.
fn group_by<K: Hash + Ord + Send>(
    n: usize,
    key: impl Fn(u32) -> K + Sync,
) -> (Vec<u64>, Vec<Group>) {
    group_by_hash(n, &key, |k| hash_of(k))
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
                let split: Vec<(u64, Group)> = items
                    .chunk_by(|&a, &b| key(a) == key(b))
                    .map(|g| (h, g.iter().copied().collect()))
                    .collect();
                return split;
            }
            vec![(h, items)]
        })
        .collect();
    groups.into_iter().unzip()
}

/// Items grouped by key, the groups in order of their first item (the order the rows were read,
/// which keeps later passes over the groups close to sequential in memory).
pub fn groups_in_order<K: Hash + Ord + Send>(
    n: usize,
    key: impl Fn(u32) -> K + Sync,
) -> Vec<Group> {
    let (_, mut groups) = group_by(n, key);
    groups.par_sort_unstable_by_key(|g| g[0]);
    groups
}

fn group_visits(batch: &Batch) -> (Vec<Visit>, Vec<u32>) {
    let lines = &batch.lines;
    let groups = groups_in_order(lines.len(), |i| {
        (
            batch.c(lines[i as usize].patient_id),
            lines[i as usize].date,
        )
    });
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

fn session_key(batch: &Batch, i: u32) -> (&str, Day, &str) {
    let s = &batch.sessions[i as usize];
    (batch.s(s.patient_id), s.date, s.cpt.as_str())
}

/// Session rows grouped by patient, date and procedure, with the hash of each group's key.
pub struct DocumentedSet {
    pub hashes: Vec<u64>,
    pub entries: Vec<Documented>,
}

fn document_sessions(batch: &Batch) -> DocumentedSet {
    let (hashes, groups) = group_by(batch.sessions.len(), |i| session_key(batch, i));
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
    DocumentedSet { hashes, entries }
}

/// Join sorted `(hash, id)` probes with sorted `(hash, id)` entries: `f` gets each probe and the
/// entries of equal hash. Chunks of probes are merged in parallel, each after one binary search,
/// so the passes over both arrays stay sequential in memory.
fn merge_join<R: Send>(
    probes: &[(u64, u32)],
    entries: &[(u64, u32)],
    f: impl Fn(u32, &[(u64, u32)]) -> R + Sync,
) -> Vec<(u32, R)> {
    probes
        .par_chunks(1 << 14)
        .flat_map_iter(|chunk| {
            let mut at = entries.partition_point(|e| e.0 < chunk[0].0);
            let mut out = Vec::with_capacity(chunk.len());
            for &(h, id) in chunk {
                while at < entries.len() && entries[at].0 < h {
                    at += 1;
                }
                let end = at + entries[at..].iter().take_while(|e| e.0 == h).count();
                out.push((id, f(id, &entries[at..end])));
            }
            out
        })
        .collect()
}

/// Per line: the session rows of its patient, date and procedure.
fn documented_of(batch: &Batch, set: &DocumentedSet) -> Vec<Option<u32>> {
    let key = |i: u32| {
        let l = &batch.lines[i as usize];
        (batch.c(l.patient_id), l.date, l.cpt.as_str())
    };
    let mut probes: Vec<(u64, u32)> = (0..batch.lines.len() as u32)
        .into_par_iter()
        .map(|i| (hash_of(key(i)), i))
        .collect();
    probes.par_sort_unstable();
    let entries: Vec<(u64, u32)> = set
        .hashes
        .iter()
        .enumerate()
        .map(|(d, h)| (*h, d as u32))
        .collect();
    let found = merge_join(&probes, &entries, |line, same_hash| {
        same_hash
            .iter()
            .find(|(_, d)| session_key(batch, set.entries[*d as usize].rows[0]) == key(line))
            .map(|(_, d)| *d)
    });
    let mut out = vec![None; batch.lines.len()];
    for (line, d) in found {
        out[line as usize] = d;
    }
    out
}

/// Per visit: the procedures documented that day, by code.
fn documented_by_visit(batch: &Batch, set: &DocumentedSet, mut visits: Vec<Visit>) -> Vec<Visit> {
    let day_key = |d: &Documented| {
        let s = &batch.sessions[d.rows[0] as usize];
        (batch.s(s.patient_id), s.date)
    };
    let visit_key = |v: &Visit| (batch.c(batch.lines[v.lines[0] as usize].patient_id), v.date);
    type Keyed = Vec<(u64, u32)>;
    let (mut by_day, mut probes): (Keyed, Keyed) = rayon::join(
        || {
            set.entries
                .par_iter()
                .enumerate()
                .map(|(i, d)| (hash_of(day_key(d)), i as u32))
                .collect()
        },
        || {
            visits
                .par_iter()
                .enumerate()
                .map(|(i, v)| (hash_of(visit_key(v)), i as u32))
                .collect()
        },
    );
    rayon::join(|| by_day.par_sort_unstable(), || probes.par_sort_unstable());
    let found = merge_join(&probes, &by_day, |v, same_hash| {
        let key = visit_key(&visits[v as usize]);
        let mut d: SmallVec<[u32; 4]> = same_hash
            .iter()
            .filter(|x| day_key(&set.entries[x.1 as usize]) == key)
            .map(|x| x.1)
            .collect();
        d.sort_unstable_by(|a, b| {
            set.entries[*a as usize]
                .cpt(batch)
                .cmp(set.entries[*b as usize].cpt(batch))
        });
        d
    });
    for (v, d) in found {
        visits[v as usize].documented = d;
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
    }
}
