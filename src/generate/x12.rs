//! Claims rows (the columns of SPEC §2) written as an X12 837P interchange (005010X222A1), the way
//! SPEC §11 reads one back: the same rows, column for column.
//!
//! What goes where (SPEC §11's mapping, inverted):
//! - one 2000A billing provider loop (2010AA: the practice of `Options::billing`) per transaction;
//! - one 2000B subscriber loop per run of claims of one patient and payer: SBR09 from payer_type
//!   (medicare `MB`, medicaid `MC`, workers_comp `WC`, auto_pip `AM`, commercial `CI`), 2010BA NM109
//!   = patient_id, 2010BB the payer;
//! - one 2300 claim per claim_id: CLM01 claim_id, CLM02 the sum of the line charges; HI the claim's
//!   codes in the order the lines name them (`ABK` the first, `ABF` the others), written without
//!   their dot when they are ICD-10-CM syntax and as written (upper-cased) when not, so that a code
//!   of bad format stays one; REF*G1 rx_id, 2310A NM1*DN referring_npi and 2310B NM1*82
//!   rendering_npi when every line has the same one, else on the lines (2400 REF*G1, 2420F, 2420A);
//! - one 2400 line per row, in line_no order: LX01 line_no, SV1 `HC:cpt:modifiers`, the charge as
//!   written (when it is an X12 decimal; else the same amount written as one), `UN`, units, the
//!   pointers to the line's codes in HI (SV107); DTP*472 D8 the service date.
//!
//! A claim that 005010X222A1 cannot carry exactly is left out whole and named, with why, in
//! `Conversion::left_out`: a malformed row (SPEC §2; its claim would be held anyway), a line
//! without a diagnosis code (SV107 is required: a valid 837P never gives DX_MISSING) or with more
//! than 4 distinct codes (SV107 has 4 pointers), more than 12 distinct codes on the claim (HI) or
//! more than 50 lines (loop 2400), line numbers that are not 1, 2, 3, … (the guide numbers LX so:
//! renumbering would change line_no), lines of one claim naming different patients or payers, a
//! payer_type outside the built-in profiles, an NPI that is not 10 digits, a modifier that is not 2
//! characters, more than 4 modifiers, a value too long for its element, or a character outside
//! X12's printable set or equal to a separator. Splitting such a claim would change its claim_id or
//! line numbers, so that the 837P would no longer give the rows of the CSV.
//!
//! Transactions hold at most `Options::claims_per_transaction` claims (the guide recommends at most
//! 5000); the interchange has one functional group. The CSV has no names, addresses or birth dates:
//! the writer puts placeholder names (PATIENT, THERAPIST, PRESCRIBER) and leaves out the situational
//! N3/N4/DMG of the subscriber.

use std::io::Write;

use anyhow::{bail, Context, Result};
use rustc_hash::FxHashMap;

use crate::base::values::{
    codes, date_from_day, icd_format_ok, icd_key, parse_charge, parse_date, parse_int,
};

/// The claims columns of SPEC §2, in order (the reader's list).
pub use crate::input::CLAIMS as COLUMNS;

/// SBR09 (claim filing indicator) of each built-in payer profile: the inverse of SPEC §11's table.
pub const SBR09: [(&str, &str); 5] = [
    ("medicare", "MB"),
    ("medicaid", "MC"),
    ("workers_comp", "WC"),
    ("auto_pip", "AM"),
    ("commercial", "CI"),
];

/// The payer written in 2010BB for each SBR09 code (made up: the CSV names no payer).
const PAYERS: [(&str, &str, &str); 5] = [
    ("MB", "MEDICARE PART B", "MCRB1"),
    ("MC", "STATE MEDICAID", "MCAID1"),
    ("WC", "WORKERS COMP CARRIER", "WCOMP1"),
    ("AM", "AUTO PIP CARRIER", "AUTO1"),
    ("CI", "COMMERCIAL HEALTH PLAN", "COMM1"),
];

/// Limits of 005010X222A1.
const MAX_LINES: usize = 50;
const MAX_CODES: usize = 12;
const MAX_POINTERS: usize = 4;
const MAX_MODIFIERS: usize = 4;

/// One claims row as a file gives it: the columns of SPEC §2, trimmed, not yet parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimRow {
    pub claim_id: String,
    pub line_no: String,
    pub patient_id: String,
    pub payer_type: String,
    pub rendering_npi: String,
    pub referring_npi: String,
    pub rx_id: String,
    pub service_date: String,
    pub cpt: String,
    pub modifiers: String,
    pub units: String,
    pub charge: String,
    pub diagnosis_codes: String,
}

impl ClaimRow {
    /// The row from its 13 values in the order of `COLUMNS`.
    pub fn from_values(v: [String; 13]) -> ClaimRow {
        let [claim_id, line_no, patient_id, payer_type, rendering_npi, referring_npi, rx_id, service_date, cpt, modifiers, units, charge, diagnosis_codes] =
            v;
        ClaimRow {
            claim_id,
            line_no,
            patient_id,
            payer_type,
            rendering_npi,
            referring_npi,
            rx_id,
            service_date,
            cpt,
            modifiers,
            units,
            charge,
            diagnosis_codes,
        }
    }
}

/// A record of a claims file: where it starts, its claim, and its row or why it cannot be read.
#[derive(Clone, Debug)]
pub struct Record {
    /// The physical line where the record starts (the header is line 1).
    pub line: usize,
    pub claim_id: String,
    pub row: std::result::Result<ClaimRow, String>,
}

