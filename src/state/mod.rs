//! The nightly state (SPEC §10): a SQLite database that records every claim line of every completed
//! run, and tells the next runs what earlier nights sent. One run holds the database's write lock
//! from start to end (a second run stops with a clear message), stages its lines part by part in
//! a temporary table, and records them in one transaction that commits only after the outputs are
//! in place: a run that fails or is killed leaves the state as it was. The lines are kept in
//! blocks by run and bucket of patients (`block`); `history` reads them back.

pub mod block;
pub mod history;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use rayon::prelude::*;
use rusqlite::{params, Connection, OpenFlags};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::base::values::{iso, Day};
use crate::facts::{Earlier, EarlierLine, Facts};
use crate::hold::Holding;
use crate::ledger::Ledger;
use crate::model::{Batch, Code};
use crate::reference::policy::Policy;
use block::{bucket_of, key_at, records, BlockData, Record};

/// `PRAGMA application_id` of a claimscrub state ("CLSc").
pub const APPLICATION_ID: i32 = 0x434C_5363;
/// `PRAGMA user_version`: the schema this build reads and writes. 1 kept a row per line (read and
/// upgraded by a run); 2 keeps the lines in blocks.
pub const SCHEMA_VERSION: i32 = 2;

/// The tables of the recorded lines (schema 2), also made when schema 1 is upgraded.
macro_rules! blocks_sql {
    () => {
        "CREATE TABLE blocks (
    block_id INTEGER PRIMARY KEY,
    bucket INTEGER NOT NULL,
    run_id INTEGER NOT NULL, -- the run, whose row in `runs` comes when it ends
    n INTEGER NOT NULL,
    keys BLOB NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX blocks_by_bucket ON blocks (bucket, run_id);
-- a block's outcomes apart from it: the run writes its blocks as the parts are scrubbed and
-- learns what was held only at the end (an UPDATE would rewrite the whole block)
CREATE TABLE outcomes (
    block_id INTEGER PRIMARY KEY REFERENCES blocks (block_id),
    held BLOB NOT NULL
);"
    };
}

const SCHEMA: &str = concat!(
    "
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    inputs TEXT NOT NULL,
    lines INTEGER NOT NULL,
    clean INTEGER NOT NULL,
    held INTEGER NOT NULL,
    malformed INTEGER NOT NULL
);
-- every recorded line, in blocks of one run and one bucket of patients (block.rs): `data` the
-- records one after another, `keys` 16 bytes a record (its claim_id and line_no, hashed), and in
-- `outcomes` one byte a record (1 held, 0 clean). A (claim_id, line_no) is recorded once: a run
-- that records it again removes it from the earlier block.
",
    blocks_sql!(),
    "
-- the physician documents the runs read, latest first: what `history --patient` shows
CREATE TABLE prescriptions (
    patient_id TEXT NOT NULL,
    rx_id TEXT NOT NULL,
    document_type TEXT NOT NULL,
    authorized_sessions INTEGER,
    sessions_used INTEGER NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (patient_id, rx_id)
) WITHOUT ROWID;
"
);

/// A temporary table of one run: the documents as the parts are scrubbed (its lines go to the
/// spill file, see `Spill`).
const STAGING: &str = "
CREATE TEMP TABLE staged_rx (
    patient_id TEXT, rx_id TEXT, document_type TEXT, authorized_sessions INTEGER,
    sessions_used INTEGER, start_date TEXT, end_date TEXT, PRIMARY KEY (patient_id, rx_id))
    WITHOUT ROWID;
";

/// A block the run has written (not yet with its outcomes), and each record's place in the claims
/// file (how `prepare` finds its outcome in the ledger).
struct Staged {
    block_id: i64,
    bucket: i64,
    starts: Vec<u64>,
}

pub struct State {
    conn: Connection,
    pub path: PathBuf,
    /// `--dry-run`: read, record nothing.
    pub dry_run: bool,
    /// The day each recorded run started.
    run_days: FxHashMap<i64, Day>,
    /// Earlier lines read, over all parts (for the summary).
    pub earlier_lines: usize,
    staged: Vec<Staged>,
    /// The file's size when opened (how big the earlier lines are, for the number of parts).
    pub file_bytes: u64,
    /// The run_id this run will have: its blocks are written under it as the parts go.
    run_id: i64,
}

