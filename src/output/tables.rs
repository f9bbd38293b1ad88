//! The four tables of SPEC §6 in CSV or Parquet: clean, held, rejections, malformed.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use super::OutFormat;
use rayon::prelude::*;

use crate::base::values::iso;
use crate::hold::{hold_rules, Decision};
use crate::input::split::messy_fields;
use crate::input::table::{csv_line, Body, RawTable};
use crate::ledger::{Found, Ledger};
use crate::reference::policy::Policy;

/// One output table being written: CSV rows stream to disk, Parquet columns are gathered.
pub enum TableWriter {
    Csv(Box<csv::Writer<BufWriter<File>>>, PathBuf),
    Parquet {
        path: PathBuf,
        names: Vec<String>,
        columns: Vec<Vec<String>>,
    },
}

impl TableWriter {
    pub fn create(path: &Path, format: OutFormat, header: &[&str]) -> Result<TableWriter> {
        match format {
            OutFormat::Csv => {
                let f = File::create(path)
                    .with_context(|| format!("{}: cannot create", path.display()))?;
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(BufWriter::with_capacity(1 << 20, f));
                w.write_record(header)?;
                Ok(TableWriter::Csv(Box::new(w), path.into()))
            }
            OutFormat::Parquet => Ok(TableWriter::Parquet {
                path: path.into(),
                names: header.iter().map(|s| s.to_string()).collect(),
                columns: vec![Vec::new(); header.len()],
            }),
        }
    }

    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) -> Result<()> {
        match self {
            TableWriter::Csv(w, path) => w
                .write_record(fields.iter().map(|f| f.as_ref()))
                .with_context(|| format!("{}: write error", path.display())),
            TableWriter::Parquet { columns, .. } => {
                for (c, f) in columns.iter_mut().zip(fields) {
                    c.push(f.as_ref().to_string());
                }
                Ok(())
            }
        }
    }

    pub fn finish(self) -> Result<()> {
        match self {
            TableWriter::Csv(mut w, path) => w
                .flush()
                .with_context(|| format!("{}: write error", path.display())),
            TableWriter::Parquet {
                path,
                names,
                columns,
            } => {
                let cols: Vec<Column> = names
                    .iter()
                    .zip(columns)
                    .map(|(n, c)| Column::new(n.as_str().into(), c))
                    .collect();
                let height = cols.first().map(|c| c.len()).unwrap_or(0);
                let mut df = DataFrame::new(height, cols)?;
                let f = File::create(&path)
                    .with_context(|| format!("{}: cannot create", path.display()))?;
                ParquetWriter::new(f)
                    .finish(&mut df)
                    .map_err(anyhow::Error::from)
                    .with_context(|| format!("{}: write error", path.display()))?;
                Ok(())
            }
        }
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

/// `clean` and `held`: the claims rows as read, in input order; `held` adds `hold_rules`.
pub fn write_clean_held(
    claims: &RawTable,
    batch: &Ledger,
    decisions: &[Decision],
    format: OutFormat,
    clean_path: &Path,
    held_path: &Path,
) -> Result<()> {
    let header: Vec<&str> = claims.headers.iter().map(String::as_str).collect();
    let mut held_header = header.clone();
    held_header.push("hold_rules");
    let raw = &batch.text.raw[..];
    let csv_input = matches!(claims.body, Body::Csv { .. });
    if format == OutFormat::Parquet {
        let mut clean = TableWriter::create(clean_path, format, &header)?;
        let mut held = TableWriter::create(held_path, format, &held_header)?;
        for (l, d) in batch.lines.iter().zip(decisions) {
            let mut fields = row_fields(claims, raw, l.span());
            if *d == 0 {
                clean.row(&fields)?
            } else {
                fields.push(hold_rules(*d));
                held.row(&fields)?
            }
        }
        clean.finish()?;
        return held.finish();
    }
    // CSV: a row without quotes or carriage returns needs none on output either, so its text is
    // copied as it is; other rows are split and written again, quoted where CSV needs it
    let open = |path: &Path, head: &[&str]| -> Result<BufWriter<File>> {
        let f = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 22, f);
        w.write_all(csv_line(head).as_bytes())?;
        w.write_all(b"\n")?;
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
                    if csv_input && memchr::memchr2(b'"', b'\r', text).is_none() {
                        out.extend_from_slice(text);
                    } else {
                        let fields = row_fields(claims, raw, span);
                        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
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
            clean_w.write_all(c)?;
            held_w.write_all(h)?;
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

/// A value that a spreadsheet would read as a formula gets a leading `'` (SPEC §8 "Outputs").
pub fn defuse(v: &str) -> std::borrow::Cow<'_, str> {
    let b = v.as_bytes();
    let risky = match b.first() {
        Some(b'=' | b'+' | b'@') => true,
        Some(b'-') => !b.get(1).is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    if risky {
        format!("'{v}").into()
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

pub fn write_rejections(
    batch: &Ledger,
    policy: &Policy,
    format: OutFormat,
    path: &Path,
) -> Result<()> {
    if format == OutFormat::Parquet {
        let mut w = TableWriter::create(path, format, &REJECTIONS_HEADER)?;
        for f in &batch.findings {
            w.row(&rejection_row(batch, f, policy))?;
        }
        return w.finish();
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
    w.write_all(csv_line(&REJECTIONS_HEADER).as_bytes())?;
    w.write_all(b"\n")?;
    for p in &parts {
        w.write_all(p)?;
    }
    w.flush()
        .with_context(|| format!("{}: write error", path.display()))
}

pub fn write_malformed(batch: &Ledger, format: OutFormat, path: &Path) -> Result<()> {
    let mut w = TableWriter::create(path, format, &["file", "line", "error", "raw"])?;
    for m in batch.malformed.iter().flatten() {
        w.row(&[m.file.as_str(), &m.line.to_string(), &m.error, &m.raw])?;
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
    }
}
