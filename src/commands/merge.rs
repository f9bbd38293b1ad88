//! `claimscrub merge`: the outputs of a partition's parts, each scrubbed on its own, joined into
//! the outputs one `scrub` of the whole batch gives, row for row and in the same order.
//!
//! A part's scrub saw only its own patients. Merging puts every row back in input order (by each
//! line's line in the original claims file, from `part-lines.csv`), holds again the claims whose
//! lines fell into several parts or that have a malformed row (the partition kept those rows),
//! tells again an RX_NOT_FOUND whose number another part's patient holds, and counts the summary
//! over the whole batch. Rows are streamed: memory grows with the claims, not with the text.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use compact_str::CompactString;
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{json, Value};

use super::partition::{Manifest, MALFORMED_ROWS, PART_LINES};
use crate::base::values::parse_date;
use crate::hold::{hold_rules, HoldMode, MALFORMED_BIT};
use crate::input::parquet::ParquetFile;
use crate::input::INPUTS;
use crate::model::Malformed;
use crate::output::summary::{self, money};
use crate::output::tables::{defuse, TableWriter};
use crate::output::Staging;
use crate::rules::Rule;

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The output folders of the parts' scrubs (`scrub DIR/part=K --out PART_OUT`), one per part,
    /// in any order.
    #[arg(required = true, value_name = "PART_OUT")]
    pub parts: Vec<PathBuf>,
    /// Folder for the merged outputs (created when missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The partition folder (default: the one the parts' scrubs read, from their summaries).
    #[arg(long, value_name = "DIR")]
    pub partition: Option<PathBuf>,
    /// No closing table.
    #[arg(long)]
    pub quiet: bool,
}

/// One part's outputs.
struct Part {
    dir: PathBuf,
    summary: Value,
    k: usize,
}

fn read_summary(dir: &Path) -> Result<Value> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{}: cannot read it: not the outputs of a finished scrub",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a summary", path.display()))
}

/// The summary without the fields that differ from part to part, to compare the flags.
fn flags_of(s: &Value) -> Value {
    let mut code_sets = s["code_sets"].clone();
    for c in code_sets.as_array_mut().into_iter().flatten() {
        if let Some(m) = c.as_object_mut() {
            m.remove("lines_checked");
        }
    }
    let mut state = s["state"].clone();
    if let Some(m) = state.as_object_mut() {
        m.remove("earlier_lines_read");
    }
    let p = &s["part"];
    json!({
        "claimscrub version": s["claimscrub_version"],
        "--hold": s["hold"],
        "policy": s["policy"],
        "policy profiles": p["profiles"],
        "--mue": s["mue_table"],
        "--ncci": s["ncci_files"],
        "NCCI edits": s["ncci_edits"],
        "code sets (--icd10)": code_sets,
        "--state": state,
        "--fail-on-hold": p["fail_on_hold"],
        "--format": p["format"],
        "--defuse-formulas": p["defuse_formulas"],
    })
}

/// Bytes read ahead per file: four files of every part are open at once.
const READ_BUFFER: usize = 64 << 10;

/// A file of a part's outputs; `why` says what its absence means.
fn open(path: &Path, why: &str) -> Result<File> {
    File::open(path).map_err(|e| {
        if e.raw_os_error() == Some(24) {
            anyhow::anyhow!(
                "{}: too many open files: merge keeps four files of every part open; raise the limit (ulimit -n) to four per part and a few more",
                path.display()
            )
        } else {
            anyhow::anyhow!("{}: cannot read it: {why}: {e}", path.display())
        }
    })
}

/// CSV records as written, one at a time: a record ends at a line break outside quotes.
struct Rows {
    r: BufReader<File>,
    path: PathBuf,
    rows: u64,
}

impl Rows {
    /// The file, and its header line.
    fn open(path: &Path) -> Result<(Rows, Vec<u8>)> {
        let f = open(path, "the part's scrub did not finish")?;
        let mut rows = Rows {
            r: BufReader::with_capacity(READ_BUFFER, f),
            path: path.into(),
            rows: 0,
        };
        let mut header = Vec::new();
        if !rows.next(&mut header)? {
            bail!("{}: empty, without its header", path.display());
        }
        rows.rows = 0;
        Ok((rows, header))
    }

