//! Feeds in SQLite ([`crate::ledger::feed`]), and the claim hand-over that puts jobs in one.
//! Every function runs inside the caller's transaction; inputs were validated before.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{execute_cached, not_found};
use crate::ledger::feed::{self, owner_of, Feed, FeedState, FeedUpdate};
use crate::Result;

const FEED_COLUMNS: &str = "id, channel, state, remote_id, messages, processing_status, created_at, submitted_at, \
                            next_poll_at, polls, applied, refused, last_error, finished_at";

fn feed_from_row(row: &Row<'_>) -> rusqlite::Result<Feed> {
    let state: String = row.get(2)?;
    let state = FeedState::parse(&state)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(Feed {
        id: row.get(0)?,
        channel: row.get(1)?,
        state,
        remote_id: row.get(3)?,
        messages: row.get(4)?,
        processing_status: row.get(5)?,
        created_at: row.get(6)?,
        submitted_at: row.get(7)?,
        next_poll_at: row.get(8)?,
        polls: row.get(9)?,
        applied: row.get(10)?,
        refused: row.get(11)?,
        last_error: row.get(12)?,
        finished_at: row.get(13)?,
    })
}

fn feeds_where(conn: &Connection, clause: &str, params: impl rusqlite::Params) -> Result<Vec<Feed>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {FEED_COLUMNS} FROM feeds WHERE {clause}"))?;
    let feeds = stmt
        .query_map(params, feed_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(feeds)
}

/// The feed with this id.
pub(super) fn find(conn: &Connection, id: i64) -> Result<Option<Feed>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {FEED_COLUMNS} FROM feeds WHERE id = ?1"))?;
    Ok(stmt.query_row([id], feed_from_row).optional()?)
}

fn require(conn: &Connection, id: i64) -> Result<Feed> {
    find(conn, id)?.ok_or_else(|| not_found("feed", &id.to_string()))
}

/// A new `submitting` feed of `channel` holding the jobs of `job_ids` that `from` has claimed
/// (the others are left alone and not counted), their claims moved to `feed:<id>` until
/// `now + claim_seconds`; first poll at `now`.
pub(super) fn begin(
    conn: &Connection,
    channel: &str,
    job_ids: &[i64],
    from: &str,
    claim_seconds: u32,
    now: i64,
) -> Result<Feed> {
    execute_cached(
        conn,
        "INSERT INTO feeds (channel, state, messages, created_at, next_poll_at) VALUES (?1, 'submitting', 0, ?2, ?2)",
        params![channel, now],
    )?;
    let id = conn.last_insert_rowid();
    let owner = owner_of(id);
    let expires = now.saturating_add(i64::from(claim_seconds));
    let mut moved: u32 = 0;
    for job in job_ids {
        moved += u32::try_from(execute_cached(
            conn,
            "UPDATE jobs SET claim_owner = ?3, claim_expires_at = ?4, updated_at = ?5
             WHERE id = ?1 AND status = 'running' AND claim_owner = ?2 AND channel = ?6",
            params![job, from, owner, expires, now, channel],
        )?)
        .unwrap_or(0);
    }
    execute_cached(conn, "UPDATE feeds SET messages = ?2 WHERE id = ?1", params![id, moved])?;
    require(conn, id)
}

/// Applies `update` to feed `id`.
pub(super) fn update(conn: &Connection, id: i64, update: &FeedUpdate, now: i64) -> Result<Feed> {
    require(conn, id)?;
    let ended = update.state.is_some_and(|s| !s.is_live());
    let remote_id = feed::text(update.remote_id.as_deref());
    let last_error = update.last_error.as_deref().map(|e| feed::text(Some(e)));
    execute_cached(
        conn,
        "UPDATE feeds SET
             state = COALESCE(?2, state),
             remote_id = COALESCE(?3, remote_id),
             submitted_at = CASE WHEN ?3 IS NOT NULL AND submitted_at IS NULL THEN ?4 ELSE submitted_at END,
             processing_status = COALESCE(?5, processing_status),
             next_poll_at = COALESCE(?6, next_poll_at),
             polls = polls + ?7,
             applied = applied + ?8,
             refused = refused + ?9,
             last_error = CASE WHEN ?10 THEN ?11 ELSE last_error END,
             finished_at = CASE WHEN ?12 AND finished_at IS NULL THEN ?4 ELSE finished_at END
         WHERE id = ?1",
        params![
            id,
            update.state.map(FeedState::as_str),
            remote_id,
            now,
            feed::text(update.processing_status.as_deref()),
            update.next_poll_at,
            u32::from(update.polled),
            update.applied,
            update.refused,
            last_error.is_some(),
            last_error.flatten(),
            ended,
        ],
    )?;
    require(conn, id)
}

/// Feeds still holding jobs (submitting or submitted), of one channel or all, oldest first.
pub(super) fn live(conn: &Connection, channel: Option<&str>) -> Result<Vec<Feed>> {
    feeds_where(
        conn,
        "state IN ('submitting', 'submitted') AND (?1 IS NULL OR channel = ?1) ORDER BY id",
        params![channel],
    )
}

/// The newest `limit` feeds, of one channel or all, newest first.
pub(super) fn recent(conn: &Connection, channel: Option<&str>, limit: u32) -> Result<Vec<Feed>> {
    feeds_where(
        conn,
        "(?1 IS NULL OR channel = ?1) ORDER BY id DESC LIMIT ?2",
        params![channel, limit],
    )
}

/// Feeds of `channel` created at or after `since` (the submission quota).
pub(super) fn created_since(conn: &Connection, channel: &str, since: i64) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM feeds WHERE channel = ?1 AND created_at >= ?2")?
        .query_row(params![channel, since], |row| row.get(0))?)
}

/// Moves the claims `owner` holds to `now + claim_seconds`; returns how many.
pub(super) fn extend_claims(conn: &Connection, owner: &str, claim_seconds: u32, now: i64) -> Result<usize> {
    execute_cached(
        conn,
        "UPDATE jobs SET claim_expires_at = ?2 WHERE status = 'running' AND claim_owner = ?1",
        params![owner, now.saturating_add(i64::from(claim_seconds))],
    )
}
