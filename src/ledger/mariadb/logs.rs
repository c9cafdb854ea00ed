//! The security log on MariaDB/MySQL (the inbound events log is in `inbound`).
//! Every function runs inside the caller's transaction; validation happened before.

use mysql::{params, Row};

use super::stock::column;
use super::Tx;
use crate::ledger::plan::{next_page, not_found};
use crate::ledger::{rules, SecurityEvent, SecurityPage, SecurityQuery, SecurityRecord};
use crate::Result;

const SECURITY_COLUMNS: &str = "id, route, reason, key_prefix, remote_addr, detail, recorded_at";

fn security_from_row(mut row: Row) -> Result<SecurityRecord> {
    Ok(SecurityRecord {
        id: column(&mut row, 0)?,
        route: column(&mut row, 1)?,
        reason: column(&mut row, 2)?,
        key_prefix: column(&mut row, 3)?,
        remote_addr: column(&mut row, 4)?,
        detail: column(&mut row, 5)?,
        recorded_at: column(&mut row, 6)?,
    })
}

/// Appends a validated refusal.
pub(super) fn record_security(tx: &mut Tx<'_>, event: &SecurityEvent, now: i64) -> Result<SecurityRecord> {
    tx.exec_drop(
        "INSERT INTO {p}security_events (route, reason, key_prefix, remote_addr, detail, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?)",
        (
            &event.route,
            &event.reason,
            &event.key_prefix,
            &event.remote_addr,
            &event.detail,
            now,
        ),
    )?;
    let id = tx.last_insert_id()?;
    let sql = format!("SELECT {SECURITY_COLUMNS} FROM {{p}}security_events WHERE id = ?");
    tx.exec_first::<Row>(&sql, (id,))?
        .map(security_from_row)
        .transpose()?
        .ok_or_else(|| not_found("security event", &id.to_string()))
}

/// A page of refusals, newest first.
pub(super) fn list_security(tx: &mut Tx<'_>, query: &SecurityQuery) -> Result<SecurityPage> {
    let limit = rules::page_limit(query.limit)?;
    let reason = query.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let sql = format!(
        "SELECT {SECURITY_COLUMNS} FROM {{p}}security_events
         WHERE (:reason IS NULL OR reason = :reason) AND id < :before ORDER BY id DESC LIMIT :fetch"
    );
    let rows: Vec<Row> = tx.exec(
        &sql,
        params! {
            "reason" => reason,
            "before" => query.before.unwrap_or(i64::MAX),
            "fetch" => i64::from(limit) + 1,
        },
    )?;
    let mut records = rows.into_iter().map(security_from_row).collect::<Result<Vec<_>>>()?;
    let next_before = next_page(&mut records, limit).map(|last| last.id);
    Ok(SecurityPage { records, next_before })
}

/// Deletes refusals logged before `older_than`.
pub(super) fn prune_security(tx: &mut Tx<'_>, older_than: i64) -> Result<usize> {
    let deleted = tx.exec_drop("DELETE FROM {p}security_events WHERE recorded_at < ?", (older_than,))?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}
