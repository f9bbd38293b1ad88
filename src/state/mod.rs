//! The nightly state (SPEC §10): a SQLite database that records every claim line of every completed
//! run, and tells the next runs what earlier nights sent. One run holds the database's write lock
//! from start to end (a second run stops with a clear message), stages its lines part by part in
//! temporary tables, and records them in one transaction that commits only after the outputs are
//! in place: a run that fails or is killed leaves the state as it was.

pub mod history;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use rusqlite::{params, Connection, OpenFlags};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::base::values::{iso, parse_date, Day};
use crate::facts::{Earlier, EarlierLine, Facts};
use crate::hold::Holding;
use crate::ledger::Ledger;
use crate::model::{Batch, Code};
use crate::reference::policy::Policy;

/// `PRAGMA application_id` of a claimscrub state ("CLSc").
pub const APPLICATION_ID: i32 = 0x434C_5363;
/// `PRAGMA user_version`: the schema this build reads and writes.
pub const SCHEMA_VERSION: i32 = 1;

const SCHEMA: &str = "
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
-- by patient: a run reads its patients' earlier lines as ranges; (claim_id, line_no) is the
-- record's identity, and a line recorded again replaces it whatever its patient
CREATE TABLE lines (
    claim_id TEXT NOT NULL,
    line_no INTEGER NOT NULL,
    patient_id TEXT NOT NULL,
    service_date TEXT NOT NULL,
    cpt TEXT NOT NULL,
    modifiers TEXT NOT NULL,
    units INTEGER NOT NULL,
    charge_micros INTEGER NOT NULL,
    payer_type TEXT NOT NULL,
    rendering_npi TEXT NOT NULL,
    rx_id TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('clean', 'held')),
    run_id INTEGER NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (patient_id, claim_id, line_no)
) WITHOUT ROWID;
CREATE UNIQUE INDEX lines_by_key ON lines (claim_id, line_no);
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
";

/// Temporary tables of one run: its lines and documents as the parts are scrubbed, the patients
/// of the part being read, and the held lines. `start` is the line's place in the claims file.
const STAGING: &str = "
CREATE TEMP TABLE staged (
    start INTEGER PRIMARY KEY, claim_id TEXT, line_no INTEGER, patient_id TEXT,
    service_date TEXT, cpt TEXT, modifiers TEXT, units INTEGER, charge_micros INTEGER,
    payer_type TEXT, rendering_npi TEXT, rx_id TEXT);
CREATE TEMP TABLE staged_rx (
    patient_id TEXT, rx_id TEXT, document_type TEXT, authorized_sessions INTEGER,
    sessions_used INTEGER, start_date TEXT, end_date TEXT, PRIMARY KEY (patient_id, rx_id))
    WITHOUT ROWID;