/// The records of a claims CSV (SPEC §2: header names matched trimmed and case-insensitively,
/// other columns ignored). A record of the wrong number of fields or with bytes that are not UTF-8
/// in a column of §2 is a malformed record (its claim found by the position of `claim_id`).
pub fn read_claims_csv(data: &[u8], file: &str) -> Result<Vec<Record>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(data);
    let header = reader
        .byte_headers()
        .with_context(|| format!("{file}: cannot read the header"))?
        .clone();
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = String::from_utf8_lossy(h);
            let h = if i == 0 {
                h.trim_start_matches('\u{feff}').to_string()
            } else {
                h.into_owned()
            };
            h.trim().to_ascii_lowercase()
        })
        .collect();
    let mut index = [None; 13];
    for (k, (name, required)) in COLUMNS.iter().enumerate() {
        index[k] = names.iter().position(|n| n == name);
        if index[k].is_none() && *required {
            bail!("{file}: no column `{name}` in the header (line 1)");
        }
    }
    let mut out = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => bail!("{file}: {e}"),
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        let field = |k: usize| -> std::result::Result<String, String> {
            match index[k].and_then(|i| record.get(i)) {
                None => Ok(String::new()),
                Some(b) => std::str::from_utf8(b)
                    .map(|s| s.trim().to_string())
                    .map_err(|_| format!("{}: not valid UTF-8", COLUMNS[k].0)),
            }
        };
        let claim_id = field(0).unwrap_or_default();
        let row = if record.len() != header.len() {
            Err(format!(
                "expected {} fields, found {}",
                header.len(),
                record.len()
            ))
        } else {
            (0..13)
                .map(field)
                .collect::<std::result::Result<Vec<String>, String>>()
                .map(|v| ClaimRow::from_values(v.try_into().expect("13 values")))
        };
        out.push(Record {
            line,
            claim_id,
            row,
        });
    }
    Ok(out)
}

/// The separators of an interchange (ISA's 4th character, ISA11, ISA16 and the character after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Separators {
    pub element: char,
    pub component: char,
    pub repetition: char,
    pub segment: char,
    /// A line break after each segment terminator (readers ignore it; people can read the file).
    pub line_break: bool,
}

impl Separators {
    /// `*`, `:`, `^`, `~` and a line break after each segment: what most clearinghouses send.
    pub const STANDARD: Separators = Separators {
        element: '*',
        component: ':',
        repetition: '^',
        segment: '~',
        line_break: true,
    };

    fn all(&self) -> [char; 4] {
        [self.element, self.component, self.repetition, self.segment]
    }
}

/// The practice that bills (2010AA); the CSV does not name it.
#[derive(Clone, Debug)]
pub struct Billing {
    pub name: String,
    pub npi: String,
    pub tax_id: String,
    /// NUCC provider taxonomy (PRV03): 225700000X massage therapist.
    pub taxonomy: String,
    pub street: String,
    pub city: String,
    pub state: String,
    pub zip: String,
}

/// What the interchange says besides the claims: who sends it to whom, and when.
#[derive(Clone, Debug)]
pub struct Options {
    pub separators: Separators,
    /// ISA06 / GS02 and 1000A: the submitter.
    pub sender_id: String,
    pub submitter_name: String,
    pub submitter_contact: String,
    pub submitter_phone: String,
    /// ISA08 / GS03 and 1000B: the receiver.
    pub receiver_id: String,
    pub receiver_name: String,
    pub billing: Billing,
    /// Creation date (CCYYMMDD) and time (HHMM): fixed, so that a conversion is reproducible.
    pub date: String,
    pub time: String,
    /// ISA13 and GS06.
    pub control_number: u32,
    /// ISA15: `T` test, `P` production.
    pub usage: char,
    pub claims_per_transaction: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            separators: Separators::STANDARD,
            sender_id: "CLAIMSCRUB".into(),
            submitter_name: "CLAIMSCRUB SYNTHETIC BILLING".into(),
            submitter_contact: "BILLING OFFICE".into(),
            submitter_phone: "5555550100".into(),
            receiver_id: "CLEARINGHOUSE".into(),
            receiver_name: "SYNTHETIC CLEARINGHOUSE".into(),
            billing: Billing {
                name: "SYNTHETIC MASSAGE THERAPY PRACTICE".into(),
                npi: "1245319599".into(),
                tax_id: "000000000".into(),
                taxonomy: "225700000X".into(),
                street: "100 MAIN ST".into(),
                city: "SPRINGFIELD".into(),
                state: "IL".into(),
                zip: "627010000".into(),
            },
            date: "20261201".into(),
            time: "1200".into(),
            control_number: 1,
            usage: 'T',
            claims_per_transaction: 5000,
        }
    }
}

/// A claim the 837P does not carry, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    pub claim_id: String,
    /// The records' lines in the file (empty for rows that did not come from a file).
    pub lines: Vec<usize>,
    pub reason: String,
}

/// A service line ready to write.
#[derive(Clone, Debug)]
struct Line {
    line_no: u32,
    rendering: String,
    referring: String,
    rx_id: String,
    /// CCYYMMDD
    date: String,
    cpt: String,
    modifiers: Vec<String>,
    charge: String,
    charge_micro: i64,
    units: String,
    /// HI values (codes as written into HI), distinct, in the line's order.
    dx: Vec<String>,
}

/// A claim ready to write.
#[derive(Clone, Debug)]
pub struct Claim {
    claim_id: String,
    patient_id: String,
    sbr09: &'static str,
    lines: Vec<Line>,
}

/// Claims that can be written, and the ones that cannot.
#[derive(Debug, Default)]
pub struct Prepared {
    pub claims: Vec<Claim>,
    pub left_out: Vec<LeftOut>,
}

impl Prepared {
    pub fn lines(&self) -> usize {
        self.claims.iter().map(|c| c.lines.len()).sum()
    }
}

