//! A fast RFC 4180 record splitter that works on chunks of a file in parallel.
//!
//! Fields are returned as byte ranges of the file, so ids need no copy: a value is a slice of the
//! file unless it was quoted with doubled quotes inside (then it is unescaped on demand). The file
//! is cut at record boundaries found from the parity of quote characters; a chunk that ends inside
//! a quoted field proves a cut was wrong, and the file is then split again in one piece.

use std::borrow::Cow;

use rayon::prelude::*;
use smallvec::SmallVec;

/// One field of a record: `bytes[start..end]`; `escaped` when it holds `""` to unescape.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub escaped: bool,
}

/// Where a quote opened that was not meant as one (see `split_records`): the record is cut at the
/// end of that line, and `fields` holds only the fields before the quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runaway {
    /// The field (0-based) whose first character is the quote.
    pub field: usize,
    /// The physical line of the quote.
    pub line: u64,
}

/// A record: its text `bytes[start..end]` (without the line end) and its fields.
pub struct RecordView<'a> {
    pub bytes: &'a [u8],
    pub start: usize,
    pub end: usize,
    /// Physical line where the record starts.
    pub line: u64,
    pub fields: &'a [Span],
    /// Text after a closing quote (`"ab"c,`): the fields come from the `csv` crate instead.
    pub messy: bool,
    /// A quote that opened a field and ran on past its line into what look like further records.
    pub runaway: Option<Runaway>,
}

impl<'a> RecordView<'a> {
    pub fn raw(&self) -> &'a [u8] {
        &self.bytes[self.start..self.end]
    }

    /// The value of field `i`, unescaped, or `None` when it is not valid UTF-8.
    pub fn value(&self, i: usize) -> Option<Cow<'a, str>> {
        self.value_in(i, None)
    }

    /// As `value`, given the record's text when it was already checked as UTF-8 (`raw()` as a
    /// `str`): the field is then a slice of it instead of being checked on its own.
    pub fn value_in(&self, i: usize, record: Option<&'a str>) -> Option<Cow<'a, str>> {
        let s = self.fields[i];
        let text = match record {
            Some(t) if s.start >= self.start && s.end <= self.end => {
                t.get(s.start - self.start..s.end - self.start)?
            }
            // no checked text, or a field outside it
            _ => std::str::from_utf8(&self.bytes[s.start..s.end]).ok()?,
        };
        Some(if s.escaped {
            Cow::Owned(text.replace("\"\"", "\""))
        } else {
            Cow::Borrowed(text)
        })
    }
}

/// Hands each record of a chunk to the callback it is given.
pub type Feed<'f> = dyn FnMut(&mut dyn FnMut(&RecordView)) + 'f;

/// Split `data` (whose first byte is on line `first_line`, records of `width` fields) into
/// records and hand each chunk's records to `f`, in parallel; results come back in file order.
#[cfg(test)]
pub fn par_split<T: Send>(
    data: &[u8],
    first_line: u64,
    width: usize,
    f: impl Fn(&mut Feed) -> T + Sync,
) -> Vec<T> {
    par_split_chunks(data, 0, first_line, width, |_, go| f(go)).1
}

/// A piece of a file: the records that start in `data[start..end]` (the last one may run on past
/// `end`, inside a quoted field), its first byte on `line`.
#[derive(Clone, Copy, Debug)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    pub line: u64,
}

/// Rounds of cutting in parallel before the rest of a file is split in one piece.
const ROUNDS: usize = 4;

