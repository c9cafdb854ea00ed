//! Feeds on MariaDB/MySQL ([`crate::ledger::feed`]), and the claim hand-over that puts jobs in
//! one. Writes run inside the caller's transaction; inputs were validated before. A job changes
//! hands only while `from` still holds it (one UPDATE, which locks it), so a claim taken over
//! meanwhile is left alone.

use mysql::{params, Row, Value};

use super::stock::column;
use super::Tx;
use crate::ledger::feed::{self, owner_of, Feed, FeedState, FeedUpdate};
use crate::ledger::plan::not_found;
use crate::Result;

const COLUMNS: &str = "id, channel, state, remote_id, messages, processing_status, created_at, submitted_at, \
                       next_poll_at, polls, applied, refused, last_error, finished_at";

fn from_row(mut row: Row) -> Result<Feed> {
    let state: String = column(&mut row, 2)?;
    Ok(Feed {
        id: column(&mut row, 0)?,
        channel: column(&mut row, 1)?,
        state: FeedState::parse(&state)?,
        remote_id: column(&mut row, 3)?,
        messages: column(&mut row, 4)?,
        processing_status: column(&mut row, 5)?,
        created_at: column(&mut row, 6)?,
        submitted_at: column(&mut row, 7)?,
        next_poll_at: column(&mut row, 8)?,
        polls: column(&mut row, 9)?,
        applied: column(&mut row, 10)?,
        refused: column(&mut row, 11)?,
        last_error: column(&mut row, 12)?,
        finished_at: column(&mut row, 13)?,
    })
}

/// The feeds of `SELECT … FROM feeds {clause}`.
fn select(tx: &mut Tx<'_>, clause: &str, params: impl Into<mysql::Params>) -> Result<Vec<Feed>> {
    let sql = format!("SELECT {COLUMNS} FROM {{p}}feeds {clause}");
    let rows: Vec<Row> = tx.exec(&sql, params)?;
    rows.into_iter().map(from_row).collect()
}

/// The feed with this id.
pub(super) fn find(tx: &mut Tx<'_>, id: i64) -> Result<Option<Feed>> {
    Ok(select(tx, "WHERE id = ?", (id,))?.pop())
}

fn require(tx: &mut Tx<'_>, id: i64) -> Result<Feed> {
    find(tx, id)?.ok_or_else(|| not_found("feed", &id.to_string()))
}

/// A new `submitting` feed of `channel` holding the jobs of `job_ids` that `from` has claimed
/// (the others are left alone and not counted), their claims moved to `feed:<id>` until
/// `now + claim_seconds`; first poll at `now`.
pub(super) fn begin(
    tx: &mut Tx<'_>,
    channel: &str,
    job_ids: &[i64],
    from: &str,
    claim_seconds: u32,
    now: i64,
) -> Result<Feed> {
    tx.exec_drop(
        "INSERT INTO {p}feeds (channel, state, messages, created_at, next_poll_at) VALUES (?, 'submitting', 0, ?, ?)",
        (channel, now, now),
    )?;
    let id = tx.last_insert_id()?;
    let mut moved: u64 = 0;
    if !job_ids.is_empty() {
        let list = vec!["?"; job_ids.len()].join(", ");
        let mut values: Vec<Value> = vec![
            owner_of(id).into(),
            now.saturating_add(i64::from(claim_seconds)).into(),
            now.into(),
            from.into(),
            channel.into(),
        ];
        values.extend(job_ids.iter().map(|&job| Value::from(job)));
        moved = tx.exec_drop(
            &format!(
                "UPDATE {{p}}jobs SET claim_owner = ?, claim_expires_at = ?, updated_at = ?
                 WHERE status = 'running' AND claim_owner = ? AND channel = ? AND id IN ({list})"
            ),
            values,
        )?;
    }
    tx.exec_drop("UPDATE {p}feeds SET messages = ? WHERE id = ?", (moved, id))?;
    require(tx, id)
}

