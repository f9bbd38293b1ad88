//! RX_FREQUENCY_EXCEEDED: the visit is beyond the prescription's frequency_per_week in its
//! Monday-to-Sunday week (SPEC §3 "Sessions counted", §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::base::values::{iso, week_of};
use crate::facts::LineFacts;

pub const RULE: RuleDef = RuleDef {
    id: "RX_FREQUENCY_EXCEEDED",
    severity: Severity::Reject,
    carc: "151",
    rarc: "N640",
    meaning: "the visit is beyond frequency_per_week in its Monday-Sunday week",
    check: Check::Line(check),
    needs: &[&["prescriptions.frequency_per_week"]],
};

fn check(_: &Context, l: &LineFacts) -> Option<String> {
    let doc = l.doc?;
    let freq = doc.frequency_per_week?;
    let in_week = l.counted.in_week;
    (in_week > freq).then(|| {
        format!(
            "visit {in_week} in the week of {} (Monday to Sunday); {} allows {freq} a week",
            iso(week_of(l.line.date)),
            doc.rx_id
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::rules::Rule;

    fn visits(dates: &[&str]) -> Vec<(u32, &'static str, String)> {
        let mut rx = prescription("RX-1", "P-1", "M54.50", 20, "2025-03-01", "2025-04-30");
        rx.frequency_per_week = Some(2);
        rx.sessions_used = 5;
        let lines = dates
            .iter()
            .map(|d| line("C-1", 1, "P-1", "commercial", d, "97124", 1, "M54.50"))
            .collect();
        run(&[Rule::RxFrequencyExceeded], lines, vec![], vec![rx])
    }

    #[test]
    fn fires_on_the_third_visit_of_a_monday_to_sunday_week() {
        let f = visits(&["2025-03-10", "2025-03-12", "2025-03-16", "2025-03-17"]); // Mon, Wed, Sun, next Mon
        assert_eq!(ids(&f), [(2, "RX_FREQUENCY_EXCEEDED")]);
        assert_eq!(f[0].2, "visit 3 in the week of 2025-03-10 (Monday to Sunday); RX-1 allows 2 a week");
    }

    #[test]
    fn quiet_when_the_weeks_split_the_visits() {
        assert!(visits(&["2025-03-15", "2025-03-16", "2025-03-17"]).is_empty()); // Sat, Sun, Mon
    }
}
