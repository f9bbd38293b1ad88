//! A fast RFC 4180 record splitter that works on chunks of a file in parallel.
//!
//! Fields are returned as byte ranges of the file, so ids need no copy: a value is a slice of the
//! file unless it was quoted with doubled quotes inside (then it is unescaped on demand). The file
//! is cut at record boundaries found from the parity of quote characters; a chunk that ends inside
//! a quoted field proves a cut was wrong, and the file is then split again in one piece.

use std::borrow::Cow;

use rayon::prelude::*;

/// One field of a record: `bytes[start..end]`; `escaped` when it holds `""` to unescape.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub escaped: bool,
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
}

impl<'a> RecordView<'a> {
    pub fn raw(&self) -> &'a [u8] {
        &self.bytes[self.start..self.end]
    }

    /// The value of field `i`, unescaped, or `None` when it is not valid UTF-8.
    pub fn value(&self, i: usize) -> Option<Cow<'a, str>> {
        let s = self.fields[i];
        let b = &self.bytes[s.start..s.end];
        if s.escaped {
            let text = std::str::from_utf8(b).ok()?;
            Some(Cow::Owned(text.replace("\"\"", "\"")))
        } else {
            std::str::from_utf8(b).ok().map(Cow::Borrowed)
        }
    }
}

/// Hands each record of a chunk to the callback it is given.
pub type Feed<'f> = dyn FnMut(&mut dyn FnMut(&RecordView)) + 'f;

/// Split `data` (whose first byte is on line `first_line`) into records and hand each chunk's
/// records to `f`, in parallel; results come back in file order.
#[cfg(test)]
pub fn par_split<T: Send>(
    data: &[u8],
    first_line: u64,
    f: impl Fn(&mut Feed) -> T + Sync,
) -> Vec<T> {
    par_split_chunks(data, 0, first_line, |_, go| f(go)).1
}

/// A piece of a file that holds whole records: `data[start..end]`, its first byte on `line`.
#[derive(Clone, Copy, Debug)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    pub line: u64,
}

/// As `par_split`, over `data[start..]` (spans stay offsets into `data`), telling `f` which chunk
/// it splits; the chunks come back too.
pub fn par_split_chunks<T: Send>(
    data: &[u8],
    start: usize,
    first_line: u64,
    f: impl Fn(&Chunk, &mut Feed) -> T + Sync,
) -> (Vec<Chunk>, Vec<T>) {
    // at most ~1 GB a chunk, so that a record's place in its chunk fits in 32 bits
    let pieces = (rayon::current_num_threads() * 8)
        .max((data.len() - start) >> 30)
        .max(1);
    let bounds: Vec<usize> = if data.len() - start < (1 << 20) {
        vec![start, data.len()]
    } else {
        cut(&data[start..], pieces)
            .into_iter()
            .map(|b| b + start)
            .collect()
    };
    let lines = line_starts(data, &bounds, first_line);
    let chunks: Vec<Chunk> = (0..bounds.len() - 1)
        .map(|i| Chunk {
            start: bounds[i],
            end: bounds[i + 1],
            line: lines[i],
        })
        .collect();
    let run = |c: &Chunk| -> (T, bool) {
        let mut clean_end = true;
        let out = f(c, &mut |each: &mut dyn FnMut(&RecordView)| {
            clean_end = split_range(data, c.start, c.end, c.line, each);
        });
        (out, clean_end)
    };
    let results: Vec<(T, bool)> = chunks.par_iter().map(run).collect();
    if results.iter().all(|(_, ok)| *ok) || chunks.len() == 1 {
        return (chunks, results.into_iter().map(|(t, _)| t).collect());
    }
    // a cut fell inside a quoted field: do it again in one piece
    let whole = Chunk {
        start,
        end: data.len(),
        line: first_line,
    };
    let out = f(&whole, &mut |each: &mut dyn FnMut(&RecordView)| {
        split_range(data, start, data.len(), first_line, each);
    });
    (vec![whole], vec![out])
}

/// The one record that starts at `at` (on line `line`) in a chunk ending at `end`; `fields` is
/// room for its fields, kept from record to record.
pub fn split_one(
    data: &[u8],
    at: usize,
    end: usize,
    line: u64,
    fields: &mut Vec<Span>,
    each: &mut dyn FnMut(&RecordView),
) {
    split_records(data, at, end, line, 1, fields, each);
}

