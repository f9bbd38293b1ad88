//! `claimscrub generate --nights K`: the nights, scrubbed in order with one `--state` file, find
//! exactly each night's truth.csv; together they are the batch `generate` writes without
//! `--nights`, plus the claims sent again (DUPLICATE_SUBMISSION).

mod common;

use common::{bin, project, read_csv, scratch, scrub_ok};
use std::collections::BTreeSet;
use std::path::Path;

const NIGHTS: usize = 3;

/// A defect-rich batch (a quarter of the patients carry a defect, six times the default), so that
/// in 30,000 lines every way a finding meets an earlier night occurs: a held visit a later night
/// must not count, a visit count or therapy total carried over, a claim sent again.
const DEFECT_RATE: &str = "0.25";

fn generate(out: &Path, lines: &str, seed: &str, threads: &str, nights: Option<&str>) {
    let mut cmd = bin();
    cmd.args(["generate", "--claims", lines, "--seed", seed])
        .args(["--defect-rate", DEFECT_RATE])
        .args(["--threads", threads])
        .arg("--out")
        .arg(out);
    if let Some(k) = nights {
        cmd.args(["--nights", k]);
    }
    let o = cmd.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The number before " in earlier runs" in a message, if any.
fn in_earlier_runs(message: &str) -> Option<u64> {
    let head = &message[..message.find(" in earlier runs")?];
    head.rsplit(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// A claim sent again: the generator gives it the original's claim_id and `R`.
fn resent(claim_id: &str) -> bool {
    claim_id.ends_with('R')
}

#[test]
fn nights_scrubbed_in_order_with_one_state_find_their_truth() {
    let data = scratch("gen-nights");
    generate(&data, "30000", "3", "2", Some("3"));
    let (mue, ncci) = (data.join("mue.csv"), data.join("ncci.txt"));
    let (mue, ncci) = (mue.to_str().unwrap(), ncci.to_str().unwrap());
    let night = |n: usize| data.join(format!("night{n}"));

    // what each night holds, for the checks below
    let mut claims: Vec<Vec<Vec<String>>> = Vec::new();
    let mut truths: Vec<Vec<Vec<String>>> = Vec::new();
    for n in 1..=NIGHTS {
        let (_, c) = read_csv(&night(n).join("claims.csv"));
        let (_, t) = read_csv(&night(n).join("truth.csv"));
        assert!(c.len() > 5_000, "night{n}: only {} lines", c.len());
        claims.push(c);
        truths.push(t);
    }

    // the findings of each night, with their messages, as (claim_id, line_no, rule, message)
    let mut nightly: Vec<Vec<String>> = Vec::new();
    for (name, extra) in [("whole", &[][..]), ("parts3", &["--parts", "3"][..])] {
        let state = scratch(&format!("gen-nights-{name}")).join("state.db");
        let state = state.to_str().unwrap();
        let mut across = 0;
        for n in 1..=NIGHTS {
            let out = scratch(&format!("gen-nights-{name}-out{n}"));
            let mut args = vec!["--mue", mue, "--ncci", ncci, "--state", state];
            args.extend_from_slice(extra);
            scrub_ok(&night(n), &out, &args);
            let (cols, truth) = read_csv(&night(n).join("truth.csv"));
            let found = project(&out.join("rejections.csv"), &cols);
            if found != truth {
                let (f, t): (BTreeSet<_>, BTreeSet<_>) =
                    (found.iter().collect(), truth.iter().collect());
                panic!(
                    "{name}, night{n}: findings differ from truth.csv; not found {:?}; not planted {:?}",
                    t.difference(&f).take(10).collect::<Vec<_>>(),
                    f.difference(&t).take(10).collect::<Vec<_>>()
                );
            }
            let msgs = project(
                &out.join("rejections.csv"),
                &["rule".into(), "message".into()],
            );
            if name == "whole" {
                let cols = ["claim_id", "line_no", "rule", "message"].map(String::from);
                nightly.extend(project(&out.join("rejections.csv"), &cols));
            }
            across += msgs
                .iter()
                .filter(|m| m[0] == "RX_SESSIONS_EXCEEDED")
                .filter(|m| in_earlier_runs(&m[1]).is_some_and(|k| k > 0))
                .count();
        }
        assert!(
            across > 0,
            "{name}: no RX_SESSIONS_EXCEEDED counted visits of earlier runs"
        );
    }

    // every night but the first re-sends claims of the night before, and only those are flagged
    for (n, t) in truths.iter().enumerate() {
        let dup: Vec<&Vec<String>> = t
            .iter()
            .filter(|r| r[2] == "DUPLICATE_SUBMISSION")
            .collect();
        assert_eq!(
            dup.is_empty(),
            n == 0,
            "night{}: {} duplicates",
            n + 1,
            dup.len()
        );
        assert!(dup.iter().all(|r| resent(&r[0])), "night{}", n + 1);
        for r in dup {
            let original = &r[0][..r[0].len() - 1];
            assert!(
                claims[n - 1].iter().any(|c| c[0] == original),
                "{original}: not in night{}",
                n
            );
        }
    }
    // KX: some patient's threshold is passed in a later night on top of lines of an earlier one
    let mut kx_across = 0;
    for n in 1..NIGHTS {
        let earlier: BTreeSet<&str> = claims[..n]
            .iter()
            .flatten()
            .map(|c| c[2].as_str())
            .collect();
        for r in truths[n].iter().filter(|r| r[2] == "KX_MODIFIER_MISSING") {
            let patient = &claims[n].iter().find(|c| c[0] == r[0]).unwrap()[2];
            kx_across += usize::from(earlier.contains(patient.as_str()));
        }
    }
    assert!(kx_across > 0, "no KX_MODIFIER_MISSING across nights");

    // the nights without the re-sent claims are the batch generate writes without --nights
    let whole = scratch("gen-nights-whole-batch");
    generate(&whole, "30000", "3", "2", None);
    let sorted = |rows: Vec<Vec<String>>| {
        let mut v: Vec<Vec<String>> = rows.into_iter().filter(|r| !resent(&r[0])).collect();
        v.sort();
        v
    };
    // and they find what the batch finds, with the same evidence: the same visit numbers and
    // therapy totals (the recorded clean lines stand for the earlier dates), but for where the
    // earlier visits came from
    let out = scratch("gen-nights-whole-batch-out");
    scrub_ok(&whole, &out, &["--mue", mue, "--ncci", ncci]);
    let cols = ["claim_id", "line_no", "rule", "message"].map(String::from);
    let evidence = |rows: Vec<Vec<String>>| {
        let mut v: Vec<Vec<String>> = rows
            .into_iter()
            .filter(|r| !resent(&r[0]))
            .map(|mut r| {
                if r[2] == "RX_SESSIONS_EXCEEDED" {
                    let cut = r[3].find(" (").unwrap_or(r[3].len());
                    r[3].truncate(cut);
                }
                r
            })
            .collect();
        v.sort();
        v
    };
    assert!(
        evidence(nightly) == evidence(project(&out.join("rejections.csv"), &cols)),
        "the nights' findings or messages differ from the batch's"
    );
    for file in ["claims.csv", "truth.csv"] {
        let (_, want) = read_csv(&whole.join(file));
        let got: Vec<Vec<String>> = (1..=NIGHTS)
            .flat_map(|n| read_csv(&night(n).join(file)).1)
            .collect();
        assert!(
            sorted(got) == sorted(want),
            "{file}: the nights are not the batch"
        );
    }
}

#[test]
fn same_seed_same_nights_whatever_the_threads() {
    let a = scratch("gen-nights-seed-a");
    let b = scratch("gen-nights-seed-b");
    generate(&a, "20000", "5", "1", Some("2"));
    generate(&b, "20000", "5", "2", Some("2"));
    for n in ["night1", "night2"] {
        for name in [
            "claims.csv",
            "sessions.csv",
            "prescriptions.csv",
            "truth.csv",
        ] {
            assert!(
                std::fs::read(a.join(n).join(name)).unwrap()
                    == std::fs::read(b.join(n).join(name)).unwrap(),
                "{n}/{name} differs"
            );
        }
    }
    for name in ["mue.csv", "ncci.txt"] {
        assert!(a.join(name).is_file(), "{name} once, beside the nights");
    }
}