/// As `par_split`, over `data[start..]` (spans stay offsets into `data`), telling `f` which chunk
/// it splits; the chunks come back too.
///
/// The file is cut by the parity of quotes (`cut`), which a stray quote makes wrong for the rest of
/// the file, so every cut is checked: a chunk is kept only when the chunk before it ended exactly
/// where it starts. The rest of the file, from the last record boundary that was proven, is cut
/// again (the quotes' parity counted afresh from there), and after a few rounds split in one piece.
/// So the chunks, and the records of each, are always those one pass over the file would find.
pub fn par_split_chunks<T: Send>(
    data: &[u8],
    start: usize,
    first_line: u64,
    width: usize,
    f: impl Fn(&Chunk, &mut Feed) -> T + Sync,
) -> (Vec<Chunk>, Vec<T>) {
    let (mut chunks, mut out) = (Vec::new(), Vec::new());
    let (mut at, mut line) = (start, first_line);
    for round in 0..=ROUNDS {
        let rest = data.len() - at;
        // at most ~1 GB a chunk, so that a record's place in its chunk fits in 32 bits
        let pieces = (rayon::current_num_threads() * 8).max(rest >> 30).max(1);
        let bounds: Vec<usize> = if rest < (1 << 20) || round == ROUNDS {
            vec![at, data.len()]
        } else {
            cut(&data[at..], pieces)
                .into_iter()
                .map(|b| b + at)
                .collect()
        };
        let lines = line_starts(data, &bounds, line);
        let tried: Vec<Chunk> = (0..bounds.len() - 1)
            .map(|i| Chunk {
                start: bounds[i],
                end: bounds[i + 1],
                line: lines[i],
            })
            .collect();
        let run = |c: &Chunk| -> (T, (usize, u64)) {
            let mut next = None;
            let t = f(c, &mut |each: &mut dyn FnMut(&RecordView)| {
                next = Some(split_range(data, c.start, c.end, c.line, width, each));
            });
            let next = next
                .unwrap_or_else(|| split_range(data, c.start, c.end, c.line, width, &mut |_| {}));
            (t, next)
        };
        let results: Vec<(T, (usize, u64))> = tried.par_iter().map(run).collect();
        let mut proven = true;
        for (c, (t, next)) in tried.into_iter().zip(results) {
            if c.start != at {
                // the chunk before ended elsewhere: this cut was wrong
                proven = false;
                break;
            }
            chunks.push(c);
            out.push(t);
            (at, line) = next;
        }
        if proven || at >= data.len() {
            break;
        }
    }
    (chunks, out)
}

/// The one record that starts at `at` (on line `line`) in a chunk ending at `end`; `fields` is
/// room for its fields, kept from record to record.
pub fn split_one(
    data: &[u8],
    at: usize,
    end: usize,
    line: u64,
    width: usize,
    fields: &mut Vec<Span>,
    each: &mut dyn FnMut(&RecordView),
) {
    split_records::<true>(data, at, end, line, width, 1, fields, each);
}

/// How far past a cut point `cut` looks for a line end outside quotes before it takes the first
/// line end whatever the quotes say (after a stray quote their parity is wrong; every cut is
/// checked by `par_split_chunks` anyway).
const WINDOW: usize = 1 << 16;

/// Cut points at likely record boundaries, by the parity of the quotes before them.
fn cut(data: &[u8], pieces: usize) -> Vec<usize> {
    let size = data.len().div_ceil(pieces);
    let quotes: Vec<usize> = (0..pieces)
        .into_par_iter()
        .map(|i| {
            let (a, b) = ((i * size).min(data.len()), ((i + 1) * size).min(data.len()));
            memchr::memchr_iter(b'"', &data[a..b]).count()
        })
        .collect();
    let before: Vec<usize> = quotes
        .iter()
        .scan(0usize, |sum, q| {
            let b = *sum;
            *sum += q;
            Some(b)
        })
        .collect();
    let found: Vec<Option<usize>> = (1..pieces)
        .into_par_iter()
        .map(|i| {
            let mut pos = i * size;
            if pos >= data.len() {
                return None;
            }
            let mut odd = before[i] % 2 == 1;
            let limit = (pos + WINDOW).min(data.len());
            // the first line end outside quotes from here
            while let Some(j) = memchr::memchr2(b'"', b'\n', &data[pos..limit]) {
                let at = pos + j;
                if data[at] == b'"' {
                    odd = !odd;
                } else if !odd {
                    return Some(at + 1);
                }
                pos = at + 1;
            }
            memchr::memchr(b'\n', &data[i * size..]).map(|j| i * size + j + 1)
        })
        .collect();
    let mut bounds = vec![0];
    for b in found.into_iter().flatten() {
        if b > *bounds.last().unwrap() && b < data.len() {
            bounds.push(b);
        }
    }
    bounds.push(data.len());
    bounds
}

