//! The payer policy (SPEC §7): profiles keyed by payer_type, read from TOML.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

pub const DEFAULT_POLICY: &str = include_str!("default_policy.toml");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitRule {
    /// CMS 8-minute rule: minutes of all timed codes of the visit pooled.
    Cms,
    /// AMA "substantial portion": each code on its own.
    PerCode,
}

impl UnitRule {
    pub fn label(self) -> &'static str {
        match self {
            UnitRule::Cms => "CMS 8-minute rule",
            UnitRule::PerCode => "per-code rule",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    timed_codes: Vec<String>,
    physical_medicine_codes: Vec<String>,
    profiles: BTreeMap<String, ProfileFile>,
    #[serde(default)]
    pairs: Vec<PairFile>,
}

/// A payer's own procedure-to-procedure edit (SPEC §9).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PairFile {
    column1: String,
    column2: String,
    modifier_indicator: u8,
    profiles: Vec<String>,
}

/// A policy file as written: every key optional, so that a file names only what it changes.
/// Read first, for its errors with line numbers; then laid over the built-in policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read for its errors only
struct PartialPolicyFile {
    timed_codes: Option<Vec<String>>,
    physical_medicine_codes: Option<Vec<String>>,
    profiles: Option<BTreeMap<String, PartialProfileFile>>,
    pairs: Option<Vec<PairFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read for its errors only
struct PartialProfileFile {
    unit_rule: Option<UnitRule>,
    required_modifiers: Option<Vec<String>>,
    mue: Option<BTreeMap<String, i64>>,
    timed_codes: Option<Vec<String>>,
    physical_medicine_codes: Option<Vec<String>>,
    ncci: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    unit_rule: UnitRule,
    #[serde(default)]
    required_modifiers: Vec<String>,
    #[serde(default)]
    mue: BTreeMap<String, i64>,
    timed_codes: Option<Vec<String>>,
    physical_medicine_codes: Option<Vec<String>>,
    #[serde(default)]
    ncci: bool,
}

/// A list of procedure codes and inclusive numeric ranges.
#[derive(Clone, Debug, Default)]
pub struct CodeList {
    codes: Vec<String>,
    ranges: Vec<(u32, u32)>,
}

impl CodeList {
    pub fn parse(items: &[String]) -> Result<CodeList> {
        let mut list = CodeList::default();
        for item in items {
            let item = item.trim().to_ascii_uppercase();
            if let Some((a, b)) = item.split_once('-') {
                let (a, b): (u32, u32) = (
                    a.trim()
                        .parse()
                        .with_context(|| format!("bad code range `{item}`"))?,
                    b.trim()
                        .parse()
                        .with_context(|| format!("bad code range `{item}`"))?,
                );
                if a > b {
                    bail!("bad code range `{item}`: start after end");
                }
                list.ranges.push((a, b));
            } else if item.is_empty() {
                bail!("empty code in a code list");
            } else {
                list.codes.push(item);
            }
        }
        Ok(list)
    }

    pub fn contains(&self, cpt: &str) -> bool {
        if self.codes.iter().any(|c| c == cpt) {
            return true;
        }
        if self.ranges.is_empty() || cpt.len() != 5 || !cpt.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let n: u32 = cpt.parse().unwrap_or(u32::MAX);
        self.ranges.iter().any(|&(a, b)| (a..=b).contains(&n))
    }
}

#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    pub unit_rule: UnitRule,
    pub required_modifiers: Vec<String>,
    pub mue: BTreeMap<String, i64>,
    pub timed: CodeList,
    pub physical_medicine: CodeList,
    /// Whether CMS's NCCI edits (`--ncci`) apply to the profile's lines.
    pub ncci: bool,
}

/// A payer's own procedure-to-procedure edit, applied to the profiles it names.
#[derive(Clone, Debug)]
pub struct Pair {
    pub column1: String,
    pub column2: String,
    pub modifier_indicator: u8,
    /// Indices of the profiles it applies to.
    pub profiles: Vec<usize>,
}

fn toml_error(e: toml::de::Error, text: &str, source: &str) -> anyhow::Error {
    let msg = e.message().to_string();
    let at = e
        .span()
        .map(|s| format!(" (line {})", text[..s.start].lines().count().max(1)))
        .unwrap_or_default();
    anyhow::anyhow!("{source}: not a valid policy{at}: {msg}")
}

/// Payer profiles a policy may hold: a line keeps its profile in a byte, and the summary counts a
/// claim's profiles and outcomes as bits of a u64.
pub const MAX_PROFILES: usize = 32;

#[derive(Clone, Debug)]
pub struct Policy {
    /// Sorted by name; a claim line refers to its profile by index.
    pub profiles: Vec<Profile>,
    pub pairs: Vec<Pair>,
    pub source: String,
}

