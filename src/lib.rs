//! claimscrub: read → normalise (malformed rows split off) → link → rules → hold → write.

pub mod cli;
pub mod commands;
pub mod generate;
pub mod hold;
pub mod input;
pub mod link;
pub mod model;
pub mod output;
pub mod reference;
pub mod rules;

/// With CLAIMSCRUB_TIMING set, print how long the run has taken at this point (for profiling).
pub fn timing(what: &str) {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let start = START.get_or_init(std::time::Instant::now);
    if *ON.get_or_init(|| std::env::var_os("CLAIMSCRUB_TIMING").is_some()) {
        eprintln!("[{:>8.3} s] {what}", start.elapsed().as_secs_f64());
    }
}
