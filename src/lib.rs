//! claimscrub: read → normalise (malformed rows split off) → link → rules → hold → write.

pub mod cli;
pub mod commands;
pub mod generate;
pub mod hold;
pub mod input;
pub mod ledger;
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
        // resident memory now, from /proc (Linux); 0 elsewhere
        let rss_mb = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| {
                s.split_whitespace()
                    .nth(1)
                    .and_then(|p| p.parse::<u64>().ok())
            })
            .map(|pages| (pages * 4096) >> 20)
            .unwrap_or(0);
        eprintln!(
            "[{:>8.3} s] {what} (RSS {rss_mb} MB)",
            start.elapsed().as_secs_f64()
        );
    }
}
