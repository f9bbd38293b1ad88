//! Parquet inputs, read a row group at a time with the `parquet` crate's column readers: every
//! column as text (null = empty), as a CSV export of the same table would hold it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use parquet::basic::{ConvertedType, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::file::reader::{FileReader, RowGroupReader};
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::schema::types::ColumnDescriptor;
use rayon::prelude::*;

use crate::base::values::{iso_bytes, Day};

/// How the values of a column become text (the text a CSV export of the table holds: integers
/// plain, dates `YYYY-MM-DD`, decimals with their scale's places, a timestamp as its date).
#[derive(Clone, Copy, Debug)]
enum Conv {
    Text,
    Bool,
    Int,
    /// An unsigned integer stored in INT32 or INT64.
    Unsigned,
    Float,
    Date,
    Decimal(u32),
    /// A timestamp in units of this many a day, read as its date.
    Timestamp(i64),
    /// Spark's legacy INT96 timestamp (nanoseconds of the day, Julian day), read as its date.
    Int96,
}

/// A Parquet input file: its metadata, open for reading row groups.
pub struct ParquetFile {
    path: PathBuf,
    /// Over the file's bytes, memory-mapped: column chunks are read from any thread at once (a
    /// `File` reader would share one file position between them).
    reader: SerializedFileReader<bytes::Bytes>,
    /// Top-level column names, in file order, without the hidden origin column.
    pub headers: Vec<String>,
    convs: Vec<Conv>,
    /// The hidden origin column of a partition's part: its leaf and its name.
    pub origin: Option<(usize, String)>,
    /// First row of each row group, then the number of rows.
    starts: Vec<usize>,
}

/// Which columns of a row group to read.
#[derive(Clone)]
pub struct Want {
    /// Per column of `headers`.
    pub columns: Vec<bool>,
    pub origin: bool,
}

/// One column of a row group as text.
#[derive(Default)]
pub struct TextColumn {
    text: String,
    ends: Vec<u32>,
}

impl TextColumn {
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    fn end(&mut self) {
        self.ends.push(self.text.len() as u32);
    }
}

/// A row group read: the wanted columns as text (the others empty) and the origin lines.
pub struct Group {
    pub first_row: usize,
    pub rows: usize,
    pub columns: Vec<TextColumn>,
    pub origin: Vec<u64>,
}

impl Group {
    /// Value of column `c` of row `row` (of the file); empty where the column was not read.
    pub fn value(&self, row: usize, c: usize) -> &str {
        let col = &self.columns[c];
        if col.ends.is_empty() {
            ""
        } else {
            col.get(row - self.first_row)
        }
    }
}

/// A type name for a message, as a user who wrote the file would know it.
fn type_name(t: &parquet::schema::types::Type) -> String {
    if t.is_group() {
        return match t.get_basic_info().logical_type_ref() {
            Some(LogicalType::List) => "list".into(),
            Some(LogicalType::Map) => "map".into(),
            _ => match t.get_basic_info().converted_type() {
                ConvertedType::LIST => "list".into(),
                ConvertedType::MAP | ConvertedType::MAP_KEY_VALUE => "map".into(),
                _ => "struct".into(),
            },
        };
    }
    if t.get_basic_info().has_repetition()
        && t.get_basic_info().repetition() == Repetition::REPEATED
    {
        return "list".into();
    }
    match t.get_basic_info().logical_type_ref() {
        Some(LogicalType::Time(_)) => "time".into(),
        Some(LogicalType::Uuid) => "uuid".into(),
        Some(LogicalType::Float16) => "float16".into(),
        Some(LogicalType::Bson) => "bson".into(),
        Some(other) => format!("{other:?}").to_lowercase(),
        None => match t.get_basic_info().converted_type() {
            ConvertedType::TIME_MILLIS | ConvertedType::TIME_MICROS => "time".into(),
            ConvertedType::INTERVAL => "interval".into(),
            ConvertedType::NONE => match t.get_physical_type() {
                Physical::BYTE_ARRAY | Physical::FIXED_LEN_BYTE_ARRAY => "binary".into(),
                p => p.to_string().to_lowercase(),
            },
            c => c.to_string().to_lowercase(),
        },
    }
}

