//! What a visit's documented minutes support (SPEC §4): the CMS 8-minute rule pooled over the
//! visit's timed minutes, or the AMA per-code rule, by each line's payer profile.

use smallvec::SmallVec;

use super::{Facts, Visit};
use crate::model::{Batch, Code};
use crate::reference::policy::{Policy, UnitRule};

type Few<T> = SmallVec<[T; 4]>;

/// Units that `m` minutes of one code support on their own: 8 minutes or more per unit.
pub fn per_code_units(m: i64) -> i64 {
    if m < 8 {
        0
    } else {
        (m + 7) / 15
    }
}

/// Minutes documented for one code of a visit.
#[derive(Clone, Debug)]
pub struct CodeMinutes {
    pub cpt: Code,
    pub minutes: i64,
}

/// One code of a CMS pool.
#[derive(Clone, Debug)]
pub struct PooledCode {
    pub cpt: Code,
    pub minutes: i64,
    /// Whole 15-minute units of the code's own minutes.
    pub full: i64,
    /// The most units the code can take: its full units, plus a remainder unit when its leftover
    /// minutes may take one.
    pub max: i64,
}

/// The CMS 8-minute rule over the timed minutes of one visit.
#[derive(Debug)]
pub struct CmsPool {
    /// T: the visit's timed minutes.
    pub total_minutes: i64,
    /// U: the units T supports.
    pub total_units: i64,
    pub codes: Few<PooledCode>,
}

impl CmsPool {
    pub fn new(documented: &[CodeMinutes]) -> CmsPool {
        let total_minutes: i64 = documented.iter().map(|d| d.minutes).sum();
        let total_units = per_code_units(total_minutes);
        let full_sum: i64 = documented.iter().map(|d| d.minutes / 15).sum();
        let remaining = (total_units - full_sum).max(0) as usize;
        let mut leftovers: Few<i64> = documented.iter().map(|d| d.minutes % 15).collect();
        leftovers.sort_unstable_by(|a, b| b.cmp(a));
        // a code whose leftover reaches the R-th largest may take a remainder unit (ties: provider's choice)
        let threshold = if remaining >= 1 {
            leftovers.get(remaining - 1).copied()
        } else {
            None
        };
        let codes = documented
            .iter()
            .map(|d| {
                let (m, full) = (d.minutes, d.minutes / 15);
                let extra = matches!(threshold, Some(t) if m % 15 >= t && m % 15 > 0);
                PooledCode {
                    cpt: d.cpt.clone(),
                    minutes: m,
                    full,
                    max: full + extra as i64,
                }
            })
            .collect();
        CmsPool {
            total_minutes,
            total_units,
            codes,
        }
    }

    pub fn code(&self, cpt: &str) -> Option<&PooledCode> {
        self.codes.iter().find(|c| c.cpt == cpt)
    }
}

/// Billed units per code of one visit (a handful of codes: a linear search beats a map).
#[derive(Default)]
pub struct Billed<'a>(Few<(&'a str, i64)>);

impl<'a> Billed<'a> {
    fn add(&mut self, cpt: &'a str, units: i64) {
        match self.0.iter_mut().find(|(c, _)| *c == cpt) {
            Some((_, u)) => *u += units,
            None => self.0.push((cpt, units)),
        }
    }

