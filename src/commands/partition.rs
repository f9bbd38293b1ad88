//! `claimscrub partition`: a batch cut by patient into Parquet parts, one folder each, that
//! machines scrub one at a time (`claimscrub scrub DIR/part=K`), and that `claimscrub merge`
//! joins back into the outputs of one run (issue 13).
//!
//! Rows are read and checked here, as `scrub` reads them: a part's scrub could not name the
//! original file, line and text of a malformed row, so malformed rows stay in the partition
//! folder (`malformed-rows.csv`) and only well-formed rows go into the parts. The claims part
//! carries each row's line in the original file in a hidden last column (`ORIGIN_PREFIX`),
//! which the scrub of a part keeps out of its outputs and writes to `part-lines.csv` beside
//! them (see `part_outputs`), so that `merge` can put every row back in input order.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::base::values::iso;
use crate::cli::ScrubArgs;
use crate::hold::Holding;
use crate::input::encoding::Encoding;
use crate::input::parquet::ParquetFile;
use crate::input::table::{Format, Origin, RawTable, Rec, ORIGIN_PREFIX};
use crate::input::{self, InputPaths, INPUTS};
use crate::ledger::Ledger;
use crate::model::Malformed;
use crate::output::parquet::{Kind, ParquetOut, Piece};
use crate::output::Staging;
use crate::reference::icd10::CodeSets;
use crate::reference::policy::Policy;
use crate::rules::Rule;

#[derive(clap::Args, Debug)]
pub struct PartitionArgs {
    /// Folder holding claims, sessions and prescriptions files (.csv, .csv.gz or .parquet).
    pub input_dir: Option<PathBuf>,
    /// The claims file (wins over INPUT_DIR).
    #[arg(long)]
    pub claims: Option<PathBuf>,
    /// The sessions file (wins over INPUT_DIR).
    #[arg(long)]
    pub sessions: Option<PathBuf>,
    /// The prescriptions file (wins over INPUT_DIR).
    #[arg(long)]
    pub prescriptions: Option<PathBuf>,
    /// Number of parts, by patient (the hash of `scrub --parts`).
    #[arg(long, value_name = "N")]
    pub parts: usize,
    /// Folder for `part=K/` (K = 0..N-1), `manifest.json` and `malformed-rows.csv`.
    #[arg(long)]
    pub out: PathBuf,
    /// The payer policy the parts will be scrubbed with (its profiles decide which payer_type
    /// values are malformed).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Character encoding of the CSV inputs, as for `scrub`.
    #[arg(long, value_enum, default_value = "utf8")]
    pub encoding: Encoding,
    /// No closing line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// The file of a partition that describes it.
pub const MANIFEST: &str = "manifest.json";
/// The rows of the inputs that are malformed, as `scrub` would report them.
pub const MALFORMED_ROWS: &str = "malformed-rows.csv";
/// What the scrub of a part writes beside its outputs for `merge`.
pub const PART_LINES: &str = "part-lines.csv";
const PART_LINES_HEADER: [&str; 8] = [
    "origin",
    "decision",
    "found",
    "payer",
    "charge",
    "claim_id",
    "rx_id",
    "patient_id",
];
const MALFORMED_HEADER: [&str; 6] = ["input", "file", "line", "error", "raw", "claim_id"];

/// An input of the batch as a single run's summary names it.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct InputRecord {
    pub file: String,
    pub path: String,
    pub bytes: u64,
    pub rows_read: usize,
    pub malformed_rows: usize,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct Manifest {
    pub claimscrub_version: String,
    /// Names this partition; every part's hidden column carries it.
    pub partition: String,
    pub parts: usize,
    /// claims, sessions, prescriptions.
    pub inputs: Vec<InputRecord>,
    /// The policy the rows were checked with, and its profiles in order.
    pub policy: String,
    pub profiles: Vec<String>,
    pub encoding: String,
    /// Warnings of reading the inputs (headers, bytes that are not UTF-8), as a run gives them.
    pub warnings: Vec<String>,
    /// Optional columns absent from their file, as `input.column`.
    pub absent_columns: Vec<String>,
    /// Rows of claims, sessions and prescriptions written into each part.
    pub part_rows: Vec<[usize; 3]>,
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: cannot read it: not a folder written by claimscrub partition",
                path.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a partition manifest", path.display()))
    }
}

