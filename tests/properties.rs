//! Properties over random valid batches (issue 14): the outputs are a function of the batch and
//! the rules alone, byte for byte — not of the thread count, the number of parts, the run, or the
//! form the same rows arrive in (CSV, Parquet, 837P). And random damage to a valid batch never
//! panics and never loses a row.
//!
//! The batches are those of `claimscrub generate` (random patients, documents and planted defects
//! of every rule) over a few seeds, sizes and defect rates. `CLAIMSCRUB_PROPERTY_SEEDS=a,b,c`
//! runs other seeds (a failure names its seed, so that it can be run again alone).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{bin, scratch};

/// (seed, claim lines, defect rate) of the batches every property runs on.
fn cases() -> Vec<(u64, u64, f64)> {
    if let Ok(seeds) = std::env::var("CLAIMSCRUB_PROPERTY_SEEDS") {
        return seeds
            .split(',')
            .map(|s| {
                let seed: u64 = s
                    .trim()
                    .parse()
                    .expect("CLAIMSCRUB_PROPERTY_SEEDS: numbers");
                // size and rate follow from the seed, so that a seed names its batch
                (
                    seed,
                    500 + seed % 4000,
                    [0.02, 0.1, 0.3, 0.6][seed as usize % 4],
                )
            })
            .collect();
    }
    vec![(11, 2500, 0.1), (12, 900, 0.6), (13, 4000, 0.02)]
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{what}: exit {:?}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A generated batch in `dir` (claims as CSV or as 837P).
fn generate(dir: &Path, (seed, claims, rate): (u64, u64, f64), format: &str) {
    let o = bin()
        .args(["generate", "--claims", &claims.to_string()])
        .args([
            "--seed",
            &seed.to_string(),
            "--defect-rate",
            &rate.to_string(),
        ])
        .args(["--format", format, "--out"])
        .arg(dir)
        .output()
        .unwrap();
    ok(&o, &format!("generate seed {seed}"));
}

/// `scrub` of the batch in `input` with every rule on (the batch's MUE and NCCI files).
fn scrub(input: &Path, refs: &Path, out: &Path, extra: &[&str]) -> Output {
    let (mue, ncci) = (refs.join("mue.csv"), refs.join("ncci.txt"));
    let mut args = vec![
        "--mue",
        mue.to_str().unwrap(),
        "--ncci",
        ncci.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    common::scrub(input, out, &args)
}

/// Every output file of a run, summary.json without what tells the run rather than the batch.
fn outputs(out: &Path) -> BTreeMap<String, Vec<u8>> {
    outputs_but(out, &[])
}

/// The same, without further keys of summary.json (and without the lines file of a part).
fn outputs_but(out: &Path, keys: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || (keys.contains(&"part") && name == "part-lines.csv") {
            continue;
        }
        let mut bytes = std::fs::read(entry.path()).unwrap();
        if name == "summary.json" {
            let mut v = common::batch_summary(out);
            let m = v.as_object_mut().unwrap();
            for key in keys {
                assert!(m.remove(*key).is_some(), "summary without {key}");
            }
            bytes = serde_json::to_vec_pretty(&v).unwrap();
        }
        files.insert(name, bytes);
    }
    files
}

/// The same files with the same bytes; else the first differing line of the first differing file.
fn assert_same(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: not the same output files"
    );
    for (name, x) in a {
        if let Some(at) = common::line_difference(x, &b[name]) {
            panic!("{what}: {name} differs at {at}");
        }
    }
}

/// Scrub one batch two ways; the outputs must be the same bytes.
fn same_both_ways(
    name: &str,
    prepare: impl Fn(&Path) -> (PathBuf, PathBuf),
    a: &[&str],
    b: &[&str],
) {
    same_but(name, prepare, a, b, &[]);
}

