//! What the outputs need of every claim line, gathered part by part: the line's place in the
//! claims file, its claim, payer, date and charge (40 bytes a line), the findings with the values
//! `rejections` shows, and the malformed rows. Holding, the writers and the summary read only
//! this, so a batch scrubbed in parts gives the same outputs as one scrubbed whole.

use std::sync::Arc;

use rayon::prelude::*;

use crate::base::group::TextKey;
use crate::base::text::{FileBytes, Text, TextBuilder, Texts};

/// The store of the ledger's texts: slices of the claims file, and the values of its own arena.
pub struct Kept;

pub type KeptText = Text<Kept>;
use crate::base::values::Day;
use crate::model::{Batch, ClaimText, Code, Malformed};
use crate::rules::Finding;
use crate::rules::Rule;

/// One well-formed claim line, as the outputs see it.
pub struct Entry {
    start: u64,
    pub claim_id: KeptText,
    /// Millionths of a currency unit.
    pub charge: i64,
    len: u32,
    pub date: Day,
    /// The order the line was added in (parts come one after another), until `finish`.
    added: u32,
    /// The line's claim: claims are numbered in each part, and across parts by `finish`.
    pub claim: u32,
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
    pub patient_id: KeptText,
    pub cpt: Code,
    pub charge_text: KeptText,
}

pub struct Ledger {
    /// In claims-file order once `finish` has run.
    pub lines: Vec<Entry>,
    pub text: Texts<Kept>,
    /// By line, then rule id.
    pub findings: Vec<Found>,
    /// By input (claims, sessions, prescriptions), each by line.
    pub malformed: [Vec<Malformed>; 3],
    pub rows_read: [usize; 3],
    /// Claims (distinct claim_id values of well-formed lines) once `finish` has run.
    pub claims: usize,
    /// Per claim of a part: the hash of its claim_id and the id, to join claims across parts.
    claim_keys: Vec<(u64, KeptText)>,
    parts: usize,
}

impl Ledger {
    /// An empty ledger whose texts point into the claims file's bytes.
    pub fn new(claims_bytes: Arc<FileBytes>) -> Ledger {
        Ledger {
            lines: Vec::new(),
            text: Texts::new(claims_bytes, Vec::new()),
            findings: Vec::new(),
            malformed: Default::default(),
            rows_read: [0; 3],
            claims: 0,
            claim_keys: Vec::new(),
            parts: 0,
        }
    }

    /// Room for `lines` claim lines (the claims file's records: malformed ones take none).
    pub fn reserve(&mut self, lines: usize) {
        self.lines
            .reserve_exact(lines.saturating_sub(self.lines.len()));
    }

