//! CMS's NCCI procedure-to-procedure edits (SPEC §9): the practitioner PTP files as CMS
//! distributes them (tab- or comma-separated, a preamble, a header row whose first cell starts with
//! `Column 1`, legend rows, then one edit a row with its columns by position), and a payer's own
//! pairs from the policy. No edits are built in: CMS updates them quarterly and the codes are AMA's.

use anyhow::{bail, Context, Result};

use crate::base::values::{day_from_date, iso, Day};

/// A procedure code packed into 8 bytes (CPT and HCPCS codes are 5), upper-cased: compared as an
/// integer.
pub type PackedCode = u64;

pub fn pack(code: &str) -> Option<PackedCode> {
    let b = code.as_bytes();
    if b.is_empty() || b.len() > 8 || !b.iter().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let mut out = [0u8; 8];
    for (o, c) in out.iter_mut().zip(b) {
        *o = c.to_ascii_uppercase();
    }
    Some(u64::from_be_bytes(out))
}

/// Where an edit comes from: CMS's files (applied to profiles with `ncci = true`) or a policy pair
/// (applied to the profiles it names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Cms,
    /// Index into `Policy::pairs`.
    Policy(u16),
}

/// One edit: the column 2 code is not paid beside the column 1 code.
#[derive(Clone, Copy, Debug)]
pub struct Edit {
    pub column2: PackedCode,
    pub column1: PackedCode,
    pub effective: Day,
    /// The last day it applies (`Day::MAX` = not deleted).
    pub deletion: Day,
    /// 0 = no modifier allows it, 1 = an NCCI-associated modifier may, 9 = not applied.
    pub indicator: u8,
    pub source: Source,
}

impl Edit {
    pub fn in_force(&self, day: Day) -> bool {
        self.indicator != 9 && self.effective <= day && day <= self.deletion
    }
}

/// The edits, sorted by column 2 then column 1 code (28 bytes an edit).
#[derive(Default)]
pub struct NcciEdits {
    pub edits: Vec<Edit>,
    /// The files loaded, for the summary.
    pub files: Vec<String>,
}

