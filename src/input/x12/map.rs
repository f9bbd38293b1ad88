//! From the segments of an 837P to claim rows with the columns of SPEC §2, as §11 maps them: one
//! row per service line (LX), or, for a claim that cannot be mapped, one malformed row per line.
//!
//! Values are checked here with the same parsers the CSV reader uses, so a claim the CSV path
//! would reject a line of is malformed as a whole (every line to `malformed.csv`, the claim held).

use std::io::Write;

use rayon::prelude::*;

use anyhow::Result;
use smallvec::SmallVec;

use super::segments::{component, Segment};
use super::walk::{Level, Place, Visit};
use crate::base::values::{parse_charge, parse_date, parse_int};
use crate::model::Malformed;
use crate::reference::policy::Policy;

/// The columns of SPEC §2, in order: the header of the rows made.
pub const HEADER: &str = "claim_id,line_no,patient_id,payer_type,rendering_npi,referring_npi,rx_id,service_date,cpt,modifiers,units,charge,diagnosis_codes";

/// Set in a claim's entry of `Mapped::claims` when it was malformed.
pub const MALFORMED: u32 = 1 << 31;

/// What the HL loops above a claim say about it.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    id: &'a [u8],
    level: Option<Level>,
    /// 2010AA NM109.
    billing_npi: &'a [u8],
    /// 2010BA NM109, and the subscriber HL's segment number.
    member_id: &'a [u8],
    subscriber_hl: u64,
    /// SBR09 of the 2000B loop.
    filing: &'a [u8],
}

/// A value and the segment it came from.
#[derive(Clone, Copy, Default)]
struct From<'a> {
    v: &'a [u8],
    seg: u64,
}

impl<'a> From<'a> {
    fn of(v: &'a [u8], seg: &Segment) -> From<'a> {
        From { v, seg: seg.number }
    }
}

#[derive(Default)]
struct Line<'a> {
    lx: From<'a>,
    sv1: Option<Segment>,
    date: Option<(From<'a>, &'a [u8])>,
    rx: From<'a>,
    rendering: From<'a>,
    referring: From<'a>,
    /// In a 2410/2420/2430/2440 loop of the line: its REF and DTP are not the line's.
    in_sub: bool,
}

/// The claim being read.
#[derive(Default)]
struct Claim<'a> {
    first: u64,
    first_id: &'a [u8],
    start: usize,
    end: usize,
    has_clm: bool,
    ctx: Context<'a>,
    clm01: From<'a>,
    rx: From<'a>,
    date: Option<(From<'a>, &'a [u8])>,
    rendering: From<'a>,
    referring: From<'a>,
    /// HI codes: principal (ABK/BK) first, then the others (ABF/BF) in order.
    principal: SmallVec<[&'a [u8]; 2]>,
    others: SmallVec<[&'a [u8]; 12]>,
    /// In a 2310/2320/2330 loop: REF and DTP there are not the claim's.
    in_sub: bool,
    /// In 2320/2330 (other payers): their providers are not this claim's.
    in_other_payer: bool,
    /// ASCII without line breaks in values (the common case: no check a value).
    plain: bool,
    lines: Vec<Line<'a>>,
}

/// What mapping a run of claims gave.
#[derive(Default)]
pub struct Mapped {
    /// The rows, as CSV text.
    pub csv: Vec<u8>,
    /// Per claim: rows made, or `MALFORMED` | its lines.
    pub claims: Vec<u32>,
    pub malformed: Vec<Malformed>,
    pub rows: usize,
    /// Service lines read (LX), plus one for each claim without any.
    pub lines_read: usize,
    /// When describing: per row, its LX segment and its claim's segments.
    pub described: Vec<(u64, String)>,
}

impl Mapped {
    /// Take in the next run of claims (its CSV text is written by the caller), leaving it empty
    /// with its room kept.
    fn absorb(&mut self, next: &mut Mapped) {
        self.claims.append(&mut next.claims);
        self.malformed.append(&mut next.malformed);
        self.rows += std::mem::take(&mut next.rows);
        self.lines_read += std::mem::take(&mut next.lines_read);
        self.described.append(&mut next.described);
        next.csv.clear();
    }
}

/// Claims gathered by the walk, to be mapped on another thread: their segments, and what the HL
/// loops above each said.
#[derive(Default)]
pub struct Batch<'a> {
    segs: Vec<Segment>,
    /// (context, has CLM, first segment, end) per claim.
    jobs: Vec<(Context<'a>, bool, u32, u32)>,
}

/// Claims a batch holds: a few thousand keep every thread busy and the batches in flight small.
const BATCH_CLAIMS: usize = 4096;

/// The walk's side of the reading: follows the HL loops' context and gathers claims into batches
/// handed to `send`, which gives back an empty batch to fill next (one used before, when there
/// is one: fresh memory costs page faults).
pub struct Collector<'a, F: FnMut(Batch<'a>) -> Result<Batch<'a>>> {
    bytes: &'a [u8],
    /// The HL ancestry of the current loop.
    stack: Vec<Context<'a>>,
    batch: Batch<'a>,
    send: F,
}

