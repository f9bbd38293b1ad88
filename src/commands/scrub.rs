//! `claimscrub scrub`: read → normalise → link → rules → hold → write (SPEC §1-§6).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::ScrubArgs;
use crate::facts;
use crate::hold;
use crate::input::{self, table::Format, InputPaths};
use crate::ledger::Ledger;
use crate::output::{summary, tables, Staging};
use crate::reference::icd10::{wellness_prefixes, CodeSets};
use crate::reference::mue::MueTable;
use crate::reference::policy::Policy;
use crate::rules::{self, Context};
use crate::state::State;

/// The file of one input: the flag wins over INPUT_DIR.
pub(crate) fn resolve(
    name: &str,
    flag: &Option<PathBuf>,
    dir: &Option<PathBuf>,
) -> Result<PathBuf> {
    if let Some(p) = flag {
        if !p.is_file() {
            bail!("--{name} {}: no such file", p.display());
        }
        if Format::of(p).is_none() && !(name == "claims" && input::x12::is_x12(p)) {
            bail!(
                "--{name} {}: unknown format (expected .csv, .csv.gz or .parquet{})",
                p.display(),
                if name == "claims" {
                    ", or an X12 837P"
                } else {
                    ""
                }
            );
        }
        return Ok(p.clone());
    }
    let Some(dir) = dir else {
        bail!("no {name} file: give INPUT_DIR or --{name}");
    };
    if !dir.is_dir() {
        bail!("{}: no such folder", dir.display());
    }
    let found: Vec<PathBuf> = ["csv", "csv.gz", "parquet"]
        .iter()
        .chain(if name == "claims" {
            &input::x12::EXTENSIONS[..]
        } else {
            &[]
        })
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .filter(|p| p.is_file())
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "{}: no {name}.csv, {name}.csv.gz or {name}.parquet",
            dir.display()
        ),
        _ => bail!(
            "{}: more than one {name} file; name one with --{name}",
            dir.display()
        ),
    }
}

/// Input bytes a part of the batch may hold by default: the parsed rows and links of a part take
/// about three times its text. Since the next part is read while one is checked, small parts pay:
/// at 10M lines (1.9 GB) 8 parts took 23.9-24.2 s and peaked at 3.8-3.9 GB, 16 parts 22.5-23.3 s
/// and 3.3 GB, 48 to 128 parts 21.4-22.0 s and 3.0-3.1 GB (BENCHMARKS.md); at 1M, 6 parts ran
/// faster than 1 (2.0 against 2.2 s).
const PART_BYTES: u64 = 32 << 20;

struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(show: bool) -> Progress {
        Progress(show.then(|| {
            let pb = ProgressBar::new(7);
            pb.set_style(
                ProgressStyle::with_template("{spinner} [{bar:20}] {pos}/{len} {msg} ({elapsed})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        }))
    }

    /// Room for `n` more steps (each further part is read, linked and checked).
    fn add(&self, n: u64) {
        if let Some(pb) = &self.0 {
            pb.inc_length(n);
        }
    }

    /// A line on stderr, above the bar when there is one (warnings: shown even with --quiet).
    fn println(&self, line: &str) {
        match &self.0 {
            Some(pb) => pb.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn step(&self, msg: impl Into<std::borrow::Cow<'static, str>>) {
        let msg = msg.into();
        crate::timing(&msg);
        if let Some(pb) = &self.0 {
            pb.inc(1);
            pb.set_message(msg);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

pub fn run(args: Box<ScrubArgs>) -> Result<i32> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    crate::timing("start");
    if let Some(n) = args.threads {
        if n == 0 {
            bail!("--threads 0: give at least 1");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("--threads: cannot start the pool")?;
    }
    let paths = InputPaths {
        claims: resolve("claims", &args.claims, &args.input_dir)?,
        sessions: resolve("sessions", &args.sessions, &args.input_dir)?,
        prescriptions: resolve("prescriptions", &args.prescriptions, &args.input_dir)?,
    };
    crate::output::check_out(
        &args.out,
        &[&paths.claims, &paths.sessions, &paths.prescriptions],
    )?;
    // what killed runs left in --out: their staging folders go, an interrupted commit is finished
    for note in crate::output::recover(&args.out)? {
        crate::timing(&note);
    }
    if args.dry_run && args.state.is_none() {
        bail!("--dry-run: give the state to read with --state FILE");
    }
    // the executors of a partition read the state; merge cannot record a run yet (README)
    if args.state.is_some() && !args.dry_run && super::partition::is_part(&paths.claims) {
        bail!(
            "--state: {} is a partition's part, whose scrub reads the state but cannot record its run: add --dry-run",
            paths.claims.display()
        );
    }
    if args.report && args.format != crate::output::OutFormat::Csv {
        bail!("--report: the report is built from the CSV outputs; drop --format parquet, or run claimscrub report on a CSV scrub");
    }
    let progress = Progress::new(!args.quiet && std::io::stderr().is_terminal());

    progress.step("reading reference data");
    let policy = match &args.policy {
        Some(p) => Policy::load(p).with_context(|| format!("--policy {}", p.display()))?,
        None => Policy::builtin(),
    };
    let mue = args.mue.as_deref().map(MueTable::load).transpose()?;
    let ncci = crate::reference::ncci::NcciEdits::load(&args.ncci, &policy.pair_edits())?;
    crate::timing(&format!("NCCI edits loaded: {}", ncci.edits.len()));
    let code_sets = CodeSets::load(&args.icd10)?;
    let wellness = wellness_prefixes();
    let mut state = match &args.state {
        Some(p) => Some(State::open(p, args.dry_run)?),
        None => None,
    };
    // the inputs' SHA-256 for the state's record of the run, beside the scrub
    let hashing = state.as_ref().filter(|s| !s.dry_run).map(|_| {
        let files = [
            paths.claims.clone(),
            paths.sessions.clone(),
            paths.prescriptions.clone(),
        ];
        std::thread::spawn(move || files.map(|f| crate::state::sha256_file(&f)))
    });

    progress.step("reading inputs");
    // an 837P's claims are read from claim rows made of it (SPEC §11), named by the 837P
    let mut x12 = match Format::of(&paths.claims) {
        None => Some(input::x12::X12Claims::read(
            &paths.claims,
            &policy,
            &args.out,
        )?),
        Some(_) => None,
    };
    let mut tables = input::open(&paths, args.encoding, x12.as_ref())?;
    let mut warnings = tables.notes.warnings.clone();
    for w in &warnings {
        progress.println(&format!("warning: {w}"));
    }
    let state_bytes = state.as_ref().map_or(0, |s| s.file_bytes);
    let parts_of = |tables: &input::Tables| match args.parts {
        Some(0) => bail!("--parts 0: give at least 1"),
        Some(n) => Ok(n),
        // the state's earlier lines of a part are read into memory beside the part: they count
        None => Ok((tables.size() + state_bytes).div_ceil(PART_BYTES).max(1) as usize),
    };
    let mut parts = parts_of(&tables)?;
    // Parquet read in parts is read as CSV text made of it once; its size is then known
    if parts > 1 {
        let converted = tables.parquet_to_csv(&args.out)?;
        if !converted.is_empty() {
            crate::timing(&format!("written as CSV text: {}", converted.join(", ")));
            parts = parts_of(&tables)?;
        }
    }
    let index = if parts > 1 {
        progress.add(3 * (parts as u64 - 1));
        let index = tables.index(parts)?;
        crate::timing("records assigned to parts");
        Some(index)
    } else {
        None
    };
    let file_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let input_files = [
        file_name(&paths.claims),
        file_name(&paths.sessions),
        file_name(&paths.prescriptions),
    ];
    // in parts: every part's rx_ids, and the RX_NOT_FOUND findings (index in the ledger) whose
    // number no document of their own part has, told again after the last part
    let mut part_rx_ids: rustc_hash::FxHashSet<crate::model::Code> = Default::default();
    let mut unsettled: Vec<(usize, crate::model::Code)> = Vec::new();
    let mut ledger = Ledger::new(tables.claims.shared_bytes());
    // the ledger's lines in one allocation: grown part by part, its copies on doubling were the
    // largest memmove of a run in parts and raised its peak
    if let Some(index) = &index {
        ledger.reserve(index.table(0).sizes().iter().sum());
    }
    let read = |part: usize| input::read_part(&tables, index.as_ref(), part, &policy);
    let mut ahead = Some(read(0));
    for part in 0..parts {
        let of = if parts > 1 {
            format!(", part {} of {parts}", part + 1)
        } else {
            String::new()
        };
        let batch = ahead
            .take()
            .expect("each part is read before it is scrubbed")?;
        // the next part is read while this one is linked, checked and taken into the ledger: each
        // phase alone leaves one of the two cores idle at its joins and sequential steps; errors
        // still come in part order (this part's before the next one's)
        let (done, next) = rayon::join(
            || -> Result<()> {
                progress.step(format!("linking{of}"));
                let earlier = match &mut state {
                    Some(s) => s.earlier(&batch, &policy)?,
                    None => facts::Earlier::none(),
                };
                crate::timing("earlier runs read");
                let facts = facts::link(&batch, earlier, &policy);
                progress.step(format!("checking rules{of}"));
                let ctx = Context {
                    batch: &batch,
                    facts: &facts,
                    policy: &policy,
                    code_sets: &code_sets,
                    mue: mue.as_ref(),
                    wellness: &wellness,
                    ncci: &ncci,
                };
                // the part's lines are staged for the state beside the rules (SQLite works on
                // one thread)
                let (findings, staged) = std::thread::scope(|s| {
                    let staging = state
                        .as_mut()
                        .map(|st| s.spawn(|| st.stage(&batch, &facts, &policy)));
                    let findings = rules::run_all(&ctx);
                    crate::timing("rules checked");
                    (findings, staging.map(|h| h.join()))
                });
                if let Some(staged) = staged {
                    staged.map_err(|_| anyhow::anyhow!("staging the state failed"))??;
                    crate::timing("lines staged for the state");
                }
                if parts > 1 {
                    let base = ledger.findings.len();
                    unsettled.extend(
                        rules::rx_not_found::unsettled(&ctx, &findings)
                            .into_iter()
                            .map(|(i, rx)| (base + i, rx)),
                    );
                    part_rx_ids.extend(batch.documents.iter().map(|d| d.rx_id.clone()));
                }
                drop(facts);
                ledger.add(batch, findings);
                crate::timing("part done");
                Ok(())
            },
            || {
                (part + 1 < parts).then(|| {
                    progress.step(format!("reading inputs, part {} of {parts}", part + 2));
                    read(part + 1)
                })
            },
        );
        done?;
        ahead = next;
    }
    for (i, rx_id) in unsettled {
        if part_rx_ids.contains(&rx_id) {
            let f = &ledger.findings[i];
            let message = rules::rx_not_found::another_patient(&rx_id, ledger.text(f.patient_id));
            ledger.findings[i].message = message;
        }
    }
    drop((index, part_rx_ids));
    ledger.finish();
    if let Some(x) = &mut x12 {
        x.settle(&policy, &mut ledger)?;
    }
    let tables_absent = tables.notes.absent.clone();
    let claims_table = tables.claims;
    drop((tables.sessions, tables.prescriptions));
    progress.step("holding");
    let holding = hold::decide(&ledger, args.hold);
    for w in input::unknown_payer_warnings(&input_files[0], &ledger.malformed[0], &policy.source) {
        progress.println(&format!("warning: {w}"));
        warnings.push(w);
    }

    progress.step("writing outputs");
    let ext = args.format.ext();
    let mut names: Vec<String> = ["rejections", "clean", "held", "malformed"]
        .iter()
        .map(|n| format!("{n}.{ext}"))
        .chain(["summary.json".to_string()])
        .collect();
    let path_text =
        [&paths.claims, &paths.sessions, &paths.prescriptions].map(|p| p.display().to_string());
    let bytes = [&paths.claims, &paths.sessions, &paths.prescriptions]
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    let run = match hashing {
        Some(h) => {
            let sums = h
                .join()
                .map_err(|_| anyhow::anyhow!("hashing the inputs failed"))?;
            let mut inputs = Vec::new();
            for (i, sum) in sums.into_iter().enumerate() {
                inputs.push(serde_json::json!({
                    "name": input_files[i],
                    "path": path_text[i],
                    "bytes": bytes[i],
                    "sha256": sum.with_context(|| format!("{}: cannot read to hash", path_text[i]))?,
                }));
            }
            Some(crate::state::RunRecord {
                started_at: started_at.clone(),
                inputs: inputs.into(),
            })
        }
        None => None,
    };
    let input = |i: usize| summary::InputFile {
        name: &input_files[i],
        path: &path_text[i],
        bytes: bytes[i],
    };
    let command_line: Vec<String> = std::env::args().collect();
    let facts = summary::RunFacts {
        ledger: &ledger,
        holding: &holding,
        policy: &policy,
        code_sets: &code_sets,
        mue_source: mue.as_ref().map(|m| m.source.as_str()),
        ncci: &ncci,
        inputs: [input(0), input(1), input(2)],
        absent_columns: &tables_absent,
        warnings: &warnings,
        hold: args.hold.name(),
        started_at: &started_at,
        command_line: &command_line,
        state: state.as_ref().map(|s| {
            serde_json::json!({
                "path": s.path.display().to_string(),
                "dry_run": s.dry_run,
                "earlier_lines_read": s.earlier_lines,
                "recorded": !s.dry_run,
            })
        }),
    };
    let staging = Staging::new(&args.out)?;
    // the run is written into the state's open transaction while the outputs are written; it is
    // committed only once they are in place
    let ((a, b), prepared, x12_written, summary) = std::thread::scope(|s| {
        // the summary's counts are one more pass over the ledger: beside the writers, which
        // mostly wait on the kernel's copy into the files
        let summary = s.spawn(|| summary::build(&facts));
        let prepare = match (&mut state, &run) {
            (Some(st), Some(run)) => Some(s.spawn(|| st.prepare(run, &ledger, &holding))),
            _ => None,
        };
        // the 837P outputs beside the others (a walk over the 837P, mostly writing)
        let x12_writing = x12.as_ref().map(|x| {
            s.spawn(|| crate::output::x12::write_outputs(x, &ledger, &holding.decisions, &staging))
        });
        let written = rayon::join(
            || tables::write_rejections(&ledger, &policy, args.format, &staging.path(&names[0])),
            || {
                tables::write_clean_held(
                    &claims_table,
                    &ledger,
                    &holding.decisions,
                    args.format,
                    &staging.path(&names[1]),
                    &staging.path(&names[2]),
                    args.defuse_formulas,
                )?;
                tables::write_malformed(
                    &ledger,
                    args.format,
                    &staging.path(&names[3]),
                    args.defuse_formulas,
                )
            },
        );
        (
            written,
            prepare.map(|h| h.join()),
            x12_writing.map(|h| h.join()),
            summary.join(),
        )
    });
    // a full disk ends the run here: the staging folder goes, the earlier outputs stay whole
    let unwritten = || {
        format!(
            "--out {}: the outputs could not be written (the earlier ones are left as they were)",
            args.out.display()
        )
    };
    a.with_context(unwritten)?;
    b.with_context(unwritten)?;
    // a partition's part: what `merge` needs beside the outputs
    let part = super::partition::part_outputs(
        &claims_table,
        &ledger,
        &holding,
        &policy,
        &code_sets,
        &args,
        &staging.path(super::partition::PART_LINES),
    )
    .with_context(unwritten)?;
    let x12_written = x12_written
        .map(|w| w.map_err(|_| anyhow::anyhow!("writing the 837P outputs failed")))
        .transpose()?
        .transpose()
        .with_context(unwritten)?;
    if let Some(p) = prepared {
        p.map_err(|_| anyhow::anyhow!("recording the run failed"))?
            .context("the nightly state: cannot record the run")?;
    }
    crate::timing("outputs written (and the run prepared in the state)");
    let mut summary = summary.map_err(|_| anyhow::anyhow!("building the summary failed"))?;
    summary::set_elapsed(&mut summary, started.elapsed().as_secs_f64());
    // the exit status follows from the held claims the summary counts
    let held_claims = summary["claims"]["held"].as_u64().unwrap_or(0);
    let exit_status = if args.fail_on_hold && held_claims > 0 {
        1
    } else {
        0
    };
    summary["exit_status"] = exit_status.into();
    let is_part = part.is_some();
    if let Some(part) = part {
        summary["part"] = part;
    }
    if let Some((_, note)) = &x12_written {
        summary["x12"] = note.clone();
    }
    let text = serde_json::to_string_pretty(&summary)? + "\n";
    std::fs::write(staging.path(&names[4]), text)
        .context("summary.json: write error")
        .with_context(unwritten)?;
    if let Some((written, _)) = x12_written {
        // before summary.json, which is moved into place last
        let last = names.len() - 1;
        names.splice(last..last, written);
    }
    if is_part {
        names.insert(names.len() - 1, super::partition::PART_LINES.to_string());
    }
    if args.report {
        // from the staged outputs, so that it appears with them or not at all
        let report = crate::report::read(&staging.path(""), &args.out.display().to_string())?;
        crate::report::write(&report, &staging.path(crate::report::PAGE))?;
        crate::timing("report written");
        let last = names.len() - 1;
        names.insert(last, crate::report::PAGE.to_string());
    }
    // an output of an earlier run that this run did not write again (the other --format's tables,
    // an 837P, a report) goes with the commit: beside these outputs it would tell another run
    staging.commit(&names, crate::output::OUTPUT_NAMES)?;
    if let Some(state) = state {
        progress.step("recording the run in the state");
        state
            .commit()
            .context("the outputs are written, but the run is not recorded in the state")?;
        crate::timing("run recorded");
    }
    progress.step("done");
    drop(progress);

    if !args.quiet {
        eprint!(
            "{}",
            summary::table(
                &summary,
                &args.out.display().to_string(),
                &args.out.join(&names[3]).display().to_string()
            )
        );
    }
    // the process ends here: freeing millions of rows one by one would only cost time
    std::mem::forget((ledger, holding, claims_table));
    Ok(exit_status)
}