    /// Units of the code billed over the visit's billed lines.
    pub fn get(&self, cpt: &str) -> i64 {
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

/// What one billed line's code was billed and what its minutes support, by its payer's rule.
#[derive(Clone, Copy, Debug)]
pub enum LineUnits {
    /// An untimed code: one unit a visit.
    Untimed { billed: i64 },
    /// The per-code rule: the code's own minutes.
    PerCode {
        minutes: i64,
        supported: i64,
        billed: i64,
    },
    /// The CMS 8-minute rule: the code's share of the visit's pooled timed minutes.
    Cms(CmsLine),
}

#[derive(Clone, Copy, Debug)]
pub struct CmsLine {
    /// The code's documented minutes, whole units and maximum units in the pool.
    pub minutes: i64,
    pub full: i64,
    pub max: i64,
    /// Units of the code billed in the visit.
    pub billed: i64,
    /// T and U of the pool, and the timed units billed in the visit.
    pub visit_minutes: i64,
    pub visit_units: i64,
    pub visit_billed: i64,
    /// Whether some billed timed code of the visit is over its maximum.
    pub any_over_max: bool,
}

/// A billed line of a visit with its units.
pub struct BilledLine {
    pub line: u32,
    pub units: LineUnits,
}

/// The unit facts of one visit: its billed lines (units ≥ 1 and documented in a session, SPEC
/// §8 "Units"), the units billed per code, and each billed line's units by its payer's rule.
pub struct VisitUnits<'a> {
    pub billed: Billed<'a>,
    pub lines: Few<BilledLine>,
    /// The billed lines in read order (a timed CMS line whose code is not pooled has no `lines` entry).
    pub billed_lines: Few<u32>,
}

impl<'a> VisitUnits<'a> {
    /// `None` when the visit has no billed line.
    pub fn new(
        batch: &'a Batch,
        facts: &Facts,
        policy: &Policy,
        visit: &Visit,
    ) -> Option<VisitUnits<'a>> {
        let lines = &batch.lines;
        let billed_lines: Few<u32> = visit
            .lines
            .iter()
            .copied()
            .filter(|&i| lines[i as usize].units >= 1 && facts.documented_of[i as usize].is_some())
            .collect();
        if billed_lines.is_empty() {
            return None;
        }
        let mut billed = Billed::default();
        for &i in &billed_lines {
            billed.add(lines[i as usize].cpt.as_str(), lines[i as usize].units);
        }
        let documented: Few<CodeMinutes> = visit
            .documented
            .iter()
            .map(|&d| {
                let entry = &facts.documented.entries[d as usize];
                CodeMinutes {
                    cpt: entry.cpt(batch).clone(),
                    minutes: entry.minutes,
                }
            })
            .collect();
        let mut out = Few::new();
        // each line follows its own payer's profile; profiles of one visit are few
        let mut payers: Few<u8> = billed_lines
            .iter()
            .map(|&i| lines[i as usize].payer)
            .collect();
        payers.sort_unstable();
        payers.dedup();
        for payer in payers {
            let profile = &policy.profiles[payer as usize];
            let mine = billed_lines
                .iter()
                .copied()
                .filter(|&i| lines[i as usize].payer == payer);
            let pool = (profile.unit_rule == UnitRule::Cms).then(|| {
                // the pool counts every timed code documented that day, billed or not
                let timed: Few<CodeMinutes> = documented
                    .iter()
                    .filter(|d| profile.timed.contains(&d.cpt))
                    .cloned()
                    .collect();
                CmsPool::new(&timed)
            });
            let billed_timed: i64 = billed
                .iter()
                .filter(|(c, _)| profile.timed.contains(c))
                .map(|(_, b)| b)
                .sum();
            let any_over_max = pool.as_ref().is_some_and(|pool| {
                billed.iter().any(|(c, b)| {
                    profile.timed.contains(c) && pool.code(c).is_some_and(|p| b > p.max)
                })
            });
            for i in mine {
                let cpt = lines[i as usize].cpt.as_str();
                let b = billed.get(cpt);
                let units = if !profile.timed.contains(cpt) {
                    LineUnits::Untimed { billed: b }
                } else if let Some(pool) = &pool {
                    let Some(code) = pool.code(cpt) else {
                        continue;
                    };
                    LineUnits::Cms(CmsLine {
                        minutes: code.minutes,
                        full: code.full,
                        max: code.max,
                        billed: b,
                        visit_minutes: pool.total_minutes,
                        visit_units: pool.total_units,
                        visit_billed: billed_timed,
                        any_over_max,
                    })
                } else {
                    let minutes = documented
                        .iter()
                        .find(|d| d.cpt == cpt)
                        .map(|d| d.minutes)
                        .unwrap_or(0);
                    LineUnits::PerCode {
                        minutes,
                        supported: per_code_units(minutes),
                        billed: b,
                    }
                };
                out.push(BilledLine { line: i, units });
            }
        }
        Some(VisitUnits {
            billed,
            lines: out,
            billed_lines,
        })
    }
}

pub fn n_units(n: i64) -> String {
    if n == 1 {
        "1 unit".into()
    } else {
        format!("{n} units")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(codes: &[(&str, i64)]) -> Vec<i64> {
        let d: Vec<CodeMinutes> = codes
            .iter()
            .map(|(c, m)| CodeMinutes {
                cpt: Code::from(*c),
                minutes: *m,
            })
            .collect();
        CmsPool::new(&d).codes.iter().map(|c| c.max).collect()
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
}
