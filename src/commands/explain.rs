//! `claimscrub explain OUT_DIR CLAIM_ID [--json]`: one claim as a biller asks about it — its lines,
//! each finding with its evidence, severity and CARC/RARC texts, and why the claim went to `clean`
//! or `held`. Read only from a finished scrub's outputs (SPEC §6), never the inputs: no rescrub.
//!
//! Malformed rows belong to the claim when the raw row of the claims file holds the claim id at the
//! position of the `claim_id` column (SPEC §8 "malformed.csv"); rows of sessions or prescriptions
//! name no claim and are not shown.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde_json::{json, Map, Value};

use crate::output::tables::defuse;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The `--out` folder of a finished scrub.
    pub out_dir: PathBuf,
    /// The claim to explain.
    pub claim_id: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ExplainArgs) -> Result<i32> {
    let e = explain(&args.out_dir, args.claim_id.trim())?;
    let out = if args.json {
        serde_json::to_string_pretty(&e)? + "\n"
    } else {
        text(&e)
    };
    super::write_stdout(&out)?;
    Ok(0)
}

/// The outputs explain reads; each must be there.
const NEEDED: [&str; 5] = [
    "summary.json",
    "rejections.csv",
    "clean.csv",
    "held.csv",
    "malformed.csv",
];

fn check_outputs(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        bail!("{}: not a folder", dir.display());
    }
    for name in NEEDED {
        if dir.join(name).is_file() {
            continue;
        }
        let parquet = name.replace(".csv", ".parquet");
        if name.ends_with(".csv") && dir.join(&parquet).is_file() {
            bail!(
                "{}: {parquet} is a Parquet output; explain reads CSV outputs only (scrub with --format csv)",
                dir.display()
            );
        }
        bail!(
            "{}: {name} is missing; explain reads the outputs of a finished scrub (claimscrub scrub --out {})",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

fn open_csv(path: &Path) -> Result<(csv::Reader<File>, Vec<String>)> {
    let f = File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(f);
    let header = r
        .headers()
        .with_context(|| format!("{}: line 1: unreadable header", path.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    Ok((r, header))
}

fn column(path: &Path, header: &[String], name: &str) -> Result<usize> {
    header.iter().position(|h| h == name).with_context(|| {
        format!(
            "{}: line 1: no `{name}` column; is it a claimscrub output?",
            path.display()
        )
    })
}

fn record_error(path: &Path, e: csv::Error) -> anyhow::Error {
    match e.position() {
        Some(p) => anyhow::anyhow!("{}: line {}: {e}", path.display(), p.line()),
        None => anyhow::anyhow!("{}: {e}", path.display()),
    }
}

fn cell(r: &csv::ByteRecord, i: usize) -> String {
    String::from_utf8_lossy(r.get(i).unwrap_or_default()).into_owned()
}

/// The claim's rows of `clean.csv` or `held.csv`, with every column, and the claim_id column's
/// position (input order: the same as in the claims file).
fn lines_of(path: &Path, source: &str, claim: &str) -> Result<(Vec<Value>, Vec<String>)> {
    let (mut r, header) = open_csv(path)?;
    let id = column(path, &header, "claim_id")?;
    let line_no = column(path, &header, "line_no")?;
    let hold = header.iter().position(|h| h == "hold_rules");
    let mut out = Vec::new();
    let mut rec = csv::ByteRecord::new();
    while r
        .read_byte_record(&mut rec)
        .map_err(|e| record_error(path, e))?
    {
        // clean and held keep values as read: compare trimmed, as the scrub did
        if rec.get(id).map(|v| v.trim_ascii()) != Some(claim.as_bytes()) {
            continue;
        }
        let mut columns = Map::new();
        for (i, h) in header.iter().enumerate() {
            columns.insert(h.clone(), Value::String(cell(&rec, i)));
        }
        let hold_rules: Vec<String> = hold
            .map(|h| cell(&rec, h))
            .unwrap_or_default()
            .split(';')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        out.push(json!({
            "source": source,
            "source_line": rec.position().map(|p| p.line()).unwrap_or(0),
            "line_no": cell(&rec, line_no).trim(),
            "outcome": if source == "clean.csv" { "clean" } else { "held" },
            "hold_rules": hold_rules,
            "columns": columns,
            "findings": [],
        }));
    }
    Ok((out, header))
}

/// The claim's rows of `rejections.csv`, as written there.
fn findings_of(path: &Path, claim: &str) -> Result<Vec<Value>> {
    let (mut r, header) = open_csv(path)?;
    let names = [
        "claim_id",
        "line_no",
        "rule",
        "severity",
        "carc",
        "rarc",
        "carc_text",
        "rarc_text",
        "message",
        "charge",
    ];
    let cols: Vec<usize> = names
        .iter()
        .map(|n| column(path, &header, n))
        .collect::<Result<_>>()?;
    // rejections carries the claim id trimmed and defused against spreadsheet formulas (SPEC §8)
    let want = defuse(claim);
    let mut out = Vec::new();
    let mut rec = csv::ByteRecord::new();
    while r
        .read_byte_record(&mut rec)
        .map_err(|e| record_error(path, e))?
    {
        if rec.get(cols[0]) != Some(want.as_bytes()) {
            continue;
        }
        let mut f = Map::new();
        for (n, &c) in names.iter().zip(&cols).skip(1) {
            f.insert(n.to_string(), Value::String(cell(&rec, c)));
        }
        out.push(Value::Object(f));
    }
    Ok(out)
}

/// Rows of the claims file in `malformed.csv` whose raw text holds the claim id at the claim_id
/// column's position.
fn malformed_of(path: &Path, claims_file: &str, id_col: usize, claim: &str) -> Result<Vec<Value>> {
    let (mut r, header) = open_csv(path)?;
    let cols: Vec<usize> = ["file", "line", "error", "raw"]
        .iter()
        .map(|n| column(path, &header, n))
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    while r.read_record(&mut rec).map_err(|e| record_error(path, e))? {
        if rec.get(cols[0]) != Some(claims_file) {
            continue;
        }
        let raw = rec.get(cols[3]).unwrap_or_default();
        let mut rr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(raw.as_bytes());
        let holds = rr
            .records()
            .next()
            .and_then(|x| x.ok())
            .is_some_and(|fields| fields.get(id_col).map(str::trim) == Some(claim));
        if holds {
            out.push(json!({
                "file": rec.get(cols[0]).unwrap_or_default(),
                "line": rec.get(cols[1]).unwrap_or_default(),
                "error": rec.get(cols[2]).unwrap_or_default(),
                "raw": raw,
            }));
        }
    }
    Ok(out)
}

fn same_line_no(a: &str, b: &str) -> bool {
    match (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

pub fn explain(dir: &Path, claim: &str) -> Result<Value> {
    check_outputs(dir)?;
    let summary_path = dir.join("summary.json");
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(&summary_path)
            .with_context(|| format!("{}: cannot read", summary_path.display()))?,
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{}: line {} column {}: not JSON: {e}",
            summary_path.display(),
            e.line(),
            e.column()
        )
    })?;
    let hold_mode = summary["hold"].as_str().unwrap_or("claim").to_string();
    let claims_file = summary["inputs"]["claims"]["file"]
        .as_str()
        .unwrap_or("claims.csv")
        .to_string();

    let (mut lines, header) = lines_of(&dir.join("clean.csv"), "clean.csv", claim)?;
    let (held, _) = lines_of(&dir.join("held.csv"), "held.csv", claim)?;
    lines.extend(held);
    let id_col = header.iter().position(|h| h == "claim_id").unwrap_or(0);
    let malformed = malformed_of(&dir.join("malformed.csv"), &claims_file, id_col, claim)?;
    if lines.is_empty() && malformed.is_empty() {
        bail!(
            "claim {}: not in {} (no line in clean.csv or held.csv, no row in malformed.csv)",
            printable(claim),
            dir.display()
        );
    }
    // as the claim lines were read: by line_no, as rejections orders them
    lines.sort_by_key(|l| s(&l["line_no"]).parse::<i64>().unwrap_or(i64::MAX));
    let findings = findings_of(&dir.join("rejections.csv"), claim)?;
    let mut unmatched = Vec::new();
    for f in findings {
        let mut placed = false;
        for l in lines.iter_mut() {
            if same_line_no(s(&l["line_no"]), s(&f["line_no"])) {
                l["findings"].as_array_mut().unwrap().push(f.clone());
                placed = true;
            }
        }
        if !placed {
            unmatched.push(f);
        }
    }
    let rejects = |l: &Value| -> Vec<String> {
        l["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| s(&f["severity"]) == "reject")
            .map(|f| s(&f["rule"]).to_string())
            .collect()
    };
    // why each line went where it did
    let mut holders = Vec::new();
    for l in &lines {
        let own = rejects(l);
        if !own.is_empty() {
            holders.push(format!("line {}: {}", s(&l["line_no"]), own.join(", ")));
        }
    }
    let malformed_lines: Vec<String> = malformed
        .iter()
        .map(|m| format!("{} line {}", s(&m["file"]), s(&m["line"])))
        .collect();
    for l in lines.iter_mut() {
        let own = rejects(l);
        let warnings = l["findings"].as_array().map_or(0, |f| f.len()) - own.len();
        let why = if l["outcome"] == "clean" {
            if warnings == 0 {
                "clean: no findings".to_string()
            } else {
                format!("clean: no reject finding; {warnings} warning(s), sent as is")
            }
        } else {
            let mut parts = Vec::new();
            if !own.is_empty() {
                parts.push(format!("its own reject finding(s) {}", own.join(", ")));
            }
            let hold_rules: Vec<&str> = l["hold_rules"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let others: Vec<&str> = hold_rules
                .iter()
                .copied()
                .filter(|r| *r != crate::hold::MALFORMED_LINE && !own.iter().any(|o| o == r))
                .collect();
            if !others.is_empty() {
                parts.push(format!(
                    "the claim is held whole (--hold {hold_mode}) for {} on another line",
                    others.join(", ")
                ));
            }
            if hold_rules.contains(&crate::hold::MALFORMED_LINE) {
                parts.push(if malformed_lines.is_empty() {
                    "a row of the claim is malformed".to_string()
                } else {
                    format!(
                        "a row of the claim is malformed ({})",
                        malformed_lines.join(", ")
                    )
                });
            }
            if parts.is_empty() {
                parts.push(format!("hold_rules {}", hold_rules.join(";")));
            }
            format!("held: {}", parts.join("; "))
        };
        l["why"] = Value::String(why);
    }
    let (n_clean, n_held) = lines.iter().fold((0, 0), |(c, h), l| {
        if l["outcome"] == "clean" {
            (c + 1, h)
        } else {
            (c, h + 1)
        }
    });
    let warnings: usize = lines
        .iter()
        .map(|l| l["findings"].as_array().map_or(0, |f| f.len()) - rejects(l).len())
        .sum();
    let outcome = match (n_clean, n_held + malformed.len()) {
        (_, 0) => "clean",
        (0, _) => "held",
        _ => "partly held",
    };
    let mut why = Vec::new();
    match outcome {
        "clean" if warnings == 0 => why.push("no reject finding and no warning".to_string()),
        "clean" => why.push(format!(
            "no reject finding; {warnings} warning(s), which do not hold a claim"
        )),
        _ => {
            if !holders.is_empty() {
                why.push(format!(
                    "reject findings: {} (--hold {hold_mode}: {})",
                    holders.join("; "),
                    if hold_mode == "line" {
                        "only those lines are held"
                    } else {
                        "the claim is held whole"
                    }
                ));
            }
            if !malformed.is_empty() {
                why.push(format!(
                    "a malformed row holds the claim whole ({}){}",
                    malformed_lines.join(", "),
                    if lines.is_empty() {
                        "; no row of it was readable, so it is only in malformed.csv"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    Ok(json!({
        "out_dir": dir.display().to_string(),
        "claim_id": claim,
        "hold_mode": hold_mode,
        "outcome": outcome,
        "why": why,
        "lines": lines,
        "malformed": malformed,
        "unmatched_findings": unmatched,
    }))
}

/// A value from the input as harmless text: control characters (terminal escapes, carriage
/// returns) and bidirectional overrides shown as `\u{..}` instead of acting on the terminal.
pub fn printable(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        let bidi = matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out += &format!("\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn p(v: &Value) -> String {
    printable(s(v))
}

/// Left-aligned table of `rows` under `header`, widths in characters.
fn table(header: &[&str], rows: &[Vec<String>], indent: &str) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = indent.to_string();
        for (i, (c, w)) in cells.iter().zip(&width).enumerate() {
            l += c;
            if i + 1 < cells.len() {
                l += &" ".repeat(w - c.chars().count() + 2);
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out += &line(r.iter().map(String::as_str).collect());
    }
    out
}

pub fn text(e: &Value) -> String {
    let mut out = format!(
        "claim {}: {} (--hold {}, from {})\n",
        p(&e["claim_id"]),
        p(&e["outcome"]),
        p(&e["hold_mode"]),
        p(&e["out_dir"])
    );
    for w in e["why"].as_array().into_iter().flatten() {
        out += &format!("  why: {}\n", p(w));
    }
    let lines = e["lines"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if !lines.is_empty() {
        out += "\nlines\n";
        let cols = [
            "line_no",
            "service_date",
            "cpt",
            "modifiers",
            "units",
            "charge",
            "patient_id",
            "payer_type",
            "rx_id",
            "diagnosis_codes",
        ];
        let mut header: Vec<&str> = cols
            .iter()
            .copied()
            .filter(|c| lines[0]["columns"].get(*c).is_some())
            .collect();
        header.push("outcome");
        let rows: Vec<Vec<String>> = lines
            .iter()
            .map(|l| {
                let mut r: Vec<String> = header[..header.len() - 1]
                    .iter()
                    .map(|c| p(&l["columns"][*c]))
                    .collect();
                r.push(p(&l["outcome"]));
                r
            })
            .collect();
        out += &table(&header, &rows, "  ");
    }
    for l in lines {
        out += &format!(
            "\nline {} ({} line {}): {}\n",
            p(&l["line_no"]),
            p(&l["source"]),
            l["source_line"],
            p(&l["why"])
        );
        for f in l["findings"].as_array().into_iter().flatten() {
            out += &finding(f);
        }
    }
    let unmatched = e["unmatched_findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if !unmatched.is_empty() {
        out += "\nfindings on line numbers not in clean.csv or held.csv\n";
        for f in unmatched {
            out += &format!("  line {}:\n", p(&f["line_no"]));
            out += &finding(f);
        }
    }
    let malformed = e["malformed"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if !malformed.is_empty() {
        out += "\nmalformed rows of the claim (malformed.csv)\n";
        for m in malformed {
            out += &format!(
                "  {} line {}: {}\n    raw: {}\n",
                p(&m["file"]),
                p(&m["line"]),
                p(&m["error"]),
                p(&m["raw"])
            );
        }
    }
    out
}

fn finding(f: &Value) -> String {
    let mut out = format!(
        "  {:<7} {}: {}\n",
        p(&f["severity"]),
        p(&f["rule"]),
        p(&f["message"])
    );
    for (code, txt, what) in [("carc", "carc_text", "CARC"), ("rarc", "rarc_text", "RARC")] {
        if !s(&f[code]).is_empty() {
            out += &format!("          {what} {}: {}\n", p(&f[code]), p(&f[txt]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_shown_not_sent() {
        assert_eq!(printable("C-1\u{1b}[31m"), "C-1\\u{1b}[31m");
        assert_eq!(printable("a\rb\u{202e}c"), "a\\u{d}b\\u{202e}c");
        assert_eq!(printable("M54.50 é"), "M54.50 é");
    }
}
