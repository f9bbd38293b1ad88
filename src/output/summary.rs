//! `summary.json` and the closing table on stderr (SPEC §6).

use rayon::prelude::*;
use serde_json::{json, Value};

use crate::base::values::{format_money, iso, Day};
use crate::hold::Holding;
use crate::ledger::Ledger;
use crate::reference::icd10::CodeSets;
use crate::reference::policy::Policy;
use crate::rules::{Rule, RULES};

pub struct RunFacts<'a> {
    pub ledger: &'a Ledger,
    pub holding: &'a Holding,
    pub policy: &'a Policy,
    pub code_sets: &'a CodeSets,
    pub mue_source: Option<&'a str>,
    pub ncci: &'a crate::reference::ncci::NcciEdits,
    pub inputs: [InputFile<'a>; 3],
    /// Optional input columns absent from their file, as `input.column`.
    pub absent_columns: &'a [String],
    /// Warnings of the run (near-miss headers, payer types without a profile), already on stderr.
    pub warnings: &'a [String],
    pub hold: &'a str,
    /// The run's start, RFC 3339 in UTC, and its command line.
    pub started_at: &'a str,
    pub command_line: &'a [String],
    /// The nightly state (`--state`): its path, whether this is a dry run, the earlier lines read.
    pub state: Option<Value>,
}

/// An input file as the summary names it.
pub struct InputFile<'a> {
    pub name: &'a str,
    pub path: &'a str,
    pub bytes: u64,
}

/// An amount as an exact JSON number with two decimals (`1234.50`, never `1234.4999`).
pub fn money(micro: i64) -> Value {
    serde_json::from_str(&format_money(micro)).expect("a decimal is a JSON number")
}

/// Findings, and the distinct lines, claims and line charges they fall on, of one rule or payer.
/// Findings come by line, so a line repeats only right after itself; claims are marked in a
/// bitmap (a claim's lines are seldom neighbours): a set per tally cost 4 % of a run's cpu.
#[derive(Default)]
struct Tally {
    findings: usize,
    lines: usize,
    last_line: Option<u32>,
    /// A bit per claim of the batch, allocated at the tally's first finding.
    claims: Vec<u64>,
    charges: i64,
}

impl Tally {
    fn add(&mut self, line: u32, f: &RunFacts) {
        self.findings += 1;
        debug_assert!(self.last_line.is_none_or(|l| l <= line), "findings by line");
        if self.last_line != Some(line) {
            self.last_line = Some(line);
            self.lines += 1;
            self.charges += f.ledger.lines[line as usize].charge;
        }
        let claim = f.ledger.lines[line as usize].claim as usize;
        if self.claims.is_empty() {
            self.claims = vec![0; f.ledger.claims.div_ceil(64)];
        }
        self.claims[claim / 64] |= 1 << (claim % 64);
    }

    fn json(&self) -> Value {
        json!({
            "findings": self.findings,
            "lines": self.lines,
            "claims": self.claims.iter().map(|w| w.count_ones() as usize).sum::<usize>(),
            "charges": money(self.charges),
        })
    }
}

/// How the lines' service dates met the loaded code sets, from one pass over the lines.
struct CodeSetUse {
    /// Lines checked against each set (by index in `CodeSets::sets`).
    lines: Vec<usize>,
    /// Lines no set covers, and their first and last date.
    uncovered: usize,
    span: Option<(Day, Day)>,
}

