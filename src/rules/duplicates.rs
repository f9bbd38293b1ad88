//! DUPLICATE_LINE: an earlier line (by claim_id, then line_no as a number, then file order) has the
//! same patient, date, procedure and modifier set (SPEC §5, §8 "Duplicates").

use rayon::prelude::*;

use super::catalogue::Rule;
use super::{Context, Finding};

pub fn check(ctx: &Context) -> Vec<Finding> {
    let lines = &ctx.batch.lines;
    let mut order: Vec<u32> = (0..lines.len() as u32).collect();
    // modifiers are stored sorted and without repeats, so comparing them compares the sets
    order.par_sort_unstable_by(|&a, &b| {
        let (x, y) = (&lines[a as usize], &lines[b as usize]);
        (
            &x.patient_id,
            x.date,
            &x.cpt,
            &x.modifiers,
            &x.claim_id,
            x.line_no,
            x.seq,
        )
            .cmp(&(
                &y.patient_id,
                y.date,
                &y.cpt,
                &y.modifiers,
                &y.claim_id,
                y.line_no,
                y.seq,
            ))
    });
    let same = |a: u32, b: u32| {
        let (x, y) = (&lines[a as usize], &lines[b as usize]);
        x.patient_id == y.patient_id
            && x.date == y.date
            && x.cpt == y.cpt
            && x.modifiers == y.modifiers
    };
    order
        .par_chunk_by(|&a, &b| same(a, b))
        .flat_map_iter(|group| {
            let first = &lines[group[0] as usize];
            group[1..].iter().map(move |&i| {
                let msg = format!(
                    "same patient, date, procedure and modifiers as claim {} line {}",
                    first.claim_id, first.line_no
                );
                Finding::new(i, Rule::DuplicateLine, msg)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn later_line_by_claim_then_number_is_the_duplicate() {
        let mut a = line(
            "C-2",
            10,
            "P-1",
            "medicare",
            "2025-03-10",
            "97124",
            1,
            "M54.50",
        );
        a.modifiers = vec!["59".into(), "GP".into()];
        let mut b = line(
            "C-2",
            9,
            "P-1",
            "medicare",
            "2025-03-10",
            "97124",
            1,
            "M54.50",
        );
        b.modifiers = vec!["59".into(), "GP".into()];
        let c = line(
            "C-1",
            1,
            "P-1",
            "medicare",
            "2025-03-10",
            "97124",
            1,
            "M54.50",
        ); // GP only
        let f = run(check, vec![a, b, c], vec![], vec![]);
        assert_eq!(ids(&f), [(0, "DUPLICATE_LINE")]);
        assert_eq!(
            f[0].2,
            "same patient, date, procedure and modifiers as claim C-2 line 9"
        );
    }
}
