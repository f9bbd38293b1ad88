//! `claimscrub report OUT_DIR [--html FILE]`: the analysts' page of a finished scrub (SPEC §12),
//! built from its outputs by `crate::report`, and a short text summary on stdout.

use std::path::PathBuf;

use anyhow::{Context as _, Result};

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The `--out` folder of a finished scrub (CSV outputs).
    pub out_dir: PathBuf,
    /// Where to write the page (default: OUT_DIR/report.html).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub fn run(args: &ReportArgs) -> Result<i32> {
    let report = crate::report::read(&args.out_dir, &args.out_dir.display().to_string())?;
    let html = args
        .html
        .clone()
        .unwrap_or_else(|| args.out_dir.join(crate::report::PAGE));
    crate::report::write(&report, &html)?;
    let text = crate::report::text::summary(&report, &html.display().to_string());
    // a reader that stops early (`| head`) is not an error
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("writing to standard output")
        }
        _ => Ok(0),
    }
}
