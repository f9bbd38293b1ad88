//! Reading the three inputs (SPEC §2): column matching, value parsing, malformed rows split off.

pub mod encoding;
pub mod parquet;
pub mod split;
pub mod table;
pub mod x12;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use rayon::prelude::*;

use crate::base::text::{TextBuilder, Texts};
use crate::base::values::{self, parse_charge, parse_date, parse_int, parse_non_negative};
use crate::model::{
    Batch, ClaimLine, Code, Document, DocumentType, Malformed, Modality, Pressure, SessionRow,
};
use crate::reference::policy::Policy;
use encoding::Encoding;
use table::{PartIndex, RawTable, Rec};

/// The inputs' names, in the order they are reported.
pub const INPUTS: [&str; 3] = ["claims", "sessions", "prescriptions"];

/// The claims columns of SPEC §2, in order, and whether a file must have them.
pub const CLAIMS: [(&str, bool); 13] = [
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
        let names = header_names(table);
        let mut index = Vec::with_capacity(spec.len());
        for (name, required) in spec {
            let pos = names.iter().position(|n| n == name);
            if pos.is_none() && *required {
                bail!(
                    "{}: missing required column `{name}`{}",
                    table.path.display(),
                    why_missing(table, &names, name)
                );
            }
            index.push(pos);
        }
        Ok(Columns {
            index,
            width: table.headers.len(),
        })
    }
}

fn header_names(table: &RawTable) -> Vec<String> {
    table
        .headers
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect()
}

/// What the header shows instead of a required column: another separator, or a near miss.
fn why_missing(table: &RawTable, names: &[String], name: &str) -> String {
    if let [only] = &table.headers[..] {
        for (sep, label) in [(';', "`;`"), ('\t', "tab"), ('|', "`|`")] {
            if only.matches(sep).count() >= 2 {
                return format!(
                    " (the header has one field; the file looks {label}-separated, and claimscrub reads comma-separated CSV)"
                );
            }
        }
    }
    match names.iter().find(|n| looks_like(n, name)) {
        Some(n) => format!(" (`{n}` looks like it)"),
        None => String::new(),
    }
}

/// A header name close to a known column: the same but for case, spaces, `_` and `-`, or one or
/// two letters apart (edit distance, scaled to the name's length).
fn looks_like(header: &str, column: &str) -> bool {
    let squash = |s: &str| -> Vec<u8> {
        s.bytes()
            .filter(|b| b.is_ascii_alphanumeric())
            .map(|b| b.to_ascii_lowercase())
            .collect()
    };
    let (a, b) = (squash(header), squash(column));
    if a == b {
        return true;
    }
    let allowed = match b.len() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    };
    allowed > 0 && edit_distance(&a, &b) <= allowed
}

fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + (x != y) as usize).min(row[j] + 1).min(up + 1);
            diag = up;
        }
    }
    row[b.len()]
}

/// What the headers of the three inputs say beyond their required columns.
#[derive(Debug, Default, Clone)]
pub struct HeaderNotes {
    /// Sentences for stderr and summary.json: a header that looks like a known column.
    pub warnings: Vec<String>,
    /// Optional columns absent from their file, as `input.column` (`prescriptions.max_pressure`).
    pub absent: Vec<String>,
}

impl HeaderNotes {
    fn of(tables: &Tables) -> HeaderNotes {
        let mut notes = HeaderNotes::default();
        for (i, (table, spec)) in [
            (&tables.claims, &CLAIMS[..]),
            (&tables.sessions, SESSIONS),
            (&tables.prescriptions, PRESCRIPTIONS),
        ]
        .into_iter()
        .enumerate()
        {
            let names = header_names(table);
            for (header, name) in table.headers.iter().zip(&names) {
                if spec.iter().any(|(c, _)| c == name) {
                    continue;
                }
                if let Some((c, _)) = spec
                    .iter()
                    .find(|(c, _)| !names.iter().any(|n| n == c) && looks_like(name, c))
                {
                    notes.warnings.push(format!(
                        "{}: `{}` looks like `{c}`; it was carried through as an extra column",
                        table.file_name,
                        header.trim()
                    ));
                }
            }
            for (c, required) in spec {
                if !required && !names.iter().any(|n| n == c) {
                    notes.absent.push(format!("{}.{c}", INPUTS[i]));
                }
            }
        }
        notes
    }
}

