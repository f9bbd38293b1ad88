//! The evidence in findings' messages, read back for the report. Each parser follows the wording
//! of the rule file it names and returns `None` for a message it does not recognise (the report
//! counts those instead of guessing). The messages are as written to `rejections.csv`: a message
//! that would start a spreadsheet formula carries a leading `'` (SPEC §8), removed first.

/// `visit 5 of 3 authorised by RX-7 (1 used before this batch)` (src/rules/rx_sessions_exceeded.rs);
/// with the nightly state `(... used before claimscrub, 9 in earlier runs)`.
#[derive(Debug, PartialEq, Eq)]
pub struct Sessions<'a> {
    pub visit: u64,
    pub authorised: u64,
    pub rx_id: &'a str,
    /// What the parenthesis says was counted before this batch, e.g. `1 used before this batch`.
    pub before: &'a str,
}

fn undefuse(m: &str) -> &str {
    m.strip_prefix('\'').unwrap_or(m)
}

pub fn sessions(message: &str) -> Option<Sessions<'_>> {
    let m = undefuse(message).strip_prefix("visit ")?;
    let (visit, m) = m.split_once(" of ")?;
    let (authorised, m) = m.split_once(" authorised by ")?;
    // the rx_id is the input's and may hold anything: the parenthesis is the last one
    let (rx_id, before) = m.strip_suffix(')')?.rsplit_once(" (")?;
    Some(Sessions {
        visit: visit.parse().ok()?,
        authorised: authorised.parse().ok()?,
        rx_id,
        before,
    })
}

/// One header code of a DX_NOT_BILLABLE message: `M54.5 is a header in FY2025; bill M54.50,
/// M54.51 or M54.59` (several codes are joined by `; `; src/rules/dx_not_billable.rs).
#[derive(Debug, PartialEq, Eq)]
pub struct Header<'a> {
    pub code: &'a str,
    pub fiscal_year: i32,
    /// The billable codes to bill instead, as the message lists them.
    pub bill: &'a str,
}

pub fn headers(message: &str) -> Option<Vec<Header<'_>>> {
    let parts: Vec<&str> = undefuse(message).split("; ").collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let (code, fy) = parts[i].split_once(" is a header in FY")?;
        let bill = parts.get(i + 1)?.strip_prefix("bill ")?;
        out.push(Header {
            code,
            fiscal_year: fy.parse().ok()?,
            bill,
        });
        i += 2;
    }
    (!out.is_empty()).then_some(out)
}

/// `M54.999, M79.19 are not in the ICD-10-CM FY2025 code set in effect on 2025-03-10`
/// (src/rules/dx_unknown.rs): the codes and the fiscal year.
pub fn unknown(message: &str) -> Option<(Vec<&str>, i32)> {
    let m = undefuse(message);
    let (codes, rest) = m
        .split_once(" is not in the ICD-10-CM FY")
        .or_else(|| m.split_once(" are not in the ICD-10-CM FY"))?;
    let (fy, _) = rest.split_once(" code set")?;
    Some((codes.split(", ").collect(), fy.parse().ok()?))
}

/// ``` `M54.`, `54X` are not ICD-10-CM syntax (...)``` (src/rules/dx_invalid_format.rs): the codes
/// between backticks.
pub fn invalid(message: &str) -> Option<Vec<&str>> {
    let m = undefuse(message);
    let (list, _) = m
        .split_once(" is not ICD-10-CM syntax")
        .or_else(|| m.split_once(" are not ICD-10-CM syntax"))?;
    let codes: Option<Vec<&str>> = list
        .split(", ")
        .map(|c| c.strip_prefix('`')?.strip_suffix('`'))
        .collect();
    codes.filter(|c| !c.is_empty())
}

/// `97124 is not paid with 97140 on 2025-03-10 (C-1001 line 1); NCCI edit, modifier indicator 0:
/// no modifier allows it` (src/rules/ncci_ptp_conflict.rs).
#[derive(Debug, PartialEq, Eq)]
pub struct Pair<'a> {
    /// The code denied (column 2) and the code paid beside it (column 1).
    pub column2: &'a str,
    pub column1: &'a str,
    /// `NCCI edit` or `<profile> policy edit`.
    pub source: &'a str,
    pub indicator: &'a str,
}

pub fn pair(message: &str) -> Option<Pair<'_>> {
    let m = undefuse(message);
    let (column2, rest) = m.split_once(" is not paid with ")?;
    let (column1, _) = rest.split_once(" on ")?;
    // the claim id in the parenthesis is the input's: the edit's source follows the last `); `
    let (_, tail) = rest.rsplit_once("); ")?;
    let (source, tail) = tail.split_once(", modifier indicator ")?;
    let (indicator, _) = tail.split_once(':')?;
    Some(Pair {
        column2,
        column1,
        source,
        indicator,
    })
}