/// The schema version of a claimscrub state, `None` for an empty database (a new state); an error
/// for a file that is no claimscrub state or one this build cannot read.
fn check_schema(conn: &Connection, path: &Path) -> Result<Option<i32>> {
    let app: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if app == 0 && version == 0 && tables == 0 {
        return Ok(None); // an empty database: a new state (e.g. a first run that was killed)
    }
    if app != APPLICATION_ID {
        bail!(
            "--state {}: a SQLite database, but not a claimscrub state (application_id {app}); left untouched",
            path.display()
        );
    }
    if version > SCHEMA_VERSION {
        bail!(
            "--state {}: schema version {version} is newer than this claimscrub's ({SCHEMA_VERSION}); use a newer claimscrub; left untouched",
            path.display()
        );
    }
    if version < 1 {
        bail!(
            "--state {}: schema version {version} is unknown; left untouched",
            path.display()
        );
    }
    Ok(Some(version))
}

/// A SQLite file starts with this header; anything else is refused before SQLite sees it.
fn is_sqlite(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path)
        .with_context(|| format!("--state {}: cannot open", path.display()))?;
    let n = f.read(&mut head)?;
    Ok(n == 0 || (n == 16 && &head == b"SQLite format 3\0"))
}

fn busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn damaged(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "--state {}: a block of recorded lines cannot be read back (the file was changed by another program)",
        path.display()
    )
}

/// Schema 1 kept a row per line in `lines`: move them into blocks, in the open transaction.
fn upgrade_from_1(conn: &Connection) -> Result<()> {
    let mut blocks: FxHashMap<(i64, i64), BlockData> = FxHashMap::default();
    {
        let mut q = conn.prepare(
            "SELECT patient_id, claim_id, line_no, service_date, cpt, modifiers, units,
                    charge_micros, payer_type, rendering_npi, rx_id, outcome, run_id
             FROM lines ORDER BY patient_id, claim_id, line_no",
        )?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            let date: String = r.get(3)?;
            let patient_id = r.get_ref(0)?.as_str()?;
            let rec = Record {
                patient_id,
                claim_id: r.get_ref(1)?.as_str()?,
                line_no: r.get(2)?,
                date: crate::base::values::parse_date(&date)
                    // the date is of a patient's visit: said without it (minimum necessary)
                    .map_err(|_| anyhow::anyhow!("a recorded line of schema 1 has an unreadable service_date (the file was changed by another program)"))?,
                cpt: r.get_ref(4)?.as_str()?,
                modifiers: r.get_ref(5)?.as_str()?,
                units: r.get(6)?,
                charge: r.get(7)?,
                payer_type: r.get_ref(8)?.as_str()?,
                rendering_npi: r.get_ref(9)?.as_str()?,
                rx_id: r.get_ref(10)?.as_str()?,
            };
            let held = r.get_ref(11)?.as_str()? == "held";
            let run: i64 = r.get(12)?;
            blocks
                .entry((bucket_of(patient_id), run))
                .or_default()
                .push(&rec, held);
        }
    }
    conn.execute_batch(concat!("DROP TABLE lines;", blocks_sql!()))?;
    let mut keys: Vec<_> = blocks.keys().copied().collect();
    keys.sort_unstable();
    for k in keys {
        insert_block(conn, k.0, k.1, &blocks[&k])?;
    }
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

/// A block with its outcomes.
fn insert_block(conn: &Connection, bucket: i64, run_id: i64, b: &BlockData) -> Result<()> {
    let id = write_block(conn, bucket, run_id, b)?;
    write_outcomes(conn, id, &b.held)
}

/// A block without its outcomes (they come when the run has held its claims): its block_id.
fn write_block(conn: &Connection, bucket: i64, run_id: i64, b: &BlockData) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO main.blocks (bucket, run_id, n, keys, data) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![bucket, run_id, b.n as i64, b.keys, b.data])?;
    Ok(conn.last_insert_rowid())
}

