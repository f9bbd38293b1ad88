//! The rule catalogue: one row per rule, read by the rules, the writers, the summary and `claimscrub rules`.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Reject,
    Warn,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Reject => "reject",
            Severity::Warn => "warn",
        }
    }
}

/// Every rule of SPEC §5. The discriminant indexes `CATALOGUE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Rule {
    DxMissing,
    DxInvalidFormat,
    DxUnknown,
    DxNotBillable,
    DxCodesetUnavailable,
    WellnessOnly,
    DxNotOnRx,
    RxMissing,
    RxNotFound,
    RxNotAPrescription,
    RxBeforeStart,
    RxExpired,
    RxSessionsExceeded,
    RxFrequencyExceeded,
    RxCptNotAllowed,
    RxModalityMismatch,
    RxPressureContraindicated,
    SessionMissing,
    UnitsInvalid,
    UnitsOverDocumented,
    UnitsUnderDocumented,
    UnitsOverMue,
    ModifierMissing,
    DuplicateLine,
}

pub struct RuleInfo {
    pub rule: Rule,
    pub id: &'static str,
    pub severity: Severity,
    pub carc: &'static str,
    pub rarc: &'static str,
    pub meaning: &'static str,
}

macro_rules! catalogue {
    ($(($rule:ident, $id:literal, $sev:ident, $carc:literal, $rarc:literal, $meaning:literal)),* $(,)?) => {
        pub const CATALOGUE: &[RuleInfo] = &[
            $(RuleInfo { rule: Rule::$rule, id: $id, severity: Severity::$sev, carc: $carc, rarc: $rarc, meaning: $meaning }),*
        ];
    };
}

catalogue![
    (DxMissing, "DX_MISSING", Reject, "16", "MA63", "the line has no diagnosis code"),
    (DxInvalidFormat, "DX_INVALID_FORMAT", Reject, "16", "M76", "a code is not ICD-10-CM syntax: letter, digit, letter/digit, then optionally `.` and 1-4 letters/digits"),
    (DxUnknown, "DX_UNKNOWN", Reject, "146", "M84", "a code is not in the ICD-10-CM code set in effect on the service date"),
    (DxNotBillable, "DX_NOT_BILLABLE", Reject, "16", "M81", "a code exists but is a header, not a billable leaf"),
    (DxCodesetUnavailable, "DX_CODESET_UNAVAILABLE", Warn, "", "", "no loaded code set covers the service date; the nearest one was used"),
    (WellnessOnly, "WELLNESS_ONLY", Reject, "50", "N130", "every billable code of the line is a wellness code (routine exams, counselling, lifestyle, stress)"),
    (DxNotOnRx, "DX_NOT_ON_RX", Reject, "11", "", "none of the line's billable codes is on its prescription (prefix match)"),
    (RxMissing, "RX_MISSING", Reject, "197", "M62", "the patient has no physician document"),
    (RxNotFound, "RX_NOT_FOUND", Reject, "197", "M62", "rx_id names no document of this patient"),
    (RxNotAPrescription, "RX_NOT_A_PRESCRIPTION", Reject, "173", "", "the only documents are a referral or a recommendation"),
    (RxBeforeStart, "RX_BEFORE_START", Reject, "174", "", "service before the prescription's start_date"),
    (RxExpired, "RX_EXPIRED", Reject, "176", "", "service after the prescription's end_date"),
    (RxSessionsExceeded, "RX_SESSIONS_EXCEEDED", Reject, "198", "N54", "the visit is beyond the authorised number of sessions"),
    (RxFrequencyExceeded, "RX_FREQUENCY_EXCEEDED", Reject, "151", "N640", "the visit is beyond frequency_per_week in its Monday-Sunday week"),
    (RxCptNotAllowed, "RX_CPT_NOT_ALLOWED", Reject, "198", "N54", "the procedure is not in the prescription's allowed_cpt"),
    (RxModalityMismatch, "RX_MODALITY_MISMATCH", Reject, "50", "", "the prescription requires a modality and the session documents another"),
    (RxPressureContraindicated, "RX_PRESSURE_CONTRAINDICATED", Reject, "50", "", "the session's pressure exceeds the prescription's max_pressure"),
    (SessionMissing, "SESSION_MISSING", Reject, "16", "M127", "no session documents this patient, date and procedure"),
    (UnitsInvalid, "UNITS_INVALID", Reject, "16", "M53", "units < 1"),
    (UnitsOverDocumented, "UNITS_OVER_DOCUMENTED", Reject, "151", "M53", "more units than the documented minutes support (8-minute / per-code rule)"),
    (UnitsUnderDocumented, "UNITS_UNDER_DOCUMENTED", Warn, "", "", "fewer units than the documented minutes support"),
    (UnitsOverMue, "UNITS_OVER_MUE", Reject, "151", "N362", "units of the code in the visit exceed its MUE"),
    (ModifierMissing, "MODIFIER_MISSING", Reject, "4", "N822", "the payer profile requires a modifier on physical-medicine codes and the line lacks it"),
    (DuplicateLine, "DUPLICATE_LINE", Reject, "18", "", "an earlier line has the same patient, date, procedure and modifiers"),
];

impl Rule {
    pub fn info(self) -> &'static RuleInfo {
        &CATALOGUE[self as usize]
    }
    pub fn id(self) -> &'static str {
        self.info().id
    }
    pub fn severity(self) -> Severity {
        self.info().severity
    }
    pub fn is_reject(self) -> bool {
        self.severity() == Severity::Reject
    }
    pub fn all() -> impl Iterator<Item = Rule> {
        CATALOGUE.iter().map(|r| r.rule)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Official CARC/RARC wording (X12), for `claimscrub rules --codes` and the summary.
pub fn code_text(kind: &str, code: &str) -> Option<&'static str> {
    static TSV: &str = include_str!("../reference/data/carc_rarc.tsv");
    TSV.lines()
        .skip(1)
        .filter_map(|l| {
            let mut it = l.splitn(3, '\t');
            Some((it.next()?, it.next()?, it.next()?))
        })
        .find(|(k, c, _)| *k == kind && *c == code)
        .map(|(_, _, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_indexed_by_rule() {
        assert_eq!(CATALOGUE.len(), 24);
        for (i, info) in CATALOGUE.iter().enumerate() {
            assert_eq!(info.rule as usize, i, "{} out of place", info.id);
        }
    }

    #[test]
    fn every_code_has_its_official_text() {
        for info in CATALOGUE {
            if info.severity == Severity::Warn {
                assert!(info.carc.is_empty() && info.rarc.is_empty(), "{}", info.id);
                continue;
            }
            assert!(
                code_text("CARC", info.carc).is_some(),
                "CARC {} of {}",
                info.carc,
                info.id
            );
            if !info.rarc.is_empty() {
                assert!(
                    code_text("RARC", info.rarc).is_some(),
                    "RARC {} of {}",
                    info.rarc,
                    info.id
                );
            }
        }
    }
}
