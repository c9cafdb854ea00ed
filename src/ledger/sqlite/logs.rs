//! The security log and the inbound events log in SQLite. Every function runs inside the
//! caller's transaction (or on its connection, for reads); validation happened before.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{from_json, next_page, not_found, to_json};
use crate::ledger::{
    rules, InboundEvent, InboundOutcome, InboundPage, InboundQuery, InboundRecord, SecurityEvent, SecurityPage,
    SecurityQuery, SecurityRecord,
};
use crate::Result;

// ---------------------------------------------------------------------------------------------
// Security log
// ---------------------------------------------------------------------------------------------

const SECURITY_COLUMNS: &str = "id, route, reason, key_prefix, remote_addr, detail, recorded_at";

fn security_from_row(row: &Row<'_>) -> rusqlite::Result<SecurityRecord> {
    Ok(SecurityRecord {
        id: row.get(0)?,
        route: row.get(1)?,
        reason: row.get(2)?,
        key_prefix: row.get(3)?,
        remote_addr: row.get(4)?,
        detail: row.get(5)?,
        recorded_at: row.get(6)?,
    })
}

/// Appends a validated refusal.
pub(super) fn record_security(conn: &Connection, event: &SecurityEvent, now: i64) -> Result<SecurityRecord> {
    conn.execute(
        "INSERT INTO security_events (route, reason, key_prefix, remote_addr, detail, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            event.route,
            event.reason,
            event.key_prefix,
            event.remote_addr,
            event.detail,
            now
        ],
    )?;
    let id = conn.last_insert_rowid();
    let mut stmt = conn.prepare_cached(&format!("SELECT {SECURITY_COLUMNS} FROM security_events WHERE id = ?1"))?;
    stmt.query_row([id], security_from_row)
        .optional()?
        .ok_or_else(|| not_found("security event", &id.to_string()))
}

/// A page of refusals, newest first.
pub(super) fn list_security(conn: &Connection, query: &SecurityQuery) -> Result<SecurityPage> {
    let limit = rules::page_limit(query.limit)?;
    let reason = query.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SECURITY_COLUMNS} FROM security_events
         WHERE (?1 IS NULL OR reason = ?1) AND id < ?2 ORDER BY id DESC LIMIT ?3"
    ))?;
    let mut records = stmt
        .query_map(
            params![reason, query.before.unwrap_or(i64::MAX), i64::from(limit) + 1],
            security_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_before = next_page(&mut records, limit).map(|last| last.id);
    Ok(SecurityPage { records, next_before })
}

/// Deletes refusals logged before `older_than`.
pub(super) fn prune_security(conn: &Connection, older_than: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM security_events WHERE recorded_at < ?1", [older_than])?)
}

// ---------------------------------------------------------------------------------------------
// Inbound events log
// ---------------------------------------------------------------------------------------------

const INBOUND_COLUMNS: &str =
    "id, provider, dedup_key, topic, outcome, summary, recorded, replayed, failed, unknown_skus, received_at";

fn inbound_from_row(row: &Row<'_>) -> rusqlite::Result<InboundRecord> {
    let outcome: String = row.get(4)?;
    let outcome = InboundOutcome::parse(&outcome)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e)))?;
    let unknown_skus: String = row.get(9)?;
    Ok(InboundRecord {
        id: row.get(0)?,
        provider: row.get(1)?,
        dedup_key: row.get(2)?,
        topic: row.get(3)?,
        outcome,
        summary: row.get(5)?,
        recorded: row.get(6)?,
        replayed: row.get(7)?,
        failed: row.get(8)?,
        unknown_skus: from_json(9, &unknown_skus)?,
        received_at: row.get(10)?,
        duplicate: false,
    })
}

fn inbound_where(conn: &Connection, clause: &str, params: impl rusqlite::Params) -> Result<Option<InboundRecord>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {INBOUND_COLUMNS} FROM inbound_events WHERE {clause}"))?;
    Ok(stmt.query_row(params, inbound_from_row).optional()?)
}

/// The record of a (provider, dedup key).
pub(super) fn find_inbound(conn: &Connection, provider: &str, dedup_key: &str) -> Result<Option<InboundRecord>> {
    inbound_where(conn, "provider = ?1 AND dedup_key = ?2", params![provider, dedup_key])
}

/// Logs a validated inbound event unless its (provider, dedup key) is already logged; then the
/// existing record comes back with `duplicate: true`. The check runs under the write lock, so a
/// concurrent delivery of the same key cannot slip in between.
pub(super) fn record_inbound(conn: &Connection, event: &InboundEvent, now: i64) -> Result<InboundRecord> {
    if let Some(existing) = find_inbound(conn, &event.provider, &event.dedup_key)? {
        return Ok(InboundRecord {
            duplicate: true,
            ..existing
        });
    }
    conn.execute(
        "INSERT INTO inbound_events (provider, dedup_key, topic, outcome, summary, recorded, replayed, failed,
                                     unknown_skus, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            event.provider,
            event.dedup_key,
            event.topic,
            event.outcome.as_str(),
            event.summary,
            event.recorded,
            event.replayed,
            event.failed,
            to_json(&event.unknown_skus)?,
            now
        ],
    )?;
    let id = conn.last_insert_rowid();
    inbound_where(conn, "id = ?1", [id])?.ok_or_else(|| not_found("inbound event", &id.to_string()))
}

/// A page of inbound events, newest first.
pub(super) fn list_inbound(conn: &Connection, query: &InboundQuery) -> Result<InboundPage> {
    let limit = rules::page_limit(query.limit)?;
    let provider = query.provider.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {INBOUND_COLUMNS} FROM inbound_events
         WHERE (?1 IS NULL OR provider = ?1) AND (?2 IS NULL OR outcome = ?2) AND id < ?3
         ORDER BY id DESC LIMIT ?4"
    ))?;
    let mut records = stmt
        .query_map(
            params![
                provider,
                query.outcome.map(InboundOutcome::as_str),
                query.before.unwrap_or(i64::MAX),
                i64::from(limit) + 1
            ],
            inbound_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_before = next_page(&mut records, limit).map(|last| last.id);
    Ok(InboundPage { records, next_before })
}

/// Deletes inbound events received before `older_than`.
pub(super) fn prune_inbound(conn: &Connection, older_than: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM inbound_events WHERE received_at < ?1", [older_than])?)
}
