//! The outbox in SQLite: coalesced jobs and their claims. Every function runs inside the
//! caller's (immediate) transaction, so a claim, completion or failure reads and writes under one
//! lock and no two processes can take the same job; inputs were validated before. The queue's
//! rules are described in [`crate::ledger::job`].

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::listings;
use super::{execute_cached, next_page, not_found, require_item};
use crate::ledger::job::{
    self, AfterFailure, Backoff, ClearJobs, EnqueuePlan, Enqueued, Expired, Job, JobCounts, JobPage, JobQuery, JobRef,
    JobStatus, RetryPlan,
};
use crate::ledger::listing::Change;
use crate::ledger::NewJob;
use crate::{Error, Result};

const JOB_COLUMNS: &str = "id, channel, sku, desired, status, priority, attempts, revision, next_attempt_at, \
                           claim_owner, claim_expires_at, last_error, idempotency_key, created_at, updated_at";

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    let status: String = row.get(4)?;
    let status = JobStatus::parse(&status)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(Job {
        id: row.get(0)?,
        channel: row.get(1)?,
        sku: row.get(2)?,
        desired: row.get(3)?,
        status,
        priority: row.get(5)?,
        attempts: row.get(6)?,
        revision: row.get(7)?,
        next_attempt_at: row.get(8)?,
        claim_owner: row.get(9)?,
        claim_expires_at: row.get(10)?,
        last_error: row.get(11)?,
        idempotency_key: row.get(12)?,
        created_at: row.get(13)?,
        updated_at: row.get(14)?,
    })
}

/// Jobs selected by a `WHERE` clause (with its ordering and limit).
fn jobs_where(conn: &Connection, clause: &str, params: impl rusqlite::Params) -> Result<Vec<Job>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE {clause}"))?;
    let jobs = stmt
        .query_map(params, job_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(jobs)
}

fn job_where(conn: &Connection, clause: &str, params: impl rusqlite::Params) -> Result<Option<Job>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE {clause}"))?;
    Ok(stmt.query_row(params, job_from_row).optional()?)
}

/// The job with this id.
pub(super) fn find(conn: &Connection, id: i64) -> Result<Option<Job>> {
    job_where(conn, "id = ?1", [id])
}

fn require(conn: &Connection, id: i64) -> Result<Job> {
    find(conn, id)?.ok_or_else(|| not_found("job", &id.to_string()))
}

/// The pending job of a (channel, SKU), if any (there is at most one).
fn pending_of(conn: &Connection, channel: &str, sku: &str) -> Result<Option<Job>> {
    job_where(
        conn,
        "channel = ?1 AND sku = ?2 AND status = 'pending'",
        params![channel, sku],
    )
}

// ---------------------------------------------------------------------------------------------
// Enqueuing
// ---------------------------------------------------------------------------------------------

/// Where the ids of new jobs come from within one write transaction: the job table is
/// `AUTOINCREMENT` (ids are never reused: idempotency keys carry them), so the next id is one
/// more than the largest ever handed out. Knowing it before the insert lets the job be written
/// with its idempotency key in one statement.
#[derive(Default)]
pub(super) struct NewIds {
    last: Option<i64>,
}

impl NewIds {
    fn next(&mut self, conn: &Connection) -> Result<i64> {
        let last = match self.last {
            Some(last) => last,
            None => conn
                .prepare_cached(
                    "SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0),
                                COALESCE((SELECT max(id) FROM jobs), 0))",
                )?
                .query_row([], |row| row.get(0))?,
        };
        let next = last
            .checked_add(1)
            .ok_or_else(|| Error::Conflict("the outbox has used up its job ids".into()))?;
        self.last = Some(next);
        Ok(next)
    }
}

