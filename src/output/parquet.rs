//! Parquet files written by claimscrub (the outputs of `--format parquet` and a partition's
//! parts), with the `parquet` crate's `SerializedFileWriter`: columns typed by `Kind`, built a
//! piece at a time and written a row group at a time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::base::values::Day;

/// The type of a column of a Parquet file claimscrub writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text (BYTE_ARRAY, STRING).
    Text,
    /// INT64.
    Int,
    /// INT32, DATE.
    Date,
    /// Decimal(18, scale) in INT64, from millionths.
    Money(u32),
    /// A line number: INT64, unsigned (the hidden origin column of a partition's part).
    Line,
}

/// Digits of a decimal: 12 before the point (SPEC §8 charges) and up to 6 after.
const MONEY_PRECISION: i32 = 18;

/// One column of a piece, being filled.
enum Column {
    Text { text: String, ends: Vec<usize> },
    Int(Vec<Option<i64>>),
    Date(Vec<Day>),
    Money(Vec<i64>, u32),
    Line(Vec<u64>),
}

/// Rows of a Parquet file, a piece at a time: one column per `Kind`.
pub struct Piece {
    cols: Vec<Column>,
}

impl Piece {
    pub fn new(kinds: &[Kind], rows: usize) -> Piece {
        let cols = kinds
            .iter()
            .map(|k| match *k {
                Kind::Text => Column::Text {
                    text: String::with_capacity(rows * 8),
                    ends: Vec::with_capacity(rows),
                },
                Kind::Int => Column::Int(Vec::with_capacity(rows)),
                Kind::Date => Column::Date(Vec::with_capacity(rows)),
                Kind::Money(s) => Column::Money(Vec::with_capacity(rows), s),
                Kind::Line => Column::Line(Vec::with_capacity(rows)),
            })
            .collect();
        Piece { cols }
    }

    pub fn rows(&self) -> usize {
        match self.cols.first() {
            Some(Column::Text { ends, .. }) => ends.len(),
            Some(Column::Int(v)) => v.len(),
            Some(Column::Date(v)) => v.len(),
            Some(Column::Money(v, _)) => v.len(),
            Some(Column::Line(v)) => v.len(),
            None => 0,
        }
    }

    pub fn text(&mut self, c: usize, v: &str) {
        match &mut self.cols[c] {
            Column::Text { text, ends } => {
                text.push_str(v);
                ends.push(text.len());
            }
            _ => unreachable!("column {c} is not text"),
        }
    }

    pub fn int(&mut self, c: usize, v: Option<i64>) {
        match &mut self.cols[c] {
            Column::Int(b) => b.push(v),
            _ => unreachable!("column {c} is not an integer"),
        }
    }

    pub fn date(&mut self, c: usize, d: Day) {
        match &mut self.cols[c] {
            Column::Date(b) => b.push(d),
            _ => unreachable!("column {c} is not a date"),
        }
    }

    pub fn line(&mut self, c: usize, v: u64) {
        match &mut self.cols[c] {
            Column::Line(b) => b.push(v),
            _ => unreachable!("column {c} is not of line numbers"),
        }
    }

    /// A charge in millionths, at the column's scale (which holds every value's decimals).
    pub fn money(&mut self, c: usize, micro: i64) {
        match &mut self.cols[c] {
            Column::Money(b, s) => {
                let unit = 10i64.pow(6 - *s);
                debug_assert_eq!(micro % unit, 0, "scale {s} too small for {micro}");
                b.push(micro / unit)
            }
            _ => unreachable!("column {c} is not a charge"),
        }
    }
}

