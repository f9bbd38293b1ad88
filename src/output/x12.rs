//! `clean.837` and `held.837` (SPEC §11): the interchange as read, with the claims of the other
//! file taken out. Both are written in one more streaming walk over the 837P: envelopes, header
//! and HL loops are held back until a claim of theirs is written (so that an HL loop, transaction,
//! group or interchange left without claims is left out), HL numbers and parents are given anew
//! in order, and SE01, GE01 and IEA01 count what was written. A subscriber's HL04 (has children)
//! is written before its patients are known and set right afterwards, in place (one byte).
//!
//! With nothing taken out, every segment is written as read, with the line break that followed
//! it: the file is the input, byte for byte.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::input::x12::segments::Segment;
use crate::input::x12::walk::{self, Level, Place, Visit};
use crate::input::x12::X12Claims;

/// An HL loop read and not yet closed: written once a claim of it (or of a child) is.
struct PendingHl<'a> {
    id: &'a [u8],
    level: Level,
    seg: Segment,
    body: Vec<Segment>,
    written: Option<WrittenHl>,
}

struct WrittenHl {
    number: u64,
    /// Where HL04 is in the file and what was written there.
    hl04: Option<(u64, u8)>,
    children: bool,
}

/// One of the two files being written.
struct Out<'a> {
    path: PathBuf,
    w: BufWriter<File>,
    /// Bytes written so far, `copy` included (the place of an HL04 to set right later).
    at: u64,
    /// A range of the input to write as it is, grown while segments follow one another: most
    /// of `clean.837` is a few large copies.
    copy: (usize, usize),
    /// Which claims this file takes: the held ones (`held.837`) or the others.
    takes_held: bool,
    isa: Option<Segment>,
    isa_written: bool,
    groups: u64,
    gs: Option<Segment>,
    gs_written: bool,
    sets: u64,
    /// ST and the transaction's header segments.
    st: Vec<Segment>,
    st_written: bool,
    segments: u64,
    hls: Vec<PendingHl<'a>>,
    next_hl: u64,
    in_claim: bool,
    claims: u64,
    patches: Vec<(u64, u8)>,
}

/// What the writers wrote: claims per file; a file with none is not written.
pub struct Written {
    pub clean_claims: u64,
    pub held_claims: u64,
}

/// An element's number written anew: the text as read when it already says it (`0001` stays).
fn number_text(old: &[u8], new: u64) -> Cow<'_, [u8]> {
    let same = !old.is_empty()
        && old.len() <= 18
        && old.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(old)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            == Some(new);
    if same {
        Cow::Borrowed(old)
    } else {
        Cow::Owned(new.to_string().into_bytes())
    }
}

/// A segment with some elements replaced, its terminator and the line break it had; and where
/// each element starts in the text.
fn rewrite(seg: &Segment, bytes: &[u8], replace: &[(usize, &[u8])]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(seg.end - seg.start + 8);
    let mut starts = Vec::new();
    let count = seg.elements(bytes).count();
    let last = replace
        .iter()
        .map(|r| r.0 + 1)
        .max()
        .unwrap_or(0)
        .max(count);
    let mut elements = seg.elements(bytes);
    for i in 0..last {
        if i > 0 {
            out.push(seg.seps.element);
        }
        starts.push(out.len());
        let read = elements.next().unwrap_or(&[]);
        match replace.iter().find(|r| r.0 == i) {
            Some((_, v)) => out.extend_from_slice(v),
            None => out.extend_from_slice(read),
        }
    }
    out.push(seg.seps.segment);
    out.extend_from_slice(seg.line_break(bytes));
    (out, starts)
}

