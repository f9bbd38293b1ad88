//! ICD-10-CM code sets by fiscal year (SPEC §7): FY2025 and FY2026 built in, more from `--icd10`.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::base::values::{fiscal_year, Day};

static FY2025: &[u8] = include_bytes!("data/icd10cm_fy2025.tsv.gz");
static FY2026: &[u8] = include_bytes!("data/icd10cm_fy2026.tsv.gz");

pub struct CodeSet {
    pub fiscal_year: i32,
    pub source: String,
    /// dot-less code → billable (leaf) or header.
    billable: rustc_hash::FxHashMap<Box<str>, bool>,
    /// All codes, sorted: the billable children of a header are a range of it.
    sorted: Vec<Box<str>>,
}

pub enum Lookup {
    Billable,
    Header,
    Unknown,
}

impl CodeSet {
    fn from_entries(
        fiscal_year: i32,
        source: String,
        entries: Vec<(Box<str>, bool)>,
    ) -> Result<CodeSet> {
        if entries.is_empty() {
            bail!("{source}: no ICD-10-CM codes found");
        }
        let mut sorted: Vec<Box<str>> = entries.iter().map(|(c, _)| c.clone()).collect();
        sorted.sort_unstable();
        sorted.dedup();
        Ok(CodeSet {
            fiscal_year,
            source,
            billable: entries.into_iter().collect(),
            sorted,
        })
    }

    pub fn lookup(&self, key: &str) -> Lookup {
        match self.billable.get(key) {
            Some(true) => Lookup::Billable,
            Some(false) => Lookup::Header,
            None => Lookup::Unknown,
        }
    }

    /// The billable codes under a header, in code order.
    pub fn billable_children(&self, key: &str) -> Vec<&str> {
        let start = self.sorted.partition_point(|c| &**c < key);
        self.sorted[start..]
            .iter()
            .take_while(|c| c.starts_with(key))
            .filter(|c| &***c != key && self.billable.get(&***c) == Some(&true))
            .map(|c| &**c)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.billable.len()
    }

    pub fn is_empty(&self) -> bool {
        self.billable.is_empty()
    }

    /// First and last day of the fiscal year.
    pub fn covers(&self, day: Day) -> bool {
        fiscal_year(day) == self.fiscal_year
    }
}

/// Parse a code set: the project's TSV (`code`, `billable`, `short_description`) or CMS's order file.
fn parse(text: &str, source: &str) -> Result<Vec<(Box<str>, bool)>> {
    let mut lines = text.lines().enumerate().peekable();
    let first = lines.peek().map(|(_, l)| *l).unwrap_or("");
    let mut out = Vec::with_capacity(100_000);
    if first.to_ascii_lowercase().starts_with("code\t") {
        lines.next();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let mut f = line.split('\t');
            let (code, flag) = (f.next().unwrap_or("").trim(), f.next().unwrap_or("").trim());
            let billable = match flag {
                "1" => true,
                "0" => false,
                _ => bail!(
                    "{source}: line {}: billable must be 1 or 0, found `{flag}`",
                    i + 1
                ),
            };
            out.push((
                code.replace('.', "").to_ascii_uppercase().into_boxed_str(),
                billable,
            ));
        }
    } else {
        // CMS icd10cm_order_YYYY.txt: order number (5), code (7, padded) at 7-13, header flag at 15.
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let b = line.as_bytes();
            if b.len() < 15 || !b[..5].iter().all(|c| c.is_ascii_digit() || *c == b' ') {
                bail!(
                    "{source}: line {}: neither the TSV layout (header `code<TAB>billable<TAB>short_description`) nor the CMS order-file layout",
                    i + 1
                );
            }
            // by bytes: a line of other text may hold a character that straddles column 13
            let code = String::from_utf8_lossy(&b[6..13]);
            let code = code.trim();
            let billable = match b[14] {
                b'1' => true,
                b'0' => false,
                c => bail!(
                    "{source}: line {}: column 15 must be 1 or 0, found `{}`",
                    i + 1,
                    c as char
                ),
            };
            out.push((code.to_ascii_uppercase().into_boxed_str(), billable));
        }
    }
    Ok(out)
}

fn gunzip(bytes: &[u8]) -> Result<String> {
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut s)?;
    Ok(s)
}

/// `FY2027=path`, `2027=path`, or a path whose name carries the year (`icd10cm_order_2027.txt`).
pub fn parse_icd10_arg(arg: &str) -> Result<(i32, std::path::PathBuf)> {
    if let Some((fy, path)) = arg.split_once('=') {
        let digits = fy
            .trim()
            .trim_start_matches(['F', 'f'])
            .trim_start_matches(['Y', 'y']);
        if let Ok(y) = digits.parse::<i32>() {
            if (2000..2100).contains(&y) {
                return Ok((y, path.into()));
            }
        }
        bail!("--icd10 {arg}: `{fy}` is not a fiscal year (write FY2027=FILE)");
    }
    let path = Path::new(arg);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let years: Vec<i32> = name
        .split(|c: char| !c.is_ascii_digit())
        .filter(|d| d.len() == 4)
        .filter_map(|d| d.parse().ok())
        .filter(|y| (2000..2100).contains(y))
        .collect();
    match years.last() {
        Some(&y) => Ok((y, path.into())),
        None => bail!("--icd10 {arg}: no fiscal year in the file name; write --icd10 FY2027={arg}"),
    }
}

