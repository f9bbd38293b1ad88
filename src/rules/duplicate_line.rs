//! DUPLICATE_LINE: an earlier line (by claim_id, then line_no as a number, then file order) has the
//! same patient, date, procedure and modifier set (SPEC §5, §8 "Duplicates").

use rayon::prelude::*;

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use smallvec::SmallVec;

pub const RULE: RuleDef = RuleDef {
    id: "DUPLICATE_LINE",
    severity: Severity::Reject,
    carc: "18",
    rarc: "",
    meaning: "an earlier line has the same patient, date, procedure and modifiers",
    check: Check::Batch(check),
    needs: &[],
};

/// Within each visit (the lines of one patient and date, grouped by linking): its lines of the
/// same procedure and modifiers. A visit has a handful of lines, so each visit is sorted on its
/// own instead of hashing every line's texts over the whole batch.
fn check(ctx: &Context) -> Vec<(u32, String)> {
    let (lines, b) = (&ctx.batch.lines, ctx.batch);
    ctx.facts
        .visits
        .par_iter()
        .filter(|v| v.lines.len() > 1)
        .flat_map_iter(|visit| {
            let mut g: SmallVec<[u32; 8]> = visit.lines.iter().copied().collect();
            let procedure = |i: u32| {
                let l = &lines[i as usize];
                (l.cpt.as_str(), l.modifiers.as_str())
            };
            // by procedure and modifiers, then "earlier" = by claim_id, then line_no as a
            // number, then file order
            g.sort_by(|&x, &y| {
                let (lx, ly) = (&lines[x as usize], &lines[y as usize]);
                procedure(x)
                    .cmp(&procedure(y))
                    .then_with(|| b.claim_text(lx.claim_id).cmp(b.claim_text(ly.claim_id)))
                    .then_with(|| lx.line_no.cmp(&ly.line_no))
                    .then_with(|| lx.span.0.cmp(&ly.span.0))
            });
            let mut out = Vec::new();
            for run in g
                .chunk_by(|&x, &y| procedure(x) == procedure(y))
                .filter(|r| r.len() > 1)
            {
                let first = &lines[run[0] as usize];
                let msg = format!(
                    "same patient, date, procedure and modifiers as claim {} line {}",
                    b.claim_text(first.claim_id),
                    first.line_no
                );
                out.extend(run[1..].iter().map(|&i| (i, msg.clone())));
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::rules::Rule;

    #[test]
    fn later_line_by_claim_then_number_is_the_duplicate() {
        let mut a = line("C-2", 10, "P-1", "medicare", "2025-03-10", "97124", 1, "M54.50");
        a.modifiers = "59;GP".into();
        let mut b = line("C-2", 9, "P-1", "medicare", "2025-03-10", "97124", 1, "M54.50");
        b.modifiers = "59;GP".into();
        let c = line("C-1", 1, "P-1", "medicare", "2025-03-10", "97124", 1, "M54.50"); // GP only
        let f = run(&[Rule::DuplicateLine], vec![a, b, c], vec![], vec![]);
        assert_eq!(ids(&f), [(0, "DUPLICATE_LINE")]);
        assert_eq!(f[0].2, "same patient, date, procedure and modifiers as claim C-2 line 9");
    }

    #[test]
    fn each_procedure_of_a_visit_on_its_own_and_other_patients_or_days_stay_quiet() {
        let l = |claim, no, patient, date, cpt| {
            line(claim, no, patient, "medicare", date, cpt, 1, "M54.50")
        };
        let f = run(
            &[Rule::DuplicateLine],
            vec![
                l("C-1", 1, "P-1", "2025-03-10", "97124"),
                l("C-1", 2, "P-1", "2025-03-10", "97140"),
                l("C-1", 3, "P-1", "2025-03-10", "97124"),
                l("C-1", 4, "P-1", "2025-03-10", "97140"),
                l("C-1", 5, "P-1", "2025-03-10", "97124"),
                l("C-2", 1, "P-2", "2025-03-10", "97124"), // another patient
                l("C-3", 1, "P-1", "2025-03-11", "97124"), // another day
            ],
            vec![],
            vec![],
        );
        let mut found: Vec<(u32, &str)> = f.iter().map(|(i, _, m)| (*i, m.as_str())).collect();
        found.sort();
        assert_eq!(
            found,
            [
                (2, "same patient, date, procedure and modifiers as claim C-1 line 1"),
                (3, "same patient, date, procedure and modifiers as claim C-1 line 2"),
                (4, "same patient, date, procedure and modifiers as claim C-1 line 1"),
            ]
        );
    }
}
