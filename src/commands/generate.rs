//! `claimscrub generate`: a synthetic batch with planted defects and their `truth.csv`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use crate::generate::nights::{self, Nights};
use crate::generate::{self, Chunk, Codes};
use crate::reference::icd10::CodeSets;

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Folder for claims.csv, sessions.csv, prescriptions.csv, truth.csv, mue.csv and ncci.txt
    /// (with --nights: for night1 … nightK, mue.csv and ncci.txt).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of claim lines (the batch stops at the first patient boundary past it).
    #[arg(long)]
    pub claims: u64,
    /// Seed: the same seed gives the same batch, whatever the thread count.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of patients carrying one planted defect, spread evenly over the planted rules.
    #[arg(long, default_value_t = 0.04)]
    pub defect_rate: f64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Cut the batch into K successive nights: DIR/night1 … DIR/nightK, each with claims.csv,
    /// sessions.csv, prescriptions.csv (every document of its patients) and truth.csv, the findings
    /// of scrubbing night1, night2, … in order with one --state file; mue.csv and ncci.txt are
    /// written once, in DIR. The nights hold the batch written without --nights: each patient's
    /// visits, in date order, are spread over a run of consecutive nights, its claims from the first
    /// held one on all in that claim's night (an earlier night holds only clean lines). Some clean
    /// claims are sent again the next night under a new claim_id, their own and `R`
    /// (DUPLICATE_SUBMISSION).
    #[arg(long, value_name = "K")]
    pub nights: Option<usize>,
    /// With --nights: the share of patients one of whose clean claims is sent again the next night.
    #[arg(long, default_value_t = 0.01, requires = "nights")]
    pub duplicate_rate: f64,
}

/// Patients per unit of parallel work.
const CHUNK: u64 = 512;

/// Where an output stood after a patient: (claims, sessions, prescriptions, truth) byte ends and
/// claim lines so far.
type End = (usize, usize, usize, usize, usize);

struct Part {
    /// One chunk per output folder: the batch, or each night.
    outs: Vec<Chunk>,
    /// After each patient, per output.
    ends: Vec<Vec<End>>,
    /// After each patient: the batch's claim lines so far (re-sent copies not counted).
    lines: Vec<usize>,
}

