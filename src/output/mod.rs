//! Writing the outputs (SPEC §6): every file is written into a staging folder inside `--out` and
//! moved into place only when all of them are complete.

pub mod summary;
pub mod tables;

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

    /// Move every staged file into `--out` (renames within one folder), the summary last.
    pub fn commit(mut self, names: &[String]) -> Result<()> {
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
