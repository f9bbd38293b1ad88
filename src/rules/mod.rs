//! The rules of SPEC §5, one file each, named after the rule id. A rule file holds the rule's
//! catalogue entry (id, severity, CARC, RARC, meaning), its check and its messages; the list below
//! registers it, and is what the catalogue, `claimscrub rules`, the writers and the summary read.
//! Rules judge the facts of linking (`crate::facts`) and make every finding.

pub mod catalogue;

use rayon::prelude::*;
use smallvec::SmallVec;

use crate::facts::units::VisitUnits;
use crate::facts::Facts;
use crate::model::Batch;
use crate::reference::icd10::CodeSets;
use crate::reference::mue::MueTable;
use crate::reference::policy::Policy;
pub use catalogue::{Check, RuleDef, Severity};

/// Declares each rule's module and registers it: `Variant => module`, in catalogue order.
macro_rules! register_rules {
    ($($variant:ident => $module:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every rule. The discriminant indexes `RULES`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Rule {
            $($variant),*
        }

        /// The rules' definitions, indexed by `Rule`.
        pub static RULES: &[&RuleDef] = &[$(&$module::RULE),*];

        impl Rule {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];
        }
    };
}

register_rules! {
    DxMissing => dx_missing,
    DxInvalidFormat => dx_invalid_format,
    DxUnknown => dx_unknown,
    DxNotBillable => dx_not_billable,
    DxCodesetUnavailable => dx_codeset_unavailable,
    WellnessOnly => wellness_only,
    DxNotOnRx => dx_not_on_rx,
    RxMissing => rx_missing,
    RxNotFound => rx_not_found,
    RxNotAPrescription => rx_not_a_prescription,
    RxBeforeStart => rx_before_start,
    RxExpired => rx_expired,
    RxSessionsExceeded => rx_sessions_exceeded,
    RxFrequencyExceeded => rx_frequency_exceeded,
    RxCptNotAllowed => rx_cpt_not_allowed,
    RxModalityMismatch => rx_modality_mismatch,
    RxPressureContraindicated => rx_pressure_contraindicated,
    SessionMissing => session_missing,
    UnitsInvalid => units_invalid,
    UnitsOverDocumented => units_over_documented,
    UnitsUnderDocumented => units_under_documented,
    UnitsOverMue => units_over_mue,
    ModifierMissing => modifier_missing,
    DuplicateLine => duplicate_line,
    NcciPtpConflict => ncci_ptp_conflict,
    DuplicateSubmission => duplicate_submission,
    KxModifierMissing => kx_modifier_missing,
    TherapyReviewThreshold => therapy_review_threshold,
}

/// One rule firing on one claim line.
#[derive(Clone, Debug)]
pub struct Finding {
    /// Index of the line in `Batch::lines` (= read order).
    pub line: u32,
    pub rule: Rule,
    /// One sentence a biller can act on, with its evidence.
    pub message: String,
}

impl Finding {
    pub fn new(line: u32, rule: Rule, message: String) -> Finding {
        Finding {
            line,
            rule,
            message,
        }
    }
}

/// Everything the rules read.
pub struct Context<'a> {
    pub batch: &'a Batch,
    pub facts: &'a Facts,
    pub policy: &'a Policy,
    pub code_sets: &'a CodeSets,
    pub mue: Option<&'a MueTable>,
    pub wellness: &'a [String],
    /// CMS's NCCI edits (`--ncci`) and the policy's pairs.
    pub ncci: &'a crate::reference::ncci::NcciEdits,
}

/// Run every rule and return the findings in `rejections` order: by line, then rule id.
pub fn run_all(ctx: &Context) -> Vec<Finding> {
    run(ctx, Rule::ALL)
}

/// Run some rules. The line checks share one pass over the lines (the line's facts are gathered
/// once), the visit checks one pass over the visits; batch checks run beside them.
pub fn run(ctx: &Context, rules: &[Rule]) -> Vec<Finding> {
    let of_kind = |want: fn(&Check) -> bool| -> Vec<(Rule, &Check)> {
        rules
            .iter()
            .map(|&r| (r, &r.info().check))
            .filter(|(_, c)| want(c))
            .collect()
    };
    let line_checks = of_kind(|c| matches!(c, Check::Line(_)));
    let visit_checks = of_kind(|c| matches!(c, Check::Visit(_)));
    let batch_checks = of_kind(|c| matches!(c, Check::Batch(_)));

    let by_line = || -> Vec<Finding> {
        if line_checks.is_empty() {
            return Vec::new();
        }
        (0..ctx.batch.lines.len())
            .into_par_iter()
            .flat_map_iter(|i| {
                let facts = ctx.facts.line(ctx.batch, ctx.code_sets, ctx.policy, i);
                let mut out: SmallVec<[Finding; 2]> = SmallVec::new();
                for (rule, check) in &line_checks {
                    if let Check::Line(check) = check {
                        if let Some(message) = check(ctx, &facts) {
                            out.push(Finding::new(i as u32, *rule, message));
                        }
                    }
                }
                out
            })
            .collect()
    };
    let by_visit = || -> Vec<Finding> {
        if visit_checks.is_empty() {
            return Vec::new();
        }
        ctx.facts
            .visits
            .par_iter()
            .flat_map_iter(|visit| {
                let mut out = Vec::new();
                let Some(units) = VisitUnits::new(ctx.batch, ctx.facts, ctx.policy, visit) else {
                    return out;
                };
                let mut found = Vec::new();
                for (rule, check) in &visit_checks {
                    if let Check::Visit(check) = check {
                        check(ctx, &units, &mut found);
                        out.extend(found.drain(..).map(|(l, m)| Finding::new(l, *rule, m)));
                    }
                }
                out
            })
            .collect()
    };
    let by_batch = || -> Vec<Finding> {
        batch_checks
            .par_iter()
            .flat_map_iter(|(rule, check)| match check {
                Check::Batch(check) => check(ctx)
                    .into_iter()
                    .map(|(l, m)| Finding::new(l, *rule, m))
                    .collect(),
                _ => Vec::new(),
            })
            .collect()
    };
    let (mut findings, (visits, batch)) = rayon::join(by_line, || rayon::join(by_visit, by_batch));
    findings.extend(visits);
    findings.extend(batch);
    findings.par_sort_by(|a, b| {
        a.line
            .cmp(&b.line)
            .then_with(|| a.rule.id().cmp(b.rule.id()))
    });
    // at most one finding per line and rule
    findings.dedup_by(|b, a| a.line == b.line && a.rule == b.rule);
    findings
}

/// A message's list of codes: `A, B or C`.
pub fn or_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => {
            format!(
                "{} or {}",
                init.iter()
                    .map(|s| s.as_ref())
                    .collect::<Vec<_>>()
                    .join(", "),
                last.as_ref()
            )
        }
    }
}

/// `1 is` / `2 are`, for messages about one code or several.
pub fn is_are(n: usize) -> &'static str {
    if n == 1 {
        "is"
    } else {
        "are"
    }
}

#[cfg(test)]
pub(crate) mod testkit;