/// Accessor of one record's spec columns that gathers every problem of the row.
struct Row<'a, 'r> {
    rec: &'r Rec<'a>,
    cols: &'r Columns,
    spec: &'static [(&'static str, bool)],
    errors: Vec<String>,
}

impl<'r> Row<'_, 'r> {
    /// The trimmed value of spec column `i` ("" when the column is absent).
    fn opt(&mut self, i: usize) -> Cow<'r, str> {
        let Some(c) = self.cols.index[i] else {
            return Cow::Borrowed("");
        };
        match self.rec.get(c) {
            Some(Cow::Borrowed(s)) => Cow::Borrowed(s.trim()),
            Some(Cow::Owned(s)) => Cow::Owned(s.trim().to_string()),
            None => {
                let shown = self.rec.not_utf8(c);
                self.errors.push(if shown.is_empty() {
                    format!("{}: not valid UTF-8", self.spec[i].0)
                } else {
                    format!("{}: not valid UTF-8 ({shown})", self.spec[i].0)
                });
                Cow::Borrowed("")
            }
        }
    }

    /// A required value: empty is an error.
    fn req(&mut self, i: usize) -> Cow<'r, str> {
        let v = self.opt(i);
        if v.is_empty() && !self.errors.iter().any(|e| e.starts_with(self.spec[i].0)) {
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

/// What one chunk of a file gave.
struct Part<T> {
    rows: Vec<T>,
    arena: Vec<u8>,
    malformed: Vec<Malformed>,
    records: usize,
}

/// Rows whose `Text`s must move when chunk arenas are joined.
trait Rebase {
    fn rebase(&mut self, base: usize);
}

impl Rebase for ClaimLine {
    fn rebase(&mut self, base: usize) {
        for t in [
            &mut self.claim_id,
            &mut self.patient_id,
            &mut self.rendering_npi,
            &mut self.rx_id,
            &mut self.charge_text,
            &mut self.diagnosis_codes,
        ] {
            t.rebase(base);
        }
    }
}

impl Rebase for SessionRow {
    fn rebase(&mut self, base: usize) {
        self.session_id.rebase(base);
        self.patient_id.rebase(base);
    }
}

/// A document with where it was read, until duplicates are sorted out.
struct ReadDocument {
    doc: Document,
    line: u64,
    span: (usize, usize),
}

impl Rebase for ReadDocument {
    fn rebase(&mut self, _: usize) {}
}

/// A code, upper-cased (inline: no allocation).
fn upper(s: &str) -> Code {
    let mut c = Code::from(s);
    c.make_ascii_uppercase();
    c
}

/// Modifiers as a set: upper-cased, sorted, without repeats, joined with `;`.
fn modifier_set(s: &str) -> Code {
    if s.is_empty() {
        return Code::default();
    }
    let mut items: smallvec::SmallVec<[Code; 4]> = values::codes(s).collect();
    items.sort();
    items.dedup();
    let mut out = Code::default();
    for (i, m) in items.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(m);
    }
    out
}

/// The rows of one file: (rows, arena of their texts, malformed rows, records read).
type ReadRows<T> = (Vec<T>, Vec<u8>, Vec<Malformed>, usize);

