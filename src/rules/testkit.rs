//! Small batches built in code, for the unit tests of the rules.

use super::*;
use crate::base::text::{Text, TextBuilder, Texts};

use crate::base::values::parse_date;
use crate::model::*;

// Texts of test rows live in one arena, built as rows are made.
thread_local! {
    static ARENA: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A text in the test arena, for claim lines and session rows alike.
pub fn text<S>(s: &str) -> Text<S> {
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        let mut b = TextBuilder::with_arena(&[], std::mem::take(&mut *a));
        let t = b.text(s);
        *a = b.arena;
        t
    })
}

fn texts<S>() -> Texts<S> {
    ARENA.with(|a| Texts::new(Default::default(), a.borrow().clone()))
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
        claim_hash: crate::base::group::hash_of(claim),
        claim_key: crate::base::group::TextKey::pack(claim),
        claim_continues: false,
        line_no: no,
        patient_id: text(patient),
        payer: policy.profile_index(payer).unwrap() as u8,
        rendering_npi: text("1234567893"),
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
        diagnosis_keys: crate::base::values::codes(dx)
            .map(|c| crate::base::values::icd_key(&c))
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

pub type Found = Vec<(u32, &'static str, String)>;

/// Run some rules over a batch; findings as `(line index, rule id, message)`.
pub fn run(
    rules: &[Rule],
    lines: Vec<ClaimLine>,
    sessions: Vec<SessionRow>,
    docs: Vec<Document>,
) -> Found {
    run_with(rules, lines, sessions, docs, None)
}

pub fn run_with(
    rules: &[Rule],
    lines: Vec<ClaimLine>,
    sessions: Vec<SessionRow>,
    documents: Vec<Document>,
    mue: Option<&MueTable>,
) -> Found {
    let policy = Policy::builtin();
    run_full(rules, lines, sessions, documents, mue, &policy, &[])
}

/// With a policy and NCCI edit files given as text.
pub fn run_full(
    rules: &[Rule],
    lines: Vec<ClaimLine>,
    sessions: Vec<SessionRow>,
    documents: Vec<Document>,
    mue: Option<&MueTable>,
    policy: &Policy,
    ncci_files: &[&str],
) -> Found {
    run_earlier(
        rules, lines, sessions, documents, mue, policy, ncci_files, None,
    )
}

/// As `run_full`, with what earlier runs recorded (`Some`: a state was given, maybe empty).
#[allow(clippy::too_many_arguments)]
pub fn run_earlier(
    rules: &[Rule],
    mut lines: Vec<ClaimLine>,
    sessions: Vec<SessionRow>,
    documents: Vec<Document>,
    mue: Option<&MueTable>,
    policy: &Policy,
    ncci_files: &[&str],
    earlier: Option<Vec<crate::facts::EarlierLine>>,
) -> Found {
    let mut edits: Vec<crate::reference::ncci::Edit> = ncci_files
        .iter()
        .flat_map(|f| crate::reference::ncci::parse(f.as_bytes(), "ptp.txt").unwrap())
        .collect();
    edits.extend(policy.pair_edits());
    edits.sort_by_key(|e| (e.column2, e.column1, e.effective));
    let ncci = crate::reference::ncci::NcciEdits {
        edits,
        files: vec![],
    };
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
    let earlier = earlier.map_or_else(crate::facts::Earlier::none, crate::facts::Earlier::new);
    let facts = crate::facts::link(&batch, earlier, policy);
    let code_sets = CodeSets::load(&[]).unwrap();
    let wellness = crate::reference::icd10::wellness_prefixes();
    let ctx = Context {
        batch: &batch,
        facts: &facts,
        policy,
        code_sets: &code_sets,
        mue,
        wellness: &wellness,
        ncci: &ncci,
    };
    super::run(&ctx, rules)
        .into_iter()
        .map(|f| (f.line, f.rule.id(), f.message))
        .collect()
}

/// Only `(line, rule)` of the findings.
pub fn ids(f: &[(u32, &'static str, String)]) -> Vec<(u32, &'static str)> {
    f.iter().map(|(l, r, _)| (*l, *r)).collect()
}

/// The diagnosis rules on one commercial line whose patient's prescription names `rx_dx`.
pub fn dx(codes: &str, date: &str, rx_dx: &str) -> Found {
    const DX: &[Rule] = &[
        Rule::DxMissing,
        Rule::DxInvalidFormat,
        Rule::DxUnknown,
        Rule::DxNotBillable,
        Rule::DxCodesetUnavailable,
        Rule::WellnessOnly,
        Rule::DxNotOnRx,
    ];
    let l = line("C-1", 1, "P-1", "commercial", date, "97124", 1, codes);
    let rx = prescription("RX-1", "P-1", rx_dx, 10, "2024-10-01", "2026-12-31");
    run(DX, vec![l], vec![], vec![rx])
}

/// The session-content rules on one documented 97140 line.
pub fn sessions_case(
    modality: Option<Modality>,
    pressure: Option<Pressure>,
    rx_modality: Option<Modality>,
    max: Option<Pressure>,
) -> Found {
    let mut s = session("P-1", "2025-03-10", "97140", 30);
    s.modality = modality;
    s.pressure = pressure.or(modality.map(Modality::default_pressure));
    let mut rx = prescription("RX-1", "P-1", "I97.2", 10, "2025-03-01", "2025-04-30");
    rx.required_modality = rx_modality;
    rx.max_pressure = max;
    let l = line(
        "C-1",
        1,
        "P-1",
        "commercial",
        "2025-03-10",
        "97140",
        2,
        "I97.2",
    );
    let rules = [Rule::RxModalityMismatch, Rule::RxPressureContraindicated];
    run(&rules, vec![l], vec![s], vec![rx])
}

/// One visit of patient P-1: `(cpt, minutes documented, units billed)` per line.
pub fn visit_rules(rules: &[Rule], payer: &str, billed: &[(&str, i64, i64)]) -> Found {
    let lines = billed
        .iter()
        .enumerate()
        .map(|(n, (cpt, _, u))| {
            line(
                "C-1",
                n as u32 + 1,
                "P-1",
                payer,
                "2025-03-10",
                cpt,
                *u,
                "M54.50",
            )
        })
        .collect();
    let sessions = billed
        .iter()
        .map(|(cpt, m, _)| session("P-1", "2025-03-10", cpt, *m))
        .collect();
    run(rules, lines, sessions, vec![])
}

/// RX_BEFORE_START and RX_EXPIRED on one line naming `rx_id` ("" = none), beside RX-1 (March-April
/// 2025) and RX-2 (May-June 2025).
pub fn dated_rx_case(date: &str, rx_id: &str) -> Found {
    let mut l = line("C-1", 1, "P-1", "commercial", date, "97124", 1, "M54.50");
    l.rx_id = text(rx_id);
    let docs = vec![
        prescription("RX-1", "P-1", "M54.50", 10, "2025-03-01", "2025-04-30"),
        prescription("RX-2", "P-1", "M54.50", 10, "2025-05-01", "2025-06-30"),
    ];
    run(
        &[Rule::RxBeforeStart, Rule::RxExpired],
        vec![l],
        vec![],
        docs,
    )
}