/// The line number of each chunk's first byte.
fn line_starts(data: &[u8], bounds: &[usize], first_line: u64) -> Vec<u64> {
    let counts: Vec<u64> = bounds
        .windows(2)
        .collect::<Vec<_>>()
        .par_iter()
        .map(|w| memchr::memchr_iter(b'\n', &data[w[0]..w[1]]).count() as u64)
        .collect();
    let mut line = first_line;
    let mut out = Vec::with_capacity(counts.len());
    for c in counts {
        out.push(line);
        line += c;
    }
    out
}

/// Split the records that start in `data[a..b]`; returns where the next record starts, and its line.
fn split_range(
    data: &[u8],
    a: usize,
    b: usize,
    first_line: u64,
    width: usize,
    each: &mut dyn FnMut(&RecordView),
) -> (usize, u64) {
    split_records::<true>(
        data,
        a,
        b,
        first_line,
        width,
        usize::MAX,
        &mut Vec::with_capacity(32),
        each,
    )
}

/// Whether a line after a line break inside the quoted field `data[open..close]` holds a record's
/// worth of separators (`need` commas), counted to the end of that line (past the closing quote
/// too, where the rest of the record would be).
fn looks_like_records(data: &[u8], open: usize, close: usize, need: usize) -> bool {
    let mut p = open;
    while let Some(j) = memchr::memchr(b'\n', &data[p..close]) {
        let s = p + j + 1;
        let e = memchr::memchr(b'\n', &data[s..]).map_or(data.len(), |k| s + k);
        if memchr::memchr_iter(b',', &data[s..e]).count() >= need {
            return true;
        }
        p = s;
    }
    false
}

/// As `split_range`, stopping after `max` records. Records are `width` fields wide (the header's).
///
/// **A stray quote.** A field that starts with `"` runs to the quote that closes it, across line
/// ends (RFC 4180). An opening quote never meant as one (`"97124` in an export) would so swallow
/// the rest of the file, or everything up to the next quote. The quoted field is taken as such a
/// runaway, and its record cut at the end of the line where the quote opened (the fields before
/// the quote kept, `runaway` set, the next line read as a record of its own), when
/// - no quote closes it before the end of the file, or
/// - it holds a line break, a line after that break holds at least `width - 1` commas (a record's
///   worth of separators, counted to the end of that line), and the record read with the field
///   closed where its quote closes is not a well-formed one (text after the closing quote, or not
///   `width` fields).
///
/// A quoted note with line breaks in a well-formed record stays one field whatever its lines hold;
/// so does one whose lines do not look like records. Each decision reads only the file from the
/// record's start, so every chunk that starts at a true record boundary splits as one pass would.
///
/// `LINES`: with the path for a record on one line without quotes (`plain_line`); off only in a
/// test that it reads every record as `any_record` does.
#[allow(clippy::too_many_arguments)]
fn split_records<const LINES: bool>(
    data: &[u8],
    a: usize,
    b: usize,
    first_line: u64,
    width: usize,
    max: usize,
    fields: &mut Vec<Span>,
    each: &mut dyn FnMut(&RecordView),
) -> (usize, u64) {
    let bytes = data;
    let n = data.len();
    let need = width.saturating_sub(1).max(1);
    let mut count = 0usize;
    let (mut pos, mut line) = (a, first_line);
    while pos < b {
        // empty lines are not records
        if bytes[pos] == b'\n' {
            pos += 1;
            line += 1;
            continue;
        }
        if bytes[pos] == b'\r' && bytes.get(pos + 1) == Some(&b'\n') {
            pos += 2;
            line += 1;
            continue;
        }
        let (start, start_line) = (pos, line);
        fields.clear();
        let plain = if LINES {
            plain_line(bytes, pos, fields)
        } else {
            None
        };
        let (end, messy, runaway, next) = match plain {
            Some((end, nl)) => {
                let next = if nl < n {
                    (nl + 1, line + 1)
                } else {
                    (n, line)
                };
                (end, false, None, next)
            }
            None => any_record(bytes, pos, line, need, width, fields),
        };
        (pos, line) = next;
        each(&RecordView {
            bytes,
            start,
            end,
            line: start_line,
            fields,
            messy,
            runaway,
        });
        count += 1;
        if count == max {
            break;
        }
    }
    (pos, line)
}

