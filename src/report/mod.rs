//! The analysts' report (SPEC §12): a finished scrub's `summary.json`, `rejections.csv` and
//! `held.csv` (never the inputs) aggregated into what a billing manager fixes first, then written
//! as one self-contained HTML page (`html`, charts by `svg`) and a short text (`text`).
//!
//! Every number the summary holds is taken from the summary (and marked on the page with its JSON
//! pointer); the files are read only for what the summary does not break down: CARCs, therapists,
//! prescribers, service weeks and the evidence in the messages. Each file is streamed once, with
//! hash-map aggregates, so the page is as small at 10M lines as at 300. The two files are read on
//! two threads; what they hold is checked against the summary (the findings per rule, the held
//! lines and charges), so that outputs of different runs are not reported as one.

pub mod evidence;
pub mod html;
pub mod svg;
pub mod text;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;
use std::collections::BTreeSet;

use crate::base::values::{
    date_from_day, fiscal_year, icd_display, parse_charge, parse_date, week_of, Day,
};
use crate::reference::icd10::{CodeSet, CodeSets, Lookup};

use crate::rules::RULES;

/// The page's name in the outputs folder.
pub const PAGE: &str = "report.html";

/// The clean-claim rate clearinghouses count as good, in percent.
pub const TARGET_RATE: f64 = 97.0;

/// What a number is, for showing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Count,
    /// Millionths of the currency unit (as `base::values::parse_charge`).
    Money,
    /// Tenths of a percent.
    Tenths,
}

/// A number on the page; `ptr` is its JSON pointer when it is summary.json's.
#[derive(Clone, Debug)]
pub struct Num {
    pub v: i64,
    pub kind: Kind,
    pub ptr: Option<String>,
}

impl Num {
    pub fn count(v: u64) -> Num {
        Num {
            v: v as i64,
            kind: Kind::Count,
            ptr: None,
        }
    }

    pub fn money(micro: i64) -> Num {
        Num {
            v: micro,
            kind: Kind::Money,
            ptr: None,
        }
    }

    /// As written on the page: thousands separated, money with two decimals.
    pub fn show(&self) -> String {
        match self.kind {
            Kind::Count => group(self.v.unsigned_abs(), self.v < 0),
            Kind::Money => {
                let cents = (self.v.unsigned_abs() + 5_000) / 10_000;
                format!(
                    "{}.{:02}",
                    group(cents / 100, self.v < 0 && cents > 0),
                    cents % 100
                )
            }
            Kind::Tenths => format!("{}.{}", self.v / 10, self.v.abs() % 10),
        }
    }

    /// As a float, for the length of a bar.
    pub fn f(&self) -> f64 {
        match self.kind {
            Kind::Count => self.v as f64,
            Kind::Money => self.v as f64 / 1e6,
            Kind::Tenths => self.v as f64 / 10.0,
        }
    }
}

/// `1234567` → `1,234,567`.
fn group(n: u64, negative: bool) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if negative {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Lines, claims and charges of one group, from the files.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub lines: u64,
    pub claims: u64,
    pub charges: i64,
}

impl Tally {
    pub fn nums(&self) -> [Num; 3] {
        [
            Num::count(self.lines),
            Num::count(self.claims),
            Num::money(self.charges),
        ]
    }
}

/// A tally being counted: claims as a set of claim numbers (interned claim ids).
#[derive(Default)]
struct Counting {
    lines: u64,
    charges: i64,
    claims: FxHashSet<u32>,
}

impl Counting {
    fn add(&mut self, claim: u32, charge: i64) {
        self.lines += 1;
        self.charges += charge;
        self.claims.insert(claim);
    }

    fn done(&self) -> Tally {
        Tally {
            lines: self.lines,
            claims: self.claims.len() as u64,
            charges: self.charges,
        }
    }
}

/// A rule of the summary with findings.
pub struct RuleRow {
    pub id: String,
    pub reject: bool,
    pub carc: String,
    pub rarc: String,
    pub meaning: &'static str,
    pub findings: Num,
    pub lines: Num,
    pub claims: Num,
    pub charges: Num,
}

pub struct PayerRow {
    pub name: String,
    pub clean_lines: Num,
    pub held_lines: Num,
    pub clean_claims: Num,
    pub held_claims: Num,
    pub clean_charges: Num,
    pub held_charges: Num,
    pub findings: Num,
}

/// Held lines of one CARC (reject findings only; a line with two rules of one CARC counts once).
pub struct CarcRow {
    pub carc: String,
    pub text: String,
    pub rules: Vec<String>,
    pub held: Tally,
}

/// Held lines of one rendering therapist or prescriber, and the rules their claims were held for.
pub struct Party {
    pub npi: String,
    pub held: Tally,
    /// `hold_rules` ids, most lines first.
    pub reasons: Vec<(String, u64)>,
}

/// Held lines whose service dates fall in one period (a Monday-Sunday week, or a month / year when
/// the dates span too long for weekly columns).
pub struct Period {
    pub start: Day,
    pub label: String,
    pub lines: u64,
    pub charges: i64,
}

/// A prescription whose visits went past its authorised sessions (RX_SESSIONS_EXCEEDED).
pub struct RxOver {
    pub rx_id: String,
    pub patient_id: String,
    pub payer_type: String,
    pub authorised: u64,
    pub last_visit: u64,
    /// The counted-before note of the message of the last visit.
    pub before: String,
    /// Visits (service dates) beyond the authorised count.
    pub visits_over: u64,
    pub held: Tally,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DxProblem {
    Header,
    Unknown,
    Invalid,
}

impl DxProblem {
    pub fn rule(self) -> &'static str {
        match self {
            DxProblem::Header => "DX_NOT_BILLABLE",
            DxProblem::Unknown => "DX_UNKNOWN",
            DxProblem::Invalid => "DX_INVALID_FORMAT",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            DxProblem::Header => "header, not billable",
            DxProblem::Unknown => "not in the code set",
            DxProblem::Invalid => "not ICD-10-CM syntax",
        }
    }
}

