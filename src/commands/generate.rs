//! `claimscrub generate`: a synthetic batch with planted defects and their `truth.csv`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use crate::generate::{self, Chunk, Codes};
use crate::reference::icd10::CodeSets;

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Folder for claims.csv, sessions.csv, prescriptions.csv, truth.csv, mue.csv and ncci.txt.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of claim lines (the batch stops at the first patient boundary past it).
    #[arg(long)]
    pub claims: u64,
    /// Seed: the same seed gives the same batch, whatever the thread count.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of patients carrying one planted defect, spread evenly over the 25 rules.
    #[arg(long, default_value_t = 0.04)]
    pub defect_rate: f64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Patients per unit of parallel work.
const CHUNK: u64 = 512;

struct Part {
    chunk: Chunk,
    /// After each patient: (claims, sessions, prescriptions, truth) byte ends and lines so far.
    ends: Vec<(usize, usize, usize, usize, usize)>,
}

fn part(first: u64, seed: u64, rate: f64, codes: &Codes) -> Part {
    let mut chunk = Chunk::default();
    let mut ends = Vec::with_capacity(CHUNK as usize);
    for p in first..first + CHUNK {
        generate::patient(p, seed, rate, codes, &mut chunk);
        ends.push((
            chunk.claims.len(),
            chunk.sessions.len(),
            chunk.prescriptions.len(),
            chunk.truth.len(),
            chunk.lines,
        ));
    }
    Part { chunk, ends }
}

pub fn run(args: GenerateArgs) -> Result<i32> {
    let started = Instant::now();
    if !(0.0..=1.0).contains(&args.defect_rate) {
        bail!(
            "--defect-rate {}: give a share between 0 and 1",
            args.defect_rate
        );
    }
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("--threads")?;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("--out {}: cannot create", args.out.display()))?;
    let codes = Codes::new(&CodeSets::load(&[])?);
    let names = [
        "claims.csv",
        "sessions.csv",
        "prescriptions.csv",
        "truth.csv",
    ];
    let tmp = |n: &str| args.out.join(format!(".{n}.partial"));
    let mut files = names
        .iter()
        .map(|n| {
            File::create(tmp(n))
                .map(|f| BufWriter::with_capacity(1 << 22, f))
                .with_context(|| format!("{}: cannot create", tmp(n).display()))
        })
        .collect::<Result<Vec<_>>>()?;
    for (f, h) in files.iter_mut().zip([
        generate::CLAIMS_HEADER,
        generate::SESSIONS_HEADER,
        generate::PRESCRIPTIONS_HEADER,
        generate::TRUTH_HEADER,
    ]) {
        f.write_all(h.as_bytes())?;
    }

    let batch = (rayon::current_num_threads() * 4) as u64;
    let (mut next, mut lines, mut patients) = (0u64, 0usize, 0u64);
    'outer: while (lines as u64) < args.claims {
        let parts: Vec<Part> = (0..batch)
            .into_par_iter()
            .map(|c| part(next + c * CHUNK, args.seed, args.defect_rate, &codes))
            .collect();
        next += batch * CHUNK;
        for p in parts {
            let left = args.claims - lines as u64;
            // the first patient that reaches the requested count ends the batch
            let cut = p.ends.iter().position(|e| e.4 as u64 >= left);
            let n = cut.map(|i| i + 1).unwrap_or(p.ends.len());
            let (c, s, r, t, l) = p.ends[n - 1];
            let ch = &p.chunk;
            for (f, text) in files.iter_mut().zip([
                &ch.claims[..c],
                &ch.sessions[..s],
                &ch.prescriptions[..r],
                &ch.truth[..t],
            ]) {
                f.write_all(text.as_bytes())?;
            }
            lines += l;
            patients += n as u64;
            if cut.is_some() {
                break 'outer;
            }
        }
    }
    for f in &mut files {
        f.flush()?;
    }
    drop(files);
    for n in names {
        std::fs::rename(tmp(n), args.out.join(n))?;
    }
    std::fs::write(args.out.join("mue.csv"), generate::MUE_CSV)?;
    std::fs::write(args.out.join("ncci.txt"), generate::ncci_txt())?;
    eprintln!(
        "claimscrub generate: {lines} claim lines of {patients} patients in {} ({:.1} s); findings planted in truth.csv; scrub with --mue {} --ncci {}",
        args.out.display(),
        started.elapsed().as_secs_f64(),
        args.out.join("mue.csv").display(),
        args.out.join("ncci.txt").display()
    );
    Ok(0)
}