impl<'a, F: FnMut(Batch<'a>) -> Result<Batch<'a>>> Collector<'a, F> {
    pub fn new(bytes: &'a [u8], send: F) -> Self {
        Collector {
            bytes,
            stack: Vec::new(),
            batch: Batch::default(),
            send,
        }
    }
}

impl<'a, F: FnMut(Batch<'a>) -> Result<Batch<'a>>> Visit<'a> for Collector<'a, F> {
    fn segment(&mut self, seg: &Segment, place: Place<'a>) -> Result<()> {
        let b = self.bytes;
        match place {
            Place::Claim => {
                self.batch.segs.push(*seg);
                if let Some(job) = self.batch.jobs.last_mut() {
                    job.3 = self.batch.segs.len() as u32;
                }
            }
            Place::ClaimStart { has_clm, .. } => {
                if self.batch.jobs.len() >= BATCH_CLAIMS {
                    self.batch = (self.send)(std::mem::take(&mut self.batch))?;
                }
                let ctx = self.stack.last().copied().unwrap_or_default();
                let at = self.batch.segs.len() as u32;
                self.batch.segs.push(*seg);
                self.batch.jobs.push((ctx, has_clm, at, at + 1));
            }
            Place::Hl(hl) => {
                while let Some(top) = self.stack.last() {
                    if top.id == hl.parent {
                        break;
                    }
                    self.stack.pop();
                }
                let mut ctx = self.stack.last().copied().unwrap_or_default();
                ctx.id = hl.id;
                ctx.level = Some(hl.level);
                if hl.level == Level::Subscriber {
                    ctx.subscriber_hl = seg.number;
                    ctx.member_id = &[];
                    ctx.filing = &[];
                }
                self.stack.push(ctx);
            }
            Place::HlBody => {
                let Some(ctx) = self.stack.last_mut() else {
                    return Ok(());
                };
                match (ctx.level, seg.id(b), seg.el(b, 1)) {
                    (Some(Level::Billing), b"NM1", b"85") => ctx.billing_npi = seg.el(b, 9),
                    (Some(Level::Subscriber), b"NM1", b"IL") => ctx.member_id = seg.el(b, 9),
                    (Some(Level::Subscriber), b"SBR", _) => ctx.filing = seg.el(b, 9),
                    _ => {}
                }
            }
            Place::Se => self.stack.clear(),
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        if !self.batch.jobs.is_empty() {
            self.batch = (self.send)(std::mem::take(&mut self.batch))?;
        }
        Ok(())
    }
}

/// The mapping's side: what every claim is read with.
pub struct Mapping<'a, 'p> {
    pub bytes: &'a [u8],
    pub file_name: &'a str,
    pub policy: &'p Policy,
}

impl<'a> Claim<'a> {
    /// Empty again, keeping the room its lines took.
    fn reset(&mut self) {
        let mut lines = std::mem::take(&mut self.lines);
        lines.clear();
        *self = Claim::default();
        self.lines = lines;
    }
}

