//! Writing the outputs (SPEC §6): every file is written into a staging folder inside `--out` and
//! moved into place only when all of them are complete.

pub mod summary;
pub mod tables;
pub mod x12;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutFormat {
    Csv,
    Parquet,
}

impl OutFormat {
    pub fn ext(self) -> &'static str {
        match self {
            OutFormat::Csv => "csv",
            OutFormat::Parquet => "parquet",
        }
    }
}

/// The file that marks a folder as one claimscrub writes its outputs into.
pub const MARKER: &str = ".claimscrub";

/// The names a run may write into `--out`, whatever the format.
const OUTPUT_NAMES: &[&str] = &[
    "rejections.csv",
    "clean.csv",
    "held.csv",
    "malformed.csv",
    "rejections.parquet",
    "clean.parquet",
    "held.parquet",
    "malformed.parquet",
    "clean.837",
    "held.837",
    "summary.json",
    "report.html",
];

/// Refuse an `--out` that holds an input, or files of claimscrub's output names that claimscrub
/// did not write (a folder without its marker): a run replaces its outputs, and must replace
/// nothing else.
pub fn check_out(out: &Path, inputs: &[&Path]) -> Result<()> {
    let Ok(dir) = out.canonicalize() else {
        return Ok(()); // created by this run
    };
    for input in inputs {
        if let Ok(input) = input.canonicalize() {
            if input.starts_with(&dir) {
                anyhow::bail!(
                    "--out {}: the folder holds the input {}; write the outputs to another folder",
                    out.display(),
                    input.display()
                );
            }
        }
    }
    if dir.join(MARKER).is_file() {
        return Ok(());
    }
    if let Some(name) = OUTPUT_NAMES.iter().find(|n| dir.join(n).exists()) {
        anyhow::bail!(
            "--out {}: {name} is there and was not written by claimscrub (no {MARKER} marker); \
             choose an empty folder, or remove it",
            out.display()
        );
    }
    Ok(())
}

/// A folder beside the outputs; dropped without `commit`, it is removed with what it holds.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    created_out: bool,
    committed: bool,
}

impl Staging {
    pub fn new(out: &Path) -> Result<Staging> {
        let created_out = !out.exists();
        std::fs::create_dir_all(out)
            .with_context(|| format!("--out {}: cannot create the folder", out.display()))?;
        let dir = out.join(format!(".claimscrub-staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir)
            .with_context(|| format!("--out {}: cannot write there", out.display()))?;
        Ok(Staging {
            out: out.into(),
            dir,
            created_out,
            committed: false,
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Move every staged file into `--out` (renames within one folder), the summary last; the
    /// marker first, so that the next run may replace them.
    pub fn commit(mut self, names: &[String]) -> Result<()> {
        std::fs::write(
            self.out.join(MARKER),
            "claimscrub writes its outputs into this folder; each run replaces them.\n",
        )
        .with_context(|| format!("--out {}: cannot write there", self.out.display()))?;
        for name in names {
            std::fs::rename(self.dir.join(name), self.out.join(name)).with_context(|| {
                format!(
                    "--out {}: cannot move {name} into place",
                    self.out.display()
                )
            })?;
        }
        self.committed = true;
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
            if self.created_out {
                let _ = std::fs::remove_dir(&self.out);
            }
        }
    }
}
