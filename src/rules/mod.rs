//! The rules of SPEC §5. Each family file checks its rules over the whole batch and returns findings;
//! `catalogue` holds the id, severity, CARC and RARC of every rule.

pub mod catalogue;
pub mod duplicates;
pub mod dx;
pub mod modifiers;
pub mod rx;
pub mod sessions;
pub mod units;

use rayon::prelude::*;

use crate::link::Links;
use crate::model::Batch;
use crate::reference::icd10::CodeSets;
use crate::reference::mue::MueTable;
use crate::reference::policy::Policy;
use catalogue::Rule;

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
    pub links: &'a Links,
    pub policy: &'a Policy,
    pub code_sets: &'a CodeSets,
    pub mue: Option<&'a MueTable>,
    pub wellness: &'a [String],
}

/// Run every family and return the findings in `rejections` order: by line, then rule id.
pub fn run_all(ctx: &Context) -> Vec<Finding> {
    let families: [fn(&Context) -> Vec<Finding>; 6] = [
        dx::check,
        rx::check,
        sessions::check,
        units::check,
        modifiers::check,
        duplicates::check,
    ];
    let mut findings: Vec<Finding> = families
        .par_iter()
        .flat_map_iter(|check| check(ctx))
        .collect();
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

#[cfg(test)]
pub(crate) mod testkit {
    //! Small batches built in code, for the unit tests of each family.
    use super::*;
    use crate::input::text::{Text, TextBuilder, Texts};
    use crate::input::values::parse_date;
    use crate::model::*;

    // Texts of test rows live in one arena, built as rows are made.
    thread_local! {
        static ARENA: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    pub fn text(s: &str) -> Text {
        ARENA.with(|a| {
            let mut a = a.borrow_mut();
            let mut b = TextBuilder {
                raw: &[],
                arena: std::mem::take(&mut *a),
            };
            let t = b.text(s);
            *a = b.arena;
            t
        })
    }

    fn texts() -> Texts {
        ARENA.with(|a| Texts {
            raw: Default::default(),
            arena: a.borrow().clone(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn line(
        claim: &str,
        no: u32,
        patient: &str,
        payer: &str,
        date: &str,
        cpt: &str,
        units: i64,
        dx: &str,
    ) -> ClaimLine {
        let policy = Policy::builtin();
        ClaimLine {
            span: (0, 0),
            claim_id: text(claim),
            line_no: no,
            patient_id: text(patient),
            payer: policy.profile_index(payer).unwrap() as u8,
            rx_id: Text::EMPTY,
            date: parse_date(date).unwrap(),
            cpt: cpt.into(),
            modifiers: if payer == "medicare" || payer == "medicaid" {
                "GP".into()
            } else {
                Code::default()
            },
            units,
            charge_text: text("40.00"),
            charge: 40_000_000,
            diagnosis_codes: text(dx),
        }
    }

    pub fn session(patient: &str, date: &str, cpt: &str, minutes: i64) -> SessionRow {
        SessionRow {
            session_id: text(&format!("S-{patient}-{date}")),
            patient_id: text(patient),
            date: parse_date(date).unwrap(),
            cpt: cpt.into(),
            minutes,
            modality: None,
            pressure: None,
        }
    }

    pub fn prescription(
        rx: &str,
        patient: &str,
        dx: &str,
        authorized: i64,
        start: &str,
        end: &str,
    ) -> Document {
        Document {
            rx_id: rx.into(),
            patient_id: patient.into(),
            document_type: DocumentType::Prescription,
            diagnosis_keys: crate::input::values::codes(dx)
                .map(|c| crate::input::values::icd_key(&c))
                .collect(),
            authorized_sessions: Some(authorized),
            start: parse_date(start).unwrap(),
            end: parse_date(end).unwrap(),
            frequency_per_week: None,
            allowed_cpt: smallvec::smallvec!["97124".into(), "97140".into()],
            required_modality: None,
            max_pressure: None,
            sessions_used: 0,
        }
    }

    /// Run one family over a batch; findings as `(line index, rule id)`.
    pub fn run(
        check: fn(&Context) -> Vec<Finding>,
        lines: Vec<ClaimLine>,
        sessions: Vec<SessionRow>,
        docs: Vec<Document>,
    ) -> Vec<(u32, &'static str, String)> {
        run_with(check, lines, sessions, docs, None)
    }

    pub fn run_with(
        check: fn(&Context) -> Vec<Finding>,
        mut lines: Vec<ClaimLine>,
        sessions: Vec<SessionRow>,
        documents: Vec<Document>,
        mue: Option<&MueTable>,
    ) -> Vec<(u32, &'static str, String)> {
        for (i, l) in lines.iter_mut().enumerate() {
            l.span = (i, 0);
        }
        let batch = Batch {
            lines,
            claims_text: texts(),
            sessions,
            sessions_text: texts(),
            documents,
            malformed: Default::default(),
            rows_read: [0; 3],
        };
        let links = crate::link::link(&batch);
        let policy = Policy::builtin();
        let code_sets = CodeSets::load(&[]).unwrap();
        let wellness = crate::reference::icd10::wellness_prefixes();
        let ctx = Context {
            batch: &batch,
            links: &links,
            policy: &policy,
            code_sets: &code_sets,
            mue,
            wellness: &wellness,
        };
        let mut f: Vec<_> = check(&ctx)
            .into_iter()
            .map(|f| (f.line, f.rule.id(), f.message))
            .collect();
        f.sort();
        f
    }

    /// Only `(line, rule)` of the findings.
    pub fn ids(f: &[(u32, &'static str, String)]) -> Vec<(u32, &'static str)> {
        f.iter().map(|(l, r, _)| (*l, *r)).collect()
    }
}