    /// Take in one scrubbed part of the batch (its findings in `run_all` order).
    pub fn add(&mut self, batch: Batch, findings: Vec<Finding>) {
        let base = self.lines.len();
        assert!(
            base + batch.lines.len() < u32::MAX as usize,
            "a batch of more than 4 billion claim lines"
        );
        // the part's claims, numbered after those of earlier parts
        let lines = &batch.lines;
        // hashes, packed ids and runs of lines of one claim were found as the records were read:
        // the claim ids, scattered over the file, are read here only where two runs share a hash
        // and an id was too long to pack (a claim's lines need not lie together)
        let (hashes, groups) = crate::base::group::group_by_hashed_runs(
            lines.len(),
            |i| !lines[i as usize].claim_continues,
            |i| lines[i as usize].claim_hash,
            |i| {
                let l = &lines[i as usize];
                TextKey::packed_or(l.claim_key, || batch.claim_text(l.claim_id))
            },
        );
        let claim_base = self.claim_keys.len();
        let mut claim_of = vec![0u32; lines.len()];
        for (c, g) in groups.iter().enumerate() {
            for &i in g {
                claim_of[i as usize] = (claim_base + c) as u32;
            }
        }
        self.lines
            .par_extend(batch.lines.par_iter().enumerate().map(|(i, l)| Entry {
                claim: claim_of[i],
                start: l.span.0 as u64,
                len: (l.span.1 - l.span.0) as u32,
                // arena texts are copied into the ledger's arena below
                claim_id: if l.claim_id.in_arena() {
                    KeptText::EMPTY
                } else {
                    l.claim_id.file_slice_for()
                },
                charge: l.charge,
                date: l.date,
                added: (base + i) as u32,
                payer: l.payer,
            }));
        // texts of the part's arena (unescaped values, copied keys) that the ledger keeps are
        // copied into its own arena; texts of the claims file stay as they are
        let mut arena = TextBuilder::with_arena(&[], std::mem::take(&mut self.text.arena));
        let mut adopt = |t: ClaimText| -> KeptText {
            if t.in_arena() && !t.is_empty() {
                arena.copy(batch.claim_text(t))
            } else {
                t.file_slice_for()
            }
        };
        for (e, l) in self.lines[base..].iter_mut().zip(&batch.lines) {
            if l.claim_id.in_arena() {
                e.claim_id = adopt(l.claim_id);
            }
        }
        self.claim_keys.extend(
            hashes
                .into_iter()
                .zip(&groups)
                .map(|(h, g)| (h, self.lines[base + g[0] as usize].claim_id)),
        );
        drop(groups);
        self.findings.extend(findings.into_iter().map(|f| {
            let l = &batch.lines[f.line as usize];
            Found {
                line: (base + f.line as usize) as u32,
                rule: f.rule,
                message: f.message,
                line_no: l.line_no,
                patient_id: adopt(l.patient_id),
                cpt: l.cpt.clone(),
                charge_text: adopt(l.charge_text),
            }
        }));
        self.text.arena = arena.arena;
        for (r, n) in self.rows_read.iter_mut().zip(batch.rows_read) {
            *r += n;
        }
        for (all, part) in self.malformed.iter_mut().zip(batch.malformed) {
            all.extend(part);
        }
        self.parts += 1;
    }

    /// Put lines, findings and malformed rows of several parts back in file order.
    pub fn finish(&mut self) {
        self.claims = self.claim_keys.len();
        if self.parts <= 1 {
            self.claim_keys = Vec::new();
            return;
        }
        self.join_claims();
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
        for m in &mut self.malformed {
            m.sort_by_key(|m| m.line);
        }
    }

    /// One number per claim_id across parts: the claims of several parts (a claim whose lines name
    /// different patients) share a hash, and are joined when their ids are equal.
    fn join_claims(&mut self) {
        let keys = std::mem::take(&mut self.claim_keys);
        let mut order: Vec<(u64, u32)> = keys
            .iter()
            .enumerate()
            .map(|(c, (h, _))| (*h, c as u32))
            .collect();
        crate::base::sort::sort_by_rank(&mut order, |e| e.0);
        // each claim's first claim with the same id (itself when none comes before)
        let mut same: Vec<u32> = (0..keys.len() as u32).collect();
        for run in order.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
            for (k, &(_, c)) in run.iter().enumerate() {
                let id = self.text.get(keys[c as usize].1);
                if let Some(&(_, first)) = run[..k]
                    .iter()
                    .find(|(_, e)| self.text.get(keys[*e as usize].1) == id)
                {
                    same[c as usize] = same[first as usize];
                }
            }
        }
        drop(order);
        let mut number = vec![0u32; keys.len()];
        let mut next = 0u32;
        for c in 0..keys.len() {
            if same[c] as usize == c {
                number[c] = next;
                next += 1;
            } else {
                number[c] = number[same[c] as usize];
            }
        }
        self.claims = next as usize;
        self.lines
            .par_iter_mut()
            .for_each(|e| e.claim = number[e.claim as usize]);
    }

    /// A text of a claim line.
    pub fn text(&self, t: KeptText) -> &str {
        self.text.get(t)
    }
}