/// How a leaf column is read as text; `None` when it holds no single readable value.
fn conv_of(d: &ColumnDescriptor) -> Option<Conv> {
    let per_day = |u: &TimeUnit| match u {
        TimeUnit::MILLIS => 86_400_000,
        TimeUnit::MICROS => 86_400_000_000,
        TimeUnit::NANOS => 86_400_000_000_000,
    };
    let physical = d.physical_type();
    let conv = match (d.logical_type_ref(), d.converted_type()) {
        (Some(LogicalType::String | LogicalType::Enum | LogicalType::Json), _) => Conv::Text,
        (Some(LogicalType::Date), _) => Conv::Date,
        (Some(LogicalType::Decimal(t)), _) => Conv::Decimal(t.scale.max(0) as u32),
        (Some(LogicalType::Timestamp(t)), _) => Conv::Timestamp(per_day(&t.unit)),
        (Some(LogicalType::Integer(t)), _) if !t.is_signed => Conv::Unsigned,
        (Some(LogicalType::Integer(_)), _) => Conv::Int,
        (Some(_), _) => return None,
        (None, ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON) => Conv::Text,
        (None, ConvertedType::DATE) => Conv::Date,
        (None, ConvertedType::DECIMAL) => Conv::Decimal(d.type_scale().max(0) as u32),
        (None, ConvertedType::TIMESTAMP_MILLIS) => Conv::Timestamp(86_400_000),
        (None, ConvertedType::TIMESTAMP_MICROS) => Conv::Timestamp(86_400_000_000),
        (
            None,
            ConvertedType::UINT_8
            | ConvertedType::UINT_16
            | ConvertedType::UINT_32
            | ConvertedType::UINT_64,
        ) => Conv::Unsigned,
        (
            None,
            ConvertedType::INT_8
            | ConvertedType::INT_16
            | ConvertedType::INT_32
            | ConvertedType::INT_64,
        ) => Conv::Int,
        (None, ConvertedType::NONE) => match physical {
            Physical::BOOLEAN => Conv::Bool,
            Physical::INT32 | Physical::INT64 => Conv::Int,
            Physical::INT96 => Conv::Int96,
            Physical::FLOAT | Physical::DOUBLE => Conv::Float,
            // bytes without a string annotation are binary
            Physical::BYTE_ARRAY | Physical::FIXED_LEN_BYTE_ARRAY => return None,
        },
        (None, _) => return None,
    };
    // an annotation the physical type cannot carry is no readable value
    let fits = match conv {
        Conv::Text => physical == Physical::BYTE_ARRAY,
        Conv::Date => physical == Physical::INT32,
        Conv::Int | Conv::Unsigned => matches!(physical, Physical::INT32 | Physical::INT64),
        Conv::Timestamp(_) => physical == Physical::INT64,
        Conv::Decimal(_) => matches!(
            physical,
            Physical::INT32
                | Physical::INT64
                | Physical::BYTE_ARRAY
                | Physical::FIXED_LEN_BYTE_ARRAY
        ),
        _ => true,
    };
    fits.then_some(conv)
}

