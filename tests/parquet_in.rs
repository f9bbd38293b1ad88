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
