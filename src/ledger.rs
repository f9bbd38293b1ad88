//! What the outputs need of every claim line, gathered part by part: the line's place in the
//! claims file, its claim, payer, date and charge (40 bytes a line), the findings with the values
//! `rejections` shows, and the malformed rows. Holding, the writers and the summary read only
//! this, so a batch scrubbed in parts gives the same outputs as one scrubbed whole.

use std::sync::Arc;

use rayon::prelude::*;

use crate::input::text::{FileBytes, Text, Texts};
use crate::input::values::Day;
use crate::model::{Batch, Code, Malformed};
use crate::rules::catalogue::Rule;
use crate::rules::Finding;

/// One well-formed claim line, as the outputs see it.
pub struct Entry {
    start: u64,
    pub claim_id: Text,
    /// Millionths of a currency unit.
    pub charge: i64,
    len: u32,
    pub date: Day,
    /// The order the line was added in (parts come one after another), until `finish`.
    added: u32,
    /// Index of the payer profile in the policy.
    pub payer: u8,
}

impl Entry {
    /// The record in the claims file: byte range (CSV) or (row, 0) (Parquet).
    pub fn span(&self) -> (usize, usize) {
        (self.start as usize, (self.start + self.len as u64) as usize)
    }
}

/// A finding with the values of its line that `rejections` shows and `Entry` does not keep.
pub struct Found {
    /// Index of the line in `Ledger::lines`.
    pub line: u32,
    pub rule: Rule,
    pub message: String,
    pub line_no: u32,
    pub patient_id: Text,
    pub cpt: Code,
    pub charge_text: Text,
}

pub struct Ledger {
    /// In claims-file order once `finish` has run.
    pub lines: Vec<Entry>,
    pub text: Texts,
    /// By line, then rule id.
    pub findings: Vec<Found>,
    /// By input (claims, sessions, prescriptions), then line.
    pub malformed: Vec<Malformed>,
    pub rows_read: [usize; 3],
    parts: usize,
}

impl Ledger {
    /// An empty ledger whose texts point into the claims file's bytes.
    pub fn new(claims_bytes: Arc<FileBytes>) -> Ledger {
        Ledger {
            lines: Vec::new(),
            text: Texts {
                raw: claims_bytes,
                arena: Vec::new(),
            },
            findings: Vec::new(),
            malformed: Vec::new(),
            rows_read: [0; 3],
            parts: 0,
        }
    }

    /// Take in one scrubbed part of the batch (its findings in `run_all` order).
    pub fn add(&mut self, batch: Batch, findings: Vec<Finding>) {
        let base = self.lines.len();
        assert!(
            base + batch.lines.len() < u32::MAX as usize,
            "a batch of more than 4 billion claim lines"
        );
        // the part's unescaped values join the ledger's arena, and their texts move with them
        let arena_base = self.text.arena.len();
        self.text.arena.extend_from_slice(&batch.claims_text.arena);
        let moved = |mut t: Text| {
            t.rebase(arena_base);
            t
        };
        self.lines
            .par_extend(batch.lines.par_iter().enumerate().map(|(i, l)| Entry {
                start: l.span.0 as u64,
                len: (l.span.1 - l.span.0) as u32,
                claim_id: moved(l.claim_id),
                charge: l.charge,
                date: l.date,
                added: (base + i) as u32,
                payer: l.payer,
            }));
        self.findings.extend(findings.into_iter().map(|f| {
            let l = &batch.lines[f.line as usize];
            Found {
                line: (base + f.line as usize) as u32,
                rule: f.rule,
                message: f.message,
                line_no: l.line_no,
                patient_id: moved(l.patient_id),
                cpt: l.cpt.clone(),
                charge_text: moved(l.charge_text),
            }
        }));
        for (r, n) in self.rows_read.iter_mut().zip(batch.rows_read) {
            *r += n;
        }
        self.malformed.extend(batch.malformed);
        self.parts += 1;
    }

    /// Put lines, findings and malformed rows of several parts back in file order.
    /// `files` names the inputs in the order `malformed` lists them.
    pub fn finish(&mut self, files: [&str; 3]) {
        if self.parts <= 1 {
            return;
        }
        self.lines.par_sort_unstable_by_key(|e| e.start);
        let mut rank = vec![0u32; self.lines.len()];
        for (i, e) in self.lines.iter().enumerate() {
            rank[e.added as usize] = i as u32;
        }
        self.findings
            .par_iter_mut()
            .for_each(|f| f.line = rank[f.line as usize]);
        self.findings.par_sort_by(|a, b| {
            a.line
                .cmp(&b.line)
                .then_with(|| a.rule.id().cmp(b.rule.id()))
        });
        let input = |m: &Malformed| files.iter().position(|f| *f == m.file).unwrap_or(3);
        self.malformed.sort_by_key(|m| (input(m), m.line));
    }

    /// A text of a claim line.
    pub fn c(&self, t: Text) -> &str {
        self.text.get(t)
    }
}