fn part(first: u64, seed: u64, rate: f64, codes: &Codes, nights: Option<&Nights>) -> Part {
    let k = nights.map_or(1, |n| n.count);
    let mut outs: Vec<Chunk> = (0..k).map(|_| Chunk::default()).collect();
    let mut ends = Vec::with_capacity(CHUNK as usize);
    let mut lines = Vec::with_capacity(CHUNK as usize);
    let (mut scratch, mut total) = (Chunk::default(), 0usize);
    for p in first..first + CHUNK {
        match nights {
            None => {
                generate::patient(p, seed, rate, codes, &mut outs[0]);
                total = outs[0].lines;
            }
            Some(n) => {
                scratch.claims.clear();
                scratch.sessions.clear();
                scratch.prescriptions.clear();
                scratch.truth.clear();
                scratch.lines = 0;
                generate::patient(p, seed, rate, codes, &mut scratch);
                total += scratch.lines;
                nights::split(p, &scratch, n, &mut outs);
            }
        }
        ends.push(
            outs.iter()
                .map(|c| {
                    (
                        c.claims.len(),
                        c.sessions.len(),
                        c.prescriptions.len(),
                        c.truth.len(),
                        c.lines,
                    )
                })
                .collect(),
        );
        lines.push(total);
    }
    Part { outs, ends, lines }
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
    if args.nights == Some(0) {
        bail!("--nights 0: give at least one night");
    }
    if !(0.0..=1.0).contains(&args.duplicate_rate) {
        bail!(
            "--duplicate-rate {}: give a share between 0 and 1",
            args.duplicate_rate
        );
    }
    let nights = args
        .nights
        .map(|k| Nights::new(k, args.duplicate_rate, args.seed));
    let dirs: Vec<PathBuf> = match args.nights {
        None => vec![args.out.clone()],
        Some(k) => (1..=k)
            .map(|n| args.out.join(format!("night{n}")))
            .collect(),
    };
    for d in &dirs {
        std::fs::create_dir_all(d)
            .with_context(|| format!("--out {}: cannot create", d.display()))?;
    }
    let codes = Codes::new(&CodeSets::load(&[])?);
    let names = [
        "claims.csv",
        "sessions.csv",
        "prescriptions.csv",
        "truth.csv",
    ];
    let tmp = |d: &PathBuf, n: &str| d.join(format!(".{n}.partial"));
    // per output folder, its four files
    let mut files = dirs
        .iter()
        .map(|d| {
            names
                .iter()
                .map(|n| {
                    File::create(tmp(d, n))
                        .map(|f| BufWriter::with_capacity(1 << 22, f))
                        .with_context(|| format!("{}: cannot create", tmp(d, n).display()))
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    for fs in &mut files {
        for (f, h) in fs.iter_mut().zip([
            generate::CLAIMS_HEADER,
            generate::SESSIONS_HEADER,
            generate::PRESCRIPTIONS_HEADER,
            generate::TRUTH_HEADER,
        ]) {
            f.write_all(h.as_bytes())?;
        }
    }

    let batch = (rayon::current_num_threads() * 4) as u64;
    let (mut next, mut lines, mut patients) = (0u64, 0usize, 0u64);
    let mut written = vec![0usize; dirs.len()];
    'outer: while (lines as u64) < args.claims {
        let parts: Vec<Part> = (0..batch)
            .into_par_iter()
            .map(|c| {
                part(
                    next + c * CHUNK,
                    args.seed,
                    args.defect_rate,
                    &codes,
                    nights.as_ref(),
                )
            })
            .collect();
        next += batch * CHUNK;
        for p in parts {
            let left = args.claims - lines as u64;
            // the first patient that reaches the requested count ends the batch
            let cut = p.lines.iter().position(|&l| l as u64 >= left);
            let n = cut.map(|i| i + 1).unwrap_or(p.lines.len());
            for ((fs, ch), &(c, s, r, t, _)) in files.iter_mut().zip(&p.outs).zip(&p.ends[n - 1]) {
                for (f, text) in fs.iter_mut().zip([
                    &ch.claims[..c],
                    &ch.sessions[..s],
                    &ch.prescriptions[..r],
                    &ch.truth[..t],
                ]) {
                    f.write_all(text.as_bytes())?;
                }
            }
            for (w, e) in written.iter_mut().zip(&p.ends[n - 1]) {
                *w += e.4;
            }
            lines += p.lines[n - 1];
            patients += n as u64;
            if cut.is_some() {
                break 'outer;
            }
        }
    }
    for fs in &mut files {
        for f in fs {
            f.flush()?;
        }
    }
    drop(files);
    for d in &dirs {
        for n in names {
            std::fs::rename(tmp(d, n), d.join(n))?;
        }
    }
    std::fs::write(args.out.join("mue.csv"), generate::MUE_CSV)?;
    std::fs::write(args.out.join("ncci.txt"), generate::ncci_txt())?;
    if let Some(k) = args.nights {
        let per_night: Vec<String> = written.iter().map(|w| w.to_string()).collect();
        eprintln!(
            "claimscrub generate: {k} nights in {} (night1 … night{k}) of {} claim lines, {} of them lines of claims sent again under a new claim_id; scrub them in order with one --state",
            args.out.display(),
            per_night.join(", "),
            written.iter().sum::<usize>() - lines
        );
    }
    eprintln!(
        "claimscrub generate: {lines} claim lines of {patients} patients in {} ({:.1} s); findings planted in truth.csv; scrub with --mue {} --ncci {}",
        args.out.display(),
        started.elapsed().as_secs_f64(),
        args.out.join("mue.csv").display(),
        args.out.join("ncci.txt").display()
    );
    Ok(0)
}
