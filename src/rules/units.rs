//! Unit rules: UNITS_INVALID, UNITS_OVER_DOCUMENTED, UNITS_UNDER_DOCUMENTED (SPEC §4: CMS 8-minute
//! rule and the AMA per-code rule) and UNITS_OVER_MUE.

use rayon::prelude::*;

use super::catalogue::Rule;
use super::{Context, Finding};
use crate::link::Visit;
use crate::model::Code;

type Few<T> = smallvec::SmallVec<[T; 4]>;

/// Billed units per code of one visit (a handful of codes: a linear search beats a map).
#[derive(Default)]
struct Billed<'a>(Few<(&'a str, i64)>);

impl<'a> Billed<'a> {
    fn add(&mut self, cpt: &'a str, units: i64) {
        match self.0.iter_mut().find(|(c, _)| *c == cpt) {
            Some((_, u)) => *u += units,
            None => self.0.push((cpt, units)),
        }
    }

    fn get(&self, cpt: &str) -> i64 {
        self.0
            .iter()
            .find(|(c, _)| *c == cpt)
            .map(|(_, u)| *u)
            .unwrap_or(0)
    }

    fn iter(&self) -> impl Iterator<Item = (&'a str, i64)> + '_ {
        self.0.iter().copied()
    }
}
use crate::reference::policy::{Profile, UnitRule};

/// Units that `m` minutes of one code support on their own: 8 minutes or more per unit.
pub fn per_code_units(m: i64) -> i64 {
    if m < 8 {
        0
    } else {
        (m + 7) / 15
    }
}

/// The CMS 8-minute rule over the timed minutes of one visit.
#[derive(Debug)]
pub struct CmsPool {
    /// T: the visit's timed minutes.
    pub total_minutes: i64,
    /// U: the units T supports.
    pub total_units: i64,
    /// Per code: (code, minutes, full units, maximum units).
    pub codes: Few<(Code, i64, i64, i64)>,
}

impl CmsPool {
    pub fn new(documented: &[(Code, i64)]) -> CmsPool {
        let total_minutes: i64 = documented.iter().map(|(_, m)| m).sum();
        let total_units = per_code_units(total_minutes);
        let full_sum: i64 = documented.iter().map(|(_, m)| m / 15).sum();
        let remaining = (total_units - full_sum).max(0) as usize;
        let mut leftovers: Few<i64> = documented.iter().map(|(_, m)| m % 15).collect();
        leftovers.sort_unstable_by(|a, b| b.cmp(a));
        // a code whose leftover reaches the R-th largest may take a remainder unit (ties: provider's choice)
        let threshold = if remaining >= 1 {
            leftovers.get(remaining - 1).copied()
        } else {
            None
        };
        let codes = documented
            .iter()
            .map(|(c, m)| {
                let full = m / 15;
                let extra = matches!(threshold, Some(t) if m % 15 >= t && m % 15 > 0);
                (c.clone(), *m, full, full + extra as i64)
            })
            .collect();
        CmsPool {
            total_minutes,
            total_units,
            codes,
        }
    }

