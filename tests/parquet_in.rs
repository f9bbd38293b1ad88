//! Parquet inputs as another tool wrote them (pyarrow 26: `fixtures/parquet/make.py`): typed
//! columns (decimal128 charges in FIXED_LEN_BYTE_ARRAY, int16 line numbers, uint8 units, a
//! dictionary-encoded payer, large strings, timestamps and Spark's INT96 for service dates, date32
//! document dates), several row groups, snappy, zstd, gzip, lz4 and none. They scrub to the
//! findings of the same batch as CSV, whole and in parts; types and codecs claimscrub does not read
//! are exit 2 naming the file and the column.

mod common;

use common::{bin, repo, scratch, scrub_ok};

/// The findings of a scrub without their message (which quotes a date as read).
fn findings(out: &std::path::Path) -> Vec<Vec<String>> {
    common::project(
        &out.join("rejections.csv"),
        &[
            "claim_id".into(),
            "line_no".into(),
            "service_date".into(),
            "rule".into(),
            "charge".into(),
        ],
    )
}

fn lines(path: &std::path::Path) -> usize {
    common::read_csv(path).1.len()
}

#[test]
fn typed_parquet_of_another_writer_scrubs_like_its_csv() {
    let root = repo("fixtures/parquet");
    let mue = root.join("csv/mue.csv");
    let mue = mue.to_str().unwrap();
    let csv_out = scratch("pqin-csv");
    scrub_ok(&root.join("csv"), &csv_out, &["--mue", mue]);
    assert!(!findings(&csv_out).is_empty());
    for dir in ["typed-zstd", "typed-int96-snappy", "typed-gzip-lz4"] {
        for parts in ["1", "3"] {
            let out = scratch(&format!("pqin-{dir}-{parts}"));
            scrub_ok(&root.join(dir), &out, &["--mue", mue, "--parts", parts]);
            assert_eq!(findings(&out), findings(&csv_out), "{dir} in {parts} parts");
            for t in ["clean.csv", "held.csv"] {
                assert_eq!(
                    lines(&out.join(t)),
                    lines(&csv_out.join(t)),
                    "{dir} in {parts} parts: {t}"
                );
            }
        }
    }
}

#[test]
fn a_duration_column_or_a_brotli_file_is_named() {
    let root = repo("fixtures/parquet");
    for (file, says) in [
        ("duration.parquet", "column `wait` has type duration"),
        ("brotli.parquet", "BROTLI"),
    ] {
        let o = bin()
            .arg("scrub")
            .arg(root.join("csv"))
            .arg("--claims")
            .arg(root.join("unreadable").join(file))
            .arg("--out")
            .arg(scratch(&format!("pqin-bad-{file}")))
            .arg("--quiet")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{file}: {stderr}");
        assert!(
            stderr.contains(file) && stderr.contains(says),
            "{file}: {stderr}"
        );
    }
}

/// A Parquet batch read in parts is first written out once as CSV text (each part used to decode
/// every row group again): its four tables are byte for byte those of the same files read whole,
/// and nothing of that text stays in `--out`. A line end in a value keeps the files as Parquet
/// (a record of two lines would move the line numbers after it); the tables are the same again.
#[test]
fn parquet_in_parts_scrubs_byte_for_byte_like_parquet_whole() {
    let gen = scratch("pqparts-gen");
    let o = bin()
        .args(["generate", "--claims", "3000", "--seed", "11", "--out"])
        .arg(&gen)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // a malformed session row at the end, whose line `malformed.csv` tells
    let sessions = std::fs::read_to_string(gen.join("sessions.csv")).unwrap();
    let width = sessions.lines().next().unwrap().split(',').count();
    let mut bad = vec!["S-BAD", "P-1", "1234567893", "2025-13-45"];
    bad.resize(width, "");
    let with_bad = format!("{sessions}{}\n", bad.join(","));
    // the same, with a line end inside the last column of the first row
    let (head, rest) = with_bad.split_once('\n').unwrap();
    let (first, rest) = rest.split_once('\n').unwrap();
    let (fields, last) = first.rsplit_once(',').unwrap();
    let with_line_end = format!("{head}\n{fields},\"{last}\non two lines\"\n{rest}");
    for (name, sessions) in [("plain", with_bad), ("line-end", with_line_end)] {
        let csv = scratch(&format!("pqparts-{name}-csv"));
        let pq = scratch(&format!("pqparts-{name}-pq"));
        std::fs::write(csv.join("sessions.csv"), &sessions).unwrap();
        for f in ["claims.csv", "prescriptions.csv"] {
            std::fs::copy(gen.join(f), csv.join(f)).unwrap();
        }
        for f in ["claims", "sessions", "prescriptions"] {
            common::parquet::csv_to_parquet(
                &csv.join(format!("{f}.csv")),
                &pq.join(format!("{f}.parquet")),
            );
        }
        let mue = gen.join("mue.csv");
        let mue = mue.to_str().unwrap();
        let whole = scratch(&format!("pqparts-{name}-1"));
        let parts = scratch(&format!("pqparts-{name}-4"));
        scrub_ok(&pq, &whole, &["--mue", mue, "--parts", "1"]);
        let o = bin()
            .arg("scrub")
            .arg(&pq)
            .arg("--out")
            .arg(&parts)
            .args(["--mue", mue, "--parts", "4", "--quiet"])
            .env("CLAIMSCRUB_TIMING", "1")
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let as_text = match name {
            "plain" => "claims.parquet, sessions.parquet, prescriptions.parquet",
            _ => "claims.parquet, prescriptions.parquet",
        };
        assert!(
            String::from_utf8_lossy(&o.stderr)
                .contains(&format!("written as CSV text: {as_text} (")),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        for t in ["rejections.csv", "clean.csv", "held.csv", "malformed.csv"] {
            let (a, b) = (
                std::fs::read(whole.join(t)).unwrap(),
                std::fs::read(parts.join(t)).unwrap(),
            );
            assert!(
                a == b,
                "{name}: {t}: {}",
                common::line_difference(&a, &b).unwrap_or_default()
            );
        }
        let malformed = std::fs::read_to_string(parts.join("malformed.csv")).unwrap();
        let rows = sessions.lines().count() - 1 - usize::from(name == "line-end");
        assert!(
            malformed.contains(&format!("sessions.parquet,{},", rows + 1)),
            "{name}: {malformed}"
        );
        let left: Vec<String> = std::fs::read_dir(&parts)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".claimscrub-parquet-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
