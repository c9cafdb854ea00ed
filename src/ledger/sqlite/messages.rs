//! The message outbox in SQLite. Every function runs inside the caller's (immediate)
//! transaction; inputs were validated before. Rules: [`crate::ledger::message`].

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{next_page, not_found};
use crate::ledger::job::Backoff;
use crate::ledger::message::{self, Message, MessagePage, MessageQuery, MessageStatus, NewMessage};
use crate::{Error, Result};

const COLUMNS: &str = "id, destination, topic, key, payload, status, attempts, next_attempt_at, claim_owner, \
                       claim_expires_at, last_error, created_at, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let status: String = row.get(5)?;
    let status = MessageStatus::parse(&status)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(Message {
        id: row.get(0)?,
        destination: row.get(1)?,
        topic: row.get(2)?,
        key: row.get(3)?,
        payload: row.get(4)?,
        status,
        attempts: row.get(6)?,
        next_attempt_at: row.get(7)?,
        claim_owner: row.get(8)?,
        claim_expires_at: row.get(9)?,
        last_error: row.get(10)?,
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
    })
}

fn select(conn: &Connection, clause: &str, params: impl rusqlite::Params) -> Result<Vec<Message>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM messages {clause}"))?;
    let rows = stmt.query_map(params, from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn find(conn: &Connection, id: i64) -> Result<Option<Message>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM messages WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// The message with this unique key, if any.
pub(super) fn find_by_key(conn: &Connection, key: &str) -> Result<Option<Message>> {
    Ok(select(conn, "WHERE key = ?1", [key])?.pop())
}

fn require(conn: &Connection, id: i64) -> Result<Message> {
    find(conn, id)?.ok_or_else(|| not_found("message", &id.to_string()))
}

/// Enqueues `new` unless its key is known; returns the stored message and whether it is new.
pub(super) fn enqueue(conn: &Connection, new: &NewMessage, now: i64) -> Result<(Message, bool)> {
    let inserted = conn.prepare_cached(
        "INSERT INTO messages (destination, topic, key, payload, status, attempts, next_attempt_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?5, ?5) ON CONFLICT (key) DO NOTHING",
    )?
    .execute(params![new.destination, new.topic, new.key, new.payload, now])?;
    let stored = select(conn, "WHERE key = ?1", [&new.key])?
        .pop()
        .ok_or_else(|| Error::Conflict(format!("message {} vanished", new.key)))?;
    Ok((stored, inserted == 1))
}

/// Claims due messages (and those whose claim expired) for `owner`.
pub(super) fn claim(conn: &Connection, owner: &str, limit: u32, claim_seconds: u32, now: i64) -> Result<Vec<Message>> {
    let due = select(
        conn,
        "WHERE (status = 'pending' AND next_attempt_at <= ?1) OR (status = 'running' AND claim_expires_at <= ?1) \
         ORDER BY next_attempt_at, id LIMIT ?2",
        params![now, limit],
    )?;
    let mut claimed = Vec::with_capacity(due.len());
    for m in due {
        conn.prepare_cached(
            "UPDATE messages SET status = 'running', attempts = attempts + 1, claim_owner = ?2, \
             claim_expires_at = ?3, updated_at = ?4 WHERE id = ?1",
        )?
        .execute(params![m.id, owner, now + i64::from(claim_seconds), now])?;
        claimed.push(require(conn, m.id)?);
    }
    Ok(claimed)
}

fn claimed_by(conn: &Connection, id: i64, owner: &str) -> Result<Message> {
    let m = require(conn, id)?;
    message::check_claimed(&m, owner)?;
    Ok(m)
}

/// Marks a message `owner` claimed as delivered.
pub(super) fn complete(conn: &Connection, id: i64, owner: &str, now: i64) -> Result<Message> {
    claimed_by(conn, id, owner)?;
    conn.prepare_cached(
        "UPDATE messages SET status = 'done', claim_owner = NULL, claim_expires_at = NULL, updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    require(conn, id)
}

/// Records a failed attempt of a message `owner` claimed.
#[allow(clippy::too_many_arguments)] // the failure as the trait takes it, plus the connection and backoff
pub(super) fn fail(
    conn: &Connection,
    id: i64,
    owner: &str,
    error: &str,
    retryable: bool,
    retry_after: Option<u32>,
    backoff: &Backoff,
    now: i64,
) -> Result<Message> {
    let m = claimed_by(conn, id, owner)?;
    let (status, next, text) = message::after_failure(&m, error, retryable, retry_after, backoff, now);
    conn.prepare_cached(
        "UPDATE messages SET status = ?2, next_attempt_at = ?3, last_error = ?4, claim_owner = NULL, \
         claim_expires_at = NULL, updated_at = ?5 WHERE id = ?1",
    )?
    .execute(params![id, status.as_str(), next, text, now])?;
    require(conn, id)
}

/// Puts a dead message back in line, attempts reset.
pub(super) fn retry(conn: &Connection, id: i64, now: i64) -> Result<Message> {
    message::check_retryable(&require(conn, id)?)?;
    conn.prepare_cached(
        "UPDATE messages SET status = 'pending', attempts = 0, next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    require(conn, id)
}

/// Messages newest first.
pub(super) fn list(conn: &Connection, query: &MessageQuery, limit: u32) -> Result<MessagePage> {
    let mut rows = select(
        conn,
        "WHERE (?1 IS NULL OR destination = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR id < ?3) \
         ORDER BY id DESC LIMIT ?4",
        params![
            query.destination,
            query.status.map(MessageStatus::as_str),
            query.before,
            limit + 1
        ],
    )?;
    let next_before = next_page(&mut rows, limit).map(|m| m.id);
    Ok(MessagePage {
        messages: rows,
        next_before,
    })
}

/// Deletes delivered messages last changed before `older_than`.
pub(super) fn prune_done(conn: &Connection, older_than: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM messages WHERE status = 'done' AND updated_at < ?1")?
        .execute([older_than])?)
}
