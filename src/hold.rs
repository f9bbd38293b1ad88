//! Holding (SPEC §6): which lines go to `held` and why, by claim (default) or by line.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::model::Batch;
use crate::rules::Finding;

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

/// Per line: `None` = clean, `Some(hold_rules)` = held.
pub fn decide(
    batch: &Batch,
    findings: &[Finding],
    mode: HoldMode,
    claims_file: &str,
) -> Vec<Option<String>> {
    let lines = &batch.lines;
    let mut line_rules: Vec<BTreeSet<&'static str>> = vec![BTreeSet::new(); lines.len()];
    for f in findings.iter().filter(|f| f.rule.is_reject()) {
        line_rules[f.line as usize].insert(f.rule.id());
    }
    let malformed: HashSet<&str> = batch
        .malformed
        .iter()
        .filter(|m| m.file == claims_file)
        .filter_map(|m| m.claim_id.as_deref())
        .collect();
    let mut claim_rules: HashMap<&str, BTreeSet<&'static str>> = HashMap::new();
    if mode == HoldMode::Claim {
        for (l, rules) in lines.iter().zip(&line_rules) {
            claim_rules
                .entry(l.claim_id.as_str())
                .or_default()
                .extend(rules.iter().copied());
        }
    }
    lines
        .iter()
        .zip(&line_rules)
        .map(|(l, own)| {
            let rules = match mode {
                HoldMode::Claim => &claim_rules[l.claim_id.as_str()],
                HoldMode::Line => own,
            };
            let is_malformed = malformed.contains(l.claim_id.as_str());
            if rules.is_empty() && !is_malformed {
                return None;
            }
            let mut ids: Vec<&str> = rules.iter().copied().collect();
            if is_malformed {
                ids.push(MALFORMED_LINE);
            }
            Some(ids.join(";"))
        })
        .collect()
}