/// A partition folder may be written where nothing is, or over an earlier partition.
fn check_out(out: &Path, paths: &InputPaths) -> Result<bool> {
    let Ok(dir) = out.canonicalize() else {
        return Ok(false);
    };
    for input in [&paths.claims, &paths.sessions, &paths.prescriptions] {
        if input.canonicalize().is_ok_and(|i| i.starts_with(&dir)) {
            bail!(
                "--out {}: the folder holds the input {}; write the partition to another folder",
                out.display(),
                input.display()
            );
        }
    }
    if dir.join(MANIFEST).is_file() {
        return Ok(true);
    }
    let mut entries = std::fs::read_dir(&dir)
        .with_context(|| format!("--out {}: cannot read the folder", out.display()))?;
    if entries.next().is_some() {
        bail!(
            "--out {}: the folder is not empty and holds no partition ({MANIFEST}); choose an empty folder",
            out.display()
        );
    }
    Ok(false)
}

/// A name for this partition: the inputs, their sizes and the moment.
fn partition_id(paths: &InputPaths, parts: usize) -> String {
    let mut text = format!(
        "{}:{}:{parts}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    );
    for p in [&paths.claims, &paths.sessions, &paths.prescriptions] {
        let bytes = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        text.push_str(&format!(":{}:{bytes}", p.display()));
    }
    format!("{:016x}", crate::base::hash::stable_hash(text.as_bytes()))
}

/// The well-formed records of one input of one part written as a Parquet file of text columns,
/// in file order, with the hidden origin column when `origin` names it; the rows written.
fn write_part(
    table: &RawTable,
    sel: Option<(&input::table::PartIndex, usize)>,
    malformed: &[Malformed],
    origin: Option<&str>,
    path: &Path,
) -> Result<usize> {
    let bad: FxHashSet<u64> = malformed.iter().map(|m| m.line).collect();
    let width = table.headers.len();
    let mut names: Vec<&str> = table.headers.iter().map(String::as_str).collect();
    let mut kinds = vec![Kind::Text; width];
    if let Some(name) = origin {
        names.push(name);
        kinds.push(Kind::Line);
    }
    let pieces: Vec<Piece> = table.par_records(sel, |go| {
        let mut piece = Piece::new(&kinds, 0);
        go(&mut |rec: &Rec| {
            if bad.contains(&rec.line) {
                return;
            }
            for c in 0..width {
                piece.text(c, &rec.shown(c));
            }
            if origin.is_some() {
                piece.line(width, rec.line);
            }
        });
        piece
    })?;
    let rows = pieces.iter().map(Piece::rows).sum();
    let f = std::fs::File::create(path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    let w = std::io::BufWriter::with_capacity(1 << 22, f);
    let mut out = ParquetOut::create(w, path, &names, &kinds)?;
    out.push(pieces)?;
    out.finish()?
        .flush()
        .with_context(|| format!("{}: write error", path.display()))?;
    Ok(rows)
}

pub fn run(args: &PartitionArgs) -> Result<i32> {
    let started = std::time::Instant::now();
    if args.parts == 0 {
        bail!("--parts 0: give at least 1");
    }
    let resolve = crate::commands::scrub::resolve;
    let paths = InputPaths {
        claims: resolve("claims", &args.claims, &args.input_dir)?,
        sessions: resolve("sessions", &args.sessions, &args.input_dir)?,
        prescriptions: resolve("prescriptions", &args.prescriptions, &args.input_dir)?,
    };
    if Format::of(&paths.claims).is_none() {
        bail!(
            "--claims {}: an X12 837P cannot be partitioned (its 837P outputs are written from the whole interchange); give the claims as CSV or Parquet",
            paths.claims.display()
        );
    }
    let earlier = check_out(&args.out, &paths)?;
    let policy = match &args.policy {
        Some(p) => Policy::load(p).with_context(|| format!("--policy {}", p.display()))?,
        None => Policy::builtin(),
    };
    let tables = input::open(&paths, args.encoding, None)?;
    let all = [&tables.claims, &tables.sessions, &tables.prescriptions];
    for t in all {
        let mut seen = FxHashSet::default();
        for h in &t.headers {
            if h.starts_with(ORIGIN_PREFIX) {
                bail!(
                    "{}: column `{h}`: names starting with `{ORIGIN_PREFIX}` are claimscrub's own in a partition",
                    t.path.display()
                );
            }
            if !seen.insert(h.as_str()) {
                bail!(
                    "{}: column `{h}` appears twice; the parts are Parquet, whose columns need distinct names",
                    t.path.display()
                );
            }
        }
    }
    let parts = args.parts;
    let index = if parts > 1 {
        Some(tables.index(parts)?)
    } else {
        None
    };
    let id = partition_id(&paths, parts);
    let staging = Staging::new(&args.out)?;
    let mut malformed: [Vec<Malformed>; 3] = Default::default();
    let mut rows_read = [0usize; 3];
    let mut part_rows = Vec::with_capacity(parts);
    for k in 0..parts {
        let batch = input::read_part(&tables, index.as_ref(), k, &policy)?;
        let name = format!("part={k}");
        let dir = staging.path(&name);
        std::fs::create_dir(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        let origin = format!("{ORIGIN_PREFIX}{id}:{k}:{parts}");
        let mut counts = [0usize; 3];
        for (i, table) in all.into_iter().enumerate() {
            let sel = index.as_ref().map(|x| (x.table(i), k));
            counts[i] = write_part(
                table,
                sel,
                &batch.malformed[i],
                (i == 0).then_some(origin.as_str()),
                &dir.join(format!("{}.parquet", INPUTS[i])),
            )?;
            // every record read is in the part or malformed, once
            if counts[i] + batch.malformed[i].len() != batch.rows_read[i] {
                bail!(
                    "{}: part {k}: {} rows read, {} written and {} malformed",
                    table.path.display(),
                    batch.rows_read[i],
                    counts[i],
                    batch.malformed[i].len()
                );
            }
            rows_read[i] += batch.rows_read[i];
        }
        for (all, part) in malformed.iter_mut().zip(batch.malformed) {
            all.extend(part);
        }
        part_rows.push(counts);
        crate::timing(&format!("part {k} written"));
    }
    for m in &mut malformed {
        m.sort_by_key(|m| m.line);
    }
    let mut w = crate::output::tables::TableWriter::create(
        &staging.path(MALFORMED_ROWS),
        &MALFORMED_HEADER,
    )?;
    for (i, rows) in malformed.iter().enumerate() {
        for m in rows {
            w.row(&[
                INPUTS[i],
                &m.file,
                &m.line.to_string(),
                &m.error,
                &m.raw,
                m.claim_id.as_deref().unwrap_or(""),
            ])?;
        }
    }
    w.finish()?;
    let inputs = [&paths.claims, &paths.sessions, &paths.prescriptions]
        .into_iter()
        .enumerate()
        .map(|(i, p)| InputRecord {
            file: all[i].file_name.clone(),
            path: p.display().to_string(),
            bytes: std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            rows_read: rows_read[i],
            malformed_rows: malformed[i].len(),
        })
        .collect();
    let manifest = Manifest {
        claimscrub_version: env!("CARGO_PKG_VERSION").to_string(),
        partition: id.clone(),
        parts,
        inputs,
        policy: policy.source.clone(),
        profiles: policy.profiles.iter().map(|p| p.name.clone()).collect(),
        encoding: format!("{:?}", args.encoding).to_ascii_lowercase(),
        warnings: tables.notes.warnings.clone(),
        absent_columns: tables.notes.absent.clone(),
        part_rows,
    };
    std::fs::write(
        staging.path(MANIFEST),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )
    .context("manifest.json: write error")?;
    let mut names: Vec<String> = (0..parts).map(|k| format!("part={k}")).collect();
    names.push(MALFORMED_ROWS.to_string());
    // the manifest last: a folder with it is a whole partition
    names.push(MANIFEST.to_string());
    if earlier {
        remove_earlier(&args.out)?;
    }
    staging.commit(&names, &[])?;
    if !args.quiet {
        let m: usize = malformed.iter().map(Vec::len).sum();
        eprintln!(
            "claimscrub: partition {id}: {} claim lines, {} session rows, {} prescription rows in {parts} part{} under {}; {m} malformed row{} in {MALFORMED_ROWS} ({:.2} s)",
            rows_read[0] - malformed[0].len(),
            rows_read[1] - malformed[1].len(),
            rows_read[2] - malformed[2].len(),
            if parts == 1 { "" } else { "s" },
            args.out.display(),
            if m == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64()
        );
    }
    Ok(0)
}

/// The files of an earlier partition in `out`, removed before the new one moves in.
fn remove_earlier(out: &Path) -> Result<()> {
    let _ = std::fs::remove_file(out.join(MANIFEST));
    for e in std::fs::read_dir(out)
        .with_context(|| format!("--out {}: cannot read the folder", out.display()))?
    {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("part=") && e.path().is_dir() {
            std::fs::remove_dir_all(e.path()).with_context(|| {
                format!("{}: cannot remove the earlier part", e.path().display())
            })?;
        }
    }
    let _ = std::fs::remove_file(out.join(MALFORMED_ROWS));
    Ok(())
}

/// The partition, part and parts of a part's hidden column name.
pub fn parse_tag(tag: &str) -> Option<(String, usize, usize)> {
    let mut it = tag.split(':');
    let (id, k, n) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    Some((id.to_string(), k.parse().ok()?, n.parse().ok()?))
}

/// A claims file that is a partition's part (its last column is the hidden origin column), read
/// from the Parquet schema alone.
pub fn is_part(claims: &Path) -> bool {
    if !matches!(Format::of(claims), Some(Format::Parquet)) {
        return false;
    }
    crate::base::foreign::catch_panic(|| {
        ParquetFile::open(claims).is_ok_and(|f| f.origin.is_some())
    })
    .unwrap_or(false)
}

/// Beside the outputs of a scrub of a partition's part: `part-lines.csv` at `path` (per claim
/// line in the part's order: its line in the original claims file, its decision here, the rules
/// it has findings of, payer, charge and claim, and for an RX_NOT_FOUND whose number no document
/// of this part has, the number and patient, which another part's documents may hold), and the
/// summary's `part` (returned). `None` when the claims are not a part.
pub fn part_outputs(
    claims: &RawTable,
    ledger: &Ledger,
    holding: &Holding,
    policy: &Policy,
    code_sets: &CodeSets,
    args: &ScrubArgs,
    path: &Path,
) -> Result<Option<Value>> {
    let Some(Origin { tag }) = &claims.origin else {
        return Ok(None);
    };
    let Some((partition, part, parts)) = parse_tag(tag) else {
        bail!(
            "{}: the hidden column `{ORIGIN_PREFIX}{tag}` does not name a partition's part",
            claims.path.display()
        );
    };
    let mut found = vec![0u32; ledger.lines.len()];
    let rx_col = claims
        .headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case("rx_id"));
    // a part's rows are read back a row group at a time: the origin and rx_id columns only
    let mut want = claims
        .parquet()
        .map(|f| f.all())
        .context("a part is Parquet")?;
    want.columns
        .iter_mut()
        .enumerate()
        .for_each(|(c, w)| *w = Some(c) == rx_col);
    let mut rows = claims.rows(Some(want)).context("a part is Parquet")?;
    let mut not_found: Vec<&crate::ledger::Found> = ledger
        .findings
        .iter()
        .filter(|f| f.rule == Rule::RxNotFound)
        .collect();
    not_found.sort_by_key(|f| f.line);
    let mut unsettled: FxHashMap<u32, (String, &str)> = FxHashMap::default();
    for f in &ledger.findings {
        found[f.line as usize] |= 1 << f.rule as u32;
    }
    for f in not_found {
        let row = ledger.lines[f.line as usize].span().0;
        rows.cover(row, row)?;
        let rx = rx_col.map_or(String::new(), |c| {
            rows.group(row).value(row, c).trim().to_string()
        });
        let patient = ledger.text(f.patient_id);
        if f.message != crate::rules::rx_not_found::another_patient(&rx, patient) {
            unsettled.insert(f.line, (rx, patient));
        }
    }
    let file = std::fs::File::create(path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
    w.write_record(PART_LINES_HEADER)?;
    for (i, e) in ledger.lines.iter().enumerate() {
        rows.cover(e.span().0, e.span().0)?;
        let origin = rows
            .origin(e.span().0)
            .with_context(|| format!("{}: a row without its origin", claims.path.display()))?;
        let (rx, patient) = unsettled
            .get(&(i as u32))
            .map_or(("", ""), |(r, p)| (r.as_str(), *p));
        w.write_record([
            origin.to_string().as_str(),
            &holding.decisions[i].to_string(),
            &found[i].to_string(),
            &e.payer.to_string(),
            &e.charge.to_string(),
            ledger.text(e.claim_id),
            rx,
            patient,
        ])
        .with_context(|| format!("{}: write error", path.display()))?;
    }
    w.flush()
        .with_context(|| format!("{}: write error", path.display()))?;
    // lines no loaded code set covers, for the summary's `not_checked`
    let uncovered: Vec<i32> = ledger
        .lines
        .par_iter()
        .filter(|l| !code_sets.for_day(l.date).1)
        .map(|l| l.date)
        .collect();
    let span = uncovered.iter().fold(None, |s: Option<(i32, i32)>, &d| {
        Some(s.map_or((d, d), |(a, b)| (a.min(d), b.max(d))))
    });
    Ok(Some(json!({
        "partition": partition,
        "part": part,
        "parts": parts,
        "profiles": policy.profiles.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        "fail_on_hold": args.fail_on_hold,
        "format": args.format.ext(),
        "defuse_formulas": args.defuse_formulas,
        "lines": ledger.lines.len(),
        "uncovered_lines": uncovered.len(),
        "uncovered_first": span.map(|s| iso(s.0)),
        "uncovered_last": span.map(|s| iso(s.1)),
        "lines_file": PART_LINES,
    })))
}
