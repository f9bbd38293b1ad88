//! Raw tables: the records of one input file (CSV, gzip CSV or Parquet) with their line numbers and text.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use polars::prelude::*;
use rayon::prelude::*;

use super::split::{messy_fields, par_split_range, RecordView};

pub enum Format {
    Csv,
    CsvGz,
    Parquet,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".csv.gz") {
            Some(Format::CsvGz)
        } else if name.ends_with(".csv") {
            Some(Format::Csv)
        } else if name.ends_with(".parquet") {
            Some(Format::Parquet)
        } else {
            None
        }
    }
}

pub enum Body {
    /// The whole (decompressed) file.
    Csv {
        bytes: Vec<u8>,
        data_start: usize,
        first_line: u64,
    },
    /// Every column cast to text; null = empty.
    Frame {
        columns: Vec<StringChunked>,
        height: usize,
    },
}

pub struct RawTable {
    pub path: PathBuf,
    /// The file's name as written in `malformed.csv`.
    pub file_name: String,
    /// Column names as read (untrimmed), in file order.
    pub headers: Vec<String>,
    pub body: Body,
}

/// One record of a raw table.
pub struct Rec<'a> {
    /// Physical line where the record starts (header = line 1); Parquet: row number + 1.
    pub line: u64,
    /// CSV: the record's byte range in the file; Parquet: (row, 0).
    pub span: (usize, usize),
    view: Option<&'a RecordView<'a>>,
    messy: Option<Vec<String>>,
    frame: Option<&'a [&'a str]>,
}

impl<'a> Rec<'a> {
    pub fn width(&self) -> usize {
        match (&self.messy, self.view, self.frame) {
            (Some(m), _, _) => m.len(),
            (None, Some(v), _) => v.fields.len(),
            (None, None, Some(f)) => f.len(),
            _ => 0,
        }
    }

    /// Field `i`; `None` when it is not valid UTF-8.
    pub fn get(&self, i: usize) -> Option<Cow<'_, str>> {
        match (&self.messy, self.view, self.frame) {
            (Some(m), _, _) => Some(Cow::Borrowed(m[i].as_str())),
            (None, Some(v), _) => v.value(i),
            (None, None, Some(f)) => Some(Cow::Borrowed(f[i])),
            _ => None,
        }
    }

    /// The record's text, for `malformed.csv`.
    pub fn raw(&self) -> String {
        match (self.view, self.frame) {
            (Some(v), _) => String::from_utf8_lossy(v.raw()).into_owned(),
            (None, Some(f)) => csv_line(f),
            _ => String::new(),
        }
    }
}