/// Any record, read field by field (quotes, stray quotes, text after a closing quote), starting
/// at `start` on `line` (see `split_records`): where it ends (before its line end), whether it is
/// messy, its runaway quote if any, and where and on which line the next record starts.
fn any_record(
    bytes: &[u8],
    start: usize,
    line: u64,
    need: usize,
    width: usize,
    fields: &mut Vec<Span>,
) -> (usize, bool, Option<Runaway>, (usize, u64)) {
    let n = bytes.len();
    let (mut pos, mut line) = (start, line);
    let mut messy = false;
    // the first quoted field that may have been a stray quote: (field, after the quote, line)
    let mut suspect: Option<(usize, usize, u64)> = None;
    let mut unclosed = false;
    let mut end = n;
    loop {
        if pos < n && bytes[pos] == b'"' {
            // quoted field: up to the quote that is not doubled
            let fstart = pos + 1;
            let mut i = fstart;
            let mut escaped = false;
            let close = loop {
                match memchr::memchr(b'"', &bytes[i..]) {
                    None => break None,
                    Some(j) => {
                        let q = i + j;
                        if bytes.get(q + 1) == Some(&b'"') {
                            escaped = true;
                            i = q + 2;
                        } else {
                            break Some(q);
                        }
                    }
                }
            };
            let Some(close) = close else {
                // never closed: a stray quote whatever follows it
                suspect = suspect.or(Some((fields.len(), fstart, line)));
                unclosed = true;
                break;
            };
            let breaks = memchr::memchr_iter(b'\n', &bytes[fstart..close]).count() as u64;
            if breaks > 0 {
                if suspect.is_none() && looks_like_records(bytes, fstart, close, need) {
                    suspect = Some((fields.len(), fstart, line));
                }
                line += breaks;
            }
            fields.push(Span {
                start: fstart,
                end: close,
                escaped,
            });
            pos = close + 1;
            // text between the closing quote and the delimiter
            match bytes.get(pos) {
                None | Some(b',') | Some(b'\n') => {}
                Some(b'\r') if matches!(bytes.get(pos + 1), None | Some(b'\n')) => {}
                Some(_) => {
                    messy = true;
                    let j = memchr::memchr2(b',', b'\n', &bytes[pos..])
                        .map(|j| pos + j)
                        .unwrap_or(n);
                    pos = j;
                }
            }
        } else {
            let j = memchr::memchr2(b',', b'\n', &bytes[pos..])
                .map(|j| pos + j)
                .unwrap_or(n);
            let mut fend = j;
            // a \r before the line end belongs to the line end
            if fend > pos && bytes[fend - 1] == b'\r' && (j == n || bytes[j] == b'\n') {
                fend -= 1;
            }
            fields.push(Span {
                start: pos,
                end: fend,
                escaped: false,
            });
            pos = j;
        }
        match bytes.get(pos) {
            Some(b',') => pos += 1,
            _ => {
                let mut e = pos.min(n);
                if e > start && bytes[e - 1] == b'\r' {
                    e -= 1;
                }
                end = e;
                if pos < n {
                    // the line end: \n or \r\n
                    pos += if bytes[pos] == b'\r' && bytes.get(pos + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                    line += 1;
                }
                break;
            }
        }
        if pos >= n {
            // a trailing comma at the end of the data: one more, empty field
            fields.push(Span {
                start: n,
                end: n,
                escaped: false,
            });
            end = n;
            break;
        }
    }
    let mut runaway = None;
    if let Some((field, fstart, open_line)) = suspect {
        if unclosed || messy || fields.len() != width {
            // the record ends where the line of the stray quote ends
            fields.truncate(field);
            let line_end = memchr::memchr(b'\n', &bytes[fstart..]).map(|j| fstart + j);
            end = line_end.unwrap_or(n);
            if end > fstart && bytes[end - 1] == b'\r' {
                end -= 1;
            }
            pos = line_end.map_or(n, |e| e + 1);
            line = open_line + 1;
            messy = false;
            runaway = Some(Runaway {
                field,
                line: open_line,
            });
        }
    }
    (end, messy, runaway, (pos, line))
}

/// The common record: one line without a quote, starting at `pos`. Its fields are the text between
/// its commas, found in two scans of the line instead of one search a field (a search for a few
/// bytes costs more to start than to run); `any_record` reads it alike.
/// Returns where the record ends (before a `\r\n` or `\n`) and where its line ends (`\n`, or the
/// end of the data), or `None` when the line holds a quote (`fields` then untouched).
fn plain_line(bytes: &[u8], pos: usize, fields: &mut Vec<Span>) -> Option<(usize, usize)> {
    let nl = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |j| pos + j);
    if memchr::memchr(b'"', &bytes[pos..nl]).is_some() {
        return None;
    }
    let mut end = nl;
    if end > pos && bytes[end - 1] == b'\r' {
        end -= 1;
    }
    let mut f = pos;
    for c in memchr::memchr_iter(b',', &bytes[pos..end]) {
        fields.push(Span {
            start: f,
            end: pos + c,
            escaped: false,
        });
        f = pos + c + 1;
    }
    fields.push(Span {
        start: f,
        end,
        escaped: false,
    });
    Some((end, nl))
}

