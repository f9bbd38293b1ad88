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
    #[serde(default)]
    x12: X12File,
}

/// How 837P claims are read (SPEC §11).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct X12File {
    /// SBR09 (claim filing indicator code) → profile; `*` = every other code.
    #[serde(default)]
    payer_type: BTreeMap<String, String>,
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
    x12: Option<X12File>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read for its errors only
struct PartialProfileFile {
    unit_rule: Option<UnitRule>,
    required_modifiers: Option<RequiredFile>,
    mue: Option<BTreeMap<String, i64>>,
    timed_codes: Option<Vec<String>>,
    physical_medicine_codes: Option<Vec<String>>,
    ncci: Option<bool>,
    kx_threshold: Option<BTreeMap<String, MoneyFile>>,
    kx_review_threshold: Option<MoneyFile>,
    fee_schedule: Option<BTreeMap<String, MoneyFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    unit_rule: UnitRule,
    #[serde(default)]
    required_modifiers: RequiredFile,
    #[serde(default)]
    mue: BTreeMap<String, i64>,
    timed_codes: Option<Vec<String>>,
    physical_medicine_codes: Option<Vec<String>>,
    #[serde(default)]
    ncci: bool,
    #[serde(default)]
    kx_threshold: BTreeMap<String, MoneyFile>,
    kx_review_threshold: Option<MoneyFile>,
    #[serde(default)]
    fee_schedule: BTreeMap<String, MoneyFile>,
}

/// `required_modifiers` as written: a list (every one of them) or `{ any_of = [...] }` (one of them).
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a list of modifiers, or { any_of = [...] }")]
enum RequiredFile {
    All(Vec<String>),
    AnyOf(AnyOfFile),
}

impl Default for RequiredFile {
    fn default() -> Self {
        RequiredFile::All(Vec::new())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnyOfFile {
    any_of: Vec<String>,
}

/// An amount of money as TOML writes it: `2410` or `28.50`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(untagged, expecting = "an amount of money (a number)")]
enum MoneyFile {
    Int(i64),
    Float(f64),
}

impl MoneyFile {
    /// Millionths, as `ClaimLine::charge`; `None` when negative or too large.
    fn micro(self) -> Option<i64> {
        let v = match self {
            MoneyFile::Int(i) => i.checked_mul(1_000_000)?,
            // a TOML float such as 28.50 is the nearest double: rounding to millionths is exact
            // for any amount with up to six decimals
            MoneyFile::Float(f) if f.is_finite() && f.abs() < 1e12 => (f * 1e6).round() as i64,
            MoneyFile::Float(_) => return None,
        };
        (v >= 0).then_some(v)
    }
}

/// The modifiers a profile requires on physical-medicine lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Required {
    /// Every one of them (the list form); empty = none required.
    All(Vec<String>),
    /// At least one of them (`{ any_of = [...] }`), e.g. the therapy modifiers GP, GO, GN.
    AnyOf(Vec<String>),
}

impl Required {
    pub fn is_empty(&self) -> bool {
        match self {
            Required::All(m) | Required::AnyOf(m) => m.is_empty(),
        }
    }

    /// What a line with these modifiers (`;`-joined, upper-cased) lacks: `None` when it has what is
    /// required, else the modifiers to name (the missing ones; all choices for `any_of`).
    pub fn missing<'a>(&'a self, modifiers: &str) -> Option<Vec<&'a str>> {
        let has = |m: &str| modifiers.split(';').any(|have| have == m);
        match self {
            Required::All(all) => {
                let missing: Vec<&str> =
                    all.iter().map(String::as_str).filter(|m| !has(m)).collect();
                (!missing.is_empty()).then_some(missing)
            }
            Required::AnyOf(any) => (!any.is_empty() && !any.iter().any(|m| has(m)))
                .then(|| any.iter().map(String::as_str).collect()),
        }
    }
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
    pub required_modifiers: Required,
    pub mue: BTreeMap<String, i64>,
    pub timed: CodeList,
    pub physical_medicine: CodeList,
    /// Whether CMS's NCCI edits (`--ncci`) apply to the profile's lines.
    pub ncci: bool,
    /// The therapy threshold (KX) by calendar year, in millionths (SPEC §10). Empty: the profile's
    /// lines are not counted toward a patient's therapy total and no threshold applies.
    pub kx_threshold: BTreeMap<i32, i64>,
    /// The medical-review threshold of a year's therapy total, in millionths; applies only to a
    /// profile with a `kx_threshold`.
    pub kx_review_threshold: Option<i64>,
    /// Amount per unit of a code, in millionths: a line's therapy amount is this × units, else its
    /// charge.
    pub fee_schedule: BTreeMap<String, i64>,
}

