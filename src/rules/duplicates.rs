//! DUPLICATE_LINE: an earlier line (by claim_id, then line_no as a number, then file order) has the
//! same patient, date, procedure and modifier set (SPEC §5, §8 "Duplicates").

use std::hash::{Hash, Hasher};

use rayon::prelude::*;

use super::catalogue::Rule;
use super::{Context, Finding};

pub fn check(ctx: &Context) -> Vec<Finding> {
    let (lines, b) = (&ctx.batch.lines, ctx.batch);
    let key = |i: u32| {
        let l = &lines[i as usize];
        (
            b.c(l.patient_id),
            l.date,
            l.cpt.as_str(),
            l.modifiers.as_str(),
        )
    };
    // lines that may repeat one another share a hash of (patient, date, procedure, modifiers):
    // sorting hashes is cheap, and only runs of equal hashes are compared in full
    let mut hashed: Vec<(u64, u32)> = (0..lines.len() as u32)
        .into_par_iter()
        .map(|i| {
            let mut h = rustc_hash::FxHasher::default();
            key(i).hash(&mut h);
            (h.finish(), i)
        })
        .collect();
    hashed.par_sort_unstable();
    hashed
        .par_chunk_by(|x, y| x.0 == y.0)
        .filter(|run| run.len() > 1)
        .flat_map_iter(|run| {
            let mut run: Vec<u32> = run.iter().map(|(_, i)| *i).collect();
            // "earlier" = by claim_id, then line_no as a number, then file order
            run.sort_by(|&x, &y| {
                let (lx, ly) = (&lines[x as usize], &lines[y as usize]);
                key(x)
                    .cmp(&key(y))
                    .then_with(|| b.c(lx.claim_id).cmp(b.c(ly.claim_id)))
                    .then_with(|| lx.line_no.cmp(&ly.line_no))
                    .then_with(|| lx.span.0.cmp(&ly.span.0))
            });
            let mut out = Vec::new();
            for group in run.chunk_by(|&x, &y| key(x) == key(y)) {
                let first = &lines[group[0] as usize];
                for &i in &group[1..] {
                    let msg = format!(
                        "same patient, date, procedure and modifiers as claim {} line {}",
                        b.c(first.claim_id),
                        first.line_no
                    );
                    out.push(Finding::new(i, Rule::DuplicateLine, msg));
                }
            }
            out
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
        a.modifiers = "59;GP".into();
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
        b.modifiers = "59;GP".into();
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
