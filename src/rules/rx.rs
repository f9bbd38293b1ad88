//! Prescription rules: the linking findings (RX_MISSING, RX_NOT_FOUND, RX_NOT_A_PRESCRIPTION,
//! RX_BEFORE_START, RX_EXPIRED — decided in `link`), RX_SESSIONS_EXCEEDED, RX_FREQUENCY_EXCEEDED
//! and RX_CPT_NOT_ALLOWED (SPEC §3, §5, §8 "Documents").

use rayon::prelude::*;

use super::catalogue::Rule;
use super::{Context, Finding};
use crate::input::values::{iso, week_of};
use crate::link::{rx_message, DocIndex};

pub fn check(ctx: &Context) -> Vec<Finding> {
    let (mut linking, counted) =
        rayon::join(|| linking_and_cpt(ctx), || sessions_and_frequency(ctx));
    linking.extend(counted);
    linking
}

fn linking_and_cpt(ctx: &Context) -> Vec<Finding> {
    let docs = &ctx.batch.documents;
    let index = DocIndex::new(ctx.batch);
    ctx.batch
        .lines
        .par_iter()
        .zip(&ctx.links.rx)
        .enumerate()
        .flat_map_iter(|(i, (line, link))| {
            let mut out = Vec::new();
            if let Some(rule) = link.finding {
                out.push(Finding::new(
                    i as u32,
                    rule,
                    rx_message(ctx.batch, &index, line, link),
                ));
            }
            if let Some(d) = link.doc {
                let doc = &docs[d as usize];
                if !doc
                    .allowed_cpt
                    .iter()
                    .any(|c| c.as_str() == line.cpt.as_str())
                {
                    let msg = format!(
                        "{} is not ordered by {} (allowed: {})",
                        line.cpt,
                        doc.rx_id,
                        doc.allowed_cpt.join(", ")
                    );
                    out.push(Finding::new(i as u32, Rule::RxCptNotAllowed, msg));
                }
            }
            out
        })
        .collect()
}

/// Visits linked to each prescription, numbered in date order (SPEC §3 "Sessions counted").
fn sessions_and_frequency(ctx: &Context) -> Vec<Finding> {
    let links = ctx.links;
    // (document, visit date, visit, line) of every line linked to a prescription
    let mut linked: Vec<(u32, i32, u32, u32)> = links
        .rx
        .par_iter()
        .enumerate()
        .filter_map(|(i, l)| {
            l.doc.map(|d| {
                (
                    d,
                    links.visits[links.visit_of[i] as usize].date,
                    links.visit_of[i],
                    i as u32,
                )
            })
        })
        .collect();
    linked.par_sort_unstable();
    let groups: Vec<&[(u32, i32, u32, u32)]> = linked.chunk_by(|a, b| a.0 == b.0).collect();
    groups
        .par_iter()
        .flat_map_iter(|group| {
            let doc = &ctx.batch.documents[group[0].0 as usize];
            let mut out = Vec::new();
            let (mut number, mut week, mut in_week) = (doc.sessions_used, i32::MIN, 0i64);
            for visit in group.chunk_by(|a, b| a.2 == b.2) {
                let date = visit[0].1;
                number += 1;
                if week_of(date) != week {
                    (week, in_week) = (week_of(date), 0);
                }
                in_week += 1;
                if let Some(authorized) = doc.authorized_sessions {
                    if number > authorized {
                        let msg = format!(
                            "visit {number} of {authorized} authorised by {} ({} used before this batch)",
                            doc.rx_id, doc.sessions_used
                        );
                        out.extend(visit.iter().map(|v| Finding::new(v.3, Rule::RxSessionsExceeded, msg.clone())));
                    }
                }
                if let Some(freq) = doc.frequency_per_week {
                    if in_week > freq {
                        let msg = format!(
                            "visit {in_week} in the week of {} (Monday to Sunday); {} allows {freq} a week",
                            iso(week),
                            doc.rx_id
                        );
                        out.extend(visit.iter().map(|v| Finding::new(v.3, Rule::RxFrequencyExceeded, msg.clone())));
                    }
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
    fn visits_beyond_the_authorised_count_fire_on_every_linked_line() {
        let mut rx = prescription("RX-7", "P-1", "M54.50", 3, "2025-03-01", "2025-04-30");
        rx.sessions_used = 1;
        let lines = vec![
            line(
                "C-3",
                1,
                "P-1",
                "commercial",
                "2025-03-12",
                "97124",
                1,
                "M54.50",
            ),
            line(
                "C-1",
                1,
                "P-1",
                "commercial",
                "2025-03-03",
                "97124",
                1,
                "M54.50",
            ),
            line(
                "C-2",
                1,
                "P-1",
                "commercial",
                "2025-03-05",
                "97124",
                1,
                "M54.50",
            ),
            line(
                "C-3",
                2,
                "P-1",
                "commercial",
                "2025-03-12",
                "97140",
                1,
                "M54.50",
            ),
        ];
        let f = run(check, lines, vec![], vec![rx]);
        // visits 2 (03-03), 3 (03-05), 4 (03-12): only the last is over
        assert_eq!(
            ids(&f),
            [(0, "RX_SESSIONS_EXCEEDED"), (3, "RX_SESSIONS_EXCEEDED")]
        );
        assert_eq!(
            f[0].2,
            "visit 4 of 3 authorised by RX-7 (1 used before this batch)"
        );
    }

    #[test]
    fn frequency_counts_visits_in_monday_to_sunday_weeks() {
        let mut rx = prescription("RX-1", "P-1", "M54.50", 20, "2025-03-01", "2025-04-30");
        rx.frequency_per_week = Some(2);
        rx.sessions_used = 5;
        let dates = ["2025-03-10", "2025-03-12", "2025-03-16", "2025-03-17"]; // Mon, Wed, Sun, next Mon
        let lines = dates
            .iter()
            .map(|d| line("C-1", 1, "P-1", "commercial", d, "97124", 1, "M54.50"))
            .collect();
        assert_eq!(
            ids(&run(check, lines, vec![], vec![rx])),
            [(2, "RX_FREQUENCY_EXCEEDED")]
        );
    }

    #[test]
    fn procedure_outside_allowed_cpt_fires() {
        let rx = prescription("RX-1", "P-1", "M54.50", 20, "2025-03-01", "2025-04-30");
        let lines = vec![
            line(
                "C-1",
                1,
                "P-1",
                "commercial",
                "2025-03-10",
                "97110",
                1,
                "M54.50",
            ),
            line(
                "C-1",
                2,
                "P-1",
                "commercial",
                "2025-03-10",
                "97140",
                1,
                "M54.50",
            ),
        ];
        assert_eq!(
            ids(&run(check, lines, vec![], vec![rx])),
            [(0, "RX_CPT_NOT_ALLOWED")]
        );
    }

    #[test]
    fn linking_findings_are_reported() {
        let lines = vec![line(
            "C-1",
            1,
            "P-9",
            "commercial",
            "2025-03-10",
            "97124",
            1,
            "M54.50",
        )];
        assert_eq!(ids(&run(check, lines, vec![], vec![])), [(0, "RX_MISSING")]);
    }
}