/// Groups the records by claim (claims in the order they first appear, then each patient's claims
/// together, in that order), checks that 005010X222A1 can carry each one exactly, and sorts lines
/// by line_no.
pub fn prepare(records: &[Record], seps: &Separators) -> Prepared {
    let mut order: Vec<(&str, Vec<&Record>)> = Vec::new();
    let mut at: FxHashMap<&str, usize> = FxHashMap::default();
    for r in records {
        let i = *at.entry(r.claim_id.as_str()).or_insert_with(|| {
            order.push((r.claim_id.as_str(), Vec::new()));
            order.len() - 1
        });
        order[i].1.push(r);
    }
    let mut prepared = Prepared::default();
    for (claim_id, recs) in order {
        let lines: Vec<usize> = recs.iter().map(|r| r.line).filter(|&l| l > 0).collect();
        match claim(claim_id, &recs, seps) {
            Ok(c) => prepared.claims.push(c),
            Err(reason) => prepared.left_out.push(LeftOut {
                claim_id: claim_id.to_string(),
                lines,
                reason,
            }),
        }
    }
    // a patient's claims together, so that a subscriber loop holds them all (the order of a
    // patient's own claims is kept: the rules read each patient on their own)
    let mut first: FxHashMap<String, usize> = FxHashMap::default();
    for (i, c) in prepared.claims.iter().enumerate() {
        first.entry(c.patient_id.clone()).or_insert(i);
    }
    prepared.claims.sort_by_key(|c| first[&c.patient_id]);
    prepared
}

/// Where in a file a record is, for reasons.
fn at_line(r: &Record) -> String {
    if r.line > 0 {
        format!("line {}: ", r.line)
    } else {
        String::new()
    }
}

fn claim(
    claim_id: &str,
    recs: &[&Record],
    seps: &Separators,
) -> std::result::Result<Claim, String> {
    let mut lines = Vec::with_capacity(recs.len());
    let mut first: Option<(&ClaimRow, &'static str)> = None;
    for r in recs {
        let row = r
            .row
            .as_ref()
            .map_err(|e| format!("{}malformed row ({e})", at_line(r)))?;
        let line = line(row, seps).map_err(|e| format!("{}{e}", at_line(r)))?;
        let sbr09 = sbr09(&row.payer_type).expect("checked by line()");
        match first {
            None => {
                text(&row.claim_id, seps, "claim_id", 1, 38)
                    .map_err(|e| format!("{}{e}", at_line(r)))?;
                text(&row.patient_id, seps, "patient_id", 2, 80)
                    .map_err(|e| format!("{}{e}", at_line(r)))?;
                first = Some((row, sbr09));
            }
            Some((f, code)) => {
                if row.patient_id != f.patient_id {
                    return Err(format!(
                        "{}patient_id `{}` beside `{}` on one claim: a 2300 claim belongs to one subscriber",
                        at_line(r),
                        row.patient_id,
                        f.patient_id
                    ));
                }
                if sbr09 != code {
                    return Err(format!(
                        "{}payer_type `{}` beside `{}` on one claim: SBR09 is one per subscriber loop",
                        at_line(r),
                        row.payer_type,
                        f.payer_type
                    ));
                }
            }
        }
        lines.push(line);
    }
    let (first, sbr09) = first.ok_or("no line")?;
    lines.sort_by_key(|l| l.line_no);
    if lines.len() > MAX_LINES {
        return Err(format!(
            "{} lines: an 837P claim holds at most {MAX_LINES} (loop 2400)",
            lines.len()
        ));
    }
    if let Some((i, l)) = lines
        .iter()
        .enumerate()
        .find(|(i, l)| l.line_no as usize != i + 1)
    {
        let numbers: Vec<String> = lines.iter().map(|l| l.line_no.to_string()).collect();
        return Err(format!(
            "line numbers {}: LX01 counts 1, 2, 3, … within a claim ({} where {} is due)",
            numbers.join(", "),
            l.line_no,
            i + 1
        ));
    }
    let mut hi: Vec<&str> = Vec::new();
    for l in &lines {
        for d in &l.dx {
            if !hi.contains(&d.as_str()) {
                hi.push(d);
            }
        }
    }
    if hi.len() > MAX_CODES {
        return Err(format!(
            "{} distinct diagnosis codes: HI holds at most {MAX_CODES}",
            hi.len()
        ));
    }
    debug_assert_eq!(first.claim_id, claim_id);
    Ok(Claim {
        claim_id: first.claim_id.clone(),
        patient_id: first.patient_id.clone(),
        sbr09,
        lines,
    })
}

/// SBR09 of a payer_type (compared case-insensitively, as SPEC §8 compares enumerations).
pub fn sbr09(payer_type: &str) -> Option<&'static str> {
    SBR09
        .iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(payer_type))
        .map(|(_, c)| *c)
}

/// A value X12 can carry in an element of `min..=max` characters: printable ASCII (X12's extended
/// character set of 00501) and no separator of the interchange.
fn text(
    v: &str,
    seps: &Separators,
    what: &str,
    min: usize,
    max: usize,
) -> std::result::Result<(), String> {
    if let Some(c) = v.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(format!("{what} `{v}`: {c:?} is not in X12's character set"));
    }
    if let Some(c) = v.chars().find(|c| seps.all().contains(c)) {
        return Err(format!(
            "{what} `{v}`: {c:?} is a separator of the interchange"
        ));
    }
    let n = v.chars().count();
    if n < min || n > max {
        return Err(format!(
            "{what} `{v}`: {n} characters, the element takes {min} to {max}"
        ));
    }
    Ok(())
}

fn npi(v: &str, what: &str) -> std::result::Result<(), String> {
    if v.len() == 10 && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "{what} `{v}`: an 837P names providers by NPI, 10 digits (NM108 XX)"
        ))
    }
}

/// An X12 decimal (type R) as pyx12 and the standard read one: optional minus, digits, optional
/// `.` and digits.
fn x12_decimal(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body
        .split_once('.')
        .map_or((body, None), |(i, f)| (i, Some(f)));
    int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        && (!int.is_empty() || frac.is_some())
}

/// Millionths as the shortest X12 decimal with at least 2 places (`190.00`, `12.125`).
fn decimal(micro: i64) -> String {
    let sign = if micro < 0 { "-" } else { "" };
    let (whole, frac) = (
        micro.unsigned_abs() / 1_000_000,
        micro.unsigned_abs() % 1_000_000,
    );
    let mut f = format!("{frac:06}");
    while f.len() > 2 && f.ends_with('0') {
        f.pop();
    }
    format!("{sign}{whole}.{f}")
}

