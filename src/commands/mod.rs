//! One module per subcommand.

pub mod explain;
pub mod generate;
pub mod history;
pub mod merge;
pub mod partition;
pub mod policy;
pub mod report;
pub mod rules;
pub mod scrub;

/// A command's printed output, written whole: a write error (a full disk under `> FILE`) is an
/// error naming standard output rather than the panic of `print!`. A closed pipe ends the program
/// by SIGPIPE before the error comes back (see main).
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .context("standard output: write error")
}