impl<'a> Mapping<'a, '_> {
    /// The claims of a batch, mapped into `out`.
    pub fn batch(&self, batch: &Batch<'a>, describe: bool, out: &mut Mapped) {
        let b = self.bytes;
        let mut c = Claim::default();
        for &(ctx, has_clm, from, to) in &batch.jobs {
            c.reset();
            let segs = &batch.segs[from as usize..to as usize];
            let first = &segs[0];
            c.ctx = ctx;
            c.has_clm = has_clm;
            c.first = first.number;
            c.first_id = first.id(b);
            c.start = first.start;
            for seg in segs {
                self.claim_segment(&mut c, seg);
            }
            // ASCII, and line breaks only after terminators: every value is then text as it is
            let text = &b[c.start..c.end];
            let (ascii, breaks) = (
                text.is_ascii(),
                memchr::memchr2_iter(b'\n', b'\r', text).count(),
            );
            let between: usize = segs.iter().map(|s| s.next - s.end - 1).sum::<usize>()
                - segs.last().map_or(0, |s| s.next - s.end - 1);
            c.plain = ascii && breaks == between;
            self.finish_claim(&mut c, out, describe);
        }
    }

    /// A claim segment: the 2300 loop's and its lines' values, by loop.
    fn claim_segment(&self, c: &mut Claim<'a>, seg: &Segment) {
        let b = self.bytes;
        c.end = seg.end + 1;
        let id = seg.id(b);
        let el = |i| seg.el(b, i);
        if id == b"LX" {
            c.lines.push(Line {
                lx: From::of(el(1), seg),
                ..Line::default()
            });
            return;
        }
        match c.lines.last_mut() {
            None => match id {
                b"CLM" => c.clm01 = From::of(el(1), seg),
                b"REF" if !c.in_sub && el(1) == b"G1" => c.rx = From::of(el(2), seg),
                b"DTP" if !c.in_sub && el(1) == b"472" => {
                    c.date = Some((From::of(el(3), seg), el(2)));
                }
                b"HI" => {
                    let sep = seg.seps.component;
                    for e in seg.elements(b).skip(1) {
                        let (q, code) = (component(e, sep, 0), component(e, sep, 1));
                        match q {
                            b"ABK" | b"BK" => c.principal.push(code),
                            b"ABF" | b"BF" => c.others.push(code),
                            _ => {}
                        }
                    }
                }
                b"SBR" => {
                    c.in_sub = true;
                    c.in_other_payer = true;
                }
                b"NM1" => {
                    c.in_sub = true;
                    if !c.in_other_payer {
                        match el(1) {
                            b"DN" => c.referring = From::of(el(9), seg),
                            b"82" => c.rendering = From::of(el(9), seg),
                            _ => {}
                        }
                    }
                }
                _ => {}
            },
            Some(line) => match id {
                b"SV1" if line.sv1.is_none() => line.sv1 = Some(*seg),
                b"DTP" if !line.in_sub && el(1) == b"472" => {
                    line.date = Some((From::of(el(3), seg), el(2)));
                }
                b"REF" if !line.in_sub && el(1) == b"G1" => line.rx = From::of(el(2), seg),
                b"NM1" => {
                    line.in_sub = true;
                    match el(1) {
                        b"82" => line.rendering = From::of(el(9), seg),
                        b"DN" => line.referring = From::of(el(9), seg),
                        _ => {}
                    }
                }
                b"LIN" | b"SVD" | b"LQ" => line.in_sub = true,
                _ => {}
            },
        }
    }

    /// The current claim is complete: its rows, or its lines as malformed.
    fn finish_claim(&self, c: &mut Claim<'a>, out: &mut Mapped, describe: bool) {
        let b = self.bytes;
        let plain = c.plain;
        let mut problems: Vec<String> = Vec::new();
        let seg_name = |n: u64, id: &str| format!("segment {n} ({id})");
        let first_id = &*String::from_utf8_lossy(c.first_id);
        if !c.has_clm {
            problems.push(format!(
                "{}: service lines with no CLM before them in their HL loop",
                seg_name(c.first, first_id)
            ));
        }
        let claim_id = if c.has_clm {
            value(
                plain,
                &mut problems,
                c.clm01,
                "CLM",
                "CLM01 (claim_id)",
                true,
            )
        } else {
            ""
        };
        let (mut patient_id, mut payer) = ("", "");
        if c.ctx.subscriber_hl == 0 {
            problems.push(format!(
                "{}: the claim is in no subscriber loop (HL*22)",
                seg_name(c.first, first_id)
            ));
        } else {
            patient_id = value(
                plain,
                &mut problems,
                From {
                    v: c.ctx.member_id,
                    seg: c.ctx.subscriber_hl,
                },
                "HL",
                "the subscriber's member id (2010BA NM109)",
                true,
            );
            match self.policy.x12_payer_type(c.ctx.filing) {
                Ok(p) => payer = p,
                Err(e) => problems.push(format!(
                    "{}: SBR09 {e}",
                    seg_name(c.ctx.subscriber_hl, "HL")
                )),
            }
        }
        let dx: SmallVec<[&[u8]; 12]> = c.principal.iter().chain(&c.others).copied().collect();
        if c.lines.is_empty() {
            problems.push(format!(
                "{}: the claim has no service line (LX)",
                seg_name(c.first, first_id)
            ));
        }
        // each line's row, written into `row` unless the claim has a problem
        let rows = &mut out.csv;
        let rows_start = rows.len();
        for line in &c.lines {
            let lx = line.lx.seg;
            let line_no = value(plain, &mut problems, line.lx, "LX", "LX01 (line_no)", true);
            if !line_no.is_empty() {
                match parse_int(line_no) {
                    Ok(v) if v >= 1 && v <= u32::MAX as i64 => {}
                    _ => problems.push(format!(
                        "{}: LX01 `{line_no}` is not a line number ≥ 1",
                        seg_name(lx, "LX")
                    )),
                }
            }
            let rendering = [
                line.rendering,
                c.rendering,
                From {
                    v: c.ctx.billing_npi,
                    seg: 0,
                },
            ]
            .into_iter()
            .find(|f| !f.v.is_empty())
            .unwrap_or_default();
            let rendering_npi = if rendering.v.is_empty() {
                problems.push(format!(
                    "{}: no rendering provider NPI (2420A, 2310B or 2010AA NM109)",
                    seg_name(lx, "LX")
                ));
                ""
            } else {
                value(
                    plain,
                    &mut problems,
                    rendering,
                    "NM1",
                    "NM109 (rendering_npi)",
                    false,
                )
            };
            let referring = if line.referring.v.is_empty() {
                c.referring
            } else {
                line.referring
            };
            let referring_npi = value(
                plain,
                &mut problems,
                referring,
                "NM1",
                "NM109 (referring_npi)",
                false,
            );
            let rx = if line.rx.v.is_empty() { c.rx } else { line.rx };
            let rx_id = value(plain, &mut problems, rx, "REF", "REF02 (rx_id)", false);
            let date = match line.date.or(c.date) {
                None => {
                    problems.push(format!(
                        "{}: the line has no service date (DTP*472 in its 2400 or 2300 loop)",
                        seg_name(lx, "LX")
                    ));
                    None
                }
                Some((d, q)) => match service_date(q, d.v) {
                    Ok(iso) => Some(iso),
                    Err(e) => {
                        problems.push(format!("{}: {e}", seg_name(d.seg, "DTP")));
                        None
                    }
                },
            };
            let Some(sv1) = line.sv1 else {
                problems.push(format!(
                    "{}: the service line has no SV1 (professional service)",
                    seg_name(lx, "LX")
                ));
                continue;
            };
            let n = sv1.number;
            let sep = sv1.seps.component;
            let sv101 = sv1.el(b, 1);
            let procedure = component(sv101, sep, 1);
            let cpt = if procedure.is_empty() {
                problems.push(format!(
                    "{}: SV101 `{}` has no procedure code",
                    seg_name(n, "SV1"),
                    String::from_utf8_lossy(sv101)
                ));
                ""
            } else {
                value(
                    plain,
                    &mut problems,
                    From {
                        v: procedure,
                        seg: n,
                    },
                    "SV1",
                    "SV101-2 (cpt)",
                    true,
                )
            };
            let mut modifiers = SmallVec::<[&str; 4]>::new();
            for m in sv101.split(|x| *x == sep).skip(2).take(4) {
                let m = value(
                    plain,
                    &mut problems,
                    From { v: m, seg: n },
                    "SV1",
                    "SV101 modifier",
                    false,
                );
                if !m.is_empty() {
                    modifiers.push(m);
                }
            }
            let charge = value(
                plain,
                &mut problems,
                From {
                    v: sv1.el(b, 2),
                    seg: n,
                },
                "SV1",
                "SV102 (charge)",
                true,
            );
            if !charge.is_empty() {
                if let Err(e) = parse_charge(charge) {
                    problems.push(format!("{}: SV102 (charge): {e}", seg_name(n, "SV1")));
                }
            }
            let basis = sv1.el(b, 3);
            if basis != b"UN" {
                problems.push(format!(
                    "{}: unit basis SV103 `{}` is not UN: claimscrub reads units, not {}",
                    seg_name(n, "SV1"),
                    String::from_utf8_lossy(basis),
                    if basis == b"MJ" {
                        "minutes"
                    } else {
                        "another measure"
                    }
                ));
            }
            let units = value(
                plain,
                &mut problems,
                From {
                    v: sv1.el(b, 4),
                    seg: n,
                },
                "SV1",
                "SV104 (units)",
                true,
            );
            if !units.is_empty() {
                if let Err(e) = parse_int(units) {
                    problems.push(format!("{}: SV104 (units): {e}", seg_name(n, "SV1")));
                }
            }
            // SV107: pointers into the claim's HI codes, in pointer order; none = all of them
            let pointers = sv1.el(b, 7);
            let mut codes = SmallVec::<[&[u8]; 12]>::new();
            if pointers.is_empty() {
                codes.extend(dx.iter().copied());
            } else {
                for p in pointers.split(|x| *x == sep) {
                    let at = std::str::from_utf8(p)
                        .ok()
                        .and_then(|s| s.parse::<usize>().ok());
                    match at {
                        Some(i) if i >= 1 && i <= dx.len() => {
                            if !codes.contains(&dx[i - 1]) {
                                codes.push(dx[i - 1]);
                            }
                        }
                        Some(i) if i >= 1 => problems.push(format!(
                            "{}: diagnosis pointer {i} names no code (the claim's HI has {})",
                            seg_name(n, "SV1"),
                            dx.len()
                        )),
                        _ => problems.push(format!(
                            "{}: SV107 diagnosis pointer `{}` is not a number from 1",
                            seg_name(n, "SV1"),
                            String::from_utf8_lossy(p)
                        )),
                    }
                }
            }
            let mut codes_text = SmallVec::<[&str; 12]>::new();
            for code in &codes {
                codes_text.push(value(
                    plain,
                    &mut problems,
                    From { v: code, seg: n },
                    "HI",
                    "an HI code",
                    false,
                ));
            }
            if !problems.is_empty() {
                continue;
            }
            let date = date.expect("no problem: a date");
            let date = std::str::from_utf8(&date).expect("digits and dashes");
            for (i, f) in [
                claim_id,
                line_no,
                patient_id,
                payer,
                rendering_npi,
                referring_npi,
                rx_id,
                date,
            ]
            .into_iter()
            .enumerate()
            {
                if i > 0 {
                    rows.push(b',');
                }
                csv_field(rows, f.as_bytes());
            }
            rows.push(b',');
            csv_field(rows, cpt.as_bytes());
            rows.push(b',');
            csv_joined(rows, &modifiers);
            rows.push(b',');
            csv_field(rows, units.as_bytes());
            rows.push(b',');
            csv_field(rows, charge.as_bytes());
            rows.push(b',');
            csv_joined(rows, &codes_text);
            rows.push(b'\n');
        }
        let lines = c.lines.len().max(1);
        out.lines_read += lines;
        let terminator = b.get(c.end.saturating_sub(1)).copied().unwrap_or(b'~');
        if problems.is_empty() {
            out.rows += c.lines.len();
            out.claims.push(c.lines.len() as u32);
            if describe {
                let raw = raw_segments(b, c.start, c.end, terminator);
                for l in &c.lines {
                    out.described.push((l.lx.seg, raw.clone()));
                }
            }
        } else {
            rows.truncate(rows_start);
            out.claims.push(MALFORMED | lines as u32);
            problems.dedup();
            let error = problems.join("; ");
            let raw = raw_segments(b, c.start, c.end, terminator);
            let claim_id = (!claim_id.is_empty()).then(|| claim_id.to_string());
            let lx: SmallVec<[u64; 4]> = if c.lines.is_empty() {
                smallvec::smallvec![c.first]
            } else {
                c.lines.iter().map(|l| l.lx.seg).collect()
            };
            for line in lx {
                out.malformed.push(Malformed {
                    file: self.file_name.to_string(),
                    line,
                    error: error.clone(),
                    raw: raw.clone(),
                    claim_id: claim_id.clone(),
                });
            }
        }
    }
}