impl ParquetFile {
    /// Open a file and read its metadata and schema: a column of a type that holds no single
    /// value (binary, list, struct, time) is an error naming it.
    pub fn open(path: &Path) -> Result<ParquetFile> {
        let f =
            File::open(path).with_context(|| format!("{}: cannot read file", path.display()))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let bytes = if len == 0 {
            bytes::Bytes::new()
        } else {
            // SAFETY: the map is read-only; claimscrub's inputs are exports that nothing writes
            // while a scrub reads them (a file changed underneath would be misread)
            let map = unsafe { memmap2::Mmap::map(&f) }
                .with_context(|| format!("{}: cannot read file", path.display()))?;
            bytes::Bytes::from_owner(map)
        };
        let reader = SerializedFileReader::new(bytes)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
        let meta = reader.metadata();
        let schema = meta.file_metadata().schema_descr();
        let fields = schema.root_schema().get_fields();
        // what Arrow writers (pyarrow, polars) record of a column beyond Parquet's types: a
        // duration is a plain INT64 in Parquet, and named only in their `ARROW:schema`
        let arrow_types = meta
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == "ARROW:schema"))
            .and_then(|k| k.value.as_deref())
            .and_then(arrow_field_types)
            .filter(|t| t.len() == fields.len());
        // a codec this build does not read is named at once, not at the first row group
        for g in meta.row_groups() {
            for c in g.columns() {
                use parquet::basic::Compression as C;
                let codec = c.compression();
                if !matches!(
                    codec,
                    C::UNCOMPRESSED | C::SNAPPY | C::GZIP(_) | C::ZSTD(_) | C::LZ4 | C::LZ4_RAW
                ) {
                    bail!(
                        "{}: column `{}` is compressed with {codec}, which claimscrub does not read; write the file with snappy, zstd, gzip or lz4 (or none)",
                        path.display(),
                        c.column_path().string()
                    );
                }
            }
        }
        let mut headers = Vec::with_capacity(fields.len());
        let mut convs = Vec::with_capacity(fields.len());
        let mut origin = None;
        for (i, field) in fields.iter().enumerate() {
            let name = field.name().to_string();
            let unreadable = |what: String| {
                anyhow::anyhow!(
                    "{}: column `{name}` has type {what}, which claimscrub cannot read as a value; write it as text, a number or a date",
                    path.display(),
                )
            };
            let repeated = field.get_basic_info().has_repetition()
                && field.get_basic_info().repetition() == Repetition::REPEATED;
            if field.is_group() || repeated {
                return Err(unreadable(type_name(field)));
            }
            if let Some(name) = arrow_types
                .as_ref()
                .and_then(|t| ARROW_UNREADABLE.iter().find(|(tag, _)| *tag == t[i]))
            {
                return Err(unreadable(name.1.to_string()));
            }
            // every column before is a primitive (a group stopped the loop): leaf i is column i
            let descr = schema.column(i);
            if i == fields.len() - 1 && name.starts_with(super::table::ORIGIN_PREFIX) {
                if descr.physical_type() != Physical::INT64 {
                    bail!("{}: column `{name}` is not of line numbers", path.display());
                }
                origin = Some((i, name));
            } else {
                let conv = conv_of(&descr).ok_or_else(|| unreadable(type_name(field)))?;
                headers.push(name);
                convs.push(conv);
            }
        }
        let mut starts = Vec::with_capacity(meta.num_row_groups() + 1);
        let mut rows = 0usize;
        for g in meta.row_groups() {
            starts.push(rows);
            let n = usize::try_from(g.num_rows()).unwrap_or(0);
            if n > u32::MAX as usize {
                bail!(
                    "{}: a row group of {n} rows; claimscrub reads row groups of up to {} rows",
                    path.display(),
                    u32::MAX
                );
            }
            rows += n;
        }
        starts.push(rows);
        Ok(ParquetFile {
            path: path.into(),
            reader,
            headers,
            convs,
            origin,
            starts,
        })
    }

    pub fn rows(&self) -> usize {
        *self.starts.last().expect("a start per group and the end")
    }

    pub fn groups(&self) -> usize {
        self.starts.len() - 1
    }

    /// The rows of group `g`.
    pub fn group_rows(&self, g: usize) -> std::ops::Range<usize> {
        self.starts[g]..self.starts[g + 1]
    }

    /// The group holding `row`.
    pub fn group_of(&self, row: usize) -> usize {
        self.starts.partition_point(|&s| s <= row) - 1
    }

    /// Every column, with the origin.
    pub fn all(&self) -> Want {
        Want {
            columns: vec![true; self.headers.len()],
            origin: true,
        }
    }

    /// Read row group `g`: a damaged file is an error naming it, also where the reader panics.
    pub fn read_group(&self, g: usize, want: &Want) -> Result<Group> {
        crate::base::foreign::catch_panic(|| self.group(g, want)).unwrap_or_else(|panic| {
            bail!(
                "{}: not a readable Parquet file: it is damaged (the Parquet reader stopped: {panic})",
                self.path.display()
            )
        })
    }

    fn group(&self, g: usize, want: &Want) -> Result<Group> {
        let damaged = |e: parquet::errors::ParquetError| {
            anyhow::Error::from(e).context(format!(
                "{}: not a readable Parquet file (row group {g})",
                self.path.display()
            ))
        };
        let rg = self.reader.get_row_group(g).map_err(damaged)?;
        let rows = self.group_rows(g).len();
        let columns = (0..self.headers.len())
            .into_par_iter()
            .map(|c| -> Result<TextColumn> {
                if !want.columns[c] {
                    return Ok(TextColumn::default());
                }
                let leaf = if self.origin.as_ref().is_some_and(|(o, _)| *o <= c) {
                    c + 1
                } else {
                    c
                };
                let col = read_column(&*rg, leaf, self.convs[c], rows).map_err(|e| {
                    anyhow::Error::from(e).context(format!(
                        "{}: not a readable Parquet file (column `{}`, row group {g})",
                        self.path.display(),
                        self.headers[c]
                    ))
                })?;
                if col.ends.len() != rows {
                    bail!(
                        "{}: not a readable Parquet file: column `{}` has {} values in row group {g} of {rows} rows",
                        self.path.display(),
                        self.headers[c],
                        col.ends.len()
                    );
                }
                Ok(col)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut origin = Vec::new();
        if let (true, Some((leaf, name))) = (want.origin, &self.origin) {
            origin = read_origin(&*rg, *leaf, rows)
                .map_err(damaged)?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: column `{name}` has an empty value",
                        self.path.display()
                    )
                })?;
        }
        Ok(Group {
            first_row: self.starts[g],
            rows,
            columns,
            origin,
        })
    }
}

