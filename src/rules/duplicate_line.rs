//! DUPLICATE_LINE: an earlier line (by claim_id, then line_no as a number, then file order) has the
//! same patient, date, procedure and modifier set (SPEC §5, §8 "Duplicates").

use rayon::prelude::*;

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::base::group::group_by;

pub const RULE: RuleDef = RuleDef {
    id: "DUPLICATE_LINE",
    severity: Severity::Reject,
    carc: "18",
    rarc: "",
    meaning: "an earlier line has the same patient, date, procedure and modifiers",
    check: Check::Batch(check),
    needs: &[],
};

fn check(ctx: &Context) -> Vec<(u32, String)> {
    let (lines, b) = (&ctx.batch.lines, ctx.batch);
    let key = |i: u32| {
        let l = &lines[i as usize];
        (
            b.claim_text(l.patient_id),
            l.date,
            l.cpt.as_str(),
            l.modifiers.as_str(),
        )
    };
    let (_, groups) = group_by(lines.len(), key);
    groups
        .par_iter()
        .filter(|g| g.len() > 1)
        .flat_map_iter(|g| {
            let mut g = g.to_vec();
            // "earlier" = by claim_id, then line_no as a number, then file order
            g.sort_by(|&x, &y| {
                let (lx, ly) = (&lines[x as usize], &lines[y as usize]);
                b.claim_text(lx.claim_id)
                    .cmp(b.claim_text(ly.claim_id))
                    .then_with(|| lx.line_no.cmp(&ly.line_no))
                    .then_with(|| lx.span.0.cmp(&ly.span.0))
            });
            let first = &lines[g[0] as usize];
            let msg = format!(
                "same patient, date, procedure and modifiers as claim {} line {}",
                b.claim_text(first.claim_id),
                first.line_no
            );
            g[1..]
                .iter()
                .map(|&i| (i, msg.clone()))
                .collect::<Vec<_>>()
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
}
