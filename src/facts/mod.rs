//! Linking (SPEC §3): the facts the rules judge. Visits, documented minutes, each line's
//! prescription and how it was chosen, the visits counted against each prescription, and the
//! code-set lookups of a line's diagnoses. Facts only: every finding is made by a rule
//! (`src/rules/`), and nothing here imports the rules.

pub mod documented;
pub mod dx;
pub mod earlier;
pub mod rx;
pub mod therapy;
pub mod units;
pub mod visits;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::base::group::group_by_text;
use crate::base::values::Day;
use crate::model::{Batch, ClaimLine, Document};
use crate::reference::icd10::CodeSets;
use crate::reference::policy::{Policy, Profile};
pub use documented::{Documented, DocumentedSet};
use dx::LineDx;
pub use earlier::{Earlier, EarlierLine};
pub use rx::{Counted, DocIndex, RxLink, RxStatus};
pub use visits::Visit;

pub struct Facts {
    pub visits: Vec<Visit>,
    /// Per line: its visit.
    pub visit_of: Vec<u32>,
    pub documented: DocumentedSet,
    /// Per line: the session rows of its patient, date and procedure.
    pub documented_of: Vec<Option<u32>>,
    /// Per line: its prescription and how it was chosen.
    pub rx: Vec<RxLink>,
    /// Per line: its visit's place among the visits linked to its prescription.
    pub counted: Vec<Counted>,
    /// What earlier runs recorded of this part's patients (`--state`); empty without a state.
    pub earlier: Earlier,
    /// Every therapy-counted line's running total of its patient, year and bucket (the KX rules).
    pub running: Vec<therapy::Running>,
    /// The documents by patient, for messages: built when a rule first asks.
    doc_index: std::sync::OnceLock<DocIndex>,
}

/// The facts of one claim line, gathered once for all the line rules.
pub struct LineFacts<'a> {
    /// Index of the line in `Batch::lines`.
    pub index: u32,
    pub line: &'a ClaimLine,
    pub profile: &'a Profile,
    pub dx: LineDx<'a>,
    pub rx: RxLink,
    /// The prescription whose content rules apply, when the line has one.
    pub doc: Option<&'a Document>,
    /// The session rows of the line's patient, date and procedure.
    pub documented: Option<&'a Documented>,
    pub counted: Counted,
}

impl Facts {
    pub fn line<'a>(
        &'a self,
        batch: &'a Batch,
        code_sets: &'a CodeSets,
        policy: &'a Policy,
        i: usize,
    ) -> LineFacts<'a> {
        let line = &batch.lines[i];
        let rx = self.rx[i];
        LineFacts {
            index: i as u32,
            line,
            profile: &policy.profiles[line.payer as usize],
            dx: LineDx::new(code_sets, batch.claim_text(line.diagnosis_codes), line.date),
            rx,
            doc: rx.doc.map(|d| &batch.documents[d as usize]),
            documented: self.documented(i),
            counted: self.counted[i],
        }
    }

    pub fn doc_index(&self, batch: &Batch) -> &DocIndex {
        self.doc_index.get_or_init(|| DocIndex::new(batch))
    }

    /// The session rows documenting line `i`'s patient, date and procedure.
    pub fn documented(&self, i: usize) -> Option<&Documented> {
        self.documented_of[i].map(|d| &self.documented.entries[d as usize])
    }
}

pub fn link(batch: &Batch, earlier: Earlier, policy: &Policy) -> Facts {
    let ids = &Ids::new(batch);
    crate::timing("patients and codes numbered");
    let ((visits, visit_of), (documented, rx)) = rayon::join(
        || visits::group_visits(batch, ids),
        || {
            rayon::join(
                || documented::document_sessions(batch, ids),
                || rx::link_rx(batch, ids),
            )
        },
    );
    crate::timing("link: visits, sessions, prescriptions");
    let ((documented_of, visits), counted) = rayon::join(
        || {
            rayon::join(
                || documented::documented_of(batch, ids, &documented),
                || documented::documented_by_visit(batch, ids, &documented, visits),
            )
        },
        || {
            rayon::join(
                || rx::count_visits(batch, &rx, &visit_of, &earlier),
                || therapy::running_totals(batch, &ids.line_patient, &earlier, policy),
            )
        },
    );
    let (counted, running) = counted;
    Facts {
        visits,
        visit_of,
        documented,
        documented_of,
        rx,
        counted,
        earlier,
        running,
        doc_index: Default::default(),
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
                batch.claim_text(lines[i as usize].patient_id)
            } else if i < nl + ns {
                batch.session_text(sessions[(i - nl) as usize].patient_id)
            } else {
                docs[(i - nl - ns) as usize].patient_id.as_str()
            }
        };
        let ((_, groups), (line_cpt, session_cpt)) = rayon::join(
            || group_by_text(lines.len() + sessions.len() + docs.len(), patient),
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
