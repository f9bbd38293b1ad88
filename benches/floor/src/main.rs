//! Baseline for BENCHMARKS.md: the time polars takes merely to read the three inputs of a batch and
//! write the claims back out, on the same machine and files as `claimscrub scrub`.
//!
//! `cargo run --release -- INPUT_DIR OUT_FILE` in `benches/floor/` (its own project, so that
//! claimscrub's own build does not compile polars).

use std::path::PathBuf;
use std::time::Instant;

use polars::prelude::*;

fn main() -> PolarsResult<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (Some(dir), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: read_write INPUT_DIR OUT_FILE");
        std::process::exit(2);
    };
    let dir = PathBuf::from(dir);
    let start = Instant::now();
    let read = |name: &str| {
        CsvReadOptions::default()
            .with_has_header(true)
            // a batch's malformed values (`two` units, an independent generator's plants) read as
            // null instead of ending the read: claimscrub splits those rows off and goes on too
            .with_ignore_errors(true)
            .try_into_reader_with_file_path(Some(dir.join(name)))?
            .finish()
    };
    let mut claims = read("claims.csv")?;
    let sessions = read("sessions.csv")?;
    let prescriptions = read("prescriptions.csv")?;
    let read_s = start.elapsed().as_secs_f64();
    let mut f = std::fs::File::create(out)?;
    CsvWriter::new(&mut f).finish(&mut claims)?;
    eprintln!(
        "read_write: {} claims, {} sessions, {} prescriptions rows; read {read_s:.2} s, total {:.2} s",
        claims.height(),
        sessions.height(),
        prescriptions.height(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
