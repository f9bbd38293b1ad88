//! NCCI_PTP_CONFLICT: CMS's procedure-to-procedure edits and a payer's own pairs (SPEC §9). The
//! column 2 code is not paid beside the column 1 code for one patient on one date by one rendering
//! provider (any claim of the batch), unless the edit's modifier indicator is 1 and either line
//! carries an NCCI-associated modifier. The edit must be in force on the date and apply to the
//! line's payer profile (`ncci = true` for CMS's edits; a pair names its profiles).

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::catalogue::{Check, RuleDef, Severity};
use super::Context;
use crate::base::values::iso;
use crate::model::ClaimLine;
use crate::reference::ncci::{pack, Edit, PackedCode, Source};

pub const RULE: RuleDef = RuleDef {
    id: "NCCI_PTP_CONFLICT",
    severity: Severity::Reject,
    carc: "236",
    rarc: "M80",
    meaning: "an NCCI procedure-to-procedure edit denies the code beside another code of the same patient, date and rendering provider",
    check: Check::Batch(check),
    needs: &[],
};

/// Modifiers that mark a distinct service (NCCI-associated): 59, the X{EPSU} subset, anatomic ones.
const BYPASS: &[&str] = &[
    "59", "XE", "XP", "XS", "XU", "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6",
    "F7", "F8", "F9", "TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LT", "RT", "LC",
    "LD", "RC", "LM", "RI",
];

fn bypasses(line: &ClaimLine) -> bool {
    line.modifiers.split(';').any(|m| BYPASS.contains(&m))
}

fn check(ctx: &Context) -> Vec<(u32, String)> {
    if ctx.ncci.is_empty() {
        return Vec::new();
    }
    let lines = &ctx.batch.lines;
    // the edits among the part's few procedure codes, looked up by pair
    let packed: Vec<PackedCode> = lines
        .par_iter()
        .fold(rustc_hash::FxHashSet::default, |mut set, l| {
            set.extend(pack(&l.cpt));
            set
        })
        .reduce(rustc_hash::FxHashSet::default, |mut a, b| {
            a.extend(b);
            a
        })
        .into_iter()
        .collect();
    let mut pairs: FxHashMap<(PackedCode, PackedCode), Vec<&Edit>> = FxHashMap::default();
    for &c1 in &packed {
        for &c2 in &packed {
            if c1 != c2 {
                let edits = ctx.ncci.of(c1, c2);
                if !edits.is_empty() {
                    pairs.insert((c1, c2), edits.iter().collect());
                }
            }
        }
    }
    if pairs.is_empty() {
        return Vec::new();
    }
    let code = |l: &ClaimLine| pack(&l.cpt);
    ctx.facts
        .visits
        .par_iter()
        .filter(|v| v.lines.len() > 1)
        .flat_map_iter(|visit| {
            let mut out = Vec::new();
            for &i in &visit.lines {
                let line = &lines[i as usize];
                let Some(c2) = code(line) else { continue };
                let profile = line.payer as usize;
                let npi = ctx.batch.claim_text(line.rendering_npi);
                // the first line of the column 1 code (in read order) whose edit applies
                let found = visit.lines.iter().find_map(|&o| {
                    let other = &lines[o as usize];
                    let c1 = code(other)?;
                    if c1 == c2 || ctx.batch.claim_text(other.rendering_npi) != npi {
                        return None;
                    }
                    let edit = pairs.get(&(c1, c2))?.iter().find(|e| {
                        let applies = match e.source {
                            Source::Cms => ctx.policy.profiles[profile].ncci,
                            Source::Policy(p) => {
                                ctx.policy.pairs[p as usize].profiles.contains(&profile)
                            }
                        };
                        applies
                            && e.in_force(line.date)
                            && !(e.indicator == 1 && (bypasses(line) || bypasses(other)))
                    })?;
                    Some((other, *edit))
                });
                if let Some((other, edit)) = found {
                    out.push((i, message(ctx, line, other, edit)));
                }
            }
            out
        })
        .collect()
}