impl<'a> Out<'a> {
    fn create(path: &Path, takes_held: bool) -> Result<Out<'a>> {
        let f = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
        Ok(Out {
            path: path.into(),
            w: BufWriter::with_capacity(1 << 18, f),
            at: 0,
            copy: (0, 0),
            takes_held,
            isa: None,
            isa_written: false,
            groups: 0,
            gs: None,
            gs_written: false,
            sets: 0,
            st: Vec::new(),
            st_written: false,
            segments: 0,
            hls: Vec::new(),
            next_hl: 1,
            in_claim: false,
            claims: 0,
            patches: Vec::new(),
        })
    }

    /// Write the range of the input waiting to be copied.
    fn flush_copy(&mut self, bytes: &[u8]) -> Result<()> {
        let (a, b) = std::mem::take(&mut self.copy);
        let written = if b - a >= 1 << 16 {
            // a long run goes from the mapped input to the file, not through the buffer
            self.w
                .flush()
                .and_then(|_| self.w.get_mut().write_all(&bytes[a..b]))
        } else {
            self.w.write_all(&bytes[a..b])
        };
        written.with_context(|| format!("{}: write error", self.path.display()))
    }

    /// Text made here (a segment written anew).
    fn put(&mut self, text: &[u8], bytes: &[u8]) -> Result<()> {
        self.flush_copy(bytes)?;
        self.at += text.len() as u64;
        self.w
            .write_all(text)
            .with_context(|| format!("{}: write error", self.path.display()))
    }

    /// A segment as read (it follows the copy when it follows the segment before it).
    fn copy(&mut self, seg: &Segment, bytes: &[u8]) -> Result<()> {
        if self.copy.1 != seg.start || self.copy.0 == self.copy.1 {
            self.flush_copy(bytes)?;
            self.copy.0 = seg.start;
        }
        self.copy.1 = seg.next;
        self.at += (seg.next - seg.start) as u64;
        Ok(())
    }

    /// A segment of the transaction as read.
    fn segment(&mut self, seg: &Segment, bytes: &[u8]) -> Result<()> {
        self.segments += 1;
        self.copy(seg, bytes)
    }

    /// Write what is held back above a claim this file takes: envelopes, header, HL loops.
    fn open_claim(&mut self, bytes: &'a [u8]) -> Result<()> {
        if !self.isa_written {
            let isa = self.isa.expect("in an interchange");
            self.copy(&isa, bytes)?;
            self.isa_written = true;
        }
        if !self.gs_written {
            let gs = self.gs.expect("in a group");
            self.copy(&gs, bytes)?;
            self.gs_written = true;
        }
        if !self.st_written {
            for seg in std::mem::take(&mut self.st) {
                self.segment(&seg, bytes)?;
            }
            self.st_written = true;
        }
        for i in 0..self.hls.len() {
            if self.hls[i].written.is_some() {
                continue;
            }
            let number = self.next_hl;
            self.next_hl += 1;
            let parent = match i.checked_sub(1) {
                Some(p) => {
                    let parent = self.hls[p]
                        .written
                        .as_mut()
                        .expect("parents are written first");
                    parent.children = true;
                    Some(parent.number)
                }
                None => None,
            };
            let hl = &self.hls[i];
            let seg = hl.seg;
            let (id, parent_read) = (seg.el(bytes, 1), seg.el(bytes, 2));
            let id = number_text(id, number);
            let parent_text: Cow<[u8]> = match parent {
                Some(p) => number_text(parent_read, p),
                None => Cow::Borrowed(parent_read),
            };
            let (text, starts) = rewrite(&seg, bytes, &[(1, &id), (2, &parent_text)]);
            let hl04 = match (starts.get(4), seg.el(bytes, 4)) {
                (Some(&s), [c @ (b'0' | b'1')]) => Some((self.at + s as u64, *c)),
                _ => None,
            };
            let body = std::mem::take(&mut self.hls[i].body);
            self.segments += 1;
            if text == seg.written(bytes) {
                self.copy(&seg, bytes)?;
            } else {
                self.put(&text, bytes)?;
            }
            for seg in &body {
                self.segment(seg, bytes)?;
            }
            self.hls[i].written = Some(WrittenHl {
                number,
                hl04,
                children: false,
            });
        }
        Ok(())
    }

    /// SE, GE or IEA with its count (as read when it is the same).
    fn trailer(&mut self, seg: &Segment, count: &[u8], bytes: &[u8]) -> Result<()> {
        if count == seg.el(bytes, 1) {
            return self.copy(seg, bytes);
        }
        let (text, _) = rewrite(seg, bytes, &[(1, count)]);
        self.put(&text, bytes)
    }

    /// An HL loop ends: its HL04 says whether children of it were written.
    fn close_hl(&mut self) {
        let Some(hl) = self.hls.pop() else {
            return;
        };
        if let Some(WrittenHl {
            hl04: Some((at, was)),
            children,
            ..
        }) = hl.written
        {
            // a patient loop has no children; a billing provider loop written has some
            let right = if children || hl.level == Level::Billing && was == b'1' {
                b'1'
            } else {
                b'0'
            };
            if right != was {
                self.patches.push((at, right));
            }
        }
    }

    fn visit(
        &mut self,
        seg: &Segment,
        place: Place<'a>,
        bytes: &'a [u8],
        held: &[bool],
    ) -> Result<()> {
        match place {
            Place::Isa => {
                self.isa = Some(*seg);
                self.isa_written = false;
                self.groups = 0;
            }
            Place::Gs => {
                self.gs = Some(*seg);
                self.gs_written = false;
                self.sets = 0;
            }
            Place::St => {
                self.st = vec![*seg];
                self.st_written = false;
                self.segments = 0;
                self.hls.clear();
                self.next_hl = 1;
                self.in_claim = false;
            }
            Place::Header => {
                if self.st_written {
                    self.segment(seg, bytes)?;
                } else {
                    self.st.push(*seg);
                }
            }
            Place::Hl(hl) => {
                self.in_claim = false;
                while let Some(top) = self.hls.last() {
                    if top.id == hl.parent {
                        break;
                    }
                    self.close_hl();
                }
                self.hls.push(PendingHl {
                    id: hl.id,
                    level: hl.level,
                    seg: *seg,
                    body: Vec::new(),
                    written: None,
                });
            }
            Place::HlBody => {
                let top = self.hls.last_mut().expect("in an HL loop");
                if top.written.is_some() {
                    self.segment(seg, bytes)?;
                } else {
                    top.body.push(*seg);
                }
            }
            Place::ClaimStart { index, .. } => {
                self.in_claim = held[index as usize] == self.takes_held;
                if self.in_claim {
                    self.open_claim(bytes)?;
                    self.claims += 1;
                    self.segment(seg, bytes)?;
                }
            }
            Place::Claim => {
                if self.in_claim {
                    self.segment(seg, bytes)?;
                }
            }
            Place::Se => {
                while !self.hls.is_empty() {
                    self.close_hl();
                }
                self.in_claim = false;
                if self.st_written {
                    self.segments += 1;
                    let n = number_text(seg.el(bytes, 1), self.segments);
                    self.trailer(seg, &n, bytes)?;
                    self.sets += 1;
                }
                self.st_written = false;
            }
            Place::Ge => {
                if self.gs_written {
                    let n = number_text(seg.el(bytes, 1), self.sets);
                    self.trailer(seg, &n, bytes)?;
                    self.groups += 1;
                }
                self.gs_written = false;
            }
            Place::Iea => {
                if self.isa_written {
                    let n = number_text(seg.el(bytes, 1), self.groups);
                    self.trailer(seg, &n, bytes)?;
                }
                self.isa_written = false;
            }
        }
        Ok(())
    }

    /// Flush, set the HL04s right, and remove the file when it holds no claim.
    fn finish(mut self, bytes: &[u8]) -> Result<u64> {
        self.flush_copy(bytes)?;
        let Out {
            path,
            w,
            patches,
            claims,
            ..
        } = self;
        let mut f = w
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("{}: write error", path.display()))?;
        for (at, b) in patches {
            f.seek(SeekFrom::Start(at))
                .and_then(|_| f.write_all(&[b]))
                .with_context(|| format!("{}: write error", path.display()))?;
        }
        drop(f);
        if claims == 0 {
            std::fs::remove_file(&path)
                .with_context(|| format!("{}: cannot remove", path.display()))?;
        }
        Ok(claims)
    }
}