/// One row as a service line, or why 837P cannot carry it.
fn line(r: &ClaimRow, seps: &Separators) -> std::result::Result<Line, String> {
    let required = |v: &str, what: &str| {
        if v.is_empty() {
            Err(format!("{what}: empty"))
        } else {
            Ok(())
        }
    };
    required(&r.claim_id, "claim_id")?;
    let line_no = parse_int(&r.line_no)
        .ok()
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v >= 1)
        .ok_or_else(|| format!("line_no: `{}` is not a line number ≥ 1", r.line_no))?;
    required(&r.patient_id, "patient_id")?;
    if sbr09(&r.payer_type).is_none() {
        return Err(format!(
            "payer_type `{}`: not a built-in profile (SBR09 is written for {})",
            r.payer_type,
            SBR09.map(|(p, _)| p).join(", ")
        ));
    }
    required(&r.rendering_npi, "rendering_npi")?;
    npi(&r.rendering_npi, "rendering_npi")?;
    if !r.referring_npi.is_empty() {
        npi(&r.referring_npi, "referring_npi")?;
    }
    if !r.rx_id.is_empty() {
        text(&r.rx_id, seps, "rx_id", 1, 50)?;
    }
    let day = parse_date(&r.service_date).map_err(|e| format!("service_date: {e}"))?;
    required(&r.cpt, "cpt")?;
    let cpt = r.cpt.to_ascii_uppercase();
    text(&cpt, seps, "cpt", 1, 48)?;
    let mut modifiers: Vec<String> = Vec::new();
    for m in codes(&r.modifiers) {
        text(&m, seps, "modifier", 2, 2)?;
        if !modifiers.iter().any(|x| x == m.as_str()) {
            modifiers.push(m.to_string());
        }
    }
    if modifiers.len() > MAX_MODIFIERS {
        return Err(format!(
            "modifiers `{}`: SV101 holds at most {MAX_MODIFIERS}",
            r.modifiers
        ));
    }
    let units = parse_int(&r.units).map_err(|e| format!("units: {e}"))?;
    let charge_micro = parse_charge(&r.charge).map_err(|e| format!("charge: {e}"))?;
    let charge = if x12_decimal(&r.charge) {
        r.charge.clone()
    } else {
        decimal(charge_micro)
    };
    let mut dx: Vec<String> = Vec::new();
    for c in codes(&r.diagnosis_codes) {
        let v = if icd_format_ok(&c) {
            icd_key(&c).to_string()
        } else {
            c.to_string()
        };
        text(&v, seps, "diagnosis code", 1, 30)?;
        if !dx.contains(&v) {
            dx.push(v);
        }
    }
    if dx.is_empty() {
        return Err(
            "no diagnosis code: SV107 must point to one (a valid 837P cannot carry DX_MISSING)"
                .into(),
        );
    }
    if dx.len() > MAX_POINTERS {
        return Err(format!(
            "{} distinct diagnosis codes on one line: SV107 has {MAX_POINTERS} pointers",
            dx.len()
        ));
    }
    Ok(Line {
        line_no,
        rendering: r.rendering_npi.clone(),
        referring: r.referring_npi.clone(),
        rx_id: r.rx_id.clone(),
        date: date_from_day(day).format("%Y%m%d").to_string(),
        cpt,
        modifiers,
        charge,
        charge_micro,
        units: units.to_string(),
        dx,
    })
}

/// The loops of one transaction below 1000B (HL 2000A to the last claim), numbered from HL 1.
#[derive(Clone, Debug, Default)]
pub struct Body {
    pub text: String,
    pub segments: usize,
    pub claims: usize,
    pub lines: usize,
}

/// Writes segments: elements joined by the element separator, trailing empty elements left out.
struct Segments<'a> {
    out: &'a mut String,
    seps: Separators,
    count: usize,
}

impl Segments<'_> {
    fn seg(&mut self, elements: &[&str]) {
        let n = elements
            .iter()
            .rposition(|e| !e.is_empty())
            .map_or(0, |i| i + 1);
        for (i, e) in elements[..n].iter().enumerate() {
            if i > 0 {
                self.out.push(self.seps.element);
            }
            self.out.push_str(e);
        }
        self.out.push(self.seps.segment);
        if self.seps.line_break {
            self.out.push('\n');
        }
        self.count += 1;
    }

    /// A composite element, trailing empty components left out.
    fn composite(&self, parts: &[&str]) -> String {
        let n = parts
            .iter()
            .rposition(|e| !e.is_empty())
            .map_or(0, |i| i + 1);
        let sep = self.seps.component.to_string();
        parts[..n].join(&sep)
    }
}

/// The same value on every line, if there is one (empty values count).
fn shared<'a>(lines: &'a [Line], f: impl Fn(&'a Line) -> &'a str) -> Option<&'a str> {
    let v = f(&lines[0]);
    lines.iter().all(|l| f(l) == v).then_some(v)
}

/// The claims in transactions of at most `opts.claims_per_transaction` claims each.
pub fn bodies(claims: &[Claim], opts: &Options) -> Vec<Body> {
    claims
        .chunks(opts.claims_per_transaction.max(1))
        .map(|c| body(c, opts))
        .collect()
}

