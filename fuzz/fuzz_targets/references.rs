//! The reference loaders: MUE table, NCCI PTP edits, policy TOML, an ICD-10-CM code set (TSV or
//! CMS order file); the first byte chooses. An error is fine, a panic is not.
#![no_main]

use claimscrub::reference::{icd10::CodeSets, mue::MueTable, ncci, policy::Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&how, body)) = data.split_first() else {
        return;
    };
    match how % 4 {
        0 => {
            let _ = MueTable::parse(body, "mue.csv");
        }
        1 => {
            let _ = ncci::parse(body, "ptp.txt");
        }
        2 => {
            if let Ok(text) = std::str::from_utf8(body) {
                if let Ok(p) = Policy::parse(text, "policy.toml") {
                    let _ = p.pair_edits();
                }
            }
        }
        _ => {
            let dir = claimscrub_fuzz::scratch("icd10");
            let name = if how & 4 != 0 { "icd10cm_order_2030.txt" } else { "codes.tsv" };
            let p = dir.join(name);
            std::fs::write(&p, body).unwrap();
            // the file for both built-in years, so that only it is parsed (the built-in sets take
            // half a second to load)
            let _ = CodeSets::load(&[
                format!("FY2025={}", p.display()),
                format!("FY2026={}", p.display()),
            ]);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
});
