//! Reading the three inputs (SPEC §2): column matching, value parsing, malformed rows split off.

pub mod table;
pub mod values;

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::model::{
    Batch, ClaimLine, Document, DocumentType, Malformed, Modality, Pressure, SessionRow,
};
use crate::reference::policy::Policy;
use table::RawTable;
use values::{parse_charge, parse_date, parse_int, parse_non_negative, split_codes};

/// The inputs' names, in the order they are reported.
pub const INPUTS: [&str; 3] = ["claims", "sessions", "prescriptions"];

const CLAIMS: &[(&str, bool)] = &[
    ("claim_id", true),
    ("line_no", true),
    ("patient_id", true),
    ("payer_type", true),
    ("rendering_npi", true),
    ("referring_npi", false),
    ("rx_id", false),
    ("service_date", true),
    ("cpt", true),
    ("modifiers", false),
    ("units", true),
    ("charge", true),
    ("diagnosis_codes", true),
];

const SESSIONS: &[(&str, bool)] = &[
    ("session_id", true),
    ("patient_id", true),
    ("therapist_npi", true),
    ("service_date", true),
    ("cpt", true),
    ("minutes", true),
    ("modality", false),
    ("pressure", false),
];

const PRESCRIPTIONS: &[(&str, bool)] = &[
    ("rx_id", true),
    ("patient_id", true),
    ("prescriber_npi", true),
    ("document_type", true),
    ("diagnosis_codes", true),
    // required for documents of type `prescription` only: checked per row
    ("authorized_sessions", false),
    ("start_date", true),
    ("end_date", true),
    ("frequency_per_week", false),
    ("allowed_cpt", false),
    ("required_modality", false),
    ("max_pressure", false),
    ("sessions_used", false),
];

pub struct InputPaths {
    pub claims: PathBuf,
    pub sessions: PathBuf,
    pub prescriptions: PathBuf,
}

/// Column positions of the spec's columns in one file, `None` for absent optional ones.
struct Columns {
    index: Vec<Option<usize>>,
    width: usize,
}

impl Columns {
    fn map(table: &RawTable, spec: &[(&str, bool)]) -> Result<Columns> {
        let names: Vec<String> = table
            .headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let mut index = Vec::with_capacity(spec.len());
        for (name, required) in spec {
            let pos = names.iter().position(|n| n == name);
            if pos.is_none() && *required {
                bail!("{}: missing required column `{name}`", table.path.display());
            }
            index.push(pos);
        }
        Ok(Columns {
            index,
            width: table.headers.len(),
        })
    }
}

/// Accessor of one record's spec columns that gathers every problem of the row.
struct Row<'a, 'r> {
    fields: &'r [&'a str],
    cols: &'r Columns,
    spec: &'static [(&'static str, bool)],
    errors: Vec<String>,
}

impl<'a> Row<'a, '_> {
    /// The trimmed value of spec column `i` ("" when the column is absent).
    fn opt(&self, i: usize) -> &'a str {
        self.cols.index[i]
            .map(|c| self.fields[c].trim())
            .unwrap_or("")
    }

    /// A required value: empty is an error.
    fn req(&mut self, i: usize) -> &'a str {
        let v = self.opt(i);
        if v.is_empty() {
            self.errors.push(format!("{} is empty", self.spec[i].0));
        }
        v
    }

    fn parse<T>(
        &mut self,
        i: usize,
        v: &str,
        f: impl Fn(&str) -> std::result::Result<T, String>,
    ) -> Option<T> {
        if v.is_empty() {
            return None;
        }
        match f(v) {
            Ok(t) => Some(t),
            Err(e) => {
                self.errors.push(format!("{}: {e}", self.spec[i].0));
                None
            }
        }
    }

    fn enumeration<T>(
        &mut self,
        i: usize,
        v: &str,
        f: impl Fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Option<T> {
        self.parse(i, v, |s| {
            f(s).ok_or_else(|| format!("unknown value `{s}` (expected {allowed})"))
        })
    }
}

const MODALITIES: &str = "swedish, deep_tissue, trigger_point, sports, myofascial, mld or other";
const PRESSURES: &str = "light, moderate or deep";