/// Applies `update` to feed `id`.
pub(super) fn update(tx: &mut Tx<'_>, id: i64, update: &FeedUpdate, now: i64) -> Result<Feed> {
    select(tx, "WHERE id = ? FOR UPDATE", (id,))?
        .pop()
        .ok_or_else(|| not_found("feed", &id.to_string()))?;
    let ended = update.state.is_some_and(|s| !s.is_live());
    let remote_id = feed::text(update.remote_id.as_deref());
    let last_error = update.last_error.as_deref().map(|e| feed::text(Some(e)));
    // (MySQL assigns left to right, later expressions seeing earlier results: no expression
    // here reads a column assigned before it.)
    tx.exec_drop(
        "UPDATE {p}feeds SET
             submitted_at = IF(:remote_id IS NOT NULL AND submitted_at IS NULL, :now, submitted_at),
             state = COALESCE(:state, state),
             remote_id = COALESCE(:remote_id, remote_id),
             processing_status = COALESCE(:processing_status, processing_status),
             next_poll_at = COALESCE(:next_poll_at, next_poll_at),
             polls = polls + :polled,
             applied = applied + :applied,
             refused = refused + :refused,
             last_error = IF(:set_error, :last_error, last_error),
             finished_at = IF(:ended AND finished_at IS NULL, :now, finished_at)
         WHERE id = :id",
        params! {
            "id" => id,
            "state" => update.state.map(FeedState::as_str),
            "remote_id" => remote_id,
            "now" => now,
            "processing_status" => feed::text(update.processing_status.as_deref()),
            "next_poll_at" => update.next_poll_at,
            "polled" => u32::from(update.polled),
            "applied" => update.applied,
            "refused" => update.refused,
            "set_error" => last_error.is_some(),
            "last_error" => last_error.flatten(),
            "ended" => ended,
        },
    )?;
    require(tx, id)
}

/// Feeds still holding jobs (submitting or submitted), of one channel or all, oldest first.
pub(super) fn live(tx: &mut Tx<'_>, channel: Option<&str>) -> Result<Vec<Feed>> {
    select(
        tx,
        "WHERE state IN ('submitting', 'submitted') AND (:channel IS NULL OR channel = :channel) ORDER BY id",
        params! { "channel" => channel },
    )
}

/// The newest `limit` feeds, of one channel or all, newest first.
pub(super) fn recent(tx: &mut Tx<'_>, channel: Option<&str>, limit: u32) -> Result<Vec<Feed>> {
    select(
        tx,
        "WHERE (:channel IS NULL OR channel = :channel) ORDER BY id DESC LIMIT :limit",
        params! { "channel" => channel, "limit" => limit },
    )
}

/// Feeds of `channel` created at or after `since` (the submission quota).
pub(super) fn created_since(tx: &mut Tx<'_>, channel: &str, since: i64) -> Result<u32> {
    let count: Option<u32> = tx.exec_first(
        "SELECT COUNT(*) FROM {p}feeds WHERE channel = ? AND created_at >= ?",
        (channel, since),
    )?;
    Ok(count.unwrap_or(0))
}

/// Moves the claims `owner` holds to `now + claim_seconds`; returns how many.
pub(super) fn extend_claims(tx: &mut Tx<'_>, owner: &str, claim_seconds: u32, now: i64) -> Result<usize> {
    // Counted first: the UPDATE's affected rows leave out claims that already expire then.
    let held: Option<u64> = tx.exec_first(
        "SELECT COUNT(*) FROM {p}jobs WHERE status = 'running' AND claim_owner = ? FOR UPDATE",
        (owner,),
    )?;
    tx.exec_drop(
        "UPDATE {p}jobs SET claim_expires_at = ? WHERE status = 'running' AND claim_owner = ?",
        (now.saturating_add(i64::from(claim_seconds)), owner),
    )?;
    Ok(usize::try_from(held.unwrap_or(0)).unwrap_or(usize::MAX))
}
