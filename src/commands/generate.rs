//! `claimscrub generate`: a synthetic batch with planted defects and their `truth.csv`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use crate::generate::nights::{self, Nights};
use crate::generate::x12::{self, Interchange};
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
    /// The claims file: csv (claims.csv) or 837 (claims.837, an X12 837P 005010X222A1
    /// interchange of the same claims, which SPEC §11 reads back to the same rows). 837P cannot
    /// carry a line without a diagnosis code: such claims are left out of claims.837, listed in
    /// claims_left_out.csv, and their findings left out of truth.csv. The other files are the same
    /// in both formats; a claims file of the other format in the folder is removed.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ClaimsFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimsFormat {
    Csv,
    #[value(name = "837")]
    X837,
}

/// A part's claims of one output as 837P transactions.
struct X12Part {
    bodies: Vec<x12::Body>,
    /// truth.csv rows of the claims written.
    truth: String,
    /// claims_left_out.csv rows.
    left_out: Vec<u8>,
    claims_left_out: usize,
    lines: usize,
}

fn x12_part(claims: &str, truth: &str, opts: &x12::Options) -> X12Part {
    let mut data = String::with_capacity(generate::CLAIMS_HEADER.len() + claims.len());
    data.push_str(generate::CLAIMS_HEADER);
    data.push_str(claims);
    let mut records =
        x12::read_claims_csv(data.as_bytes(), "claims").expect("the generator's own header");
    // lines within a part mean nothing to a reader of claims_left_out.csv
    records.iter_mut().for_each(|r| r.line = 0);
    let prepared = x12::prepare(&records, &opts.separators);
    let gone: rustc_hash::FxHashSet<&str> = prepared
        .left_out
        .iter()
        .map(|l| l.claim_id.as_str())
        .collect();
    let truth: String = truth
        .split_inclusive('\n')
        .filter(|row| !gone.contains(row.split(',').next().unwrap_or_default()))
        .collect();
    let mut left_out = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for l in &prepared.left_out {
        left_out
            .write_record([l.claim_id.as_str(), l.reason.as_str()])
            .expect("write to memory");
    }
    X12Part {
        bodies: x12::bodies(&prepared.claims, opts),
        truth,
        left_out: left_out.into_inner().expect("write to memory"),
        claims_left_out: prepared.left_out.len(),
        lines: prepared.lines(),
    }
}

/// Where the claims of one output folder go.
enum ClaimsOut {
    Csv(BufWriter<File>),
    X837(Box<Interchange<BufWriter<File>>>),
}

/// Patients per unit of parallel work.
const CHUNK: u64 = 512;

