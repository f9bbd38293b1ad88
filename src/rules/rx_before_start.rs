//! RX_BEFORE_START: the service is before the start_date of the prescription named, or (none
//! named, none covering) of the patient's earliest prescription (SPEC §3, §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::base::values::iso;
use crate::facts::{LineFacts, RxStatus};

pub const RULE: RuleDef = RuleDef {
    id: "RX_BEFORE_START",
    severity: Severity::Reject,
    carc: "174",
    rarc: "",
    meaning: "service before the prescription's start_date",
    check: Check::Line(check),
    needs: &[],
};

fn check(ctx: &Context, l: &LineFacts) -> Option<String> {
    let doc = l.doc.filter(|_| l.rx.status == RxStatus::BeforeStart)?;
    Some(format!(
        "service on {} is before {} starts on {}{}",
        iso(l.line.date),
        doc.rx_id,
        iso(doc.start),
        none_covers(ctx, l)
    ))
}

/// Found by date, not named: say that nothing else covers the service date either.
pub(super) fn none_covers(ctx: &Context, l: &LineFacts) -> &'static str {
    if ctx.batch.rx_id(l.line).is_some() {
        ""
    } else {
        ", and no prescription of the patient covers that date"
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::dated_rx_case as on;

    #[test]
    fn fires_before_the_start_of_the_one_named_or_of_the_earliest() {
        assert_eq!(on("2025-04-10", "RX-2")[0].2, "service on 2025-04-10 is before RX-2 starts on 2025-05-01");
        assert_eq!(
            on("2025-02-10", "")[0].2,
            "service on 2025-02-10 is before RX-1 starts on 2025-03-01, and no prescription of the patient covers that date"
        );
    }

    #[test]
    fn quiet_on_the_start_date() {
        assert!(on("2025-05-01", "RX-2").is_empty());
        assert!(on("2025-05-01", "").is_empty());
    }
}
