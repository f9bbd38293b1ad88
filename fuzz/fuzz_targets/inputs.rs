//! One of the three CSV inputs (plain, gzip or Parquet) fuzzed, the other two the demo's; the first
//! byte chooses which, how it is stored, the encoding and the hold mode.
#![no_main]

use claimscrub::hold::HoldMode;
use claimscrub::input::encoding::Encoding;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&how, body)) = data.split_first() else {
        return;
    };
    let which = (how % 3) as usize;
    let name = ["claims", "sessions", "prescriptions"][which];
    let (file, bytes) = match (how >> 2) & 3 {
        // gzip: the body compressed (a damaged stream is the Parquet case's job)
        1 => {
            use std::io::Write;
            let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(body).unwrap();
            (format!("{name}.csv.gz"), z.finish().unwrap())
        }
        2 => (format!("{name}.parquet"), body.to_vec()),
        _ => (format!("{name}.csv"), body.to_vec()),
    };
    let encoding = match (how >> 4) & 3 {
        1 => Encoding::Latin1,
        2 => Encoding::Cp1252,
        _ => Encoding::Utf8,
    };
    let hold = if how & 64 != 0 { HoldMode::Line } else { HoldMode::Claim };
    let dir = claimscrub_fuzz::scratch("inputs");
    let paths = claimscrub_fuzz::demo_with(&dir, which, &file, &bytes);
    let out = dir.join("out");
    let _ = std::fs::create_dir_all(&out);
    if let Err(e) = claimscrub_fuzz::scrub(&paths, encoding, hold, false, &out) {
        assert!(!format!("{e:#}").is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
});