    /// The next record into `buf` (with its line break); false at the end.
    fn next(&mut self, buf: &mut Vec<u8>) -> Result<bool> {
        buf.clear();
        let mut quotes = 0usize;
        loop {
            let from = buf.len();
            let n = self
                .r
                .read_until(b'\n', buf)
                .with_context(|| format!("{}: read error", self.path.display()))?;
            if n == 0 {
                if buf.is_empty() {
                    return Ok(false);
                }
                bail!(
                    "{}: the last record is cut short (record {})",
                    self.path.display(),
                    self.rows + 1
                );
            }
            quotes += memchr::memchr_iter(b'"', &buf[from..]).count();
            if quotes.is_multiple_of(2) && buf.ends_with(b"\n") {
                self.rows += 1;
                return Ok(true);
            }
        }
    }

    /// The next record, which must be there.
    fn expect(&mut self, buf: &mut Vec<u8>, lines: &Path) -> Result<()> {
        if !self.next(buf)? {
            bail!(
                "{}: fewer rows than {} names; the part's outputs are not of one scrub",
                self.path.display(),
                lines.display()
            );
        }
        Ok(())
    }

    fn at_end(&mut self, buf: &mut Vec<u8>) -> Result<()> {
        if self.next(buf)? {
            bail!(
                "{}: more rows than its part's {PART_LINES} names; the part's outputs are not of one scrub",
                self.path.display()
            );
        }
        Ok(())
    }
}

/// One claim line of a part, from `part-lines.csv`.
struct Line {
    origin: u64,
    decision: u32,
    found: u32,
    payer: usize,
    charge: i64,
    claim_id: CompactString,
    rx_id: CompactString,
    patient_id: String,
}

/// `part-lines.csv` of one part, line by line.
struct Lines {
    r: csv::Reader<BufReader<File>>,
    rec: csv::StringRecord,
    path: PathBuf,
    last: Option<u64>,
    profiles: usize,
}

impl Lines {
    fn open(dir: &Path, profiles: usize) -> Result<Lines> {
        let path = dir.join(PART_LINES);
        let f = open(&path, "not the outputs of a scrub of a partition's part")?;
        Ok(Lines {
            r: csv::ReaderBuilder::new().from_reader(BufReader::with_capacity(READ_BUFFER, f)),
            rec: csv::StringRecord::new(),
            path,
            last: None,
            profiles,
        })
    }

    fn next(&mut self) -> Result<Option<Line>> {
        let bad = |path: &Path, line: u64, what: &str| {
            anyhow::anyhow!("{}: line {line}: {what}", path.display())
        };
        if !self
            .r
            .read_record(&mut self.rec)
            .with_context(|| format!("{}: not readable", self.path.display()))?
        {
            return Ok(None);
        }
        let line = self.rec.position().map_or(0, |p| p.line());
        let r = &self.rec;
        if r.len() != 8 {
            return Err(bad(&self.path, line, "expected 8 fields"));
        }
        let num = |i: usize| -> Result<i64> {
            r[i].parse::<i64>().map_err(|_| {
                bad(
                    &self.path,
                    line,
                    &format!("field {} is not a number", i + 1),
                )
            })
        };
        let l = Line {
            origin: num(0)? as u64,
            decision: num(1)? as u32,
            found: num(2)? as u32,
            payer: num(3)? as usize,
            charge: num(4)?,
            claim_id: CompactString::from(&r[5]),
            rx_id: CompactString::from(&r[6]),
            patient_id: r[7].to_string(),
        };
        if l.payer >= self.profiles {
            return Err(bad(&self.path, line, "a payer the policy does not have"));
        }
        if self.last.is_some_and(|o| o >= l.origin) {
            return Err(bad(&self.path, line, "lines out of order"));
        }
        self.last = Some(l.origin);
        Ok(Some(l))
    }
}