/// One transaction's loops: the billing provider, then a subscriber loop per run of claims of one
/// patient and payer.
pub fn body(claims: &[Claim], opts: &Options) -> Body {
    let mut text = String::with_capacity(claims.len() * 400);
    let mut s = Segments {
        out: &mut text,
        seps: opts.separators,
        count: 0,
    };
    let b = &opts.billing;
    s.seg(&["HL", "1", "", "20", "1"]);
    s.seg(&["PRV", "BI", "PXC", &b.taxonomy]);
    s.seg(&["NM1", "85", "2", &b.name, "", "", "", "", "XX", &b.npi]);
    s.seg(&["N3", &b.street]);
    s.seg(&["N4", &b.city, &b.state, &b.zip]);
    s.seg(&["REF", "EI", &b.tax_id]);
    let mut hl = 1usize;
    let mut lines = 0usize;
    let mut subscriber: Option<(&str, &str)> = None;
    for c in claims {
        if subscriber != Some((c.patient_id.as_str(), c.sbr09)) {
            subscriber = Some((c.patient_id.as_str(), c.sbr09));
            hl += 1;
            let (_, payer, payer_id) = PAYERS
                .iter()
                .find(|(code, _, _)| *code == c.sbr09)
                .expect("a payer per SBR09 code");
            s.seg(&["HL", &hl.to_string(), "1", "22", "0"]);
            s.seg(&["SBR", "P", "18", "", "", "", "", "", "", c.sbr09]);
            s.seg(&[
                "NM1",
                "IL",
                "1",
                "PATIENT",
                "",
                "",
                "",
                "",
                "MI",
                &c.patient_id,
            ]);
            s.seg(&["NM1", "PR", "2", payer, "", "", "", "", "PI", payer_id]);
        }
        let total: i64 = c.lines.iter().map(|l| l.charge_micro).sum();
        let place = s.composite(&["11", "B", "1"]);
        s.seg(&[
            "CLM",
            &c.claim_id,
            &decimal(total),
            "",
            "",
            &place,
            "Y",
            "A",
            "Y",
            "Y",
        ]);
        let rx = shared(&c.lines, |l| &l.rx_id);
        if let Some(rx) = rx.filter(|r| !r.is_empty()) {
            s.seg(&["REF", "G1", rx]);
        }
        let mut hi: Vec<&str> = Vec::new();
        for l in &c.lines {
            for d in &l.dx {
                if !hi.contains(&d.as_str()) {
                    hi.push(d);
                }
            }
        }
        let mut elements = vec!["HI".to_string()];
        for (i, d) in hi.iter().enumerate() {
            elements.push(s.composite(&[if i == 0 { "ABK" } else { "ABF" }, d]));
        }
        s.seg(&elements.iter().map(String::as_str).collect::<Vec<_>>());
        let referring = shared(&c.lines, |l| &l.referring);
        if let Some(npi) = referring.filter(|r| !r.is_empty()) {
            s.seg(&["NM1", "DN", "1", "PRESCRIBER", "", "", "", "", "XX", npi]);
        }
        let rendering = shared(&c.lines, |l| &l.rendering);
        if let Some(npi) = rendering {
            s.seg(&["NM1", "82", "1", "THERAPIST", "", "", "", "", "XX", npi]);
        }
        for l in &c.lines {
            s.seg(&["LX", &l.line_no.to_string()]);
            let mut procedure = vec!["HC", l.cpt.as_str()];
            procedure.extend(l.modifiers.iter().map(String::as_str));
            let procedure = s.composite(&procedure);
            let pointers: Vec<String> =
                l.dx.iter()
                    .map(|d| (hi.iter().position(|h| h == d).expect("in HI") + 1).to_string())
                    .collect();
            let pointers = s.composite(&pointers.iter().map(String::as_str).collect::<Vec<_>>());
            s.seg(&[
                "SV1", &procedure, &l.charge, "UN", &l.units, "", "", &pointers,
            ]);
            s.seg(&["DTP", "472", "D8", &l.date]);
            if rx.is_none() && !l.rx_id.is_empty() {
                s.seg(&["REF", "G1", &l.rx_id]);
            }
            if rendering.is_none() {
                s.seg(&[
                    "NM1",
                    "82",
                    "1",
                    "THERAPIST",
                    "",
                    "",
                    "",
                    "",
                    "XX",
                    &l.rendering,
                ]);
            }
            if referring.is_none() && !l.referring.is_empty() {
                s.seg(&[
                    "NM1",
                    "DN",
                    "1",
                    "PRESCRIBER",
                    "",
                    "",
                    "",
                    "",
                    "XX",
                    &l.referring,
                ]);
            }
        }
        lines += c.lines.len();
    }
    let segments = s.count;
    Body {
        text,
        segments,
        claims: claims.len(),
        lines,
    }
}

/// An interchange being written: ISA and GS first, a transaction per `Body`, GE and IEA last.
pub struct Interchange<W: Write> {
    out: W,
    opts: Options,
    transactions: u32,
}

impl<W: Write> Interchange<W> {
    pub fn new(mut out: W, opts: &Options) -> Result<Interchange<W>> {
        let o = opts;
        let seps = o.separators;
        for (what, v) in [("sender id", &o.sender_id), ("receiver id", &o.receiver_id)] {
            if v.is_empty() || v.len() > 15 {
                bail!("837P {what} `{v}`: 1 to 15 characters (ISA06 / ISA08)");
            }
        }
        let distinct: std::collections::BTreeSet<char> = seps.all().into_iter().collect();
        if distinct.len() != 4
            || seps
                .all()
                .iter()
                .any(|c| c.is_ascii_alphanumeric() || *c == ' ')
        {
            bail!(
                "837P separators {:?}: four different characters, none a letter, digit or space",
                seps.all()
            );
        }
        let mut head = String::new();
        let mut s = Segments {
            out: &mut head,
            seps,
            count: 0,
        };
        let control = format!("{:09}", o.control_number);
        let component = seps.component.to_string();
        let repetition = seps.repetition.to_string();
        let usage = o.usage.to_string();
        s.seg(&[
            "ISA",
            "00",
            "          ",
            "00",
            "          ",
            "ZZ",
            &format!("{:<15}", o.sender_id),
            "ZZ",
            &format!("{:<15}", o.receiver_id),
            &o.date[2..],
            &o.time,
            &repetition,
            "00501",
            &control,
            "0",
            &usage,
            &component,
        ]);
        s.seg(&[
            "GS",
            "HC",
            &o.sender_id,
            &o.receiver_id,
            &o.date,
            &o.time,
            &o.control_number.to_string(),
            "X",
            "005010X222A1",
        ]);
        out.write_all(head.as_bytes())?;
        Ok(Interchange {
            out,
            opts: opts.clone(),
            transactions: 0,
        })
    }