impl Policy {
    pub fn builtin() -> Policy {
        Policy::parse_whole(DEFAULT_POLICY, "built-in").expect("the built-in policy parses")
    }

    pub fn load(path: &std::path::Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the policy", path.display()))?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// A policy file laid over the built-in policy: the file sets what it names (a top-level list,
    /// a profile's key) and takes the rest from the built-in one. A profile the built-in policy
    /// does not have is taken as written and needs its `unit_rule`.
    pub fn parse(text: &str, source: &str) -> Result<Policy> {
        let _: PartialPolicyFile = toml::from_str(text).map_err(|e| toml_error(e, text, source))?;
        let mut merged: toml::Table = DEFAULT_POLICY.parse().expect("the built-in policy parses");
        let user: toml::Table = text.parse().map_err(|e| toml_error(e, text, source))?;
        for (key, value) in user {
            match (key.as_str(), value) {
                ("profiles", toml::Value::Table(profiles)) => {
                    let all = merged
                        .entry("profiles")
                        .or_insert_with(|| toml::Value::Table(Default::default()));
                    let all = all.as_table_mut().expect("profiles is a table");
                    for (name, profile) in profiles {
                        match (all.get_mut(&name), profile) {
                            (Some(toml::Value::Table(have)), toml::Value::Table(set)) => {
                                have.extend(set)
                            }
                            (_, profile) => {
                                all.insert(name, profile);
                            }
                        }
                    }
                }
                (_, value) => {
                    merged.insert(key, value);
                }
            }
        }
        let file: PolicyFile =
            toml::Value::Table(merged)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    anyhow::anyhow!("{source}: not a valid policy: {}", e.message())
                })?;
        Policy::build(file, source)
    }

    /// A complete policy file, nothing taken from the built-in one.
    fn parse_whole(text: &str, source: &str) -> Result<Policy> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| toml_error(e, text, source))?;
        Policy::build(file, source)
    }

    fn build(file: PolicyFile, source: &str) -> Result<Policy> {
        let ctx = |what: &str| format!("{source}: {what}");
        let timed = CodeList::parse(&file.timed_codes).with_context(|| ctx("timed_codes"))?;
        let physical = CodeList::parse(&file.physical_medicine_codes)
            .with_context(|| ctx("physical_medicine_codes"))?;
        if file.profiles.is_empty() {
            bail!("{source}: the policy has no [profiles.*]");
        }
        let mut profiles = Vec::new();
        for (name, p) in file.profiles {
            let key = name.trim().to_ascii_lowercase();
            for (code, v) in &p.mue {
                if *v < 0 {
                    bail!("{source}: profiles.{name}.mue.{code} is negative");
                }
            }
            profiles.push(Profile {
                unit_rule: p.unit_rule,
                required_modifiers: p
                    .required_modifiers
                    .iter()
                    .map(|m| m.trim().to_ascii_uppercase())
                    .collect(),
                mue: p
                    .mue
                    .into_iter()
                    .map(|(c, v)| (c.trim().to_ascii_uppercase(), v))
                    .collect(),
                timed: match &p.timed_codes {
                    Some(l) => CodeList::parse(l)
                        .with_context(|| ctx(&format!("profiles.{name}.timed_codes")))?,
                    None => timed.clone(),
                },
                physical_medicine: match &p.physical_medicine_codes {
                    Some(l) => CodeList::parse(l).with_context(|| {
                        ctx(&format!("profiles.{name}.physical_medicine_codes"))
                    })?,
                    None => physical.clone(),
                },
                ncci: p.ncci,
                name: key,
            });
        }
        profiles.sort_by(|a, b| a.name.cmp(&b.name));
        if profiles.len() > MAX_PROFILES {
            bail!(
                "{source}: {} payer profiles; claimscrub handles at most {MAX_PROFILES}",
                profiles.len()
            );
        }
        let mut pairs = Vec::new();
        for (i, p) in file.pairs.iter().enumerate() {
            let at = format!("{source}: pairs[{i}]");
            for code in [&p.column1, &p.column2] {
                if crate::reference::ncci::pack(code.trim()).is_none() {
                    bail!("{at}: `{code}` is not a procedure code");
                }
            }
            if ![0, 1, 9].contains(&p.modifier_indicator) {
                bail!(
                    "{at}: modifier_indicator {} is not 0, 1 or 9",
                    p.modifier_indicator
                );
            }
            let mut named = Vec::new();
            for name in &p.profiles {
                let key = name.trim().to_ascii_lowercase();
                match profiles.iter().position(|q| q.name == key) {
                    Some(q) => named.push(q),
                    None => bail!("{at}: no profile `{name}`"),
                }
            }
            pairs.push(Pair {
                column1: p.column1.trim().to_ascii_uppercase(),
                column2: p.column2.trim().to_ascii_uppercase(),
                modifier_indicator: p.modifier_indicator,
                profiles: named,
            });
        }
        if pairs.len() > u16::MAX as usize {
            bail!("{source}: more than {} pairs", u16::MAX);
        }
        Ok(Policy {
            profiles,
            pairs,
            source: source.to_string(),
        })
    }

    /// Index of the profile of a payer_type (case-insensitive).
    pub fn profile_index(&self, payer_type: &str) -> Option<usize> {
        self.profiles
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(payer_type))
    }

    /// The policy's pairs as edits, always in force (SPEC §9 "Policy").
    pub fn pair_edits(&self) -> Vec<crate::reference::ncci::Edit> {
        use crate::reference::ncci::{pack, Edit, Source};
        self.pairs
            .iter()
            .enumerate()
            .map(|(i, p)| Edit {
                column2: pack(&p.column2).expect("checked when loaded"),
                column1: pack(&p.column1).expect("checked when loaded"),
                effective: crate::base::values::Day::MIN,
                deletion: crate::base::values::Day::MAX,
                indicator: p.modifier_indicator,
                source: Source::Policy(i as u16),
            })
            .collect()
    }

    pub fn has_mue_overrides(&self) -> bool {
        self.profiles.iter().any(|p| !p.mue.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_policy_has_the_five_default_profiles() {
        let p = Policy::builtin();
        let names: Vec<_> = p.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "auto_pip",
                "commercial",
                "medicaid",
                "medicare",
                "workers_comp"
            ]
        );
        let medicare = &p.profiles[p.profile_index("MEDICARE").unwrap()];
        assert_eq!(medicare.unit_rule, UnitRule::Cms);
        assert_eq!(medicare.required_modifiers, ["GP"]);
        assert!(medicare.timed.contains("97035") && medicare.timed.contains("97124"));
        assert!(!medicare.timed.contains("97010") && !medicare.timed.contains("97037"));
        assert!(
            medicare.physical_medicine.contains("97010")
                && !medicare.physical_medicine.contains("98940")
        );
        let commercial = &p.profiles[p.profile_index("commercial").unwrap()];
        assert_eq!(commercial.unit_rule, UnitRule::PerCode);
        assert!(commercial.required_modifiers.is_empty());
    }

    #[test]
    fn bad_policy_names_the_problem() {
        let err = Policy::parse(
            "timed_codes = []\nphysical_medicine_codes = []\n[profiles.x]\nunit_rule = \"eight\"\n",
            "p.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("p.toml") && err.contains("line 4"), "{err}");
        let err = Policy::parse("timed_codes = []\nphysical_medicine_codes = []\n[profiles.x]\nunit_rule = \"cms\"\nmodifers = []\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("modifers"), "{err}");
    }

    #[test]
    fn a_partial_policy_takes_the_rest_from_the_built_in_one() {
        let p = Policy::parse(
            "[profiles.medicare]\nrequired_modifiers = [\"GP\", \"KX\"]\n\n[profiles.tricare]\nunit_rule = \"cms\"\n",
            "p.toml",
        )
        .unwrap();
        let names: Vec<_> = p.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "auto_pip",
                "commercial",
                "medicaid",
                "medicare",
                "tricare",
                "workers_comp"
            ]
        );
        let medicare = &p.profiles[p.profile_index("medicare").unwrap()];
        assert_eq!(
            medicare.unit_rule,
            UnitRule::Cms,
            "kept from the built-in profile"
        );
        assert_eq!(medicare.required_modifiers, ["GP", "KX"]);
        assert!(medicare.timed.contains("97124"), "top-level lists kept");
        let p = Policy::parse("timed_codes = [\"97110\"]\n", "p.toml").unwrap();
        assert!(!p.profiles[0].timed.contains("97124"));
        assert_eq!(p.profiles.len(), 5);
        let err = Policy::parse("[profiles.tricare]\nrequired_modifiers = []\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("p.toml") && err.contains("unit_rule"), "{err}");
    }

    #[test]
    fn more_profiles_than_fit_are_refused_at_load() {
        let policy = |n: usize| {
            let mut t = String::from("timed_codes = []\nphysical_medicine_codes = []\n");
            for i in 0..n {
                t.push_str(&format!("[profiles.p{i}]\nunit_rule = \"cms\"\n"));
            }
            Policy::parse(&t, "p.toml")
        };
        // the five built-in profiles stay beside the file's own
        assert_eq!(
            policy(MAX_PROFILES - 5).unwrap().profiles.len(),
            MAX_PROFILES
        );
        let err = policy(MAX_PROFILES - 4).unwrap_err().to_string();
        assert!(
            err.contains("33 payer profiles") && err.contains("at most 32"),
            "{err}"
        );
    }
}
