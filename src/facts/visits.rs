//! Visits: all claim lines of one patient and service date, whatever their claim (SPEC §3).

use rayon::prelude::*;
use smallvec::SmallVec;

use super::Ids;
use crate::base::group::groups_by_int;
use crate::base::values::Day;
use crate::model::Batch;

/// All claim lines with the same patient and service date.
#[derive(Debug)]
pub struct Visit {
    pub date: Day,
    /// Claim lines, in read order.
    pub lines: SmallVec<[u32; 4]>,
    /// Procedures documented in sessions that day, by code (indices into `DocumentedSet::entries`).
    pub documented: SmallVec<[u32; 4]>,
}

pub(super) fn group_visits(batch: &Batch, ids: &Ids) -> (Vec<Visit>, Vec<u32>) {
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
