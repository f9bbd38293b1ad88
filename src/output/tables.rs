//! The four tables of SPEC §6 in CSV or Parquet: clean, held, rejections, malformed.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use super::OutFormat;
use crate::input::table::RawTable;
use crate::input::values::iso;
use crate::model::Batch;
use crate::reference::policy::Policy;
use crate::rules::Finding;

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

/// `clean` and `held`: the claims rows as read, in input order; `held` adds `hold_rules`.
pub fn write_clean_held(
    claims: &RawTable,
    batch: &Batch,
    decisions: &[Option<String>],
    format: OutFormat,
    clean_path: &Path,
    held_path: &Path,
) -> Result<()> {
    let header: Vec<&str> = claims.headers.iter().map(String::as_str).collect();
    let mut held_header = header.clone();
    held_header.push("hold_rules");
    let mut clean = TableWriter::create(clean_path, format, &header)?;
    let mut held = TableWriter::create(held_path, format, &held_header)?;
    let mut next = 0; // well-formed lines are in record order
    let mut result = Ok(());
    claims.for_each_record(|rec| {
        if result.is_err() || next >= batch.lines.len() || batch.lines[next].seq != rec.seq {
            return;
        }
        let fields = rec.fields.as_ref().expect("a well-formed row has fields");
        result = match &decisions[next] {
            None => clean.row(fields),
            Some(rules) => {
                let mut row: Vec<&str> = Vec::with_capacity(fields.len() + 1);
                row.extend(fields.iter().copied());
                row.push(rules);
                held.row(&row)
            }
        };
        next += 1;
    })?;
    result?;
    clean.finish()?;
    held.finish()
}

pub const REJECTIONS_HEADER: [&str; 12] = [
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

pub fn write_rejections(
    batch: &Batch,
    findings: &[Finding],
    policy: &Policy,
    format: OutFormat,
    path: &Path,
) -> Result<()> {
    let mut w = TableWriter::create(path, format, &REJECTIONS_HEADER)?;
    for f in findings {
        let l = &batch.lines[f.line as usize];
        let info = f.rule.info();
        let reject = info.severity == crate::rules::catalogue::Severity::Reject;
        w.row(&[
            defuse(&l.claim_id).as_ref(),
            &l.line_no.to_string(),
            defuse(&l.patient_id).as_ref(),
            &iso(l.date),
            defuse(&l.cpt).as_ref(),
            &policy.profiles[l.payer].name,
            info.id,
            info.severity.as_str(),
            if reject { info.carc } else { "" },
            if reject { info.rarc } else { "" },
            defuse(&f.message).as_ref(),
            defuse(&l.charge_text).as_ref(),
        ])?;
    }
    w.finish()
}

pub fn write_malformed(batch: &Batch, format: OutFormat, path: &Path) -> Result<()> {
    let mut w = TableWriter::create(path, format, &["file", "line", "error", "raw"])?;
    for m in &batch.malformed {
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