/// A diagnosis code a payer would refuse, and what to bill instead.
pub struct DxRow {
    pub code: String,
    pub problem: DxProblem,
    /// The fiscal years of the code sets the lines were checked against.
    pub fiscal_years: Vec<i32>,
    pub held: Tally,
    /// The billable codes to use instead (from the message, or the nearest codes of the built-in
    /// code set), per year where the years differ; empty without a suggestion.
    pub instead: String,
}

/// One NCCI procedure-to-procedure pair that denied lines.
pub struct PairRow {
    pub column2: String,
    pub column1: String,
    pub source: String,
    pub indicator: String,
    pub payers: Vec<String>,
    pub held: Tally,
}

/// Therapy-threshold findings of one bucket and year.
pub struct TherapyRow {
    pub bucket: String,
    pub year: i32,
    pub threshold: String,
    pub patients: u64,
    pub lines: Tally,
}

pub struct Report {
    /// The folder of the outputs, as the user named it.
    pub dir: String,
    pub version: String,
    pub started_at: String,
    pub hold: String,
    /// (input, file, rows read, malformed rows)
    pub inputs: Vec<(String, String, Num, Num)>,
    pub claims_total: Num,
    pub claims_clean: Num,
    pub claims_held: Num,
    /// Percent with one decimal; absent without claims.
    pub rate: Option<Num>,
    pub lines_read: Num,
    pub lines_clean: Num,
    pub lines_held: Num,
    pub lines_malformed: Num,
    pub clean_charges: Num,
    pub held_charges: Num,
    /// Reject rules with findings, most held charges first; then the warnings, most lines first.
    pub rejects: Vec<RuleRow>,
    pub warnings: Vec<RuleRow>,
    pub not_checked: Vec<(String, String)>,
    pub payers: Vec<PayerRow>,
    pub carcs: Vec<CarcRow>,
    pub therapists: Vec<Party>,
    /// The prescribers, or why they cannot be shown (held.csv without `referring_npi`).
    pub prescribers: std::result::Result<Vec<Party>, String>,
    /// "week", "month" or "year".
    pub period: &'static str,
    pub periods: Vec<Period>,
    /// Held lines whose service date does not read (held rows are well-formed: none expected).
    pub undated: u64,
    pub rx: Vec<RxOver>,
    pub dx: Vec<DxRow>,
    pub pairs: Vec<PairRow>,
    pub kx: Vec<TherapyRow>,
    pub review: Vec<TherapyRow>,
    /// Findings of the rules above whose message the report could not read, per rule.
    pub unread: Vec<(String, u64)>,
}

/// The outputs the report reads.
const NEEDED: [&str; 3] = ["summary.json", "rejections.csv", "held.csv"];

fn check_outputs(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        bail!("{}: not a folder", dir.display());
    }
    for name in NEEDED {
        if dir.join(name).is_file() {
            continue;
        }
        let parquet = name.replace(".csv", ".parquet");
        if name.ends_with(".csv") && dir.join(&parquet).is_file() {
            bail!(
                "{}: {parquet} is a Parquet output; the report reads CSV outputs only (scrub with --format csv)",
                dir.display()
            );
        }
        bail!(
            "{}: {name} is missing; the report reads the outputs of a finished scrub (claimscrub scrub --out {})",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

/// Reads the outputs in `dir` (named `shown` on the page) into a report.
pub fn read(dir: &Path, shown: &str) -> Result<Report> {
    check_outputs(dir)?;
    let summary_path = dir.join("summary.json");
    let text = std::fs::read_to_string(&summary_path)
        .with_context(|| format!("{}: cannot read", summary_path.display()))?;
    let summary: Value = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{}: line {} column {}: not JSON: {e}",
            summary_path.display(),
            e.line(),
            e.column()
        )
    })?;
    let s = Summary {
        v: &summary,
        path: &summary_path,
    };
    let rules_in = rule_ordinals();
    let (rej, held) = std::thread::scope(|scope| {
        let rej = scope.spawn(|| read_rejections(&dir.join("rejections.csv"), &rules_in));
        let held = read_held(&dir.join("held.csv"), &rules_in);
        (
            rej.join()
                .unwrap_or_else(|_| Err(anyhow!("reading rejections.csv failed"))),
            held,
        )
    });
    let (rej, held) = (rej?, held?);
    build(dir, shown, &s, rej, held)
}

/// summary.json with the file it came from, for errors.
struct Summary<'a> {
    v: &'a Value,
    path: &'a Path,
}

impl Summary<'_> {
    fn get(&self, ptr: &str) -> Result<&Value> {
        self.v.pointer(ptr).with_context(|| {
            format!(
                "{}: no `{ptr}`; is it the summary of a finished claimscrub scrub?",
                self.path.display()
            )
        })
    }

    fn num(&self, ptr: &str, kind: Kind) -> Result<Num> {
        let v = self.get(ptr)?;
        let bad = || {
            anyhow!(
                "{}: `{ptr}` is {v}, not a number of claimscrub's summary",
                self.path.display()
            )
        };
        let n = match (kind, v) {
            (Kind::Count, _) => v.as_u64().ok_or_else(bad)? as i64,
            (_, Value::Number(n)) => {
                let micro = parse_charge(&n.to_string()).map_err(|_| bad())?;
                match kind {
                    Kind::Tenths => micro / 100_000,
                    _ => micro,
                }
            }
            _ => return Err(bad()),
        };
        Ok(Num {
            v: n,
            kind,
            ptr: Some(ptr.to_string()),
        })
    }

    fn str(&self, ptr: &str) -> String {
        self.v
            .pointer(ptr)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }
}

/// A JSON pointer's segment (RFC 6901): `~` and `/` escaped.
fn seg(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Rule id → its place among the ids sorted as text (the order of a line's findings in
/// rejections.csv) and its index in the catalogue.
struct RuleIndex {
    by_id: FxHashMap<&'static str, (u16, u16)>,
}

fn rule_ordinals() -> RuleIndex {
    let mut ids: Vec<&'static str> = RULES.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    let by_id = RULES
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let sorted = ids.binary_search(&r.id).expect("listed") as u16;
            (r.id, (sorted, i as u16))
        })
        .collect();
    RuleIndex { by_id }
}