/// Read one file, in parallel chunks, turning each record into `T` or a malformed row.
fn read_table<T: Send + Rebase, S>(
    table: &RawTable,
    part: Option<(&PartIndex, usize)>,
    spec: &'static [(&'static str, bool)],
    key_column: Option<usize>,
    // the row before it in this chunk (for what a row shares with the one before it)
    build: impl Fn(&mut Row, &mut TextBuilder<S>, &Rec, Option<&T>) -> Option<T> + Sync,
) -> Result<ReadRows<T>> {
    let cols = Columns::map(table, spec)?;
    let raw = table.bytes();
    let parts: Vec<Part<T>> = table.par_records(part, |go| {
        let mut part = Part {
            rows: Vec::new(),
            arena: Vec::new(),
            malformed: Vec::new(),
            records: 0,
        };
        let mut texts = TextBuilder::new(raw);
        go(&mut |rec: &Rec| {
            part.records += 1;
            let claim_id = || {
                key_column
                    .and_then(|k| cols.index[k])
                    .filter(|c| *c < rec.width())
                    .and_then(|c| rec.get(c))
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
            };
            let error = if let Some(r) = rec.runaway() {
                let name = table.headers.get(r.field).map_or("", |h| h.trim());
                Some(format!(
                    "line {}: a quote opens in field `{name}` (column {}) and is not closed on this line; the lines after it were read as records of their own",
                    r.line,
                    r.field + 1
                ))
            } else if rec.width() != cols.width {
                Some(format!(
                    "expected {} fields, found {}",
                    cols.width,
                    rec.width()
                ))
            } else {
                let mut row = Row {
                    rec,
                    cols: &cols,
                    spec,
                    errors: Vec::new(),
                };
                match build(&mut row, &mut texts, rec, part.rows.last()) {
                    Some(t) if row.errors.is_empty() => {
                        part.rows.push(t);
                        None
                    }
                    _ => Some(row.errors.join("; ")),
                }
            };
            if let Some(error) = error {
                part.malformed.push(Malformed {
                    file: table.file_name.clone(),
                    line: rec.line,
                    error,
                    raw: rec.raw(),
                    claim_id: claim_id(),
                });
            }
        });
        part.arena = texts.arena;
        part
    })?;
    let records = parts.iter().map(|p| p.records).sum();
    let mut arena = Vec::new();
    let mut rows = Vec::with_capacity(parts.iter().map(|p| p.rows.len()).sum());
    let mut malformed = Vec::new();
    for mut p in parts {
        let base = arena.len();
        if base > 0 && !p.arena.is_empty() {
            p.rows.par_iter_mut().for_each(|r| r.rebase(base));
        }
        arena.extend_from_slice(&p.arena);
        rows.append(&mut p.rows);
        malformed.append(&mut p.malformed);
    }
    Ok((rows, arena, malformed, records))
}

fn claims(
    table: &RawTable,
    part: Option<(&PartIndex, usize)>,
    policy: &Policy,
) -> Result<ReadRows<ClaimLine>> {
    read_table(table, part, &CLAIMS, Some(0), |r, t, rec, before| {
        let claim_id = r.req(0);
        let line_no = r.req(1);
        let line_no = r.parse(1, &line_no, |s| {
            let v = parse_int(s)?;
            u32::try_from(v)
                .ok()
                .filter(|v| *v >= 1)
                .ok_or_else(|| format!("`{s}` is not a line number ≥ 1"))
        });
        let patient_id = r.req(2);
        let payer = r.req(3);
        let payer = r.parse(3, &payer, |s| {
            policy.profile_index(s).ok_or_else(|| {
                let names: Vec<_> = policy.profiles.iter().map(|p| p.name.as_str()).collect();
                format!(
                    "{UNKNOWN_PAYER}{s}` (the policy's profiles: {})",
                    names.join(", ")
                )
            })
        });
        let rendering_npi = r.req(4);
        let rx_id = r.opt(6);
        let date = r.req(7);
        let date = r.parse(7, &date, parse_date);
        let cpt = upper(&r.req(8));
        let modifiers = modifier_set(&r.opt(9));
        let units = r.req(10);
        let units = r.parse(10, &units, parse_int);
        let charge_text = r.req(11);
        let charge = r.parse(11, &charge_text, parse_charge);
        let diagnosis_codes = r.opt(12);
        let claim_hash = crate::base::group::hash_of(&*claim_id);
        // compared while both records are in the cache: the ledger's grouping by claim then
        // needs no read of a text scattered over the file
        let claim_continues = before.is_some_and(|b: &ClaimLine| {
            b.claim_hash == claim_hash && t.bytes(b.claim_id) == claim_id.as_bytes()
        });
        // texts that linking and the rules read for every line are copied into the part's arena,
        // where they lie in line order, instead of being read where the records are scattered
        // over the file (an uncached read each); those only a message or output shows stay slices
        Some(ClaimLine {
            span: rec.span,
            claim_id: t.text(&claim_id),
            claim_hash,
            claim_key: crate::base::group::TextKey::pack(&claim_id),
            claim_continues,
            line_no: line_no?,
            patient_id: t.copy(&patient_id),
            payer: payer? as u8,
            rendering_npi: t.copy(&rendering_npi),
            rx_id: t.copy(&rx_id),
            date: date?,
            cpt,
            modifiers,
            units: units?,
            charge_text: t.text(&charge_text),
            charge: charge?,
            diagnosis_codes: t.copy(&diagnosis_codes),
        })
    })
}

