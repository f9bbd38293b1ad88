//! The four tables of SPEC §6 in CSV or Parquet: clean, held, rejections, malformed.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::file::OutFile;
use super::parquet::{Kind, ParquetOut, Piece};
use super::OutFormat;
use rayon::prelude::*;

use smallvec::SmallVec;

use crate::base::values::{iso, parse_int};
use crate::hold::{hold_rules, Decision};
use crate::input::parquet::Rows;
use crate::input::split::with_messy_fields;
use crate::input::table::{csv_line, push_csv_line, Body, RawTable};
use crate::ledger::{Entry, Found, Ledger};
use crate::reference::policy::Policy;

/// A CSV output table being written, row by row.
pub struct TableWriter(Box<csv::Writer<OutFile>>, PathBuf);

impl TableWriter {
    pub fn create(path: &Path, header: &[&str]) -> Result<TableWriter> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(OutFile::create(path)?);
        w.write_record(header)?;
        Ok(TableWriter(Box::new(w), path.into()))
    }

    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) -> Result<()> {
        self.0
            .write_record(fields.iter().map(|f| f.as_ref()))
            .with_context(|| format!("{}: write error", self.1.display()))
    }

    pub fn finish(self) -> Result<()> {
        let path = self.1;
        self.0
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(OutFile::finish)
            .with_context(|| format!("{}: write error", path.display()))
    }
}

/// The decimals a charge in millionths needs to be written exactly.
fn decimals_of(micro: i64) -> u32 {
    let mut frac = micro.unsigned_abs() % 1_000_000;
    if frac == 0 {
        return 0;
    }
    let mut d = 6;
    while frac.is_multiple_of(10) {
        frac /= 10;
        d -= 1;
    }
    d
}

/// The scale of a charge column: two places, more when a value has them.
fn money_scale(max_decimals: u32) -> u32 {
    max_decimals.max(2)
}

/// Claim lines per piece of `clean` and `held` built at once (pieces are gathered into row
/// groups of about 2^18 rows).
const PIECE: usize = 1 << 16;

/// Write out the rest of a finished output.
fn close(w: OutFile, path: &Path) -> Result<()> {
    w.finish()
        .with_context(|| format!("{}: write error", path.display()))
}

/// Rows per unit of parallel formatting.
const ROWS: usize = 1 << 15;

fn csv_writer(buf: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(buf)
}

/// `f` of the values of a claims row as read: slices of the file where the row needs no
/// unquoting, else as `with_messy_fields` reads it; a Parquet row from `rows` (read back a few row
/// groups at a time).
fn with_row<R>(
    raw: &[u8],
    span: (usize, usize),
    rows: Option<&Rows>,
    f: impl FnOnce(&[&str]) -> R,
) -> R {
    let Some(rows) = rows else {
        let text = &raw[span.0..span.1];
        if memchr::memchr2(b'"', b'\r', text).is_none() {
            if let Ok(text) = std::str::from_utf8(text) {
                let fields: SmallVec<[&str; 24]> = text.split(',').collect();
                return f(&fields);
            }
        }
        return with_messy_fields(text, f);
    };
    let g = rows.group(span.0);
    let fields: SmallVec<[&str; 24]> = (0..g.columns.len()).map(|c| g.value(span.0, c)).collect();
    f(&fields)
}

/// Make the Parquet rows of `lines` readable (a no-op for CSV).
fn cover(rows: &mut Option<Rows>, lines: &[Entry]) -> Result<()> {
    match (rows, lines.first(), lines.last()) {
        (Some(rows), Some(a), Some(b)) => rows.cover(a.span().0, b.span().0),
        _ => Ok(()),
    }
}

/// Column types of `clean` and `held` in Parquet: the SPEC §2 columns `line_no` and `units` as
/// integers, `service_date` as a date, `charge` as a decimal of `scale` places (the first column
/// of each name, as the reader takes it); every other column as text.
fn claims_kinds(claims: &RawTable, scale: u32) -> Vec<Kind> {
    let names: Vec<String> = claims
        .headers
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut kinds = vec![Kind::Text; names.len()];
    for (name, kind) in [
        ("line_no", Kind::Int),
        ("units", Kind::Int),
        ("service_date", Kind::Date),
        ("charge", Kind::Money(scale)),
    ] {
        if let Some(i) = names.iter().position(|n| n == name) {
            kinds[i] = kind;
        }
    }
    kinds
}

/// One claims row into a piece of `clean` or `held`: text as read, typed values as the reader
/// parsed them (date and charge from the ledger).
fn claims_row(piece: &mut Piece, kinds: &[Kind], fields: &[&str], line: &Entry, defuse: bool) {
    for (c, k) in kinds.iter().enumerate() {
        let v = fields.get(c).copied().unwrap_or("");
        match k {
            Kind::Text => piece.text(c, &defuse_if(defuse, v)),
            Kind::Int => piece.int(c, parse_int(v.trim()).ok()),
            Kind::Date => piece.date(c, line.date),
            Kind::Money(_) => piece.money(c, line.charge),
            Kind::Line => unreachable!("no line column in clean or held"),
        }
    }
}