impl CodeSetUse {
    fn new(f: &RunFacts) -> CodeSetUse {
        let n = f.code_sets.sets.len();
        let empty = || CodeSetUse {
            lines: vec![0; n],
            uncovered: 0,
            span: None,
        };
        let merge = |mut a: CodeSetUse, b: CodeSetUse| {
            a.lines.iter_mut().zip(&b.lines).for_each(|(x, y)| *x += y);
            a.uncovered += b.uncovered;
            a.span = match (a.span, b.span) {
                (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
                (x, y) => x.or(y),
            };
            a
        };
        f.ledger
            .lines
            .par_iter()
            .fold(empty, |mut u, l| {
                let (set, covered) = f.code_sets.for_day(l.date);
                u.lines[set] += 1;
                if !covered {
                    u.uncovered += 1;
                    u.span = Some(
                        u.span
                            .map_or((l.date, l.date), |(a, b)| (a.min(l.date), b.max(l.date))),
                    );
                }
                u
            })
            .reduce(empty, merge)
    }
}

/// Rules a run could not check fully, with why (SPEC §5 last paragraph).
fn not_checked(f: &RunFacts, use_: &CodeSetUse) -> Vec<(Rule, String)> {
    let mut out = Vec::new();
    if f.mue_source.is_none() {
        let why = if f.policy.has_mue_overrides() {
            "no MUE table given (--mue): checked only for the codes the policy gives MUE values"
        } else {
            "no MUE table given (--mue) and the policy sets no MUE values"
        };
        out.push((Rule::UnitsOverMue, why.to_string()));
    }
    if f.ncci.files.is_empty() {
        let why = if f.policy.pairs.is_empty() {
            "no NCCI edit file given (--ncci) and the policy has no pairs"
        } else {
            "no NCCI edit file given (--ncci): checked only for the policy's pairs"
        };
        out.push((Rule::NcciPtpConflict, why.to_string()));
    }
    if f.state.is_none() {
        out.push((
            Rule::KxModifierMissing,
            "no nightly state given (--state): therapy totals counted from this batch only, not from earlier runs".to_string(),
        ));
        out.push((
            Rule::DuplicateSubmission,
            "no nightly state given (--state): no earlier run to compare with".to_string(),
        ));
    }
    if let Some(span) = use_.span {
        out.extend(code_set_reasons(use_.uncovered, span));
    }
    out.extend(absent_column_reasons(
        f.absent_columns,
        [f.inputs[0].name, f.inputs[1].name, f.inputs[2].name],
    ));
    out
}

/// Not checked fully: `uncovered` lines dated `min` to `max` that no loaded code set covers.
pub fn code_set_reasons(uncovered: usize, (min, max): (Day, Day)) -> [(Rule, String); 2] {
    let dated = if min == max {
        format!("dated {}", iso(min))
    } else {
        format!("dated {} to {}", iso(min), iso(max))
    };
    let why = if uncovered == 1 {
        format!("1 line {dated} has no loaded ICD-10-CM code set; it was checked against the nearest set (load the year with --icd10)")
    } else {
        format!(
            "{uncovered} lines {dated} have no loaded ICD-10-CM code set; they were checked against the nearest set (load the year with --icd10)"
        )
    };
    [(Rule::DxUnknown, why.clone()), (Rule::DxNotBillable, why)]
}

/// Rules that cannot fire because their optional columns (`input.column`) are absent from the
/// inputs, named by `files` (claims, sessions, prescriptions).
pub fn absent_column_reasons(absent_columns: &[String], files: [&str; 3]) -> Vec<(Rule, String)> {
    let mut out = Vec::new();
    for rule in Rule::all() {
        let missing: Vec<&&[&str]> = rule
            .info()
            .needs
            .iter()
            .filter(|group| group.iter().all(|c| absent_columns.iter().any(|a| a == c)))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let named: Vec<String> = missing
            .iter()
            .map(|group| {
                let input = group[0].split_once('.').map_or("", |(i, _)| i);
                let columns: Vec<&str> = group
                    .iter()
                    .map(|c| c.split_once('.').map_or(*c, |(_, c)| c))
                    .collect();
                let file = crate::input::INPUTS
                    .iter()
                    .position(|i| *i == input)
                    .map(|i| files[i])
                    .unwrap_or(input);
                format!("{file} has no `{}` column", columns.join("` or `"))
            })
            .collect();
        out.push((rule, format!("{}: the rule cannot fire", named.join("; "))));
    }
    out
}

pub fn build(f: &RunFacts) -> Value {
    let batch = f.ledger;
    let mut by_rule: Vec<Tally> = Rule::all().map(|_| Tally::default()).collect();
    let mut by_payer: Vec<Tally> = f.policy.profiles.iter().map(|_| Tally::default()).collect();
    for finding in &batch.findings {
        by_rule[finding.rule as usize].add(finding.line, f);
        let payer = batch.lines[finding.line as usize].payer as usize;
        by_payer[payer].add(finding.line, f);
    }
    let rules: serde_json::Map<String, Value> = Rule::all()
        .map(|rule| {
            let info = rule.info();
            let mut v = by_rule[rule as usize].json();
            v["severity"] = info.severity.as_str().into();
            v["carc"] = info.carc.into();
            v["rarc"] = info.rarc.into();
            (info.id.to_string(), v)
        })
        .collect();

    // lines, claims and money per payer_type and outcome; a claim's (payer, outcome) pairs as bits
    #[derive(Default, Clone)]
    struct Side {
        lines: [usize; 2],
        claims: [usize; 2],
        charges: [i64; 2],
    }
    let n_payers = f.policy.profiles.len();
    let mut payers: Vec<Side> = vec![Side::default(); n_payers];
    let mut total = Side::default();
    let mut claim_bits = vec![0u64; f.holding.claims];
    let mut claim_outcome = vec![0u8; f.holding.claims];
    for (l, d) in batch.lines.iter().zip(&f.holding.decisions) {
        let k = (*d != 0) as usize;
        let p = l.payer as usize;
        for side in [&mut payers[p], &mut total] {
            side.lines[k] += 1;
            side.charges[k] += l.charge;
        }
        let c = l.claim as usize;
        claim_bits[c] |= 1 << (p * 2 + k);
        claim_outcome[c] |= 1 << k;
    }
    for bits in &claim_bits {
        for (p, side) in payers.iter_mut().enumerate() {
            for k in 0..2 {
                side.claims[k] += (bits >> (p * 2 + k) & 1) as usize;
            }
        }
    }
    for o in &claim_outcome {
        total.claims[0] += (o & 1) as usize;
        total.claims[1] += (o >> 1 & 1) as usize;
    }
    let side_json = |s: &Side| {
        json!({
            "clean_lines": s.lines[0], "held_lines": s.lines[1],
            "clean_claims": s.claims[0], "held_claims": s.claims[1],
            "clean_charges": money(s.charges[0]), "held_charges": money(s.charges[1]),
        })
    };
    // the batch's lines; its claims are counted once, under "claims"
    let lines_json = |s: &Side| {
        json!({
            "clean": s.lines[0], "held": s.lines[1],
            "clean_charges": money(s.charges[0]), "held_charges": money(s.charges[1]),
        })
    };
    let payer_json: serde_json::Map<String, Value> = payers
        .iter()
        .enumerate()
        .filter(|(_, s)| s.lines[0] + s.lines[1] > 0)
        .map(|(p, s)| {
            let name = f.policy.profiles[p].name.as_str();
            let mut v = side_json(s);
            v["findings"] = by_payer[p].json();
            (name.to_string(), v)
        })
        .collect();

    let malformed_claim_rows = batch.malformed[0].len();
    let claims_read = batch.rows_read[0];
    let use_ = CodeSetUse::new(f);
    let code_sets: Vec<Value> = f
        .code_sets
        .sets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "fiscal_year": s.fiscal_year,
                "source": s.source,
                "codes": s.len(),
                "lines_checked": use_.lines[i],
            })
        })
        .collect();
    let not_checked: Vec<Value> = not_checked(f, &use_)
        .into_iter()
        .map(|(r, why)| json!({"rule": r.id(), "reason": why}))
        .collect();
    let inputs: serde_json::Map<String, Value> = crate::input::INPUTS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let file = &f.inputs[i];
            let malformed = batch.malformed[i].len();
            (
                name.to_string(),
                json!({
                    "file": file.name,
                    "path": file.path,
                    "bytes": file.bytes,
                    "rows_read": batch.rows_read[i],
                    "malformed_rows": malformed,
                }),
            )
        })
        .collect();

    json!({
        "claimscrub_version": env!("CARGO_PKG_VERSION"),
        "started_at": f.started_at,
        "command_line": f.command_line,
        "exit_status": Value::Null, // set by the caller, from "claims"
        "inputs": inputs,
        "warnings": f.warnings,
        "accounting": {
            "claims_rows_read": claims_read,
            "clean_lines": total.lines[0],
            "held_lines": total.lines[1],
            "malformed_claims_rows": malformed_claim_rows,
            "sum": total.lines[0] + total.lines[1] + malformed_claim_rows,
            "balanced": claims_read == total.lines[0] + total.lines[1] + malformed_claim_rows,
        },
        "hold": f.hold,
        // held = held_with_lines + held_with_only_malformed_rows
        "claims": {
            "total": f.holding.claims + f.holding.malformed_only_claims,
            "clean": total.claims[0],
            "held": total.claims[1] + f.holding.malformed_only_claims,
            "held_with_lines": total.claims[1],
            "held_with_only_malformed_rows": f.holding.malformed_only_claims,
            "clean_claim_rate": clean_claim_rate(total.claims[0], f.holding.claims + f.holding.malformed_only_claims),
        },
        "lines": lines_json(&total),
        "rules": rules,
        "payer_types": payer_json,
        "code_sets": code_sets,
        "mue_table": f.mue_source,
        "ncci_files": f.ncci.files,
        "ncci_edits": f.ncci.edits.len(),
        "policy": f.policy.source,
        "state": f.state,
        "not_checked": not_checked,
    })
}

