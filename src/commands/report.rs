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
    // the page must not take the place of an output it was built from
    let name = html.file_name().unwrap_or_default().to_string_lossy();
    let beside = html
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                p
            }
        })
        .and_then(|p| p.canonicalize().ok());
    if beside == args.out_dir.canonicalize().ok() && !name.ends_with(".html") {
        anyhow::bail!(
            "--html {}: a page in the outputs folder must be named *.html, not over an output",
            html.display()
        );
    }
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
