//! `--format parquet`: typed columns (SPEC §6 outputs), and the same rows and values as the CSV
//! outputs of the same run.

mod common;

use std::path::Path;

use common::parquet::{read, Table, Value};
use common::{read_csv, repo, scratch, scrub_ok};

const TABLES: [&str; 4] = ["clean", "held", "rejections", "malformed"];

use common::small_batch;

/// Values as users write them: an extra column with quotes and commas, M/D/YYYY dates, padded
/// integers, charges of 0, 1, 3 and 6 decimals, a negative charge, a malformed row.
fn messy_batch(dir: &Path) {
    let claims = format!(
        "{},note\n\
         C-1001,1,P-77,workers_comp,1234567893,1999999992,RX-55,2025-03-10,97140,,2,90,S13.4XXA,\"note, with comma\"\n\
         C-1001,2,P-77,workers_comp,1234567893,1999999992,RX-55,3/10/2025,97124,,1,40.125,S13.4XXA;M54.2,\"say \"\"hi\"\"\"\n\
         C-2001, 1 ,P-90,commercial,1234567893,,,3/11/2025,97124,, 2 ,40.000001,M54.50,=formula\n\
         C-2001,2,P-90,commercial,1234567893,,,2025-03-11,97140,,1,-12.5,M54.50,\n\
         C-2002,1,P-91,commercial,1234567893,,,2025-03-11,97124,,x,40.00,M54.50,bad units\n\
         C-2003,1,P-92,commercial,1234567893,,,2025-03-12,97124,,0,1.5,M54.50,zero units\n",
        common::CLAIMS_HEADER
    );
    std::fs::write(dir.join("claims.csv"), claims).unwrap();
    std::fs::write(
        dir.join("sessions.csv"),
        format!(
            "{}\n\
             S-9001,P-77,1234567893,2025-03-10,97140,25,myofascial,\n\
             S-9001,P-77,1234567893,2025-03-10,97124,15,swedish,light\n\
             S-9101,P-90,1234567893,2025-03-11,97124,30,swedish,\n",
            common::SESSIONS_HEADER
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("prescriptions.csv"),
        format!(
            "{}\nRX-55,P-77,1999999992,prescription,S13.4XXA;M54.2,12,2025-02-15,2025-05-15,2,97124;97140,,,3\n",
            common::PRESCRIPTIONS_HEADER
        ),
    )
    .unwrap();
}

fn read_parquet(path: &Path) -> Table {
    read(path)
}

/// The type a Parquet output gives a column (by table and name).
fn expected_type(table: &str, column: &str) -> &'static str {
    match (table, column) {
        ("clean" | "held" | "rejections", "line_no") => "int",
        ("clean" | "held", "units") => "int",
        ("clean" | "held" | "rejections", "service_date") => "date",
        ("clean" | "held" | "rejections", "charge") => "decimal",
        ("malformed", "line") => "int",
        _ => "text",
    }
}

/// A date as the reader takes it (`YYYY-MM-DD` or `M/D/YYYY`), as ISO.
fn iso(text: &str) -> String {
    let t = text.trim();
    if let Some((m, rest)) = t.split_once('/') {
        let (d, y) = rest.split_once('/').unwrap();
        format!(
            "{y}-{:02}-{:02}",
            m.parse::<u32>().unwrap(),
            d.parse::<u32>().unwrap()
        )
    } else {
        t.to_string()
    }
}

/// A plain decimal written with exactly `scale` places (only zeros may be dropped).
fn at_scale(text: &str, scale: usize) -> String {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    assert!(
        frac.len() <= scale || frac[scale..].bytes().all(|b| b == b'0'),
        "{text} needs more than {scale} places"
    );
    let mut frac: String = frac.chars().take(scale).collect();
    while frac.len() < scale {
        frac.push('0');
    }
    let int = if int.is_empty() || int == "-" {
        format!("{int}0")
    } else {
        int.to_string()
    };
    if scale == 0 {
        int
    } else {
        format!("{int}.{frac}")
    }
}

/// A decimal's value written with its scale's places.
fn decimal_text(v: i128, scale: usize) -> String {
    let unit = 10i128.pow(scale as u32);
    let sign = if v < 0 { "-" } else { "" };
    let (int, frac) = (v.abs() / unit, v.abs() % unit);
    if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac:0width$}", width = scale)
    }
}

/// The Parquet table holds the CSV table's columns, rows and values, with the types of SPEC §6.
fn assert_same_table(table: &str, pq: &Path, csv: &Path) {
    let t = read_parquet(pq);
    let (header, rows) = read_csv(csv);
    assert_eq!(t.names, header, "{table}: columns");
    assert_eq!(t.height(), rows.len(), "{table}: rows");
    for (c, name) in header.iter().enumerate() {
        let want = expected_type(table, name.trim());
        let got_type = &t.types[c];
        let scale = match got_type.strip_prefix("decimal(18,") {
            Some(s) => s.trim_end_matches(')').parse::<usize>().ok(),
            None => None,
        };
        match (want, got_type.as_str()) {
            ("int", "int") | ("date", "date") | ("text", "text") => {}
            ("decimal", _) if scale.is_some_and(|s| s >= 2) => {}
            (w, got) => panic!("{table}.{name}: {got} where {w} is wanted"),
        }
        for (r, row) in rows.iter().enumerate() {
            let csv_value = &row[c];
            let got = &t.rows[r][c];
            let ok = match got {
                Value::Text(s) => s == csv_value,
                Value::Int(v) => csv_value.trim().parse::<i64>() == Ok(*v),
                Value::Date(d) => *d == iso(csv_value),
                Value::Decimal(v, s) => decimal_text(*v, *s) == at_scale(csv_value, *s),
                other => panic!("{table}.{name} row {r}: unexpected value {other:?}"),
            };
            assert!(
                ok,
                "{table}.{name} row {r}: Parquet {got:?}, CSV `{csv_value}`"
            );
        }
    }
}