CREATE TEMP TABLE want (patient_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TEMP TABLE held (start INTEGER PRIMARY KEY);
";

pub struct State {
    conn: Connection,
    /// A second, read-only connection to read earlier lines beside the first (none for a new or
    /// in-memory state).
    readers: Vec<Connection>,
    pub path: PathBuf,
    /// `--dry-run`: read, record nothing.
    pub dry_run: bool,
    /// The day each recorded run started.
    run_days: FxHashMap<i64, Day>,
    /// Earlier lines read, over all parts (for the summary).
    pub earlier_lines: usize,
}

/// Why a file is not a state this build can use, or `None` when it is one (or is new).
fn check_schema(conn: &Connection, path: &Path) -> Result<bool> {
    let app: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if app == 0 && version == 0 && tables == 0 {
        return Ok(false); // an empty database: a new state (e.g. a first run that was killed)
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
    Ok(true)
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
            "PRAGMA main.cache_size = -131072; PRAGMA temp_store = FILE; PRAGMA temp.cache_size = -65536;",
        )?;
        if !dry_run {
            if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
                if busy(&e) {
                    bail!("--state {shown}: in use by another claimscrub run; run again when it has finished");
                }
                return Err(e).with_context(|| format!("--state {shown}: cannot lock"));
            }
        }
        let has_schema = check_schema(&conn, path).map_err(|e| {
            if let Some(s) = e.downcast_ref::<rusqlite::Error>() {
                if busy(s) {
                    return anyhow::anyhow!("--state {shown}: in use by another claimscrub run; run again when it has finished");
                }
            }
            e
        })?;
        if !has_schema {
            conn.execute_batch(SCHEMA)
                .with_context(|| format!("--state {shown}: cannot create the schema"))?;
            conn.pragma_update(None, "application_id", APPLICATION_ID)?;
            conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        conn.execute_batch(STAGING)?;
        let mut run_days = FxHashMap::default();
        {
            let mut q = conn.prepare("SELECT run_id, started_at FROM runs")?;
            let mut rows = q.query([])?;
            while let Some(r) = rows.next()? {
                let (id, at): (i64, String) = (r.get(0)?, r.get(1)?);
                run_days.insert(id, parse_date(at.get(..10).unwrap_or("")).unwrap_or(0));
            }
        }
        let mut readers = Vec::new();
        if exists && has_schema {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .with_context(|| format!("--state {shown}: cannot open to read"))?;
            reader.busy_timeout(std::time::Duration::from_secs(10))?;
            reader.execute_batch(
                "PRAGMA cache_size = -131072;
                 CREATE TEMP TABLE want (patient_id TEXT PRIMARY KEY) WITHOUT ROWID;",
            )?;
            readers.push(reader);
        }
        Ok(State {
            conn,
            readers,
            path: path.to_path_buf(),
            dry_run,
            run_days,
            earlier_lines: 0,
        })
    }

    /// The earlier clean lines of a part's patients, minus the records its lines replace (a line of
    /// the same patient with the same claim_id and line_no).
    pub fn earlier(&mut self, batch: &Batch, policy: &Policy) -> Result<Earlier> {
        let mut patients: Vec<&str> = batch
            .lines
            .iter()
            .map(|l| batch.claim_text(l.patient_id))
            .collect::<FxHashSet<_>>()
            .into_iter()
            .collect();
        patients.sort_unstable();
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
        // a part's patients read in halves by two connections side by side (SQLite reads on one
        // thread a connection; the main one has written nothing to the file yet)
        let halves: Vec<&[&str]> = if self.readers.is_empty() || patients.len() < 1024 {
            vec![&patients[..]]
        } else {
            let (a, b) = patients.split_at(patients.len() / 2);
            vec![a, b]
        };
        let ctx = ReadCtx {
            replaced: &replaced,
            payer_of: &payer_of,
            run_days: &self.run_days,
            path: &self.path,
        };
        let mut lines = if halves.len() == 1 {
            read_earlier(&self.conn, halves[0], &ctx)?
        } else {
            // a connection may move between threads, not be shared: it goes and comes back
            let reader = self.readers.pop().expect("a reader");
            let main = &self.conn;
            let ctx = &ctx;
            let half = halves[1];
            let (a, b) = std::thread::scope(|s| {
                let other = s.spawn(move || {
                    let got = read_earlier(&reader, half, ctx);
                    (reader, got)
                });
                let mine = read_earlier(main, halves[0], ctx);
                (mine, other.join())
            });
            let (reader, b) = b.map_err(|_| anyhow::anyhow!("reading the state failed"))?;
            self.readers.push(reader);
            let mut a = a?;
            a.extend(b?);
            a
        };
        lines.shrink_to_fit();
        self.earlier_lines += lines.len();
        Ok(Earlier::new(lines))
    }

    /// Stage a scrubbed part's lines (with the prescription each was linked to) and documents.
    pub fn stage(&mut self, batch: &Batch, facts: &Facts, policy: &Policy) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let tx = &self.conn;
        // many rows a statement: one step per ROWS lines instead of one per line
        const ROWS: usize = 64;
        const COLS: usize = 12;
        let values = |n: usize| -> String {
            let one = format!("({})", ["?"; COLS].join(","));
            format!("INSERT INTO temp.staged VALUES {}", vec![one; n].join(","))
        };
        let lines = &batch.lines;
        for chunk in (0..lines.len()).collect::<Vec<_>>().chunks(ROWS) {
            let mut ins = tx.prepare_cached(&values(chunk.len()))?;
            for (k, &i) in chunk.iter().enumerate() {
                let l = &lines[i];
                let rx_id = facts.rx[i]
                    .doc
                    .map(|d| batch.documents[d as usize].rx_id.as_str())
                    .unwrap_or("");
                let date = crate::base::values::iso_bytes(l.date);
                let p = k * COLS;
                ins.raw_bind_parameter(p + 1, l.span.0 as i64)?;
                ins.raw_bind_parameter(p + 2, batch.claim_text(l.claim_id))?;
                ins.raw_bind_parameter(p + 3, l.line_no)?;
                ins.raw_bind_parameter(p + 4, batch.claim_text(l.patient_id))?;
                ins.raw_bind_parameter(p + 5, std::str::from_utf8(&date).unwrap_or(""))?;
                ins.raw_bind_parameter(p + 6, l.cpt.as_str())?;
                ins.raw_bind_parameter(p + 7, l.modifiers.as_str())?;
                ins.raw_bind_parameter(p + 8, l.units)?;
                ins.raw_bind_parameter(p + 9, l.charge)?;
                ins.raw_bind_parameter(p + 10, policy.profiles[l.payer as usize].name.as_str())?;
                ins.raw_bind_parameter(p + 11, batch.claim_text(l.rendering_npi))?;
                ins.raw_bind_parameter(p + 12, rx_id)?;
            }
            ins.raw_execute()?;
        }
        let mut ins = tx.prepare_cached(
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
        self.readers.clear();
        let conn = &self.conn;
        // the parts' memory is free now: room for the B-tree pages the night's lines touch
        conn.execute_batch("PRAGMA main.cache_size = -1048576; PRAGMA temp.cache_size = -262144;")?;
        {
            let mut ins = conn.prepare("INSERT INTO temp.held (start) VALUES (?1)")?;
            for (e, d) in ledger.lines.iter().zip(&holding.decisions) {
                if *d != 0 {
                    ins.execute([e.span().0 as i64])?;
                }
            }
        }
        let held = holding.decisions.iter().filter(|d| **d != 0).count();
        conn.execute(
            "INSERT INTO runs (started_at, ended_at, inputs, lines, clean, held, malformed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                run.started_at,
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                run.inputs.to_string(),
                ledger.lines.len() as i64,
                (ledger.lines.len() - held) as i64,
                held as i64,
                ledger.malformed.iter().map(Vec::len).sum::<usize>() as i64,
            ],
        )?;
        let run_id = conn.last_insert_rowid();
        conn.execute(
            "INSERT OR REPLACE INTO main.lines
             SELECT s.claim_id, s.line_no, s.patient_id, s.service_date, s.cpt, s.modifiers,
                    s.units, s.charge_micros, s.payer_type, s.rendering_npi, s.rx_id,
                    CASE WHEN h.start IS NULL THEN 'clean' ELSE 'held' END, ?1
             FROM temp.staged s LEFT JOIN temp.held h ON h.start = s.start
             ORDER BY s.patient_id, s.claim_id, s.line_no",
            [run_id],
        )?;
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

/// What every reader of a part's earlier lines shares.
struct ReadCtx<'a> {
    replaced: &'a FxHashSet<(&'a str, &'a str, u32)>,
    payer_of: &'a FxHashMap<&'a str, u8>,
    run_days: &'a FxHashMap<i64, Day>,
    path: &'a Path,
}