/// Read the claims of an 837P into rows written to `csv`: the walk on a thread of its own hands
/// batches of claims to the thread pool, whose results are written in file order. Errors: a
/// broken interchange (named by segment), or writing.
pub fn transcode(m: &Mapping, csv: &mut impl Write) -> Result<Mapped> {
    let group = 2 * rayon::current_num_threads().max(1);
    let (bytes, name) = (m.bytes, m.file_name);
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(group);
        // batches mapped go back to the walk to be filled again
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Batch>();
        let walker = s.spawn(move || -> Result<u32> {
            let mut c = Collector::new(bytes, |b| {
                tx.send(b)
                    .map_err(|_| anyhow::anyhow!("the 837P's claims were not all mapped"))?;
                Ok(back_rx.try_recv().unwrap_or_default())
            });
            super::walk::walk(bytes, name, &mut c)
        });
        let mut total = Mapped::default();
        let mut mapped = || -> Result<()> {
            let mut batches = Vec::with_capacity(group);
            let mut outs: Vec<Mapped> = (0..group).map(|_| Mapped::default()).collect();
            let mut done = false;
            while !done {
                match rx.recv() {
                    Ok(b) => batches.push(b),
                    Err(_) => done = true,
                }
                if batches.len() < group && !done {
                    continue;
                }
                batches
                    .par_iter()
                    .zip(outs.par_iter_mut())
                    .for_each(|(b, o)| m.batch(b, false, o));
                for o in &mut outs[..batches.len()] {
                    csv.write_all(&o.csv)?;
                    total.absorb(o);
                }
                for mut b in batches.drain(..) {
                    b.segs.clear();
                    b.jobs.clear();
                    let _ = back_tx.send(b);
                }
            }
            Ok(())
        };
        let result = mapped();
        drop(rx);
        let walked = walker
            .join()
            .map_err(|_| anyhow::anyhow!("{name}: the 837P reader stopped"))?;
        // a write error stops the walk (its error then only says so); else the walk's own
        result?;
        walked?;
        Ok(total)
    })
}