/// `PT/SLP therapy 2,452.00 this year (2,380.00 before this line) exceeds the 2025 threshold of
/// 2,410.00: add KX` (src/rules/kx_modifier_missing.rs) and `... exceeds the 2025 medical-review
/// threshold of 3,000.00: ...` (src/rules/therapy_review_threshold.rs).
#[derive(Debug, PartialEq, Eq)]
pub struct Therapy<'a> {
    pub bucket: &'a str,
    pub year: i32,
    pub threshold: &'a str,
}

pub fn therapy(message: &str) -> Option<Therapy<'_>> {
    let m = undefuse(message);
    let (bucket, rest) = m.split_once(" therapy ")?;
    let (_, rest) = rest.split_once(") exceeds the ")?;
    let (year, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix("medical-review ").unwrap_or(rest);
    let threshold = rest.strip_prefix("threshold of ")?.split(':').next()?;
    Some(Therapy {
        bucket,
        year: year.parse().ok()?,
        threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_with_and_without_the_state() {
        assert_eq!(
            sessions("visit 5 of 3 authorised by RX-7 (1 used before this batch)"),
            Some(Sessions {
                visit: 5,
                authorised: 3,
                rx_id: "RX-7",
                before: "1 used before this batch"
            })
        );
        let s = sessions(
            "visit 13 of 12 authorised by RX (9) (3 used before claimscrub, 9 in earlier runs)",
        )
        .unwrap();
        assert_eq!(
            (s.rx_id, s.before),
            ("RX (9)", "3 used before claimscrub, 9 in earlier runs")
        );
        assert_eq!(
            sessions("visit x of 3 authorised by RX-7 (0 used before this batch)"),
            None
        );
    }

    #[test]
    fn headers_one_or_several() {
        assert_eq!(
            headers("M54.5 is a header in FY2025; bill M54.50, M54.51 or M54.59"),
            Some(vec![Header {
                code: "M54.5",
                fiscal_year: 2025,
                bill: "M54.50, M54.51 or M54.59"
            }])
        );
        let h = headers("M54.5 is a header in FY2026; bill M54.50, M54.51 or M54.59; M62.83 is a header in FY2026; bill M62.830, M62.831 or M62.838").unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(
            (h[1].code, h[1].bill),
            ("M62.83", "M62.830, M62.831 or M62.838")
        );
        assert_eq!(headers("M54.5 is a header in FY2025"), None);
    }

    #[test]
    fn unknown_and_invalid_codes() {
        assert_eq!(
            unknown("M54.999 is not in the ICD-10-CM FY2025 code set in effect on 2025-03-10"),
            Some((vec!["M54.999"], 2025))
        );
        assert_eq!(
            unknown("M54.99, M79.19 are not in the ICD-10-CM FY2026 code set"),
            Some((vec!["M54.99", "M79.19"], 2026))
        );
        assert_eq!(
            invalid("`M54.`, `54X` are not ICD-10-CM syntax (a letter, a digit, ...)"),
            Some(vec!["M54.", "54X"])
        );
        assert_eq!(
            invalid("`97140` is not ICD-10-CM syntax (...)"),
            Some(vec!["97140"])
        );
    }

    #[test]
    fn ncci_pairs() {
        let p = pair("97124 is not paid with 97140 on 2025-03-10 (C-1001 line 1); NCCI edit, modifier indicator 0: no modifier allows it").unwrap();
        assert_eq!(
            p,
            Pair {
                column2: "97124",
                column1: "97140",
                source: "NCCI edit",
                indicator: "0"
            }
        );
        let p = pair("97140 is not paid with 97530 on 2025-03-10 (C-9); x line 2); commercial policy edit, modifier indicator 1: an NCCI-associated modifier (59, XE, XP, XS, XU or anatomic) on either line would allow it").unwrap();
        assert_eq!((p.source, p.indicator), ("commercial policy edit", "1"));
    }

    #[test]
    fn therapy_thresholds() {
        assert_eq!(
            therapy("PT/SLP therapy 2,452.00 this year (2,380.00 before this line) exceeds the 2025 threshold of 2,410.00: add KX"),
            Some(Therapy { bucket: "PT/SLP", year: 2025, threshold: "2,410.00" })
        );
        assert_eq!(
            therapy("OT therapy 3,010.00 this year (2,990.00 before this line) exceeds the 2026 medical-review threshold of 3,000.00: claims may go to targeted medical review"),
            Some(Therapy { bucket: "OT", year: 2026, threshold: "3,000.00" })
        );
    }
}