/// The earlier clean lines of some patients (sorted), through one connection.
fn read_earlier(conn: &Connection, patients: &[&str], ctx: &ReadCtx) -> Result<Vec<EarlierLine>> {
    conn.execute("DELETE FROM temp.want", [])?;
    {
        let mut ins = conn.prepare_cached("INSERT INTO temp.want (patient_id) VALUES (?1)")?;
        for p in patients {
            ins.execute([p])?;
        }
    }
    let mut lines = Vec::new();
    let mut q = conn.prepare_cached(
        "SELECT l.patient_id, l.claim_id, l.line_no, l.service_date, l.cpt, l.modifiers,
                    l.units, l.charge_micros, l.payer_type, l.rendering_npi, l.rx_id, l.run_id
             FROM temp.want w JOIN main.lines l ON l.patient_id = w.patient_id
             WHERE l.outcome = 'clean'",
    )?;
    let mut rows = q.query([])?;
    // borrowed texts: one copy per kept line, none for the lines this batch replaces
    let text = |r: &rusqlite::Row, i: usize| -> rusqlite::Result<Code> {
        Ok(Code::from(r.get_ref(i)?.as_str()?))
    };
    while let Some(r) = rows.next()? {
        let claim_id = r.get_ref(1)?.as_str()?;
        let line_no: u32 = r.get(2)?;
        if ctx
            .replaced
            .contains(&(r.get_ref(0)?.as_str()?, claim_id, line_no))
        {
            continue;
        }
        let date = r.get_ref(3)?.as_str()?;
        let run: i64 = r.get(11)?;
        lines.push(EarlierLine {
            patient_id: text(r, 0)?,
            claim_id: claim_id.into(),
            line_no,
            date: parse_date(date).map_err(|e| {
                anyhow::anyhow!("--state {}: service_date `{date}`: {e}", ctx.path.display())
            })?,
            cpt: text(r, 4)?,
            modifiers: text(r, 5)?,
            units: r.get(6)?,
            charge: r.get(7)?,
            payer: ctx.payer_of.get(r.get_ref(8)?.as_str()?).copied(),
            rendering_npi: text(r, 9)?,
            rx_id: text(r, 10)?,
            run_date: ctx.run_days.get(&run).copied().unwrap_or(0),
        });
    }
    Ok(lines)
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