enum Source {
    Builtin(&'static [u8]),
    File(std::path::PathBuf),
}

impl Source {
    fn text(&self) -> Result<String> {
        match self {
            Source::Builtin(bytes) => gunzip(bytes),
            Source::File(p) => {
                let bytes = std::fs::read(p)
                    .with_context(|| format!("{}: cannot read --icd10 file", p.display()))?;
                if bytes.starts_with(&[0x1f, 0x8b]) {
                    gunzip(&bytes)
                        .with_context(|| format!("{}: not a readable gzip file", p.display()))
                } else {
                    String::from_utf8(bytes)
                        .with_context(|| format!("{}: not UTF-8 text", p.display()))
                }
            }
        }
    }
}

pub struct CodeSets {
    /// Sorted by fiscal year.
    pub sets: Vec<CodeSet>,
}

impl CodeSets {
    /// The built-in years plus `--icd10` files (a file for a built-in year replaces it).
    pub fn load(extra: &[String]) -> Result<CodeSets> {
        let mut files = Vec::new();
        for arg in extra {
            files.push(parse_icd10_arg(arg)?);
        }
        // built-in years not replaced by a file, then the files
        let mut jobs: Vec<(i32, String, Source)> = [(2025, FY2025), (2026, FY2026)]
            .into_iter()
            .filter(|(fy, _)| !files.iter().any(|(y, _)| y == fy))
            .map(|(fy, bytes)| (fy, format!("built-in FY{fy}"), Source::Builtin(bytes)))
            .collect();
        jobs.extend(
            files
                .into_iter()
                .map(|(fy, path)| (fy, path.display().to_string(), Source::File(path))),
        );
        use rayon::prelude::*;
        let mut sets = jobs
            .into_par_iter()
            .map(|(fy, source, read)| {
                CodeSet::from_entries(fy, source.clone(), parse(&read.text()?, &source)?)
            })
            .collect::<Result<Vec<_>>>()?;
        sets.sort_by_key(|s| s.fiscal_year);
        if let Some(w) = sets
            .windows(2)
            .find(|w| w[0].fiscal_year == w[1].fiscal_year)
        {
            bail!("--icd10: two code sets for FY{}", w[0].fiscal_year);
        }
        Ok(CodeSets { sets })
    }

    /// The set in force on a day, or the nearest one (and `false`) when none covers it.
    pub fn for_day(&self, day: Day) -> (usize, bool) {
        let fy = fiscal_year(day);
        match self.sets.binary_search_by_key(&fy, |s| s.fiscal_year) {
            Ok(i) => (i, true),
            Err(0) => (0, false),
            Err(i) if i == self.sets.len() => (i - 1, false),
            // between two loaded years: the nearer one, the later on a tie
            Err(i) => {
                let (a, b) = (&self.sets[i - 1], &self.sets[i]);
                (
                    if fy - a.fiscal_year < b.fiscal_year - fy {
                        i - 1
                    } else {
                        i
                    },
                    false,
                )
            }
        }
    }
}

/// ICD-10-CM category prefixes of wellness / routine encounters (`reference/wellness_codes.tsv`).
pub fn wellness_prefixes() -> Vec<String> {
    include_str!("data/wellness_codes.tsv")
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(|p| p.trim().to_ascii_uppercase())
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::values::parse_date;

    #[test]
    fn builtin_sets_know_the_headers_of_the_domain() {
        let sets = CodeSets::load(&[]).unwrap();
        assert_eq!(sets.sets.len(), 2);
        for set in &sets.sets {
            assert!(matches!(set.lookup("M545"), Lookup::Header));
            assert_eq!(set.billable_children("M545"), ["M5450", "M5451", "M5459"]);
            for code in ["S134XXA", "I890", "I972", "M797", "Z7901", "Z0000"] {
                assert!(
                    matches!(set.lookup(code), Lookup::Billable),
                    "{code} FY{}",
                    set.fiscal_year
                );
            }
            assert!(matches!(set.lookup("M54999"), Lookup::Unknown));
        }
        let fy2025 = sets.sets.iter().find(|s| s.fiscal_year == 2025).unwrap();
        assert_eq!(fy2025.billable.values().filter(|b| **b).count(), 74_260);
        let fy2026 = sets.sets.iter().find(|s| s.fiscal_year == 2026).unwrap();
        assert_eq!(fy2026.billable.values().filter(|b| **b).count(), 74_719);
    }

    #[test]
    fn a_date_picks_its_fiscal_year_or_the_nearest() {
        let sets = CodeSets::load(&[]).unwrap();
        let fy = |d: &str| {
            let (i, covered) = sets.for_day(parse_date(d).unwrap());
            (sets.sets[i].fiscal_year, covered)
        };
        assert_eq!(fy("2025-09-30"), (2025, true));
        assert_eq!(fy("2025-10-01"), (2026, true));
        assert_eq!(fy("2024-09-30"), (2025, false));
        assert_eq!(fy("2026-10-01"), (2026, false));
    }

    #[test]
    fn order_file_layout_and_year_from_name() {
        let text = "00001 A00     0 Cholera                                                      Cholera\n00002 A000    1 Cholera due to Vibrio cholerae 01, biovar cholerae           Cholera due to Vibrio cholerae 01, biovar cholerae\n";
        let entries = parse(text, "icd10cm_order_2027.txt").unwrap();
        assert_eq!(entries, vec![("A00".into(), false), ("A000".into(), true)]);
        assert_eq!(
            parse_icd10_arg("dir/icd10cm_order_2027.txt").unwrap().0,
            2027
        );
        assert_eq!(parse_icd10_arg("FY2028=codes.txt").unwrap().0, 2028);
        assert!(parse_icd10_arg("codes.txt").is_err());
    }
}