fn open_csv(path: &Path) -> Result<(csv::Reader<BufReader<File>>, Vec<String>)> {
    let f = File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .buffer_capacity(1 << 20)
        .from_reader(BufReader::with_capacity(1 << 20, f));
    let header = r
        .headers()
        .map_err(|e| record_error(path, e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    Ok((r, header))
}

fn record_error(path: &Path, e: csv::Error) -> anyhow::Error {
    match e.position() {
        Some(p) => anyhow!(
            "{}: line {}: not a claimscrub output row: {e}",
            path.display(),
            p.line()
        ),
        None => anyhow!("{}: {e}", path.display()),
    }
}

/// The column of that name (as matched on input: trimmed, case-insensitively).
fn find(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|h| h.eq_ignore_ascii_case(name))
}

fn column(path: &Path, header: &[String], name: &str) -> Result<usize> {
    find(header, name).with_context(|| {
        format!(
            "{}: line 1: no `{name}` column; is it a claimscrub output?",
            path.display()
        )
    })
}

/// A cell of a row, as text; a row that is not UTF-8 is named by file, line and column.
fn cell<'r>(path: &Path, rec: &'r csv::ByteRecord, i: usize, header: &[String]) -> Result<&'r str> {
    let b = rec.get(i).unwrap_or_default();
    std::str::from_utf8(b).map_err(|_| {
        anyhow!(
            "{}: line {}, column {}: not UTF-8 text",
            path.display(),
            line_of(rec),
            header[i]
        )
    })
}

fn line_of(rec: &csv::ByteRecord) -> u64 {
    rec.position().map_or(0, |p| p.line())
}

fn bad_cell(path: &Path, rec: &csv::ByteRecord, column: &str, why: &str) -> anyhow::Error {
    anyhow!(
        "{}: line {}, column {column}: {why}",
        path.display(),
        line_of(rec)
    )
}

/// A charge as the outputs write it: trimmed, maybe with the spreadsheet guard `'` (SPEC §8).
fn charge_of(path: &Path, rec: &csv::ByteRecord, text: &str) -> Result<i64> {
    let t = text.trim();
    let t = t.strip_prefix('\'').unwrap_or(t);
    parse_charge(t.trim()).map_err(|e| bad_cell(path, rec, "charge", &e))
}

/// Claim ids as small numbers, with the last one remembered (a claim's lines are usually read
/// one after another).
#[derive(Default)]
struct Interner {
    ids: FxHashMap<Box<[u8]>, u32>,
    last: Option<(Box<[u8]>, u32)>,
}

impl Interner {
    fn get(&mut self, id: &[u8]) -> u32 {
        if let Some((l, n)) = &self.last {
            if **l == *id {
                return *n;
            }
        }
        let next = self.ids.len() as u32;
        let n = *self.ids.entry(id.into()).or_insert(next);
        self.last = Some((id.into(), n));
        n
    }
}

type PairKey = (String, String, String, String);

/// (bucket, year, threshold) → the lines and their patients.
type TherapyCounts = FxHashMap<(String, i32, String), (Counting, FxHashSet<String>)>;

/// What rejections.csv gives.
#[derive(Default)]
struct FromRejections {
    /// Findings per rule, by catalogue index (checked against the summary).
    findings: Vec<u64>,
    carcs: FxHashMap<String, (String, FxHashSet<String>, Counting)>,
    rx: FxHashMap<(String, String), RxCounting>,
    /// (problem, code) → the lines, and per fiscal year what to bill instead (from the message;
    /// empty: to be looked up).
    dx: FxHashMap<(DxProblem, String), (Counting, BTreeMap<i32, String>)>,
    /// (column 2, column 1, source, indicator) → the lines and their payer types.
    pairs: FxHashMap<PairKey, (Counting, FxHashSet<String>)>,
    kx: TherapyCounts,
    review: TherapyCounts,
    unread: FxHashMap<&'static str, u64>,
}

#[derive(Default)]
struct RxCounting {
    payer: String,
    authorised: u64,
    last_visit: u64,
    before: String,
    dates: FxHashSet<String>,
    held: Counting,
}

/// The line a row of rejections.csv belongs to: its findings follow one another, in rule id
/// order, so a line ends where the key changes or the rule order starts again.
struct LineKey {
    claim_line: Vec<u8>,
    rule: u16,
}