/// `clean` and `held` in Parquet: blocks of lines built in parallel, each written while the next
/// is built.
fn parquet_clean_held(
    claims: &RawTable,
    batch: &Ledger,
    decisions: &[Decision],
    (header, held_header): (&[&str], &[&str]),
    clean_path: &Path,
    held_path: &Path,
    defuse: bool,
) -> Result<()> {
    // the decimals the charges of each output need
    let (clean_dec, held_dec) = batch
        .lines
        .par_iter()
        .zip(decisions)
        .fold(
            || (0, 0),
            |(c, h), (l, d)| {
                let n = decimals_of(l.charge);
                if *d == 0 {
                    (c.max(n), h)
                } else {
                    (c, h.max(n))
                }
            },
        )
        .reduce(|| (0, 0), |a, b| (a.0.max(b.0), a.1.max(b.1)));
    let clean_kinds = claims_kinds(claims, money_scale(clean_dec));
    let mut held_kinds = claims_kinds(claims, money_scale(held_dec));
    let width = held_kinds.len();
    held_kinds.push(Kind::Text);
    let raw = &batch.text.raw[..];
    let mut clean = ParquetOut::create(
        OutFile::create(clean_path)?,
        clean_path,
        header,
        &clean_kinds,
    )?;
    let mut held = ParquetOut::create(
        OutFile::create(held_path)?,
        held_path,
        held_header,
        &held_kinds,
    )?;
    let mut rows = claims.rows(None);
    let build = |lines: &[Entry],
                 decisions: &[Decision],
                 rows: Option<&Rows>|
     -> Result<Vec<(Piece, Piece)>> {
        lines
            .par_chunks(PIECE)
            .zip(decisions.par_chunks(PIECE))
            .map(|(lines, decisions)| {
                let held_rows = decisions.iter().filter(|d| **d != 0).count();
                let mut c = Piece::new(&clean_kinds, lines.len() - held_rows);
                let mut h = Piece::new(&held_kinds, held_rows);
                for (l, d) in lines.iter().zip(decisions) {
                    with_row(raw, l.span(), rows, |fields| {
                        if *d == 0 {
                            claims_row(&mut c, &clean_kinds, fields, l, defuse);
                        } else {
                            claims_row(&mut h, &held_kinds[..width], fields, l, defuse);
                            h.text(width, &hold_rules(*d));
                        }
                    });
                }
                Ok((c, h))
            })
            .collect()
    };
    // a few hundred thousand lines at a time: memory bounded, writing beside building (a Parquet
    // input's rows read back a few row groups at a time)
    let step = PIECE * (2 * rayon::current_num_threads()).min(16);
    let mut blocks = batch.lines.chunks(step).zip(decisions.chunks(step));
    let mut ready: Option<Vec<(Piece, Piece)>> = None;
    loop {
        let next = blocks.next();
        if let Some((lines, _)) = next {
            cover(&mut rows, lines)?;
        }
        let done = ready.take();
        let rows = rows.as_ref();
        let (built, wrote) = rayon::join(
            || next.map(|(l, d)| build(l, d, rows)).transpose(),
            || -> Result<()> {
                let Some(parts) = done else {
                    return Ok(());
                };
                let (c, h): (Vec<Piece>, Vec<Piece>) = parts.into_iter().unzip();
                let (a, b) = rayon::join(|| clean.push(c), || held.push(h));
                a.and(b)
            },
        );
        wrote?;
        match built? {
            Some(parts) => ready = Some(parts),
            None => break,
        }
    }
    close(clean.finish()?, clean_path)?;
    close(held.finish()?, held_path)
}