fn write_outcomes(conn: &Connection, block_id: i64, held: &[u8]) -> Result<()> {
    conn.prepare_cached("INSERT INTO main.outcomes (block_id, held) VALUES (?1, ?2)")?
        .execute(params![block_id, held])?;
    Ok(())
}

/// Remove a block and its outcomes.
fn delete_block(conn: &Connection, block_id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM main.outcomes WHERE block_id = ?1")?
        .execute([block_id])?;
    conn.prepare_cached("DELETE FROM main.blocks WHERE block_id = ?1")?
        .execute([block_id])?;
    Ok(())
}

impl State {
    /// Open (or, when absent and not a dry run, create) the state, and take its write lock.
    pub fn open(path: &Path, dry_run: bool) -> Result<State> {
        let shown = path.display();
        let exists = path.exists();
        if exists && !path.is_file() {
            bail!("--state {shown}: not a file");
        }
        if exists && !is_sqlite(path)? {
            bail!(
                "--state {shown}: not a SQLite database, so not a claimscrub state; left untouched"
            );
        }
        let conn = if dry_run {
            if exists {
                Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
            } else {
                Connection::open_in_memory()
            }
        } else {
            Connection::open(path)
        }
        .with_context(|| format!("--state {shown}: cannot open"))?;
        conn.busy_timeout(std::time::Duration::from_secs(0))?;
        // while the parts are scrubbed a modest page cache (the parts need the memory); `prepare`
        // takes more for the night's writes
        conn.execute_batch(
            "PRAGMA main.cache_size = -16384; PRAGMA temp_store = FILE; PRAGMA temp.cache_size = -4096;",
        )?;
        if !dry_run {
            if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
                if busy(&e) {
                    bail!("--state {shown}: in use by another claimscrub run; run again when it has finished");
                }
                return Err(e).with_context(|| format!("--state {shown}: cannot lock"));
            }
        }
        let version = check_schema(&conn, path).map_err(|e| {
            if let Some(s) = e.downcast_ref::<rusqlite::Error>() {
                if busy(s) {
                    return anyhow::anyhow!("--state {shown}: in use by another claimscrub run; run again when it has finished");
                }
            }
            e
        })?;
        match version {
            None => {
                conn.execute_batch(SCHEMA)
                    .with_context(|| format!("--state {shown}: cannot create the schema"))?;
                conn.pragma_update(None, "application_id", APPLICATION_ID)?;
                conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            }
            Some(1) if dry_run => bail!(
                "--state {shown}: schema version 1, which a run without --dry-run upgrades to {SCHEMA_VERSION} first; left untouched"
            ),
            // upgraded in the run's transaction: a run that fails leaves the old schema
            Some(1) => upgrade_from_1(&conn)
                .with_context(|| format!("--state {shown}: cannot upgrade schema version 1"))?,
            Some(_) => {}
        }
        conn.execute_batch(STAGING)?;
        let run_id: i64 =
            conn.query_row("SELECT coalesce(max(run_id), 0) + 1 FROM runs", [], |r| {
                r.get(0)
            })?;
        let mut run_days = FxHashMap::default();
        {
            let mut q = conn.prepare("SELECT run_id, started_at FROM runs")?;
            let mut rows = q.query([])?;
            while let Some(r) = rows.next()? {
                let (id, at): (i64, String) = (r.get(0)?, r.get(1)?);
                run_days.insert(
                    id,
                    crate::base::values::parse_date(at.get(..10).unwrap_or("")).unwrap_or(0),
                );
            }
        }
        Ok(State {
            conn,
            path: path.to_path_buf(),
            dry_run,
            run_days,
            earlier_lines: 0,
            staged: Vec::new(),
            run_id,
            file_bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
        })
    }

    /// The earlier clean lines of a part's patients, minus the records its lines replace (a line of
    /// the same patient with the same claim_id and line_no).
    pub fn earlier(&mut self, batch: &Batch, policy: &Policy) -> Result<Earlier> {
        let patients: FxHashSet<&str> = batch
            .lines
            .iter()
            .map(|l| batch.claim_text(l.patient_id))
            .collect();
        if patients.is_empty() {
            return Ok(Earlier::new(Vec::new()));
        }
        // the records this batch's lines replace, by patient too: a part holds all of a patient's
        // lines, so a corrected line that moved to another patient is judged the same in any
        // number of parts (its old record counts for the old patient this once, and is replaced)
        let replaced: FxHashSet<(&str, &str, u32)> = batch
            .lines
            .iter()
            .map(|l| {
                (
                    batch.claim_text(l.patient_id),
                    batch.claim_text(l.claim_id),
                    l.line_no,
                )
            })
            .collect();
        let payer_of: FxHashMap<&str, u8> = policy
            .profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i as u8))
            .collect();
        // a part is a range of the patients' hash, so its buckets are one range of blocks
        let (lo, hi) = patients
            .iter()
            .map(|p| bucket_of(p))
            .fold((i64::MAX, i64::MIN), |(lo, hi), b| (lo.min(b), hi.max(b)));
        let blocks: Vec<(i64, Vec<u8>, Vec<u8>)> = {
            let mut q = self.conn.prepare_cached(
                "SELECT b.run_id, o.held, b.data FROM main.blocks b
                 JOIN main.outcomes o ON o.block_id = b.block_id
                 WHERE b.bucket BETWEEN ?1 AND ?2 AND b.run_id < ?3",
            )?;
            let rows = q.query_map([lo, hi, self.run_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let run_days = &self.run_days;
        let path = &self.path;
        let per_block: Vec<Vec<EarlierLine>> = blocks
            .par_iter()
            .map(|(run, held, data)| {
                let run_date = run_days.get(run).copied().unwrap_or(0);
                let mut out = Vec::new();
                for (i, r) in records(data).enumerate() {
                    let r = r.map_err(|_| damaged(path))?;
                    match held.get(i) {
                        Some(0) => {}
                        Some(_) => continue,
                        None => return Err(damaged(path)),
                    }
                    if !patients.contains(r.patient_id)
                        || replaced.contains(&(r.patient_id, r.claim_id, r.line_no))
                    {
                        continue;
                    }
                    out.push(EarlierLine {
                        patient_id: Code::from(r.patient_id),
                        claim_id: r.claim_id.into(),
                        line_no: r.line_no,
                        date: r.date,
                        cpt: Code::from(r.cpt),
                        modifiers: Code::from(r.modifiers),
                        units: r.units,
                        charge: r.charge,
                        payer: payer_of.get(r.payer_type).copied(),
                        rx_id: Code::from(r.rx_id),
                        run_date,
                    });
                }
                Ok(out)
            })
            .collect::<Result<_>>()?;
        drop(blocks);
        let lines: Vec<EarlierLine> = per_block.into_iter().flatten().collect();
        self.earlier_lines += lines.len();
        Ok(Earlier::new(lines))
    }

    /// Stage a scrubbed part's lines (with the prescription each was linked to) and documents.
    pub fn stage(&mut self, batch: &Batch, facts: &Facts, policy: &Policy) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let lines = &batch.lines;
        let mut order: Vec<(i64, u32)> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (bucket_of(batch.claim_text(l.patient_id)), i as u32))
            .collect();
        order.sort_unstable();
        for run in order.chunk_by(|a, b| a.0 == b.0) {
            let mut b = BlockData::default();
            let mut starts = Vec::with_capacity(run.len());
            for &(_, i) in run {
                let l = &lines[i as usize];
                let rx_id = facts.rx[i as usize]
                    .doc
                    .map(|d| batch.documents[d as usize].rx_id.as_str())
                    .unwrap_or("");
                b.push(
                    &Record {
                        patient_id: batch.claim_text(l.patient_id),
                        claim_id: batch.claim_text(l.claim_id),
                        line_no: l.line_no,
                        date: l.date,
                        cpt: l.cpt.as_str(),
                        modifiers: l.modifiers.as_str(),
                        units: l.units,
                        charge: l.charge,
                        payer_type: policy.profiles[l.payer as usize].name.as_str(),
                        rendering_npi: batch.claim_text(l.rendering_npi),
                        rx_id,
                    },
                    false,
                );
                starts.push(l.span.0 as u64);
            }
            // written into the run's open transaction now (nothing is visible before the commit),
            // so that recording the night is only its outcomes
            let block_id = write_block(&self.conn, run[0].0, self.run_id, &b)?;
            self.staged.push(Staged {
                block_id,
                bucket: run[0].0,
                starts,
            });
        }
        let mut ins = self.conn.prepare_cached(
            "INSERT OR REPLACE INTO temp.staged_rx VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for d in &batch.documents {
            ins.execute(params![
                d.patient_id.as_str(),
                d.rx_id.as_str(),
                d.document_type.name(),
                d.authorized_sessions,
                d.sessions_used,
                iso(d.start),
                iso(d.end),
            ])?;
        }
        Ok(())
    }

    /// Write the run into the transaction opened with the state: its lines as `clean` or `held`,
    /// its documents and its row in `runs`. Nothing is visible to others before `commit`, which
    /// comes after the outputs are in place; so this may run while the outputs are written.
    pub fn prepare(&mut self, run: &RunRecord, ledger: &Ledger, holding: &Holding) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let conn = &self.conn;
        // the parts' memory is free now: room for the pages the night's blocks touch
        conn.execute_batch("PRAGMA main.cache_size = -262144; PRAGMA temp.cache_size = -65536;")?;
        let held = holding.decisions.iter().filter(|d| **d != 0).count();
        let run_id = self.run_id;
        conn.execute(
            "INSERT INTO runs (run_id, started_at, ended_at, inputs, lines, clean, held, malformed)
             VALUES (?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                run.started_at,
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                run.inputs.to_string(),
                ledger.lines.len() as i64,
                (ledger.lines.len() - held) as i64,
                held as i64,
                ledger.malformed.iter().map(Vec::len).sum::<usize>() as i64,
                run_id,
            ],
        )?;
        let block = |id: i64, with_data: bool| -> Result<(Vec<u8>, Vec<u8>)> {
            let mut q = conn.prepare_cached(if with_data {
                "SELECT keys, data FROM main.blocks WHERE block_id = ?1"
            } else {
                "SELECT keys, x'' FROM main.blocks WHERE block_id = ?1"
            })?;
            Ok(q.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?)
        };
        // this night's keys, each with the place of its last line (a key twice in one batch: the
        // later line is the record)
        let mut night: Vec<(u128, u64)> =
            Vec::with_capacity(self.staged.iter().map(|s| s.starts.len()).sum());
        for s in &self.staged {
            let (keys, _) = block(s.block_id, false)?;
            night.extend(
                s.starts
                    .iter()
                    .enumerate()
                    .map(|(i, &start)| (key_at(&keys, i), start)),
            );
        }
        crate::timing("state: the night's keys read");
        night.par_sort_unstable();
        // a key twice in the batch: the lines before its last are not recorded (their places)
        let superseded: FxHashSet<u64> = night
            .windows(2)
            .filter(|w| w[0].0 == w[1].0)
            .map(|w| w[0].1)
            .collect();
        let mut keys: Vec<u128> = night.iter().map(|e| e.0).collect();
        drop(night);
        keys.dedup();
        let night = block::KeySet::new(keys);
        crate::timing("state: the night's keys sorted");
        // earlier blocks holding a line this night records again: the record moves to this run
        let mut hit_blocks: Vec<(i64, FxHashSet<usize>)> = Vec::new();
        {
            let mut q = conn.prepare("SELECT block_id, keys FROM main.blocks WHERE run_id < ?1")?;
            let mut rows = q.query([run_id])?;
            let mut chunk: Vec<(i64, Vec<u8>)> = Vec::new();
            let mut check = |chunk: &mut Vec<(i64, Vec<u8>)>| {
                hit_blocks.par_extend(chunk.par_iter().filter_map(|(id, keys)| {
                    let hits: FxHashSet<usize> = (0..keys.len() / 16)
                        .filter(|&i| night.contains(key_at(keys, i)))
                        .collect();
                    (!hits.is_empty()).then_some((*id, hits))
                }));
                chunk.clear();
            };
            while let Some(r) = rows.next()? {
                chunk.push((r.get(0)?, r.get(1)?));
                if chunk.len() == 256 {
                    check(&mut chunk);
                }
            }
            check(&mut chunk);
        }
        crate::timing("state: earlier blocks checked");
        for (id, hits) in &hit_blocks {
            let (bucket, run, held, data): (i64, i64, Vec<u8>, Vec<u8>) = conn.query_row(
                "SELECT b.bucket, b.run_id, o.held, b.data FROM main.blocks b
                 JOIN main.outcomes o ON o.block_id = b.block_id WHERE b.block_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let mut kept = BlockData::default();
            for (i, r) in records(&data).enumerate() {
                let r = r.map_err(|_| damaged(&self.path))?;
                if !hits.contains(&i) {
                    kept.push(&r, held.get(i).copied().unwrap_or(0) != 0);
                }
            }
            delete_block(conn, *id)?;
            if kept.n > 0 {
                insert_block(conn, bucket, run, &kept)?;
            }
        }
        crate::timing("state: earlier blocks rewritten");
        // the night's blocks, with each line's outcome from the ledger (in claims-file order): the
        // staged lines sorted by place and walked beside the ledger (a binary search a line missed
        // the cache ~20 times)
        let mut outcome: Vec<Vec<u8>> = self
            .staged
            .iter()
            .map(|s| vec![0; s.starts.len()])
            .collect();
        {
            let mut places: Vec<(u64, u32, u32)> = self
                .staged
                .iter()
                .enumerate()
                .flat_map(|(b, s)| {
                    s.starts
                        .iter()
                        .enumerate()
                        .map(move |(i, &st)| (st, b as u32, i as u32))
                })
                .collect();
            places.par_sort_unstable();
            let mut j = 0usize;
            for (start, b, i) in places {
                while j < ledger.lines.len() && (ledger.lines[j].span().0 as u64) < start {
                    j += 1;
                }
                if j < ledger.lines.len() && ledger.lines[j].span().0 as u64 == start {
                    outcome[b as usize][i as usize] = (holding.decisions[j] != 0) as u8;
                }
            }
        }
        crate::timing("state: outcomes found");
        for (s, held) in self.staged.iter().zip(outcome) {
            let whole = superseded.is_empty() || !s.starts.iter().any(|st| superseded.contains(st));
            if whole {
                write_outcomes(conn, s.block_id, &held)?;
                continue;
            }
            // a line the batch itself sends again later: this block without it
            let (_, data) = block(s.block_id, true)?;
            delete_block(conn, s.block_id)?;
            let mut kept = BlockData::default();
            for (i, r) in records(&data).enumerate() {
                let r = r.map_err(|_| damaged(&self.path))?;
                if !superseded.contains(&s.starts[i]) {
                    kept.push(&r, held[i] != 0);
                }
            }
            if kept.n > 0 {
                insert_block(conn, s.bucket, run_id, &kept)?;
            }
        }
        crate::timing("state: the night's blocks written");
        conn.execute(
            "INSERT OR REPLACE INTO main.prescriptions SELECT *, ?1 FROM temp.staged_rx",
            [run_id],
        )?;
        Ok(())
    }

    /// Make the prepared run the state's: one commit, after the outputs are in place.
    pub fn commit(self) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let shown = self.path.display().to_string();
        let conn = &self.conn;
        // a reader (`history`) may hold the file for a moment: wait for it to commit
        conn.busy_timeout(std::time::Duration::from_secs(60))?;
        conn.execute_batch("COMMIT")
            .with_context(|| format!("--state {shown}: cannot record the run"))?;
        Ok(())
    }
}

/// What a run records of itself in `runs`.
pub struct RunRecord {
    pub started_at: String,
    /// `[{name, path, bytes, sha256}]`.
    pub inputs: serde_json::Value,
}

/// SHA-256 of a file, as hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