/// Arrow types (their tag in Arrow's `Schema.fbs` union `Type`) that Parquet stores as a plain
/// number and that hold no single value: Time (an annotated INT32/64 too) and Duration.
const ARROW_UNREADABLE: [(u8, &str); 2] = [(9, "time"), (18, "duration")];

/// The type tags of the top-level fields of an `ARROW:schema` (base64 of an Arrow IPC message
/// holding a flatbuffer `Schema`); `None` where it cannot be read (it is only a hint).
fn arrow_field_types(b64: &str) -> Option<Vec<u8>> {
    let buf = base64_decode(b64)?;
    // an IPC message: an optional continuation marker, its length, then the flatbuffer
    let mut at = 0;
    if buf.get(..4)? == [0xff; 4] {
        at = 4;
    }
    let msg = buf.get(at + 4..)?;
    let fb = Flat(msg);
    let message = fb.root()?;
    // Message { version, header_type, header: Schema, ... }
    let schema = fb.table_field(message, 2)?;
    // Schema { endianness, fields: [Field], ... }
    let fields = fb.vector_field(schema, 1)?;
    let mut out = Vec::new();
    for i in 0..fb.u32(fields)? as usize {
        let field = fb.deref(fields + 4 + 4 * i)?;
        // Field { name, nullable, type_type, type, ... }
        out.push(fb.scalar_u8(field, 2).unwrap_or(0));
    }
    Some(out)
}

/// A flatbuffer, read with bounds checks (a damaged file gives `None`, never a panic).
struct Flat<'a>(&'a [u8]);

impl Flat<'_> {
    fn u32(&self, at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.0.get(at..at + 4)?.try_into().ok()?))
    }

    fn u16(&self, at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(self.0.get(at..at + 2)?.try_into().ok()?))
    }

    /// The position an offset at `at` points to.
    fn deref(&self, at: usize) -> Option<usize> {
        at.checked_add(self.u32(at)? as usize)
    }

    fn root(&self) -> Option<usize> {
        self.deref(0)
    }

    /// Where field `i` of the table at `t` is, if present.
    fn field(&self, t: usize, i: usize) -> Option<usize> {
        let soffset = self.u32(t)? as i32 as isize;
        let vtable = (t as isize).checked_sub(soffset)? as usize;
        let len = self.u16(vtable)? as usize;
        if 4 + 2 * i + 2 > len {
            return None;
        }
        match self.u16(vtable + 4 + 2 * i)? {
            0 => None,
            off => Some(t + off as usize),
        }
    }

    fn table_field(&self, t: usize, i: usize) -> Option<usize> {
        self.deref(self.field(t, i)?)
    }

    fn vector_field(&self, t: usize, i: usize) -> Option<usize> {
        self.deref(self.field(t, i)?)
    }

    fn scalar_u8(&self, t: usize, i: usize) -> Option<u8> {
        self.0.get(self.field(t, i)?).copied()
    }
}