/// The run's time to the end of writing its outputs, in `elapsed_seconds` (milliseconds kept).
pub fn set_elapsed(summary: &mut Value, seconds: f64) {
    summary["elapsed_seconds"] = ((seconds * 1000.0).round() / 1000.0).into();
}

/// Clean claims of all claims, as a JSON number with one decimal (percent); null without claims.
pub fn clean_claim_rate(clean: usize, total: usize) -> Value {
    if total == 0 {
        return Value::Null;
    }
    let tenths = (clean as u128 * 1000 + total as u128 / 2) / total as u128;
    serde_json::from_str(&format!("{}.{}", tenths / 10, tenths % 10)).expect("a number")
}

/// The closing table on stderr, at most 100 columns wide.
pub fn table(summary: &Value, out: &str, malformed_file: &str) -> String {
    let mut s = String::new();
    let a = &summary["accounting"];
    let c = &summary["claims"];
    let rate = match &c["clean_claim_rate"] {
        Value::Null => String::new(),
        r => format!(" ({r}% clean)"),
    };
    s.push_str(&format!(
        "claimscrub: {} claim lines read: {} clean, {} held, {} malformed\nclaims: {} clean, {} held{rate}\n",
        a["claims_rows_read"], a["clean_lines"], a["held_lines"], a["malformed_claims_rows"], c["clean"], c["held"]
    ));
    let row = |s: &mut String,
               name: &str,
               severity: &str,
               lines: &Value,
               claims: &Value,
               charges: &Value| {
        s.push_str(&format!(
            "{name:<28} {severity:<8} {:>9} {:>8} {:>14}\n",
            lines.to_string(),
            claims.to_string(),
            charges.to_string()
        ))
    };
    s.push_str(&format!(
        "{:<28} {:<8} {:>9} {:>8} {:>14}\n",
        "rule", "severity", "lines", "claims", "charges"
    ));
    for info in RULES {
        let r = &summary["rules"][info.id];
        if r["findings"].as_u64().unwrap_or(0) == 0 {
            continue;
        }
        row(
            &mut s,
            info.id,
            info.severity.as_str(),
            &r["lines"],
            &r["claims"],
            &r["charges"],
        );
    }
    let l = &summary["lines"];
    row(
        &mut s,
        "held in all",
        "",
        &l["held"],
        &c["held"],
        &l["held_charges"],
    );
    let malformed: Vec<String> = crate::input::INPUTS
        .iter()
        .filter_map(|name| {
            let n = summary["inputs"][name]["malformed_rows"]
                .as_u64()
                .unwrap_or(0);
            (n > 0).then(|| format!("{n} {name} row{}", if n == 1 { "" } else { "s" }))
        })
        .collect();
    if !malformed.is_empty() {
        s.push_str(&format!(
            "malformed rows ({}): {malformed_file}\n",
            malformed.join(", ")
        ));
    }
    // rules not checked for the same reason share a line
    let mut reasons: Vec<(String, Vec<&str>)> = Vec::new();
    for nc in summary["not_checked"].as_array().into_iter().flatten() {
        let (rule, why) = (
            nc["rule"].as_str().unwrap_or(""),
            nc["reason"].as_str().unwrap_or(""),
        );
        match reasons.iter_mut().find(|(w, _)| w == why) {
            Some((_, rules)) => rules.push(rule),
            None => reasons.push((why.to_string(), vec![rule])),
        }
    }
    for (why, rules) in reasons {
        s.push_str(&wrap(
            &format!("not checked: {}: {why}", rules.join(", ")),
            100,
            "  ",
        ));
    }
    s.push_str(&format!(
        "outputs in {out} ({:.2} s)\n",
        summary["elapsed_seconds"].as_f64().unwrap_or(0.0)
    ));
    s
}

/// Words of `text` in lines of at most `width` columns, later lines indented.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
        } else if !line.is_empty() && line != indent {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}