/// `clean` and `held`: the claims rows as read, in input order; `held` adds `hold_rules`. With
/// `defuse`, every cell a spreadsheet would read as a formula gets a leading `'`.
#[allow(clippy::too_many_arguments)]
pub fn write_clean_held(
    claims: &RawTable,
    batch: &Ledger,
    decisions: &[Decision],
    format: OutFormat,
    clean_path: &Path,
    held_path: &Path,
    defuse: bool,
) -> Result<()> {
    let header: Vec<Cow<str>> = claims
        .headers
        .iter()
        .map(|h| defuse_if(defuse, h))
        .collect();
    let header: Vec<&str> = header.iter().map(|h| h.as_ref()).collect();
    let mut held_header = header.clone();
    held_header.push("hold_rules");
    let raw = &batch.text.raw[..];
    let csv_input = matches!(claims.body, Body::Csv { .. });
    let mut rows = claims.rows(None);
    if format == OutFormat::Parquet {
        return parquet_clean_held(
            claims,
            batch,
            decisions,
            (&header, &held_header),
            clean_path,
            held_path,
            defuse,
        );
    }
    // CSV: a row without quotes or carriage returns needs none on output either, so its text is
    // copied as it is (unless a cell is to be defused); other rows are split and written again,
    // quoted where CSV needs it
    let open = |path: &Path, head: &[&str]| -> Result<OutFile> {
        let mut w = OutFile::create(path)?;
        w.write_all(csv_line(head).as_bytes())
            .and_then(|_| w.write_all(b"\n"))
            .with_context(|| format!("{}: write error", path.display()))?;
        Ok(w)
    };
    let (mut clean_w, mut held_w) = (open(clean_path, &header)?, open(held_path, &held_header)?);
    // a few million lines at a time: formatted in parallel, written in order, memory bounded
    let step = ROWS * 4 * rayon::current_num_threads();
    for (lines, decisions) in batch.lines.chunks(step).zip(decisions.chunks(step)) {
        cover(&mut rows, lines)?;
        let rows = rows.as_ref();
        let parts: Vec<(Vec<u8>, Vec<u8>)> = lines
            .par_chunks(ROWS)
            .zip(decisions.par_chunks(ROWS))
            .map(|(lines, decisions)| {
                let (mut clean, mut held) = (Vec::with_capacity(ROWS * 110), Vec::new());
                for (l, d) in lines.iter().zip(decisions) {
                    let out = if *d != 0 { &mut held } else { &mut clean };
                    let span = l.span();
                    let text = if csv_input {
                        &raw[span.0..span.1]
                    } else {
                        &[][..]
                    };
                    let fast = csv_input
                        && memchr::memchr2(b'"', b'\r', text).is_none()
                        && !(defuse && text.split(|b| *b == b',').any(risky));
                    if fast {
                        out.extend_from_slice(text);
                        out.push(b'\n');
                    } else {
                        with_row(raw, span, rows, |fields| {
                            if defuse {
                                let fields: SmallVec<[Cow<str>; 24]> =
                                    fields.iter().map(|f| self::defuse(f)).collect();
                                push_csv_line(out, &fields);
                            } else {
                                push_csv_line(out, fields);
                            }
                        });
                    }
                    if *d != 0 {
                        // the line end moves after hold_rules
                        out.pop();
                        out.push(b',');
                        out.extend_from_slice(hold_rules(*d).as_bytes());
                        out.push(b'\n');
                    }
                }
                (clean, held)
            })
            .collect();
        for (c, h) in &parts {
            clean_w
                .write_all(c)
                .with_context(|| format!("{}: write error", clean_path.display()))?;
            held_w
                .write_all(h)
                .with_context(|| format!("{}: write error", held_path.display()))?;
        }
    }
    for (w, path) in [(clean_w, clean_path), (held_w, held_path)] {
        close(w, path)?;
    }
    Ok(())
}

pub const REJECTIONS_HEADER: [&str; 14] = [
    "claim_id",
    "line_no",
    "patient_id",
    "service_date",
    "cpt",
    "payer_type",
    "rule",
    "severity",
    "carc",
    "rarc",
    "carc_text",
    "rarc_text",
    "message",
    "charge",
];

/// Whether a spreadsheet would read a cell as a formula: its first character is `=`, `+`, `@`,
/// `-` not followed by a digit (SPEC §8 "Outputs"), or a tab or carriage return (OWASP's list).
fn risky(b: &[u8]) -> bool {
    match b.first() {
        Some(b'=' | b'+' | b'@' | b'\t' | b'\r') => true,
        Some(b'-') => !b.get(1).is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// A value that a spreadsheet would read as a formula gets a leading `'` (SPEC §8 "Outputs").
pub fn defuse(v: &str) -> std::borrow::Cow<'_, str> {
    if risky(v.as_bytes()) {
        format!("'{v}").into()
    } else {
        v.into()
    }
}

/// `defuse` when asked (`scrub --defuse-formulas`), else the value as it is.
fn defuse_if(on: bool, v: &str) -> std::borrow::Cow<'_, str> {
    if on {
        defuse(v)
    } else {
        v.into()
    }
}

/// One row of `rejections`.
fn rejection_row<'a>(batch: &'a Ledger, f: &'a Found, policy: &'a Policy) -> [Cow<'a, str>; 14] {
    let l = &batch.lines[f.line as usize];
    let info = f.rule.info();
    let reject = info.severity == crate::rules::Severity::Reject;
    let (carc_text, rarc_text) = f.rule.code_texts();
    [
        defuse(batch.text(l.claim_id)),
        f.line_no.to_string().into(),
        defuse(batch.text(f.patient_id)),
        iso(l.date).into(),
        defuse(&f.cpt),
        policy.profiles[l.payer as usize].name.as_str().into(),
        info.id.into(),
        info.severity.as_str().into(),
        (if reject { info.carc } else { "" }).into(),
        (if reject { info.rarc } else { "" }).into(),
        (if reject { carc_text } else { "" }).into(),
        (if reject { rarc_text } else { "" }).into(),
        defuse(&f.message),
        defuse(batch.text(f.charge_text)),
    ]
}