struct Writers<'a, 'h> {
    bytes: &'a [u8],
    held: &'h [bool],
    clean: Out<'a>,
    held_out: Out<'a>,
}

impl<'a> Visit<'a> for Writers<'a, '_> {
    fn segment(&mut self, seg: &Segment, place: Place<'a>) -> Result<()> {
        self.clean.visit(seg, place, self.bytes, self.held)?;
        self.held_out.visit(seg, place, self.bytes, self.held)
    }
}

/// Write `clean.837` (the claims not held) and `held.837` (the held ones); `held[c]` is claim
/// `c`'s, in file order. A file that would hold no claim is not written.
pub fn write(
    x12: &X12Claims,
    held: &[bool],
    clean_path: &Path,
    held_path: &Path,
) -> Result<Written> {
    let bytes: &[u8] = &x12.bytes;
    let mut w = Writers {
        bytes,
        held,
        clean: Out::create(clean_path, false)?,
        held_out: Out::create(held_path, true)?,
    };
    walk::walk(bytes, &x12.file_name, &mut w)?;
    let Writers {
        clean, held_out, ..
    } = w;
    Ok(Written {
        clean_claims: clean.finish(bytes)?,
        held_claims: held_out.finish(bytes)?,
    })
}

/// The 837P outputs of a run, written into the staging folder: the names of those written (a
/// file that would hold no claim is not), and what the summary says of them.
pub fn write_outputs(
    x12: &X12Claims,
    ledger: &crate::ledger::Ledger,
    decisions: &[crate::hold::Decision],
    staging: &super::Staging,
) -> Result<(Vec<String>, serde_json::Value)> {
    let held = x12.held(ledger, decisions);
    let (clean_name, held_name) = (CLEAN.to_string(), HELD.to_string());
    let w = write(
        x12,
        &held,
        &staging.path(&clean_name),
        &staging.path(&held_name),
    )?;
    crate::timing("837P outputs written");
    let mut names = Vec::new();
    let mut note = serde_json::Map::new();
    note.insert("claims_file".into(), x12.file_name.clone().into());
    note.insert("claims".into(), x12.claims().into());
    note.insert("service_lines".into(), x12.lines_read().into());
    for (name, claims, none) in [
        (clean_name, w.clean_claims, "every claim was held"),
        (held_name, w.held_claims, "no claim was held"),
    ] {
        let mut about = serde_json::Map::new();
        about.insert("written".into(), (claims > 0).into());
        about.insert("claims".into(), claims.into());
        if claims == 0 {
            about.insert("not_written_because".into(), none.into());
        } else {
            names.push(name.clone());
        }
        note.insert(name, about.into());
    }
    Ok((names, note.into()))
}

pub const CLEAN: &str = "clean.837";
pub const HELD: &str = "held.837";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_anew_only_when_they_change() {
        assert_eq!(&*number_text(b"0001", 1), b"0001");
        assert_eq!(&*number_text(b"3", 2), b"2");
        assert_eq!(&*number_text(b"", 2), b"2");
    }
}