fn read_rejections(path: &Path, rules: &RuleIndex) -> Result<FromRejections> {
    let (mut r, header) = open_csv(path)?;
    let names = [
        "claim_id",
        "line_no",
        "patient_id",
        "service_date",
        "payer_type",
        "rule",
        "severity",
        "carc",
        "carc_text",
        "message",
        "charge",
    ];
    let c: Vec<usize> = names
        .iter()
        .map(|n| column(path, &header, n))
        .collect::<Result<_>>()?;
    let [claim_c, line_c, patient_c, date_c, payer_c, rule_c, sev_c, carc_c, carc_text_c, msg_c, charge_c] =
        c[..]
    else {
        unreachable!()
    };
    let mut out = FromRejections {
        findings: vec![0; RULES.len()],
        ..Default::default()
    };
    let mut claims = Interner::default();
    let mut prev: Option<LineKey> = None;
    // the CARCs of the current line's reject findings
    let mut line_carcs: Vec<String> = Vec::new();
    let mut line_claim = 0u32;
    let mut line_charge = 0i64;
    let flush = |out: &mut FromRejections, carcs: &mut Vec<String>, claim: u32, charge: i64| {
        carcs.sort_unstable();
        carcs.dedup();
        for c in carcs.drain(..) {
            if let Some(g) = out.carcs.get_mut(&c) {
                g.2.add(claim, charge);
            }
        }
    };
    let mut rec = csv::ByteRecord::new();
    let mut key = Vec::new();
    while r
        .read_byte_record(&mut rec)
        .map_err(|e| record_error(path, e))?
    {
        let rule_text = cell(path, &rec, rule_c, &header)?;
        let Some(&(sorted, index)) = rules.by_id.get(rule_text) else {
            return Err(bad_cell(
                path,
                &rec,
                "rule",
                &format!(
                    "`{}` is not a claimscrub rule",
                    crate::commands::explain::printable(rule_text)
                ),
            ));
        };
        key.clear();
        key.extend_from_slice(rec.get(claim_c).unwrap_or_default());
        key.push(b'\n');
        key.extend_from_slice(rec.get(line_c).unwrap_or_default());
        let new_line = match &prev {
            Some(p) => p.claim_line != key || sorted <= p.rule,
            None => true,
        };
        if new_line {
            flush(&mut out, &mut line_carcs, line_claim, line_charge);
            line_claim = claims.get(rec.get(claim_c).unwrap_or_default());
            line_charge = charge_of(path, &rec, cell(path, &rec, charge_c, &header)?)?;
            match &mut prev {
                Some(p) => {
                    p.claim_line.clear();
                    p.claim_line.extend_from_slice(&key);
                    p.rule = sorted;
                }
                None => {
                    prev = Some(LineKey {
                        claim_line: key.clone(),
                        rule: sorted,
                    })
                }
            }
        } else if let Some(p) = &mut prev {
            p.rule = sorted;
        }
        out.findings[index as usize] += 1;
        let severity = cell(path, &rec, sev_c, &header)?;
        let reject = match severity {
            "reject" => true,
            "warn" => false,
            other => {
                return Err(bad_cell(
                    path,
                    &rec,
                    "severity",
                    &format!(
                        "`{}` is neither reject nor warn",
                        crate::commands::explain::printable(other)
                    ),
                ))
            }
        };
        if reject {
            let carc = cell(path, &rec, carc_c, &header)?.trim();
            if !out.carcs.contains_key(carc) {
                let text = cell(path, &rec, carc_text_c, &header)?.to_string();
                out.carcs.insert(
                    carc.to_string(),
                    (text, FxHashSet::default(), Counting::default()),
                );
            }
            let g = out.carcs.get_mut(carc).expect("inserted");
            if !g.1.contains(rule_text) {
                g.1.insert(rule_text.to_string());
            }
            line_carcs.push(carc.to_string());
        }
        let rule_id = RULES[index as usize].id;
        if !matches!(
            rule_id,
            "RX_SESSIONS_EXCEEDED"
                | "DX_NOT_BILLABLE"
                | "DX_UNKNOWN"
                | "DX_INVALID_FORMAT"
                | "NCCI_PTP_CONFLICT"
                | "KX_MODIFIER_MISSING"
                | "THERAPY_REVIEW_THRESHOLD"
        ) {
            continue;
        }
        let message = cell(path, &rec, msg_c, &header)?;
        let read = evidence(
            &mut out,
            rule_id,
            message,
            Row {
                claim: line_claim,
                charge: line_charge,
                patient: cell(path, &rec, patient_c, &header)?,
                date: cell(path, &rec, date_c, &header)?,
                payer: cell(path, &rec, payer_c, &header)?,
            },
        );
        if !read {
            *out.unread.entry(rule_id).or_default() += 1;
        }
    }
    flush(&mut out, &mut line_carcs, line_claim, line_charge);
    Ok(out)
}

struct Row<'a> {
    claim: u32,
    charge: i64,
    patient: &'a str,
    date: &'a str,
    payer: &'a str,
}

/// Adds a finding's evidence to its aggregate; false when the message is not in the rule's words.
fn evidence(out: &mut FromRejections, rule: &str, message: &str, row: Row) -> bool {
    match rule {
        "RX_SESSIONS_EXCEEDED" => {
            let Some(s) = evidence::sessions(message) else {
                return false;
            };
            let e = out
                .rx
                .entry((row.patient.to_string(), s.rx_id.to_string()))
                .or_default();
            if e.held.lines == 0 {
                e.payer = row.payer.to_string();
            }
            e.authorised = s.authorised;
            if s.visit >= e.last_visit {
                e.last_visit = s.visit;
                e.before = s.before.to_string();
            }
            if !e.dates.contains(row.date) {
                e.dates.insert(row.date.to_string());
            }
            e.held.add(row.claim, row.charge);
        }
        "DX_NOT_BILLABLE" => {
            let Some(headers) = evidence::headers(message) else {
                return false;
            };
            for h in headers {
                let e = out
                    .dx
                    .entry((DxProblem::Header, h.code.to_string()))
                    .or_default();
                e.0.add(row.claim, row.charge);
                e.1.entry(h.fiscal_year)
                    .or_insert_with(|| format!("bill {}", h.bill));
            }
        }
        "DX_UNKNOWN" => {
            let Some((codes, fy)) = evidence::unknown(message) else {
                return false;
            };
            for code in codes {
                let e = out
                    .dx
                    .entry((DxProblem::Unknown, code.to_string()))
                    .or_default();
                e.0.add(row.claim, row.charge);
                e.1.entry(fy).or_default();
            }
        }
        "DX_INVALID_FORMAT" => {
            let Some(codes) = evidence::invalid(message) else {
                return false;
            };
            // the year of the code set the code is to be looked up in once it reads: the date's
            // (the set actually used is settled in `build`, from the summary's code sets)
            let fy = parse_date(row.date.trim()).ok().map(fiscal_year);
            for code in codes {
                let e = out
                    .dx
                    .entry((DxProblem::Invalid, code.to_string()))
                    .or_default();
                e.0.add(row.claim, row.charge);
                if let Some(fy) = fy {
                    e.1.entry(fy).or_default();
                }
            }
        }
        "NCCI_PTP_CONFLICT" => {
            let Some(p) = evidence::pair(message) else {
                return false;
            };
            let e = out
                .pairs
                .entry((
                    p.column2.to_string(),
                    p.column1.to_string(),
                    p.source.to_string(),
                    p.indicator.to_string(),
                ))
                .or_default();
            e.0.add(row.claim, row.charge);
            if !e.1.contains(row.payer) {
                e.1.insert(row.payer.to_string());
            }
        }
        "KX_MODIFIER_MISSING" | "THERAPY_REVIEW_THRESHOLD" => {
            let Some(t) = evidence::therapy(message) else {
                return false;
            };
            let map = if rule == "KX_MODIFIER_MISSING" {
                &mut out.kx
            } else {
                &mut out.review
            };
            let e = map
                .entry((t.bucket.to_string(), t.year, t.threshold.to_string()))
                .or_default();
            e.0.add(row.claim, row.charge);
            if !e.1.contains(row.patient) {
                e.1.insert(row.patient.to_string());
            }
        }
        _ => {}
    }
    true
}