    fn code(&self, cpt: &str) -> Option<&(Code, i64, i64, i64)> {
        self.codes.iter().find(|c| c.0 == cpt)
    }
}

fn n_units(n: i64) -> String {
    if n == 1 {
        "1 unit".into()
    } else {
        format!("{n} units")
    }
}

pub fn check(ctx: &Context) -> Vec<Finding> {
    let lines = &ctx.batch.lines;
    let invalid = lines
        .par_iter()
        .enumerate()
        .filter(|(_, l)| l.units < 1)
        .map(|(i, l)| {
            Finding::new(
                i as u32,
                Rule::UnitsInvalid,
                format!(
                    "{} billed with {} units: at least 1 is needed",
                    l.cpt, l.units
                ),
            )
        });
    let by_visit = ctx
        .links
        .visits
        .par_iter()
        .flat_map_iter(|v| check_visit(ctx, v));
    invalid.chain(by_visit).collect()
}

fn check_visit(ctx: &Context, visit: &Visit) -> Vec<Finding> {
    let (lines, links) = (&ctx.batch.lines, ctx.links);
    // billed lines: units ≥ 1 and documented in a session (SPEC §8 "Units")
    let billed_lines: Few<u32> = visit
        .lines
        .iter()
        .copied()
        .filter(|&i| lines[i as usize].units >= 1 && links.documented_of[i as usize].is_some())
        .collect();
    if billed_lines.is_empty() {
        return Vec::new();
    }
    let mut billed = Billed::default();
    for &i in &billed_lines {
        billed.add(lines[i as usize].cpt.as_str(), lines[i as usize].units);
    }
    let documented: Few<(Code, i64)> = visit
        .documented
        .iter()
        .map(|&d| {
            (
                links.documented.entries[d as usize].cpt(ctx.batch).clone(),
                links.documented.entries[d as usize].minutes,
            )
        })
        .collect();
    let minutes_of = |cpt: &str| {
        documented
            .iter()
            .find(|(c, _)| c == cpt)
            .map(|(_, m)| *m)
            .unwrap_or(0)
    };

    let mut out = Vec::new();
    // each line follows its own payer's profile; profiles of one visit are few
    let mut payers: Few<u8> = billed_lines
        .iter()
        .map(|&i| lines[i as usize].payer)
        .collect();
    payers.sort_unstable();
    payers.dedup();
    for payer in payers {
        let profile = &ctx.policy.profiles[payer as usize];
        let mine = billed_lines
            .iter()
            .copied()
            .filter(|&i| lines[i as usize].payer == payer);
        match profile.unit_rule {
            UnitRule::PerCode => {
                for i in mine {
                    let cpt = lines[i as usize].cpt.as_str();
                    let b = billed.get(cpt);
                    if !profile.timed.contains(cpt) {
                        untimed(&mut out, i, cpt, b);
                        continue;
                    }
                    let m = minutes_of(cpt);
                    let expected = per_code_units(m);
                    let msg = |word: &str| {
                        let word = if word.is_empty() {
                            String::new()
                        } else {
                            format!("{word} ")
                        };
                        format!("{cpt}: {m} min documented supports {word}{}, {b} billed (per-code rule: 8 minutes or more for each unit)", n_units(expected))
                    };
                    if b > expected {
                        out.push(Finding::new(i, Rule::UnitsOverDocumented, msg("at most")));
                    } else if b < expected {
                        out.push(Finding::new(i, Rule::UnitsUnderDocumented, msg("")));
                    }
                }
            }
            UnitRule::Cms => cms(&mut out, ctx, profile, mine.collect(), &billed, &documented),
        }
    }
    mue(&mut out, ctx, &billed_lines, &billed);
    out
}

fn untimed(out: &mut Vec<Finding>, i: u32, cpt: &str, billed: i64) {
    if billed > 1 {
        let msg = format!("{cpt} is untimed: 1 unit per visit, {billed} billed");
        out.push(Finding::new(i, Rule::UnitsOverDocumented, msg));
    }
}

fn cms(
    out: &mut Vec<Finding>,
    ctx: &Context,
    profile: &Profile,
    mine: Few<u32>,
    billed: &Billed,
    documented: &[(Code, i64)],
) {
    let lines = &ctx.batch.lines;
    // the pool counts every timed code documented that day, billed or not
    let timed_documented: Few<(Code, i64)> = documented
        .iter()
        .filter(|(c, _)| profile.timed.contains(c))
        .cloned()
        .collect();
    let pool = CmsPool::new(&timed_documented);
    let billed_timed: i64 = billed
        .iter()
        .filter(|(c, _)| profile.timed.contains(c))
        .map(|(_, b)| b)
        .sum();
    let over_max = |cpt: &str| {
        pool.code(cpt)
            .map(|c| billed.get(cpt) > c.3)
            .unwrap_or(false)
    };
    let any_over_max = billed
        .iter()
        .any(|(c, _)| profile.timed.contains(c) && over_max(c));
    let (t, u) = (pool.total_minutes, pool.total_units);
    for i in mine {
        let cpt = lines[i as usize].cpt.as_str();
        let b = billed.get(cpt);
        if !profile.timed.contains(cpt) {
            untimed(out, i, cpt, b);
            continue;
        }
        let Some(&(_, m, full, max)) = pool.code(cpt) else {
            continue;
        };
        if b > max {
            let msg = format!("{cpt}: {m} min documented supports at most {}, {b} billed (CMS 8-minute rule, visit total {t} min)", n_units(max));
            out.push(Finding::new(i, Rule::UnitsOverDocumented, msg));
        } else if !any_over_max && billed_timed > u && b > full {
            let msg = format!(
                "{cpt}: the visit's {t} timed minutes support {} in all, {billed_timed} billed; {cpt}'s {m} min give {} and its remainder unit is one too many (CMS 8-minute rule)", n_units(u), n_units(full)
            );
            out.push(Finding::new(i, Rule::UnitsOverDocumented, msg));
        }
        if billed_timed < u {
            let msg = format!("the visit's {t} timed minutes support {}, {billed_timed} billed (CMS 8-minute rule)", n_units(u));
            out.push(Finding::new(i, Rule::UnitsUnderDocumented, msg));
        }
    }
}

fn mue(out: &mut Vec<Finding>, ctx: &Context, billed_lines: &[u32], billed: &Billed) {
    let lines = &ctx.batch.lines;
    for &i in billed_lines {
        let l = &lines[i as usize];
        let profile = &ctx.policy.profiles[l.payer as usize];
        let (limit, source) = match profile.mue.get(l.cpt.as_str()) {
            Some(v) => (*v, format!("{} policy", profile.name)),
            None => match ctx.mue.and_then(|t| t.values.get(l.cpt.as_str())) {
                Some(v) => (*v, "MUE table".to_string()),
                None => continue,
            },
        };
        let b = billed.get(l.cpt.as_str());
        if b > limit {
            let msg = format!(
                "{}: {b} units billed for the patient that day, MUE {limit} ({source})",
                l.cpt
            );
            out.push(Finding::new(i, Rule::UnitsOverMue, msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::reference::mue::MueTable;

    fn pool(codes: &[(&str, i64)]) -> Vec<i64> {
        let d: Vec<(Code, i64)> = codes.iter().map(|(c, m)| (Code::from(*c), *m)).collect();
        CmsPool::new(&d).codes.iter().map(|c| c.3).collect()
    }

    #[test]
    fn cms_worked_examples_maximum_units() {
        assert_eq!(pool(&[("97112", 24), ("97110", 23)]), [2, 1]);
        assert_eq!(pool(&[("97110", 20), ("97140", 20)]), [2, 2]); // tie: either may take the remainder
        assert_eq!(pool(&[("97110", 33), ("97140", 7)]), [2, 1]);
        assert_eq!(
            pool(&[("97110", 18), ("97140", 13), ("97116", 10), ("97035", 8)]),
            [1, 1, 1, 0]
        );
        assert_eq!(pool(&[("97124", 7)]), [0]);
        assert_eq!(per_code_units(7), 0);
        assert_eq!(per_code_units(8), 1);
        assert_eq!(per_code_units(22), 1);
        assert_eq!(per_code_units(23), 2);
    }

    fn visit(payer: &str, billed: &[(&str, i64, i64)]) -> Vec<(u32, &'static str)> {
        let lines = billed
            .iter()
            .enumerate()
            .map(|(n, (cpt, _, u))| {
                line(
                    "C-1",
                    n as u32 + 1,
                    "P-1",
                    payer,
                    "2025-03-10",
                    cpt,
                    *u,
                    "M54.50",
                )
            })
            .collect();
        let sessions = billed
            .iter()
            .map(|(cpt, m, _)| session("P-1", "2025-03-10", cpt, *m))
            .collect();
        ids(&run(check, lines, sessions, vec![]))
    }

    #[test]
    fn cms_visit_findings() {
        assert!(visit("medicare", &[("97112", 24, 2), ("97110", 23, 1)]).is_empty());
        assert!(visit("medicare", &[("97110", 20, 2), ("97140", 20, 1)]).is_empty());
        assert!(visit("medicare", &[("97110", 20, 1), ("97140", 20, 2)]).is_empty());
        assert_eq!(
            visit("medicare", &[("97110", 20, 3), ("97140", 20, 0)]),
            [(0, "UNITS_OVER_DOCUMENTED"), (1, "UNITS_INVALID")]
        );
        assert_eq!(
            visit("medicare", &[("97110", 33, 3), ("97140", 7, 1)]),
            [(0, "UNITS_OVER_DOCUMENTED")]
        );
        // tied leftovers both took a remainder unit: 4 billed, 3 supported
        assert_eq!(
            visit("medicare", &[("97110", 20, 2), ("97140", 20, 2)]),
            [(0, "UNITS_OVER_DOCUMENTED"), (1, "UNITS_OVER_DOCUMENTED")]
        );
        assert_eq!(
            visit("medicare", &[("97110", 20, 1), ("97140", 20, 1)]),
            [(0, "UNITS_UNDER_DOCUMENTED"), (1, "UNITS_UNDER_DOCUMENTED")]
        );
    }

    #[test]
    fn per_code_visit_findings() {
        assert_eq!(
            visit("commercial", &[("97110", 33, 2), ("97140", 7, 1)]),
            [(1, "UNITS_OVER_DOCUMENTED")]
        );
        assert!(visit("commercial", &[("97110", 33, 2), ("97140", 8, 1)]).is_empty());
        assert_eq!(
            visit("commercial", &[("97124", 38, 2)]),
            [(0, "UNITS_UNDER_DOCUMENTED")]
        );
        assert_eq!(
            visit("commercial", &[("97010", 0, 2)]),
            [(0, "UNITS_OVER_DOCUMENTED")]
        );
        assert!(visit("commercial", &[("97010", 0, 1)]).is_empty());
    }

    #[test]
    fn mue_sums_the_visit() {
        let t = MueTable::parse(
            b"HCPCS/CPT Code,Practitioner Services MUE Values\n97124,2,3 Date of Service Edit\n",
            "m",
        )
        .unwrap();
        let lines = vec![
            line(
                "C-1",
                1,
                "P-1",
                "commercial",
                "2025-03-10",
                "97124",
                2,
                "M54.50",
            ),
            line(
                "C-2",
                1,
                "P-1",
                "commercial",
                "2025-03-10",
                "97124",
                1,
                "M54.50",
            ),
        ];
        let s = vec![session("P-1", "2025-03-10", "97124", 45)];
        let f = run_with(check, lines.clone(), s.clone(), vec![], Some(&t));
        assert_eq!(ids(&f), [(0, "UNITS_OVER_MUE"), (1, "UNITS_OVER_MUE")]);
        let s = vec![session("P-1", "2025-03-10", "97124", 30)];
        assert!(run_with(check, lines[..1].to_vec(), s, vec![], Some(&t)).is_empty());
    }
}
