//! `claimscrub history`: what a nightly state holds (SPEC §10) — the runs, or what a biller asks on
//! the phone about one patient: prescriptions with authorised, used-before and recorded visits, and
//! therapy totals by year against the threshold.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _, Result};
use serde_json::{json, Value};

use crate::base::values::{format_money, parse_date};
use crate::cli::HistoryArgs;
use crate::facts::therapy::{amount, year_of, Bucket};
use crate::reference::policy::Policy;
use crate::state::history;

pub fn run(args: &HistoryArgs) -> Result<i32> {
    if let Some(before) = &args.prune {
        if crate::base::values::parse_date(before).is_err() {
            bail!("--prune {before}: not a date (YYYY-MM-DD)");
        }
        let mut conn = history::open(&args.state, true)?;
        let (lines, rx) = history::prune(&mut conn, before)?;
        eprintln!(
            "{}: removed {lines} line{} of service dates before {before} and {rx} prescription{} that ended before it",
            args.state.display(),
            if lines == 1 { "" } else { "s" },
            if rx == 1 { "" } else { "s" }
        );
        return Ok(0);
    }
    let conn = history::open(&args.state, false)?;
    if args.lines {
        let lines = history::lines(&conn, args.patient.as_deref())?;
        let mut w = csv::Writer::from_writer(std::io::stdout().lock());
        let written = (|| -> std::io::Result<()> {
            w.write_record(history::LINE_COLUMNS)?;
            for l in &lines {
                w.write_record(l.cells())?;
            }
            w.flush()
        })();
        written.context("standard output: write error")?;
        return Ok(0);
    }
    let policy = match &args.policy {
        Some(p) => Policy::load(p).with_context(|| format!("--policy {}", p.display()))?,
        None => Policy::builtin(),
    };
    let runs = history::runs(&conn)?;
    let mut out = json!({ "state": args.state.display().to_string(), "runs": runs });
    if let Some(p) = &args.patient {
        // the patient's recorded lines, decoded once from the patient's bucket of blocks
        let recorded = history::lines(&conn, Some(p))?;
        if !history::has_patient(&conn, p, &recorded)? {
            bail!("--patient {p}: not in {}", args.state.display());
        }
        out["patient"] = json!({
            "patient_id": p,
            "prescriptions": history::prescriptions(&conn, p, &recorded)?,
            "therapy": therapy(&history::clean_lines(&recorded), &policy)?,
        });
    }
    if args.json {
        super::write_stdout(&(serde_json::to_string_pretty(&out)? + "\n"))?;
    } else {
        super::write_stdout(&text(&out))?;
    }
    Ok(0)
}

/// The recorded clean therapy by calendar year and bucket (SPEC §10), against each year's
/// threshold: lines of profiles with a `kx_threshold` (the built-in policy's, or `--policy`'s).
fn therapy(lines: &[history::RecordedLine], policy: &Policy) -> Result<Vec<Value>> {
    let mut totals: BTreeMap<(i32, Bucket), (i64, Option<i64>)> = BTreeMap::new();
    for (date, cpt, modifiers, units, charge, payer) in lines {
        let Some(profile) = policy.profiles.iter().find(|p| p.name == *payer) else {
            continue;
        };
        let Some(bucket) = Bucket::of(modifiers) else {
            continue;
        };
        if !profile.counts_therapy() {
            continue;
        }
        let day =
            parse_date(date).map_err(|e| anyhow::anyhow!("state: service_date `{date}`: {e}"))?;
        let year = year_of(day);
        let t = totals.entry((year, bucket)).or_insert((0, None));
        t.0 += amount(profile, cpt, *units, *charge);
        t.1 = t.1.or(profile.kx_threshold.get(&year).copied());
    }
    Ok(totals
        .into_iter()
        .map(|((year, bucket), (total, threshold))| {
            json!({
                "year": year,
                "bucket": bucket.label(),
                "total": format_money(total),
                "threshold": threshold.map(format_money),
                "review_threshold": policy.profiles.iter().find_map(|p| p.kx_review_threshold).map(format_money),
            })
        })
        .collect())
}

fn text(out: &Value) -> String {
    let mut s = String::new();
    let runs = out["runs"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    s += &format!(
        "{}: {} run{}\n",
        out["state"].as_str().unwrap_or(""),
        runs.len(),
        if runs.len() == 1 { "" } else { "s" }
    );
    if !runs.is_empty() {
        s += &format!(
            "{:>5}  {:<20}  {:>10}  {:>10}  {:>10}  {:>9}  inputs\n",
            "run", "started (UTC)", "lines", "clean", "held", "malformed"
        );
    }
    for r in runs {
        let inputs: Vec<&str> = r["inputs"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["name"].as_str()).collect())
            .unwrap_or_default();
        s += &format!(
            "{:>5}  {:<20}  {:>10}  {:>10}  {:>10}  {:>9}  {}\n",
            r["run_id"].to_string(),
            r["started_at"].as_str().unwrap_or(""),
            r["lines"].to_string(),
            r["clean"].to_string(),
            r["held"].to_string(),
            r["malformed"].to_string(),
            inputs.join(", ")
        );
    }
    if let Some(p) = out.get("patient") {
        s += &format!("\npatient {}\n", p["patient_id"].as_str().unwrap_or(""));
        let rxs = p["prescriptions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if rxs.is_empty() {
            s += "  no prescription recorded\n";
        }
        for rx in rxs {
            let authorised = match rx["authorized_sessions"].as_i64() {
                Some(n) => n.to_string(),
                None => "—".to_string(),
            };
            s += &format!(
                "  {} ({}, {} to {}): authorised {authorised}, used before claimscrub {}, recorded visits {} clean, {} held\n",
                rx["rx_id"].as_str().unwrap_or(""),
                rx["document_type"].as_str().unwrap_or(""),
                rx["start_date"].as_str().unwrap_or(""),
                rx["end_date"].as_str().unwrap_or(""),
                rx["sessions_used"],
                rx["recorded_visits"],
                rx["held_visits"],
            );
        }
        for t in p["therapy"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            s += &format!(
                "  therapy {} {}: {} of the threshold {}\n",
                t["year"],
                t["bucket"].as_str().unwrap_or(""),
                t["total"].as_str().unwrap_or(""),
                t["threshold"].as_str().unwrap_or("none"),
            );
        }
    }
    s
}