/// What held.csv gives.
struct FromHeld {
    lines: u64,
    charges: i64,
    therapists: Vec<Party>,
    prescribers: std::result::Result<Vec<Party>, String>,
    /// Held lines and charges by the Monday of their service week; lines whose date does not read.
    weeks: FxHashMap<Day, (u64, i64)>,
    undated: u64,
}

/// Parties (therapists or prescribers) being counted.
#[derive(Default)]
struct Parties {
    ids: FxHashMap<Box<str>, u32>,
    held: Vec<(u64, i64, u64)>,
    claims: FxHashSet<u64>,
    reasons: FxHashMap<(u32, u16), u64>,
}

impl Parties {
    fn add(&mut self, id: &str, claim: u32, charge: i64, reasons: &[u16]) {
        let id = id.trim();
        let id = if id.is_empty() { "(none)" } else { id };
        let p = match self.ids.get(id) {
            Some(&p) => p,
            None => {
                let p = self.ids.len() as u32;
                self.ids.insert(id.into(), p);
                self.held.push((0, 0, 0));
                p
            }
        };
        let h = &mut self.held[p as usize];
        h.0 += 1;
        h.1 += charge;
        if self.claims.insert((p as u64) << 32 | claim as u64) {
            h.2 += 1;
        }
        for &r in reasons {
            *self.reasons.entry((p, r)).or_default() += 1;
        }
    }

    fn done(self, names: &[&str]) -> Vec<Party> {
        let mut reasons: Vec<Vec<(String, u64)>> = vec![Vec::new(); self.held.len()];
        for ((p, r), n) in self.reasons {
            reasons[p as usize].push((names[r as usize].to_string(), n));
        }
        let mut out: Vec<Party> = self
            .ids
            .into_iter()
            .map(|(id, p)| {
                let (lines, charges, claims) = self.held[p as usize];
                let mut r = std::mem::take(&mut reasons[p as usize]);
                r.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                Party {
                    npi: id.into(),
                    held: Tally {
                        lines,
                        claims,
                        charges,
                    },
                    reasons: r,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.held
                .charges
                .cmp(&a.held.charges)
                .then(b.held.lines.cmp(&a.held.lines))
                .then_with(|| a.npi.cmp(&b.npi))
        });
        out
    }
}

fn read_held(path: &Path, rules: &RuleIndex) -> Result<FromHeld> {
    let (mut r, header) = open_csv(path)?;
    let claim_c = column(path, &header, "claim_id")?;
    let date_c = column(path, &header, "service_date")?;
    let charge_c = column(path, &header, "charge")?;
    let npi_c = column(path, &header, "rendering_npi")?;
    let hold_c = column(path, &header, "hold_rules")?;
    let referring_c = find(&header, "referring_npi");
    // reasons: the catalogue's rules, then MALFORMED_LINE
    let mut names: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    names.push(crate::hold::MALFORMED_LINE);
    let malformed = (names.len() - 1) as u16;
    let mut claims = Interner::default();
    let mut therapists = Parties::default();
    let mut prescribers = Parties::default();
    let mut weeks: FxHashMap<Day, (u64, i64)> = FxHashMap::default();
    let (mut lines, mut charges, mut undated) = (0u64, 0i64, 0u64);
    let mut reasons: Vec<u16> = Vec::new();
    // the last date read and its week (a batch's lines come in runs of one date)
    let mut last_date: (Vec<u8>, Option<Day>) = (Vec::new(), None);
    let mut rec = csv::ByteRecord::new();
    while r
        .read_byte_record(&mut rec)
        .map_err(|e| record_error(path, e))?
    {
        lines += 1;
        let claim = claims.get(rec.get(claim_c).unwrap_or_default().trim_ascii());
        let charge = charge_of(path, &rec, cell(path, &rec, charge_c, &header)?)?;
        charges += charge;
        let date = rec.get(date_c).unwrap_or_default();
        if date != &last_date.0[..] {
            let text = cell(path, &rec, date_c, &header)?;
            last_date = (date.to_vec(), parse_date(text.trim()).ok().map(week_of));
        }
        match last_date.1 {
            Some(w) => {
                let e = weeks.entry(w).or_default();
                e.0 += 1;
                e.1 += charge;
            }
            None => undated += 1,
        }
        reasons.clear();
        for id in cell(path, &rec, hold_c, &header)?
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match rules.by_id.get(id) {
                Some(&(_, i)) => reasons.push(i),
                None if id == crate::hold::MALFORMED_LINE => reasons.push(malformed),
                None => {
                    return Err(bad_cell(
                        path,
                        &rec,
                        "hold_rules",
                        &format!(
                            "`{}` is not a claimscrub rule",
                            crate::commands::explain::printable(id)
                        ),
                    ))
                }
            }
        }
        therapists.add(cell(path, &rec, npi_c, &header)?, claim, charge, &reasons);
        if let Some(c) = referring_c {
            prescribers.add(cell(path, &rec, c, &header)?, claim, charge, &reasons);
        }
    }
    Ok(FromHeld {
        lines,
        charges,
        therapists: therapists.done(&names),
        prescribers: match referring_c {
            Some(_) => Ok(prescribers.done(&names)),
            None => Err(format!(
                "{} has no referring_npi column (the prescriber of box 17 is optional in the claims file), so held lines cannot be shown by prescriber",
                path.file_name().unwrap_or_default().to_string_lossy()
            )),
        },
        weeks,
        undated,
    })
}