/// Standard base64 (with padding or without); `None` on any other character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Records per read of a column reader.
const BATCH: usize = 8192;

/// Read all values of one column chunk, `f` taking each batch (values, definition levels; the
/// levels are empty where the column is required).
fn drain<T: DataType>(
    mut r: ColumnReaderImpl<T>,
    mut f: impl FnMut(&[T::T], &[i16]) -> parquet::errors::Result<()>,
) -> parquet::errors::Result<()> {
    let (mut values, mut defs) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
    loop {
        values.clear();
        defs.clear();
        let (records, _, _) = r.read_records(BATCH, Some(&mut defs), None, &mut values)?;
        if records == 0 {
            return Ok(());
        }
        f(&values, &defs)?;
    }
}

/// Each value of a batch into `col` as `text` writes it; nulls empty.
fn each<V>(
    col: &mut TextColumn,
    values: &[V],
    defs: &[i16],
    max_def: i16,
    mut text: impl FnMut(&mut String, &V) -> parquet::errors::Result<()>,
) -> parquet::errors::Result<()> {
    if defs.is_empty() {
        for v in values {
            text(&mut col.text, v)?;
            col.end();
        }
    } else {
        let mut it = values.iter();
        for d in defs {
            if *d == max_def {
                let v = it.next().ok_or_else(|| {
                    parquet::errors::ParquetError::General("too few values".into())
                })?;
                text(&mut col.text, v)?;
            }
            col.end();
        }
    }
    if col.text.len() > u32::MAX as usize {
        return Err(parquet::errors::ParquetError::General(
            "a column of a row group holds more than 4 GB of text".into(),
        ));
    }
    Ok(())
}

fn push_day(s: &mut String, d: Day) {
    s.push_str(std::str::from_utf8(&iso_bytes(d)).unwrap_or(""));
}

/// A decimal's unscaled value with `scale` places.
fn push_decimal(s: &mut String, v: i128, scale: u32) {
    use std::fmt::Write as _;
    if scale == 0 {
        let _ = write!(s, "{v}");
        return;
    }
    let unit = 10u128.pow(scale.min(38));
    let a = v.unsigned_abs();
    let sign = if v < 0 { "-" } else { "" };
    let _ = write!(
        s,
        "{sign}{}.{:0width$}",
        a / unit,
        a % unit,
        width = scale as usize
    );
}

/// Big-endian two's complement bytes (a decimal in BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY).
fn be_i128(b: &[u8]) -> parquet::errors::Result<i128> {
    if b.len() > 16 {
        return Err(parquet::errors::ParquetError::General(
            "a decimal of more than 16 bytes".into(),
        ));
    }
    let mut v: i128 = if b.first().is_some_and(|x| x & 0x80 != 0) {
        -1
    } else {
        0
    };
    for x in b {
        v = (v << 8) | *x as i128;
    }
    Ok(v)
}

fn day_of(v: i64, per_day: i64) -> Day {
    v.div_euclid(per_day)
        .clamp(Day::MIN as i64, Day::MAX as i64) as Day
}