/// Scrub `input` to CSV and to Parquet; every Parquet table holds what its CSV table holds.
fn assert_parquet_matches_csv(name: &str, input: &Path, extra: &[&str]) -> std::path::PathBuf {
    let csv_out = scratch(&format!("pqout-{name}-csv"));
    let pq_out = scratch(&format!("pqout-{name}-pq"));
    scrub_ok(input, &csv_out, extra);
    let mut args = extra.to_vec();
    args.extend(["--format", "parquet"]);
    scrub_ok(input, &pq_out, &args);
    for t in TABLES {
        assert_same_table(
            t,
            &pq_out.join(format!("{t}.parquet")),
            &csv_out.join(format!("{t}.csv")),
        );
    }
    pq_out
}

/// The scale of the charge column of a Parquet output.
fn charge_scale(path: &Path) -> usize {
    let t = read_parquet(path);
    match t.type_of("charge").strip_prefix("decimal(18,") {
        Some(s) => s.trim_end_matches(')').parse().unwrap(),
        None => panic!("{}: charge is {}", path.display(), t.type_of("charge")),
    }
}

#[test]
fn small_batch_in_parquet_has_typed_columns_and_the_csv_values() {
    let input = scratch("pqout-small-in");
    small_batch(&input);
    let out = assert_parquet_matches_csv("small", &input, &[]);
    assert_eq!(charge_scale(&out.join("clean.parquet")), 2);
    assert_eq!(read_parquet(&out.join("malformed.parquet")).height(), 0);
}

#[test]
fn demo_in_parquet_has_typed_columns_and_the_csv_values() {
    let mue = repo("fixtures/demo/mue-example.csv");
    let out = assert_parquet_matches_csv(
        "demo",
        &repo("fixtures/demo"),
        &["--mue", mue.to_str().unwrap()],
    );
    // the demo has rows of every output
    for t in TABLES {
        assert!(
            read_parquet(&out.join(format!("{t}.parquet"))).height() > 0,
            "{t}"
        );
    }
}

#[test]
fn messy_values_are_typed_as_the_reader_parsed_them() {
    let input = scratch("pqout-messy-in");
    messy_batch(&input);
    let out = assert_parquet_matches_csv("messy", &input, &[]);
    // clean holds 90 and 40.125; held 40.000001, -12.5 and 1.5; rejections the held ones
    assert_eq!(charge_scale(&out.join("clean.parquet")), 3);
    assert_eq!(charge_scale(&out.join("held.parquet")), 6);
    assert_eq!(charge_scale(&out.join("rejections.parquet")), 6);
    let clean = read_parquet(&out.join("clean.parquet"));
    assert_eq!(clean.height(), 2);
    let date = |d: &str| Value::Date(d.into());
    assert_eq!(
        clean.column("service_date"),
        [&date("2025-03-10"), &date("2025-03-10")]
    );
    let held = read_parquet(&out.join("held.parquet"));
    let line_no = held.column("line_no");
    assert_eq!(line_no[0], &Value::Int(1), "` 1 ` is the integer 1");
    let units = held.column("units");
    assert_eq!(units[0], &Value::Int(2));
    assert_eq!(
        units[2],
        &Value::Int(0),
        "units 0 is a finding, not malformed"
    );
    let note = held.column("note");
    assert_eq!(
        note[0],
        &Value::Text("=formula".into()),
        "clean and held keep values as read"
    );
    let malformed = read_parquet(&out.join("malformed.parquet"));
    assert_eq!(malformed.column("line")[0], &Value::Int(6));
}

#[test]
fn parquet_inputs_give_the_same_typed_outputs() {
    let input = scratch("pqout-pqin-csv");
    messy_batch(&input);
    let pq_in = scratch("pqout-pqin-pq");
    for name in ["claims", "sessions", "prescriptions"] {
        common::parquet::csv_to_parquet(
            &input.join(format!("{name}.csv")),
            &pq_in.join(format!("{name}.parquet")),
        );
    }
    let csv_out = scratch("pqout-pqin-csv-out");
    scrub_ok(&input, &csv_out, &[]);
    let pq_out = scratch("pqout-pqin-pq-out");
    scrub_ok(&pq_in, &pq_out, &["--format", "parquet"]);
    // malformed differs by input format (file name, raw text); the claim tables do not
    for t in ["clean", "held", "rejections"] {
        assert_same_table(
            t,
            &pq_out.join(format!("{t}.parquet")),
            &csv_out.join(format!("{t}.csv")),
        );
    }
}