/// Read one file and turn each record into `T` or a malformed row.
fn read_table<T>(
    table: &RawTable,
    spec: &'static [(&'static str, bool)],
    malformed: &mut Vec<Malformed>,
    key_column: Option<usize>,
    mut build: impl FnMut(&mut Row, usize) -> Option<T>,
) -> Result<(Vec<T>, usize)> {
    let cols = Columns::map(table, spec)?;
    let mut out = Vec::new();
    let mut rows = 0;
    table.for_each_record(|rec| {
        rows += 1;
        let key = |fields: &[&str]| {
            key_column
                .and_then(|k| cols.index[k])
                .and_then(|c| fields.get(c))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let error = match &rec.fields {
            Err(e) => Err((e.clone(), None)),
            Ok(fields) if fields.len() != cols.width => Err((
                format!("expected {} fields, found {}", cols.width, fields.len()),
                key(fields),
            )),
            Ok(fields) => {
                let mut row = Row {
                    fields,
                    cols: &cols,
                    spec,
                    errors: Vec::new(),
                };
                let built = build(&mut row, rec.seq);
                match built {
                    Some(t) if row.errors.is_empty() => Ok(t),
                    _ => Err((row.errors.join("; "), key(fields))),
                }
            }
        };
        match error {
            Ok(t) => out.push(t),
            Err((error, claim_id)) => malformed.push(Malformed {
                file: table.file_name.clone(),
                line: rec.line,
                error,
                raw: rec.raw.into_owned(),
                claim_id,
            }),
        }
    })?;
    Ok((out, rows))
}

fn claims(
    table: &RawTable,
    policy: &Policy,
    malformed: &mut Vec<Malformed>,
) -> Result<(Vec<ClaimLine>, usize)> {
    read_table(table, CLAIMS, malformed, Some(0), |r, seq| {
        let claim_id = r.req(0);
        let line_no = r.req(1);
        let line_no = r.parse(1, line_no, |s| {
            let v = parse_int(s)?;
            u32::try_from(v)
                .ok()
                .filter(|v| *v >= 1)
                .ok_or_else(|| format!("`{s}` is not a line number ≥ 1"))
        });
        let patient_id = r.req(2);
        let payer = r.req(3);
        let payer = r.parse(3, payer, |s| {
            policy.profile_index(s).ok_or_else(|| {
                let names: Vec<_> = policy.profiles.iter().map(|p| p.name.as_str()).collect();
                format!(
                    "unknown value `{s}` (the policy's profiles: {})",
                    names.join(", ")
                )
            })
        });
        r.req(4);
        let rx_id = r.opt(6);
        let date = r.req(7);
        let date = r.parse(7, date, parse_date);
        let cpt = r.req(8).to_ascii_uppercase();
        let mut modifiers = split_codes(r.opt(9));
        modifiers.sort();
        modifiers.dedup();
        let units = r.req(10);
        let units = r.parse(10, units, parse_int);
        let charge_text = r.req(11);
        let charge = r.parse(11, charge_text, parse_charge);
        let diagnosis_codes = split_codes(r.opt(12));
        Some(ClaimLine {
            seq,
            claim_id: claim_id.to_string(),
            line_no: line_no?,
            patient_id: patient_id.to_string(),
            payer: payer?,
            rx_id: (!rx_id.is_empty()).then(|| rx_id.to_string()),
            date: date?,
            cpt,
            modifiers,
            units: units?,
            charge_text: charge_text.to_string(),
            charge: charge?,
            diagnosis_codes,
        })
    })
}

fn sessions(table: &RawTable, malformed: &mut Vec<Malformed>) -> Result<(Vec<SessionRow>, usize)> {
    read_table(table, SESSIONS, malformed, None, |r, _| {
        let session_id = r.req(0);
        let patient_id = r.req(1);
        r.req(2);
        let date = r.req(3);
        let date = r.parse(3, date, parse_date);
        let cpt = r.req(4).to_ascii_uppercase();
        let minutes = r.req(5);
        let minutes = r.parse(5, minutes, parse_non_negative);
        let modality = r.opt(6);
        let modality = r.enumeration(6, modality, Modality::parse, MODALITIES);
        let pressure = r.opt(7);
        let pressure = r.enumeration(7, pressure, Pressure::parse, PRESSURES);
        Some(SessionRow {
            session_id: session_id.to_string(),
            patient_id: patient_id.to_string(),
            date: date?,
            cpt,
            minutes: minutes?,
            modality,
            pressure: pressure.or(modality.map(Modality::default_pressure)),
        })
    })
}

fn documents(table: &RawTable, malformed: &mut Vec<Malformed>) -> Result<(Vec<Document>, usize)> {
    // (patient_id, rx_id) → line of the first row: a second row is malformed
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    let mut lines = Vec::new();
    table.for_each_record(|rec| lines.push(rec.line))?;
    let (docs, rows) = read_table(table, PRESCRIPTIONS, malformed, None, |r, seq| {
        let rx_id = r.req(0);
        let patient_id = r.req(1);
        r.req(2);
        let doc_type = r.req(3);
        let doc_type = r.enumeration(
            3,
            doc_type,
            DocumentType::parse,
            "prescription, referral or recommendation",
        );
        let dx = r.req(4);
        let diagnosis_keys: Vec<String> =
            split_codes(dx).iter().map(|c| values::icd_key(c)).collect();
        if !dx.is_empty() && diagnosis_keys.is_empty() {
            r.errors.push("diagnosis_codes names no code".into());
        }
        let authorized = if doc_type == Some(DocumentType::Prescription) {
            r.req(5)
        } else {
            r.opt(5)
        };
        let authorized_sessions = r.parse(5, authorized, parse_non_negative);
        let start = r.req(6);
        let start = r.parse(6, start, parse_date);
        let end = r.req(7);
        let end = r.parse(7, end, parse_date);
        let freq = r.opt(8);
        let frequency_per_week = r.parse(8, freq, parse_non_negative);
        let mut allowed_cpt = split_codes(r.opt(9));
        if allowed_cpt.is_empty() {
            allowed_cpt = vec!["97124".into(), "97140".into()];
        }
        let modality = r.opt(10);
        let required_modality = r.enumeration(10, modality, Modality::parse, MODALITIES);
        let pressure = r.opt(11);
        let max_pressure = r.enumeration(11, pressure, Pressure::parse, PRESSURES);
        let used = r.opt(12);
        let sessions_used = r.parse(12, used, parse_non_negative).unwrap_or(0);
        if r.errors.is_empty() {
            let key = (patient_id.to_string(), rx_id.to_string());
            if let Some(first) = seen.get(&key) {
                r.errors.push(format!(
                    "a document with patient_id `{patient_id}` and rx_id `{rx_id}` was already read at line {first}; the first one is used"
                ));
                return None;
            }
            seen.insert(key, lines[seq]);
        }
        Some(Document {
            rx_id: rx_id.to_string(),
            patient_id: patient_id.to_string(),
            document_type: doc_type?,
            diagnosis_keys,
            authorized_sessions,
            start: start?,
            end: end?,
            frequency_per_week,
            allowed_cpt,
            required_modality,
            max_pressure,
            sessions_used,
        })
    })?;
    Ok((docs, rows))
}

/// Read and check the three files. Column problems stop the run; row problems become malformed rows.
pub fn read_batch(paths: &InputPaths, policy: &Policy) -> Result<(Batch, RawTable)> {
    let ((c, s), p) = rayon::join(
        || {
            rayon::join(
                || RawTable::read(&paths.claims),
                || RawTable::read(&paths.sessions),
            )
        },
        || RawTable::read(&paths.prescriptions),
    );
    let (claims_table, sessions_table, rx_table) = (c?, s?, p?);
    // every header is checked before any row, so a missing column stops the run at once
    Columns::map(&claims_table, CLAIMS)?;
    Columns::map(&sessions_table, SESSIONS)?;
    Columns::map(&rx_table, PRESCRIPTIONS)?;
    let (mut m1, mut m2, mut m3) = (Vec::new(), Vec::new(), Vec::new());
    let ((lines, sessions), documents) = rayon::join(
        || {
            rayon::join(
                || claims(&claims_table, policy, &mut m1),
                || sessions(&sessions_table, &mut m2),
            )
        },
        || documents(&rx_table, &mut m3),
    );
    let ((lines, n1), (sessions, n2), (documents, n3)) = (lines?, sessions?, documents?);
    m1.extend(m2);
    m1.extend(m3);
    let batch = Batch {
        lines,
        sessions,
        documents,
        malformed: m1,
        rows_read: [n1, n2, n3],
    };
    Ok((batch, claims_table))
}