fn sessions(table: &RawTable, part: Option<(&PartIndex, usize)>) -> Result<ReadRows<SessionRow>> {
    read_table(table, part, SESSIONS, None, |r, t, _, _| {
        let session_id = r.req(0);
        let patient_id = r.req(1);
        r.req(2);
        let date = r.req(3);
        let date = r.parse(3, &date, parse_date);
        let cpt = upper(&r.req(4));
        let minutes = r.req(5);
        let minutes = r.parse(5, &minutes, parse_non_negative);
        let modality = r.opt(6);
        let modality = r.enumeration(6, &modality, Modality::parse, MODALITIES);
        let pressure = r.opt(7);
        let pressure = r.enumeration(7, &pressure, Pressure::parse, PRESSURES);
        Some(SessionRow {
            session_id: t.text(&session_id),
            patient_id: t.copy(&patient_id),
            date: date?,
            cpt,
            minutes: minutes?,
            modality,
            pressure: pressure.or(modality.map(Modality::default_pressure)),
        })
    })
}

fn documents(
    table: &RawTable,
    part: Option<(&PartIndex, usize)>,
) -> Result<(Vec<Document>, Vec<Malformed>, usize)> {
    let (read, _, mut malformed, rows) = read_table(
        table,
        part,
        PRESCRIPTIONS,
        None,
        |r, _: &mut TextBuilder<()>, rec, _| {
            let rx_id = r.req(0);
            let patient_id = r.req(1);
            r.req(2);
            let doc_type = r.req(3);
            let doc_type = r.enumeration(
                3,
                &doc_type,
                DocumentType::parse,
                "prescription, referral or recommendation",
            );
            let dx = r.req(4);
            let diagnosis_keys: smallvec::SmallVec<[Code; 2]> =
                values::codes(&dx).map(|c| values::icd_key(&c)).collect();
            if !dx.is_empty() && diagnosis_keys.is_empty() {
                r.errors.push("diagnosis_codes names no code".into());
            }
            let authorized = if doc_type == Some(DocumentType::Prescription) {
                r.req(5)
            } else {
                r.opt(5)
            };
            let authorized_sessions = r.parse(5, &authorized, parse_non_negative);
            let start = r.req(6);
            let start = r.parse(6, &start, parse_date);
            let end = r.req(7);
            let end = r.parse(7, &end, parse_date);
            let freq = r.opt(8);
            let frequency_per_week = r.parse(8, &freq, parse_non_negative);
            let mut allowed_cpt: smallvec::SmallVec<[Code; 2]> = values::codes(&r.opt(9)).collect();
            if allowed_cpt.is_empty() {
                allowed_cpt = smallvec::smallvec!["97124".into(), "97140".into()];
            }
            let modality = r.opt(10);
            let required_modality = r.enumeration(10, &modality, Modality::parse, MODALITIES);
            let pressure = r.opt(11);
            let max_pressure = r.enumeration(11, &pressure, Pressure::parse, PRESSURES);
            let used = r.opt(12);
            let sessions_used = r.parse(12, &used, parse_non_negative).unwrap_or(0);
            let doc = Document {
                rx_id: Code::from(&*rx_id),
                patient_id: Code::from(&*patient_id),
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
            };
            Some(ReadDocument {
                doc,
                line: rec.line,
                span: rec.span,
            })
        },
    )?;
    // a second row with the same patient_id and rx_id is malformed; the first one is used
    let mut seen: rustc_hash::FxHashMap<(&str, &str), u64> = rustc_hash::FxHashMap::default();
    let repeats: Vec<Option<u64>> = read
        .iter()
        .map(|r| {
            let first = *seen
                .entry((r.doc.patient_id.as_str(), r.doc.rx_id.as_str()))
                .or_insert(r.line);
            (first != r.line).then_some(first)
        })
        .collect();
    drop(seen);
    // the repeats' texts at once (a Parquet row group is read once for all its repeats)
    let spans: Vec<(usize, usize)> = read
        .iter()
        .zip(&repeats)
        .filter(|(_, f)| f.is_some())
        .map(|(r, _)| r.span)
        .collect();
    let mut texts = table.record_texts(&spans)?.into_iter();
    let mut docs = Vec::with_capacity(read.len());
    for (r, first) in read.into_iter().zip(repeats) {
        match first {
            None => docs.push(r.doc),
            Some(first) => malformed.push(Malformed {
                file: table.file_name.clone(),
                line: r.line,
                error: format!(
                    "a document with patient_id `{}` and rx_id `{}` was already read at line {first}; the first one is used",
                    r.doc.patient_id, r.doc.rx_id
                ),
                raw: texts.next().unwrap_or_default(),
                claim_id: None,
            }),
        }
    }
    malformed.sort_by_key(|m| m.line);
    Ok((docs, malformed, rows))
}

