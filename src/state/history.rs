//! What `claimscrub history` reads from a state: the runs, one patient's prescriptions and visits,
//! and pruning old lines.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};

use super::block::{bucket_of, records, BlockData};
use super::{check_schema, damaged, is_sqlite};
use crate::base::values::iso;

/// Open a state to read (or prune) it; it must exist and be a claimscrub state.
pub fn open(path: &Path, write: bool) -> Result<Connection> {
    if !path.is_file() {
        bail!("--state {}: no such file", path.display());
    }
    if !is_sqlite(path)? {
        bail!(
            "--state {}: not a SQLite database, so not a claimscrub state",
            path.display()
        );
    }
    // a scrub killed while it recorded leaves its rollback journal: SQLite undoes it on the next
    // open that may write, and a read-only open fails ("attempt to write a readonly database")
    let mut journal = path.as_os_str().to_owned();
    journal.push("-journal");
    if !write && Path::new(&journal).exists() {
        if let Ok(c) = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE) {
            // a live run holds the file: the journal is its own, and this read is not blocked
            let _ = c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            });
        }
    }
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    };
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_context(|| format!("--state {}: cannot open", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // a scrub writing its night holds the file from its first spilled page to its commit
    let version =
        check_schema(&conn, path).map_err(|e| match e.downcast_ref::<rusqlite::Error>() {
            Some(s) if super::busy(s) => anyhow::anyhow!(
                "--state {}: a claimscrub run is recording into it; try again when it has finished",
                path.display()
            ),
            _ => e,
        })?;
    match version {
        None => bail!(
            "--state {}: an empty database, no run recorded yet",
            path.display()
        ),
        Some(1) => bail!(
            "--state {}: schema version 1; the next `claimscrub scrub --state` upgrades it",
            path.display()
        ),
        Some(_) => {}
    }
    Ok(conn)
}

/// The recorded runs, oldest first.
pub fn runs(conn: &Connection) -> Result<Vec<Value>> {
    let mut q = conn.prepare(
        "SELECT run_id, started_at, ended_at, inputs, lines, clean, held, malformed
         FROM runs ORDER BY run_id",
    )?;
    let rows = q.query_map([], |r| {
        let inputs: String = r.get(3)?;
        Ok(json!({
            "run_id": r.get::<_, i64>(0)?,
            "started_at": r.get::<_, String>(1)?,
            "ended_at": r.get::<_, String>(2)?,
            "inputs": serde_json::from_str::<Value>(&inputs).unwrap_or(Value::Null),
            "lines": r.get::<_, i64>(4)?,
            "clean": r.get::<_, i64>(5)?,
            "held": r.get::<_, i64>(6)?,
            "malformed": r.get::<_, i64>(7)?,
        }))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One recorded claim line, with its outcome and the run that recorded it: the columns of SPEC
/// §10's record, as `history --lines` writes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub claim_id: String,
    pub line_no: u32,
    pub patient_id: String,
    pub service_date: String,
    pub cpt: String,
    pub modifiers: String,
    pub units: i64,
    pub charge_micros: i64,
    pub payer_type: String,
    pub rendering_npi: String,
    pub rx_id: String,
    /// `clean` or `held`.
    pub outcome: &'static str,
    pub run_id: i64,
}

/// The column names of `Line`, in order.
pub const LINE_COLUMNS: [&str; 13] = [
    "claim_id",
    "line_no",
    "patient_id",
    "service_date",
    "cpt",
    "modifiers",
    "units",
    "charge_micros",
    "payer_type",
    "rendering_npi",
    "rx_id",
    "outcome",
    "run_id",
];

impl Line {
    /// The cells of `LINE_COLUMNS`, as text.
    pub fn cells(&self) -> [String; 13] {
        [
            self.claim_id.clone(),
            self.line_no.to_string(),
            self.patient_id.clone(),
            self.service_date.clone(),
            self.cpt.clone(),
            self.modifiers.clone(),
            self.units.to_string(),
            self.charge_micros.to_string(),
            self.payer_type.clone(),
            self.rendering_npi.clone(),
            self.rx_id.clone(),
            self.outcome.to_string(),
            self.run_id.to_string(),
        ]
    }
}

/// The recorded lines, of one patient or all, by claim_id and line_no.
pub fn lines(conn: &Connection, patient: Option<&str>) -> Result<Vec<Line>> {
    let path = conn.path().unwrap_or("").to_string();
    let mut q = conn.prepare(
        "SELECT b.run_id, o.held, b.data FROM blocks b JOIN outcomes o ON o.block_id = b.block_id
         WHERE ?1 IS NULL OR b.bucket = ?1 ORDER BY b.block_id",
    )?;
    let mut rows = q.query([patient.map(bucket_of)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let run_id: i64 = r.get(0)?;
        let held = r.get_ref(1)?.as_blob()?;
        for (i, rec) in records(r.get_ref(2)?.as_blob()?).enumerate() {
            let rec = rec.map_err(|_| damaged(Path::new(&path)))?;
            if patient.is_some_and(|p| p != rec.patient_id) {
                continue;
            }
            out.push(Line {
                claim_id: rec.claim_id.into(),
                line_no: rec.line_no,
                patient_id: rec.patient_id.into(),
                service_date: iso(rec.date),
                cpt: rec.cpt.into(),
                modifiers: rec.modifiers.into(),
                units: rec.units,
                charge_micros: rec.charge,
                payer_type: rec.payer_type.into(),
                rendering_npi: rec.rendering_npi.into(),
                rx_id: rec.rx_id.into(),
                outcome: if held.get(i).copied().unwrap_or(0) != 0 {
                    "held"
                } else {
                    "clean"
                },
                run_id,
            });
        }
    }
    out.sort_by(|a, b| (&a.claim_id, a.line_no).cmp(&(&b.claim_id, b.line_no)));
    Ok(out)
}

/// A patient's prescriptions as the latest run read them, each with its recorded visits (distinct
/// service dates of clean lines linked to it) and held ones.
/// `recorded`: the patient's lines (`lines(conn, Some(patient))`).
pub fn prescriptions(conn: &Connection, patient: &str, recorded: &[Line]) -> Result<Vec<Value>> {
    let visits = |rx: &str, outcome: &str| {
        recorded
            .iter()
            .filter(|l| l.rx_id == rx && l.outcome == outcome)
            .map(|l| l.service_date.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len() as i64
    };
    let mut q = conn.prepare(
        "SELECT rx_id, document_type, authorized_sessions, sessions_used, start_date, end_date
         FROM prescriptions WHERE patient_id = ?1 ORDER BY start_date, rx_id",
    )?;
    let rows = q.query_map([patient], |r| {
        let rx: String = r.get(0)?;
        Ok(json!({
            "rx_id": rx,
            "document_type": r.get::<_, String>(1)?,
            "authorized_sessions": r.get::<_, Option<i64>>(2)?,
            "sessions_used": r.get::<_, i64>(3)?,
            "start_date": r.get::<_, String>(4)?,
            "end_date": r.get::<_, String>(5)?,
            "recorded_visits": visits(&rx, "clean"),
            "held_visits": visits(&rx, "held"),
        }))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A patient's recorded clean lines: (service_date, cpt, modifiers, units, charge_micros,
/// payer_type), by date.
pub type RecordedLine = (String, String, String, i64, i64, String);

pub fn clean_lines(recorded: &[Line]) -> Vec<RecordedLine> {
    let mut clean: Vec<&Line> = recorded.iter().filter(|l| l.outcome == "clean").collect();
    clean.sort_by(|a, b| {
        (&a.service_date, &a.claim_id, a.line_no).cmp(&(&b.service_date, &b.claim_id, b.line_no))
    });
    clean
        .into_iter()
        .map(|l| {
            (
                l.service_date.clone(),
                l.cpt.clone(),
                l.modifiers.clone(),
                l.units,
                l.charge_micros,
                l.payer_type.clone(),
            )
        })
        .collect()
}

/// Whether the state knows the patient at all.
pub fn has_patient(conn: &Connection, patient: &str, recorded: &[Line]) -> Result<bool> {
    let rx: i64 = conn.query_row(
        "SELECT count(*) FROM prescriptions WHERE patient_id = ?1",
        [patient],
        |r| r.get(0),
    )?;
    Ok(rx > 0 || !recorded.is_empty())
}

/// Remove the lines of service dates before `before` and prescriptions that ended before it.
/// Returns (lines, prescriptions) removed.
pub fn prune(conn: &mut Connection, before: &str) -> Result<(usize, usize)> {
    let path = conn.path().unwrap_or("").to_string();
    let day = crate::base::values::parse_date(before).map_err(|e| anyhow::anyhow!("{e}"))?;
    let tx = conn.transaction()?;
    let mut removed = 0usize;
    {
        let ids: Vec<i64> = tx
            .prepare("SELECT block_id FROM blocks")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in ids {
            let (bucket, run, held, data): (i64, i64, Vec<u8>, Vec<u8>) = tx.query_row(
                "SELECT b.bucket, b.run_id, o.held, b.data FROM blocks b
                 JOIN outcomes o ON o.block_id = b.block_id WHERE b.block_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let mut kept = BlockData::default();
            let mut n = 0usize;
            for (i, rec) in records(&data).enumerate() {
                let rec = rec.map_err(|_| damaged(Path::new(&path)))?;
                n += 1;
                if rec.date >= day {
                    kept.push(&rec, held.get(i).copied().unwrap_or(0) != 0);
                }
            }
            if kept.n == n {
                continue;
            }
            removed += n - kept.n;
            super::delete_block(&tx, id)?;
            if kept.n > 0 {
                super::insert_block(&tx, bucket, run, &kept)?;
            }
        }
    }
    let rx = tx.execute("DELETE FROM prescriptions WHERE end_date < ?1", [before])?;
    tx.commit()?;
    conn.execute_batch("VACUUM")?;
    Ok((removed, rx))
}
