//! Documented minutes (SPEC §3): the session rows of one patient, date and procedure, taken together.

use rayon::prelude::*;
use smallvec::SmallVec;

use super::{Ids, Visit};
use crate::base::group::{groups_by_int, merge_join};
use crate::base::sort::{sort_by_rank, Lead};
use crate::model::{Batch, Code, Modality, Pressure};

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

    /// The session ids of the rows, each once, for messages.
    pub fn session_ids(&self, batch: &Batch) -> String {
        let mut ids: Vec<&str> = self
            .rows
            .iter()
            .map(|&r| batch.session_text(batch.sessions[r as usize].session_id))
            .collect();
        ids.dedup();
        ids.join(", ")
    }
}

/// Session rows grouped by patient, date and procedure, in that key's order.
pub struct DocumentedSet {
    /// (patient and date, procedure number) of each entry, ascending.
    keys: Vec<(u64, u32)>,
    pub entries: Vec<Documented>,
}

pub(super) fn document_sessions(batch: &Batch, ids: &Ids) -> DocumentedSet {
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

/// Per line: the session rows of its patient, date and procedure.
pub(super) fn documented_of(batch: &Batch, ids: &Ids, set: &DocumentedSet) -> Vec<Option<u32>> {
    let mut probes: Vec<((u64, u32), u32)> = (0..batch.lines.len())
        .into_par_iter()
        .map(|i| ((ids.line_day(batch, i), ids.line_cpt[i]), i as u32))
        .collect();
    sort_by_rank(&mut probes, Lead::lead);
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
pub(super) fn documented_by_visit(
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
    sort_by_rank(&mut probes, Lead::lead);
    let found = merge_join(&probes, &set.keys, |p, e| p.cmp(&e.0), |_, r| r);
    for (v, r) in found {
        visits[v as usize].documented = (r.start as u32..r.end as u32).collect();
    }
    visits
}