    /// One ST … SE around `body`: its header (BHT, 1000A submitter, 1000B receiver) and counts.
    pub fn transaction(&mut self, body: &Body) -> Result<()> {
        self.transactions += 1;
        let o = &self.opts;
        let st = format!("{:04}", self.transactions);
        let mut head = String::new();
        let mut s = Segments {
            out: &mut head,
            seps: o.separators,
            count: 0,
        };
        s.seg(&["ST", "837", &st, "005010X222A1"]);
        s.seg(&["BHT", "0019", "00", &st, &o.date, &o.time, "CH"]);
        s.seg(&[
            "NM1",
            "41",
            "2",
            &o.submitter_name,
            "",
            "",
            "",
            "",
            "46",
            &o.sender_id,
        ]);
        s.seg(&["PER", "IC", &o.submitter_contact, "TE", &o.submitter_phone]);
        s.seg(&[
            "NM1",
            "40",
            "2",
            &o.receiver_name,
            "",
            "",
            "",
            "",
            "46",
            &o.receiver_id,
        ]);
        let count = s.count + body.segments + 1;
        let mut tail = String::new();
        let mut t = Segments {
            out: &mut tail,
            seps: o.separators,
            count: 0,
        };
        t.seg(&["SE", &count.to_string(), &st]);
        self.out.write_all(head.as_bytes())?;
        self.out.write_all(body.text.as_bytes())?;
        self.out.write_all(tail.as_bytes())?;
        Ok(())
    }

