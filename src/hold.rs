//! Holding (SPEC §6): which lines go to `held` and why, by claim (default) or by line.

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::ledger::Ledger;
use crate::rules::Rule;

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

/// A held line's reasons: bit `r` for reject rule `r`, and `MALFORMED_BIT` when its claim has a
/// malformed row; 0 = clean.
pub type Decision = u32;

pub const MALFORMED_BIT: Decision = 1 << 31;

/// `hold_rules` of a held line: the reject rule ids sorted, then `MALFORMED_LINE`.
pub fn hold_rules(d: Decision) -> String {
    let mut ids: Vec<&str> = Rule::all()
        .filter(|r| d & (1 << *r as u32) != 0)
        .map(|r| r.id())
        .collect();
    ids.sort_unstable();
    if d & MALFORMED_BIT != 0 {
        ids.push(MALFORMED_LINE);
    }
    ids.join(";")
}

pub struct Holding {
    /// Per line: 0 = clean, else why it is held.
    pub decisions: Vec<Decision>,
    pub claims: usize,
    /// Claims all of whose rows were malformed: they are in no table but `malformed`.
    pub malformed_only_claims: usize,
}

pub fn decide(ledger: &Ledger, mode: HoldMode) -> Holding {
    let (lines, batch) = (&ledger.lines, ledger);
    // reject rules of each line as a bit set (24 rules fit in a u32)
    let mut line_rules = vec![0u32; lines.len()];
    for f in ledger.findings.iter().filter(|f| f.rule.is_reject()) {
        line_rules[f.line as usize] |= 1 << f.rule as u32;
    }
    // claims as the ledger numbered them (their order does not matter: only their rules and counts do)
    let claims = ledger.claims;
    // the claims that malformed rows belong to (few)
    let wanted: FxHashSet<&str> = batch.malformed[0]
        .iter()
        .filter_map(|m| m.claim_id.as_deref())
        .collect();
    let index: FxHashMap<&str, u32> = if wanted.is_empty() {
        FxHashMap::default()
    } else {
        lines
            .par_iter()
            .map(|l| (batch.text(l.claim_id), l.claim))
            .filter(|(id, _)| wanted.contains(id))
            .collect()
    };
    let mut claim_rules = vec![0u32; claims];
    for (l, r) in lines.iter().zip(&line_rules) {
        claim_rules[l.claim as usize] |= r;
    }
    let mut malformed = vec![false; claims];
    let mut malformed_only: FxHashSet<&str> = FxHashSet::default();
    for m in &batch.malformed[0] {
        if let Some(id) = m.claim_id.as_deref() {
            match index.get(id) {
                Some(&c) => malformed[c as usize] = true,
                None => {
                    malformed_only.insert(id);
                }
            }
        }
    }
    let decisions = (0..lines.len())
        .into_par_iter()
        .map(|i| {
            let c = lines[i].claim as usize;
            let mask = match mode {
                HoldMode::Claim => claim_rules[c],
                HoldMode::Line => line_rules[i],
            };
            mask | if malformed[c] { MALFORMED_BIT } else { 0 }
        })
        .collect();
    Holding {
        decisions,
        claims,
        malformed_only_claims: malformed_only.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_rules_lists_rule_ids_sorted_then_malformed_line() {
        assert!(
            Rule::all().all(|r| (r as u32) < 31),
            "rules fit below MALFORMED_BIT"
        );
        let d = (1 << Rule::RxMissing as u32) | (1 << Rule::DxMissing as u32) | MALFORMED_BIT;
        assert_eq!(hold_rules(d), "DX_MISSING;RX_MISSING;MALFORMED_LINE");
        assert_eq!(hold_rules(MALFORMED_BIT), "MALFORMED_LINE");
    }
}