/// With --format 837: the claims 837P cannot carry, and why.
const LEFT_OUT: &str = "claims_left_out.csv";
const LEFT_OUT_HEADER: &str = "claim_id,reason\n";

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
    let x837 = args.format == ClaimsFormat::X837;
    let claims_name = if x837 { "claims.837" } else { "claims.csv" };
    let mut names = vec![
        claims_name,
        "sessions.csv",
        "prescriptions.csv",
        "truth.csv",
    ];
    if x837 {
        names.push(LEFT_OUT);
    }
    let tmp = |d: &PathBuf, n: &str| d.join(format!(".{n}.partial"));
    let create = |d: &PathBuf, n: &str| {
        File::create(tmp(d, n))
            .map(|f| BufWriter::with_capacity(1 << 22, f))
            .with_context(|| format!("{}: cannot create", tmp(d, n).display()))
    };
    let opts = x12::Options::default();
    // per output folder: its claims, then sessions, prescriptions, truth (and claims_left_out)
    let mut claims_out = Vec::with_capacity(dirs.len());
    let mut files = Vec::with_capacity(dirs.len());
    for d in &dirs {
        let mut f = create(d, claims_name)?;
        claims_out.push(if x837 {
            ClaimsOut::X837(Box::new(Interchange::new(f, &opts)?))
        } else {
            f.write_all(generate::CLAIMS_HEADER.as_bytes())?;
            ClaimsOut::Csv(f)
        });
        let mut fs = names[1..]
            .iter()
            .map(|n| create(d, n))
            .collect::<Result<Vec<_>>>()?;
        for (f, h) in fs.iter_mut().zip([
            generate::SESSIONS_HEADER,
            generate::PRESCRIPTIONS_HEADER,
            generate::TRUTH_HEADER,
            LEFT_OUT_HEADER,
        ]) {
            f.write_all(h.as_bytes())?;
        }
        files.push(fs);
    }

    let batch = (rayon::current_num_threads() * 4) as u64;
    let (mut next, mut lines, mut patients) = (0u64, 0usize, 0u64);
    let mut written = vec![0usize; dirs.len()];
    // with --format 837: the lines written into claims.837, and the claims left out
    let (mut in_837, mut claims_left_out) = (0usize, 0usize);
    let mut done = false;
    while !done && (lines as u64) < args.claims {
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
        // the patients each part gives the batch: the first patient that reaches the requested
        // count ends it
        let mut taken: Vec<(Part, usize)> = Vec::with_capacity(parts.len());
        for p in parts {
            let left = args.claims - lines as u64;
            let cut = p.lines.iter().position(|&l| l as u64 >= left);
            let n = cut.map(|i| i + 1).unwrap_or(p.lines.len());
            lines += p.lines[n - 1];
            patients += n as u64;
            taken.push((p, n));
            if cut.is_some() {
                done = true;
                break;
            }
        }
        // 837P: each output's claims of each part as transactions, side by side
        let x12_parts: Vec<Vec<X12Part>> = if x837 {
            taken
                .par_iter()
                .map(|(p, n)| {
                    p.outs
                        .iter()
                        .zip(&p.ends[n - 1])
                        .map(|(ch, e)| x12_part(&ch.claims[..e.0], &ch.truth[..e.3], &opts))
                        .collect()
                })
                .collect()
        } else {
            Vec::new()
        };
        for (i, (p, n)) in taken.iter().enumerate() {
            for (d, (ch, &(c, s, r, t, l))) in p.outs.iter().zip(&p.ends[n - 1]).enumerate() {
                let fs = &mut files[d];
                written[d] += l;
                fs[0].write_all(&ch.sessions.as_bytes()[..s])?;
                fs[1].write_all(&ch.prescriptions.as_bytes()[..r])?;
                match &mut claims_out[d] {
                    ClaimsOut::Csv(f) => {
                        f.write_all(&ch.claims.as_bytes()[..c])?;
                        fs[2].write_all(&ch.truth.as_bytes()[..t])?;
                    }
                    ClaimsOut::X837(x) => {
                        let xp = &x12_parts[i][d];
                        for b in &xp.bodies {
                            x.transaction(b)?;
                        }
                        fs[2].write_all(xp.truth.as_bytes())?;
                        fs[3].write_all(&xp.left_out)?;
                        in_837 += xp.lines;
                        claims_left_out += xp.claims_left_out;
                    }
                }
            }
        }
    }
    for (c, fs) in claims_out.into_iter().zip(&mut files) {
        match c {
            ClaimsOut::Csv(mut f) => f.flush()?,
            ClaimsOut::X837(x) => x.finish()?.flush()?,
        }
        for f in fs {
            f.flush()?;
        }
    }
    drop(files);
    for d in &dirs {
        for n in &names {
            std::fs::rename(tmp(d, n), d.join(n))?;
        }
        // a claims file of the other format would be a second claims input of the folder
        let stale: &[&str] = if x837 {
            &["claims.csv"]
        } else {
            &["claims.837", LEFT_OUT]
        };
        for n in stale {
            match std::fs::remove_file(d.join(n)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e)
                        .with_context(|| format!("{}: cannot remove", d.join(n).display()))
                }
                _ => {}
            }
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
    if x837 {
        let all: usize = written.iter().sum();
        eprintln!(
            "claimscrub generate: claims as X12 837P (005010X222A1) in claims.837: {in_837} of {all} claim lines; {} lines of {claims_left_out} claims 837P cannot carry left out (claims_left_out.csv), and their findings left out of truth.csv",
            all - in_837
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
