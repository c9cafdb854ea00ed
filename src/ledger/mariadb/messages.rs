//! The message outbox on MariaDB/MySQL. Writes run inside the caller's transaction; inputs were
//! validated before. Rules: [`crate::ledger::message`], shared with SQLite.
//!
//! Senders on several servers claim at once: the claim selects due messages `FOR UPDATE SKIP
//! LOCKED`, so each claim takes rows no other claim holds and never waits for one, and a message
//! is claimed once (on servers without SKIP LOCKED, claims take turns under a named lock and
//! select `FOR UPDATE`: [`Claims`]). A claim holder's later write reads its message `FOR UPDATE` first, so it
//! cannot race a re-claim of a lapsed claim.

use mysql::{params, Row, Value};

use super::stock::column;
use super::{Claims, Tx};
use crate::ledger::job::Backoff;
use crate::ledger::message::{self, Message, MessagePage, MessageQuery, MessageStatus, NewMessage};
use crate::ledger::plan::{next_page, not_found};
use crate::{Error, Result};

const COLUMNS: &str = "id, destination, topic, `key`, payload, status, attempts, next_attempt_at, claim_owner, \
                       claim_expires_at, last_error, created_at, updated_at";

fn from_row(mut row: Row) -> Result<Message> {
    let status: String = column(&mut row, 5)?;
    Ok(Message {
        id: column(&mut row, 0)?,
        destination: column(&mut row, 1)?,
        topic: column(&mut row, 2)?,
        key: column(&mut row, 3)?,
        payload: column(&mut row, 4)?,
        status: MessageStatus::parse(&status)?,
        attempts: column(&mut row, 6)?,
        next_attempt_at: column(&mut row, 7)?,
        claim_owner: column(&mut row, 8)?,
        claim_expires_at: column(&mut row, 9)?,
        last_error: column(&mut row, 10)?,
        created_at: column(&mut row, 11)?,
        updated_at: column(&mut row, 12)?,
    })
}

/// The messages of `SELECT … FROM messages {clause}`.
fn select(tx: &mut Tx<'_>, clause: &str, params: impl Into<mysql::Params>) -> Result<Vec<Message>> {
    let sql = format!("SELECT {COLUMNS} FROM {{p}}messages {clause}");
    let rows: Vec<Row> = tx.exec(&sql, params)?;
    rows.into_iter().map(from_row).collect()
}

/// The message with this id, locked until the transaction ends.
fn require_locked(tx: &mut Tx<'_>, id: i64) -> Result<Message> {
    select(tx, "WHERE id = ? FOR UPDATE", (id,))?
        .pop()
        .ok_or_else(|| not_found("message", &id.to_string()))
}

fn require(tx: &mut Tx<'_>, id: i64) -> Result<Message> {
    select(tx, "WHERE id = ?", (id,))?
        .pop()
        .ok_or_else(|| not_found("message", &id.to_string()))
}

/// The message with this unique key, if any.
pub(super) fn find_by_key(tx: &mut Tx<'_>, key: &str) -> Result<Option<Message>> {
    Ok(select(tx, "WHERE `key` = ?", (key,))?.pop())
}

/// Enqueues `new` unless its key is known; returns the stored message and whether it is new.
/// `UNIQUE (key)` decides: a known key changes nothing (0 rows affected), so enqueuers on
/// several servers create one message.
pub(super) fn enqueue(tx: &mut Tx<'_>, new: &NewMessage, now: i64) -> Result<(Message, bool)> {
    let inserted = tx.exec_drop(
        "INSERT INTO {p}messages (destination, topic, `key`, payload, status, attempts, next_attempt_at, created_at,
                                  updated_at)
         VALUES (:destination, :topic, :key, :payload, 'pending', 0, :now, :now, :now)
         ON DUPLICATE KEY UPDATE id = id",
        params! {
            "destination" => &new.destination,
            "topic" => &new.topic,
            "key" => &new.key,
            "payload" => &new.payload,
            "now" => now,
        },
    )?;
    let stored = find_by_key(tx, &new.key)?.ok_or_else(|| Error::Conflict(format!("message {} vanished", new.key)))?;
    Ok((stored, inserted == 1))
}

