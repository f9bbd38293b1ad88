//! `claimscrub rules`: the rule catalogue, with the official wording of each CARC and RARC.

use std::fmt::Write as _;

use crate::rules::Rule;

pub fn run() -> anyhow::Result<i32> {
    let mut out = String::new();
    writeln!(
        out,
        "{:<28} {:<8} {:<5} {:<5} meaning",
        "id", "severity", "carc", "rarc"
    )?;
    for rule in Rule::all() {
        let r = rule.info();
        let dash = |s: &'static str| if s.is_empty() { "-" } else { s };
        writeln!(
            out,
            "{:<28} {:<8} {:<5} {:<5} {}",
            r.id,
            r.severity.as_str(),
            dash(r.carc),
            dash(r.rarc),
            r.meaning
        )?;
        let (carc, rarc) = rule.code_texts();
        let indent = " ".repeat(29);
        if !carc.is_empty() {
            writeln!(out, "{indent}CARC {}: {carc}", r.carc)?;
        }
        if !rarc.is_empty() {
            writeln!(out, "{indent}RARC {}: {rarc}", r.rarc)?;
        }
    }
    super::write_stdout(&out)?;
    Ok(0)
}
