//! X12 837P claims in (SPEC §11): an interchange is read once, streaming, and its service lines are
//! written as claim rows with exactly the columns of SPEC §2 into a CSV file beside the outputs;
//! the CSV reader then reads that file like any other (memory-mapped, in parts), so an 837P is
//! scrubbed by the very code that scrubs CSV. What ties the rows back to the 837P is kept per
//! claim (4 bytes): how many rows it gave, or that it was malformed. Messages and `malformed.csv`
//! name the 837P file and segment numbers, never the CSV file.

pub mod map;
pub mod segments;
pub mod walk;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::base::text::FileBytes;
use crate::hold::Decision;
use crate::ledger::Ledger;
use crate::model::Malformed;
use crate::reference::policy::Policy;
use map::{Mapping, MALFORMED};

/// Extensions of 837P files.
pub const EXTENSIONS: [&str; 3] = ["837", "edi", "x12"];

/// Whether a file is an X12 interchange: by its extension, or by its first characters (`ISA`
/// after any blank space or byte-order mark).
pub fn is_x12(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if EXTENSIONS.iter().any(|e| name.ends_with(&format!(".{e}"))) {
        return true;
    }
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|s| head[s..].starts_with(b"ISA"))
}

/// A folder inside `--out` for the claim rows of an 837P, removed with what it holds when the
/// run ends (and `--out` too, when the run created it and leaves it empty).
struct Scratch {
    dir: PathBuf,
    out: PathBuf,
    created_out: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if self.created_out {
            let _ = std::fs::remove_dir(&self.out);
        }
    }
}

/// An 837P claims file and the claim rows made of it.
pub struct X12Claims {
    pub path: PathBuf,
    pub file_name: String,
    /// The 837P as read (memory-mapped).
    pub bytes: Arc<FileBytes>,
    /// The claim rows (SPEC §2 columns), for the CSV reader.
    pub csv: PathBuf,
    /// Per claim, in file order: the rows it gave, or `MALFORMED` | its lines.
    claims: Vec<u32>,
    /// The lines of malformed claims, for `malformed.csv`.
    malformed: Vec<Malformed>,
    /// Rows of the CSV that its reader turned down (none unless the checks here missed a case).
    turned_down: Vec<usize>,
    rows: usize,
    lines_read: usize,
    _scratch: Scratch,
}

impl X12Claims {
    /// Read the 837P at `path`, writing its claim rows into a scratch folder inside `out`.
    /// A broken interchange is an error naming the segment.
    pub fn read(path: &Path, policy: &Policy, out: &Path) -> Result<X12Claims> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let f = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot read file", path.display()))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let bytes = if len == 0 {
            FileBytes::Owned(Vec::new())
        } else {
            // SAFETY: read-only map of an input nothing writes while a scrub reads it (as for CSV)
            // populated: the file is read from end to end twice, page faults one by one cost more
            FileBytes::Mapped(
                unsafe { memmap2::MmapOptions::new().populate().map(&f) }
                    .with_context(|| format!("{}: cannot read file", path.display()))?,
            )
        };
        let created_out = !out.exists();
        std::fs::create_dir_all(out)
            .with_context(|| format!("--out {}: cannot create the folder", out.display()))?;
        // a folder with its owner's pid and start time: a later run removes it if this one is killed
        let dir = crate::output::run_folder(out, crate::output::X12_PREFIX).inspect_err(|_| {
            if created_out {
                let _ = std::fs::remove_dir(out);
            }
        })?;
        let scratch = Scratch {
            dir: dir.clone(),
            out: out.into(),
            created_out,
        };
        let csv = dir.join("claims.csv");
        let file = std::fs::File::create(&csv)
            .with_context(|| format!("{}: cannot create", csv.display()))?;
        // batches of rows are written as they come (hundreds of KB each): no buffer between
        let mut w = file;
        std::io::Write::write_all(&mut w, format!("{}\n", map::HEADER).as_bytes())?;
        let mapping = Mapping {
            bytes: &bytes,
            file_name: &file_name,
            policy,
        };
        let mapped = map::transcode(&mapping, &mut w)
            .and_then(|m| std::io::Write::flush(&mut w).map(|_| m).map_err(Into::into))
            .map_err(|e| match e.downcast::<std::io::Error>() {
                Ok(io) => anyhow::Error::from(io).context(format!(
                    "--out {}: the 837P's claim rows could not be written into {}",
                    out.display(),
                    csv.display()
                )),
                Err(e) => e,
            })?;
        drop(w);
        crate::timing("837P read into claim rows");
        let (claims, malformed, rows, lines_read) = (
            mapped.claims,
            mapped.malformed,
            mapped.rows,
            mapped.lines_read,
        );
        Ok(X12Claims {
            path: path.into(),
            file_name,
            bytes: Arc::new(bytes),
            csv,
            claims,
            malformed,
            turned_down: Vec::new(),
            rows,
            lines_read,
            _scratch: scratch,
        })
    }

    /// Claims of the file (2300 loops, and lines with no CLM).
    pub fn claims(&self) -> usize {
        self.claims.len()
    }

    /// Service lines read (LX), plus one for each claim without any.
    pub fn lines_read(&self) -> usize {
        self.lines_read
    }

    /// After the rows are read: the malformed claims' lines join the claims file's malformed
    /// rows, and the rows' count becomes the service lines'. Rows the CSV reader turned down (the
    /// checks here are meant to leave none) are told by their 837P segment and claim.
    pub fn settle(&mut self, policy: &Policy, ledger: &mut Ledger) -> Result<()> {
        debug_assert_eq!(ledger.rows_read[0], self.rows);
        let rejected = &mut ledger.malformed[0];
        if !rejected.is_empty() {
            // CSV line L (the header is line 1) is row L - 2
            let mut wanted: Vec<usize> = rejected.iter().map(|m| m.line as usize - 2).collect();
            wanted.sort_unstable();
            wanted.dedup();
            let mapping = Mapping {
                bytes: &self.bytes,
                file_name: &self.file_name,
                policy,
            };
            let found = map::describe(&mapping, &wanted)?;
            for m in rejected.iter_mut() {
                let row = m.line as usize - 2;
                if let Ok(i) = found.binary_search_by_key(&row, |f| f.0) {
                    m.line = found[i].1;
                    m.raw = found[i].2.clone();
                }
                m.file = self.file_name.clone();
            }
            self.turned_down = wanted;
        }
        rejected.extend(self.malformed.iter().cloned());
        rejected.sort_by_key(|m| m.line);
        ledger.rows_read[0] += self.malformed.len();
        Ok(())
    }

    /// Per claim: whether it is held (a line held, malformed, or turned down). A claim is held
    /// whole in the 837P outputs whatever `--hold` says: taking lines out of a claim would change
    /// its total charge (CLM02) and line numbers.
    pub fn held(&self, ledger: &Ledger, decisions: &[Decision]) -> Vec<bool> {
        let mut lines = ledger.lines.iter().zip(decisions);
        let mut turned_down = self.turned_down.iter().peekable();
        let mut row = 0usize;
        self.claims
            .iter()
            .map(|&c| {
                if c & MALFORMED != 0 {
                    return true;
                }
                let mut held = false;
                for _ in 0..c {
                    if turned_down.peek() == Some(&&row) {
                        turned_down.next();
                        held = true;
                    } else if let Some((_, d)) = lines.next() {
                        held |= *d != 0;
                    }
                    row += 1;
                }
                held
            })
            .collect()
    }
}
