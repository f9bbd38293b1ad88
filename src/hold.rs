//! Holding (SPEC §6): which lines go to `held` and why, by claim (default) or by line.

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::ledger::Ledger;
use crate::rules::catalogue::{Rule, CATALOGUE};

pub const MALFORMED_LINE: &str = "MALFORMED_LINE";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HoldMode {
    Claim,
    Line,
}

impl HoldMode {
    pub fn name(self) -> &'static str {
        match self {
            HoldMode::Claim => "claim",
            HoldMode::Line => "line",
        }
    }
}

pub struct Holding {
    /// Per line: `None` = clean, `Some(hold_rules)` = held.
    pub decisions: Vec<Option<String>>,
    /// Per line: its claim, numbered in order of first appearance.
    pub claim_of: Vec<u32>,
    pub claims: usize,
    /// Claims all of whose rows were malformed: they are in no table but `malformed`.
    pub malformed_only_claims: usize,
}

pub fn decide(ledger: &Ledger, mode: HoldMode, claims_file: &str) -> Holding {
    let (lines, batch) = (&ledger.lines, ledger);
    // reject rules of each line as a bit set (24 rules fit in a u32)
    let mut line_rules = vec![0u32; lines.len()];
    for f in ledger.findings.iter().filter(|f| f.rule.is_reject()) {
        line_rules[f.line as usize] |= 1 << f.rule as u32;
    }
    // claims as the ledger numbered them (their order does not matter: only their rules and counts do)
    let claims = ledger.claims;
    let claim_of: Vec<u32> = lines.par_iter().map(|l| l.claim).collect();
    // the claims that malformed rows belong to (few)
    let wanted: FxHashSet<&str> = batch
        .malformed
        .iter()
        .filter(|m| m.file == claims_file)
        .filter_map(|m| m.claim_id.as_deref())
        .collect();
    let index: FxHashMap<&str, u32> = if wanted.is_empty() {
        FxHashMap::default()
    } else {
        lines
            .par_iter()
            .map(|l| (batch.c(l.claim_id), l.claim))
            .filter(|(id, _)| wanted.contains(id))
            .collect()
    };
    let mut claim_rules = vec![0u32; claims];
    for (c, r) in claim_of.iter().zip(&line_rules) {
        claim_rules[*c as usize] |= r;
    }
    let mut malformed = vec![false; claims];
    let mut malformed_only: FxHashSet<&str> = FxHashSet::default();
    for m in batch.malformed.iter().filter(|m| m.file == claims_file) {
        if let Some(id) = m.claim_id.as_deref() {
            match index.get(id) {
                Some(&c) => malformed[c as usize] = true,
                None => {
                    malformed_only.insert(id);
                }
            }
        }
    }
    // rule ids in alphabetical order, as `hold_rules` lists them
    let mut by_id: Vec<Rule> = CATALOGUE.iter().map(|r| r.rule).collect();
    by_id.sort_by_key(|r| r.id());
    let decisions = (0..lines.len())
        .into_par_iter()
        .map(|i| {
            let c = claim_of[i] as usize;
            let mask = match mode {
                HoldMode::Claim => claim_rules[c],
                HoldMode::Line => line_rules[i],
            };
            if mask == 0 && !malformed[c] {
                return None;
            }
            let mut ids: Vec<&str> = by_id
                .iter()
                .filter(|r| mask & (1 << **r as u32) != 0)
                .map(|r| r.id())
                .collect();
            if malformed[c] {
                ids.push(MALFORMED_LINE);
            }
            Some(ids.join(";"))
        })
        .collect();
    Holding {
        decisions,
        claim_of,
        claims,
        malformed_only_claims: malformed_only.len(),
    }
}