/// How a claim row with a payer_type of no profile is told in `malformed.csv`.
const UNKNOWN_PAYER: &str = "unknown value `";

/// The payer_type values that named no profile, with their malformed rows (most first).
pub fn unknown_payers(claims: &[Malformed]) -> Vec<(String, usize)> {
    let prefix = format!("{}: {UNKNOWN_PAYER}", CLAIMS[3].0);
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for m in claims {
        for e in m.error.split("; ") {
            if let Some(rest) = e.strip_prefix(&prefix) {
                if let Some((payer, _)) = rest.split_once('`') {
                    *counts.entry(payer).or_default() += 1;
                }
            }
        }
    }
    let mut v: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(p, n)| (p.to_string(), n))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// The warnings for claim rows whose payer_type names no profile of the policy.
pub fn unknown_payer_warnings(
    claims_file: &str,
    claims: &[Malformed],
    policy_source: &str,
) -> Vec<String> {
    let payers = unknown_payers(claims);
    let are = |rows: usize| if rows == 1 { " is" } else { "s are" };
    let mut lines: Vec<String> = payers
        .iter()
        .take(UNKNOWN_PAYERS_TOLD)
        .map(|(payer, rows)| {
            format!(
                "{claims_file}: payer_type `{payer}` has no profile in the policy ({policy_source}); {rows} claim row{} malformed",
                are(*rows)
            )
        })
        .collect();
    // a shifted column can make every row's payer_type another value: the most common are told,
    // the rest counted, so that a night's log stays readable
    if payers.len() > UNKNOWN_PAYERS_TOLD {
        let rest = &payers[UNKNOWN_PAYERS_TOLD..];
        let rows: usize = rest.iter().map(|p| p.1).sum();
        lines.push(format!(
            "{claims_file}: {} more payer_type values have no profile in the policy ({policy_source}); {rows} claim row{} malformed",
            rest.len(),
            are(rows)
        ));
    }
    lines
}

/// Unknown payer types told one by one (the most common first); the rest in one line.
const UNKNOWN_PAYERS_TOLD: usize = 5;

/// The three input files, opened and their headers checked.
pub struct Tables {
    pub claims: RawTable,
    pub sessions: RawTable,
    pub prescriptions: RawTable,
    pub notes: HeaderNotes,
}

/// Open the three files. Column problems stop the run; rows are read part by part later. With
/// an 837P, the claims are read from its claim rows, named by the 837P file.
pub fn open(
    paths: &InputPaths,
    encoding: Encoding,
    x12: Option<&x12::X12Claims>,
) -> Result<Tables> {
    let claims = x12.map_or(&paths.claims, |x| &x.csv);
    let ((c, s), p) = rayon::join(
        || {
            rayon::join(
                || RawTable::read(claims, encoding),
                || RawTable::read(&paths.sessions, encoding),
            )
        },
        || RawTable::read(&paths.prescriptions, encoding),
    );
    let mut claims = c?;
    if let Some(x) = x12 {
        claims.file_name = x.file_name.clone();
        claims.path = x.path.clone();
    }
    let mut tables = Tables {
        claims,
        sessions: s?,
        prescriptions: p?,
        notes: HeaderNotes::default(),
    };
    // every header is checked before any row, so a missing column stops the run at once
    Columns::map(&tables.claims, &CLAIMS)?;
    Columns::map(&tables.sessions, SESSIONS)?;
    Columns::map(&tables.prescriptions, PRESCRIPTIONS)?;
    tables.notes = HeaderNotes::of(&tables);
    for t in [&tables.claims, &tables.sessions, &tables.prescriptions] {
        tables.notes.warnings.extend(t.warnings.iter().cloned());
    }
    crate::timing("files opened");
    Ok(tables)
}

/// Where each input's records go when a batch is scrubbed in parts.
pub struct BatchIndex {
    pub parts: usize,
    tables: [PartIndex; 3],
}

impl BatchIndex {
    /// Which records of input `i` (claims, sessions, prescriptions) go to which part.
    pub fn table(&self, i: usize) -> &PartIndex {
        &self.tables[i]
    }

    /// Records of each input in each part.
    pub fn sizes(&self) -> [Vec<usize>; 3] {
        [0, 1, 2].map(|i| self.tables[i].sizes())
    }
}