/// Claims due messages (and those whose claim expired) for `owner`, in due order, locking them
/// as `claims` says. With SKIP LOCKED, one select reads past the rows other claims hold. Under
/// the named lock, the due messages are read without locking, then locked by id (still due): a
/// locking read of the due index would hold index entries while it waits for a sender's row,
/// and deadlock with that sender's write of the same entries.
pub(super) fn claim(
    tx: &mut Tx<'_>,
    claims: Claims,
    owner: &str,
    limit: u32,
    claim_seconds: u32,
    now: i64,
) -> Result<Vec<Message>> {
    const DUE: &str =
        "(status = 'pending' AND next_attempt_at <= :now) OR (status = 'running' AND claim_expires_at <= :now)";
    let lock = match claims {
        Claims::SkipLocked => claims.clause(),
        Claims::NamedLock => "",
    };
    let mut ids: Vec<i64> = tx.exec(
        &format!("SELECT id FROM {{p}}messages WHERE {DUE} ORDER BY next_attempt_at, id LIMIT :limit {lock}"),
        params! { "now" => now, "limit" => limit },
    )?;
    if claims == Claims::NamedLock && !ids.is_empty() {
        let list = vec!["?"; ids.len()].join(", ");
        let mut values: Vec<Value> = ids.iter().map(|&id| Value::from(id)).collect();
        values.extend([Value::from(now), Value::from(now)]);
        ids = tx.exec(
            &format!(
                "SELECT id FROM {{p}}messages
                 WHERE id IN ({list})
                   AND ((status = 'pending' AND next_attempt_at <= ?) OR (status = 'running' AND claim_expires_at <= ?))
                 {}",
                claims.clause()
            ),
            values,
        )?;
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = vec!["?"; ids.len()].join(", ");
    let mut values: Vec<Value> = vec![owner.into(), (now + i64::from(claim_seconds)).into(), now.into()];
    values.extend(ids.iter().map(|&id| Value::from(id)));
    tx.exec_drop(
        &format!(
            "UPDATE {{p}}messages SET status = 'running', attempts = attempts + 1, claim_owner = ?, \
             claim_expires_at = ?, updated_at = ? WHERE id IN ({list})"
        ),
        values,
    )?;
    select(tx, &format!("WHERE id IN ({list}) ORDER BY next_attempt_at, id"), ids)
}

/// The message `owner` holds, locked.
fn claimed_by(tx: &mut Tx<'_>, id: i64, owner: &str) -> Result<Message> {
    let m = require_locked(tx, id)?;
    message::check_claimed(&m, owner)?;
    Ok(m)
}

/// Marks a message `owner` claimed as delivered.
pub(super) fn complete(tx: &mut Tx<'_>, id: i64, owner: &str, now: i64) -> Result<Message> {
    claimed_by(tx, id, owner)?;
    tx.exec_drop(
        "UPDATE {p}messages SET status = 'done', claim_owner = NULL, claim_expires_at = NULL, updated_at = ?
         WHERE id = ?",
        (now, id),
    )?;
    require(tx, id)
}

/// Records a failed attempt of a message `owner` claimed.
#[allow(clippy::too_many_arguments)] // the failure as the trait takes it, plus the transaction and backoff
pub(super) fn fail(
    tx: &mut Tx<'_>,
    id: i64,
    owner: &str,
    error: &str,
    retryable: bool,
    retry_after: Option<u32>,
    backoff: &Backoff,
    now: i64,
) -> Result<Message> {
    let m = claimed_by(tx, id, owner)?;
    let (status, next, text) = message::after_failure(&m, error, retryable, retry_after, backoff, now);
    tx.exec_drop(
        "UPDATE {p}messages SET status = ?, next_attempt_at = ?, last_error = ?, claim_owner = NULL,
                                claim_expires_at = NULL, updated_at = ?
         WHERE id = ?",
        (status.as_str(), next, text, now, id),
    )?;
    require(tx, id)
}

/// Puts a dead message back in line, attempts reset.
pub(super) fn retry(tx: &mut Tx<'_>, id: i64, now: i64) -> Result<Message> {
    message::check_retryable(&require_locked(tx, id)?)?;
    tx.exec_drop(
        "UPDATE {p}messages SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?",
        (now, now, id),
    )?;
    require(tx, id)
}

/// Messages newest first.
pub(super) fn list(tx: &mut Tx<'_>, query: &MessageQuery, limit: u32) -> Result<MessagePage> {
    let mut rows = select(
        tx,
        "WHERE (:destination IS NULL OR destination = :destination) AND (:status IS NULL OR status = :status)
           AND (:before IS NULL OR id < :before)
         ORDER BY id DESC LIMIT :fetch",
        params! {
            "destination" => &query.destination,
            "status" => query.status.map(MessageStatus::as_str),
            "before" => query.before,
            "fetch" => i64::from(limit) + 1,
        },
    )?;
    let next_before = next_page(&mut rows, limit).map(|m| m.id);
    Ok(MessagePage {
        messages: rows,
        next_before,
    })
}

/// Deletes delivered messages last changed before `older_than`.
pub(super) fn prune_done(tx: &mut Tx<'_>, older_than: i64) -> Result<usize> {
    let deleted = tx.exec_drop(
        "DELETE FROM {p}messages WHERE status = 'done' AND updated_at < ?",
        (older_than,),
    )?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}