/// Enqueues one validated job: replaces the desired quantity of the pair's pending job, or
/// creates one (its id from `ids`, within the caller's transaction). A running job of the pair
/// is left alone.
pub(super) fn enqueue(conn: &Connection, new: &NewJob, ids: &mut NewIds, now: i64) -> Result<JobRef> {
    let pending = pending_of(conn, &new.channel, &new.sku)?;
    match (job::enqueue_plan(pending.as_ref(), new), pending) {
        (EnqueuePlan::Unchanged { raise_priority }, Some(pending)) => {
            if raise_priority {
                execute_cached(
                    conn,
                    "UPDATE jobs SET priority = 1, updated_at = ?2 WHERE id = ?1",
                    params![pending.id, now],
                )?;
            }
            return Ok(JobRef {
                id: pending.id,
                outcome: Enqueued::Unchanged,
                idempotency_key: pending.idempotency_key,
            });
        }
        (EnqueuePlan::Replace { revision, key }, Some(pending)) => {
            execute_cached(
                conn,
                "UPDATE jobs SET desired = ?2, revision = ?3, idempotency_key = ?4, priority = (priority OR ?5),
                                 updated_at = ?6
                 WHERE id = ?1",
                params![pending.id, new.desired, revision, key, new.priority, now],
            )?;
            return Ok(JobRef {
                id: pending.id,
                outcome: Enqueued::Replaced,
                idempotency_key: key,
            });
        }
        _ => {}
    }
    // A pending job exists only for a known item (the foreign key); a new one needs the check.
    require_item(conn, &new.sku)?;
    let id = ids.next(conn)?;
    let key = job::idempotency_key(id, now, 0, new.desired);
    execute_cached(
        conn,
        "INSERT INTO jobs (id, channel, sku, desired, status, priority, attempts, revision, next_attempt_at,
                           idempotency_key, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, 0, 0, ?6, ?7, ?6, ?6)",
        params![id, new.channel, new.sku, new.desired, new.priority, now, key],
    )?;
    Ok(JobRef {
        id,
        outcome: Enqueued::Created,
        idempotency_key: key,
    })
}

// ---------------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------------

