//! claimscrub: read → normalise (malformed rows split off) → link (facts) → rules (findings) →
//! ledger → hold → write. `base` is the ground floor every stage builds on.

pub mod base;
pub mod cli;
pub mod commands;
pub mod facts;
pub mod generate;
pub mod hold;
pub mod input;
pub mod ledger;
pub mod model;
pub mod output;
pub mod reference;
pub mod report;
pub mod rules;
pub mod state;

/// With CLAIMSCRUB_TIMING set, print how long the run has taken at this point (for profiling).
pub fn timing(what: &str) {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let start = START.get_or_init(std::time::Instant::now);
    if *ON.get_or_init(|| std::env::var_os("CLAIMSCRUB_TIMING").is_some()) {
        // resident memory now, from /proc (Linux): anonymous (the process's own) and file pages
        // (mapped inputs, which the kernel may drop and read again)
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = |field: &str| -> u64 {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        // CPU time of the process so far (user + system, all threads): beside the wall clock it
        // shows how much of a phase ran on more than one core
        let cpu = {
            let mut u: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: getrusage only writes the struct it is given
            unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
            let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            s(u.ru_utime) + s(u.ru_stime)
        };
        eprintln!(
            "[{:>8.3} s, cpu {cpu:>8.3} s] {what} (RSS {} MB: {} MB own, {} MB mapped files)",
            start.elapsed().as_secs_f64(),
            kb("VmRSS:") >> 10,
            kb("RssAnon:") >> 10,
            kb("RssFile:") >> 10
        );
    }
}
