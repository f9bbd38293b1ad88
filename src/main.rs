use clap::Parser;

use claimscrub::cli::{Cli, Command};
use claimscrub::commands;

fn main() {
    restore_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scrub(args) => commands::scrub::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::History(args) => commands::history::run(&args),
        Command::Explain(args) => commands::explain::run(&args),
        Command::Partition(args) => commands::partition::run(&args),
        Command::Merge(args) => commands::merge::run(&args),
        Command::Report(args) => commands::report::run(&args),
        Command::Rules => commands::rules::run(),
        Command::Policy => commands::policy::run(),
    };
    let code = result.unwrap_or_else(|e| {
        // one line naming the file and the column or option
        eprintln!("claimscrub: error: {}", format!("{e:#}").replace('\n', " "));
        2
    });
    std::process::exit(code);
}

/// Rust ignores SIGPIPE, so a print into a closed pipe (`claimscrub rules | head -1`) panics;
/// the default action ends the program quietly, as for any Unix filter. Outputs are committed by
/// rename, so a scrub ended this way leaves the earlier outputs whole, as a kill does.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread starts; SIG_DFL is a valid handler
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