/// Per row numbered in `wanted` (sorted): its LX segment and its claim's segments, to tell rows
/// that another reader turned down by the 837P.
pub fn describe(m: &Mapping, wanted: &[usize]) -> Result<Vec<(usize, u64, String)>> {
    let mut found = Vec::new();
    let mut row = 0usize;
    let mut c = Collector::new(m.bytes, |batch| {
        let mut out = Mapped::default();
        m.batch(&batch, true, &mut out);
        let a = wanted.partition_point(|&r| r < row);
        let z = wanted.partition_point(|&r| r < row + out.described.len());
        for &r in &wanted[a..z] {
            let (lx, raw) = &out.described[r - row];
            found.push((r, *lx, raw.clone()));
        }
        row += out.described.len();
        Ok(Batch::default())
    });
    super::walk::walk(m.bytes, m.file_name, &mut c)?;
    drop(c);
    Ok(found)
}

/// Segments `bytes[start..end]` as one line: each with its terminator, the line breaks between
/// them left out.
fn raw_segments(bytes: &[u8], start: usize, end: usize, terminator: u8) -> String {
    let mut out = Vec::with_capacity(end - start);
    let mut at_start = true;
    for &x in &bytes[start..end] {
        if at_start && (x == b'\r' || x == b'\n') && x != terminator {
            continue;
        }
        out.push(x);
        at_start = x == terminator;
    }
    escape_lossy(&out)
}