impl RawTable {
    pub fn read(path: &Path) -> Result<RawTable> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let format = Format::of(path).with_context(|| {
            format!(
                "{}: unknown input format (expected .csv, .csv.gz or .parquet)",
                path.display()
            )
        })?;
        match format {
            Format::Csv => {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("{}: cannot read file", path.display()))?;
                RawTable::from_csv(path, file_name, bytes)
            }
            Format::CsvGz => {
                let f = std::fs::File::open(path)
                    .with_context(|| format!("{}: cannot read file", path.display()))?;
                let mut bytes = Vec::new();
                flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f))
                    .read_to_end(&mut bytes)
                    .with_context(|| format!("{}: not a readable gzip file", path.display()))?;
                RawTable::from_csv(path, file_name, bytes)
            }
            Format::Parquet => RawTable::from_parquet(path, file_name),
        }
    }

    fn from_csv(path: &Path, file_name: String, mut bytes: Vec<u8>) -> Result<RawTable> {
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes.drain(..3);
        }
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&bytes[..]);
        let mut header = csv::ByteRecord::new();
        if !rdr
            .read_byte_record(&mut header)
            .with_context(|| format!("{}: not a readable CSV", path.display()))?
        {
            bail!("{}: the file is empty (no header row)", path.display());
        }
        let headers = header
            .iter()
            .map(|h| String::from_utf8(h.to_vec()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .with_context(|| {
                format!("{}: line 1: the header is not valid UTF-8", path.display())
            })?;
        let pos = rdr.position();
        let (data_start, first_line) = (pos.byte() as usize, pos.line());
        Ok(RawTable {
            path: path.into(),
            file_name,
            headers,
            body: Body::Csv {
                bytes,
                data_start,
                first_line,
            },
        })
    }

    fn from_parquet(path: &Path, file_name: String) -> Result<RawTable> {
        let f = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot read file", path.display()))?;
        let df = ParquetReader::new(f)
            .finish()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
        let headers = df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let height = df.height();
        let columns = df
            .columns()
            .iter()
            .map(|c| {
                let s = c.as_materialized_series();
                let cast = s
                    .cast(&DataType::String)
                    .map_err(anyhow::Error::from)
                    .with_context(|| {
                        format!(
                            "{}: column `{}` of type {} cannot be read as text",
                            path.display(),
                            s.name(),
                            s.dtype()
                        )
                    })?;
                Ok(cast.str()?.clone())
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RawTable {
            path: path.into(),
            file_name,
            headers,
            body: Body::Frame { columns, height },
        })
    }

    /// The bytes of the file (CSV) that record spans point into.
    pub fn bytes(&self) -> &[u8] {
        match &self.body {
            Body::Csv { bytes, .. } => bytes,
            Body::Frame { .. } => &[],
        }
    }

    /// Give each chunk of records, in parallel, to `f`; results in file order.
    pub fn par_records<T: Send>(
        &self,
        f: impl Fn(&mut dyn FnMut(&mut dyn FnMut(&Rec))) -> T + Sync,
    ) -> Vec<T> {
        match &self.body {
            Body::Csv {
                bytes,
                data_start,
                first_line,
            } => {
                let data = &bytes[..];
                // spans stay offsets into the whole file; the header is skipped by starting after it
                par_split_range(data, *data_start, *first_line, |go| {
                    f(&mut |each: &mut dyn FnMut(&Rec)| {
                        go(&mut |v: &RecordView| {
                            let messy = v.messy.then(|| messy_fields(v.raw()));
                            each(&Rec {
                                line: v.line,
                                span: (v.start, v.end),
                                view: Some(v),
                                messy,
                                frame: None,
                            });
                        })
                    })
                })
            }
            Body::Frame { columns, height } => {
                const ROWS: usize = 1 << 16;
                (0..height.div_ceil(ROWS))
                    .into_par_iter()
                    .map(|c| {
                        f(&mut |each: &mut dyn FnMut(&Rec)| {
                            let mut fields: Vec<&str> = Vec::with_capacity(columns.len());
                            for i in c * ROWS..((c + 1) * ROWS).min(*height) {
                                fields.clear();
                                fields.extend(columns.iter().map(|col| col.get(i).unwrap_or("")));
                                each(&Rec {
                                    line: i as u64 + 2,
                                    span: (i, 0),
                                    view: None,
                                    messy: None,
                                    frame: Some(&fields),
                                });
                            }
                        })
                    })
                    .collect()
            }
        }
    }

    /// The text of a record, for `malformed.csv`.
    pub fn record_text(&self, span: (usize, usize)) -> String {
        match &self.body {
            Body::Csv { bytes, .. } => String::from_utf8_lossy(&bytes[span.0..span.1]).into_owned(),
            Body::Frame { .. } => csv_line(&self.frame_row(span.0)),
        }
    }

    /// The values of a Parquet row, for writing it back out.
    pub fn frame_row(&self, row: usize) -> Vec<&str> {
        match &self.body {
            Body::Frame { columns, .. } => {
                columns.iter().map(|c| c.get(row).unwrap_or("")).collect()
            }
            Body::Csv { .. } => Vec::new(),
        }
    }
}

/// Fields written as one CSV line, quoted where needed.
pub fn csv_line(fields: &[&str]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(fields).expect("writing to memory");
    let mut s =
        String::from_utf8(w.into_inner().expect("flush to memory")).expect("utf-8 in, utf-8 out");
    s.pop();
    s
}
