//! The four tables of SPEC §6 in CSV or Parquet: clean, held, rejections, malformed.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use super::OutFormat;
use rayon::prelude::*;

use smallvec::SmallVec;

use crate::base::values::{iso, parse_int, Day};
use crate::hold::{hold_rules, Decision};
use crate::input::split::messy_fields;
use crate::input::table::{csv_line, Body, RawTable};
use crate::ledger::{Entry, Found, Ledger};
use crate::reference::policy::Policy;

/// A CSV output table being written, row by row.
pub struct TableWriter(Box<csv::Writer<BufWriter<File>>>, PathBuf);

impl TableWriter {
    pub fn create(path: &Path, header: &[&str]) -> Result<TableWriter> {
        let f = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(BufWriter::with_capacity(1 << 20, f));
        w.write_record(header)?;
        Ok(TableWriter(Box::new(w), path.into()))
    }

    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) -> Result<()> {
        self.0
            .write_record(fields.iter().map(|f| f.as_ref()))
            .with_context(|| format!("{}: write error", self.1.display()))
    }

    pub fn finish(mut self) -> Result<()> {
        self.0
            .flush()
            .with_context(|| format!("{}: write error", self.1.display()))
    }
}

/// The type of a column of a Parquet output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Date,
    /// Decimal(18, scale), from millionths.
    Money(u32),
}

/// One column of a piece of a Parquet output, being filled.
enum Builder {
    Text(StringChunkedBuilder),
    Int(PrimitiveChunkedBuilder<Int64Type>),
    Date(PrimitiveChunkedBuilder<Int32Type>),
    Money(PrimitiveChunkedBuilder<Int128Type>, u32),
}

/// Digits of a decimal: 12 before the point (SPEC §8 charges) and up to 6 after.
const MONEY_PRECISION: usize = 18;

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

/// Rows of one Parquet output, a piece at a time: columns of polars builders, typed by `Kind`.
struct Piece {
    cols: Vec<Builder>,
}

impl Piece {
    fn new(names: &[&str], kinds: &[Kind], rows: usize) -> Piece {
        let cols = names
            .iter()
            .zip(kinds)
            .map(|(n, k)| {
                let n = PlSmallStr::from(*n);
                match *k {
                    Kind::Text => Builder::Text(StringChunkedBuilder::new(n, rows)),
                    Kind::Int => Builder::Int(PrimitiveChunkedBuilder::new(n, rows)),
                    Kind::Date => Builder::Date(PrimitiveChunkedBuilder::new(n, rows)),
                    Kind::Money(s) => Builder::Money(PrimitiveChunkedBuilder::new(n, rows), s),
                }
            })
            .collect();
        Piece { cols }
    }

    fn text(&mut self, c: usize, v: &str) {
        match &mut self.cols[c] {
            Builder::Text(b) => b.append_value(v),
            _ => unreachable!("column {c} is not text"),
        }
    }

    fn int(&mut self, c: usize, v: Option<i64>) {
        match &mut self.cols[c] {
            Builder::Int(b) => b.append_option(v),
            _ => unreachable!("column {c} is not an integer"),
        }
    }

    fn date(&mut self, c: usize, d: Day) {
        match &mut self.cols[c] {
            Builder::Date(b) => b.append_value(d),
            _ => unreachable!("column {c} is not a date"),
        }
    }

    /// A charge in millionths, at the column's scale (which holds every value's decimals).
    fn money(&mut self, c: usize, micro: i64) {
        match &mut self.cols[c] {
            Builder::Money(b, s) => {
                let unit = 10i128.pow(6 - *s);
                debug_assert_eq!(micro as i128 % unit, 0, "scale {s} too small for {micro}");
                b.append_value(micro as i128 / unit)
            }
            _ => unreachable!("column {c} is not a charge"),
        }
    }

    fn finish(self) -> Result<DataFrame> {
        let cols: Vec<Column> = self
            .cols
            .into_iter()
            .map(|b| -> Result<Column> {
                Ok(match b {
                    Builder::Text(b) => b.finish().into_column(),
                    Builder::Int(b) => b.finish().into_column(),
                    Builder::Date(b) => b.finish().into_date().into_column(),
                    Builder::Money(b, s) => b
                        .finish()
                        .into_decimal(MONEY_PRECISION, s as usize)?
                        .into_column(),
                })
            })
            .collect::<Result<_>>()?;
        let height = cols.first().map_or(0, Column::len);
        Ok(DataFrame::new(height, cols)?)
    }
}

/// Rows per row group of a Parquet output, about.
const ROW_GROUP: usize = 1 << 18;

/// Claim lines per piece of `clean` and `held` built at once: a piece of `clean` is written as
/// a row group of its own (gathering pieces into one would copy them), small pieces are gathered.
const PIECE: usize = 1 << 16;

