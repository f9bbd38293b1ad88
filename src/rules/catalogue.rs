//! What a rule is: its catalogue entry and its check. The entries themselves live in the rule
//! files and are registered in `rules/mod.rs`; this file reads them for everyone else.

use std::fmt;

use super::{Context, Rule, RULES};
use crate::facts::units::VisitUnits;
use crate::facts::LineFacts;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Reject,
    Warn,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Reject => "reject",
            Severity::Warn => "warn",
        }
    }
}

/// How a rule looks at the batch.
pub enum Check {
    /// One line and its facts; `Some(message)` when the rule fires. All line checks share one pass.
    Line(fn(&Context, &LineFacts) -> Option<String>),
    /// The billed lines of one visit; pushes `(line, message)` for each line it fires on.
    Visit(fn(&Context, &VisitUnits, &mut Vec<(u32, String)>)),
    /// The whole batch, with groupings of its own; `(line, message)` for each line it fires on.
    Batch(fn(&Context) -> Vec<(u32, String)>),
}

/// A rule: its catalogue entry (SPEC §5) and its check.
pub struct RuleDef {
    pub id: &'static str,
    pub severity: Severity,
    /// The payer's likely answer; empty for warnings.
    pub carc: &'static str,
    pub rarc: &'static str,
    pub meaning: &'static str,
    pub check: Check,
    /// Optional input columns without which the rule cannot fire, as `input.column`: every
    /// group needs one of its columns. A run whose inputs lack a group lists the rule as not
    /// checked.
    pub needs: &'static [&'static [&'static str]],
}

impl Rule {
    pub fn info(self) -> &'static RuleDef {
        RULES[self as usize]
    }
    pub fn id(self) -> &'static str {
        self.info().id
    }
    pub fn severity(self) -> Severity {
        self.info().severity
    }
    pub fn is_reject(self) -> bool {
        self.severity() == Severity::Reject
    }
    pub fn all() -> impl Iterator<Item = Rule> {
        Rule::ALL.iter().copied()
    }
    /// The official wording of the rule's CARC and RARC ("" where it has none), looked up once.
    pub fn code_texts(self) -> (&'static str, &'static str) {
        static TEXTS: std::sync::OnceLock<Vec<(&'static str, &'static str)>> =
            std::sync::OnceLock::new();
        let texts = TEXTS.get_or_init(|| {
            let text = |kind, code: &str| {
                if code.is_empty() {
                    ""
                } else {
                    code_text(kind, code).unwrap_or("")
                }
            };
            RULES
                .iter()
                .map(|r| (text("CARC", r.carc), text("RARC", r.rarc)))
                .collect()
        });
        texts[self as usize]
    }

    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::all().find(|r| r.id() == id)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Official CARC/RARC wording (X12), for `claimscrub rules --codes` and the summary.
pub fn code_text(kind: &str, code: &str) -> Option<&'static str> {
    static TSV: &str = include_str!("../reference/data/carc_rarc.tsv");
    TSV.lines()
        .skip(1)
        .filter_map(|l| {
            let mut it = l.splitn(3, '\t');
            Some((it.next()?, it.next()?, it.next()?))
        })
        .find(|(k, c, _)| *k == kind && *c == code)
        .map(|(_, _, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_registered_once_under_its_file_name() {
        assert_eq!(RULES.len(), Rule::ALL.len());
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len(), "two rules share an id");
        for r in Rule::all() {
            let id = r.id();
            assert!(
                id.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{id}"
            );
            // the variant is the id in CamelCase: DX_NOT_ON_RX = DxNotOnRx
            let camel: String = id
                .split('_')
                .map(|w| w[..1].to_string() + &w[1..].to_ascii_lowercase())
                .collect();
            assert_eq!(
                format!("{r:?}"),
                camel,
                "{id} registered under another name"
            );
        }
    }

    #[test]
    fn rule_files_are_named_after_their_ids() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules");
        for r in Rule::all() {
            let file = dir.join(format!("{}.rs", r.id().to_ascii_lowercase()));
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|_| panic!("{} has no file {}", r.id(), file.display()));
            assert!(
                text.contains(&format!("id: \"{}\"", r.id())),
                "{} does not define {}",
                file.display(),
                r.id()
            );
        }
    }

    #[test]
    fn every_code_has_its_official_text() {
        for info in RULES {
            if info.severity == Severity::Warn {
                assert!(info.carc.is_empty() && info.rarc.is_empty(), "{}", info.id);
                continue;
            }
            assert!(
                code_text("CARC", info.carc).is_some(),
                "CARC {} of {}",
                info.carc,
                info.id
            );
            if !info.rarc.is_empty() {
                assert!(
                    code_text("RARC", info.rarc).is_some(),
                    "RARC {} of {}",
                    info.rarc,
                    info.id
                );
            }
        }
    }
}
