//! `claimscrub rules`: the rule catalogue, with the official wording of each CARC and RARC.

use crate::rules::Rule;

pub fn run() -> i32 {
    println!(
        "{:<28} {:<8} {:<5} {:<5} meaning",
        "id", "severity", "carc", "rarc"
    );
    for rule in Rule::all() {
        let r = rule.info();
        let dash = |s: &'static str| if s.is_empty() { "-" } else { s };
        println!(
            "{:<28} {:<8} {:<5} {:<5} {}",
            r.id,
            r.severity.as_str(),
            dash(r.carc),
            dash(r.rarc),
            r.meaning
        );
        let (carc, rarc) = rule.code_texts();
        let indent = " ".repeat(29);
        if !carc.is_empty() {
            println!("{indent}CARC {}: {carc}", r.carc);
        }
        if !rarc.is_empty() {
            println!("{indent}RARC {}: {rarc}", r.rarc);
        }
    }
    0
}
