//! `claimscrub rules`: the rule catalogue.

use crate::rules::RULES;

pub fn run() -> i32 {
    println!(
        "{:<28} {:<8} {:<5} {:<5} meaning",
        "id", "severity", "carc", "rarc"
    );
    for r in RULES {
        let dash = |s: &'static str| if s.is_empty() { "-" } else { s };
        println!(
            "{:<28} {:<8} {:<5} {:<5} {}",
            r.id,
            r.severity.as_str(),
            dash(r.carc),
            dash(r.rarc),
            r.meaning
        );
    }
    0
}