impl Profile {
    /// Whether the profile's lines count toward a patient's therapy total (SPEC §10).
    pub fn counts_therapy(&self) -> bool {
        !self.kx_threshold.is_empty()
    }
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
    /// 837P: SBR09 codes (upper-cased) → profile index, and the profile of every other code.
    pub x12_payer_types: BTreeMap<String, usize>,
    pub x12_other_payer_type: Option<usize>,
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
                ("x12", toml::Value::Table(x12)) => {
                    // `[x12.payer_type]` entries are laid over the built-in ones one by one
                    let have = merged
                        .entry("x12")
                        .or_insert_with(|| toml::Value::Table(Default::default()));
                    let have = have.as_table_mut().expect("x12 is a table");
                    for (k, v) in x12 {
                        match (have.get_mut(&k), v) {
                            (Some(toml::Value::Table(t)), toml::Value::Table(set)) => t.extend(set),
                            (_, v) => {
                                have.insert(k, v);
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
            let codes = |list: &[String]| -> Vec<String> {
                list.iter().map(|m| m.trim().to_ascii_uppercase()).collect()
            };
            let required_modifiers = match &p.required_modifiers {
                RequiredFile::All(list) => Required::All(codes(list)),
                RequiredFile::AnyOf(a) => Required::AnyOf(codes(&a.any_of)),
            };
            let money = |key: String, v: MoneyFile| -> Result<i64> {
                v.micro().with_context(|| {
                    ctx(&format!(
                        "profiles.{name}.{key}: not an amount of money of 0 or more"
                    ))
                })
            };
            let mut kx_threshold = BTreeMap::new();
            for (year, v) in &p.kx_threshold {
                let y: i32 = match year.trim().parse() {
                    Ok(y) if (1900..=9999).contains(&y) => y,
                    _ => bail!("{source}: profiles.{name}.kx_threshold: `{year}` is not a year"),
                };
                kx_threshold.insert(y, money(format!("kx_threshold.{year}"), *v)?);
            }
            let kx_review_threshold = p
                .kx_review_threshold
                .map(|v| money("kx_review_threshold".into(), v))
                .transpose()?;
            let mut fee_schedule = BTreeMap::new();
            for (code, v) in &p.fee_schedule {
                fee_schedule.insert(
                    code.trim().to_ascii_uppercase(),
                    money(format!("fee_schedule.{code}"), *v)?,
                );
            }
            profiles.push(Profile {
                unit_rule: p.unit_rule,
                required_modifiers,
                kx_threshold,
                kx_review_threshold,
                fee_schedule,
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
        let mut x12_payer_types = BTreeMap::new();
        let mut x12_other_payer_type = None;
        for (code, name) in &file.x12.payer_type {
            let Some(i) = profiles
                .iter()
                .position(|q| q.name.eq_ignore_ascii_case(name.trim()))
            else {
                bail!("{source}: x12.payer_type.{code}: no profile `{name}`");
            };
            match code.trim() {
                "*" => x12_other_payer_type = Some(i),
                c => {
                    x12_payer_types.insert(c.to_ascii_uppercase(), i);
                }
            }
        }
        Ok(Policy {
            profiles,
            pairs,
            x12_payer_types,
            x12_other_payer_type,
            source: source.to_string(),
        })
    }

    /// Index of the profile of a payer_type (case-insensitive).
    pub fn profile_index(&self, payer_type: &str) -> Option<usize> {
        self.profiles
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(payer_type))
    }

    /// The profile name an 837P claim's SBR09 code gives (SPEC §11), or why there is none.
    pub fn x12_payer_type(&self, sbr09: &[u8]) -> std::result::Result<&str, String> {
        // once a claim: the code upper-cased on the stack (codes are 1 or 2 characters)
        let mut up = [0u8; 8];
        let trimmed = sbr09.trim_ascii();
        let found = match up.get_mut(..trimmed.len()) {
            Some(buf) => {
                buf.copy_from_slice(trimmed);
                buf.make_ascii_uppercase();
                std::str::from_utf8(buf)
                    .ok()
                    .and_then(|c| self.x12_payer_types.get(c))
            }
            None => self
                .x12_payer_types
                .get(&String::from_utf8_lossy(trimmed).to_ascii_uppercase()),
        };
        let code = || String::from_utf8_lossy(trimmed).to_ascii_uppercase();
        found
            .copied()
            .or(self.x12_other_payer_type)
            .map(|i| self.profiles[i].name.as_str())
            .ok_or_else(|| {
                format!(
                    "`{}` has no entry in the policy's [x12.payer_type] (and no `*` entry for every other code)",
                    code()
                )
            })
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
        assert_eq!(
            medicare.required_modifiers,
            Required::AnyOf(vec!["GP".into(), "GO".into(), "GN".into()])
        );
        assert_eq!(
            medicare.kx_threshold.iter().collect::<Vec<_>>(),
            [
                (&2024, &2_330_000_000),
                (&2025, &2_410_000_000),
                (&2026, &2_480_000_000)
            ]
        );
        assert_eq!(medicare.kx_review_threshold, Some(3_000_000_000));
        assert!(medicare.fee_schedule.is_empty() && medicare.counts_therapy());
        for other in ["medicaid", "commercial", "workers_comp", "auto_pip"] {
            let p = &p.profiles[p.profile_index(other).unwrap()];
            assert!(
                !p.counts_therapy() && p.kx_review_threshold.is_none(),
                "{other}"
            );
        }
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
    fn required_modifiers_all_of_a_list_or_one_of_a_set() {
        let all = Required::All(vec!["GP".into(), "KX".into()]);
        assert_eq!(all.missing("GP;KX"), None);
        assert_eq!(all.missing("59;GP"), Some(vec!["KX"]));
        assert_eq!(all.missing(""), Some(vec!["GP", "KX"]));
        let any = Required::AnyOf(vec!["GP".into(), "GO".into(), "GN".into()]);
        assert_eq!(any.missing("GO"), None);
        assert_eq!(any.missing("GN;KX"), None);
        assert_eq!(any.missing("59"), Some(vec!["GP", "GO", "GN"]));
        assert_eq!(
            Required::AnyOf(vec![]).missing(""),
            None,
            "an empty set asks nothing"
        );
        let p = Policy::parse(
            "[profiles.commercial]\nrequired_modifiers = { any_of = [\" go\", \"gp\"] }\n",
            "p.toml",
        )
        .unwrap();
        let commercial = &p.profiles[p.profile_index("commercial").unwrap()];
        assert_eq!(
            commercial.required_modifiers,
            Required::AnyOf(vec!["GO".into(), "GP".into()])
        );
        let err = Policy::parse(
            "[profiles.commercial]\nrequired_modifiers = { one_of = [\"GP\"] }\n",
            "p.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("p.toml") && err.contains("any_of"), "{err}");
    }

    #[test]
    fn kx_threshold_review_and_fee_schedule_are_read_as_money() {
        let p = Policy::parse(
            "[profiles.medicare]\nkx_threshold = { 2027 = 2550.5 }\nfee_schedule = { \"97124\" = 28.50, \" 97140 \" = 31 }\n\n\
             [profiles.medicaid]\nkx_threshold = { 2025 = 2410 }\nkx_review_threshold = 2999.99\n",
            "p.toml",
        )
        .unwrap();
        let medicare = &p.profiles[p.profile_index("medicare").unwrap()];
        // a profile's key replaces the built-in value whole: only 2027 is left
        assert_eq!(
            medicare.kx_threshold.iter().collect::<Vec<_>>(),
            [(&2027, &2_550_500_000)]
        );
        assert_eq!(medicare.kx_review_threshold, Some(3_000_000_000), "kept");
        assert_eq!(medicare.fee_schedule["97124"], 28_500_000);
        assert_eq!(medicare.fee_schedule["97140"], 31_000_000);
        assert_eq!(medicare.unit_rule, UnitRule::Cms, "kept");
        let medicaid = &p.profiles[p.profile_index("medicaid").unwrap()];
        assert!(medicaid.counts_therapy());
        assert_eq!(medicaid.kx_review_threshold, Some(2_999_990_000));
        assert!(medicaid.required_modifiers.missing("GO").is_none(), "kept");
        // an empty table turns the threshold off
        let p = Policy::parse("[profiles.medicare]\nkx_threshold = {}\n", "p.toml").unwrap();
        assert!(!p.profiles[p.profile_index("medicare").unwrap()].counts_therapy());
        for (bad, want) in [
            ("kx_threshold = { twenty = 2410 }", "`twenty` is not a year"),
            ("kx_threshold = { 2025 = -1 }", "kx_threshold.2025"),
            ("kx_review_threshold = -3000", "kx_review_threshold"),
            (
                "fee_schedule = { \"97124\" = \"28.50\" }",
                "amount of money",
            ),
        ] {
            let err = Policy::parse(&format!("[profiles.medicare]\n{bad}\n"), "p.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains("p.toml") && err.contains(want), "{bad}: {err}");
        }
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
    fn sbr09_codes_name_profiles_and_a_policy_sets_single_codes() {
        let p = Policy::builtin();
        for (code, profile) in [
            ("MB", "medicare"),
            ("ma", "medicare"),
            ("MC", "medicaid"),
            ("WC", "workers_comp"),
            ("AM", "auto_pip"),
            ("CI", "commercial"),
            ("BL", "commercial"),
            ("", "commercial"),
        ] {
            assert_eq!(p.x12_payer_type(code.as_bytes()), Ok(profile), "{code}");
        }
        let p = Policy::parse("[x12.payer_type]\nCI = \"workers_comp\"\n", "t.toml").unwrap();
        assert_eq!(p.x12_payer_type(b"CI"), Ok("workers_comp"));
        assert_eq!(
            p.x12_payer_type(b"MB"),
            Ok("medicare"),
            "the others are kept"
        );
        let e = Policy::parse("[x12.payer_type]\nCI = \"nobody\"\n", "t.toml").unwrap_err();
        assert!(
            e.to_string()
                .contains("x12.payer_type.CI: no profile `nobody`"),
            "{e}"
        );
        let e = Policy::parse("[x12]\npayer = {}\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("unknown field `payer`"), "{e}");
        // without a `*` entry, a code not listed has no profile
        let mut p = Policy::builtin();
        p.x12_other_payer_type = None;
        let e = p.x12_payer_type(b"ZZ").unwrap_err();
        assert!(e.contains("`ZZ` has no entry"), "{e}");
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
        assert_eq!(
            medicare.required_modifiers,
            Required::All(vec!["GP".into(), "KX".into()])
        );
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
