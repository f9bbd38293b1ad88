//! Raw tables: the records of one input file (CSV, gzip CSV or Parquet) with their line numbers and text.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use polars::prelude::*;

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

enum Body {
    /// The whole (decompressed) file; records are parsed again when the outputs are written.
    Csv {
        bytes: Vec<u8>,
        data_start: usize,
        header_lines: u64,
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
    body: Body,
}

/// One record of a raw table, in file order.
pub struct Record<'a> {
    /// Position among the file's records (0-based), malformed ones included.
    pub seq: usize,
    /// Physical line where the record starts (header = line 1); Parquet: row number + 1.
    pub line: u64,
    /// The fields, or why the record has none usable (invalid UTF-8).
    pub fields: std::result::Result<Vec<&'a str>, String>,
    /// The record's text, for `malformed.csv`.
    pub raw: std::borrow::Cow<'a, str>,
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
        let (data_start, header_lines) = (pos.byte() as usize, pos.line() - 1);
        Ok(RawTable {
            path: path.into(),
            file_name,
            headers,
            body: Body::Csv {
                bytes,
                data_start,
                header_lines,
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

    /// Visit every record in file order.
    pub fn for_each_record(&self, mut f: impl FnMut(Record<'_>)) -> Result<()> {
        match &self.body {
            Body::Csv {
                bytes,
                data_start,
                header_lines,
            } => {
                let data = &bytes[*data_start..];
                let mut rdr = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(data);
                let mut rec = csv::ByteRecord::new();
                let mut seq = 0;
                loop {
                    let start = rdr.position().byte() as usize;
                    if !rdr
                        .read_byte_record(&mut rec)
                        .with_context(|| format!("{}: read error", self.path.display()))?
                    {
                        break;
                    }
                    let pos = rec.position().expect("csv records carry their position");
                    let end = rdr.position().byte() as usize;
                    let raw_bytes = trim_newline(&data[(pos.byte() as usize).max(start)..end]);
                    let fields = rec
                        .iter()
                        .map(std::str::from_utf8)
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(|_| "not valid UTF-8".to_string());
                    f(Record {
                        seq,
                        line: pos.line() + header_lines,
                        fields,
                        raw: String::from_utf8_lossy(raw_bytes),
                    });
                    seq += 1;
                }
            }
            Body::Frame { columns, height } => {
                let mut fields = Vec::with_capacity(columns.len());
                for i in 0..*height {
                    fields.clear();
                    fields.extend(columns.iter().map(|c| c.get(i).unwrap_or("")));
                    let raw = csv_line(&fields);
                    f(Record {
                        seq: i,
                        line: i as u64 + 2,
                        fields: Ok(fields.clone()),
                        raw: raw.into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The byte size of the data, for progress bars.
    pub fn len_hint(&self) -> usize {
        match &self.body {
            Body::Csv { bytes, .. } => bytes.len(),
            Body::Frame { height, .. } => *height,
        }
    }
}

fn trim_newline(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = b {
        b = rest;
    }
    b
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