/// The malformed rows the partition kept, by input.
fn read_malformed(partition: &Path) -> Result<[Vec<Malformed>; 3]> {
    let path = partition.join(MALFORMED_ROWS);
    let mut r = csv::ReaderBuilder::new()
        .from_path(&path)
        .with_context(|| format!("{}: cannot read it", path.display()))?;
    let mut out: [Vec<Malformed>; 3] = Default::default();
    for rec in r.records() {
        let rec = rec.with_context(|| format!("{}: not readable", path.display()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let input = INPUTS.iter().position(|i| rec.get(0) == Some(*i));
        let (Some(input), 6) = (input, rec.len()) else {
            bail!(
                "{}: line {line}: not a row of malformed rows",
                path.display()
            );
        };
        out[input].push(Malformed {
            file: rec[1].to_string(),
            line: rec[2].parse().map_err(|_| {
                anyhow::anyhow!("{}: line {line}: `line` is not a number", path.display())
            })?,
            error: rec[3].to_string(),
            raw: rec[4].to_string(),
            claim_id: (!rec[5].is_empty()).then(|| rec[5].to_string()),
        });
    }
    Ok(out)
}

/// Every document number of the partition's parts (the prescriptions' rx_id, trimmed).
fn document_numbers(partition: &Path, parts: usize) -> Result<FxHashSet<CompactString>> {
    let mut all = FxHashSet::default();
    for k in 0..parts {
        let path = partition
            .join(format!("part={k}"))
            .join("prescriptions.parquet");
        let file = crate::base::foreign::catch_panic(|| ParquetFile::open(&path))
            .unwrap_or_else(|panic| {
                bail!(
                    "{}: not a readable Parquet file: it is damaged (the Parquet reader stopped: {panic})",
                    path.display()
                )
            })?;
        let Some(c) = file
            .headers
            .iter()
            .position(|n| n.trim().eq_ignore_ascii_case("rx_id"))
        else {
            bail!("{}: no rx_id column", path.display());
        };
        // the rx_id column only, a row group at a time
        let mut want = file.all();
        want.origin = false;
        want.columns
            .iter_mut()
            .enumerate()
            .for_each(|(i, w)| *w = i == c);
        for g in 0..file.groups() {
            let group = file.read_group(g, &want)?;
            let rows = file.group_rows(g);
            all.extend(rows.map(|r| CompactString::from(group.value(r, c).trim())));
        }
    }
    Ok(all)
}

/// Per payer (and in all): lines and charges clean (0) and held (1).
#[derive(Default, Clone)]
struct Side {
    lines: [usize; 2],
    charges: [i64; 2],
}

/// Findings, lines and charges of one rule or payer.
#[derive(Default, Clone)]
struct Tally {
    findings: usize,
    lines: usize,
    charges: i64,
}

/// A claim decided in the merge, as one part saw its lines.
#[derive(Default)]
struct Piece {
    found: u32,
    /// Bit `payer * 2 + held` for each of its lines.
    pairs: u64,
    payer_found: u64,
}

/// Claims counted: in all, clean and held (with lines), per rule with findings, per payer clean
/// and held, per payer with findings.
struct ClaimCounts {
    total: i64,
    outcome: [i64; 2],
    rules: [i64; 32],
    payer_sides: Vec<[i64; 2]>,
    payer_found: Vec<i64>,
}

impl ClaimCounts {
    fn new(payers: usize) -> ClaimCounts {
        ClaimCounts {
            total: 0,
            outcome: [0; 2],
            rules: [0; 32],
            payer_sides: vec![[0; 2]; payers],
            payer_found: vec![0; payers],
        }
    }

    /// The claims a part's summary counts.
    fn add_part(&mut self, s: &Value, profiles: &[String]) {
        let n = |v: &Value| v.as_i64().unwrap_or(0);
        self.total += n(&s["claims"]["total"]);
        self.outcome[0] += n(&s["claims"]["clean"]);
        self.outcome[1] += n(&s["claims"]["held_with_lines"]);
        for r in Rule::all() {
            self.rules[r as usize] += n(&s["rules"][r.id()]["claims"]);
        }
        for (p, name) in profiles.iter().enumerate() {
            let v = &s["payer_types"][name];
            self.payer_sides[p][0] += n(&v["clean_claims"]);
            self.payer_sides[p][1] += n(&v["held_claims"]);
            self.payer_found[p] += n(&v["findings"]["claims"]);
        }
    }

    /// One claim (`sign` 1) or one taken back (-1), from its lines' findings and pairs.
    fn add(&mut self, sign: i64, found: u32, pairs: u64, payer_found: u64) {
        self.total += sign;
        for side in 0..2 {
            let any = (0..self.payer_found.len()).any(|p| pairs >> (p * 2 + side) & 1 == 1);
            self.outcome[side] += sign * any as i64;
            for (p, sides) in self.payer_sides.iter_mut().enumerate() {
                sides[side] += sign * (pairs >> (p * 2 + side) & 1) as i64;
            }
        }
        for (r, n) in self.rules.iter_mut().enumerate() {
            *n += sign * (found >> r & 1) as i64;
        }
        for (p, n) in self.payer_found.iter_mut().enumerate() {
            *n += sign * (payer_found >> p & 1) as i64;
        }
    }
}

impl Tally {
    fn json(&self, claims: i64) -> Value {
        json!({
            "findings": self.findings,
            "lines": self.lines,
            "claims": claims,
            "charges": money(self.charges),
        })
    }
}

pub fn run(args: &MergeArgs) -> Result<i32> {
    let started = std::time::Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    // the parts: each a scrub of one part of one partition
    let mut parts = Vec::new();
    for dir in &args.parts {
        let summary = read_summary(dir)?;
        let Some(k) = summary["part"]["part"].as_u64() else {
            bail!(
                "{}: not the outputs of a scrub of a partition's part (its summary.json has no `part`)",
                dir.display()
            );
        };
        parts.push(Part {
            dir: dir.clone(),
            summary,
            k: k as usize,
        });
    }
    let partition_dir = match &args.partition {
        Some(p) => p.clone(),
        // the scrub read DIR/part=K/claims.parquet
        None => parts[0].summary["inputs"]["claims"]["path"]
            .as_str()
            .and_then(|p| Path::new(p).parent()?.parent().map(Path::to_path_buf))
            .filter(|p| p.join(super::partition::MANIFEST).is_file())
            .with_context(|| {
                format!(
                    "{}: its scrub's partition folder is not at hand here; name it with --partition DIR",
                    parts[0].dir.display()
                )
            })?,
    };
    let manifest = Manifest::read(&partition_dir)?;
    let n = manifest.parts;
    let mut by_k: Vec<Option<usize>> = vec![None; n];
    for (i, p) in parts.iter().enumerate() {
        let id = p.summary["part"]["partition"].as_str().unwrap_or("");
        if id != manifest.partition {
            bail!(
                "{}: a part of partition {id}, not of {} ({}): merge the parts of one partition",
                p.dir.display(),
                manifest.partition,
                partition_dir.display()
            );
        }
        if p.k >= n {
            bail!("{}: part {} of a partition of {n}", p.dir.display(), p.k);
        }
        if let Some(j) = by_k[p.k] {
            bail!(
                "part {} is given twice: {} and {}",
                p.k,
                parts[j].dir.display(),
                p.dir.display()
            );
        }
        by_k[p.k] = Some(i);
    }
    let missing: Vec<String> = (0..n)
        .filter(|k| by_k[*k].is_none())
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "part{} {} of the {n} of partition {} missing: give the outputs of every part's scrub",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            manifest.partition
        );
    }
    let order: Vec<usize> = by_k.into_iter().map(|i| i.expect("every part")).collect();
    parts = {
        let mut slots: Vec<Option<Part>> = parts.into_iter().map(Some).collect();
        order
            .iter()
            .map(|&i| slots[i].take().expect("once"))
            .collect()
    };

    // one scrub's flags for all, over the rows the partition wrote
    let flags = flags_of(&parts[0].summary);
    for p in &parts[1..] {
        let other = flags_of(&p.summary);
        for (key, v) in flags.as_object().expect("an object") {
            if &other[key] != v {
                bail!(
                    "{} was scrubbed with {key} {}, {} with {}: scrub every part with the same flags",
                    p.dir.display(),
                    other[key],
                    parts[0].dir.display(),
                    v
                );
            }
        }
    }
    let first = &parts[0].summary;
    if first["part"]["format"] != "csv" {
        bail!(
            "{}: scrubbed with --format {}; merge joins CSV outputs: scrub the parts with --format csv (the default)",
            parts[0].dir.display(),
            first["part"]["format"]
        );
    }
    let profiles: Vec<String> = first["part"]["profiles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    if profiles != manifest.profiles {
        bail!(
            "{}: scrubbed with a policy of the profiles {}, the partition was cut with {}; give partition and scrub the same --policy",
            parts[0].dir.display(),
            profiles.join(", "),
            manifest.profiles.join(", ")
        );
    }
    for p in &parts {
        for (i, name) in INPUTS.iter().enumerate() {
            let s = &p.summary["inputs"][name];
            let rows = s["rows_read"].as_u64().unwrap_or(u64::MAX) as usize;
            if rows != manifest.part_rows[p.k][i] || s["malformed_rows"].as_u64() != Some(0) {
                bail!(
                    "{}: its scrub read {rows} {name} rows ({} malformed) where part {} of the partition has {}: scrub the part's files as the partition wrote them",
                    p.dir.display(),
                    s["malformed_rows"],
                    p.k,
                    manifest.part_rows[p.k][i]
                );
            }
        }
    }
    let hold = match first["hold"].as_str() {
        Some("line") => HoldMode::Line,
        _ => HoldMode::Claim,
    };
    let fail_on_hold = first["part"]["fail_on_hold"].as_bool().unwrap_or(false);
    for p in &parts {
        if p.dir.canonicalize().ok() == args.out.canonicalize().ok() {
            bail!(
                "--out {}: the outputs of part {}; write the merge to another folder",
                args.out.display(),
                p.k
            );
        }
    }
    crate::output::check_out(&args.out, &[])?;
    // what killed runs left in --out: their staging folders go, an interrupted commit is finished
    for note in crate::output::recover(&args.out)? {
        crate::timing(&note);
    }

    // Most claims lie whole in one part, which decided and counted them right. The others (in
    // several parts, or with a malformed row, which the partition kept) are decided and counted
    // here: first found by the hash of their id (the few hash twins of other claims are merely
    // decided again, alike), then gathered by id. Memory: a hash per claim for a while, then
    // only those claims.
    let reject: u32 = Rule::all()
        .filter(|r| r.is_reject())
        .fold(0, |m, r| m | 1 << r as u32);
    let hash = |id: &str| crate::base::hash::stable_hash(id.as_bytes());
    const SEVERAL: u32 = u32::MAX;
    let mut part_of: FxHashMap<u64, u32> = FxHashMap::default();
    let mut any_unsettled = false;
    for p in &parts {
        let mut lines = Lines::open(&p.dir, profiles.len())?;
        let mut count = 0u64;
        while let Some(l) = lines.next()? {
            count += 1;
            any_unsettled |= !l.rx_id.is_empty();
            let k = p.k as u32;
            part_of
                .entry(hash(&l.claim_id))
                .and_modify(|e| {
                    if *e != k {
                        *e = SEVERAL
                    }
                })
                .or_insert(k);
        }
        if Some(count) != p.summary["part"]["lines"].as_u64() {
            bail!(
                "{}: {count} lines where its summary counts {}: the part's outputs are not of one scrub",
                lines.path.display(),
                p.summary["part"]["lines"]
            );
        }
    }
    let malformed = read_malformed(&partition_dir)?;
    let mut rejoin: FxHashSet<u64> = part_of
        .iter()
        .filter(|(_, k)| **k == SEVERAL)
        .map(|(h, _)| *h)
        .collect();
    drop(part_of);
    rejoin.extend(
        malformed[0]
            .iter()
            .filter_map(|m| m.claim_id.as_deref())
            .map(hash),
    );
    // those claims by id, with the rules their lines have findings of in all parts
    let mut claims: FxHashMap<CompactString, u32> = FxHashMap::default();
    let mut claim_found: Vec<u32> = Vec::new();
    if !rejoin.is_empty() {
        for p in &parts {
            let mut lines = Lines::open(&p.dir, profiles.len())?;
            while let Some(l) = lines.next()? {
                if !rejoin.contains(&hash(&l.claim_id)) {
                    continue;
                }
                let next = claims.len() as u32;
                let c = *claims.entry(l.claim_id).or_insert(next);
                if c == next {
                    claim_found.push(0);
                }
                claim_found[c as usize] |= l.found;
            }
        }
    }
    let mut claim_malformed = vec![false; claims.len()];
    let mut malformed_only: FxHashSet<&str> = FxHashSet::default();
    for id in malformed[0].iter().filter_map(|m| m.claim_id.as_deref()) {
        match claims.get(id) {
            Some(&c) => claim_malformed[c as usize] = true,
            None => {
                malformed_only.insert(id);
            }
        }
    }
    let numbers = if any_unsettled {
        document_numbers(&partition_dir, n)?
    } else {
        FxHashSet::default()
    };

    // every line in input order: its row to clean or held, its findings to rejections
    let staging = Staging::new(&args.out)?;
    let names: Vec<String> = ["rejections.csv", "clean.csv", "held.csv", "malformed.csv"]
        .iter()
        .map(|s| s.to_string())
        .chain(["summary.json".to_string()])
        .collect();
    let create = |name: &str| -> Result<BufWriter<File>> {
        let path = staging.path(name);
        let f =
            File::create(&path).with_context(|| format!("{}: cannot create", path.display()))?;
        Ok(BufWriter::with_capacity(1 << 22, f))
    };
    let (mut rej_w, mut clean_w, mut held_w) =
        (create(&names[0])?, create(&names[1])?, create(&names[2])?);
    struct Cursor {
        lines: Lines,
        clean: Rows,
        held: Rows,
        rejections: Rows,
        line: Option<Line>,
    }
    let mut cursors = Vec::with_capacity(n);
    let mut heap = BinaryHeap::with_capacity(n);
    for p in &parts {
        let (clean, ch) = Rows::open(&p.dir.join("clean.csv"))?;
        let (held, hh) = Rows::open(&p.dir.join("held.csv"))?;
        let (rejections, rh) = Rows::open(&p.dir.join("rejections.csv"))?;
        if p.k == 0 {
            clean_w.write_all(&ch)?;
            held_w.write_all(&hh)?;
            rej_w.write_all(&rh)?;
        }
        let mut lines = Lines::open(&p.dir, profiles.len())?;
        let line = lines.next()?;
        if let Some(l) = &line {
            heap.push(Reverse((l.origin, p.k)));
        }
        cursors.push(Cursor {
            lines,
            clean,
            held,
            rejections,
            line,
        });
    }
    let np = profiles.len();
    let mut payers = vec![Side::default(); np];
    let mut total = Side::default();
    let mut by_rule = vec![Tally::default(); 32];
    let mut by_payer = vec![Tally::default(); np];
    // of the claims decided here: payer and outcome pairs, payers with findings, over all parts
    // and (the parts' counts of them, to take back) per part
    let mut claim_pairs = vec![0u64; claims.len()];
    let mut claim_payer_found = vec![0u64; claims.len()];
    let mut pieces: FxHashMap<(usize, u32), Piece> = FxHashMap::default();
    let (mut row, mut out) = (Vec::new(), Vec::new());
    while let Some(Reverse((_, k))) = heap.pop() {
        let cur = &mut cursors[k];
        let l = cur.line.take().expect("a line under the heap's key");
        let c = if rejoin.is_empty() || !rejoin.contains(&hash(&l.claim_id)) {
            None
        } else {
            claims.get(&l.claim_id).map(|c| *c as usize)
        };
        let decision = match c {
            None => l.decision,
            Some(c) => {
                (match hold {
                    HoldMode::Claim => claim_found[c],
                    HoldMode::Line => l.found,
                } & reject)
                    | if claim_malformed[c] { MALFORMED_BIT } else { 0 }
            }
        };
        // the row as the part wrote it, then as this run writes it
        let lines_path = cur.lines.path.clone();
        let body = if l.decision == 0 {
            cur.clean.expect(&mut row, &lines_path)?;
            &row[..row.len() - 1]
        } else {
            cur.held.expect(&mut row, &lines_path)?;
            let suffix = format!(",{}", hold_rules(l.decision));
            let text = &row[..row.len() - 1];
            if !text.ends_with(suffix.as_bytes()) {
                bail!(
                    "{}: row {} does not end with its hold_rules `{}`",
                    cur.held.path.display(),
                    cur.held.rows + 1,
                    &suffix[1..]
                );
            }
            &text[..text.len() - suffix.len()]
        };
        if decision == 0 {
            clean_w.write_all(body)?;
            clean_w.write_all(b"\n")?;
        } else {
            held_w.write_all(body)?;
            held_w.write_all(b",")?;
            held_w.write_all(hold_rules(decision).as_bytes())?;
            held_w.write_all(b"\n")?;
        }
        // its findings: one row per rule, as the part told them (an unsettled RX_NOT_FOUND
        // whose number is another part's document told again, as one run tells it)
        let retell = !l.rx_id.is_empty() && numbers.contains(&l.rx_id);
        for _ in 0..l.found.count_ones() {
            cur.rejections.expect(&mut row, &lines_path)?;
            if retell {
                out.clear();
                let mut rd = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(&row[..]);
                let mut rec = csv::StringRecord::new();
                rd.read_record(&mut rec)
                    .with_context(|| format!("{}: not readable", cur.rejections.path.display()))?;
                if rec.get(6) == Some(Rule::RxNotFound.id()) {
                    let message =
                        crate::rules::rx_not_found::another_patient(&l.rx_id, &l.patient_id);
                    let fields: Vec<&str> = rec.iter().collect();
                    let mut fields: Vec<std::borrow::Cow<str>> =
                        fields.into_iter().map(Into::into).collect();
                    fields[12] = defuse(&message).into_owned().into();
                    let mut w = csv::WriterBuilder::new()
                        .terminator(csv::Terminator::Any(b'\n'))
                        .from_writer(&mut out);
                    w.write_record(fields.iter().map(|f| f.as_bytes()))?;
                    w.flush()?;
                    drop(w);
                    rej_w.write_all(&out)?;
                    continue;
                }
            }
            rej_w.write_all(&row)?;
        }
        // the summary's counts
        let side = (decision != 0) as usize;
        for s in [&mut payers[l.payer], &mut total] {
            s.lines[side] += 1;
            s.charges[side] += l.charge;
        }
        if let Some(c) = c {
            claim_pairs[c] |= 1 << (l.payer * 2 + side);
            let piece = pieces.entry((k, c as u32)).or_default();
            piece.found |= l.found;
            piece.pairs |= 1 << (l.payer * 2 + (l.decision != 0) as usize);
            if l.found != 0 {
                claim_payer_found[c] |= 1 << l.payer;
                piece.payer_found |= 1 << l.payer;
            }
        }
        for (r, t) in by_rule.iter_mut().enumerate() {
            if l.found & (1 << r) != 0 {
                t.findings += 1;
                t.lines += 1;
                t.charges += l.charge;
            }
        }
        if l.found != 0 {
            let t = &mut by_payer[l.payer];
            t.findings += l.found.count_ones() as usize;
            t.lines += 1;
            t.charges += l.charge;
        }
        cur.line = cur.lines.next()?;
        if let Some(l) = &cur.line {
            heap.push(Reverse((l.origin, k)));
        }
    }
    for cur in &mut cursors {
        cur.clean.at_end(&mut row)?;
        cur.held.at_end(&mut row)?;
        cur.rejections.at_end(&mut row)?;
    }
    for (mut w, name) in [
        (rej_w, &names[0]),
        (clean_w, &names[1]),
        (held_w, &names[2]),
    ] {
        w.flush()
            .with_context(|| format!("{}: write error", staging.path(name).display()))?;
    }
    drop(cursors);
    let mut w = TableWriter::create(&staging.path(&names[3]), &["file", "line", "error", "raw"])?;
    // as the parts' scrub would have written them
    let defused = first["part"]["defuse_formulas"].as_bool().unwrap_or(false);
    let d = |v: &str| -> String {
        if defused {
            defuse(v).into_owned()
        } else {
            v.to_string()
        }
    };
    for m in malformed.iter().flatten() {
        w.row(&[d(&m.file), m.line.to_string(), d(&m.error), d(&m.raw)])?;
    }
    w.finish()?;

    // the summary: the first part's, with every count taken over the whole batch
    let mut s = first.clone();
    let obj = s.as_object_mut().expect("a summary is an object");
    obj.remove("part");
    // claims: as the parts counted them, less their pieces of the claims decided here, plus
    // those claims whole
    let only = malformed_only.len();
    let mut counts = ClaimCounts::new(np);
    for p in &parts {
        counts.add_part(&p.summary, &profiles);
    }
    for ((_, c), piece) in &pieces {
        counts.add(-1, piece.found, piece.pairs, piece.payer_found);
        // a claim whole once, with its first piece
        let c = *c as usize;
        if claim_pairs[c] != 0 {
            counts.add(1, claim_found[c], claim_pairs[c], claim_payer_found[c]);
            claim_pairs[c] = 0;
        }
    }
    let claims_n = counts.total as usize;
    let outcome = counts.outcome.map(|v| v as usize);
    let rules: serde_json::Map<String, Value> = Rule::all()
        .map(|rule| {
            let info = rule.info();
            let mut v = by_rule[rule as usize].json(counts.rules[rule as usize]);
            v["severity"] = info.severity.as_str().into();
            v["carc"] = info.carc.into();
            v["rarc"] = info.rarc.into();
            (info.id.to_string(), v)
        })
        .collect();
    let payer_json: serde_json::Map<String, Value> = (0..np)
        .filter(|p| payers[*p].lines[0] + payers[*p].lines[1] > 0)
        .map(|p| {
            let side = &payers[p];
            let v = json!({
                "clean_lines": side.lines[0], "held_lines": side.lines[1],
                "clean_claims": counts.payer_sides[p][0], "held_claims": counts.payer_sides[p][1],
                "clean_charges": money(side.charges[0]), "held_charges": money(side.charges[1]),
                "findings": by_payer[p].json(counts.payer_found[p]),
            });
            (profiles[p].clone(), v)
        })
        .collect();
    let inputs: serde_json::Map<String, Value> = INPUTS
        .iter()
        .zip(&manifest.inputs)
        .map(|(name, i)| {
            (
                name.to_string(),
                json!({
                    "file": i.file, "path": i.path, "bytes": i.bytes,
                    "rows_read": i.rows_read, "malformed_rows": i.malformed_rows,
                }),
            )
        })
        .collect();
    let mut warnings = manifest.warnings.clone();
    warnings.extend(crate::input::unknown_payer_warnings(
        &manifest.inputs[0].file,
        &malformed[0],
        first["policy"].as_str().unwrap_or(""),
    ));
    let claims_read = manifest.inputs[0].rows_read;
    let malformed_claim_rows = malformed[0].len();
    let sum = total.lines[0] + total.lines[1] + malformed_claim_rows;
    // code sets: lines checked against each, and the lines none covers
    let mut code_sets = first["code_sets"].clone();
    let (mut uncovered, mut span) = (0usize, None::<(i32, i32)>);
    for (i, c) in code_sets.as_array_mut().into_iter().flatten().enumerate() {
        let n: u64 = parts
            .iter()
            .map(|p| {
                p.summary["code_sets"][i]["lines_checked"]
                    .as_u64()
                    .unwrap_or(0)
            })
            .sum();
        c["lines_checked"] = n.into();
    }
    for p in &parts {
        let part = &p.summary["part"];
        uncovered += part["uncovered_lines"].as_u64().unwrap_or(0) as usize;
        let day = |key: &str| part[key].as_str().and_then(|d| parse_date(d).ok());
        if let (Some(a), Some(b)) = (day("uncovered_first"), day("uncovered_last")) {
            span = Some(span.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
        }
    }
    // the reasons that do not depend on the rows come first, as a scrub lists them
    let fixed = first["mue_table"].is_null() as usize
        + !matches!(first["ncci_files"].as_array(), Some(a) if !a.is_empty()) as usize
        + 2 * first["state"].is_null() as usize;
    let mut not_checked: Vec<Value> = first["not_checked"]
        .as_array()
        .map(|a| a.iter().take(fixed).cloned().collect())
        .unwrap_or_default();
    let files = [
        manifest.inputs[0].file.as_str(),
        manifest.inputs[1].file.as_str(),
        manifest.inputs[2].file.as_str(),
    ];
    let reasons = span
        .map(|span| summary::code_set_reasons(uncovered, span).to_vec())
        .unwrap_or_default()
        .into_iter()
        .chain(summary::absent_column_reasons(
            &manifest.absent_columns,
            files,
        ));
    not_checked.extend(reasons.map(|(r, why)| json!({"rule": r.id(), "reason": why})));
    let held_claims = outcome[1] + only;
    let exit_status = i32::from(fail_on_hold && held_claims > 0);
    if obj["state"].is_object() {
        let earlier: u64 = parts
            .iter()
            .map(|p| {
                p.summary["state"]["earlier_lines_read"]
                    .as_u64()
                    .unwrap_or(0)
            })
            .sum();
        obj["state"]["earlier_lines_read"] = earlier.into();
    }
    let command_line: Vec<String> = std::env::args().collect();
    for (key, v) in [
        ("started_at", json!(started_at)),
        ("command_line", json!(command_line)),
        ("exit_status", json!(exit_status)),
        ("inputs", Value::Object(inputs)),
        ("warnings", json!(warnings)),
        (
            "accounting",
            json!({
                "claims_rows_read": claims_read,
                "clean_lines": total.lines[0],
                "held_lines": total.lines[1],
                "malformed_claims_rows": malformed_claim_rows,
                "sum": sum,
                "balanced": claims_read == sum,
            }),
        ),
        (
            "claims",
            json!({
                "total": claims_n + only,
                "clean": outcome[0],
                "held": held_claims,
                "held_with_lines": outcome[1],
                "held_with_only_malformed_rows": only,
                "clean_claim_rate": summary::clean_claim_rate(outcome[0], claims_n + only),
            }),
        ),
        (
            "lines",
            json!({
                "clean": total.lines[0], "held": total.lines[1],
                "clean_charges": money(total.charges[0]), "held_charges": money(total.charges[1]),
            }),
        ),
        ("rules", Value::Object(rules)),
        ("payer_types", Value::Object(payer_json)),
        ("code_sets", code_sets),
        ("not_checked", Value::Array(not_checked)),
        (
            "elapsed_seconds",
            json!((started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0),
        ),
    ] {
        obj.insert(key.to_string(), v);
    }
    let text = serde_json::to_string_pretty(&s)? + "\n";
    std::fs::write(staging.path(&names[4]), text).context("summary.json: write error")?;
    staging.commit(&names, crate::output::OUTPUT_NAMES)?;
    if !args.quiet {
        eprint!(
            "{}",
            summary::table(
                &s,
                &args.out.display().to_string(),
                &args.out.join(&names[3]).display().to_string()
            )
        );
    }
    Ok(exit_status)
}