impl Tables {
    /// Before a batch is read in parts: its Parquet inputs written out once as CSV text (see
    /// `RawTable::parquet_to_csv`), in a run folder inside `out` that goes as soon as they are
    /// mapped. The names of those that were.
    pub fn parquet_to_csv(&mut self, out: &Path) -> Result<Vec<String>> {
        let tables = [
            &mut self.claims,
            &mut self.sessions,
            &mut self.prescriptions,
        ];
        if tables.iter().all(|t| t.parquet().is_none()) {
            return Ok(Vec::new());
        }
        let created_out = !out.exists();
        std::fs::create_dir_all(out)
            .with_context(|| format!("--out {}: cannot create the folder", out.display()))?;
        let done = crate::output::run_folder(out, crate::output::PARQUET_PREFIX).and_then(|dir| {
            let mut converted = Vec::new();
            let mut result = Ok(());
            for (i, t) in tables.into_iter().enumerate() {
                match t.parquet_to_csv(&dir.join(format!("{i}.csv"))) {
                    Ok(true) => converted.push(t.file_name.clone()),
                    Ok(false) => {}
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
            result.map(|_| converted)
        });
        // the outputs' staging creates `out` again when it needs it
        if created_out {
            let _ = std::fs::remove_dir(out);
        }
        done.with_context(|| format!("--out {}: the Parquet inputs could not be written as CSV text there (a batch read in parts needs room for them)", out.display()))
    }

    /// Cut the batch into `parts` by patient: every rule reads only one patient's lines, sessions
    /// and documents, so scrubbing the parts one after another finds exactly what one pass would.
    pub fn index(&self, parts: usize) -> Result<BatchIndex> {
        let by_patient = |t: &RawTable, spec: &[(&str, bool)]| -> Result<PartIndex> {
            let cols = Columns::map(t, spec)?;
            let at = spec.iter().position(|(n, _)| *n == "patient_id");
            let key = at
                .and_then(|i| cols.index[i])
                .expect("patient_id is required");
            t.index(key, cols.width, parts)
        };
        let (c, (s, p)) = rayon::join(
            || by_patient(&self.claims, &CLAIMS),
            || {
                rayon::join(
                    || by_patient(&self.sessions, SESSIONS),
                    || by_patient(&self.prescriptions, PRESCRIPTIONS),
                )
            },
        );
        Ok(BatchIndex {
            parts,
            tables: [c?, s?, p?],
        })
    }

    /// Bytes of input, to choose how many parts a batch needs.
    pub fn size(&self) -> u64 {
        [&self.claims, &self.sessions, &self.prescriptions]
            .iter()
            .map(|t| t.size())
            .sum()
    }
}

/// Read part `part` of the batch (all of it when `index` is `None`): its rows checked, malformed
/// rows split off.
pub fn read_part(
    tables: &Tables,
    index: Option<&BatchIndex>,
    part: usize,
    policy: &Policy,
) -> Result<Batch> {
    let sel = |i: usize| index.map(|x| (&x.tables[i], part));
    let (lines, arena1, m1, n1) = claims(&tables.claims, sel(0), policy)?;
    crate::timing("claims parsed");
    let (sessions, arena2, m2, n2) = sessions(&tables.sessions, sel(1))?;
    crate::timing("sessions parsed");
    let (documents, m3, n3) = documents(&tables.prescriptions, sel(2))?;
    crate::timing("prescriptions parsed");
    Ok(Batch {
        lines,
        claims_text: Texts::new(tables.claims.shared_bytes(), arena1),
        sessions,
        sessions_text: Texts::new(tables.sessions.shared_bytes(), arena2),
        documents,
        malformed: [m1, m2, m3],
        rows_read: [n1, n2, n3],
    })
}

#[cfg(test)]
mod tests {
    use super::{edit_distance, looks_like};

    #[test]
    fn near_misses_of_column_names() {
        assert_eq!(edit_distance(b"modifers", b"modifiers"), 1);
        for (header, column) in [
            ("modifers", "modifiers"),
            ("max_presure", "max_pressure"),
            ("Max Pressure", "max_pressure"),
            ("service-date", "service_date"),
            ("rxid", "rx_id"),
        ] {
            assert!(looks_like(&header.to_ascii_lowercase(), column), "{header}");
        }
        for (header, column) in [("notes", "units"), ("cpt2", "cpt"), ("payer", "rx_id")] {
            assert!(!looks_like(header, column), "{header}");
        }
    }
}