/// Held charges by week over the dates' span, weeks without held lines as zero; by month or
/// year when weeks would be too many to read as columns.
fn periods(weeks: &FxHashMap<Day, (u64, i64)>) -> (&'static str, Vec<Period>) {
    use chrono::Datelike;
    let (Some(&first), Some(&last)) = (weeks.keys().min(), weeks.keys().max()) else {
        return ("week", Vec::new());
    };
    let span_weeks = (last - first) / 7 + 1;
    let months = {
        let (a, b) = (date_from_day(first), date_from_day(last));
        (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32 + 1
    };
    let kind = if span_weeks <= 104 {
        "week"
    } else if months <= 120 {
        "month"
    } else {
        "year"
    };
    let start_of = |d: Day| -> Day {
        let date = date_from_day(d);
        let first = match kind {
            "week" => return d,
            "month" => chrono::NaiveDate::from_ymd_opt(date.year(), date.month(), 1),
            _ => chrono::NaiveDate::from_ymd_opt(date.year(), 1, 1),
        };
        crate::base::values::day_from_date(first.expect("a first day"))
    };
    let mut by: std::collections::BTreeMap<Day, (u64, i64)> = Default::default();
    for (&w, &(l, c)) in weeks {
        // a week is counted in the month or year of its Monday
        let e = by.entry(start_of(w)).or_default();
        e.0 += l;
        e.1 += c;
    }
    let mut out = Vec::new();
    let mut d = start_of(first);
    let end = start_of(last);
    while d <= end {
        let (lines, charges) = by.get(&d).copied().unwrap_or_default();
        let date = date_from_day(d);
        out.push(Period {
            start: d,
            label: match kind {
                "week" => date.format("%Y-%m-%d").to_string(),
                "month" => date.format("%Y-%m").to_string(),
                _ => date.format("%Y").to_string(),
            },
            lines,
            charges,
        });
        d = match kind {
            "week" => d + 7,
            "month" => {
                let next = if date.month() == 12 {
                    chrono::NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
                } else {
                    chrono::NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
                };
                crate::base::values::day_from_date(next.expect("a month"))
            }
            _ => crate::base::values::day_from_date(
                chrono::NaiveDate::from_ymd_opt(date.year() + 1, 1, 1).expect("a year"),
            ),
        };
    }
    (kind, out)
}

/// The billable codes nearest to a code the code set does not take: the code itself or its
/// longest prefix in the set (a billable code, or a header's billable codes).
fn nearest(set: &CodeSet, code: &str) -> Option<String> {
    let key: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase();
    // a code starts with a letter ("5M54.50" is M54.50 with a stray digit)
    let key = key.trim_start_matches(|c: char| c.is_ascii_digit());
    for n in (3..=key.len().min(7)).rev() {
        let k = &key[..n];
        match set.lookup(k) {
            Lookup::Billable => return Some(icd_display(k)),
            Lookup::Header => {
                let children = set.billable_children(k);
                let shown: Vec<String> = children.iter().take(5).map(|c| icd_display(c)).collect();
                let more = if children.len() > 5 {
                    format!(" (or one of {} more)", children.len() - 5)
                } else {
                    String::new()
                };
                return Some(format!("{}{more}", crate::rules::or_list(&shown)));
            }
            Lookup::Unknown => {}
        }
    }
    None
}

/// The code sets of the scrub (summary.json's `code_sets`): fiscal year and whether built in.
fn scrub_code_sets(s: &Summary) -> Vec<(i32, bool)> {
    let mut v: Vec<(i32, bool)> =
        s.v.pointer("/code_sets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some((
                    c["fiscal_year"].as_i64()? as i32,
                    c["source"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("built-in")),
                ))
            })
            .collect();
    v.sort();
    v
}

/// The year of the set the scrub checked a date of fiscal year `fy` against: that year's, else
/// the nearest (as `CodeSets::for_day`: the later one on a tie).
fn used_year(sets: &[(i32, bool)], fy: i32) -> Option<(i32, bool)> {
    sets.iter()
        .copied()
        .min_by_key(|(y, _)| ((y - fy).abs(), -y))
}

