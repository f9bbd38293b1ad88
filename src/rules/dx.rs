//! Diagnosis-code rules: DX_MISSING, DX_INVALID_FORMAT, DX_UNKNOWN, DX_NOT_BILLABLE,
//! DX_CODESET_UNAVAILABLE, WELLNESS_ONLY and DX_NOT_ON_RX (SPEC §5, §8 "Diagnosis codes").

use rayon::prelude::*;

use super::catalogue::Rule;
use super::{or_list, Context, Finding};
use crate::input::values::{codes, fiscal_year, icd_display, icd_format_ok, icd_key, iso};
use crate::model::Code;
use crate::reference::icd10::Lookup;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let docs = &ctx.batch.documents;
    ctx.batch
        .lines
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, line)| {
            let i = i as u32;
            let mut out = Vec::new();
            let codes: smallvec::SmallVec<[Code; 3]> = codes(ctx.batch.c(line.diagnosis_codes)).collect();
            if codes.is_empty() {
                out.push(Finding::new(i, Rule::DxMissing, "the line points to no diagnosis code".into()));
                return out;
            }
            let (set_idx, covered) = ctx.code_sets.for_day(line.date);
            let set = &ctx.code_sets.sets[set_idx];
            type Few<T> = smallvec::SmallVec<[T; 3]>;
            let mut invalid: Few<&str> = Few::new();
            let mut unknown: Few<&str> = Few::new();
            let mut headers: Few<(&str, Code)> = Few::new();
            let mut billable: Few<(&str, Code)> = Few::new();
            for code in &codes {
                if !icd_format_ok(code) {
                    invalid.push(code.as_str());
                    continue;
                }
                let key = icd_key(code);
                match set.lookup(&key) {
                    Lookup::Billable => billable.push((code.as_str(), key)),
                    Lookup::Header => headers.push((code.as_str(), key)),
                    Lookup::Unknown => unknown.push(code.as_str()),
                }
            }
            if !invalid.is_empty() {
                let msg = format!(
                    "{} {} not ICD-10-CM syntax (a letter, a digit, a letter or digit, then up to 4 letters or digits after an optional dot)",
                    quoted(&invalid),
                    if invalid.len() == 1 { "is" } else { "are" }
                );
                out.push(Finding::new(i, Rule::DxInvalidFormat, msg));
            }
            if !unknown.is_empty() {
                let msg = format!(
                    "{} {} not in the ICD-10-CM FY{} code set{}",
                    unknown.join(", "),
                    if unknown.len() == 1 { "is" } else { "are" },
                    set.fiscal_year,
                    if covered { format!(" in effect on {}", iso(line.date)) } else { String::new() }
                );
                out.push(Finding::new(i, Rule::DxUnknown, msg));
            }
            if !headers.is_empty() {
                let parts: Vec<String> = headers
                    .iter()
                    .map(|(code, key)| {
                        let children = set.billable_children(key);
                        let shown: Vec<String> = children.iter().take(5).map(|c| icd_display(c)).collect();
                        let more = if children.len() > 5 { format!(" (or one of {} more)", children.len() - 5) } else { String::new() };
                        format!("{code} is a header in FY{}; bill {}{more}", set.fiscal_year, or_list(&shown))
                    })
                    .collect();
                out.push(Finding::new(i, Rule::DxNotBillable, parts.join("; ")));
            }
            if !covered && billable.len() + headers.len() + unknown.len() > 0 {
                let msg = format!(
                    "no loaded ICD-10-CM code set covers {} (FY{}); the codes were checked against FY{} — load it with --icd10",
                    iso(line.date),
                    fiscal_year(line.date),
                    set.fiscal_year
                );
                out.push(Finding::new(i, Rule::DxCodesetUnavailable, msg));
            }
            if billable.is_empty() {
                return out;
            }
            // WELLNESS_ONLY and DX_NOT_ON_RX judge only the billable codes
            if billable.iter().all(|(_, key)| ctx.wellness.iter().any(|p| key.starts_with(p.as_str()))) {
                let codes: Vec<&str> = billable.iter().map(|(c, _)| *c).collect();
                let msg = format!(
                    "{} {} wellness code{} only (routine exam, counselling, lifestyle or stress): not medically necessary",
                    codes.join(", "),
                    if codes.len() == 1 { "is a" } else { "are" },
                    if codes.len() == 1 { "" } else { "s" }
                );
                out.push(Finding::new(i, Rule::WellnessOnly, msg));
            }
            if let Some(d) = ctx.links.rx[i as usize].doc {
                let doc = &docs[d as usize];
                let on_rx = billable.iter().any(|(_, key)| doc.diagnosis_keys.iter().any(|rx| key.starts_with(rx.as_str())));
                if !on_rx {
                    let codes: Vec<&str> = billable.iter().map(|(c, _)| *c).collect();
                    let rx_codes: Vec<String> = doc.diagnosis_keys.iter().map(|k| icd_display(k)).collect();
                    let msg = format!(
                        "{} {} not on {}, which names {}",
                        or_list(&codes),
                        if codes.len() == 1 { "is" } else { "are" },
                        doc.rx_id,
                        rx_codes.join(", ")
                    );
                    out.push(Finding::new(i, Rule::DxNotOnRx, msg));
                }
            }
            out
        })
        .collect()
}

