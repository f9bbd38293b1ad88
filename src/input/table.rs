//! Raw tables: the records of one input file (CSV, gzip CSV or Parquet) with their line numbers and text.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use std::sync::Arc;

use super::encoding::{to_utf8, Encoding};
use super::parquet::{ParquetFile, Rows, Want};
use super::split::{messy_fields, par_split_chunks, split_one, Chunk, RecordView, Runaway};
use crate::base::text::FileBytes;

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
        bytes: Arc<FileBytes>,
        data_start: usize,
        first_line: u64,
        /// Where `\xNN` stands for a byte that was not UTF-8 (see `encoding`), in order.
        escapes: Vec<usize>,
    },
    /// A Parquet file, read a row group at a time (every column as text; null = empty).
    Parquet(Arc<ParquetFile>),
}

pub struct RawTable {
    pub path: PathBuf,
    /// The file's name as written in `malformed.csv`.
    pub file_name: String,
    /// Column names as read (untrimmed), in file order.
    pub headers: Vec<String>,
    pub body: Body,
    /// What reading the file's text found to say (bytes that are not UTF-8), for stderr and summary.json.
    pub warnings: Vec<String>,
    /// A part of a `claimscrub partition`: each row's line in the original claims file (a hidden
    /// last column, kept out of the headers and rows).
    pub origin: Option<Origin>,
}

/// The name of the hidden column of a partition's claims part starts with this, then
/// `PARTITION:PART:PARTS`.
pub const ORIGIN_PREFIX: &str = "claimscrub-origin:";

