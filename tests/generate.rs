//! `claimscrub generate`: a generated batch scrubs to exactly the findings it planted, and the
//! batch depends on the seed only.

mod common;

use common::{bin, project, read_csv, scratch, scrub_ok};

fn generate(out: &std::path::Path, lines: &str, seed: &str, threads: &str) {
    let o = bin()
        .args([
            "generate",
            "--claims",
            lines,
            "--seed",
            seed,
            "--threads",
            threads,
            "--out",
        ])
        .arg(out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn findings_of_a_100k_line_batch_equal_its_truth() {
    let data = scratch("gen-100k");
    generate(&data, "100000", "11", "2");
    let (_, claims) = read_csv(&data.join("claims.csv"));
    assert!(
        (100_000..100_100).contains(&claims.len()),
        "{} lines",
        claims.len()
    );
    let out = scratch("gen-100k-out");
    let mue = data.join("mue.csv");
    let ncci = data.join("ncci.txt");
    let (mue, ncci) = (mue.to_str().unwrap(), ncci.to_str().unwrap());
    scrub_ok(&data, &out, &["--mue", mue, "--ncci", ncci]);
    let (cols, truth) = read_csv(&data.join("truth.csv"));
    let found = project(&out.join("rejections.csv"), &cols);
    assert!(truth.len() > 500, "only {} planted findings", truth.len());
    assert!(
        found == truth,
        "findings differ from truth.csv: {} found, {} planted",
        found.len(),
        truth.len()
    );
    // every rule is planted
    let rules: std::collections::BTreeSet<&str> = truth.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(rules.len(), 27, "{rules:?}");
    assert!(
        rules.contains("KX_MODIFIER_MISSING") && rules.contains("THERAPY_REVIEW_THRESHOLD"),
        "{rules:?}"
    );
    assert!(rules.contains("NCCI_PTP_CONFLICT"), "{rules:?}");

    // scrubbed in parts by patient (the file cut in several chunks too), the outputs are the same
    for parts in ["2", "7"] {
        let split = scratch(&format!("gen-100k-out-{parts}"));
        scrub_ok(
            &data,
            &split,
            &["--mue", mue, "--ncci", ncci, "--parts", parts],
        );
        for name in ["rejections.csv", "clean.csv", "held.csv", "malformed.csv"] {
            assert!(
                std::fs::read(out.join(name)).unwrap() == std::fs::read(split.join(name)).unwrap(),
                "{name} differs with --parts {parts}"
            );
        }
        let summary = |dir: &std::path::Path| {
            let mut v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
            // what differs between two runs by design: when and how each was started
            for key in ["elapsed_seconds", "started_at", "command_line"] {
                v[key] = serde_json::Value::Null;
            }
            v
        };
        assert_eq!(
            summary(&out),
            summary(&split),
            "summary.json, --parts {parts}"
        );
    }
}

#[test]
fn same_seed_same_batch_whatever_the_threads() {
    let a = scratch("gen-seed-a");
    let b = scratch("gen-seed-b");
    generate(&a, "20000", "5", "1");
    generate(&b, "20000", "5", "2");
    for name in [
        "claims.csv",
        "sessions.csv",
        "prescriptions.csv",
        "truth.csv",
        "mue.csv",
        "ncci.txt",
    ] {
        assert!(
            std::fs::read(a.join(name)).unwrap() == std::fs::read(b.join(name)).unwrap(),
            "{name} differs"
        );
    }
    let c = scratch("gen-seed-c");
    generate(&c, "20000", "6", "2");
    assert!(
        std::fs::read(a.join("claims.csv")).unwrap()
            != std::fs::read(c.join("claims.csv")).unwrap()
    );
}