/// A value of the row: UTF-8, without line breaks; `required` ones not empty.
fn value<'a>(
    plain: bool,
    problems: &mut Vec<String>,
    f: From<'a>,
    id: &str,
    what: &str,
    required: bool,
) -> &'a str {
    // the message is made only when there is a problem: this runs a dozen times a line
    let at = || format!("segment {} ({id})", f.seg);
    if f.v.is_empty() {
        if required {
            problems.push(format!("{}: {what} is empty", at()));
        }
        return "";
    }
    if plain {
        // SAFETY: the claim's bytes are ASCII (checked once a claim, in `Mapping::batch`)
        return unsafe { std::str::from_utf8_unchecked(f.v) };
    }
    match std::str::from_utf8(f.v) {
        Ok(s) if memchr::memchr2(b'\r', b'\n', f.v).is_none() => s,
        Ok(_) => {
            problems.push(format!("{}: {what} holds a line break", at()));
            ""
        }
        Err(_) => {
            problems.push(format!(
                "{}: {what} is not valid UTF-8 ({})",
                at(),
                escape_lossy(f.v)
            ));
            ""
        }
    }
}

/// DTP03 of a D8 (CCYYMMDD) or RD8 (CCYYMMDD-CCYYMMDD: the first date) as `YYYY-MM-DD`.
fn service_date(qualifier: &[u8], v: &[u8]) -> std::result::Result<[u8; 10], String> {
    let shown = || String::from_utf8_lossy(v).into_owned();
    let d = match qualifier {
        b"D8" if v.len() == 8 => v,
        b"RD8" if v.len() == 17 && v[8] == b'-' => &v[..8],
        b"D8" | b"RD8" => {
            return Err(format!(
                "DTP03 `{}` is not a {} date",
                shown(),
                String::from_utf8_lossy(qualifier)
            ))
        }
        q => {
            return Err(format!(
                "date format DTP02 `{}` is not D8 or RD8",
                String::from_utf8_lossy(q)
            ))
        }
    };
    if !d.iter().all(u8::is_ascii_digit) {
        return Err(format!("DTP03 `{}` is not a date (CCYYMMDD)", shown()));
    }
    let iso = [d[0], d[1], d[2], d[3], b'-', d[4], d[5], b'-', d[6], d[7]];
    parse_date(std::str::from_utf8(&iso).expect("digits"))
        .map_err(|_| format!("DTP03 `{}` is not a date", shown()))?;
    Ok(iso)
}