/// The hidden column of a partition's claims part.
pub struct Origin {
    /// The column's name after `ORIGIN_PREFIX`: `PARTITION:PART:PARTS`; the column holds per row
    /// its line in the original claims file (read with the rows, `Rows::origin`).
    pub tag: String,
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
    /// The `\xNN` escapes within the record (empty on the clean path).
    escapes: &'a [usize],
    /// CSV: the record's text as UTF-8 (a slice of the file's, which `to_utf8` made UTF-8); each
    /// field is then a slice of it (fields end at ASCII bytes).
    text: Option<&'a str>,
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
        if !self.escapes.is_empty() && !self.escapes_in(i).is_empty() {
            return None;
        }
        match (&self.messy, self.view, self.frame) {
            (Some(m), _, _) => Some(Cow::Borrowed(m[i].as_str())),
            (None, Some(v), _) => v.value_in(i, self.text),
            (None, None, Some(f)) => Some(Cow::Borrowed(f[i])),
            _ => None,
        }
    }

    /// A quote that opened a field and ran on into what look like further records (the record is
    /// then the text of that line, and its fields those before the quote).
    pub fn runaway(&self) -> Option<Runaway> {
        self.view.and_then(|v| v.runaway)
    }

    /// The escapes of bytes that are not UTF-8 in field `i`: those from the field's start to the
    /// next field's.
    fn escapes_in(&self, i: usize) -> &'a [usize] {
        let Some(v) = self.view else {
            return &[];
        };
        let (lo, hi) = match (i, v.fields.get(i), v.fields.get(i + 1)) {
            (0, _, next) => (v.start, next.map_or(v.end, |s| s.start)),
            (_, Some(s), next) => (s.start, next.map_or(v.end, |s| s.start)),
            (_, None, _) => (v.start, v.end),
        };
        let a = self.escapes.partition_point(|&e| e < lo);
        let b = self.escapes.partition_point(|&e| e < hi);
        &self.escapes[a..b]
    }

    /// Field `i` as `clean` and `held` show it: a byte that is not UTF-8 as `\xNN`.
    pub fn shown(&self, i: usize) -> Cow<'_, str> {
        match (&self.messy, self.view, self.frame) {
            (Some(m), _, _) => Cow::Borrowed(m[i].as_str()),
            (None, Some(v), _) => v.value(i).unwrap_or_else(|| {
                let s = v.fields[i];
                Cow::Owned(String::from_utf8_lossy(&v.bytes[s.start..s.end]).into_owned())
            }),
            (None, None, Some(f)) => Cow::Borrowed(f[i]),
            _ => Cow::Borrowed(""),
        }
    }

    /// The bytes of field `i` that are not UTF-8, as they are shown (`\xE9`), for a message.
    pub fn not_utf8(&self, i: usize) -> String {
        let bytes = self.view.map_or(&[][..], |v| v.bytes);
        let mut shown: Vec<Cow<str>> = self
            .escapes_in(i)
            .iter()
            .take(4)
            .map(|&e| String::from_utf8_lossy(&bytes[e..(e + 4).min(bytes.len())]))
            .collect();
        if self.escapes_in(i).len() > 4 {
            shown.push("…".into());
        }
        shown.concat()
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

/// How many records ahead of the one being read a part's reader prefetches (12 and 32 measured
/// the same on the independent 10M batch).
const AHEAD: usize = 12;

impl RawTable {
    /// Read a file; CSV text is made UTF-8 from `encoding` first (Parquet text is UTF-8 by format).
    pub fn read(path: &Path, encoding: Encoding) -> Result<RawTable> {
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
                let f = std::fs::File::open(path)
                    .with_context(|| format!("{}: cannot read file", path.display()))?;
                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                let bytes = if len == 0 {
                    FileBytes::Owned(Vec::new())
                } else {
                    // SAFETY: the map is read-only; claimscrub's inputs are exports that nothing
                    // writes while a scrub reads them (a file changed underneath would be misread)
                    let map = unsafe { memmap2::Mmap::map(&f) }
                        .with_context(|| format!("{}: cannot read file", path.display()))?;
                    FileBytes::Mapped(map)
                };
                RawTable::from_csv(path, file_name, bytes, encoding)
            }
            Format::CsvGz => {
                let f = std::fs::File::open(path)
                    .with_context(|| format!("{}: cannot read file", path.display()))?;
                let mut bytes = Vec::new();
                flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f))
                    .read_to_end(&mut bytes)
                    .with_context(|| format!("{}: not a readable gzip file", path.display()))?;
                RawTable::from_csv(path, file_name, FileBytes::Owned(bytes), encoding)
            }
            Format::Parquet => RawTable::from_parquet(path, file_name),
        }
    }

    fn from_csv(
        path: &Path,
        file_name: String,
        bytes: FileBytes,
        encoding: Encoding,
    ) -> Result<RawTable> {
        // a byte-order mark is not part of the first column's name
        let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let text = to_utf8(bytes, bom, encoding, &file_name);
        let bytes = text.bytes;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&bytes[bom..]);
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
        let (data_start, first_line) = (bom + pos.byte() as usize, pos.line());
        Ok(RawTable {
            path: path.into(),
            file_name,
            headers,
            body: Body::Csv {
                bytes: Arc::new(bytes),
                data_start,
                first_line,
                escapes: text.escapes,
            },
            warnings: text.warning.into_iter().collect(),
            origin: None,
        })
    }

    /// A damaged Parquet file is an error naming it, also where the Parquet reader panics on it.
    /// Only the metadata is read here; the rows are read a row group at a time.
    fn from_parquet(path: &Path, file_name: String) -> Result<RawTable> {
        let file = crate::base::foreign::catch_panic(|| ParquetFile::open(path)).unwrap_or_else(
            |panic| {
                bail!(
                    "{}: not a readable Parquet file: it is damaged (the Parquet reader stopped: {panic})",
                    path.display()
                )
            },
        )?;
        let origin = file.origin.as_ref().map(|(_, name)| Origin {
            tag: name[ORIGIN_PREFIX.len()..].to_string(),
        });
        Ok(RawTable {
            path: path.into(),
            file_name,
            headers: file.headers.clone(),
            body: Body::Parquet(Arc::new(file)),
            warnings: Vec::new(),
            origin,
        })
    }

    /// A Parquet table read in several parts is first written out once as CSV text into `path`,
    /// which is unlinked as soon as it is mapped: each part then takes its records from the
    /// mapped text as for CSV. Read in place, every part decoded every row group again (at 50M
    /// lines in 53 parts, 25–45 s a part). The values, lines (row + 2) and record texts (those of
    /// `csv_line`) are the Parquet reader's, so the outputs do not change. Left as Parquet
    /// (`false`): a partition's part, whose hidden origin column only the Parquet reader knows,
    /// and a table with a line end in a value or name (a record of two lines would move the line
    /// numbers of those after it).
    pub fn parquet_to_csv(&mut self, path: &Path) -> Result<bool> {
        use std::io::Write;
        let Body::Parquet(file) = &self.body else {
            return Ok(false);
        };
        if self.origin.is_some() || self.headers.iter().any(|h| h.contains('\n')) {
            return Ok(false);
        }
        let unwritten = || {
            format!(
                "{}: cannot write the rows of {} as CSV text",
                path.display(),
                self.file_name
            )
        };
        let mut w = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path).with_context(unwritten)?,
        );
        let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
        let mut head = Vec::new();
        push_csv_line(&mut head, &headers);
        w.write_all(&head).with_context(unwritten)?;
        let want = file.all();
        let groups: Vec<usize> = (0..file.groups()).collect();
        // a few row groups at a time, each made text on its own thread, written in file order
        for window in groups.chunks(rayon::current_num_threads().max(1)) {
            let texts = window
                .par_iter()
                .map(|&g| -> Result<Option<Vec<u8>>> {
                    let group = file.read_group(g, &want)?;
                    let mut out = Vec::with_capacity(group.rows * 16 * group.columns.len().max(1));
                    let mut fields: Vec<&str> = Vec::with_capacity(group.columns.len());
                    for i in 0..group.rows {
                        fields.clear();
                        fields.extend(group.columns.iter().map(|c| c.get(i)));
                        if fields.iter().any(|f| f.contains('\n')) {
                            return Ok(None);
                        }
                        push_csv_line(&mut out, &fields);
                    }
                    Ok(Some(out))
                })
                .collect::<Result<Vec<_>>>()?;
            for text in texts {
                let Some(text) = text else {
                    drop(w);
                    let _ = std::fs::remove_file(path);
                    return Ok(false);
                };
                w.write_all(&text).with_context(unwritten)?;
            }
        }
        let f = w
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(unwritten)?;
        f.sync_data().with_context(unwritten)?;
        drop(f);
        let f = std::fs::File::open(path).with_context(unwritten)?;
        // SAFETY: a read-only map of a file this process wrote and no one else knows of: it is
        // unlinked right away, and the map keeps its pages until it is dropped
        let map = unsafe { memmap2::Mmap::map(&f) }.with_context(unwritten)?;
        let _ = std::fs::remove_file(path);
        let table = RawTable::from_csv(
            &self.path,
            self.file_name.clone(),
            FileBytes::Mapped(map),
            Encoding::Utf8,
        )?;
        debug_assert_eq!(table.headers, self.headers);
        self.body = table.body;
        Ok(true)
    }

    /// The Parquet file of the table, if it is one.
    pub fn parquet(&self) -> Option<&ParquetFile> {
        match &self.body {
            Body::Parquet(f) => Some(f),
            Body::Csv { .. } => None,
        }
    }

    /// The bytes of the file (CSV) that record spans point into.
    pub fn bytes(&self) -> &[u8] {
        match &self.body {
            Body::Csv { bytes, .. } => bytes,
            Body::Parquet(_) => &[],
        }
    }

    /// Bytes of text in the table (Parquet: estimated at 12 a value).
    pub fn size(&self) -> u64 {
        match &self.body {
            Body::Csv { bytes, .. } => bytes.len() as u64,
            Body::Parquet(f) => (f.headers.len() * f.rows() * 12) as u64,
        }
    }

    /// The file's bytes, shared with the texts that point into them (empty for Parquet).
    pub fn shared_bytes(&self) -> Arc<FileBytes> {
        match &self.body {
            Body::Csv { bytes, .. } => bytes.clone(),
            Body::Parquet(_) => Arc::default(),
        }
    }

    /// Give each chunk of records, in parallel, to `f`; results in file order. With `part`, only
    /// the records the index puts in that part. A Parquet chunk is a row group, read when its
    /// turn comes (an error where it is damaged).
    pub fn par_records<T: Send>(
        &self,
        part: Option<(&PartIndex, usize)>,
        f: impl Fn(&mut dyn FnMut(&mut dyn FnMut(&Rec))) -> T + Sync,
    ) -> Result<Vec<T>> {
        let width = self.headers.len();
        match (&self.body, part) {
            (
                Body::Csv {
                    bytes,
                    data_start,
                    first_line,
                    escapes,
                },
                None,
            ) => {
                // spans stay offsets into the whole file; the header is skipped by starting after it
                Ok(
                    par_split_chunks(bytes, *data_start, *first_line, width, |_, go| {
                        f(&mut |each: &mut dyn FnMut(&Rec)| {
                            go(&mut |v| csv_rec(v, utf8(bytes), escapes, each))
                        })
                    })
                    .1,
                )
            }
            (Body::Csv { bytes, escapes, .. }, Some((index, p))) => Ok(index
                .chunks
                .par_iter()
                .zip(&index.members)
                .map(|(c, members)| {
                    f(&mut |each: &mut dyn FnMut(&Rec)| {
                        let mut fields = Vec::with_capacity(32);
                        let members = &members[p];
                        for (k, &(at, line)) in members.iter().enumerate() {
                            // a part's records lie scattered over the file: the ones a few
                            // records ahead are fetched while this one is read
                            if let Some(&(ahead, _)) = members.get(k + AHEAD) {
                                let ahead = c.start + ahead as usize;
                                crate::base::prefetch(bytes, ahead);
                                crate::base::prefetch(bytes, ahead + 64);
                            }
                            let at = c.start + at as usize;
                            let line = c.line + line as u64;
                            split_one(bytes, at, c.end, line, width, &mut fields, &mut |v| {
                                csv_rec(v, utf8(bytes), escapes, each)
                            });
                        }
                    })
                })
                .collect()),
            (Body::Parquet(file), part) => {
                let want = file.all();
                (0..file.groups())
                    .into_par_iter()
                    .map(|g| -> Result<T> {
                        let members = part.map(|(index, p)| &index.members[g][p]);
                        if members.is_some_and(|m| m.is_empty()) {
                            return Ok(f(&mut |_: &mut dyn FnMut(&Rec)| {}));
                        }
                        let group = file.read_group(g, &want)?;
                        let first = group.first_row;
                        Ok(f(&mut |each: &mut dyn FnMut(&Rec)| {
                            let mut fields: Vec<&str> = Vec::with_capacity(group.columns.len());
                            let mut one = |i: usize| {
                                fields.clear();
                                fields.extend(group.columns.iter().map(|col| col.get(i)));
                                let row = first + i;
                                each(&Rec {
                                    line: row as u64 + 2,
                                    span: (row, 0),
                                    view: None,
                                    messy: None,
                                    frame: Some(&fields),
                                    escapes: &[],
                                    text: None,
                                });
                            };
                            match members {
                                None => (0..group.rows).for_each(&mut one),
                                Some(m) => m.iter().for_each(|&(i, _)| one(i as usize)),
                            }
                        }))
                    })
                    .collect()
            }
        }
    }

    /// Which part of `parts` each record goes to, by a hash of its value in column `key` (a record
    /// that does not have `width` fields, or whose key cannot be read, goes to part 0: it is
    /// malformed whatever its part).
    pub fn index(&self, key: usize, width: usize, parts: usize) -> Result<PartIndex> {
        self.index_within(key, width, parts, u32::MAX as usize)
    }

    /// `index`, with records placed relative to blocks of at most `span` bytes and lines (a chunk
    /// of the splitter can be the whole file, when its quoting defeated the cut).
    fn index_within(
        &self,
        key: usize,
        width: usize,
        parts: usize,
        span: usize,
    ) -> Result<PartIndex> {
        let part_of = |rec: &Rec| -> usize {
            if rec.width() != width || rec.runaway().is_some() {
                return 0;
            }
            rec.get(key).map_or(0, |v| part_of_key(v.trim(), parts))
        };
        match &self.body {
            Body::Csv {
                bytes,
                data_start,
                first_line,
                escapes,
            } => {
                let (_, blocks) =
                    par_split_chunks(bytes, *data_start, *first_line, width, |c, go| {
                        let mut blocks: Vec<(Chunk, Members)> = vec![(*c, vec![Vec::new(); parts])];
                        go(&mut |v| {
                            csv_rec(v, utf8(bytes), escapes, &mut |rec: &Rec| {
                                let (b, _) = blocks.last().expect("one block at least");
                                let (at, line) =
                                    (rec.span.0 - b.start, (rec.line - b.line) as usize);
                                if at > span || line > span {
                                    // a new block starts at this record: its records are in the chunk
                                    let block = Chunk {
                                        start: rec.span.0,
                                        end: c.end,
                                        line: rec.line,
                                    };
                                    blocks.push((block, vec![Vec::new(); parts]));
                                }
                                let (b, members) = blocks.last_mut().expect("one block at least");
                                let at = (rec.span.0 - b.start) as u32;
                                let line = (rec.line - b.line) as u32;
                                members[part_of(rec)].push((at, line));
                            })
                        });
                        blocks
                    });
                let (chunks, members) = blocks.into_iter().flatten().unzip();
                Ok(PartIndex { chunks, members })
            }
            Body::Parquet(file) => {
                // a record's place is its row in its row group
                let members = self.par_records(None, |go| {
                    let mut members = vec![Vec::new(); parts];
                    go(&mut |rec: &Rec| {
                        let g = file.group_of(rec.span.0);
                        let row = (rec.span.0 - file.group_rows(g).start) as u32;
                        members[part_of(rec)].push((row, 0));
                    });
                    members
                })?;
                Ok(PartIndex {
                    chunks: Vec::new(),
                    members,
                })
            }
        }
    }

    /// The texts of records, for `malformed.csv` (Parquet: each row group they are in read once).
    pub fn record_texts(&self, spans: &[(usize, usize)]) -> Result<Vec<String>> {
        match &self.body {
            Body::Csv { bytes, .. } => Ok(spans
                .iter()
                .map(|s| String::from_utf8_lossy(&bytes[s.0..s.1]).into_owned())
                .collect()),
            Body::Parquet(file) => {
                let mut order: Vec<usize> = (0..spans.len()).collect();
                order.sort_by_key(|&i| spans[i].0);
                let mut rows = Rows::new(file, file.all());
                let mut out = vec![String::new(); spans.len()];
                for i in order {
                    let row = spans[i].0;
                    rows.cover(row, row)?;
                    out[i] = csv_line(&rows.row(row));
                }
                Ok(out)
            }
        }
    }

    /// Rows of a Parquet table for reading them back in row order (`want`: the columns).
    pub fn rows(&self, want: Option<Want>) -> Option<Rows<'_>> {
        self.parquet().map(|f| {
            let want = want.unwrap_or_else(|| f.all());
            Rows::new(f, want)
        })
    }
}