fn read_column(
    rg: &dyn RowGroupReader,
    leaf: usize,
    conv: Conv,
    rows: usize,
) -> parquet::errors::Result<TextColumn> {
    use std::fmt::Write as _;
    let max_def = rg.metadata().schema_descr().column(leaf).max_def_level();
    let mut col = TextColumn {
        text: String::with_capacity(rows * 8),
        ends: Vec::with_capacity(rows),
    };
    let bad_utf8 = || parquet::errors::ParquetError::General("a string that is not UTF-8".into());
    let c = &mut col;
    match rg.get_column_reader(leaf)? {
        ColumnReader::BoolColumnReader(r) => drain(r, |v, d| {
            each(c, v, d, max_def, |s, b| {
                s.push_str(if *b { "true" } else { "false" });
                Ok(())
            })
        })?,
        ColumnReader::Int32ColumnReader(r) => drain(r, |v, d| {
            each(c, v, d, max_def, |s, x| {
                match conv {
                    Conv::Date => push_day(s, *x),
                    Conv::Unsigned => {
                        let _ = write!(s, "{}", *x as u32);
                    }
                    Conv::Decimal(scale) => push_decimal(s, *x as i128, scale),
                    _ => {
                        let _ = write!(s, "{x}");
                    }
                }
                Ok(())
            })
        })?,
        ColumnReader::Int64ColumnReader(r) => drain(r, |v, d| {
            each(c, v, d, max_def, |s, x| {
                match conv {
                    Conv::Unsigned => {
                        let _ = write!(s, "{}", *x as u64);
                    }
                    Conv::Decimal(scale) => push_decimal(s, *x as i128, scale),
                    Conv::Timestamp(per_day) => push_day(s, day_of(*x, per_day)),
                    _ => {
                        let _ = write!(s, "{x}");
                    }
                }
                Ok(())
            })
        })?,
        ColumnReader::Int96ColumnReader(r) => drain(r, |v, d| {
            each(c, v, d, max_def, |s, x| {
                let julian = x.data()[2] as i64;
                push_day(s, day_of(julian - 2_440_588, 1));
                Ok(())
            })
        })?,
        ColumnReader::FloatColumnReader(r) => drain(r, |v, d| {
            each(c, v, d, max_def, |s, x| {
                let _ = write!(s, "{x:?}");
                Ok(())
            })
        })?,
        ColumnReader::DoubleColumnReader(r) => drain(r, |v, d| {
            each(c, v, d, max_def, |s, x| {
                let _ = write!(s, "{x:?}");
                Ok(())
            })
        })?,
        ColumnReader::ByteArrayColumnReader(r) => drain(r, |v, d| {
            each(c, v, d, max_def, |s, x| {
                match conv {
                    Conv::Decimal(scale) => push_decimal(s, be_i128(x.data())?, scale),
                    _ => s.push_str(std::str::from_utf8(x.data()).map_err(|_| bad_utf8())?),
                }
                Ok(())
            })
        })?,
        ColumnReader::FixedLenByteArrayColumnReader(r) => drain(r, |v, d| {
            each(c, v, d, max_def, |s, x| {
                push_decimal(s, be_i128(x.data())?, conv_scale(conv));
                Ok(())
            })
        })?,
    }
    Ok(col)
}

fn conv_scale(conv: Conv) -> u32 {
    match conv {
        Conv::Decimal(s) => s,
        _ => 0,
    }
}

/// The origin column of a group; `None` when a value is null.
fn read_origin(
    rg: &dyn RowGroupReader,
    leaf: usize,
    rows: usize,
) -> parquet::errors::Result<Option<Vec<u64>>> {
    let max_def = rg.metadata().schema_descr().column(leaf).max_def_level();
    let mut out = Vec::with_capacity(rows);
    let mut null = false;
    match rg.get_column_reader(leaf)? {
        ColumnReader::Int64ColumnReader(r) => drain(r, |v, d| {
            if !d.is_empty() && d.iter().any(|x| *x != max_def) {
                null = true;
            }
            out.extend(v.iter().map(|x| *x as u64));
            Ok(())
        })?,
        _ => {
            return Err(parquet::errors::ParquetError::General(
                "the origin column is not INT64".into(),
            ))
        }
    }
    Ok((!null && out.len() == rows).then_some(out))
}

/// Rows of a Parquet file read a few row groups at a time, in row order (for writing rows back
/// out after the scrub, and for looking up the few rows a message quotes).
pub struct Rows<'f> {
    file: &'f ParquetFile,
    want: Want,
    groups: Vec<Arc<Group>>,
}