/// Claims up to `limit` due jobs for `owner`: pending jobs whose time has come (unless the pair
/// has a job running) and jobs whose claim expired. Zero-stock and drops first, then priority,
/// then oldest.
pub(super) fn claim(
    conn: &Connection,
    owner: &str,
    channel: Option<&str>,
    limit: u32,
    claim_seconds: u32,
    backoff: &Backoff,
    now: i64,
) -> Result<Vec<Job>> {
    settle_expired(conn, backoff, now)?;
    // One statement picks the batch and claims it. The claim order is the stored `lane` (kept
    // exact by the schema's triggers), then age: the pending jobs are read in that order through
    // an index and the scan stops at `limit`; the expired claims (few: at most one per pair) are
    // merged in, and the first `limit` of both are taken. SQLite reads the whole `IN` set before
    // it updates a row, so the "no job of the pair running" test sees the state before the claim.
    // A claim does not change `lane` (its trigger fires on pending jobs only), so the rows come
    // back sorted into the claim order by it.
    let sql = match channel {
        Some(_) => CLAIM_CHANNEL_SQL,
        None => CLAIM_ALL_SQL,
    };
    let expires_at = now.saturating_add(i64::from(claim_seconds));
    let mut claimed = conn
        .prepare_cached(sql)?
        .query_map(params![channel, now, limit, owner, expires_at], |row| {
            Ok((row.get::<_, i64>(15)?, job_from_row(row)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    claimed.sort_unstable_by_key(|(lane, job)| (*lane, job.created_at, job.id));
    Ok(claimed.into_iter().map(|(_, job)| job).collect())
}

/// The batch claim of one channel (`?1`) or of all (`?1` NULL): due pending jobs whose pair has
/// nothing running, in claim order, and expired claims; `?2` now, `?3` limit, `?4` owner, `?5`
/// the claim's expiry. Returns the claimed jobs ([`JOB_COLUMNS`]) and their lane.
macro_rules! claim_sql {
    ($pending:literal) => {
        concat!(
            "UPDATE jobs SET status = 'running', claim_owner = ?4, claim_expires_at = ?5, attempts = attempts + 1,
                             updated_at = ?2
             WHERE id IN (
                 SELECT id FROM (
                     SELECT * FROM (",
            $pending,
            ")
                     UNION ALL
                     SELECT id, lane, created_at FROM jobs INDEXED BY jobs_running_expiry
                     WHERE status = 'running' AND claim_expires_at <= ?2 AND (?1 IS NULL OR channel = ?1)
                       AND claim_owner NOT IN (SELECT 'feed:' || id FROM feeds
                                               WHERE state IN ('submitting', 'submitted'))
                     ORDER BY 2, 3, 1
                     LIMIT ?3))
             RETURNING id, channel, sku, desired, status, priority, attempts, revision, next_attempt_at,
                       claim_owner, claim_expires_at, last_error, idempotency_key, created_at, updated_at, lane"
        )
    };
}

const CLAIM_CHANNEL_SQL: &str = claim_sql!(
    "SELECT j.id, j.lane, j.created_at FROM jobs j INDEXED BY jobs_claim_channel
     WHERE j.channel = ?1 AND j.status = 'pending' AND j.next_attempt_at <= ?2
       AND NOT EXISTS (SELECT 1 FROM jobs r
                       WHERE r.channel = j.channel AND r.sku = j.sku AND r.status = 'running')
     ORDER BY j.lane, j.created_at, j.id
     LIMIT ?3"
);

const CLAIM_ALL_SQL: &str = claim_sql!(
    "SELECT j.id, j.lane, j.created_at FROM jobs j INDEXED BY jobs_claim_all
     WHERE ?1 IS NULL AND j.status = 'pending' AND j.next_attempt_at <= ?2
       AND NOT EXISTS (SELECT 1 FROM jobs r
                       WHERE r.channel = j.channel AND r.sku = j.sku AND r.status = 'running')
     ORDER BY j.lane, j.created_at, j.id
     LIMIT ?3"
);

/// Running jobs whose claim expired, but not those of a live feed: a feed's jobs stay held until
/// its fate is known, whatever the clock says (an older quantity must not land after a newer
/// one), and the feed's poll extends them.
const EXPIRED_CLAIMS: &str = "status = 'running' AND claim_expires_at <= ?1
     AND claim_owner NOT IN (SELECT 'feed:' || id FROM feeds WHERE state IN ('submitting', 'submitted'))
     ORDER BY id";

/// Running jobs whose claim expired (their runner stopped without a result): superseded when a
/// newer pending job waits, dead when they used up their attempts; the others are claimed again.
fn settle_expired(conn: &Connection, backoff: &Backoff, now: i64) -> Result<()> {
    let expired = jobs_where(conn, EXPIRED_CLAIMS, [now])?;
    for job in expired {
        let newer = pending_of(conn, &job.channel, &job.sku)?;
        match (job::settle_expired(&job, newer.as_ref(), backoff), newer) {
            (Expired::Supersede { reason, error }, Some(newer)) => {
                supersede(conn, &job, &reason, job.attempts, &newer, Some(&error), i64::MIN, now)?;
            }
            (Expired::Kill { reason }, _) => kill(conn, &job, &reason, now)?,
            _ => {}
        }
    }
    Ok(())
}

/// The job, if `owner` holds its claim (an expired claim still counts while nobody took it
/// over); else a conflict saying why the result cannot be recorded.
fn claimed_by(conn: &Connection, id: i64, owner: &str) -> Result<Job> {
    let job = require(conn, id)?;
    job::check_claimed(&job, owner)?;
    Ok(job)
}

/// Marks a claimed job done and records the pushed quantity on the listing.
pub(super) fn complete(conn: &Connection, id: i64, owner: &str, now: i64) -> Result<Job> {
    let job = claimed_by(conn, id, owner)?;
    execute_cached(
        conn,
        "UPDATE jobs SET status = 'done', claim_owner = NULL, claim_expires_at = NULL, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    listings::update(conn, &job.channel, &job.sku, Change::Pushed(job.desired), now)?;
    retire_older_dead(conn, &job, now)?;
    require(conn, id)
}

/// Marks several claimed jobs done, in order, in the caller's one transaction, and records each
/// one's pushed quantity and new remote id (already validated) on its listing: a job whose claim
/// `owner` lost (or that does not exist) gets its error and nothing is written for it; any other
/// error fails the whole call.
///
/// The jobs still claimed by `owner` are completed by one statement; then each listing is written
/// by one upsert (two with a new remote id), which also fires the lane triggers as a pushed
/// quantity must. Older dead jobs of the pairs are looked for only when the outbox has a dead job.
pub(super) fn complete_all(
    conn: &Connection,
    completions: &[(i64, Option<&str>)],
    owner: &str,
    now: i64,
) -> Result<Vec<Result<Job>>> {
    let ids = format!(
        "[{}]",
        completions
            .iter()
            .map(|(id, _)| id.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut done: HashMap<i64, Job> = conn
        .prepare_cached(&format!(
            "UPDATE jobs SET status = 'done', claim_owner = NULL, claim_expires_at = NULL, updated_at = ?3
             WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'running' AND claim_owner = ?2
             RETURNING {JOB_COLUMNS}"
        ))?
        .query_map(params![ids, owner, now], job_from_row)?
        .map(|job| job.map(|job| (job.id, job)))
        .collect::<rusqlite::Result<_>>()?;
    let any_dead = !done.is_empty()
        && conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 'dead')")?
            .query_row([], |row| row.get::<_, bool>(0))?;
    let mut results = Vec::with_capacity(completions.len());
    for &(id, remote_id) in completions {
        let Some(job) = done.remove(&id) else {
            // Not (or no longer: a repeated id) claimed by `owner`: say why.
            results.push(match claimed_by(conn, id, owner) {
                Ok(_) => complete(conn, id, owner, now),
                Err(error @ (Error::Conflict(_) | Error::NotFound { .. })) => Err(error),
                Err(error) => return Err(error),
            });
            continue;
        };
        if let Some(remote_id) = remote_id {
            // The remote side decides which SKU a remote id carries: take it from any other.
            execute_cached(
                conn,
                "UPDATE listings SET remote_id = NULL, updated_at = ?4
                 WHERE channel = ?1 AND remote_id = ?2 AND sku != ?3",
                params![job.channel, remote_id, job.sku, now],
            )?;
        }
        execute_cached(
            conn,
            "INSERT INTO listings (channel, sku, remote_id, last_pushed_quantity, last_pushed_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)
             ON CONFLICT (channel, sku) DO UPDATE SET remote_id = COALESCE(excluded.remote_id, remote_id),
                 last_pushed_quantity = excluded.last_pushed_quantity, last_pushed_at = excluded.last_pushed_at,
                 updated_at = excluded.updated_at",
            params![job.channel, job.sku, remote_id, job.desired, now],
        )?;
        if any_dead {
            retire_older_dead(conn, &job, now)?;
        }
        results.push(Ok(job));
    }
    Ok(results)
}

/// Records a failed push of a claimed job (`error` already cleaned): back in line with backoff,
/// handed to a newer pending job, or dead.
#[allow(clippy::too_many_arguments)] // the trait's parameters plus the connection and settings
pub(super) fn fail(
    conn: &Connection,
    id: i64,
    owner: &str,
    error: &str,
    retryable: bool,
    retry_after: Option<u32>,
    backoff: &Backoff,
    now: i64,
) -> Result<Job> {
    let job = claimed_by(conn, id, owner)?;
    match job::after_failure(&job, error, retryable, retry_after, backoff, now) {
        AfterFailure::Dead(reason) => kill(conn, &job, &reason, now)?,
        AfterFailure::Retry { next_attempt_at: next } => match pending_of(conn, &job.channel, &job.sku)? {
            Some(newer) => {
                let reason = job::superseded(newer.id, Some(error));
                supersede(conn, &job, &reason, job.attempts, &newer, Some(error), next, now)?;
            }
            None => {
                execute_cached(
                    conn,
                    "UPDATE jobs SET status = 'pending', claim_owner = NULL, claim_expires_at = NULL,
                                     next_attempt_at = ?2, last_error = ?3, updated_at = ?4
                     WHERE id = ?1",
                    params![id, next, error, now],
                )?;
            }
        },
    }
    require(conn, id)
}

/// The jobs `owner` holds, by id.
pub(super) fn held_by(conn: &Connection, owner: &str, after_id: i64, limit: u32) -> Result<Vec<Job>> {
    jobs_where(
        conn,
        "status = 'running' AND claim_owner = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        params![owner, after_id, limit],
    )
}

/// Gives back every job `owner` holds, unpushed: its attempt is returned and it is due again
/// (or handed to a newer pending job of its pair).
pub(super) fn release(conn: &Connection, owner: &str, now: i64) -> Result<usize> {
    let held = jobs_where(conn, "status = 'running' AND claim_owner = ?1 ORDER BY id", [owner])?;
    for job in &held {
        let attempts = job.attempts.saturating_sub(1);
        match pending_of(conn, &job.channel, &job.sku)? {
            Some(newer) => {
                let reason = job::released(owner, newer.id);
                let carried = job.last_error.as_deref();
                supersede(conn, job, &reason, attempts, &newer, carried, i64::MIN, now)?;
            }
            None => {
                execute_cached(
                    conn,
                    "UPDATE jobs SET status = 'pending', claim_owner = NULL, claim_expires_at = NULL, attempts = ?2,
                                     updated_at = ?3
                     WHERE id = ?1",
                    params![job.id, attempts, now],
                )?;
            }
        }
    }
    Ok(held.len())
}

/// Ends `old` (status failed, with `reason`) in favour of the newer pending job of its pair,
/// which takes over `attempts` (when more than its own), the later of the two next attempt times
/// and, when given, `error` as its last error.
#[allow(clippy::too_many_arguments)] // two jobs and what passes from one to the other
fn supersede(
    conn: &Connection,
    old: &Job,
    reason: &str,
    attempts: u32,
    newer: &Job,
    error: Option<&str>,
    next_attempt_at: i64,
    now: i64,
) -> Result<()> {
    execute_cached(
        conn,
        "UPDATE jobs SET status = 'failed', claim_owner = NULL, claim_expires_at = NULL, attempts = ?2,
                         last_error = ?3, updated_at = ?4
         WHERE id = ?1",
        params![old.id, attempts, job::error_text(reason)?, now],
    )?;
    execute_cached(
        conn,
        "UPDATE jobs SET attempts = max(attempts, ?2), next_attempt_at = max(next_attempt_at, ?3),
                         last_error = COALESCE(?4, last_error), updated_at = ?5
         WHERE id = ?1",
        params![newer.id, attempts, next_attempt_at, error, now],
    )?;
    Ok(())
}

/// Makes a job dead with a readable reason.
fn kill(conn: &Connection, job: &Job, reason: &str, now: i64) -> Result<()> {
    execute_cached(
        conn,
        "UPDATE jobs SET status = 'dead', claim_owner = NULL, claim_expires_at = NULL, last_error = ?2,
                         updated_at = ?3
         WHERE id = ?1",
        params![job.id, job::error_text(reason)?, now],
    )?;
    retire_older_dead(conn, job, now)
}

/// Older dead jobs of the pair are superseded (failed) once `job` is done or dead, so a pair has
/// at most one dead letter and never one older than a successful push.
fn retire_older_dead(conn: &Connection, job: &Job, now: i64) -> Result<()> {
    let older = jobs_where(
        conn,
        "channel = ?1 AND sku = ?2 AND id < ?3 AND status = 'dead' ORDER BY id",
        params![job.channel, job.sku, job.id],
    )?;
    for dead in older {
        mark_superseded(conn, &dead, job.id, now)?;
    }
    Ok(())
}

/// A dead job becomes failed: superseded by job `by`, keeping its reason after that.
fn mark_superseded(conn: &Connection, dead: &Job, by: i64, now: i64) -> Result<()> {
    let reason = job::superseded(by, dead.last_error.as_deref());
    execute_cached(
        conn,
        "UPDATE jobs SET status = 'failed', last_error = ?2, updated_at = ?3 WHERE id = ?1",
        params![dead.id, job::error_text(&reason)?, now],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------------------------

/// Puts a dead or failed job back in line with its attempts reset; see
/// [`crate::ledger::LedgerStore::retry_job`].
pub(super) fn retry(conn: &Connection, id: i64, now: i64) -> Result<Job> {
    let job = require(conn, id)?;
    let newest = || {
        job_where(
            conn,
            "channel = ?1 AND sku = ?2 AND id > ?3 ORDER BY id DESC LIMIT 1",
            params![job.channel, job.sku, id],
        )
    };
    match job::retry_plan(&job, newest)? {
        RetryPlan::Itself => {
            execute_cached(
                conn,
                "UPDATE jobs SET status = 'pending', attempts = 0, next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            require(conn, id)
        }
        RetryPlan::Carry { by, retire } => {
            execute_cached(
                conn,
                "UPDATE jobs SET attempts = 0, next_attempt_at = min(next_attempt_at, ?2), updated_at = ?2 WHERE id = ?1",
                params![by, now],
            )?;
            if retire {
                mark_superseded(conn, &job, by, now)?;
            }
            require(conn, by)
        }
    }
}

/// Retries every dead job (of one channel), newest first; jobs whose pair has a newer job being
/// pushed are skipped. Returns how many left the dead letters.
pub(super) fn retry_all(conn: &Connection, channel: Option<&str>, now: i64) -> Result<usize> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM jobs WHERE status = 'dead' AND (?1 IS NULL OR channel = ?1) ORDER BY id DESC",
    )?;
    let ids = stmt
        .query_map([channel], |row| row.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut retried = 0;
    for id in ids {
        match retry(conn, id, now) {
            Ok(_) => retried += 1,
            Err(Error::Conflict(_)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(retried)
}

/// Deletes the jobs a [`ClearJobs`] names (channel already validated).
pub(super) fn clear(conn: &Connection, filter: &ClearJobs) -> Result<usize> {
    let (statuses, channel): (&str, Option<&str>) = match filter {
        ClearJobs::Dead { channel } => ("'dead'", channel.as_deref()),
        ClearJobs::Finished { channel } => ("'done', 'failed', 'dead'", channel.as_deref()),
        ClearJobs::Pending { channel } => ("'pending'", Some(channel.as_str())),
    };
    let sql = format!("DELETE FROM jobs WHERE status IN ({statuses}) AND (?1 IS NULL OR channel = ?1)");
    Ok(conn.prepare_cached(&sql)?.execute([channel])?)
}

/// A page of jobs, newest first.
pub(super) fn list(conn: &Connection, query: &JobQuery, limit: u32) -> Result<JobPage> {
    let channel = query.channel.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let mut jobs = jobs_where(
        conn,
        "(?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR status = ?2) AND id < ?3 ORDER BY id DESC LIMIT ?4",
        params![
            channel,
            query.status.map(JobStatus::as_str),
            query.before.unwrap_or(i64::MAX),
            i64::from(limit) + 1
        ],
    )?;
    let next_before = next_page(&mut jobs, limit).map(|last| last.id);
    Ok(JobPage { jobs, next_before })
}

/// Jobs per status (of one channel).
pub(super) fn counts(conn: &Connection, channel: Option<&str>) -> Result<JobCounts> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, COUNT(*), SUM(attempts > 0) FROM jobs WHERE (?1 IS NULL OR channel = ?1) GROUP BY status",
    )?;
    let rows = stmt
        .query_map([channel], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?, row.get::<_, u64>(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut counts = JobCounts::default();
    for (status, count, with_attempts) in rows {
        counts.add(JobStatus::parse(&status)?, count, with_attempts);
    }
    Ok(counts)
}

/// Deletes done and failed (superseded) jobs last changed before `older_than`.
pub(super) fn prune_done(conn: &Connection, older_than: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM jobs WHERE status IN ('done', 'failed') AND updated_at < ?1")?
        .execute([older_than])?)
}