/// The text of a CSV table as `str`.
fn utf8(bytes: &FileBytes) -> &str {
    // SAFETY: every CSV body is made by `from_csv`, whose `to_utf8` checked the bytes as UTF-8 or
    // wrote them anew as UTF-8 (the file's bytes mapped stay as they were: an input that nothing
    // writes while a scrub reads it, as `read` says). Checking again cost a scan of every record
    // in each of its two passes.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// A CSV record as a `Rec`; `text` is the file's, `escapes` its escapes (see `encoding`).
fn csv_rec(v: &RecordView, text: &str, escapes: &[usize], each: &mut dyn FnMut(&Rec)) {
    let messy = v.messy.then(|| messy_fields(v.raw()));
    let escapes = if escapes.is_empty() {
        escapes
    } else {
        let a = escapes.partition_point(|&e| e < v.start);
        let b = escapes.partition_point(|&e| e < v.end);
        &escapes[a..b]
    };
    each(&Rec {
        line: v.line,
        span: (v.start, v.end),
        view: Some(v),
        messy,
        frame: None,
        escapes,
        // records begin and end at ASCII bytes: always on character boundaries
        text: text.get(v.start..v.end),
    });
}

/// Which records of a table belong to which part of a batch, found in one pass over the file:
/// per chunk and part, each record's place in its chunk (CSV: byte and line offset; Parquet: row
/// in its row group).
pub struct PartIndex {
    chunks: Vec<Chunk>,
    members: Vec<Members>,
}

/// Per part, the records of one chunk: (place, line) relative to the chunk.
type Members = Vec<Vec<(u32, u32)>>;

impl PartIndex {
    /// Records of each part (to report how a batch was cut).
    pub fn sizes(&self) -> Vec<usize> {
        let parts = self.members.first().map_or(0, Vec::len);
        (0..parts)
            .map(|p| self.members.iter().map(|m| m[p].len()).sum())
            .collect()
    }
}

/// The part of a key: its stable hash cut into `parts` even ranges by the high bits, so that the
/// nightly state's buckets (the top bits of the same hash) each lie within one or two parts.
pub fn part_of_key(key: &str, parts: usize) -> usize {
    let x = crate::base::hash::stable_hash(key.as_bytes());
    ((x as u128 * parts as u128) >> 64) as usize
}

/// `fields` as one CSV line and a line end, appended to `out`, quoted as the `csv` crate quotes
/// with a CRLF terminator: a field holding `,`, `"`, `\r` or `\n` in quotes with its quotes
/// doubled, and a record of one empty field as `""`. Written here rather than by a `csv::Writer`
/// a row: building one (and its 8 KiB buffer) for each quoted row of a batch cost more than the
/// writing.
pub fn push_csv_line<S: AsRef<str>>(out: &mut Vec<u8>, fields: &[S]) {
    if let [only] = fields {
        if only.as_ref().is_empty() {
            out.extend_from_slice(b"\"\"\n");
            return;
        }
    }
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let f = f.as_ref().as_bytes();
        // the CRLF terminator makes the csv crate quote a field holding a \r as well as a \n
        // (spreadsheets and most CSV readers end a record at a bare \r)
        if f.iter().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
            out.push(b'"');
            let mut from = 0;
            for q in memchr::memchr_iter(b'"', f) {
                out.extend_from_slice(&f[from..=q]);
                out.push(b'"');
                from = q + 1;
            }
            out.extend_from_slice(&f[from..]);
            out.push(b'"');
        } else {
            out.extend_from_slice(f);
        }
    }
    out.push(b'\n');
}

