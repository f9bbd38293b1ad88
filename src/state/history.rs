//! What `claimscrub history` reads from a state: the runs, one patient's prescriptions and visits,
//! and pruning old lines.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};

use super::{check_schema, is_sqlite};

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
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    };
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_context(|| format!("--state {}: cannot open", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    if !check_schema(&conn, path)? {
        bail!(
            "--state {}: an empty database, no run recorded yet",
            path.display()
        );
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

/// A patient's prescriptions as the latest run read them, each with its recorded visits (distinct
/// service dates of clean lines linked to it).
pub fn prescriptions(conn: &Connection, patient: &str) -> Result<Vec<Value>> {
    let mut q = conn.prepare(
        "SELECT p.rx_id, p.document_type, p.authorized_sessions, p.sessions_used, p.start_date,
                p.end_date,
                (SELECT count(DISTINCT l.service_date) FROM lines l
                 WHERE l.patient_id = p.patient_id AND l.rx_id = p.rx_id AND l.outcome = 'clean'),
                (SELECT count(DISTINCT l.service_date) FROM lines l
                 WHERE l.patient_id = p.patient_id AND l.rx_id = p.rx_id AND l.outcome = 'held')
         FROM prescriptions p WHERE p.patient_id = ?1 ORDER BY p.start_date, p.rx_id",
    )?;
    let rows = q.query_map([patient], |r| {
        Ok(json!({
            "rx_id": r.get::<_, String>(0)?,
            "document_type": r.get::<_, String>(1)?,
            "authorized_sessions": r.get::<_, Option<i64>>(2)?,
            "sessions_used": r.get::<_, i64>(3)?,
            "start_date": r.get::<_, String>(4)?,
            "end_date": r.get::<_, String>(5)?,
            "recorded_visits": r.get::<_, i64>(6)?,
            "held_visits": r.get::<_, i64>(7)?,
        }))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A patient's recorded clean lines: (service_date, cpt, modifiers, units, charge_micros,
/// payer_type), by date.
pub type RecordedLine = (String, String, String, i64, i64, String);

pub fn clean_lines(conn: &Connection, patient: &str) -> Result<Vec<RecordedLine>> {
    let mut q = conn.prepare(
        "SELECT service_date, cpt, modifiers, units, charge_micros, payer_type FROM lines
         WHERE patient_id = ?1 AND outcome = 'clean' ORDER BY service_date, claim_id, line_no",
    )?;
    let rows = q.query_map([patient], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether the state knows the patient at all.
pub fn has_patient(conn: &Connection, patient: &str) -> Result<bool> {
    let n: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM lines WHERE patient_id = ?1)
              + (SELECT count(*) FROM prescriptions WHERE patient_id = ?1)",
        [patient],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Remove the lines of service dates before `before` and prescriptions that ended before it.
/// Returns (lines, prescriptions) removed.
pub fn prune(conn: &mut Connection, before: &str) -> Result<(usize, usize)> {
    let tx = conn.transaction()?;
    let lines = tx.execute("DELETE FROM lines WHERE service_date < ?1", [before])?;
    let rx = tx.execute("DELETE FROM prescriptions WHERE end_date < ?1", [before])?;
    tx.commit()?;
    conn.execute_batch("VACUUM")?;
    Ok((lines, rx))
}