/// The schema of a file of these columns (every column optional, as other writers make them).
fn schema(names: &[&str], kinds: &[Kind]) -> Result<Arc<Type>> {
    let fields = names
        .iter()
        .zip(kinds)
        .map(|(n, k)| {
            let b = match *k {
                Kind::Text => Type::primitive_type_builder(n, Physical::BYTE_ARRAY)
                    .with_logical_type(Some(LogicalType::String)),
                Kind::Int => Type::primitive_type_builder(n, Physical::INT64),
                Kind::Date => Type::primitive_type_builder(n, Physical::INT32)
                    .with_logical_type(Some(LogicalType::Date)),
                Kind::Money(s) => Type::primitive_type_builder(n, Physical::INT64)
                    .with_logical_type(Some(LogicalType::decimal(s as i32, MONEY_PRECISION)))
                    .with_precision(MONEY_PRECISION)
                    .with_scale(s as i32),
                Kind::Line => Type::primitive_type_builder(n, Physical::INT64)
                    .with_logical_type(Some(LogicalType::integer(64, false))),
            };
            Ok(Arc::new(b.with_repetition(Repetition::OPTIONAL).build()?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()?,
    ))
}

/// Rows per row group, about.
const ROW_GROUP: usize = 1 << 18;

/// A Parquet file being written, a few pieces at a time (about `ROW_GROUP` rows a row group).
pub struct ParquetOut<W: Write + Send> {
    path: PathBuf,
    writer: SerializedFileWriter<W>,
    pending: Vec<Piece>,
    rows: usize,
}

impl<W: Write + Send> ParquetOut<W> {
    pub fn create(out: W, path: &Path, names: &[&str], kinds: &[Kind]) -> Result<ParquetOut<W>> {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_created_by(format!("claimscrub {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = SerializedFileWriter::new(out, schema(names, kinds)?, Arc::new(props))
            .with_context(|| format!("{}: write error", path.display()))?;
        Ok(ParquetOut {
            path: path.into(),
            writer,
            pending: Vec::new(),
            rows: 0,
        })
    }

    /// Take the next pieces, in order; write each full row group.
    pub fn push(&mut self, pieces: impl IntoIterator<Item = Piece>) -> Result<()> {
        for p in pieces {
            if p.rows() > 0 {
                self.rows += p.rows();
                self.pending.push(p);
            }
            if self.rows >= ROW_GROUP {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Write the pending pieces as one row group.
    fn flush(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.rows = 0;
        if pending.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let err = |e: parquet::errors::ParquetError| {
            anyhow::Error::from(e).context(format!("{}: write error", path.display()))
        };
        let mut columns: Vec<Vec<Column>> = Vec::new();
        for p in pending {
            for (c, col) in p.cols.into_iter().enumerate() {
                if columns.len() <= c {
                    columns.push(Vec::new());
                }
                columns[c].push(col);
            }
        }
        let mut rg = self.writer.next_row_group().map_err(err)?;
        let mut columns = columns.into_iter();
        while let Some(mut w) = rg.next_column().map_err(err)? {
            let pieces = columns.next().unwrap_or_default();
            for col in pieces {
                match col {
                    Column::Text { text, ends } => {
                        let bytes = Bytes::from(text.into_bytes());
                        let mut from = 0;
                        let values: Vec<ByteArray> = ends
                            .iter()
                            .map(|&e| {
                                let v = ByteArray::from(bytes.slice(from..e));
                                from = e;
                                v
                            })
                            .collect();
                        let defs = vec![1i16; values.len()];
                        w.typed::<ByteArrayType>()
                            .write_batch(&values, Some(&defs), None)
                            .map_err(err)?;
                    }
                    Column::Int(v) => {
                        let defs: Vec<i16> = v.iter().map(|x| x.is_some() as i16).collect();
                        let values: Vec<i64> = v.into_iter().flatten().collect();
                        w.typed::<Int64Type>()
                            .write_batch(&values, Some(&defs), None)
                            .map_err(err)?;
                    }
                    Column::Date(v) => {
                        let defs = vec![1i16; v.len()];
                        w.typed::<Int32Type>()
                            .write_batch(&v, Some(&defs), None)
                            .map_err(err)?;
                    }
                    Column::Money(v, _) => {
                        let defs = vec![1i16; v.len()];
                        w.typed::<Int64Type>()
                            .write_batch(&v, Some(&defs), None)
                            .map_err(err)?;
                    }
                    Column::Line(v) => {
                        let defs = vec![1i16; v.len()];
                        let values: Vec<i64> = v.into_iter().map(|x| x as i64).collect();
                        w.typed::<Int64Type>()
                            .write_batch(&values, Some(&defs), None)
                            .map_err(err)?;
                    }
                }
            }
            w.close().map_err(err)?;
        }
        rg.close().map_err(err)?;
        Ok(())
    }

    /// Write what is pending and the footer; the writer is given back to be flushed.
    pub fn finish(mut self) -> Result<W> {
        self.flush()?;
        let path = self.path.clone();
        self.writer
            .into_inner()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{}: write error", path.display()))
    }
}