impl<'f> Rows<'f> {
    pub fn new(file: &'f ParquetFile, want: Want) -> Rows<'f> {
        Rows {
            file,
            want,
            groups: Vec::new(),
        }
    }

    /// Make rows `lo..=hi` readable: groups before `lo` are dropped, the missing ones read (in
    /// parallel).
    pub fn cover(&mut self, lo: usize, hi: usize) -> Result<()> {
        if self.file.rows() == 0 || lo > hi {
            return Ok(());
        }
        self.groups.retain(|g| g.first_row + g.rows > lo);
        let (a, b) = (self.file.group_of(lo), self.file.group_of(hi));
        let missing: Vec<usize> = (a..=b)
            .filter(|g| {
                !self
                    .groups
                    .iter()
                    .any(|x| x.first_row == self.file.starts[*g])
            })
            .collect();
        let read: Vec<Group> = missing
            .par_iter()
            .map(|&g| self.file.read_group(g, &self.want))
            .collect::<Result<_>>()?;
        self.groups.extend(read.into_iter().map(Arc::new));
        self.groups.sort_by_key(|g| g.first_row);
        Ok(())
    }

    /// The group holding `row` (covered).
    pub fn group(&self, row: usize) -> &Group {
        let i = self.groups.partition_point(|g| g.first_row <= row) - 1;
        &self.groups[i]
    }

    /// The values of `row` (covered).
    pub fn row(&self, row: usize) -> Vec<&str> {
        let g = self.group(row);
        (0..g.columns.len()).map(|c| g.value(row, c)).collect()
    }

    /// The origin of `row` (covered).
    pub fn origin(&self, row: usize) -> Option<u64> {
        let g = self.group(row);
        g.origin.get(row - g.first_row).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::parquet::{Kind, ParquetOut, Piece};

    #[test]
    fn values_become_the_text_of_a_csv_export() {
        let text = |f: &dyn Fn(&mut String)| {
            let mut s = String::new();
            f(&mut s);
            s
        };
        assert_eq!(text(&|s| push_decimal(s, 9000, 2)), "90.00");
        assert_eq!(text(&|s| push_decimal(s, -1250, 2)), "-12.50");
        assert_eq!(text(&|s| push_decimal(s, -5, 3)), "-0.005");
        assert_eq!(text(&|s| push_decimal(s, 42, 0)), "42");
        assert_eq!(text(&|s| push_day(s, 20157)), "2025-03-10");
        assert_eq!(be_i128(&[0xff, 0x38]).unwrap(), -200);
        assert_eq!(be_i128(&[0x00, 0x00, 0x23, 0x28]).unwrap(), 9000);
        assert!(be_i128(&[0; 17]).is_err());
        // a timestamp before 1970 is the day it falls on
        assert_eq!(day_of(-1, 86_400_000), -1);
        assert_eq!(day_of(86_400_000 * 3 + 5, 86_400_000), 3);
    }

    #[test]
    fn base64_and_a_damaged_arrow_schema_are_no_panic() {
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert!(base64_decode("a*b").is_none());
        for junk in ["", "AAAA", "/////wAAAAA=", "////////////////"] {
            assert!(
                arrow_field_types(junk).is_none_or(|t| t.len() < 4),
                "{junk}"
            );
        }
    }

    #[test]
    fn what_claimscrub_writes_it_reads_back_a_row_group_at_a_time() {
        let dir = std::env::temp_dir().join(format!("claimscrub-pq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        let kinds = [
            Kind::Text,
            Kind::Int,
            Kind::Date,
            Kind::Money(2),
            Kind::Line,
        ];
        let names = ["id", "n", "day", "charge", "claimscrub-origin:x:0:1"];
        let mut w =
            ParquetOut::create(std::fs::File::create(&path).unwrap(), &path, &names, &kinds)
                .unwrap();
        // 600,000 rows in pieces of 60,000: gathered into row groups of 300,000
        let rows = 600_000;
        for piece in 0..10 {
            let mut p = Piece::new(&kinds, 60_000);
            for i in piece * 60_000..(piece + 1) * 60_000 {
                p.text(0, &format!("C-{i}"));
                p.int(1, (i % 2 == 0).then_some(i as i64));
                p.date(2, 20157);
                p.money(3, 40_500_000);
                p.line(4, i as u64 + 2);
            }
            w.push([p]).unwrap();
        }
        w.finish().unwrap();
        let f = ParquetFile::open(&path).unwrap();
        assert_eq!(f.headers, ["id", "n", "day", "charge"]);
        assert_eq!(f.rows(), rows);
        assert_eq!(f.groups(), 2);
        assert_eq!(f.group_rows(1), 300_000..rows);
        let mut r = Rows::new(&f, f.all());
        for i in [0, 1, 299_999, 300_000, rows - 1] {
            r.cover(i, i).unwrap();
            let n = if i % 2 == 0 {
                i.to_string()
            } else {
                String::new()
            };
            assert_eq!(r.row(i), [&format!("C-{i}"), &*n, "2025-03-10", "40.50"]);
            assert_eq!(r.origin(i), Some(i as u64 + 2));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