fn quoted(codes: &[&str]) -> String {
    codes
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn run_dx(dx: &str, date: &str, rx_dx: &str) -> Vec<(u32, &'static str, String)> {
        let l = line("C-1", 1, "P-1", "commercial", date, "97124", 1, dx);
        let docs = vec![prescription(
            "RX-1",
            "P-1",
            rx_dx,
            10,
            "2024-10-01",
            "2026-12-31",
        )];
        run(check, vec![l], vec![], docs)
    }

    #[test]
    fn missing_codes_fire_dx_missing_only() {
        assert_eq!(
            ids(&run_dx("", "2025-03-10", "M54.50")),
            [(0, "DX_MISSING")]
        );
    }

    #[test]
    fn clean_codes_stay_quiet_with_or_without_dot() {
        assert!(run_dx("M54.50", "2025-03-10", "M54.50").is_empty());
        assert!(run_dx("m5450 ; M54.2", "2025-03-10", "M54").is_empty());
    }

    #[test]
    fn header_names_its_billable_children() {
        let f = run_dx("M54.5", "2025-03-10", "M54.5");
        assert_eq!(ids(&f), [(0, "DX_NOT_BILLABLE")]);
        assert_eq!(
            f[0].2,
            "M54.5 is a header in FY2025; bill M54.50, M54.51 or M54.59"
        );
    }

    #[test]
    fn bad_format_is_not_looked_up() {
        assert_eq!(
            ids(&run_dx("M54.", "2025-03-10", "M54")),
            [(0, "DX_INVALID_FORMAT")]
        );
        assert_eq!(
            ids(&run_dx("M54.999", "2025-03-10", "M54")),
            [(0, "DX_UNKNOWN")]
        );
    }

    #[test]
    fn codeset_unavailable_warns_and_uses_the_nearest() {
        let f = run_dx("M54.50", "2026-10-15", "M54.50");
        assert_eq!(ids(&f), [(0, "DX_CODESET_UNAVAILABLE")]);
        assert!(
            f[0].2.contains("FY2027") && f[0].2.contains("checked against FY2026"),
            "{}",
            f[0].2
        );
    }

    #[test]
    fn wellness_only_judges_billable_codes() {
        assert_eq!(
            ids(&run_dx("Z73.3", "2025-03-10", "Z73.3")),
            [(0, "WELLNESS_ONLY")]
        );
        assert!(run_dx("Z73.3;M54.50", "2025-03-10", "M54.50").is_empty());
        // M54.5 is not billable: the wellness code alone is judged
        assert_eq!(
            ids(&run_dx("Z73.3;M54.5", "2025-03-10", "Z73")),
            [(0, "DX_NOT_BILLABLE"), (0, "WELLNESS_ONLY")]
        );
    }

    #[test]
    fn not_on_rx_matches_prescription_codes_as_prefixes() {
        assert!(run_dx("M54.50", "2025-03-10", "M54").is_empty());
        assert_eq!(
            ids(&run_dx("M54.2", "2025-03-10", "M54.50")),
            [(0, "DX_NOT_ON_RX")]
        );
        // a line without billable codes is not judged
        assert_eq!(
            ids(&run_dx("M54.5", "2025-03-10", "S13.4XXA")),
            [(0, "DX_NOT_BILLABLE")]
        );
    }
}