    /// GE and IEA; the writer back.
    pub fn finish(mut self) -> Result<W> {
        let o = &self.opts;
        let mut tail = String::new();
        let mut s = Segments {
            out: &mut tail,
            seps: o.separators,
            count: 0,
        };
        s.seg(&[
            "GE",
            &self.transactions.to_string(),
            &o.control_number.to_string(),
        ]);
        s.seg(&["IEA", "1", &format!("{:09}", o.control_number)]);
        self.out.write_all(tail.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A converted batch: the interchange, what it holds and what it could not.
#[derive(Debug)]
pub struct Conversion {
    pub text: String,
    pub claims: usize,
    pub lines: usize,
    pub transactions: usize,
    pub left_out: Vec<LeftOut>,
}

/// Claims records as one 837P interchange.
pub fn convert(records: &[Record], opts: &Options) -> Result<Conversion> {
    let prepared = prepare(records, &opts.separators);
    let bodies = bodies(&prepared.claims, opts);
    let mut x = Interchange::new(Vec::new(), opts)?;
    for b in &bodies {
        x.transaction(b)?;
    }
    let text = String::from_utf8(x.finish()?).expect("ASCII");
    Ok(Conversion {
        text,
        claims: prepared.claims.len(),
        lines: prepared.lines(),
        transactions: bodies.len(),
        left_out: prepared.left_out,
    })
}

/// A claims CSV as one 837P interchange.
pub fn convert_csv(data: &[u8], file: &str, opts: &Options) -> Result<Conversion> {
    convert(&read_claims_csv(data, file)?, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "claim_id,line_no,patient_id,payer_type,rendering_npi,referring_npi,rx_id,service_date,cpt,modifiers,units,charge,diagnosis_codes\n";

    fn conv(rows: &str) -> Conversion {
        convert_csv(
            format!("{HEADER}{rows}").as_bytes(),
            "claims.csv",
            &Options::default(),
        )
        .unwrap()
    }

    fn segments(text: &str) -> Vec<&str> {
        text.split('~')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }

    #[test]
    fn the_spec_example_becomes_one_claim_of_two_lines() {
        let c = conv(
            "C-1001,1,P-77,workers_comp,1234567893,1999999992,RX-55,2025-03-10,97140,,2,90.00,S13.4XXA\n\
             C-1001,2,P-77,workers_comp,1234567893,1999999992,RX-55,2025-03-10,97124,,1,40.00,S13.4XXA;M54.2\n",
        );
        assert_eq!((c.claims, c.lines, c.transactions), (1, 2, 1));
        assert!(c.left_out.is_empty());
        let s = segments(&c.text);
        let want = [
            "HL*2*1*22*0",
            "SBR*P*18*******WC",
            "NM1*IL*1*PATIENT*****MI*P-77",
            "NM1*PR*2*WORKERS COMP CARRIER*****PI*WCOMP1",
            "CLM*C-1001*130.00***11:B:1*Y*A*Y*Y",
            "REF*G1*RX-55",
            "HI*ABK:S134XXA*ABF:M542",
            "NM1*DN*1*PRESCRIBER*****XX*1999999992",
            "NM1*82*1*THERAPIST*****XX*1234567893",
            "LX*1",
            "SV1*HC:97140*90.00*UN*2***1",
            "DTP*472*D8*20250310",
            "LX*2",
            "SV1*HC:97124*40.00*UN*1***1:2",
            "DTP*472*D8*20250310",
        ];
        let from = s.iter().position(|x| *x == want[0]).unwrap();
        assert_eq!(&s[from..from + want.len()], &want);
        // ST + BHT + 1000A/B (4 with PER) + HL 2000A and its 5 segments + the 15 above + SE
        assert!(s.contains(&"SE*27*0001"), "{s:?}");
        assert_eq!(s.last(), Some(&"IEA*1*000000001"));
        assert!(s.contains(&"GE*1*1"));
    }

    #[test]
    fn values_the_lines_do_not_share_go_on_the_lines() {
        let c = conv(
            "C-1,1,P-1,medicare,1234567893,1999999992,RX-1,3/7/2025,97140,gp;59;GP,1,45,M54.50\n\
             C-1,2,P-1,Medicare,1497758544,,,2025-03-07,97110,GP,2,84.000,M5450;Z96.651\n",
        );
        assert!(c.left_out.is_empty(), "{:?}", c.left_out);
        let s = segments(&c.text);
        let from = s.iter().position(|x| x.starts_with("CLM*")).unwrap();
        assert_eq!(
            &s[from..s.len() - 3],
            &[
                "CLM*C-1*129.00***11:B:1*Y*A*Y*Y",
                "HI*ABK:M5450*ABF:Z96651",
                "LX*1",
                "SV1*HC:97140:GP:59*45*UN*1***1",
                "DTP*472*D8*20250307",
                "REF*G1*RX-1",
                "NM1*82*1*THERAPIST*****XX*1234567893",
                "NM1*DN*1*PRESCRIBER*****XX*1999999992",
                "LX*2",
                "SV1*HC:97110:GP*84.000*UN*2***1:2",
                "DTP*472*D8*20250307",
                "NM1*82*1*THERAPIST*****XX*1497758544",
            ]
        );
        assert!(s.contains(&"SBR*P*18*******MB"));
    }

    #[test]
    fn codes_of_bad_format_keep_their_dot_and_good_ones_lose_it() {
        let c = conv(
            "C-1,1,P-1,commercial,1234567893,,,2025-03-07,97140,,1,45,m54.;M54.12345;97140;m54.2\n",
        );
        assert!(segments(&c.text).contains(&"HI*ABK:M54.*ABF:M54.12345*ABF:97140*ABF:M542"));
    }

    #[test]
    fn charges_and_units_that_are_not_x12_numbers_are_written_as_the_same_amount() {
        let c = conv("C-1,1,P-1,commercial,1234567893,,,2025-03-07,97140,,+02,+45.5,M54.2\nC-1,2,P-1,commercial,1234567893,,,2025-03-07,97124,,0,.25,M54.2\n");
        let s = segments(&c.text);
        assert!(s.contains(&"SV1*HC:97140*45.50*UN*2***1"), "{s:?}");
        assert!(s.contains(&"SV1*HC:97124*.25*UN*0***1"), "{s:?}");
        assert!(s.contains(&"CLM*C-1*45.75***11:B:1*Y*A*Y*Y"), "{s:?}");
        assert_eq!(decimal(-1_500_000), "-1.50");
        assert_eq!(decimal(12_125_000), "12.125");
        for ok in ["1", "1.5", ".5", "-2.00", "0"] {
            assert!(x12_decimal(ok), "{ok}");
        }
        for bad in ["+1", "1.", "", "-", "$1", "1e3"] {
            assert!(!x12_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn claims_837p_cannot_carry_are_left_out_whole_with_why() {
        let c = conv(
            "C-1,1,P-1,commercial,1234567893,,,2025-03-07,97140,,1,45,\n\
             C-1,2,P-1,commercial,1234567893,,,2025-03-07,97124,,1,40,M54.2\n\
             C-2,1,P-2,commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2;M54.50;M54.59;M62.830;M62.838\n\
             C-3,1,P-3,commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2\n\
             C-3,3,P-3,commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2\n\
             C-4,1,P-4,commercial,1234567893,,,2025-03-07,97140,,1,$45,M54.2\n\
             C-5,1,P-5,commercial,12345,,,2025-03-07,97140,,1,45,M54.2\n\
             C-6,1,P-6,medicare,1234567893,,,2025-03-07,97140,GP;59;KX;XU;76,1,45,M54.2\n\
             C-7,1,P-7,commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2\n\
             C-7,2,P-8,commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2\n\
             C-8,1,P-9,tricare,1234567893,,,2025-03-07,97140,,1,45,M54.2\n\
             C-9,1,P-9,commercial,1234567893,,R*1,2025-03-07,97140,,1,45,M54.2\n\
             C-10,1,P-10,commercial,1234567893\n\
             C-11,1,P-11,commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2\n",
        );
        let why: Vec<(&str, &str)> = c
            .left_out
            .iter()
            .map(|l| (l.claim_id.as_str(), l.reason.as_str()))
            .collect();
        let expect = [
            ("C-1", "line 2: no diagnosis code"),
            ("C-2", "line 4: 5 distinct diagnosis codes on one line"),
            ("C-3", "line numbers 1, 3"),
            ("C-4", "line 7: charge: `$45` is not a plain decimal amount"),
            ("C-5", "line 8: rendering_npi `12345`"),
            (
                "C-6",
                "line 9: modifiers `GP;59;KX;XU;76`: SV101 holds at most 4",
            ),
            ("C-7", "line 11: patient_id `P-8` beside `P-7`"),
            (
                "C-8",
                "line 12: payer_type `tricare`: not a built-in profile",
            ),
            ("C-9", "line 13: rx_id `R*1`: '*' is a separator"),
            (
                "C-10",
                "line 14: malformed row (expected 13 fields, found 5)",
            ),
        ];
        assert_eq!(why.len(), expect.len(), "{why:?}");
        for ((id, reason), (want_id, want)) in why.iter().zip(expect) {
            assert_eq!(*id, want_id);
            assert!(reason.starts_with(want), "{id}: {reason}");
        }
        assert_eq!(c.left_out[0].lines, vec![2, 3]);
        assert_eq!((c.claims, c.lines), (1, 1));
        assert!(c.text.contains("CLM*C-11*"));
    }

    #[test]
    fn claims_beyond_the_guides_limits_are_left_out() {
        let mut rows = String::new();
        for i in 1..=51 {
            rows.push_str(&format!(
                "C-1,{i},P-1,commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2\n"
            ));
        }
        for (i, code) in [
            "M54.2", "M54.50", "M54.59", "M62.830", "M62.838", "M79.7", "M79.10", "M79.12",
            "M79.18", "S13.4XXA", "Z47.1", "Z96.651", "I89.0",
        ]
        .iter()
        .enumerate()
        {
            rows.push_str(&format!(
                "C-2,{},P-2,commercial,1234567893,,,2025-03-07,97140,,1,45,{code}\n",
                i + 1
            ));
        }
        rows.push_str("C-3,1,P-3,commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2\n");
        let c = conv(&rows);
        let why: Vec<&str> = c.left_out.iter().map(|l| l.reason.as_str()).collect();
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why[0].starts_with("51 lines"), "{}", why[0]);
        assert!(
            why[1].starts_with("13 distinct diagnosis codes"),
            "{}",
            why[1]
        );
        assert_eq!(c.claims, 1);
    }

    #[test]
    fn a_claim_of_exactly_50_lines_and_12_codes_is_written() {
        let codes = [
            "M54.2", "M54.50", "M54.59", "M62.830", "M62.838", "M79.7", "M79.10", "M79.12",
            "M79.18", "S13.4XXA", "Z47.1", "Z96.651",
        ];
        let mut rows = String::new();
        for i in 1..=50 {
            rows.push_str(&format!(
                "C-1,{i},P-1,commercial,1234567893,,,2025-03-07,97140,,1,45,{}\n",
                codes[(i - 1) % 12]
            ));
        }
        let c = conv(&rows);
        assert!(c.left_out.is_empty(), "{:?}", c.left_out);
        assert_eq!(c.lines, 50);
        assert!(c.text.contains("ABF:Z96651~"));
    }

    #[test]
    fn a_patients_claims_share_one_subscriber_loop_and_keep_their_order() {
        let c = conv(
            "C-2,1,P-1,commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2\n\
             C-1,1,P-2,commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2\n\
             C-3,1,P-1,commercial,1234567893,,,2025-03-09,97140,,1,45,M54.2\n\
             C-4,1,P-1,medicaid,1234567893,,,2025-03-10,97140,GP,1,45,M54.2\n",
        );
        let s = segments(&c.text);
        let keys: Vec<&str> = s
            .iter()
            .copied()
            .filter(|x| x.starts_with("HL*") || x.starts_with("CLM*"))
            .collect();
        assert_eq!(
            keys,
            [
                "HL*1**20*1",
                "HL*2*1*22*0",
                "CLM*C-2*45.00***11:B:1*Y*A*Y*Y",
                "CLM*C-3*45.00***11:B:1*Y*A*Y*Y",
                "HL*3*1*22*0",
                "CLM*C-4*45.00***11:B:1*Y*A*Y*Y",
                "HL*4*1*22*0",
                "CLM*C-1*45.00***11:B:1*Y*A*Y*Y",
            ]
        );
    }

    #[test]
    fn transactions_split_at_the_claim_limit_with_their_own_counts() {
        let mut rows = String::new();
        for i in 1..=5 {
            rows.push_str(&format!(
                "C-{i},1,P-{i},commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2\n"
            ));
        }
        let opts = Options {
            claims_per_transaction: 2,
            separators: Separators {
                element: '|',
                component: '^',
                repetition: '{',
                segment: '\n',
                line_break: false,
            },
            ..Options::default()
        };
        let c = convert_csv(format!("{HEADER}{rows}").as_bytes(), "c.csv", &opts).unwrap();
        assert_eq!(c.transactions, 3);
        let s: Vec<&str> = c.text.lines().collect();
        assert!(s[0].starts_with("ISA|00|"), "{}", s[0]);
        assert!(s[0].ends_with("|{|00501|000000001|0|T|^"), "{}", s[0]);
        let st: Vec<&str> = s.iter().copied().filter(|x| x.starts_with("ST|")).collect();
        assert_eq!(
            st,
            [
                "ST|837|0001|005010X222A1",
                "ST|837|0002|005010X222A1",
                "ST|837|0003|005010X222A1"
            ]
        );
        assert!(s.contains(&"GE|3|1"));
        // a transaction of one claim: 5 header segments, 6 of the billing provider, 4 of the
        // subscriber, CLM HI NM1*82 LX SV1 DTP, SE
        assert!(s.contains(&"SE|22|0003"), "{s:?}");
        assert!(s.contains(&"SV1|HC^97140|45|UN|1|||1"));
    }

    #[test]
    fn a_file_without_a_required_column_is_an_error_naming_it() {
        let e =
            convert_csv(b"claim_id,line_no\nC-1,1\n", "x.csv", &Options::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.csv: no column `patient_id` in the header (line 1)"
        );
        // optional columns may be absent, names are matched trimmed and case-insensitively
        let c = convert_csv(
            b"\xEF\xBB\xBFClaim_ID, line_no ,patient_id,payer_type,rendering_npi,service_date,cpt,units,charge,diagnosis_codes,note\nC-1,1,P-1,commercial,1234567893,2025-03-07,97140,1,45,M54.2,hello\n",
            "y.csv",
            &Options::default(),
        )
        .unwrap();
        assert_eq!((c.claims, c.lines), (1, 1), "{:?}", c.left_out);
    }

    #[test]
    fn bytes_that_are_not_utf8_in_a_column_make_the_row_malformed() {
        let mut data = HEADER.as_bytes().to_vec();
        data.extend_from_slice(
            b"C-1,1,P-Jos\xE9,commercial,1234567893,,,2025-03-07,97140,,1,45,M54.2\n",
        );
        let c = convert_csv(&data, "c.csv", &Options::default()).unwrap();
        assert_eq!(c.left_out.len(), 1);
        assert_eq!(
            c.left_out[0].reason,
            "line 2: malformed row (patient_id: not valid UTF-8)"
        );
        let bad = |seps: Separators| {
            Interchange::new(
                Vec::new(),
                &Options {
                    separators: seps,
                    ..Options::default()
                },
            )
            .is_err()
        };
        assert!(bad(Separators {
            element: '*',
            component: '*',
            ..Separators::STANDARD
        }));
        assert!(bad(Separators {
            element: 'A',
            ..Separators::STANDARD
        }));
        assert!(!bad(Separators::STANDARD));
    }
}
