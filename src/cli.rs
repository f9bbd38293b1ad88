//! The command line (SPEC §1).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::hold::HoldMode;
use crate::output::OutFormat;

#[derive(Parser, Debug)]
#[command(
    name = "claimscrub",
    version,
    about = "Scrub massage and manual-therapy claims before they reach a payer"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scrub a batch: claims, sessions and prescriptions in, rejections, clean, held, malformed and summary out.
    Scrub(Box<ScrubArgs>),
    /// Write a synthetic batch with planted defects and the findings they cause (truth.csv).
    Generate(crate::commands::generate::GenerateArgs),
    /// Print the rule catalogue: id, severity, CARC, RARC and meaning.
    Rules,
    /// Print the built-in payer policy as TOML, to copy and edit.
    Policy,
    /// What a nightly state (`scrub --state`) holds: the runs, or one patient's prescriptions and
    /// therapy totals.
    History(HistoryArgs),
    /// One claim of a finished scrub, from its outputs: its lines, each finding with its evidence
    /// and CARC/RARC, and why it went to clean or held.
    Explain(crate::commands::explain::ExplainArgs),
    /// Cut a batch by patient into N parts (Parquet, `part=K/`) for machines to scrub one each.
    Partition(crate::commands::partition::PartitionArgs),
    /// Join the outputs of a partition's parts into those of one scrub of the whole batch.
    #[command(
        long_about = "Join the outputs of a partition's parts into those of one scrub of the whole batch.\n\nclean, held, rejections and malformed are those of `claimscrub scrub` on the whole batch, byte for byte and in the same order. summary.json is the same but for started_at, command_line and elapsed_seconds, which tell the merge: it ran at another time, with another command line, for another while."
    )]
    Merge(crate::commands::merge::MergeArgs),
    /// The analysts' page of a finished scrub (report.html, from its CSV outputs), and a short
    /// text summary: the clean-claim rate against 97 % and what to fix first.
    Report(crate::commands::report::ReportArgs),
}

#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// The state file of `scrub --state`.
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    /// One patient: prescriptions (authorised, used before, recorded visits) and therapy totals by
    /// year against the threshold.
    #[arg(long, value_name = "ID")]
    pub patient: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Print the recorded lines (of `--patient`, or all) as CSV, by claim_id and line_no: every
    /// field a run records, with the outcome and the run.
    #[arg(long, conflicts_with_all = ["json", "prune"])]
    pub lines: bool,
    /// The policy the scrubs ran with (for the therapy thresholds; default: the built-in one).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Remove the lines of service dates before this day (YYYY-MM-DD) and the runs left without
    /// lines, to keep the state bounded.
    #[arg(long, value_name = "DATE")]
    pub prune: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct ScrubArgs {
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
    /// Folder for the outputs (created when missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Payer policy TOML laid over the built-in one: it sets what it names (see `claimscrub policy`).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// A further ICD-10-CM code set: TSV or CMS order file; fiscal year from the name or `FY2027=FILE`.
    #[arg(long, value_name = "[FY=]FILE")]
    pub icd10: Vec<String>,
    /// CMS practitioner MUE table (CSV).
    #[arg(long)]
    pub mue: Option<PathBuf>,
    /// CMS practitioner NCCI procedure-to-procedure edit file (tab- or comma-separated, as CMS
    /// ships it); repeatable.
    #[arg(long, value_name = "FILE")]
    pub ncci: Vec<PathBuf>,
    /// Hold whole claims with a reject finding, or only the lines.
    #[arg(long, value_enum, default_value = "claim")]
    pub hold: HoldMode,
    /// Character encoding of the CSV inputs: utf8, or latin1 / cp1252 for exports written that way
    /// (decoded to UTF-8 as they are read; with utf8, bytes that are not UTF-8 are kept as `\xNN`).
    #[arg(long, value_enum, default_value = "utf8")]
    pub encoding: crate::input::encoding::Encoding,
    /// Format of the output tables.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: OutFormat,
    /// Scrub the batch in N parts by patient, one after another, to bound memory; the outputs are the
    /// same for any N (default: one part per 32 MB of input).
    #[arg(long, value_name = "N")]
    pub parts: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bars and no closing table.
    #[arg(long)]
    pub quiet: bool,
    /// Write the cells of clean, held and malformed that a spreadsheet would run as a formula
    /// (first character = + @ tab CR, or - before no digit) with a leading ', as rejections always
    /// are. Off by default: clean keeps every value as read, for submission.
    #[arg(long)]
    pub defuse_formulas: bool,
    /// Exit with status 1 when at least one claim was held.
    #[arg(long)]
    pub fail_on_hold: bool,
    /// Nightly state (SQLite, created when absent): the lines earlier runs recorded count in this
    /// run (sessions, duplicates, the therapy threshold), and this run's lines are recorded.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// With --state: read the state, record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write report.html, the analysts' page (as `claimscrub report`), with the other outputs.
    #[arg(long)]
    pub report: bool,
}