/// A CSV field, quoted when it holds a comma or a quote.
fn csv_field(out: &mut Vec<u8>, v: &[u8]) {
    // values are short: a plain loop beats memchr's setup
    if !v.iter().any(|&x| x == b',' || x == b'"') {
        out.extend_from_slice(v);
        return;
    }
    out.push(b'"');
    for &x in v {
        if x == b'"' {
            out.push(b'"');
        }
        out.push(x);
    }
    out.push(b'"');
}

/// A list field, `;`-joined.
fn csv_joined(out: &mut Vec<u8>, items: &[&str]) {
    if items
        .iter()
        .any(|i| i.bytes().any(|x| x == b',' || x == b'"'))
    {
        csv_field(out, items.join(";").as_bytes());
        return;
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(item.as_bytes());
    }
}

/// Bytes as text, those that are not UTF-8 written `\xNN` (as the CSV reader shows them).
fn escape_lossy(v: &[u8]) -> String {
    let mut out = String::with_capacity(v.len());
    for chunk in v.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &str = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250311*1200*^*00501*000000001*0*P*:~";

    /// The rows (CSV text) and malformed rows of a transaction body.
    fn map(body: &str) -> (String, Vec<Malformed>, Vec<u32>) {
        let count = body.matches('~').count() + 2;
        let text = format!(
            "{ISA}GS*HC*S*R*20250311*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~{body}SE*{count}*0001~GE*1*1~IEA*1*000000001~"
        );
        let policy = Policy::builtin();
        let m = Mapping {
            bytes: text.as_bytes(),
            file_name: "t.837",
            policy: &policy,
        };
        let mut csv = Vec::new();
        let mapped = transcode(&m, &mut csv).unwrap();
        (
            String::from_utf8(csv).unwrap(),
            mapped.malformed,
            mapped.claims,
        )
    }

    const HEAD: &str = "HL*1**20*1~NM1*85*2*CLINIC*****XX*1234567893~HL*2*1*22*0~SBR*P*18*******MB~NM1*IL*1*DOE*JANE****MI*P-1~";

    #[test]
    fn a_line_takes_the_claims_values_where_it_has_none_of_its_own() {
        let (csv, bad, claims) = map(&format!(
            "{HEAD}CLM*C-1*85***11:B:1*Y*A*Y*Y~REF*G1*RX-1~HI*ABK:M5450*ABF:M62838~NM1*DN*1*DOC*****XX*1999999992~NM1*82*1*PT*****XX*1098765435~LX*1~SV1*HC:97140:GP:59*45*UN*1***2~DTP*472*D8*20250310~LX*2~SV1*HC:97124*40*UN*1~DTP*472*RD8*20250311-20250312~REF*G1*RX-2~NM1*82*1*PT2*****XX*1555555550~"
        ));
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(claims, [2]);
        assert_eq!(
            csv,
            "C-1,1,P-1,medicare,1098765435,1999999992,RX-1,2025-03-10,97140,GP;59,1,45,M62838\n\
             C-1,2,P-1,medicare,1555555550,1999999992,RX-2,2025-03-11,97124,,1,40,M5450;M62838\n"
        );
    }

    #[test]
    fn other_payers_providers_and_references_are_not_the_claims() {
        // 2320/2330: another payer's REF*G1 and providers (2330C DN, 2330D 82)
        let (csv, bad, _) = map(&format!(
            "{HEAD}CLM*C-1*40***11:B:1*Y*A*Y*Y~HI*ABK:M5450~SBR*S*18*******CI~NM1*IL*1*DOE*JANE****MI*OTHER~NM1*PR*2*OTHER PLAN*****PI*X~REF*G1*OTHER-RX~NM1*DN*1~REF*1G*X~NM1*82*1~REF*G2*X~LX*1~SV1*HC:97124*40*UN*1***1~DTP*472*D8*20250310~"
        ));
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(
            csv,
            "C-1,1,P-1,medicare,1234567893,,,2025-03-10,97124,,1,40,M5450\n"
        );
    }

    #[test]
    fn values_are_quoted_for_csv_where_they_need_it() {
        let (csv, bad, _) = map(&format!(
            "{HEAD}CLM*C,\"1*40***11:B:1*Y*A*Y*Y~HI*ABK:M5450~LX*1~SV1*HC:97124*40*UN*1***1~DTP*472*D8*20250310~"
        ));
        assert!(bad.is_empty());
        assert!(csv.starts_with("\"C,\"\"1\",1,"), "{csv}");
        let mut out = Vec::new();
        csv_joined(&mut out, &["A", "B,C"]);
        assert_eq!(out, b"\"A;B,C\"");
        out.clear();
        csv_joined(&mut out, &["GP", "59"]);
        assert_eq!(out, b"GP;59");
    }

    #[test]
    fn service_dates_are_d8_or_the_first_of_an_rd8() {
        assert_eq!(&service_date(b"D8", b"20250310").unwrap(), b"2025-03-10");
        assert_eq!(
            &service_date(b"RD8", b"20250310-20250320").unwrap(),
            b"2025-03-10"
        );
        assert!(service_date(b"D8", b"2025031")
            .unwrap_err()
            .contains("not a D8 date"));
        assert!(service_date(b"D8", b"20250229")
            .unwrap_err()
            .contains("not a date"));
        assert!(service_date(b"DT", b"202503101200")
            .unwrap_err()
            .contains("not D8 or RD8"));
        assert!(service_date(b"D8", b"2025O310")
            .unwrap_err()
            .contains("CCYYMMDD"));
    }

    #[test]
    fn a_value_that_is_not_text_makes_its_claim_malformed() {
        let body = format!(
            "{HEAD}CLM*C-1*40***11:B:1*Y*A*Y*Y~HI*ABK:M5450~LX*1~SV1*HC:9712\u{e9}*40*UN*1***1~DTP*472*D8*20250310~"
        );
        let latin1: String = body.replace('\u{e9}', "\u{1}");
        let (_, bad, claims) = map(&latin1);
        assert!(bad.is_empty(), "a control character is still text");
        assert_eq!(claims, [1]);
        // bytes that are not UTF-8 are named as the CSV reader names them
        assert_eq!(escape_lossy(b"9712\xe9"), "9712\\xE9");
        let mut problems = Vec::new();
        let v = value(
            false,
            &mut problems,
            From {
                v: b"9712\xe9",
                seg: 7,
            },
            "SV1",
            "SV101-2 (cpt)",
            true,
        );
        assert_eq!(v, "");
        assert_eq!(
            problems,
            ["segment 7 (SV1): SV101-2 (cpt) is not valid UTF-8 (9712\\xE9)"]
        );
    }

    #[test]
    fn a_claim_outside_a_subscriber_loop_or_with_an_empty_member_id_is_malformed() {
        let (_, bad, claims) = map(
            "HL*1**20*1~NM1*85*2*CLINIC*****XX*1234567893~CLM*C-1*40~HI*ABK:M5450~LX*1~SV1*HC:97124*40*UN*1***1~DTP*472*D8*20250310~",
        );
        assert_eq!(claims, [MALFORMED | 1]);
        assert!(
            bad[0].error.contains("in no subscriber loop"),
            "{}",
            bad[0].error
        );
        let (_, bad, _) = map(
            "HL*1**20*1~NM1*85*2*CLINIC*****XX*1234567893~HL*2*1*22*0~SBR*P*18*******MB~NM1*IL*1*DOE*JANE~CLM*C-1*40~HI*ABK:M5450~LX*1~SV1*HC:97124*40*UN*1***1~DTP*472*D8*20250310~",
        );
        assert!(
            bad[0]
                .error
                .contains("segment 6 (HL): the subscriber's member id (2010BA NM109) is empty"),
            "{}",
            bad[0].error
        );
        assert_eq!(bad[0].claim_id.as_deref(), Some("C-1"));
    }

    #[test]
    fn raw_segments_leave_out_the_line_breaks_between_segments() {
        let text = b"CLM*C-1~\r\nHI*ABK:M5450~\nLX*1~";
        assert_eq!(
            raw_segments(text, 0, text.len(), b'~'),
            "CLM*C-1~HI*ABK:M5450~LX*1~"
        );
        // a line break that is the terminator stays
        let text = b"CLM*C-1\nLX*1\n";
        assert_eq!(raw_segments(text, 0, text.len(), b'\n'), "CLM*C-1\nLX*1\n");
    }
}
