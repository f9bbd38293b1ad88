//! The short text `claimscrub report` prints: the clean-claim rate against the target and the
//! rules to fix first with their held charges.

use super::{Num, Report, TARGET_RATE};

/// Rules listed under "fix first".
const FIRST: usize = 5;

pub fn summary(r: &Report, page: &str) -> String {
    let p = crate::commands::explain::printable;
    let mut out = String::new();
    match &r.rate {
        Some(rate) => {
            let below = rate.f() < TARGET_RATE;
            out += &format!(
                "clean-claim rate {} % ({} the {TARGET_RATE} % target): {} of {} claims clean, {} held\n",
                rate.show(),
                if below {
                    "below"
                } else if rate.f() == TARGET_RATE {
                    "at"
                } else {
                    "above"
                },
                r.claims_clean.show(),
                r.claims_total.show(),
                r.claims_held.show()
            );
        }
        None => out += "no claims read\n",
    }
    out += &format!(
        "held: {} lines, {} in charges ({} lines clean, {} malformed)\n",
        r.lines_held.show(),
        r.held_charges.show(),
        r.lines_clean.show(),
        r.lines_malformed.show()
    );
    if !r.rejects.is_empty() {
        out += "fix first (held charges of the lines each rule fired on):\n";
        let width = r
            .rejects
            .iter()
            .take(FIRST)
            .map(|x| x.id.len())
            .max()
            .unwrap_or(0);
        let money = r
            .rejects
            .iter()
            .take(FIRST)
            .map(|x| x.charges.show().len())
            .max()
            .unwrap_or(0);
        for (i, rule) in r.rejects.iter().take(FIRST).enumerate() {
            out += &format!(
                "  {}. {:<width$}  {:>money$}  {} {}, {} {}\n",
                i + 1,
                rule.id,
                rule.charges.show(),
                rule.lines.show(),
                if rule.lines.v == 1 { "line" } else { "lines" },
                rule.claims.show(),
                if rule.claims.v == 1 {
                    "claim"
                } else {
                    "claims"
                },
            );
        }
        if r.rejects.len() > FIRST {
            out += &format!("  and {} more rules\n", r.rejects.len() - FIRST);
        }
    }
    if let Some(t) = r.therapists.first() {
        out += &format!(
            "most held therapist: {} ({} on {} lines)\n",
            p(&t.npi),
            Num::money(t.held.charges).show(),
            Num::count(t.held.lines).show()
        );
    }
    if !r.warnings.is_empty() {
        let w: Vec<String> = r
            .warnings
            .iter()
            .map(|w| format!("{} {}", w.id, w.lines.show()))
            .collect();
        out += &format!("warnings (not held), lines: {}\n", w.join(", "));
    }
    if !r.not_checked.is_empty() {
        let mut rules: Vec<&str> = r.not_checked.iter().map(|(r, _)| r.as_str()).collect();
        rules.dedup();
        out += &format!("not fully checked: {}\n", rules.join(", "));
    }
    out += &format!("report: {}\n", p(page));
    out
}