/// Fields written as one CSV line, quoted where needed (`push_csv_line` without the line end).
pub fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = Vec::new();
    push_csv_line(&mut out, fields);
    out.pop();
    String::from_utf8(out).expect("utf-8 in, utf-8 out")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line as the csv crate writes it with a CRLF terminator (the writer `csv_line` was).
    fn by_the_csv_crate(fields: &[&str]) -> String {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(fields).unwrap();
        let mut s = String::from_utf8(w.into_inner().unwrap()).unwrap();
        s.truncate(s.len() - 2);
        s
    }

    #[test]
    fn a_line_is_written_as_the_csv_crate_writes_it() {
        let cases: &[&[&str]] = &[
            &["a", "b"],
            &["", ""],
            &[""],
            &[" a ", "=1"],
            &["a,b", "c"],
            &["q\"x", "y"],
            &["a\rb"],
            &["c\nd", "e"],
            &["é", "日本"],
            &["\"\"", "\"", "x\"\"y\""],
        ];
        for fields in cases {
            let mut out = Vec::new();
            push_csv_line(&mut out, fields);
            assert_eq!(String::from_utf8(out).unwrap(), csv_line(fields) + "\n");
            assert_eq!(csv_line(fields), by_the_csv_crate(fields), "{fields:?}");
        }
        // every field of up to 3 characters over a , " \r \n, alone and beside another
        let alphabet = ["a", ",", "\"", "\r", "\n"];
        let mut words = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = words
                .iter()
                .filter(|w| w.len() == words.last().unwrap().len())
                .flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}")))
                .collect();
            words.extend(longer);
        }
        for w in &words {
            for fields in [
                vec![w.as_str()],
                vec![w.as_str(), ""],
                vec!["", w.as_str(), "b"],
            ] {
                assert_eq!(csv_line(&fields), by_the_csv_crate(&fields), "{fields:?}");
            }
        }
    }

    #[test]
    fn a_line_quotes_carriage_returns_and_line_ends() {
        assert_eq!(
            csv_line(&["a\rb", "c\nd", "e", "f\"g"]),
            "\"a\rb\",\"c\nd\",e,\"f\"\"g\""
        );
        assert_eq!(csv_line(&[""]), "\"\"");
    }

    /// The records of each part, as (line, first field).
    fn parts_of(table: &RawTable, index: &PartIndex, parts: usize) -> Vec<Vec<(u64, String)>> {
        (0..parts)
            .map(|p| {
                table
                    .par_records(Some((index, p)), |go| {
                        let mut v = Vec::new();
                        go(&mut |r: &Rec| v.push((r.line, r.get(0).unwrap().into_owned())));
                        v
                    })
                    .unwrap()
                    .concat()
            })
            .collect()
    }

    #[test]
    fn every_record_goes_to_one_part_whatever_the_block_size() {
        let mut text = String::from("id,patient\n");
        for i in 0..500 {
            if i % 9 == 0 {
                text.push_str(&format!("\"R{i}\nnote\",P-{}\n", i % 37));
            } else {
                text.push_str(&format!("R{i},P-{}\n", i % 37));
            }
        }
        text.push_str("short\n");
        let table = table(text.as_bytes());
        let whole = parts_of(&table, &table.index(1, 2, 1).unwrap(), 1).concat();
        assert_eq!(whole.len(), 501);
        for span in [u32::MAX as usize, 100, 7, 0] {
            let index = table.index_within(1, 2, 3, span).unwrap();
            let parts = parts_of(&table, &index, 3);
            // each part in file order; together, every record once
            let mut all = parts.concat();
            assert!(parts.iter().all(|p| p.windows(2).all(|w| w[0].0 < w[1].0)));
            all.sort();
            assert_eq!(all, whole, "blocks of {span}");
            // a record of the wrong width goes to part 0
            assert!(parts[0].iter().any(|r| r.1 == "short"));
        }
    }

    fn table(text: &[u8]) -> RawTable {
        RawTable::from_csv(
            Path::new("t.csv"),
            "t.csv".into(),
            FileBytes::Owned(text.into()),
            Encoding::Utf8,
        )
        .unwrap()
    }

    #[test]
    fn a_byte_that_is_not_utf8_makes_only_its_field_unreadable() {
        let t =
            table(b"id,name,note\nC-1,Jos\xe9,ok\nC-2,\"Ann\",\"caf\xe9, \"\"x\"\"\"\nC-3,Bo,ok\n");
        assert_eq!(t.warnings.len(), 1);
        let seen = t
            .par_records(None, |go| {
                let mut v = Vec::new();
                go(&mut |r: &Rec| {
                    let fields: Vec<Option<String>> = (0..r.width())
                        .map(|i| r.get(i).map(|s| s.into_owned()))
                        .collect();
                    v.push((fields, r.not_utf8(1), r.not_utf8(2), r.raw()));
                });
                v
            })
            .unwrap()
            .concat();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(seen[0].0, [some("C-1"), None, some("ok")]);
        assert_eq!((&*seen[0].1, &*seen[0].2), ("\\xE9", ""));
        assert_eq!(seen[0].3, "C-1,Jos\\xE9,ok");
        assert_eq!(seen[1].0, [some("C-2"), some("Ann"), None]);
        assert_eq!(seen[1].2, "\\xE9");
        assert_eq!(seen[2].0, [some("C-3"), some("Bo"), some("ok")]);
    }

    #[test]
    fn a_stray_quote_is_seen_alike_whole_and_in_parts() {
        let mut text = String::from("id,patient,cpt\n");
        for i in 0..300 {
            if i == 40 {
                text.push_str(&format!("R{i},P-{},\"97124\n", i % 37));
            } else {
                text.push_str(&format!("R{i},P-{},97124\n", i % 37));
            }
        }
        let table = table(text.as_bytes());
        let whole = table
            .par_records(None, |go| {
                let mut v = Vec::new();
                go(&mut |r: &Rec| v.push((r.line, r.get(0).unwrap().into_owned(), r.runaway())));
                v
            })
            .unwrap()
            .concat();
        assert_eq!(whole.len(), 300);
        assert_eq!(whole[40].2, Some(Runaway { field: 2, line: 42 }));
        let index = table.index(1, 3, 3).unwrap();
        let mut parts: Vec<(u64, String)> = parts_of(&table, &index, 3).concat();
        parts.sort();
        let mut whole: Vec<(u64, String)> = whole.into_iter().map(|(l, id, _)| (l, id)).collect();
        whole.sort();
        assert_eq!(parts, whole);
    }

    #[test]
    fn keys_spread_evenly_over_parts_and_always_to_the_same_one() {
        let mut counts = [0usize; 4];
        for i in 0..40_000 {
            let key = format!("P-{i:06}");
            let p = part_of_key(&key, 4);
            assert_eq!(p, part_of_key(&key, 4));
            counts[p] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_000..11_000).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(part_of_key("P-1", 1), 0);
    }
}
