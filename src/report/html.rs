//! The report as one self-contained HTML page: a small inline style, inline SVG charts, no script,
//! and a Content-Security-Policy that lets nothing load or leave. Every value that comes from the
//! outputs goes through `esc` (text and attributes alike). Numbers of summary.json carry their
//! JSON pointer in `data-s`, so that a test can check each against the summary.

use std::fmt::Write as _;

use super::svg::{self, Bar, Column, Part, Share};
use super::{Num, Party, Report, Tally, TARGET_RATE};

/// Text safe in HTML text and in quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // control characters of the input would only garble the page
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The rows shown of a long list; the rest is summed in an "and K more" row.
const TOP: usize = 12;
const TOP_LONG: usize = 20;

const STYLE: &str = "\
:root{color-scheme:light}\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#1b1b1b;background:#fff;margin:0}\
header,main,footer{max-width:1000px;margin:0 auto;padding:0 24px}\
header{padding-top:20px}\
h1{font-size:25px;margin:0 0 2px}\
h2{font-size:19px;margin:30px 0 6px;padding-bottom:3px;border-bottom:2px solid #1b1b1b}\
h3{font-size:16px;margin:16px 0 4px}\
p{margin:4px 0 8px}\
.meta,.note{color:#595959;font-size:13.5px}\
.lead{font-size:16px}\
nav{margin:10px 0 0;font-size:13.5px}\
nav a{margin-right:12px;color:#0b4f8a}\
.top{display:flex;flex-wrap:wrap;gap:8px 28px;align-items:flex-end;margin-top:14px}\
.rate{font-size:46px;font-weight:700;line-height:1}\
.below{color:#a33f00}\
.above{color:#005a8c}\
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:14px 0 6px}\
.card{flex:1 1 190px;border:1px solid #c4c4c4;border-radius:6px;padding:8px 14px}\
.card .v{font-size:26px;font-weight:700}\
.card .k{color:#595959;font-size:13.5px}\
ol.fix{margin:6px 0 4px;padding-left:22px;font-size:16px}\
ol.fix li{margin:3px 0}\
table{border-collapse:collapse;width:100%;font-size:14px;margin:8px 0 4px}\
caption{text-align:left;font-weight:600;padding:2px 0 4px}\
th,td{padding:4px 8px;border-bottom:1px solid #d9d9d9;text-align:left;vertical-align:top}\
th{background:#f1f1f1;font-weight:600}\
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
tr.more td{color:#595959;font-style:italic}\
svg.chart{display:block;max-width:100%;height:auto;margin:6px 0;font:13px system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}\
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}\
td code,li code{white-space:nowrap}\
details{margin:4px 0}\
summary{cursor:pointer;color:#0b4f8a}\
footer{margin-top:34px;padding-bottom:28px;color:#595959;font-size:13px}\
@media print{nav{display:none}h2{break-after:avoid}}\
";

/// What a biller does about a rule's finding, in a few words (the rule's meaning is beside it).
fn action(rule: &str) -> &'static str {
    match rule {
        "DX_MISSING" => "point the line to a diagnosis code",
        "DX_INVALID_FORMAT" => "correct the mistyped diagnosis code",
        "DX_UNKNOWN" => "use a code of the ICD-10-CM set in effect on the date",
        "DX_NOT_BILLABLE" => "bill a billable code under the header",
        "DX_CODESET_UNAVAILABLE" => "load the year's ICD-10-CM set (--icd10)",
        "WELLNESS_ONLY" => "add the treated condition's code",
        "DX_NOT_ON_RX" => "bill the prescription's diagnosis, or get the prescription updated",
        "RX_MISSING" => "get the physician's prescription on file",
        "RX_NOT_FOUND" => "correct the prescription number (box 23)",
        "RX_NOT_A_PRESCRIPTION" => "get a prescription: a referral or recommendation is not one",
        "RX_BEFORE_START" => "check the date against the prescription's start",
        "RX_EXPIRED" => "get the prescription renewed",
        "RX_SESSIONS_EXCEEDED" => "ask the prescriber to authorise more sessions",
        "RX_FREQUENCY_EXCEEDED" => "keep to the weekly frequency, or get it changed",
        "RX_CPT_NOT_ALLOWED" => "bill an ordered procedure, or get the order amended",
        "RX_MODALITY_MISMATCH" => "document the modality the prescription requires",
        "RX_PRESSURE_CONTRAINDICATED" => "review: more pressure than the prescription allows",
        "SESSION_MISSING" => "complete the session note",
        "UNITS_INVALID" => "bill at least one unit",
        "UNITS_OVER_DOCUMENTED" => "bill the units the documented minutes support",
        "UNITS_UNDER_DOCUMENTED" => "units left unbilled: check the minutes",
        "UNITS_OVER_MUE" => "bill no more units than the MUE",
        "MODIFIER_MISSING" => "add the payer's therapy modifier (GP)",
        "DUPLICATE_LINE" => "remove the duplicate line",
        "NCCI_PTP_CONFLICT" => "do not bill the pair on one visit (see NCCI pairs)",
        "DUPLICATE_SUBMISSION" => "already sent in an earlier run: remove",
        "KX_MODIFIER_MISSING" => "add KX where the care is medically necessary",
        "THERAPY_REVIEW_THRESHOLD" => "expect medical review: keep the notes ready",
        _ => "",
    }
}

/// A number in a table cell, marked with its summary pointer.
fn td(n: &Num) -> String {
    match &n.ptr {
        Some(p) => format!("<td class=\"n\" data-s=\"{}\">{}</td>", esc(p), n.show()),
        None => format!("<td class=\"n\">{}</td>", n.show()),
    }
}

/// A number in running text, marked with its summary pointer.
fn span(n: &Num) -> String {
    match &n.ptr {
        Some(p) => format!("<span data-s=\"{}\">{}</span>", esc(p), n.show()),
        None => n.show(),
    }
}

fn tally_tds(t: &Tally) -> String {
    t.nums().iter().map(td).collect()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        Num::count(n).show(),
        if n == 1 { one } else { many }
    )
}

