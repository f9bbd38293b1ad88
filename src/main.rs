use clap::Parser;

use claimscrub::cli::{Cli, Command};
use claimscrub::commands;

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Scrub(args) => match commands::scrub::run(args) {
            Ok(code) => code,
            Err(e) => {
                // one line naming the file and the column or option
                eprintln!("claimscrub: error: {}", format!("{e:#}").replace('\n', " "));
                2
            }
        },
        Command::Generate(args) => commands::generate::run(args).unwrap_or_else(|e| {
            eprintln!("claimscrub: error: {}", format!("{e:#}").replace('\n', " "));
            2
        }),
        Command::History(args) => commands::history::run(&args).unwrap_or_else(|e| {
            eprintln!("claimscrub: error: {}", format!("{e:#}").replace('\n', " "));
            2
        }),
        Command::Explain(args) => commands::explain::run(&args).unwrap_or_else(|e| {
            eprintln!("claimscrub: error: {}", format!("{e:#}").replace('\n', " "));
            2
        }),
        Command::Partition(args) => commands::partition::run(&args).unwrap_or_else(|e| {
            eprintln!("claimscrub: error: {}", format!("{e:#}").replace('\n', " "));
            2
        }),
        Command::Merge(args) => commands::merge::run(&args).unwrap_or_else(|e| {
            eprintln!("claimscrub: error: {}", format!("{e:#}").replace('\n', " "));
            2
        }),
        Command::Report(args) => commands::report::run(&args).unwrap_or_else(|e| {
            eprintln!("claimscrub: error: {}", format!("{e:#}").replace('\n', " "));
            2
        }),
        Command::Rules => commands::rules::run(),
        Command::Policy => commands::policy::run(),
    };
    std::process::exit(code);
}