/// Cut points at record boundaries, by the parity of the quotes before them.
fn cut(data: &[u8], pieces: usize) -> Vec<usize> {
    let size = data.len().div_ceil(pieces);
    let quotes: Vec<usize> = (0..pieces)
        .into_par_iter()
        .map(|i| {
            let (a, b) = ((i * size).min(data.len()), ((i + 1) * size).min(data.len()));
            memchr::memchr_iter(b'"', &data[a..b]).count()
        })
        .collect();
    let mut bounds = vec![0];
    let mut before = 0usize;
    for i in 1..pieces {
        before += quotes[i - 1];
        let mut pos = i * size;
        if pos >= data.len() {
            break;
        }
        let mut odd = before % 2 == 1;
        // the first line end outside quotes from here
        let found = loop {
            match memchr::memchr2(b'"', b'\n', &data[pos..]) {
                None => break None,
                Some(j) => {
                    let at = pos + j;
                    if data[at] == b'"' {
                        odd = !odd;
                    } else if !odd {
                        break Some(at + 1);
                    }
                    pos = at + 1;
                }
            }
        };
        match found {
            Some(b) if b > *bounds.last().unwrap() && b < data.len() => bounds.push(b),
            _ => {}
        }
    }
    bounds.push(data.len());
    bounds.dedup();
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

/// Split `data[a..b]` into records; `false` when the range ends inside a quoted field.
fn split_range(
    data: &[u8],
    a: usize,
    b: usize,
    first_line: u64,
    each: &mut dyn FnMut(&RecordView),
) -> bool {
    split_records(
        data,
        a,
        b,
        first_line,
        usize::MAX,
        &mut Vec::with_capacity(32),
        each,
    )
}

/// As `split_range`, stopping after `max` records.
fn split_records(
    data: &[u8],
    a: usize,
    b: usize,
    first_line: u64,
    max: usize,
    fields: &mut Vec<Span>,
    each: &mut dyn FnMut(&RecordView),
) -> bool {
    let bytes = &data[..b];
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
        let mut messy = false;
        let end;
        loop {
            if pos < b && bytes[pos] == b'"' {
                // quoted field: up to the quote that is not doubled
                let fstart = pos + 1;
                let mut i = fstart;
                let mut escaped = false;
                let close = loop {
                    match memchr::memchr(b'"', &bytes[i..]) {
                        None => {
                            // unterminated: the rest is the field
                            fields.push(Span {
                                start: fstart,
                                end: b,
                                escaped,
                            });
                            each(&RecordView {
                                bytes,
                                start,
                                end: b,
                                line: start_line,
                                fields,
                                messy: true,
                            });
                            return false;
                        }
                        Some(j) => {
                            let q = i + j;
                            if bytes.get(q + 1) == Some(&b'"') {
                                escaped = true;
                                i = q + 2;
                            } else {
                                break q;
                            }
                        }
                    }
                };
                line += memchr::memchr_iter(b'\n', &bytes[fstart..close]).count() as u64;
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
                            .unwrap_or(b);
                        pos = j;
                    }
                }
            } else {
                let j = memchr::memchr2(b',', b'\n', &bytes[pos..])
                    .map(|j| pos + j)
                    .unwrap_or(b);
                let mut fend = j;
                // a \r before the line end belongs to the line end
                if fend > pos && bytes[fend - 1] == b'\r' && (j == b || bytes[j] == b'\n') {
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
                Some(b',') if pos < b => pos += 1,
                _ => {
                    let mut e = pos.min(b);
                    if e > start && bytes[e - 1] == b'\r' {
                        e -= 1;
                    }
                    end = e;
                    if pos < b {
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
            if pos >= b {
                // a trailing comma at the end of the data: one more, empty field
                fields.push(Span {
                    start: b,
                    end: b,
                    escaped: false,
                });
                end = b;
                break;
            }
        }
        each(&RecordView {
            bytes,
            start,
            end,
            line: start_line,
            fields,
            messy,
        });
        count += 1;
        if count == max {
            break;
        }
    }
    true
}

/// The fields of a messy record, as the `csv` crate reads them.
pub fn messy_fields(raw: &[u8]) -> Vec<String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> Vec<(u64, Vec<String>, String)> {
        let mut out = Vec::new();
        let data = text.as_bytes();
        split_range(data, 0, data.len(), 2, &mut |r: &RecordView| {
            let vals = if r.messy {
                messy_fields(r.raw())
            } else {
                (0..r.fields.len())
                    .map(|i| r.value(i).unwrap().into_owned())
                    .collect()
            };
            out.push((r.line, vals, String::from_utf8_lossy(r.raw()).into_owned()));
        });
        out
    }

    #[test]
    fn splits_like_rfc_4180() {
        let r = records("a,b,c\n\"x,1\",\"say \"\"hi\"\"\",\n\"multi\nline\",2,3\r\n\nlast,,");
        assert_eq!(
            r[0],
            (2, vec!["a".into(), "b".into(), "c".into()], "a,b,c".into())
        );
        assert_eq!(r[1].0, 3);
        assert_eq!(r[1].1, ["x,1", "say \"hi\"", ""]);
        assert_eq!(r[2].0, 4);
        assert_eq!(r[2].1, ["multi\nline", "2", "3"]);
        assert_eq!(r[2].2, "\"multi\nline\",2,3");
        assert_eq!(r[3].0, 7);
        assert_eq!(r[3].1, ["last", "", ""]);
        assert_eq!(r.len(), 4);
    }

    #[test]
    fn chunks_agree_with_one_piece() {
        let mut text = String::new();
        for i in 0..60_000 {
            if i % 7 == 0 {
                text.push_str(&format!("C-{i},\"note, with\nnewline\",{i}\n"));
            } else {
                text.push_str(&format!("C-{i},plain,{i}\n"));
            }
        }
        let data = text.as_bytes();
        let collect = |rs: Vec<Vec<(u64, String)>>| rs.into_iter().flatten().collect::<Vec<_>>();
        let f = |go: &mut Feed| {
            let mut v = Vec::new();
            go(&mut |r: &RecordView| v.push((r.line, r.value(0).unwrap().into_owned())));
            v
        };
        let whole = {
            let mut v = Vec::new();
            split_range(data, 0, data.len(), 2, &mut |r: &RecordView| {
                v.push((r.line, r.value(0).unwrap().into_owned()))
            });
            v
        };
        let bounds = cut(data, 16);
        assert!(bounds.len() > 10);
        let lines = line_starts(data, &bounds, 2);
        let parts: Vec<Vec<(u64, String)>> = (0..bounds.len() - 1)
            .map(|i| {
                let mut v = Vec::new();
                assert!(split_range(
                    data,
                    bounds[i],
                    bounds[i + 1],
                    lines[i],
                    &mut |r: &RecordView| v.push((r.line, r.value(0).unwrap().into_owned()))
                ));
                v
            })
            .collect();
        assert_eq!(collect(parts), whole);
        assert_eq!(
            par_split(data, 2, f)
                .into_iter()
                .flatten()
                .collect::<Vec<_>>(),
            whole
        );
    }
}