fn money(v: i64) -> String {
    Num::money(v).show()
}

/// Percent with one decimal, `part` of `whole`.
fn percent(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

struct Page {
    out: String,
    /// The rules not checked, with why.
    not_checked: Vec<(String, String)>,
}

impl Page {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn section(&mut self, id: &str, title: &str) {
        let _ = write!(self.out, "<section id=\"{id}\"><h2>{}</h2>", esc(title));
    }

    fn end(&mut self) {
        self.out.push_str("</section>");
    }

    fn lead(&mut self, html: &str) {
        let _ = write!(self.out, "<p class=\"lead\">{html}</p>");
    }

    fn note(&mut self, html: &str) {
        let _ = write!(self.out, "<p class=\"note\">{html}</p>");
    }

    /// A note for each of these rules the scrub did not check fully.
    fn not_checked_of(&mut self, rules: &[&str]) {
        let notes: Vec<String> = self
            .not_checked
            .iter()
            .filter(|(r, _)| rules.contains(&r.as_str()))
            .map(|(r, why)| format!("<code>{}</code> not fully checked: {}", esc(r), esc(why)))
            .collect();
        for n in notes {
            self.note(&n);
        }
    }
}

pub fn page(r: &Report) -> String {
    let mut p = Page {
        out: String::with_capacity(64 << 10),
        not_checked: r.not_checked.clone(),
    };
    let _ = write!(
        p.out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Denial report: {}</title><style>{STYLE}</style></head><body>",
        esc(&r.dir)
    );
    header(&mut p, r);
    p.push("<main>");
    headline(&mut p, r);
    fix_first(&mut p, r);
    carcs(&mut p, r);
    payers(&mut p, r);
    parties(
        &mut p,
        "therapists",
        "By rendering therapist",
        "therapist",
        "therapists",
        Ok(&r.therapists),
    );
    parties(
        &mut p,
        "prescribers",
        "By prescriber",
        "prescriber",
        "prescribers",
        r.prescribers
            .as_ref()
            .map(Vec::as_slice)
            .map_err(String::as_str),
    );
    weeks(&mut p, r);
    prescriptions(&mut p, r);
    diagnoses(&mut p, r);
    ncci(&mut p, r);
    therapy(&mut p, r);
    warnings(&mut p, r);
    not_checked(&mut p, r);
    p.push("</main>");
    footer(&mut p, r);
    p.push("</body></html>\n");
    p.out
}

fn header(p: &mut Page, r: &Report) {
    let claims = r.inputs.first();
    let _ = write!(
        p.out,
        "<header><h1>Denial report</h1><p class=\"meta\">Scrub of <code>{}</code>{}{} · hold by {} · claimscrub {}</p>",
        esc(&r.dir),
        claims
            .map(|(_, file, rows, _)| format!(
                ": <code>{}</code>, {} claim lines",
                esc(file),
                span(rows)
            ))
            .unwrap_or_default(),
        if r.started_at.is_empty() {
            String::new()
        } else {
            format!(", started {}", esc(&r.started_at))
        },
        esc(&r.hold),
        esc(&r.version),
    );
    p.push(
        "<nav aria-label=\"Sections\"><a href=\"#fix-first\">Fix first</a><a href=\"#carc\">CARC</a>\
         <a href=\"#payers\">Payers</a><a href=\"#therapists\">Therapists</a><a href=\"#prescribers\">Prescribers</a>\
         <a href=\"#weeks\">Weeks</a><a href=\"#prescriptions\">Prescriptions</a><a href=\"#diagnoses\">Diagnoses</a>\
         <a href=\"#ncci\">NCCI</a><a href=\"#kx\">KX</a><a href=\"#warnings\">Warnings</a></nav></header>",
    );
}

fn headline(p: &mut Page, r: &Report) {
    p.push("<section id=\"headline\"><h2>Clean-claim rate</h2>");
    match &r.rate {
        Some(rate) => {
            let below = rate.f() < TARGET_RATE;
            let gap = (TARGET_RATE - rate.f()).abs();
            let _ = write!(
                p.out,
                "<div class=\"top\"><div class=\"rate {}\"><span data-s=\"{}\">{}</span> %</div>\
                 <p class=\"lead\">of claims are clean: <strong>{}</strong> the {TARGET_RATE} % clearinghouses count as good. \
                 {} of {} claims clean, {} held.</p></div>",
                if below { "below" } else { "above" },
                esc(rate.ptr.as_deref().unwrap_or("")),
                rate.show(),
                if gap < 0.05 {
                    "exactly at".to_string()
                } else {
                    format!("{gap:.1} points {}", if below { "below" } else { "above" })
                },
                span(&r.claims_clean),
                span(&r.claims_total),
                span(&r.claims_held),
            );
            p.push(&svg::gauge(
                "gauge",
                rate.f(),
                &[Part::number(rate)],
                TARGET_RATE,
            ));
            if r.hold == "line" {
                p.note("Held by line (--hold line): a claim with held and clean lines counts as clean and as held.");
            }
        }
        None => p.lead("The scrub read no claims."),
    }
    let billed = r.clean_charges.v + r.held_charges.v;
    let _ = write!(
        p.out,
        "<div class=\"cards\">\
         <div class=\"card\"><div class=\"k\">Claims held</div><div class=\"v\">{}</div><div class=\"k\">of {} ({:.1} %)</div></div>\
         <div class=\"card\"><div class=\"k\">Lines held</div><div class=\"v\">{}</div><div class=\"k\">{} clean, {} malformed</div></div>\
         <div class=\"card\"><div class=\"k\">Charges held</div><div class=\"v\">{}</div><div class=\"k\">of {} billed ({:.1} %); {} clean</div></div>\
         </div>",
        span(&r.claims_held),
        span(&r.claims_total),
        percent(r.claims_held.v, r.claims_total.v),
        span(&r.lines_held),
        span(&r.lines_clean),
        span(&r.lines_malformed),
        span(&r.held_charges),
        money(billed),
        percent(r.held_charges.v, billed),
        span(&r.clean_charges),
    );
    if !r.rejects.is_empty() {
        p.push("<h3>Fix these first (most charges held)</h3><ol class=\"fix\">");
        for rule in r.rejects.iter().take(3) {
            let _ = write!(
                p.out,
                "<li><strong><code>{}</code></strong>: {} held on {} {} of {} {} — {}</li>",
                esc(&rule.id),
                span(&rule.charges),
                span(&rule.lines),
                if rule.lines.v == 1 { "line" } else { "lines" },
                span(&rule.claims),
                if rule.claims.v == 1 {
                    "claim"
                } else {
                    "claims"
                },
                esc(action(&rule.id)),
            );
        }
        p.push("</ol>");
    }
    p.end();
}

fn fix_first(p: &mut Page, r: &Report) {
    p.section("fix-first", "Held by rule: what to fix first");
    if r.rejects.is_empty() {
        p.lead("No reject finding: nothing is held by a rule.");
        p.end();
        return;
    }
    let first = &r.rejects[0];
    p.lead(&format!(
        "<code>{}</code> holds the most charges: {} on {} lines. The charges of a rule are those of the lines it fired on; \
         a line with two rules counts under each.",
        esc(&first.id),
        span(&first.charges),
        span(&first.lines)
    ));
    let shown = &r.rejects[..r.rejects.len().min(TOP)];
    let bars: Vec<Bar> = shown
        .iter()
        .map(|rule| Bar {
            label: rule.id.clone(),
            value: rule.charges.f(),
            parts: vec![
                Part::number(&rule.charges),
                Part::plain(" · "),
                Part::number(&rule.lines),
                Part::plain(if rule.lines.v == 1 {
                    " line · "
                } else {
                    " lines · "
                }),
                Part::number(&rule.claims),
                Part::plain(if rule.claims.v == 1 {
                    " claim"
                } else {
                    " claims"
                }),
            ],
            tip: format!(
                "{}: {} held on {} of {}; {}",
                rule.id,
                rule.charges.show(),
                plural(rule.lines.v as u64, "line", "lines"),
                plural(rule.claims.v as u64, "claim", "claims"),
                rule.meaning
            ),
        })
        .collect();
    p.push(&svg::bars(
        "chart-rules",
        "Held charges by rule",
        &format!(
            "The {} reject rules holding the most charges, with their lines and claims",
            shown.len()
        ),
        &bars,
        svg::HELD,
    ));
    if r.rejects.len() > shown.len() {
        p.note(&format!(
            "and {} more rules, in the table below.",
            r.rejects.len() - shown.len()
        ));
    }
    p.push(
        "<table><caption>Reject rules (a claim with one is held)</caption><thead><tr><th>Rule</th><th>What to do</th>\
         <th>CARC / RARC</th><th class=\"n\">Lines</th><th class=\"n\">Claims</th><th class=\"n\">Charges</th><th class=\"n\">Findings</th></tr></thead><tbody>",
    );
    for rule in &r.rejects {
        let _ = write!(
            p.out,
            "<tr><td><code>{}</code></td><td>{}<br><span class=\"note\">{}</span></td><td>{}{}</td>{}{}{}{}</tr>",
            esc(&rule.id),
            esc(action(&rule.id)),
            esc(rule.meaning),
            esc(&rule.carc),
            if rule.rarc.is_empty() {
                String::new()
            } else {
                format!(" / {}", esc(&rule.rarc))
            },
            td(&rule.lines),
            td(&rule.claims),
            td(&rule.charges),
            td(&rule.findings),
        );
    }
    p.push("</tbody></table>");
    p.end();
}

fn carcs(p: &mut Page, r: &Report) {
    p.section("carc", "Held by CARC: what the payer would answer");
    if r.carcs.is_empty() {
        p.lead("No reject finding.");
        p.end();
        return;
    }
    let first = &r.carcs[0];
    p.lead(&format!(
        "The payer would most often answer CARC <strong>{}</strong> ({}): {} held on {}.",
        esc(&first.carc),
        esc(&first.text),
        money(first.held.charges),
        plural(first.held.lines, "line", "lines")
    ));
    let bars: Vec<Bar> = r
        .carcs
        .iter()
        .map(|c| Bar {
            label: format!("CARC {}", c.carc),
            value: c.held.charges as f64,
            parts: vec![
                Part {
                    text: money(c.held.charges),
                    ptr: None,
                    strong: true,
                },
                Part::plain(format!(
                    " · {} · {}",
                    plural(c.held.lines, "line", "lines"),
                    plural(c.held.claims, "claim", "claims")
                )),
            ],
            tip: format!("CARC {}: {} ({})", c.carc, c.text, c.rules.join(", ")),
        })
        .collect();
    p.push(&svg::bars(
        "chart-carc",
        "Held charges by CARC",
        "Each claim adjustment reason code the payer would likely answer with, with held charges, lines and claims",
        &bars,
        svg::HELD,
    ));
    p.push(
        "<table><thead><tr><th>CARC</th><th>Reason</th><th>Rules</th><th class=\"n\">Lines</th>\
         <th class=\"n\">Claims</th><th class=\"n\">Charges</th></tr></thead><tbody>",
    );
    for c in &r.carcs {
        let rules: Vec<String> = c
            .rules
            .iter()
            .map(|r| format!("<code>{}</code>", esc(r)))
            .collect();
        let _ = write!(
            p.out,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
            esc(&c.carc),
            esc(&c.text),
            rules.join(", "),
            tally_tds(&c.held)
        );
    }
    p.push("</tbody></table>");
    p.note("A line with two rules of one CARC counts once under it.");
    p.end();
}

fn payers(p: &mut Page, r: &Report) {
    p.section("payers", "By payer type");
    if r.payers.is_empty() {
        p.lead("No claim lines.");
        p.end();
        return;
    }
    let rate =
        |row: &super::PayerRow| percent(row.clean_claims.v, row.clean_claims.v + row.held_claims.v);
    let mut rows: Vec<&super::PayerRow> = r.payers.iter().collect();
    rows.sort_by(|a, b| {
        rate(a)
            .partial_cmp(&rate(b))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.held_charges.v.cmp(&a.held_charges.v))
    });
    let worst = rows[0];
    p.lead(&format!(
        "Worst: <strong>{}</strong>, {:.1} % of its claims clean ({} held, {} in charges).",
        esc(&worst.name),
        rate(worst),
        span(&worst.held_claims),
        span(&worst.held_charges)
    ));
    let shares: Vec<Share> = rows
        .iter()
        .map(|row| Share {
            label: row.name.clone(),
            percent: rate(row),
            parts: vec![
                Part::plain(format!("{:.1} % clean · ", rate(row))),
                Part::number(&row.held_claims),
                Part::plain(" held · "),
                Part::number(&row.clean_claims),
                Part::plain(" clean · "),
                Part::number(&row.held_charges),
                Part::plain(" held"),
            ],
            tip: format!(
                "{}: {:.1} % of claims clean; {} claims held, {} clean; {} of charges held",
                row.name,
                rate(row),
                row.held_claims.show(),
                row.clean_claims.show(),
                row.held_charges.show()
            ),
        })
        .collect();
    p.push(&svg::shares(
        "chart-payers",
        "Clean-claim rate by payer type",
        "Share of each payer type's claims that are clean, worst first, against the 97 % target",
        &shares,
        TARGET_RATE,
    ));
    p.push(
        "<table><thead><tr><th>Payer type</th><th class=\"n\">Claims held</th><th class=\"n\">Claims clean</th>\
         <th class=\"n\">Lines held</th><th class=\"n\">Lines clean</th><th class=\"n\">Charges held</th>\
         <th class=\"n\">Charges clean</th><th class=\"n\">Findings</th></tr></thead><tbody>",
    );
    for row in rows {
        let _ = write!(
            p.out,
            "<tr><td>{}</td>{}{}{}{}{}{}{}</tr>",
            esc(&row.name),
            td(&row.held_claims),
            td(&row.clean_claims),
            td(&row.held_lines),
            td(&row.clean_lines),
            td(&row.held_charges),
            td(&row.clean_charges),
            td(&row.findings),
        );
    }
    p.push("</tbody></table>");
    p.note("A claim whose lines name two payer types counts under each.");
    p.end();
}