/// The same, but for keys of summary.json that tell the input files rather than their rows.
fn same_but(
    name: &str,
    prepare: impl Fn(&Path) -> (PathBuf, PathBuf),
    a: &[&str],
    b: &[&str],
    keys: &[&str],
) {
    for case in cases() {
        let dir = scratch(&format!("prop_{name}_{}", case.0));
        generate(&dir, case, "csv");
        let (left, right) = prepare(&dir);
        let (out_a, out_b) = (dir.join("out_a"), dir.join("out_b"));
        ok(&scrub(&left, &dir, &out_a, a), name);
        ok(&scrub(&right, &dir, &out_b, b), name);
        let what = format!("seed {} ({} lines, defect rate {})", case.0, case.1, case.2);
        let strip: Vec<&str> = keys.iter().copied().filter(|k| *k != "part").collect();
        let (x, y) = (outputs_but(&out_a, &strip), outputs_but(&out_b, keys));
        assert!(x.contains_key("clean.csv") && x.contains_key("summary.json"));
        assert_same(&x, &y, &format!("{name}, {what}"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn as_is(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.to_path_buf(), dir.to_path_buf())
}

#[test]
fn one_thread_and_two_write_the_same_bytes() {
    same_both_ways("threads", as_is, &["--threads", "1"], &["--threads", "2"]);
}

#[test]
fn one_part_and_seven_write_the_same_bytes() {
    same_both_ways("parts", as_is, &["--parts", "1"], &["--parts", "7"]);
}

#[test]
fn two_runs_write_the_same_bytes() {
    same_both_ways("runs", as_is, &[], &[]);
}

/// The batch as Parquet: `partition --parts 1` writes the three inputs as Parquet (with the line
/// numbers of the CSV in a hidden column, so that malformed rows are told by the same lines). The
/// scrub of a partition's part also writes its lines file and says so in summary.json (`part`);
/// summary.json's `inputs` names the files read.
#[test]
fn csv_and_parquet_inputs_write_the_same_bytes() {
    same_but(
        "parquet",
        |dir| {
            let parts = dir.join("parquet");
            let o = bin()
                .arg("partition")
                .arg(dir)
                .args(["--parts", "1", "--quiet", "--out"])
                .arg(&parts)
                .output()
                .unwrap();
            ok(&o, "partition");
            (dir.to_path_buf(), parts.join("part=0"))
        },
        &[],
        &[],
        &["inputs", "part"],
    );
}

/// The same claims as 837P and as CSV: `generate --format 837` writes the batch's claims as an
/// interchange (leaving out those 837P cannot carry); the CSV is the batch's claims.csv without
/// those claims and with the diagnosis codes as 837P carries them (no dot, SPEC §11). The tables
/// (rejections, clean, held, malformed) are the same bytes.
#[test]
fn csv_and_837p_claims_write_the_same_tables() {
    for case in cases() {
        let dir = scratch(&format!("prop_837_{}", case.0));
        let (csv_dir, x12_dir) = (dir.join("csv"), dir.join("837"));
        generate(&csv_dir, case, "csv");
        generate(&x12_dir, case, "837");
        let left_out: std::collections::BTreeSet<String> = {
            let (h, rows) = common::read_csv(&x12_dir.join("claims_left_out.csv"));
            let c = h.iter().position(|n| n == "claim_id").unwrap();
            rows.into_iter().map(|r| r[c].clone()).collect()
        };
        let (header, rows) = common::read_csv(&csv_dir.join("claims.csv"));
        let dx = header.iter().position(|h| h == "diagnosis_codes").unwrap();
        let mut w = csv::Writer::from_path(csv_dir.join("claims.csv")).unwrap();
        w.write_record(&header).unwrap();
        let date = header.iter().position(|h| h == "service_date").unwrap();
        for mut r in rows.into_iter().filter(|r| !left_out.contains(&r[0])) {
            r[dx] = as_837p_codes(&r[dx]);
            r[date] = iso_date(&r[date]);
            w.write_record(&r).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        let (out_csv, out_837) = (dir.join("out_csv"), dir.join("out_837"));
        ok(&scrub(&csv_dir, &csv_dir, &out_csv, &[]), "scrub csv");
        ok(&scrub(&x12_dir, &x12_dir, &out_837, &[]), "scrub 837");
        let tables = |out: &Path| {
            let mut all = outputs(out);
            all.retain(|name, _| name.ends_with(".csv"));
            all
        };
        let what = format!("837P, seed {}", case.0);
        let (x, y) = (tables(&out_csv), tables(&out_837));
        assert_eq!(x.len(), 4, "{what}: the four tables");
        assert_same(&x, &y, &what);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Diagnosis codes as 837P carries them (HI): upper-cased, and without the dot when the code is of
/// ICD-10-CM form (`[A-Z][0-9][A-Z0-9]`, then up to 4 letters or digits), so that a code of bad
/// format stays one.
fn as_837p_codes(codes: &str) -> String {
    let form = |c: &str| {
        let b = c.as_bytes();
        let rest = c.get(3..).map(|r| r.strip_prefix('.').unwrap_or(r));
        b.len() >= 3
            && b[0].is_ascii_uppercase()
            && b[1].is_ascii_digit()
            && b[2].is_ascii_alphanumeric()
            && rest.is_some_and(|r| {
                (b.len() == 3 || !r.is_empty())
                    && r.len() <= 4
                    && r.bytes()
                        .all(|x| x.is_ascii_digit() || x.is_ascii_uppercase())
            })
    };
    codes
        .split(';')
        .map(|c| {
            let c = c.trim().to_ascii_uppercase();
            if form(&c) {
                c.replace('.', "")
            } else {
                c
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// A date as 837P carries it (DTP*472 is CCYYMMDD, read back as YYYY-MM-DD): M/D/YYYY turned.
fn iso_date(d: &str) -> String {
    let parts: Vec<&str> = d.split('/').collect();
    match parts[..] {
        [m, d, y] => format!("{y}-{m:0>2}-{d:0>2}"),
        _ => d.to_string(),
    }
}

/// SplitMix64: the damage of a round follows from its number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four of the damages a broken export shows: a byte flipped or a stray quote, a
/// separator or line end inserted, a piece cut out, a line doubled, the file cut short, a field
/// swapped for an odd value.
fn damage(bytes: &mut Vec<u8>, rng: &mut Rng) {
    const ODD: &[&[u8]] = &[
        b"",
        b"\"",
        b"\"\"",
        b"-1",
        b"1e309",
        b"99999999999999999999",
        b"2025-02-30",
        b"0000-00-00",
        b"NaN",
        b"\xff\xfe",
        b"\xc3",
        b"=cmd|' /C calc'!A0",
        b"\r",
        b"\t",
        b" ",
        b";;;",
        b"M54.",
        b"\0",
    ];
    for _ in 0..1 + rng.below(4) {
        let n = bytes.len();
        let at = rng.below(n + 1);
        match rng.below(7) {
            0 => {
                if at < n {
                    bytes[at] ^= 1 << rng.below(8);
                }
            }
            1 => bytes.insert(at, [b'"', b',', b'\n', b'\r'][rng.below(4)]),
            2 => {
                let len = rng.below(200).min(n - at);
                bytes.drain(at..at + len);
            }
            3 => {
                let start = bytes[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                let end = bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(n, |p| at + p + 1);
                let line = bytes[start..end].to_vec();
                bytes.splice(end..end, line);
            }
            4 => bytes.truncate(at),
            _ => {
                // the field around `at`, between separators
                let is_sep = |b: &u8| matches!(b, b',' | b'\n');
                let start = bytes[..at].iter().rposition(is_sep).map_or(0, |p| p + 1);
                let end = bytes[at..].iter().position(is_sep).map_or(n, |p| at + p);
                let odd = ODD[rng.below(ODD.len())];
                bytes.splice(start..end.max(start), odd.iter().copied());
            }
        }
    }
}

/// Rows of a written CSV output (held and malformed by their own reading: a record a line or more).
fn rows_of(path: &Path) -> u64 {
    if !path.exists() {
        return 0;
    }
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .unwrap()
        .into_records()
        .count() as u64
}

/// A valid batch damaged at random, round after round: never a panic; exit 2 with one line that
/// names a file and leaves nothing in --out; else every claims row read is in clean, held or
/// malformed (counted in the written files, not taken from the summary alone).
#[test]
fn damaged_batches_never_panic_and_lose_no_row() {
    let rounds: u64 = std::env::var("CLAIMSCRUB_DAMAGE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let dir = scratch("prop_damage");
    let good = dir.join("good");
    generate(&good, (21, 300, 0.3), "csv");
    let files = ["claims.csv", "sessions.csv", "prescriptions.csv"];
    let originals: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(good.join(f)).unwrap())
        .collect();
    let (mut stopped, mut balanced) = (0, 0);
    for round in 0..rounds {
        let mut rng = Rng(round);
        let batch = dir.join("batch");
        let _ = std::fs::remove_dir_all(&batch);
        std::fs::create_dir_all(&batch).unwrap();
        let which = rng.below(3);
        for (i, f) in files.iter().enumerate() {
            let mut bytes = originals[i].clone();
            if i == which {
                damage(&mut bytes, &mut rng);
            }
            std::fs::write(batch.join(f), bytes).unwrap();
        }
        let out = dir.join("out");
        let _ = std::fs::remove_dir_all(&out);
        let o = scrub(&batch, &good, &out, &["--threads", "2"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let what = format!("round {round} (damaged {})", files[which]);
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        match o.status.code() {
            Some(2) => {
                stopped += 1;
                let line = stderr.lines().last().unwrap_or("");
                assert!(
                    line.starts_with("claimscrub: error: ") && line.contains(".csv"),
                    "{what}: an error naming the file, got {stderr}"
                );
                let left: Vec<_> = std::fs::read_dir(&out)
                    .map(|d| d.flatten().map(|e| e.file_name()).collect())
                    .unwrap_or_default();
                assert!(left.is_empty(), "{what}: exit 2 left {left:?} in --out");
            }
            Some(0 | 1) => {
                balanced += 1;
                let s: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap())
                        .unwrap();
                let read = s["accounting"]["claims_rows_read"].as_u64().unwrap();
                assert_eq!(s["accounting"]["balanced"], true, "{what}");
                let malformed_claims = {
                    let (h, rows) = common::read_csv(&out.join("malformed.csv"));
                    let f = h.iter().position(|n| n == "file").unwrap();
                    rows.iter().filter(|r| r[f] == "claims.csv").count() as u64
                };
                let written = rows_of(&out.join("clean.csv"))
                    + rows_of(&out.join("held.csv"))
                    + malformed_claims;
                assert_eq!(
                    read, written,
                    "{what}: claims rows read against clean + held + malformed"
                );
            }
            other => panic!("{what}: exit {other:?}\n{stderr}"),
        }
    }
    // the damage reaches both ends: some batches stop, most are scrubbed
    assert!(
        stopped > 0 && balanced > rounds / 2,
        "{stopped} stopped, {balanced} scrubbed"
    );
}
