//! The claims as an 837P, fuzzed; sessions and prescriptions the demo's.
#![no_main]

use claimscrub::hold::HoldMode;
use claimscrub::input::encoding::Encoding;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = claimscrub_fuzz::scratch("x12");
    let paths = claimscrub_fuzz::demo_with(&dir, 0, "claims.837", data);
    let out = dir.join("out");
    let _ = std::fs::create_dir_all(&out);
    if let Err(e) = claimscrub_fuzz::scrub(&paths, Encoding::Utf8, HoldMode::Claim, true, &out) {
        assert!(!format!("{e:#}").is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
});