/// The fields of a messy record, as the `csv` crate reads them.
pub fn messy_fields(raw: &[u8]) -> Vec<String> {
    with_messy_fields(raw, |fields| fields.iter().map(|f| f.to_string()).collect())
}

/// `f` of the fields of a record as `messy_fields` reads them, lent from the thread's buffer
/// instead of copied into a `String` each (invalid UTF-8 is replaced, as `messy_fields` does).
pub fn with_messy_fields<R>(raw: &[u8], f: impl FnOnce(&[&str]) -> R) -> R {
    // csv_core's reader is built once a thread and reset per record: building one (its DFA) for
    // every messy row was 41 % of the cpu at 10M lines with a third of the rows quoted.
    // Only \n ends a record, as for the splitter: a bare \r is a field's text (the csv crate
    // would end the record there, and the rest of the row was lost in the outputs: found by fuzzing)
    thread_local! {
        static READER: std::cell::RefCell<MessyReader> = std::cell::RefCell::new(MessyReader {
            reader: csv_core::ReaderBuilder::new()
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            out: Vec::new(),
            ends: Vec::new(),
        });
    }
    // as the csv crate, a UTF-8 BOM at the start of what is read is not part of the first field
    let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    READER.with(|m| {
        let m = &mut *m.borrow_mut();
        m.reader.reset();
        // a record's text is never longer than its raw bytes, nor has it more fields than bytes + 1
        if m.out.len() < raw.len() {
            m.out.resize(raw.len(), 0);
            m.ends.resize(raw.len() + 1, 0);
        }
        let (mut input, mut nout, mut nend) = (raw, 0, 0);
        loop {
            let (res, nin, o, e) =
                m.reader
                    .read_record(input, &mut m.out[nout..], &mut m.ends[nend..]);
            input = &input[nin..];
            nout += o;
            nend += e;
            match res {
                // all input given: an empty read tells the reader the input has ended
                csv_core::ReadRecordResult::InputEmpty => continue,
                csv_core::ReadRecordResult::Record => break,
                csv_core::ReadRecordResult::End => return f(&[]),
                // out and ends are sized for the worst case
                csv_core::ReadRecordResult::OutputFull
                | csv_core::ReadRecordResult::OutputEndsFull => {
                    unreachable!("sized for any record")
                }
            }
        }
        let bounds = || {
            m.ends[..nend]
                .iter()
                .scan(0, |start, &end| Some((std::mem::replace(start, end), end)))
        };
        // the fields' text, checked once (a field whose bytes are cut out of a character of the
        // whole, say two halves that were invalid on their own, is read field by field)
        let whole: Option<SmallVec<[&str; 24]>> = std::str::from_utf8(&m.out[..nout])
            .ok()
            .and_then(|text| bounds().map(|(a, b)| text.get(a..b)).collect());
        match whole {
            Some(fields) => f(&fields),
            None => {
                let owned: Vec<String> = bounds()
                    .map(|(a, b)| String::from_utf8_lossy(&m.out[a..b]).into_owned())
                    .collect();
                let fields: Vec<&str> = owned.iter().map(String::as_str).collect();
                f(&fields)
            }
        }
    })
}