impl NcciEdits {
    /// Load every `--ncci` file (in parallel) and add the policy's pairs.
    pub fn load(paths: &[std::path::PathBuf], pairs: &[Edit]) -> Result<NcciEdits> {
        use rayon::prelude::*;
        let loaded = paths
            .par_iter()
            .map(|p| {
                let bytes = std::fs::read(p)
                    .with_context(|| format!("--ncci {}: cannot read the file", p.display()))?;
                parse(&bytes, &p.display().to_string())
            })
            .collect::<Result<Vec<_>>>()?;
        let mut edits: Vec<Edit> = loaded.into_iter().flatten().collect();
        edits.extend_from_slice(pairs);
        edits.par_sort_unstable_by_key(|e| (e.column2, e.column1, e.effective));
        Ok(NcciEdits {
            edits,
            files: paths.iter().map(|p| p.display().to_string()).collect(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// The edits of one pair (column 1 code, column 2 code).
    pub fn of(&self, column1: PackedCode, column2: PackedCode) -> &[Edit] {
        let key = (column2, column1);
        let start = self.edits.partition_point(|e| (e.column2, e.column1) < key);
        let end = start
            + self.edits[start..]
                .iter()
                .take_while(|e| (e.column2, e.column1) == key)
                .count();
        &self.edits[start..end]
    }
}

/// `YYYYMMDD`.
fn date(cell: &[u8]) -> Option<Day> {
    if cell.len() != 8 || !cell.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n =
        |r: std::ops::Range<usize>| cell[r].iter().fold(0u32, |a, d| a * 10 + (d - b'0') as u32);
    chrono::NaiveDate::from_ymd_opt(n(0..4) as i32, n(4..6), n(6..8)).map(day_from_date)
}

/// A cell without surrounding spaces and quotes.
fn unquote(cell: &[u8]) -> &[u8] {
    let t = cell.trim_ascii();
    let t = t.strip_prefix(b"\"").unwrap_or(t);
    let t = t.strip_suffix(b"\"").unwrap_or(t);
    t.trim_ascii()
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// The edits of one CMS PTP file: the header found line by line, then the rows parsed in parallel
/// chunks (a full CMS set is about a million rows).
pub fn parse(bytes: &[u8], source: &str) -> Result<Vec<Edit>> {
    use rayon::prelude::*;
    // the preamble ends at the header row; its separator is the file's
    let mut at = 0usize;
    let mut line = 0u64;
    let sep = loop {
        if at >= bytes.len() {
            bail!("{source}: no header row starting with `Column 1`: not a CMS NCCI PTP edit file");
        }
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        let text = &bytes[at..end];
        at = end + 1;
        line += 1;
        let sep = if text.contains(&b'\t') { b'\t' } else { b',' };
        let first = unquote(text.split(|&b| b == sep).next().unwrap_or(b""));
        let squashed: Vec<u8> = first
            .iter()
            .filter(|b| **b != b' ')
            .map(u8::to_ascii_lowercase)
            .collect();
        if squashed.starts_with(b"column1") {
            break sep;
        }
    };
    let body = &bytes[at.min(bytes.len())..];
    // chunks cut at line ends, each with the number of its first line
    let size = (body.len() / (rayon::current_num_threads() * 4)).max(1 << 16);
    let mut bounds = vec![0usize];
    while *bounds.last().unwrap() < body.len() {
        let from = (bounds.last().unwrap() + size).min(body.len());
        let cut = memchr::memchr(b'\n', &body[from..]).map_or(body.len(), |i| from + i + 1);
        bounds.push(cut);
    }
    let counts: Vec<u64> = bounds
        .windows(2)
        .map(|w| memchr::memchr_iter(b'\n', &body[w[0]..w[1]]).count() as u64)
        .collect();
    let mut first_lines = Vec::with_capacity(counts.len());
    for c in &counts {
        first_lines.push(line + 1);
        line += c;
    }
    let parts: Vec<Vec<Edit>> = bounds
        .par_windows(2)
        .zip(first_lines)
        .map(|(w, first)| rows(&body[w[0]..w[1]], first, sep, source))
        .collect::<Result<_>>()?;
    Ok(parts.concat())
}

fn rows(chunk: &[u8], first_line: u64, sep: u8, source: &str) -> Result<Vec<Edit>> {
    let mut edits = Vec::with_capacity(chunk.len() / 60);
    for (n, text) in lines(chunk).enumerate() {
        let mut cells = [&b""[..]; 6];
        for (slot, cell) in cells.iter_mut().zip(text.split(|&b| b == sep)) {
            *slot = unquote(cell);
        }
        // blank lines and legend rows (`*=no data`, `0=not allowed`) hold no edit
        if cells[0].is_empty() || cells[0].contains(&b'=') {
            continue;
        }
        let at = |what: &str, cell: &[u8]| {
            anyhow::anyhow!(
                "{source}: line {}: {what} `{}`",
                first_line + n as u64,
                String::from_utf8_lossy(cell)
            )
        };
        let code = |c: &[u8]| std::str::from_utf8(c).ok().and_then(pack);
        let column1 =
            code(cells[0]).ok_or_else(|| at("column 1 code is not a procedure code:", cells[0]))?;
        let column2 =
            code(cells[1]).ok_or_else(|| at("column 2 code is not a procedure code:", cells[1]))?;
        let effective =
            date(cells[3]).ok_or_else(|| at("effective date is not YYYYMMDD:", cells[3]))?;
        let deletion = match cells[4] {
            b"*" => Day::MAX,
            d => date(d).ok_or_else(|| at("deletion date is not YYYYMMDD or `*`:", d))?,
        };
        let indicator = match cells[5] {
            b"0" => 0,
            b"1" => 1,
            b"9" => 9,
            other => return Err(at("modifier indicator is not 0, 1 or 9:", other)),
        };
        edits.push(Edit {
            column2,
            column1,
            effective,
            deletion,
            indicator,
            source: Source::Cms,
        });
    }
    Ok(edits)
}

/// A date for messages (`open-ended` for `*`).
pub fn show(day: Day) -> String {
    if day == Day::MAX {
        "open-ended".into()
    } else {
        iso(day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "CPT codes and descriptions only are copyright 2023 American Medical Association.\n\
        Practitioner PTP Edits v302r0\n\
        Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date\tModifier\tPTP Edit Rationale\n\
        \t\t\t\t*=no data\t0=not allowed\t\n\
        97140\t97124\t\t20020101\t*\t0\tMisuse of column two code with column one code\n\
        97140\t97530\t\t20020101\t20191231\t1\tMutually exclusive procedures\n\
        97530\t97161\t\t20170101\t*\t9\tStandards of medical / surgical practice\n";

    #[test]
    fn reads_the_cms_layout_after_its_preamble_and_legend() {
        let e = parse(FILE.as_bytes(), "ptp.txt").unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].column1, pack("97140").unwrap());
        assert_eq!(e[0].column2, pack("97124").unwrap());
        assert_eq!((e[0].deletion, e[0].indicator), (Day::MAX, 0));
        let comma = FILE.replace('\t', ",");
        assert_eq!(parse(comma.as_bytes(), "ptp.csv").unwrap().len(), 3);
    }

    #[test]
    fn a_file_without_header_or_with_a_broken_row_names_the_line() {
        let err = parse(b"97140\t97124\t\t20020101\t*\t0\tx\n", "p.txt").unwrap_err();
        assert!(err.to_string().contains("no header row"), "{err}");
        let broken = FILE.replace("20020101", "2002-01-01");
        let err = parse(broken.as_bytes(), "p.txt").unwrap_err().to_string();
        assert!(
            err.contains("p.txt: line 5: effective date is not YYYYMMDD: `2002-01-01`"),
            "{err}"
        );
        let broken = FILE.replace("\t*\t0\t", "\t*\t2\t");
        let err = parse(broken.as_bytes(), "p.txt").unwrap_err().to_string();
        assert!(
            err.contains("line 5: modifier indicator is not 0, 1 or 9: `2`"),
            "{err}"
        );
    }

    #[test]
    fn an_edit_is_in_force_from_its_effective_to_its_deletion_date() {
        let e = parse(FILE.as_bytes(), "ptp.txt").unwrap();
        let day = |s: &str| crate::base::values::parse_date(s).unwrap();
        assert!(e[0].in_force(day("2025-03-10")));
        assert!(
            e[1].in_force(day("2019-12-31")),
            "the deletion date is its last day"
        );
        assert!(!e[1].in_force(day("2020-01-01")), "deleted");
        assert!(
            !e[2].in_force(day("2025-03-10")),
            "indicator 9 never applies"
        );
    }
}