/// `rejections` in Parquet: `line_no` an integer, `service_date` a date, `charge` a decimal, the
/// rest text as in CSV.
fn parquet_rejections(batch: &Ledger, policy: &Policy, path: &Path) -> Result<()> {
    let decimals = batch
        .findings
        .par_iter()
        .map(|f| decimals_of(batch.lines[f.line as usize].charge))
        .max()
        .unwrap_or(0);
    let mut kinds = [Kind::Text; 14];
    kinds[1] = Kind::Int;
    kinds[3] = Kind::Date;
    kinds[13] = Kind::Money(money_scale(decimals));
    let pieces: Vec<Piece> = batch
        .findings
        .par_chunks(ROWS)
        .map(|chunk| {
            let mut p = Piece::new(&kinds, chunk.len());
            for f in chunk {
                let l = &batch.lines[f.line as usize];
                let row = rejection_row(batch, f, policy);
                for (c, (k, v)) in kinds.iter().zip(&row).enumerate() {
                    match k {
                        Kind::Text => p.text(c, v),
                        Kind::Int => p.int(c, Some(f.line_no as i64)),
                        Kind::Date => p.date(c, l.date),
                        Kind::Money(_) => p.money(c, l.charge),
                        Kind::Line => unreachable!("no line column in rejections"),
                    }
                }
            }
            p
        })
        .collect();
    let mut w = ParquetOut::create(OutFile::create(path)?, path, &REJECTIONS_HEADER, &kinds)?;
    w.push(pieces)?;
    close(w.finish()?, path)
}

pub fn write_rejections(
    batch: &Ledger,
    policy: &Policy,
    format: OutFormat,
    path: &Path,
) -> Result<()> {
    if format == OutFormat::Parquet {
        return parquet_rejections(batch, policy, path);
    }
    let parts: Vec<Vec<u8>> = batch
        .findings
        .par_chunks(ROWS)
        .map(|chunk| {
            let mut w = csv_writer(Vec::new());
            for f in chunk {
                w.write_record(rejection_row(batch, f, policy).iter().map(|c| c.as_bytes()))
                    .expect("writing to memory");
            }
            w.into_inner().expect("flush to memory")
        })
        .collect();
    let mut w = OutFile::create(path)?;
    w.write_all(csv_line(&REJECTIONS_HEADER).as_bytes())
        .and_then(|_| w.write_all(b"\n"))
        .and_then(|_| parts.iter().try_for_each(|p| w.write_all(p)))
        .and_then(|_| w.finish())
        .with_context(|| format!("{}: write error", path.display()))
}

/// `malformed`: with `defuse`, its text cells (the raw record above all) get a leading `'` where
/// a spreadsheet would read a formula.
pub fn write_malformed(batch: &Ledger, format: OutFormat, path: &Path, defuse: bool) -> Result<()> {
    let header = ["file", "line", "error", "raw"];
    let rows = batch.malformed.iter().flatten();
    let d = |v: &'_ str| defuse_if(defuse, v).into_owned();
    if format == OutFormat::Parquet {
        // `line` an integer, the rest text
        let kinds = [Kind::Text, Kind::Int, Kind::Text, Kind::Text];
        let mut p = Piece::new(&kinds, rows.clone().count());
        for m in rows {
            p.text(0, &d(&m.file));
            p.int(1, i64::try_from(m.line).ok());
            p.text(2, &d(&m.error));
            p.text(3, &d(&m.raw));
        }
        let mut w = ParquetOut::create(OutFile::create(path)?, path, &header, &kinds)?;
        w.push([p])?;
        return close(w.finish()?, path);
    }
    let mut w = TableWriter::create(path, &header)?;
    for m in rows {
        w.row(&[d(&m.file), m.line.to_string(), d(&m.error), d(&m.raw)])?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::defuse;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(defuse("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(defuse("+1"), "'+1");
        assert_eq!(defuse("@x"), "'@x");
        assert_eq!(defuse("-x"), "'-x");
        assert_eq!(defuse("-"), "'-");
        assert_eq!(defuse("-12.00"), "-12.00");
        assert_eq!(defuse("C-1"), "C-1");
        assert_eq!(defuse("\tx"), "'\tx");
        assert_eq!(defuse("\r=1"), "'\r=1");
        assert_eq!(defuse(""), "");
    }
}