fn reasons(party: &Party, n: usize) -> String {
    party
        .reasons
        .iter()
        .take(n)
        .map(|(r, k)| format!("{r} ({})", Num::count(*k).show()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parties(
    p: &mut Page,
    id: &str,
    title: &str,
    one: &str,
    many: &str,
    list: std::result::Result<&[Party], &str>,
) {
    p.section(id, title);
    let list = match list {
        Ok(l) => l,
        Err(why) => {
            p.lead(&format!("Not available: {}.", esc(why)));
            p.end();
            return;
        }
    };
    if list.is_empty() {
        p.lead(&format!("No held line: no {one} to show."));
        p.end();
        return;
    }
    let first = &list[0];
    p.lead(&format!(
        "{} {many} have held lines. Most held: <strong>{}</strong>, {} on {}, mostly for <code>{}</code>.",
        Num::count(list.len() as u64).show(),
        esc(&first.npi),
        money(first.held.charges),
        plural(first.held.lines, "line", "lines"),
        esc(first.reasons.first().map_or("", |r| r.0.as_str())),
    ));
    let shown = &list[..list.len().min(TOP)];
    let bars: Vec<Bar> = shown
        .iter()
        .map(|party| Bar {
            label: party.npi.clone(),
            value: party.held.charges as f64,
            parts: vec![
                Part {
                    text: money(party.held.charges),
                    ptr: None,
                    strong: true,
                },
                Part::plain(format!(
                    " · {} · {} · {}",
                    plural(party.held.lines, "line", "lines"),
                    plural(party.held.claims, "claim", "claims"),
                    party.reasons.first().map_or("", |r| r.0.as_str())
                )),
            ],
            tip: format!(
                "{one} {}: {} held on {} of {}; held for {}",
                party.npi,
                money(party.held.charges),
                plural(party.held.lines, "line", "lines"),
                plural(party.held.claims, "claim", "claims"),
                reasons(party, 3)
            ),
        })
        .collect();
    p.push(&svg::bars(
        &format!("chart-{id}"),
        &format!("Held charges by {one}"),
        &format!(
            "The {} {many} with the most held charges, with lines, claims and the rule most of their held lines were held for",
            shown.len()
        ),
        &bars,
        svg::HELD,
    ));
    let _ = write!(
        p.out,
        "<table><thead><tr><th>{} NPI</th><th class=\"n\">Lines</th><th class=\"n\">Claims</th>\
         <th class=\"n\">Charges</th><th>Held for (lines)</th></tr></thead><tbody>",
        esc(&capitalise(one))
    );
    for party in shown {
        let _ = write!(
            p.out,
            "<tr><td><code>{}</code></td>{}<td>{}</td></tr>",
            esc(&party.npi),
            tally_tds(&party.held),
            esc(&reasons(party, 3))
        );
    }
    more_row(
        p,
        &list[shown.len()..],
        many,
        |x| (x.held.lines, x.held.charges),
        5,
    );
    p.push("</tbody></table>");
    p.note("Held for: the rules that held the claims of these lines (a claim held whole counts all its lines).");
    p.end();
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The "and K more" row of a cut list: their lines and charges summed.
fn more_row<T>(p: &mut Page, rest: &[T], what: &str, f: impl Fn(&T) -> (u64, i64), cols: usize) {
    if rest.is_empty() {
        return;
    }
    let (lines, charges) = rest
        .iter()
        .map(&f)
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let _ = write!(
        p.out,
        "<tr class=\"more\"><td colspan=\"{cols}\">and {} more {what}: {} held on {}</td></tr>",
        Num::count(rest.len() as u64).show(),
        money(charges),
        plural(lines, "line", "lines")
    );
}

fn weeks(p: &mut Page, r: &Report) {
    p.section("weeks", &format!("Held charges by service {}", r.period));
    if r.periods.is_empty() {
        p.lead("No held line.");
        p.end();
        return;
    }
    let worst = r
        .periods
        .iter()
        .max_by(|a, b| a.charges.cmp(&b.charges).then(b.start.cmp(&a.start)))
        .expect("not empty");
    let of = match r.period {
        "week" => "week of ",
        _ => "",
    };
    p.lead(&format!(
        "Worst {}: {}{}, {} held on {}.",
        r.period,
        of,
        esc(&worst.label),
        money(worst.charges),
        plural(worst.lines, "line", "lines")
    ));
    let cols: Vec<Column> = r
        .periods
        .iter()
        .map(|w| Column {
            label: short_label(r.period, &w.label),
            value: w.charges as f64,
            // whole currency units above the columns, the cents in the tooltip and the table
            text: if w.charges == 0 {
                String::new()
            } else {
                Num::count(((w.charges + 500_000) / 1_000_000) as u64).show()
            },
            tip: format!(
                "{}{}: {} held on {}",
                capitalise(of),
                w.label,
                money(w.charges),
                plural(w.lines, "line", "lines")
            ),
        })
        .collect();
    p.push(&svg::columns(
        "chart-weeks",
        &format!("Held charges by service {}", r.period),
        &format!(
            "Held charges of each service {} from {} to {}, written above each column in whole currency units",
            r.period,
            r.periods[0].label,
            r.periods[r.periods.len() - 1].label
        ),
        &cols,
    ));
    p.push("<details><summary>The numbers</summary><table><thead><tr>");
    let _ = write!(
        p.out,
        "<th>{}</th><th class=\"n\">Lines</th><th class=\"n\">Charges</th></tr></thead><tbody>",
        esc(&capitalise(&format!("{} starting", r.period)))
    );
    for w in &r.periods {
        let _ = write!(
            p.out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&w.label),
            Num::count(w.lines).show(),
            money(w.charges)
        );
    }
    p.push("</tbody></table></details>");
    if r.undated > 0 {
        p.note(&format!(
            "{} held lines have a service date that does not read and are not in the chart.",
            Num::count(r.undated).show()
        ));
    }
    p.end();
}

/// `2026-06-01` → `Jun 1` under a weekly column; months and years as they are.
fn short_label(period: &str, label: &str) -> String {
    if period != "week" {
        return label.to_string();
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut it = label.split('-');
    match (it.next(), it.next(), it.next()) {
        (Some(_), Some(m), Some(d)) => match (m.parse::<usize>(), d.parse::<u32>()) {
            (Ok(m @ 1..=12), Ok(d)) => format!("{} {d}", MONTHS[m - 1]),
            _ => label.to_string(),
        },
        _ => label.to_string(),
    }
}

fn prescriptions(p: &mut Page, r: &Report) {
    p.section(
        "prescriptions",
        "Prescriptions over their authorised sessions",
    );
    p.not_checked_of(&["RX_SESSIONS_EXCEEDED"]);
    if r.rx.is_empty() {
        p.lead("No visit beyond a prescription's authorised sessions.");
        p.end();
        return;
    }
    let first = &r.rx[0];
    p.lead(&format!(
        "{} visits beyond their authorised sessions. Furthest over: <code>{}</code> of patient <code>{}</code>, \
         visit {} of {} authorised. Ask the prescribers for new authorisations before these visits are billed.",
        if r.rx.len() == 1 {
            "1 prescription has".to_string()
        } else {
            format!("{} prescriptions have", Num::count(r.rx.len() as u64).show())
        },
        esc(&first.rx_id),
        esc(&first.patient_id),
        first.last_visit,
        first.authorised
    ));
    p.push(
        "<table><thead><tr><th>Prescription</th><th>Patient</th><th>Payer type</th><th class=\"n\">Authorised</th>\
         <th class=\"n\">Last visit</th><th class=\"n\">Visits over</th><th>Visits before this batch</th>\
         <th class=\"n\">Lines</th><th class=\"n\">Claims</th><th class=\"n\">Charges</th></tr></thead><tbody>",
    );
    let shown = &r.rx[..r.rx.len().min(TOP_LONG)];
    for x in shown {
        let _ = write!(
            p.out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{}</td>{}</tr>",
            esc(&x.rx_id),
            esc(&x.patient_id),
            esc(&x.payer_type),
            x.authorised,
            x.last_visit,
            x.visits_over,
            // "1 used before this batch" reads "1" under its heading; with the state, as it is
            esc(x.before.strip_suffix(" used before this batch").unwrap_or(&x.before)),
            tally_tds(&x.held)
        );
    }
    more_row(
        p,
        &r.rx[shown.len()..],
        "prescriptions",
        |x| (x.held.lines, x.held.charges),
        10,
    );
    p.push("</tbody></table>");
    p.note(
        "From the evidence of the RX_SESSIONS_EXCEEDED findings. A prescription still within its count makes no finding, \
         so the outputs name only those already over.",
    );
    p.end();
}

fn diagnoses(p: &mut Page, r: &Report) {
    p.section("diagnoses", "Diagnosis codes to correct");
    p.not_checked_of(&["DX_UNKNOWN", "DX_NOT_BILLABLE"]);
    if r.dx.is_empty() {
        p.lead("No header, unknown or mistyped diagnosis code.");
        p.end();
        return;
    }
    let first = &r.dx[0];
    p.lead(&format!(
        "Most common: <code>{}</code> ({}) on {}{}.",
        esc(&first.code),
        first.problem.words(),
        plural(first.held.lines, "line", "lines"),
        if first.instead.is_empty() {
            String::new()
        } else {
            format!(": {}", esc(&first.instead))
        }
    ));
    p.push(
        "<table><thead><tr><th>Code</th><th>Problem</th><th>Code set</th><th class=\"n\">Lines</th><th class=\"n\">Claims</th>\
         <th class=\"n\">Charges</th><th>Bill instead</th></tr></thead><tbody>",
    );
    let shown = &r.dx[..r.dx.len().min(TOP_LONG)];
    for d in shown {
        let _ = write!(
            p.out,
            "<tr><td><code>{}</code></td><td>{} <span class=\"note\">({})</span></td><td>{}</td>{}<td>{}</td></tr>",
            esc(&d.code),
            d.problem.words(),
            d.problem.rule(),
            d.fiscal_years
                .iter()
                .map(|y| format!("FY{y}"))
                .collect::<Vec<_>>()
                .join(", "),
            tally_tds(&d.held),
            if d.instead.is_empty() {
                "<span class=\"note\">no suggestion</span>".to_string()
            } else {
                esc(&d.instead)
            }
        );
    }
    more_row(
        p,
        &r.dx[shown.len()..],
        "codes",
        |d| (d.held.lines, d.held.charges),
        7,
    );
    p.push("</tbody></table>");
    p.note(
        "Headers: the billable codes under them, as the findings name them. Unknown and mistyped codes: the nearest codes \
         of the built-in ICD-10-CM set (the code itself or its longest prefix there), to be checked against the chart.",
    );
    p.end();
}

fn ncci(p: &mut Page, r: &Report) {
    p.section("ncci", "NCCI procedure-to-procedure pairs");
    p.not_checked_of(&["NCCI_PTP_CONFLICT"]);
    if r.pairs.is_empty() {
        p.lead("No line denied by an NCCI pair.");
        p.end();
        return;
    }
    let first = &r.pairs[0];
    p.lead(&format!(
        "<code>{}</code> beside <code>{}</code> is denied most: {} held on {}.",
        esc(&first.column2),
        esc(&first.column1),
        money(first.held.charges),
        plural(first.held.lines, "line", "lines")
    ));
    p.push(
        "<table><thead><tr><th>Denied code</th><th>Beside</th><th>Edit</th><th>Payer types</th><th class=\"n\">Lines</th>\
         <th class=\"n\">Claims</th><th class=\"n\">Charges</th><th>What to do</th></tr></thead><tbody>",
    );
    let shown = &r.pairs[..r.pairs.len().min(TOP_LONG)];
    for x in shown {
        let _ = write!(
            p.out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}, modifier indicator {}</td><td>{}</td>{}<td>{}</td></tr>",
            esc(&x.column2),
            esc(&x.column1),
            esc(&x.source),
            esc(&x.indicator),
            esc(&x.payers.join(", ")),
            tally_tds(&x.held),
            if x.indicator == "0" {
                "no modifier allows the pair: bill one of the two per visit and provider"
            } else {
                "a distinct service may be billed with 59 or XE/XP/XS/XU (or an anatomic modifier) when the notes support it"
            }
        );
    }
    more_row(
        p,
        &r.pairs[shown.len()..],
        "pairs",
        |x| (x.held.lines, x.held.charges),
        8,
    );
    p.push("</tbody></table>");
    p.end();
}

fn therapy(p: &mut Page, r: &Report) {
    p.section("kx", "Medicare therapy threshold (KX)");
    p.not_checked_of(&["KX_MODIFIER_MISSING"]);
    if r.kx.is_empty() && r.review.is_empty() {
        p.lead("No line above a therapy threshold.");
        p.end();
        return;
    }
    let table = |p: &mut Page, rows: &[super::TherapyRow], caption: &str| {
        let _ = write!(
            p.out,
            "<table><caption>{}</caption><thead><tr><th>Therapy</th><th>Year</th><th class=\"n\">Threshold</th>\
             <th class=\"n\">Patients</th><th class=\"n\">Lines</th><th class=\"n\">Claims</th><th class=\"n\">Charges</th></tr></thead><tbody>",
            esc(caption)
        );
        for x in rows {
            let _ = write!(
                p.out,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>{}</tr>",
                esc(&x.bucket),
                x.year,
                esc(&x.threshold),
                Num::count(x.patients).show(),
                tally_tds(&x.lines)
            );
        }
        p.push("</tbody></table>");
    };
    if r.kx.is_empty() {
        p.lead("No line above the KX threshold lacks KX.");
    } else {
        let patients: u64 = r.kx.iter().map(|x| x.patients).sum();
        let lines: u64 = r.kx.iter().map(|x| x.lines.lines).sum();
        p.lead(&format!(
            "{} above the year's therapy threshold lack KX on {}: add KX where the care is medically necessary.",
            plural(patients, "patient", "patients"),
            plural(lines, "line", "lines")
        ));
        table(p, &r.kx, "KX_MODIFIER_MISSING (held)");
    }
    if !r.review.is_empty() {
        table(
            p,
            &r.review,
            "THERAPY_REVIEW_THRESHOLD (a warning: above the medical-review amount; not held)",
        );
    }
    p.end();
}

fn warnings(p: &mut Page, r: &Report) {
    p.section("warnings", "Warnings (reported, not held)");
    if r.warnings.is_empty() {
        p.lead("No warning.");
        p.end();
        return;
    }
    p.lead("These findings do not hold a claim; the lines may have gone out clean.");
    p.push(
        "<table><thead><tr><th>Rule</th><th>Meaning</th><th class=\"n\">Lines</th><th class=\"n\">Claims</th>\
         <th class=\"n\">Charges</th><th class=\"n\">Findings</th></tr></thead><tbody>",
    );
    for w in &r.warnings {
        let _ = write!(
            p.out,
            "<tr><td><code>{}</code></td><td>{}<br><span class=\"note\">{}</span></td>{}{}{}{}</tr>",
            esc(&w.id),
            esc(w.meaning),
            esc(action(&w.id)),
            td(&w.lines),
            td(&w.claims),
            td(&w.charges),
            td(&w.findings)
        );
    }
    p.push("</tbody></table>");
    p.end();
}

fn not_checked(p: &mut Page, r: &Report) {
    p.section("not-checked", "Not checked");
    if r.not_checked.is_empty() {
        p.lead("Every rule was checked.");
    } else {
        p.lead(
            "Rules the scrub could not check fully; findings of these kinds may be missing above.",
        );
        p.push("<ul>");
        for (rule, why) in &r.not_checked {
            let _ = write!(p.out, "<li><code>{}</code>: {}</li>", esc(rule), esc(why));
        }
        p.push("</ul>");
    }
    if !r.unread.is_empty() {
        let list: Vec<String> = r
            .unread
            .iter()
            .map(|(rule, n)| format!("{} {}", Num::count(*n).show(), esc(rule)))
            .collect();
        p.note(&format!(
            "Findings whose message the report could not read (left out of the tables above, counted in the rules): {}.",
            list.join(", ")
        ));
    }
    p.end();
}

fn footer(p: &mut Page, r: &Report) {
    let inputs: Vec<String> = r
        .inputs
        .iter()
        .map(|(name, file, rows, malformed)| {
            format!(
                "{} (<code>{}</code>): {} rows read, {} malformed",
                esc(name),
                esc(file),
                span(rows),
                span(malformed)
            )
        })
        .collect();
    let _ = write!(
        p.out,
        "<footer><p>Inputs: {}. Claim lines read: {}.</p><p>Built by <code>claimscrub report</code> from \
         <code>summary.json</code>, <code>rejections.csv</code> and <code>held.csv</code> of <code>{}</code>. \
         Rule, payer-type and total figures are summary.json's; CARC, therapist, prescriber, week, prescription, \
         diagnosis, NCCI and KX figures are counted from the files. The page loads nothing and sends nothing.</p></footer>",
        inputs.join("; "),
        span(&r.lines_read),
        esc(&r.dir)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            esc("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            esc("<script>a&b</script>'"),
            "&lt;script&gt;a&amp;b&lt;/script&gt;&#39;"
        );
        assert_eq!(esc("C-1\u{1b}[31m"), "C-1\\u{1b}[31m");
    }

    #[test]
    fn week_labels_under_columns() {
        assert_eq!(short_label("week", "2026-06-01"), "Jun 1");
        assert_eq!(short_label("month", "2026-06"), "2026-06");
    }
}
