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

fn date(cell: &str) -> Option<Day> {
    let d = chrono::NaiveDate::parse_from_str(cell, "%Y%m%d").ok()?;
    (cell.len() == 8).then(|| day_from_date(d))
}

/// The edits of one CMS PTP file.
pub fn parse(bytes: &[u8], source: &str) -> Result<Vec<Edit>> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines().enumerate();
    // the preamble ends at the header row; its separator is the file's
    let unquote = |c: &str| c.trim().trim_matches('"').trim().to_string();
    let sep = loop {
        let Some((_, line)) = lines.next() else {
            bail!("{source}: no header row starting with `Column 1`: not a CMS NCCI PTP edit file");
        };
        let sep = if line.contains('\t') { '\t' } else { ',' };
        let first = unquote(line.split(sep).next().unwrap_or(""));
        let first = first.to_ascii_lowercase().replace(' ', "");
        if first.starts_with("column1") {
            break sep;
        }
    };
    let mut edits = Vec::new();
    for (n, line) in lines {
        let cells: Vec<String> = line.split(sep).map(unquote).collect();
        let first = cells.first().map(String::as_str).unwrap_or("");
        // blank lines and legend rows (`*=no data`, `0=not allowed`) hold no edit
        if cells.iter().all(|c| c.is_empty()) || first.is_empty() || first.contains('=') {
            continue;
        }
        let at = |what: &str| format!("{source}: line {}: {what}", n + 1);
        let cell = |i: usize| cells.get(i).map(String::as_str).unwrap_or("");
        let column1 = pack(cell(0)).with_context(|| {
            at(&format!(
                "column 1 code `{}` is not a procedure code",
                cell(0)
            ))
        })?;
        let column2 = pack(cell(1)).with_context(|| {
            at(&format!(
                "column 2 code `{}` is not a procedure code",
                cell(1)
            ))
        })?;
        let effective = date(cell(3))
            .with_context(|| at(&format!("effective date `{}` is not YYYYMMDD", cell(3))))?;
        let deletion = match cell(4) {
            "*" => Day::MAX,
            d => date(d)
                .with_context(|| at(&format!("deletion date `{d}` is not YYYYMMDD or `*`")))?,
        };
        let indicator = match cell(5) {
            "0" => 0,
            "1" => 1,
            "9" => 9,
            other => bail!(at(&format!(
                "modifier indicator `{other}` is not 0, 1 or 9"
            ))),
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
        97140\t97530\t\t20200101\t20191231\t1\tMutually exclusive procedures\n\
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
            err.contains("p.txt: line 5: effective date `2002-01-01`"),
            "{err}"
        );
        let broken = FILE.replace("\t*\t0\t", "\t*\t2\t");
        let err = parse(broken.as_bytes(), "p.txt").unwrap_err().to_string();
        assert!(err.contains("line 5: modifier indicator `2`"), "{err}");
    }

    #[test]
    fn an_edit_is_in_force_from_its_effective_to_its_deletion_date() {
        let e = parse(FILE.as_bytes(), "ptp.txt").unwrap();
        let day = |s: &str| crate::base::values::parse_date(s).unwrap();
        assert!(e[0].in_force(day("2025-03-10")));
        assert!(
            !e[1].in_force(day("2020-01-01")),
            "deleted before it took effect"
        );
        assert!(
            !e[2].in_force(day("2025-03-10")),
            "indicator 9 never applies"
        );
    }
}