/// The diagnosis rows, one per code and problem, with what to bill instead: the message's
/// billable codes for a header; for unknown and mistyped codes the nearest codes of the built-in
/// set of the year (when the scrub used the built-in one; a loaded file is not read again).
fn diagnoses(
    s: &Summary,
    dx: FxHashMap<(DxProblem, String), (Counting, BTreeMap<i32, String>)>,
) -> Result<Vec<DxRow>> {
    let sets_used = scrub_code_sets(s);
    let needs_lookup = dx
        .values()
        .any(|(_, years)| years.values().any(String::is_empty));
    let sets = if needs_lookup {
        Some(CodeSets::load(&[])?)
    } else {
        None
    };
    let mut out: Vec<DxRow> = dx
        .into_iter()
        .map(|((problem, code), (counting, years))| {
            let mut by_year: BTreeMap<i32, String> = BTreeMap::new();
            for (fy, text) in years {
                let (fy, text) = if !text.is_empty() || problem == DxProblem::Header {
                    (fy, text)
                } else {
                    let used = if problem == DxProblem::Invalid {
                        used_year(&sets_used, fy)
                    } else {
                        sets_used.iter().copied().find(|(y, _)| *y == fy)
                    };
                    let fy = used.map_or(fy, |u| u.0);
                    let digits = code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit());
                    let set = used
                        .filter(|u| u.1)
                        .and_then(|u| sets.as_ref()?.sets.iter().find(|s| s.fiscal_year == u.0));
                    let text = match set.and_then(|set| nearest(set, &code)) {
                        _ if digits => "a procedure (CPT) code, not a diagnosis: take the diagnosis from the prescription".to_string(),
                        Some(n) => format!("nearest: {n} (check the chart)"),
                        None => String::new(),
                    };
                    (fy, text)
                };
                by_year.insert(fy, text);
            }
            let texts: BTreeSet<&String> = by_year.values().collect();
            let instead = if texts.len() == 1 {
                texts.into_iter().next().cloned().unwrap_or_default()
            } else {
                by_year
                    .iter()
                    .map(|(fy, t)| {
                        format!(
                            "FY{fy}: {}",
                            if t.is_empty() { "no suggestion" } else { t }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            DxRow {
                code,
                problem,
                fiscal_years: by_year.keys().copied().collect(),
                held: counting.done(),
                instead,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.held
            .lines
            .cmp(&a.held.lines)
            .then(b.held.charges.cmp(&a.held.charges))
            .then_with(|| a.code.cmp(&b.code))
            .then(a.problem.cmp(&b.problem))
    });
    Ok(out)
}

fn build(
    dir: &Path,
    shown: &str,
    s: &Summary,
    rej: FromRejections,
    held: FromHeld,
) -> Result<Report> {
    let path = dir.join("rejections.csv");
    // the files must be of the scrub the summary describes
    for (i, rule) in RULES.iter().enumerate() {
        let ptr = format!("/rules/{}/findings", rule.id);
        let want = s.get(&ptr)?.as_u64().unwrap_or(0);
        if rej.findings[i] != want {
            bail!(
                "{}: {} {} findings, but {} counts {want}: the files are not of one scrub (scrub again)",
                path.display(),
                rej.findings[i],
                rule.id,
                s.path.display()
            );
        }
    }
    let held_lines = s.num("/lines/held", Kind::Count)?;
    let held_charges = s.num("/lines/held_charges", Kind::Money)?;
    if held.lines != held_lines.v as u64 || held.charges != held_charges.v {
        bail!(
            "{}: {} held lines of {} in all, but {} counts {} of {}: the files are not of one scrub (scrub again)",
            dir.join("held.csv").display(),
            held.lines,
            Num::money(held.charges).show(),
            s.path.display(),
            held_lines.show(),
            held_charges.show()
        );
    }

    let mut rejects = Vec::new();
    let mut warnings = Vec::new();
    for rule in RULES {
        let p = format!("/rules/{}", seg(rule.id));
        let findings = s.num(&format!("{p}/findings"), Kind::Count)?;
        if findings.v == 0 {
            continue;
        }
        let row = RuleRow {
            id: rule.id.to_string(),
            reject: s.str(&format!("{p}/severity")) == "reject",
            carc: s.str(&format!("{p}/carc")),
            rarc: s.str(&format!("{p}/rarc")),
            meaning: rule.meaning,
            findings,
            lines: s.num(&format!("{p}/lines"), Kind::Count)?,
            claims: s.num(&format!("{p}/claims"), Kind::Count)?,
            charges: s.num(&format!("{p}/charges"), Kind::Money)?,
        };
        if row.reject {
            rejects.push(row);
        } else {
            warnings.push(row);
        }
    }
    rejects.sort_by(|a, b| {
        b.charges
            .v
            .cmp(&a.charges.v)
            .then(b.lines.v.cmp(&a.lines.v))
            .then_with(|| a.id.cmp(&b.id))
    });
    warnings.sort_by(|a, b| b.lines.v.cmp(&a.lines.v).then_with(|| a.id.cmp(&b.id)));

    let mut payers = Vec::new();
    if let Some(map) = s.get("/payer_types")?.as_object() {
        for name in map.keys() {
            let p = format!("/payer_types/{}", seg(name));
            let n = |field: &str, kind| s.num(&format!("{p}/{field}"), kind);
            payers.push(PayerRow {
                name: name.clone(),
                clean_lines: n("clean_lines", Kind::Count)?,
                held_lines: n("held_lines", Kind::Count)?,
                clean_claims: n("clean_claims", Kind::Count)?,
                held_claims: n("held_claims", Kind::Count)?,
                clean_charges: n("clean_charges", Kind::Money)?,
                held_charges: n("held_charges", Kind::Money)?,
                findings: n("findings/findings", Kind::Count)?,
            });
        }
    }
    payers.sort_by(|a, b| {
        b.held_charges
            .v
            .cmp(&a.held_charges.v)
            .then(b.held_claims.v.cmp(&a.held_claims.v))
            .then_with(|| a.name.cmp(&b.name))
    });

    let mut carcs: Vec<CarcRow> = rej
        .carcs
        .into_iter()
        .map(|(carc, (text, rules, counting))| {
            let mut rules: Vec<String> = rules.into_iter().collect();
            rules.sort();
            CarcRow {
                carc,
                text,
                rules,
                held: counting.done(),
            }
        })
        .collect();
    carcs.sort_by(|a, b| {
        b.held
            .charges
            .cmp(&a.held.charges)
            .then(b.held.lines.cmp(&a.held.lines))
            .then_with(|| a.carc.cmp(&b.carc))
    });

    let mut rx: Vec<RxOver> = rej
        .rx
        .into_iter()
        .map(|((patient_id, rx_id), e)| RxOver {
            rx_id,
            patient_id,
            payer_type: e.payer,
            authorised: e.authorised,
            last_visit: e.last_visit,
            before: e.before,
            visits_over: e.dates.len() as u64,
            held: e.held.done(),
        })
        .collect();
    rx.sort_by(|a, b| {
        (b.last_visit.saturating_sub(b.authorised))
            .cmp(&a.last_visit.saturating_sub(a.authorised))
            .then(b.held.charges.cmp(&a.held.charges))
            .then_with(|| a.rx_id.cmp(&b.rx_id))
            .then_with(|| a.patient_id.cmp(&b.patient_id))
    });

    let dx = diagnoses(s, rej.dx)?;

    let mut pairs: Vec<PairRow> = rej
        .pairs
        .into_iter()
        .map(
            |((column2, column1, source, indicator), (counting, payers))| {
                let mut payers: Vec<String> = payers.into_iter().collect();
                payers.sort();
                PairRow {
                    column2,
                    column1,
                    source,
                    indicator,
                    payers,
                    held: counting.done(),
                }
            },
        )
        .collect();
    pairs.sort_by(|a, b| {
        b.held
            .charges
            .cmp(&a.held.charges)
            .then_with(|| (&a.column2, &a.column1).cmp(&(&b.column2, &b.column1)))
    });
    let therapy = |m: TherapyCounts| {
        let mut v: Vec<TherapyRow> = m
            .into_iter()
            .map(|((bucket, year, threshold), (c, patients))| TherapyRow {
                bucket,
                year,
                threshold,
                patients: patients.len() as u64,
                lines: c.done(),
            })
            .collect();
        v.sort_by(|a, b| b.year.cmp(&a.year).then_with(|| a.bucket.cmp(&b.bucket)));
        v
    };
    let mut unread: Vec<(String, u64)> = rej
        .unread
        .into_iter()
        .map(|(r, n)| (r.to_string(), n))
        .collect();
    unread.sort();

    let (period, periods) = periods(&held.weeks);
    let inputs = crate::input::INPUTS
        .iter()
        .map(|name| -> Result<_> {
            let p = format!("/inputs/{name}");
            Ok((
                name.to_string(),
                s.str(&format!("{p}/file")),
                s.num(&format!("{p}/rows_read"), Kind::Count)?,
                s.num(&format!("{p}/malformed_rows"), Kind::Count)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let not_checked =
        s.v.pointer("/not_checked")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|n| {
                (
                    n["rule"].as_str().unwrap_or("").to_string(),
                    n["reason"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
    let rate = match s.get("/claims/clean_claim_rate")? {
        Value::Null => None,
        _ => Some(s.num("/claims/clean_claim_rate", Kind::Tenths)?),
    };
    Ok(Report {
        dir: shown.to_string(),
        version: s.str("/claimscrub_version"),
        started_at: s.str("/started_at"),
        hold: s.str("/hold"),
        inputs,
        claims_total: s.num("/claims/total", Kind::Count)?,
        claims_clean: s.num("/claims/clean", Kind::Count)?,
        claims_held: s.num("/claims/held", Kind::Count)?,
        rate,
        lines_read: s.num("/accounting/claims_rows_read", Kind::Count)?,
        lines_clean: s.num("/lines/clean", Kind::Count)?,
        lines_held: held_lines,
        lines_malformed: s.num("/accounting/malformed_claims_rows", Kind::Count)?,
        clean_charges: s.num("/lines/clean_charges", Kind::Money)?,
        held_charges,
        rejects,
        warnings,
        not_checked,
        payers,
        carcs,
        therapists: held.therapists,
        prescribers: held.prescribers,
        period,
        periods,
        undated: held.undated,
        rx,
        dx,
        pairs,
        kx: therapy(rej.kx),
        review: therapy(rej.review),
        unread,
    })
}

/// Writes the page to `html` aside, then renames it into place.
pub fn write(report: &Report, html: &Path) -> Result<()> {
    let page = html::page(report);
    let tmp: PathBuf = {
        let name = html.file_name().unwrap_or_default().to_string_lossy();
        html.with_file_name(format!(".{name}.claimscrub-{}", std::process::id()))
    };
    std::fs::write(&tmp, page).with_context(|| format!("{}: cannot write", html.display()))?;
    std::fs::rename(&tmp, html).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!("{}: cannot move the page into place: {e}", html.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_shown() {
        assert_eq!(Num::count(1234567).show(), "1,234,567");
        assert_eq!(Num::count(999).show(), "999");
        assert_eq!(Num::money(1_560_000_000).show(), "1,560.00");
        assert_eq!(Num::money(-5_005_000).show(), "-5.01");
        assert_eq!(Num::money(0).show(), "0.00");
        let rate = Num {
            v: 714,
            kind: Kind::Tenths,
            ptr: None,
        };
        assert_eq!(rate.show(), "71.4");
    }

    #[test]
    fn nearest_codes_of_the_built_in_set() {
        let sets = CodeSets::load(&[]).unwrap();
        let fy25 = sets.sets.iter().find(|s| s.fiscal_year == 2025).unwrap();
        // a stray digit before a billable code, a header's children, a code too long
        assert_eq!(nearest(fy25, "5M54.50").as_deref(), Some("M54.50"));
        assert_eq!(
            nearest(fy25, "M54.5").as_deref(),
            Some("M54.50, M54.51 or M54.59")
        );
        assert!(nearest(fy25, "M54.12345").unwrap().starts_with("M54.1"));
        assert_eq!(nearest(fy25, "97140"), None);
    }

    #[test]
    fn the_set_a_year_was_checked_against() {
        let sets = [(2025, true), (2026, true), (2028, false)];
        assert_eq!(used_year(&sets, 2026), Some((2026, true)));
        assert_eq!(used_year(&sets, 2024), Some((2025, true)));
        // between 2026 and 2028 the later one, as CodeSets::for_day
        assert_eq!(used_year(&sets, 2027), Some((2028, false)));
        assert_eq!(used_year(&[], 2027), None);
    }

    #[test]
    fn weeks_fill_their_span_and_long_spans_become_months() {
        let d = |s: &str| week_of(parse_date(s).unwrap());
        let mut w = FxHashMap::default();
        w.insert(d("2026-06-01"), (2, 10));
        w.insert(d("2026-06-22"), (1, 5));
        let (kind, p) = periods(&w);
        assert_eq!(kind, "week");
        assert_eq!(p.iter().map(|p| p.lines).collect::<Vec<_>>(), [2, 0, 0, 1]);
        w.insert(d("2028-06-22"), (1, 5));
        let (kind, p) = periods(&w);
        assert_eq!(kind, "month");
        assert_eq!(p.len(), 25);
        assert_eq!(p.iter().map(|p| p.lines).sum::<u64>(), 4);
    }
}
