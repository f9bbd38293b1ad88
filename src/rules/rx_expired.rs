//! RX_EXPIRED: the service is after the end_date of the prescription named, or (none named, none
//! covering) of the patient's latest-ending prescription (SPEC §3, §5).

use super::catalogue::{Check, RuleDef, Severity};
use super::rx_before_start::none_covers;
use super::Context;
use crate::base::values::iso;
use crate::facts::{LineFacts, RxStatus};

pub const RULE: RuleDef = RuleDef {
    id: "RX_EXPIRED",
    severity: Severity::Reject,
    carc: "176",
    rarc: "",
    meaning: "service after the prescription's end_date",
    check: Check::Line(check),
    needs: &[],
};

fn check(ctx: &Context, l: &LineFacts) -> Option<String> {
    let doc = l.doc.filter(|_| l.rx.status == RxStatus::Expired)?;
    Some(format!(
        "service on {} is after {} ended on {}{}",
        iso(l.line.date),
        doc.rx_id,
        iso(doc.end),
        none_covers(ctx, l)
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::dated_rx_case as on;

    #[test]
    fn fires_after_the_end_of_the_one_named_or_of_the_latest() {
        assert_eq!(on("2025-05-10", "RX-1")[0].2, "service on 2025-05-10 is after RX-1 ended on 2025-04-30");
        assert_eq!(
            on("2025-07-01", "")[0].2,
            "service on 2025-07-01 is after RX-2 ended on 2025-06-30, and no prescription of the patient covers that date"
        );
    }

    #[test]
    fn quiet_on_the_end_date() {
        assert!(on("2025-04-30", "RX-1").is_empty());
        assert!(on("2025-06-30", "").is_empty());
    }
}