/// Compression of Parquet outputs.
const COMPRESSION: ParquetCompression = ParquetCompression::Zstd(None);

/// A Parquet output being written into `file`, a few pieces at a time (about `ROW_GROUP` rows).
/// `file` is flushed by its owner after `finish`.
struct ParquetOut<'a> {
    path: PathBuf,
    writer: polars::io::parquet::write::BatchedWriter<&'a mut BufWriter<File>>,
    pending: Vec<DataFrame>,
    rows: usize,
}

/// A file to write an output into.
fn create(path: &Path) -> Result<BufWriter<File>> {
    let f = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 22, f))
}

/// Flush a finished output.
fn close(mut w: BufWriter<File>, path: &Path) -> Result<()> {
    w.flush()
        .with_context(|| format!("{}: write error", path.display()))
}

impl<'a> ParquetOut<'a> {
    fn create(
        file: &'a mut BufWriter<File>,
        path: &Path,
        names: &[&str],
        kinds: &[Kind],
    ) -> Result<ParquetOut<'a>> {
        let schema = Piece::new(names, kinds, 0).finish()?.schema().clone();
        let writer = ParquetWriter::new(file)
            .with_compression(COMPRESSION)
            .batched(&schema)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{}: write error", path.display()))?;
        Ok(ParquetOut {
            path: path.into(),
            writer,
            pending: Vec::new(),
            rows: 0,
        })
    }

    fn err(&self, e: PolarsError) -> anyhow::Error {
        anyhow::Error::from(e).context(format!("{}: write error", self.path.display()))
    }

    /// Take the next pieces, in order; write each full row group.
    fn push(&mut self, pieces: impl IntoIterator<Item = DataFrame>) -> Result<()> {
        for p in pieces {
            if p.height() > 0 {
                self.rows += p.height();
                self.pending.push(p);
            }
            if self.rows >= ROW_GROUP {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Write the pending pieces: small ones gathered into one row group, large ones (a piece of
    /// `clean`) a row group each.
    fn flush(&mut self) -> Result<()> {
        let mut pending = std::mem::take(&mut self.pending).into_iter();
        let Some(mut group) = pending.next() else {
            return Ok(());
        };
        for p in pending {
            group.vstack_mut_owned(p).map_err(|e| self.err(e))?;
        }
        self.rows = 0;
        if group.height() / group.first_col_n_chunks().max(1) < PIECE / 2 {
            group.rechunk_mut_par();
        }
        self.writer.write_batch(&group).map_err(|e| self.err(e))
    }

    fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.writer.finish().map_err(|e| self.err(e))?;
        Ok(())
    }
}

/// Rows per unit of parallel formatting.
const ROWS: usize = 1 << 15;

fn csv_writer(buf: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(buf)
}

/// The fields of a claims row as read, for the slow path and Parquet.
fn row_fields(claims: &RawTable, raw: &[u8], span: (usize, usize)) -> Vec<String> {
    match claims.body {
        Body::Csv { .. } => messy_fields(&raw[span.0..span.1]),
        Body::Frame { .. } => claims
            .frame_row(span.0)
            .into_iter()
            .map(String::from)
            .collect(),
    }
}

/// The values of a claims row as read: slices of the file where it needs no unquoting.
fn row_values<'r>(
    claims: &'r RawTable,
    raw: &'r [u8],
    span: (usize, usize),
    owned: &'r mut Vec<String>,
) -> SmallVec<[&'r str; 24]> {
    match &claims.body {
        Body::Csv { .. } => {
            let text = &raw[span.0..span.1];
            if memchr::memchr2(b'"', b'\r', text).is_none() {
                if let Ok(text) = std::str::from_utf8(text) {
                    let mut fields = SmallVec::new();
                    let mut from = 0;
                    for comma in memchr::memchr_iter(b',', text.as_bytes()) {
                        fields.push(&text[from..comma]);
                        from = comma + 1;
                    }
                    fields.push(&text[from..]);
                    return fields;
                }
            }
            *owned = row_fields(claims, raw, span);
            owned.iter().map(String::as_str).collect()
        }
        Body::Frame { columns, .. } => columns
            .iter()
            .map(|c| c.get(span.0).unwrap_or(""))
            .collect(),
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
    let (mut clean_file, mut held_file) = (create(clean_path)?, create(held_path)?);
    let mut clean = ParquetOut::create(&mut clean_file, clean_path, header, &clean_kinds)?;
    let mut held = ParquetOut::create(&mut held_file, held_path, held_header, &held_kinds)?;
    let build = |lines: &[Entry], decisions: &[Decision]| -> Result<Vec<(DataFrame, DataFrame)>> {
        lines
            .par_chunks(PIECE)
            .zip(decisions.par_chunks(PIECE))
            .map(|(lines, decisions)| {
                let held_rows = decisions.iter().filter(|d| **d != 0).count();
                let mut c = Piece::new(header, &clean_kinds, lines.len() - held_rows);
                let mut h = Piece::new(held_header, &held_kinds, held_rows);
                for (l, d) in lines.iter().zip(decisions) {
                    let mut owned = Vec::new();
                    let fields = row_values(claims, raw, l.span(), &mut owned);
                    if *d == 0 {
                        claims_row(&mut c, &clean_kinds, &fields, l, defuse);
                    } else {
                        claims_row(&mut h, &held_kinds[..width], &fields, l, defuse);
                        h.text(width, &hold_rules(*d));
                    }
                }
                Ok((c.finish()?, h.finish()?))
            })
            .collect()
    };
    // a few hundred thousand lines at a time: memory bounded, writing beside building
    let step = PIECE * (2 * rayon::current_num_threads()).min(16);
    let mut blocks = batch.lines.chunks(step).zip(decisions.chunks(step));
    let mut ready: Option<Vec<(DataFrame, DataFrame)>> = None;
    loop {
        let next = blocks.next();
        let done = ready.take();
        let (built, wrote) = rayon::join(
            || next.map(|(l, d)| build(l, d)).transpose(),
            || -> Result<()> {
                let Some(parts) = done else {
                    return Ok(());
                };
                let (c, h): (Vec<DataFrame>, Vec<DataFrame>) = parts.into_iter().unzip();
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
    clean.finish()?;
    held.finish()?;
    close(clean_file, clean_path)?;
    close(held_file, held_path)
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
    let open = |path: &Path, head: &[&str]| -> Result<BufWriter<File>> {
        let f = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 22, f);
        w.write_all(csv_line(head).as_bytes())
            .and_then(|_| w.write_all(b"\n"))
            .with_context(|| format!("{}: write error", path.display()))?;
        Ok(w)
    };
    let (mut clean_w, mut held_w) = (open(clean_path, &header)?, open(held_path, &held_header)?);
    // a few million lines at a time: formatted in parallel, written in order, memory bounded
    let step = ROWS * 4 * rayon::current_num_threads();
    for (lines, decisions) in batch.lines.chunks(step).zip(decisions.chunks(step)) {
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
                    } else {
                        let fields = row_fields(claims, raw, span);
                        let fields: Vec<Cow<str>> =
                            fields.iter().map(|f| defuse_if(defuse, f)).collect();
                        let refs: Vec<&str> = fields.iter().map(|f| f.as_ref()).collect();
                        out.extend_from_slice(csv_line(&refs).as_bytes());
                    }
                    if *d != 0 {
                        out.push(b',');
                        out.extend_from_slice(hold_rules(*d).as_bytes());
                    }
                    out.push(b'\n');
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
    for (mut w, path) in [(clean_w, clean_path), (held_w, held_path)] {
        w.flush()
            .with_context(|| format!("{}: write error", path.display()))?;
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
    let pieces: Vec<DataFrame> = batch
        .findings
        .par_chunks(ROWS)
        .map(|chunk| {
            let mut p = Piece::new(&REJECTIONS_HEADER, &kinds, chunk.len());
            for f in chunk {
                let l = &batch.lines[f.line as usize];
                let row = rejection_row(batch, f, policy);
                for (c, (k, v)) in kinds.iter().zip(&row).enumerate() {
                    match k {
                        Kind::Text => p.text(c, v),
                        Kind::Int => p.int(c, Some(f.line_no as i64)),
                        Kind::Date => p.date(c, l.date),
                        Kind::Money(_) => p.money(c, l.charge),
                    }
                }
            }
            p.finish()
        })
        .collect::<Result<_>>()?;
    let mut file = create(path)?;
    let mut w = ParquetOut::create(&mut file, path, &REJECTIONS_HEADER, &kinds)?;
    w.push(pieces)?;
    w.finish()?;
    close(file, path)
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
    let f = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 22, f);
    w.write_all(csv_line(&REJECTIONS_HEADER).as_bytes())
        .and_then(|_| w.write_all(b"\n"))
        .and_then(|_| parts.iter().try_for_each(|p| w.write_all(p)))
        .and_then(|_| w.flush())
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
        let mut p = Piece::new(&header, &kinds, rows.clone().count());
        for m in rows {
            p.text(0, &d(&m.file));
            p.int(1, i64::try_from(m.line).ok());
            p.text(2, &d(&m.error));
            p.text(3, &d(&m.raw));
        }
        let mut file = create(path)?;
        let mut w = ParquetOut::create(&mut file, path, &header, &kinds)?;
        w.push([p.finish()?])?;
        w.finish()?;
        return close(file, path);
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