fn message(ctx: &Context, line: &ClaimLine, other: &ClaimLine, edit: &Edit) -> String {
    let source = match edit.source {
        Source::Cms => "NCCI edit".to_string(),
        Source::Policy(_) => format!("{} policy edit", ctx.policy.profiles[line.payer as usize].name),
    };
    let why = if edit.indicator == 0 {
        "no modifier allows it"
    } else {
        "an NCCI-associated modifier (59, XE, XP, XS, XU or anatomic) on either line would allow it"
    };
    format!(
        "{} is not paid with {} on {} ({} line {}); {source}, modifier indicator {}: {why}",
        line.cpt,
        other.cpt,
        iso(line.date),
        ctx.batch.claim_text(other.claim_id),
        other.line_no,
        edit.indicator
    )
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::reference::policy::Policy;
    use crate::rules::Rule;

    const PTP: &str = "Column 1\tColumn 2\t*\tEffective Date\tDeletion Date\tModifier\tRationale\n\
        97140\t97124\t\t20020101\t*\t0\tMisuse\n\
        98940\t97112\t\t20020101\t*\t1\tStandards\n\
        97140\t97530\t\t20020101\t20191231\t1\tMutually exclusive\n";

    fn visit(payer: &str, lines: &[(&str, &str, &str)]) -> Found {
        let lines = lines
            .iter()
            .enumerate()
            .map(|(n, (cpt, modifiers, npi))| {
                let mut l = line("C-1", n as u32 + 1, "P-1", payer, "2025-03-10", cpt, 1, "M54.50");
                l.modifiers = (*modifiers).into();
                l.rendering_npi = text(npi);
                l
            })
            .collect();
        let policy = Policy::builtin();
        run_full(&[Rule::NcciPtpConflict], lines, vec![], vec![], None, &policy, &[PTP])
    }

    #[test]
    fn massage_beside_manual_therapy_is_denied_whatever_the_modifier() {
        let f = visit("medicare", &[("97140", "GP", "1"), ("97124", "59;GP", "1")]);
        assert_eq!(ids(&f), [(1, "NCCI_PTP_CONFLICT")]);
        assert_eq!(
            f[0].2,
            "97124 is not paid with 97140 on 2025-03-10 (C-1 line 1); NCCI edit, modifier indicator 0: no modifier allows it"
        );
    }

    #[test]
    fn indicator_1_is_bypassed_by_a_modifier_on_either_line() {
        assert_eq!(ids(&visit("medicare", &[("98940", "GP", "1"), ("97112", "GP", "1")])).len(), 1);
        assert!(visit("medicare", &[("98940", "GP", "1"), ("97112", "GP;XS", "1")]).is_empty());
        assert!(visit("medicare", &[("98940", "GP;RT", "1"), ("97112", "GP", "1")]).is_empty());
    }

    #[test]
    fn quiet_across_providers_for_other_payers_and_after_deletion() {
        assert!(visit("medicare", &[("97140", "GP", "1"), ("97124", "GP", "2")]).is_empty());
        assert!(visit("commercial", &[("97140", "", "1"), ("97124", "", "1")]).is_empty());
        assert!(visit("medicare", &[("97140", "GP", "1"), ("97530", "GP", "1")]).is_empty());
        assert!(visit("medicare", &[("97124", "GP", "1"), ("97124", "GP", "1")]).is_empty());
    }

    #[test]
    fn a_policy_pair_applies_to_the_profiles_it_names() {
        let policy = Policy::parse(
            "[[pairs]]\ncolumn1 = \"97530\"\ncolumn2 = \"97140\"\nmodifier_indicator = 1\nprofiles = [\"commercial\"]\n",
            "p.toml",
        )
        .unwrap();
        let lines = |payer| {
            vec![
                line("C-1", 1, "P-1", payer, "2025-03-10", "97530", 1, "M54.50"),
                line("C-1", 2, "P-1", payer, "2025-03-10", "97140", 1, "M54.50"),
            ]
        };
        let run = |payer| run_full(&[Rule::NcciPtpConflict], lines(payer), vec![], vec![], None, &policy, &[]);
        let f = run("commercial");
        assert_eq!(ids(&f), [(1, "NCCI_PTP_CONFLICT")]);
        assert!(f[0].2.contains("commercial policy edit, modifier indicator 1"), "{}", f[0].2);
        assert!(run("workers_comp").is_empty());
    }
}
