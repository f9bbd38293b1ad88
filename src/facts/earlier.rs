//! What earlier runs recorded (SPEC §10), as facts for this part's patients: the lines they sent
//! clean, read from the nightly state (`--state`) before linking. Empty without a state: then only
//! the batch counts.

use rustc_hash::FxHashMap;

use crate::base::values::Day;
use crate::model::Code;

/// A claim line an earlier run recorded as `clean`.
#[derive(Clone, Debug)]
pub struct EarlierLine {
    pub patient_id: Code,
    pub claim_id: Code,
    pub line_no: u32,
    pub date: Day,
    pub cpt: Code,
    /// As in `ClaimLine::modifiers`: upper-cased, sorted, without repeats, joined with `;`.
    pub modifiers: Code,
    pub units: i64,
    /// Millionths of a currency unit.
    pub charge: i64,
    /// Index of its payer_type's profile in this run's policy; `None` when the policy has none.
    pub payer: Option<u8>,
    /// The prescription the line was linked to; empty when none.
    pub rx_id: Code,
    /// The day the recording run started.
    pub run_date: Day,
}

/// The earlier clean lines of a part's patients, minus the records this batch replaces (a line of
/// the same patient with the same claim_id and line_no).
#[derive(Default)]
pub struct Earlier {
    /// Whether a state was given: without one, findings that need earlier runs are judged
    /// against this batch only.
    pub with_state: bool,
    /// Sorted by patient, date, claim_id, line_no.
    lines: Vec<EarlierLine>,
    /// Per patient: its range of `lines`.
    by_patient: FxHashMap<Code, (u32, u32)>,
}

impl Earlier {
    /// No state: nothing earlier.
    pub fn none() -> Earlier {
        Earlier::default()
    }

    pub fn new(mut lines: Vec<EarlierLine>) -> Earlier {
        use rayon::prelude::*;
        lines.par_sort_unstable_by(|a, b| {
            (&a.patient_id, a.date, &a.claim_id, a.line_no).cmp(&(
                &b.patient_id,
                b.date,
                &b.claim_id,
                b.line_no,
            ))
        });
        let mut by_patient = FxHashMap::default();
        let mut start = 0usize;
        for run in lines.chunk_by(|a, b| a.patient_id == b.patient_id) {
            by_patient.insert(
                run[0].patient_id.clone(),
                (start as u32, (start + run.len()) as u32),
            );
            start += run.len();
        }
        Earlier {
            with_state: true,
            lines,
            by_patient,
        }
    }

    /// A patient's earlier clean lines, by date, claim_id, line_no.
    pub fn of(&self, patient: &str) -> &[EarlierLine] {
        match self.by_patient.get(patient) {
            Some(&(a, b)) => &self.lines[a as usize..b as usize],
            None => &[],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }
}