/// A thread's reader of messy records and its buffers, kept from record to record.
struct MessyReader {
    reader: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = (u64, Vec<String>, String, Option<Runaway>);

    /// How messy_fields read a record before it kept one csv_core reader a thread.
    fn by_the_csv_crate(raw: &[u8]) -> Vec<String> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(raw);
        let mut rec = csv::ByteRecord::new();
        if r.read_byte_record(&mut rec).unwrap_or(false) {
            rec.iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect()
        } else {
            Vec::new()
        }
    }

    #[test]
    fn messy_fields_read_as_the_csv_crate_reads_them() {
        let cases: &[&[u8]] = &[
            b"",
            b",",
            b"a,\"b,c\",d",
            b"\"q\"\"x\",\"\",\"unclosed",
            b"a\"b,\"c\"d,e",
            b"\xEF\xBB\xBFa,\"b\"",
            b"x,\"multi\nline\",y",
            b"a,b\n",
            b"a,\"b\"\r\n",
            b"\"Z47.1;Z96652;M25562\",medicare,,RX-1,\"Referral, faxed 2x\"",
            b"\xff\xfe,\"\x00\",last",
            // a character cut in two by a comma: each half is invalid on its own
            b"\xC3,\xA9",
            b"\"\xC3\",\"\xA9\",\xC3\xA9",
        ];
        for raw in cases {
            assert_eq!(
                messy_fields(raw),
                by_the_csv_crate(raw),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        // every byte string of up to 4 bytes over the bytes that matter
        let alphabet = b"a,\"\r\n";
        let mut raw = Vec::new();
        for len in 0..=4u32 {
            for n in 0..alphabet.len().pow(len) {
                raw.clear();
                let mut k = n;
                for _ in 0..len {
                    raw.push(alphabet[k % alphabet.len()]);
                    k /= alphabet.len();
                }
                assert_eq!(messy_fields(&raw), by_the_csv_crate(&raw), "{raw:?}");
            }
        }
    }

    #[test]
    fn a_bare_carriage_return_is_text_of_its_field() {
        assert_eq!(
            messy_fields(b"C-1,\"q\"\"x\",a\rb,\x00,last"),
            ["C-1", "q\"x", "a\rb", "\0", "last"]
        );
    }

    fn one(r: &RecordView) -> Read {
        let vals = if r.messy {
            messy_fields(r.raw())
        } else {
            (0..r.fields.len())
                .map(|i| r.value(i).unwrap().into_owned())
                .collect()
        };
        (
            r.line,
            vals,
            String::from_utf8_lossy(r.raw()).into_owned(),
            r.runaway,
        )
    }

    fn records(text: &str, width: usize) -> Vec<Read> {
        let mut out = Vec::new();
        let data = text.as_bytes();
        let (end, _) = split_range(data, 0, data.len(), 2, width, &mut |r: &RecordView| {
            out.push(one(r))
        });
        assert_eq!(end, data.len());
        out
    }

    #[test]
    fn splits_like_rfc_4180() {
        let r = records(
            "a,b,c\n\"x,1\",\"say \"\"hi\"\"\",\n\"multi\nline\",2,3\r\n\nlast,,",
            3,
        );
        assert_eq!(
            r[0],
            (
                2,
                vec!["a".into(), "b".into(), "c".into()],
                "a,b,c".into(),
                None
            )
        );
        assert_eq!(r[1].0, 3);
        assert_eq!(r[1].1, ["x,1", "say \"hi\"", ""]);
        assert_eq!(r[2].0, 4);
        assert_eq!(r[2].1, ["multi\nline", "2", "3"]);
        assert_eq!(r[2].2, "\"multi\nline\",2,3");
        assert_eq!(r[3].0, 7);
        assert_eq!(r[3].1, ["last", "", ""]);
        assert_eq!(r.len(), 4);
        assert!(r.iter().all(|r| r.3.is_none()));
    }

    #[test]
    fn a_stray_quote_is_one_record_of_its_line_and_the_lines_after_it_are_records() {
        // never closed: to the end of the file
        let r = records(
            "C-1,97124,2,M54.50\nC-2,\"97124,1,M54.50\r\nC-2,97140,1,M54.50\nC-3,97140,1,M54.2\n",
            4,
        );
        assert_eq!(r.len(), 4);
        assert_eq!(r[1].0, 3);
        assert_eq!(r[1].1, ["C-2"]);
        assert_eq!(r[1].2, "C-2,\"97124,1,M54.50");
        assert_eq!(r[1].3, Some(Runaway { field: 1, line: 3 }));
        assert_eq!(r[2].0, 4);
        assert_eq!(r[2].1, ["C-2", "97140", "1", "M54.50"]);
        assert_eq!(r[3].0, 5);
        assert_eq!(r[3].1, ["C-3", "97140", "1", "M54.2"]);
        // closed by the opening quote of a later field: the lines between still look like records
        let r = records(
            "C-2,\"97124,1,M54.50\nC-2,97140,1,M54.50\nC-3,97140,1,\"M54.2;M54.50\"\nC-4,97124,1,M54.2",
            4,
        );
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].3, Some(Runaway { field: 1, line: 2 }));
        assert_eq!(r[0].2, "C-2,\"97124,1,M54.50");
        assert_eq!(r[2].1, ["C-3", "97140", "1", "M54.2;M54.50"]);
        assert_eq!(r[3].1, ["C-4", "97124", "1", "M54.2"]);
        assert!(r[1..].iter().all(|r| r.3.is_none()));
        // a stray quote on the last line, with no line end
        let r = records("C-1,97124,2,M54.50\nC-2,97124,\"1,M54.50", 4);
        assert_eq!(r[1].3, Some(Runaway { field: 2, line: 3 }));
        assert_eq!(r[1].1, ["C-2", "97124"]);
        // after an earlier note with a line break, the record runs to the end of the stray's line
        let r = records("C-1,\"two\nlines\",\"stray,x\nC-2,a,b,c\n", 4);
        assert_eq!(r[0].3, Some(Runaway { field: 2, line: 3 }));
        assert_eq!(r[0].1, ["C-1", "two\nlines"]);
        assert_eq!(r[0].2, "C-1,\"two\nlines\",\"stray,x");
        assert_eq!((r[1].0, r[1].1.len()), (4, 4));
    }

    #[test]
    fn notes_with_line_breaks_stay_one_field() {
        // lines that look like records, in a well-formed record
        let r = records(
            "C-1,97124,\"seen for neck, back, hips\nand knees, a, b, c\",M54.50\nC-2,97140,1,M54.2\n",
            4,
        );
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].1[2], "seen for neck, back, hips\nand knees, a, b, c");
        assert!(r[0].3.is_none());
        assert_eq!(r[1].0, 4);
        // lines that do not look like records, in a record of the wrong width: one malformed record
        let r = records("C-1,\"a note\nof two lines\",x\nC-2,97140,1,M54.2\n", 4);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].1, ["C-1", "a note\nof two lines", "x"]);
        assert!(r[0].3.is_none());
        // the last field, closed on a later line
        let r = records("C-1,97124,1,\"a note\non, two, lines, here\"\n", 4);
        assert_eq!(r.len(), 1);
        assert!(r[0].3.is_none());
    }

    /// `n` records of 3 fields: every 7th with a note over two lines, the ones in `strays` with a
    /// quote that opens and is not closed on its line.
    fn batch(n: usize, strays: &[usize]) -> String {
        let mut text = String::new();
        for i in 0..n {
            if strays.contains(&i) {
                text.push_str(&format!("C-{i},\"stray,{i}\n"));
            } else if i % 7 == 0 {
                text.push_str(&format!("C-{i},\"note, with\nnewline\",{i}\n"));
            } else {
                text.push_str(&format!("C-{i},plain,{i}\n"));
            }
        }
        text
    }

    fn whole(data: &[u8]) -> Vec<Read> {
        let mut v = Vec::new();
        split_range(data, 0, data.len(), 2, 3, &mut |r: &RecordView| {
            v.push(one(r))
        });
        v
    }

    fn in_chunks(data: &[u8]) -> (Vec<Chunk>, Vec<Read>) {
        let (chunks, parts) = par_split_chunks(data, 0, 2, 3, |_, go| {
            let mut v = Vec::new();
            go(&mut |r: &RecordView| v.push(one(r)));
            v
        });
        (chunks, parts.concat())
    }

    /// Spans, lines and flags of every record `split_records::<LINES>` finds in `data`, with
    /// where it stopped.
    fn spans_of<const LINES: bool>(data: &[u8], width: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut fields = Vec::new();
        let end = split_records::<LINES>(
            data,
            0,
            data.len(),
            2,
            width,
            usize::MAX,
            &mut fields,
            &mut |r: &RecordView| {
                let f: Vec<_> = r
                    .fields
                    .iter()
                    .map(|s| (s.start, s.end, s.escaped))
                    .collect();
                out.push(format!(
                    "{} {}..{} {:?} {} {:?}",
                    r.line, r.start, r.end, f, r.messy, r.runaway
                ))
            },
        );
        out.push(format!("end {end:?}"));
        out
    }

    #[test]
    fn lines_without_quotes_split_as_the_general_loop_splits_them() {
        // texts of commas, line ends, carriage returns, quotes and letters, most lines without a
        // quote (the fast path) and some with one (`any_record`) around them
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as usize
        };
        for case in 0..3000 {
            let len = next() % 60;
            let quotes = case % 3 == 0;
            let text: Vec<u8> = (0..len)
                .map(|_| match next() % 10 {
                    0 | 1 => b',',
                    2 => b'\n',
                    3 => b'\r',
                    4 if quotes => b'"',
                    _ => b'a',
                })
                .collect();
            let width = 1 + next() % 4;
            assert_eq!(
                spans_of::<true>(&text, width),
                spans_of::<false>(&text, width),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    #[test]
    fn chunks_agree_with_one_piece() {
        let text = batch(60_000, &[]);
        let data = text.as_bytes();
        let whole = whole(data);
        assert_eq!(whole.len(), 60_000);
        let bounds = cut(data, 16);
        assert!(bounds.len() > 10);
        let lines = line_starts(data, &bounds, 2);
        let parts: Vec<Vec<Read>> = (0..bounds.len() - 1)
            .map(|i| {
                let mut v = Vec::new();
                let next = split_range(
                    data,
                    bounds[i],
                    bounds[i + 1],
                    lines[i],
                    3,
                    &mut |r: &RecordView| v.push(one(r)),
                );
                assert_eq!(next.0, bounds[i + 1]);
                v
            })
            .collect();
        assert_eq!(parts.concat(), whole);
        assert_eq!(
            par_split(data, 2, 3, |go| {
                let mut v = Vec::new();
                go(&mut |r: &RecordView| v.push(one(r)));
                v
            })
            .concat(),
            whole
        );
    }

    #[test]
    fn chunks_agree_with_one_piece_after_stray_quotes() {
        // the quotes' parity is wrong after each stray one, and notes over two lines follow
        for strays in [&[5][..], &[20_000, 20_001], &[100, 30_000, 30_002, 59_999]] {
            let text = batch(60_000, strays);
            let data = text.as_bytes();
            let whole = whole(data);
            assert_eq!(whole.len(), 60_000, "{strays:?}");
            assert_eq!(whole.iter().filter(|r| r.3.is_some()).count(), strays.len());
            let (chunks, parts) = in_chunks(data);
            assert_eq!(parts, whole, "{strays:?}");
            // still cut in many chunks, each starting where the one before ended
            assert!(chunks.len() > 10, "{strays:?}: {} chunks", chunks.len());
        }
        // a quoted field that runs to the end of a large file
        let mut text = batch(60_000, &[]);
        text.push_str("C-x,\"never closed,");
        let data = text.as_bytes();
        assert_eq!(in_chunks(data).1, whole(data));
        // a wrong cut inside a long note: found out and cut again
        let mut text = String::from("C-0,\"");
        text.push_str(&"a long note\n".repeat(200_000));
        text.push_str("\",0\n");
        text.push_str(&batch(30_000, &[]));
        let data = text.as_bytes();
        let (_, parts) = in_chunks(data);
        assert_eq!(parts, whole(data));
        assert_eq!(parts.len(), 30_001);
    }
}
