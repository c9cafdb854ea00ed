//! The outbox on MariaDB/MySQL: coalesced jobs and their claims. Writes run inside the caller's
//! transaction; inputs were validated before. The queue's rules and decisions are
//! [`crate::ledger::job`]'s, shared with SQLite; this module reads, locks and writes.
//!
//! How SQLite's single writer is replaced:
//! * **Claims** read the head of the queue without locking, then lock the jobs they take by id
//!   `FOR UPDATE SKIP LOCKED` ([`Claims::SkipLocked`]), reading on for those another claim took:
//!   runners on several servers take disjoint batches without waiting for each other, and each
//!   locks only what it takes (see [`claim`]). Servers without SKIP LOCKED claim under a named
//!   lock instead ([`Claims::NamedLock`]): the same statements with a plain `FOR UPDATE`, one
//!   claimer at a time.
//! * **A claim holder's write** (complete, fail) reads its job `FOR UPDATE` first, so a late
//!   runner cannot race a re-claim of its lapsed claim.
//! * **Enqueuing** reads the pair's pending job `FOR UPDATE`: it waits out a claim of it, then
//!   sees it running and creates a new one beside it. Two enqueuers creating the same pair's job
//!   meet at `UNIQUE (channel, sku, pending_pair)`: the second gets a duplicate key (1062), reads
//!   again and coalesces into the first's job.
//! * **Lanes** (the claim order: 0 zero stock and drops, 1 priority, 2 the rest) are kept by
//!   [`LANE_SQL`], not triggers: set on every job written pending ([`relane_job`]) and on a
//!   pair's open jobs when its listing's pushed quantity changes ([`relane`]). Both are
//!   single-table UPDATEs whose listing read is a consistent (non-locking) read at READ
//!   COMMITTED, so they never wait for a listing writer.

use std::collections::{HashMap, HashSet};

use mysql::{params, Row, Value};

use super::stock::{column, require_item};
use super::{listings, Claims, Tx};
use crate::error::MySqlFailure;
use crate::ledger::job::{
    self, AfterFailure, Backoff, ClearJobs, EnqueuePlan, Enqueued, Expired, Job, JobCounts, JobPage, JobQuery, JobRef,
    JobStatus, RetryPlan,
};
use crate::ledger::listing::Change;
use crate::ledger::plan::{next_page, not_found};
use crate::ledger::NewJob;
use crate::{Error, Result};

const COLUMNS: &str = "id, channel, sku, desired, status, priority, attempts, revision, next_attempt_at, \
                       claim_owner, claim_expires_at, last_error, idempotency_key, created_at, updated_at";

/// The claim lane of job `j` (`{p}jobs j`): 0 for zero stock and drops (desired below the
/// quantity last pushed to the listing), 1 for priority jobs, 2 for the others. What SQLite's
/// lane triggers compute; the listing is read without a lock (a consistent read in the UPDATEs
/// that use this, at READ COMMITTED).
const LANE_SQL: &str = "CASE WHEN j.desired = 0
                               OR j.desired < (SELECT l.last_pushed_quantity FROM {p}listings l
                                               WHERE l.channel = j.channel AND l.sku = j.sku)
                             THEN 0 WHEN j.priority = 1 THEN 1 ELSE 2 END";

fn from_row(mut row: Row) -> Result<Job> {
    let status: String = column(&mut row, 4)?;
    Ok(Job {
        id: column(&mut row, 0)?,
        channel: column(&mut row, 1)?,
        sku: column(&mut row, 2)?,
        desired: column(&mut row, 3)?,
        status: JobStatus::parse(&status)?,
        priority: column(&mut row, 5)?,
        attempts: column(&mut row, 6)?,
        revision: column(&mut row, 7)?,
        next_attempt_at: column(&mut row, 8)?,
        claim_owner: column(&mut row, 9)?,
        claim_expires_at: column(&mut row, 10)?,
        last_error: column(&mut row, 11)?,
        idempotency_key: column(&mut row, 12)?,
        created_at: column(&mut row, 13)?,
        updated_at: column(&mut row, 14)?,
    })
}

/// The jobs of `SELECT … FROM jobs {clause}`.
pub(super) fn select(tx: &mut Tx<'_>, clause: &str, params: impl Into<mysql::Params>) -> Result<Vec<Job>> {
    let sql = format!("SELECT {COLUMNS} FROM {{p}}jobs {clause}");
    let rows: Vec<Row> = tx.exec(&sql, params)?;
    rows.into_iter().map(from_row).collect()
}

/// The job with this id.
pub(super) fn find(tx: &mut Tx<'_>, id: i64) -> Result<Option<Job>> {
    Ok(select(tx, "WHERE id = ?", (id,))?.pop())
}

fn require(tx: &mut Tx<'_>, id: i64) -> Result<Job> {
    find(tx, id)?.ok_or_else(|| not_found("job", &id.to_string()))
}

/// The job with this id, locked until the transaction ends.
fn require_locked(tx: &mut Tx<'_>, id: i64) -> Result<Job> {
    select(tx, "WHERE id = ? FOR UPDATE", (id,))?
        .pop()
        .ok_or_else(|| not_found("job", &id.to_string()))
}

/// The pending job of a (channel, SKU), if any (there is at most one), locked.
fn pending_of(tx: &mut Tx<'_>, channel: &str, sku: &str) -> Result<Option<Job>> {
    Ok(select(
        tx,
        "WHERE channel = ? AND sku = ? AND pending_pair = 1 FOR UPDATE",
        (channel, sku),
    )?
    .pop())
}

/// `?, ?, …` for `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

// ---------------------------------------------------------------------------------------------
// Lanes
// ---------------------------------------------------------------------------------------------

/// Recomputes the lane of a pair's pending and running jobs (its listing's pushed quantity
/// changed), as SQLite's listing triggers do.
pub(super) fn relane(tx: &mut Tx<'_>, channel: &str, sku: &str) -> Result<()> {
    let sql = format!(
        "UPDATE {{p}}jobs j SET j.lane = {LANE_SQL}
         WHERE j.channel = ? AND j.sku = ? AND j.status IN ('pending', 'running')"
    );
    tx.exec_drop(&sql, (channel, sku))?;
    Ok(())
}

/// Recomputes the lane of one job just written pending (created, its quantity or priority
/// changed, back in line), as SQLite's job triggers do.
fn relane_job(tx: &mut Tx<'_>, id: i64) -> Result<()> {
    let sql = format!("UPDATE {{p}}jobs j SET j.lane = {LANE_SQL} WHERE j.id = ?");
    tx.exec_drop(&sql, (id,))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Enqueuing
// ---------------------------------------------------------------------------------------------

/// Enqueues validated jobs in order (see [`enqueue`]). Every SKU is checked first: an unknown
/// one refuses the batch before anything is inserted, so it uses up no job ids (AUTO_INCREMENT
/// does not give back the ids of a rolled-back insert).
pub(super) fn enqueue_all(tx: &mut Tx<'_>, jobs: &[NewJob], now: i64) -> Result<Vec<JobRef>> {
    let mut checked = HashSet::new();
    for new in jobs {
        if checked.insert(new.sku.as_str()) {
            require_item(tx, &new.sku)?;
        }
    }
    jobs.iter().map(|new| enqueue(tx, new, now)).collect()
}

/// Enqueues one validated job of a known SKU: replaces the desired quantity of the pair's
/// pending job, or creates one. A running job of the pair is left alone. A concurrent enqueuer
/// that created the pair's pending job first (a duplicate key on the insert) is coalesced with.
fn enqueue(tx: &mut Tx<'_>, new: &NewJob, now: i64) -> Result<JobRef> {
    match enqueue_once(tx, new, now) {
        Err(error) if error.mysql_failure() == Some(MySqlFailure::DuplicateKey) => enqueue_once(tx, new, now),
        other => other,
    }
}

fn enqueue_once(tx: &mut Tx<'_>, new: &NewJob, now: i64) -> Result<JobRef> {
    let pending = pending_of(tx, &new.channel, &new.sku)?;
    match (job::enqueue_plan(pending.as_ref(), new), pending) {
        (EnqueuePlan::Unchanged { raise_priority }, Some(pending)) => {
            if raise_priority {
                tx.exec_drop(
                    "UPDATE {p}jobs SET priority = 1, updated_at = ? WHERE id = ?",
                    (now, pending.id),
                )?;
                relane_job(tx, pending.id)?;
            }
            Ok(JobRef {
                id: pending.id,
                outcome: Enqueued::Unchanged,
                idempotency_key: pending.idempotency_key,
            })
        }
        (EnqueuePlan::Replace { revision, key }, Some(pending)) => {
            tx.exec_drop(
                "UPDATE {p}jobs SET desired = :desired, revision = :revision, idempotency_key = :key,
                                    priority = GREATEST(priority, :priority), updated_at = :now
                 WHERE id = :id",
                params! {
                    "desired" => new.desired,
                    "revision" => revision,
                    "key" => &key,
                    "priority" => new.priority,
                    "now" => now,
                    "id" => pending.id,
                },
            )?;
            relane_job(tx, pending.id)?;
            Ok(JobRef {
                id: pending.id,
                outcome: Enqueued::Replaced,
                idempotency_key: key,
            })
        }
        _ => create(tx, new, now),
    }
}

/// A new pending job. Its idempotency key holds its id, known only after the insert: it is
/// written with an empty key, then given its key (and its lane) by id.
fn create(tx: &mut Tx<'_>, new: &NewJob, now: i64) -> Result<JobRef> {
    tx.exec_drop(
        "INSERT INTO {p}jobs (channel, sku, desired, status, priority, attempts, revision, next_attempt_at,
                              idempotency_key, created_at, updated_at)
         VALUES (:channel, :sku, :desired, 'pending', :priority, 0, 0, :now, '', :now, :now)",
        params! {
            "channel" => &new.channel,
            "sku" => &new.sku,
            "desired" => new.desired,
            "priority" => new.priority,
            "now" => now,
        },
    )?;
    let id = tx.last_insert_id()?;
    let key = job::idempotency_key(id, now, 0, new.desired);
    let sql = format!("UPDATE {{p}}jobs j SET j.idempotency_key = ?, j.lane = {LANE_SQL} WHERE j.id = ?");
    tx.exec_drop(&sql, (&key, id))?;
    Ok(JobRef {
        id,
        outcome: Enqueued::Created,
        idempotency_key: key,
    })
}

// ---------------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------------

/// Running jobs whose claim expired (`:now`), but not those of a live feed: a feed's jobs stay
/// held until its fate is known, whatever the clock says, and the feed's poll extends them.
const EXPIRED: &str = "status = 'running' AND claim_expires_at <= :now
     AND claim_owner NOT IN (SELECT CONCAT('feed:', f.id) FROM {p}feeds f
                             WHERE f.state IN ('submitting', 'submitted'))";

/// How many times a claim reads the queue again for the jobs other claims took meanwhile.
const CLAIM_ROUNDS: usize = 4;

/// A job's place in the claim order: (lane, created_at, id).
type Place = (i64, i64, i64);

/// Claims up to `limit` due jobs for `owner`: pending jobs whose time has come (unless the pair
/// has a job running) and jobs whose claim expired, in claim order (lane, age, id).
///
/// A claim locks only the jobs it takes, so that what another claim passes over (locked) is
/// always taken: a round reads the first candidates of the queue without locking (the pending
/// jobs and the expired claims, each in claim order through an index, merged), then locks them
/// `FOR UPDATE SKIP LOCKED` by id, checking they are still due; those another claim holds are
/// passed over, and the next round reads on for as many as are missing. (Selecting with
/// `LIMIT` and locking in one statement would lock candidates the merge then drops: another
/// claim would skip them, and take them in its next batch after later ones.)
#[allow(clippy::too_many_arguments)] // the claim as the trait takes it, plus the transaction and settings
pub(super) fn claim(
    tx: &mut Tx<'_>,
    claims: Claims,
    owner: &str,
    channel: Option<&str>,
    limit: u32,
    claim_seconds: u32,
    backoff: &Backoff,
    now: i64,
) -> Result<Vec<Job>> {
    settle_expired(tx, claims, backoff, now)?;
    let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut taken: Vec<Place> = Vec::new();
    let mut passed: HashSet<i64> = HashSet::new();
    for _ in 0..CLAIM_ROUNDS {
        let missing = wanted - taken.len();
        if missing == 0 {
            break;
        }
        let seen = u32::try_from(taken.len() + passed.len()).unwrap_or(u32::MAX);
        let mut candidates = queue_head(tx, channel, limit.saturating_add(seen), now)?;
        candidates.retain(|&(_, _, id)| !passed.contains(&id) && !taken.iter().any(|t| t.2 == id));
        candidates.truncate(missing);
        if candidates.is_empty() {
            break;
        }
        let locked: HashSet<i64> = lock_due(tx, claims, &candidates, now)?.into_iter().collect();
        for place in candidates {
            if locked.contains(&place.2) {
                taken.push(place);
            } else {
                passed.insert(place.2);
            }
        }
    }
    if taken.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Value> = taken.iter().map(|&(_, _, id)| Value::from(id)).collect();
    let list = placeholders(ids.len());
    let mut values: Vec<Value> = vec![
        owner.into(),
        now.saturating_add(i64::from(claim_seconds)).into(),
        now.into(),
    ];
    values.extend(ids.iter().cloned());
    tx.exec_drop(
        &format!(
            "UPDATE {{p}}jobs SET status = 'running', claim_owner = ?, claim_expires_at = ?, attempts = attempts + 1,
                                  updated_at = ?
             WHERE id IN ({list})"
        ),
        values,
    )?;
    // A claim does not change lanes, so the order by lane is still the claim order.
    select(tx, &format!("WHERE id IN ({list}) ORDER BY lane, created_at, id"), ids)
}

/// The first `limit` jobs a claim could take, in claim order, read without locking: due pending
/// jobs whose pair has nothing running, and expired claims, of one channel or all. The pending
/// jobs are read through the claim index, in its order, stopping at `limit`.
fn queue_head(tx: &mut Tx<'_>, channel: Option<&str>, limit: u32, now: i64) -> Result<Vec<Place>> {
    let (index, pending_of_channel, expired_of_channel) = match channel {
        Some(_) => (
            "jobs_claim_channel",
            "AND j.channel = :channel",
            "AND channel = :channel",
        ),
        None => ("jobs_claim_all", "", ""),
    };
    let values = || match channel {
        Some(channel) => params! { "now" => now, "limit" => limit, "channel" => channel },
        None => params! { "now" => now, "limit" => limit },
    };
    let pending = format!(
        "SELECT j.lane, j.created_at, j.id FROM {{p}}jobs j FORCE INDEX ({index})
         WHERE j.status = 'pending' {pending_of_channel} AND j.next_attempt_at <= :now
           AND NOT EXISTS (SELECT 1 FROM {{p}}jobs r
                           WHERE r.channel = j.channel AND r.sku = j.sku AND r.running_pair = 1)
         ORDER BY j.lane, j.created_at, j.id
         LIMIT :limit"
    );
    let expired = format!(
        "SELECT lane, created_at, id FROM {{p}}jobs
         WHERE {EXPIRED} {expired_of_channel}
         ORDER BY lane, created_at, id
         LIMIT :limit"
    );
    let mut head: Vec<Place> = tx.exec(&pending, values())?;
    head.extend(tx.exec::<Place>(&expired, values())?);
    head.sort_unstable();
    Ok(head)
}

/// Locks the jobs of `places` that are still due (pending and due, or running with an expired
/// claim) and no other claim holds (or, under the named lock, waits for them); returns their
/// ids. Only these rows are locked: read by primary key.
fn lock_due(tx: &mut Tx<'_>, claims: Claims, places: &[Place], now: i64) -> Result<Vec<i64>> {
    let mut values: Vec<Value> = places.iter().map(|&(_, _, id)| Value::from(id)).collect();
    let list = placeholders(values.len());
    values.extend([Value::from(now), Value::from(now)]);
    tx.exec(
        &format!(
            "SELECT id FROM {{p}}jobs
             WHERE id IN ({list})
               AND ((status = 'pending' AND next_attempt_at <= ?) OR (status = 'running' AND claim_expires_at <= ?))
             {}",
            claims.clause()
        ),
        values,
    )
}

/// Running jobs whose claim expired (their runner stopped without a result): superseded when a
/// newer pending job waits, dead when they used up their attempts; the others are left to be
/// claimed again. The expired claims are read without locking; only those to settle are locked
/// (and skipped when another claim is settling them), and decided again once locked.
fn settle_expired(tx: &mut Tx<'_>, claims: Claims, backoff: &Backoff, now: i64) -> Result<()> {
    let expired = select(tx, &format!("WHERE {EXPIRED} ORDER BY id"), params! { "now" => now })?;
    for seen in expired {
        let newer = select(
            tx,
            "WHERE channel = ? AND sku = ? AND pending_pair = 1",
            (&seen.channel, &seen.sku),
        )?;
        if job::settle_expired(&seen, newer.first(), backoff) == Expired::Reclaim {
            continue;
        }
        let clause = format!(
            "WHERE id = :id AND status = 'running' AND claim_expires_at <= :now {}",
            claims.clause()
        );
        let Some(job) = select(tx, &clause, params! { "id" => seen.id, "now" => now })?.pop() else {
            continue;
        };
        let newer = pending_of(tx, &job.channel, &job.sku)?;
        match (job::settle_expired(&job, newer.as_ref(), backoff), newer) {
            (Expired::Supersede { reason, error }, Some(newer)) => {
                supersede(tx, &job, &reason, job.attempts, &newer, Some(&error), i64::MIN, now)?;
            }
            (Expired::Kill { reason }, _) => kill(tx, &job, &reason, now)?,
            _ => {}
        }
    }
    Ok(())
}

/// The job, locked, if `owner` holds its claim; else a conflict (see [`job::check_claimed`]).
fn claimed_by(tx: &mut Tx<'_>, id: i64, owner: &str) -> Result<Job> {
    let job = require_locked(tx, id)?;
    job::check_claimed(&job, owner)?;
    Ok(job)
}

/// Marks a claimed job done and records the pushed quantity on the listing.
pub(super) fn complete(tx: &mut Tx<'_>, id: i64, owner: &str, now: i64) -> Result<Job> {
    let job = claimed_by(tx, id, owner)?;
    tx.exec_drop(
        "UPDATE {p}jobs SET status = 'done', claim_owner = NULL, claim_expires_at = NULL, updated_at = ?
         WHERE id = ?",
        (now, id),
    )?;
    listings::update(tx, &job.channel, &job.sku, &Change::Pushed(job.desired), now)?;
    retire_older_dead(tx, &job, now)?;
    require(tx, id)
}

/// Marks several claimed jobs done, in order, and records each one's pushed quantity and new
/// remote id (already validated) on its listing: a job whose claim `owner` lost (or that does
/// not exist) gets its error and nothing is written for it; any other error fails the whole
/// call. The jobs still claimed by `owner` are locked, then completed by one statement.
pub(super) fn complete_all(
    tx: &mut Tx<'_>,
    completions: &[(i64, Option<&str>)],
    owner: &str,
    now: i64,
) -> Result<Vec<Result<Job>>> {
    let mut values: Vec<Value> = completions.iter().map(|&(id, _)| Value::from(id)).collect();
    let list = placeholders(values.len());
    values.push(owner.into());
    let held: Vec<i64> = tx.exec(
        &format!("SELECT id FROM {{p}}jobs WHERE id IN ({list}) AND status = 'running' AND claim_owner = ? FOR UPDATE"),
        values,
    )?;
    let mut done: HashMap<i64, Job> = HashMap::new();
    if !held.is_empty() {
        let ids: Vec<Value> = held.iter().map(|&id| Value::from(id)).collect();
        let list = placeholders(ids.len());
        let mut values: Vec<Value> = vec![now.into()];
        values.extend(ids.iter().cloned());
        tx.exec_drop(
            &format!(
                "UPDATE {{p}}jobs SET status = 'done', claim_owner = NULL, claim_expires_at = NULL, updated_at = ?
                 WHERE id IN ({list})"
            ),
            values,
        )?;
        done = select(tx, &format!("WHERE id IN ({list})"), ids)?
            .into_iter()
            .map(|job| (job.id, job))
            .collect();
    }
    let any_dead = !done.is_empty()
        && tx
            .exec_first::<i64>("SELECT EXISTS (SELECT 1 FROM {p}jobs WHERE status = 'dead')", ())?
            .unwrap_or(0)
            != 0;
    let mut results = Vec::with_capacity(completions.len());
    for &(id, remote_id) in completions {
        let Some(job) = done.remove(&id) else {
            // Not (or no longer: a repeated id) claimed by `owner`: say why.
            results.push(match claimed_by(tx, id, owner) {
                Ok(_) => complete(tx, id, owner, now),
                Err(error @ (Error::Conflict(_) | Error::NotFound { .. })) => Err(error),
                Err(error) => return Err(error),
            });
            continue;
        };
        listings::record_pushed(tx, &job.channel, &job.sku, job.desired, remote_id, now)?;
        if any_dead {
            retire_older_dead(tx, &job, now)?;
        }
        results.push(Ok(job));
    }
    Ok(results)
}

/// Records a failed push of a claimed job (`error` already cleaned): back in line with backoff,
/// handed to a newer pending job, or dead.
#[allow(clippy::too_many_arguments)] // the trait's parameters plus the transaction and settings
pub(super) fn fail(
    tx: &mut Tx<'_>,
    id: i64,
    owner: &str,
    error: &str,
    retryable: bool,
    retry_after: Option<u32>,
    backoff: &Backoff,
    now: i64,
) -> Result<Job> {
    let job = claimed_by(tx, id, owner)?;
    match job::after_failure(&job, error, retryable, retry_after, backoff, now) {
        AfterFailure::Dead(reason) => kill(tx, &job, &reason, now)?,
        AfterFailure::Retry { next_attempt_at } => match pending_of(tx, &job.channel, &job.sku)? {
            Some(newer) => {
                let reason = job::superseded(newer.id, Some(error));
                supersede(
                    tx,
                    &job,
                    &reason,
                    job.attempts,
                    &newer,
                    Some(error),
                    next_attempt_at,
                    now,
                )?;
            }
            None => {
                tx.exec_drop(
                    "UPDATE {p}jobs SET status = 'pending', claim_owner = NULL, claim_expires_at = NULL,
                                        next_attempt_at = ?, last_error = ?, updated_at = ?
                     WHERE id = ?",
                    (next_attempt_at, error, now, id),
                )?;
                relane_job(tx, id)?;
            }
        },
    }
    require(tx, id)
}

/// The jobs `owner` holds, by id.
pub(super) fn held_by(tx: &mut Tx<'_>, owner: &str, after_id: i64, limit: u32) -> Result<Vec<Job>> {
    select(
        tx,
        "WHERE status = 'running' AND claim_owner = ? AND id > ? ORDER BY id LIMIT ?",
        (owner, after_id, limit),
    )
}

/// Gives back every job `owner` holds, unpushed: its attempt is returned and it is due again
/// (or handed to a newer pending job of its pair).
pub(super) fn release(tx: &mut Tx<'_>, owner: &str, now: i64) -> Result<usize> {
    let held = select(
        tx,
        "WHERE status = 'running' AND claim_owner = ? ORDER BY id FOR UPDATE",
        (owner,),
    )?;
    for job in &held {
        let attempts = job.attempts.saturating_sub(1);
        match pending_of(tx, &job.channel, &job.sku)? {
            Some(newer) => {
                let reason = job::released(owner, newer.id);
                let carried = job.last_error.as_deref();
                supersede(tx, job, &reason, attempts, &newer, carried, i64::MIN, now)?;
            }
            None => {
                tx.exec_drop(
                    "UPDATE {p}jobs SET status = 'pending', claim_owner = NULL, claim_expires_at = NULL, attempts = ?,
                                        updated_at = ?
                     WHERE id = ?",
                    (attempts, now, job.id),
                )?;
                relane_job(tx, job.id)?;
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
    tx: &mut Tx<'_>,
    old: &Job,
    reason: &str,
    attempts: u32,
    newer: &Job,
    error: Option<&str>,
    next_attempt_at: i64,
    now: i64,
) -> Result<()> {
    tx.exec_drop(
        "UPDATE {p}jobs SET status = 'failed', claim_owner = NULL, claim_expires_at = NULL, attempts = ?,
                            last_error = ?, updated_at = ?
         WHERE id = ?",
        (attempts, job::error_text(reason)?, now, old.id),
    )?;
    tx.exec_drop(
        "UPDATE {p}jobs SET attempts = GREATEST(attempts, ?), next_attempt_at = GREATEST(next_attempt_at, ?),
                            last_error = COALESCE(?, last_error), updated_at = ?
         WHERE id = ?",
        (attempts, next_attempt_at, error, now, newer.id),
    )?;
    Ok(())
}

/// Makes a job dead with a readable reason.
fn kill(tx: &mut Tx<'_>, job: &Job, reason: &str, now: i64) -> Result<()> {
    tx.exec_drop(
        "UPDATE {p}jobs SET status = 'dead', claim_owner = NULL, claim_expires_at = NULL, last_error = ?,
                            updated_at = ?
         WHERE id = ?",
        (job::error_text(reason)?, now, job.id),
    )?;
    retire_older_dead(tx, job, now)
}

/// Older dead jobs of the pair are superseded (failed) once `job` is done or dead, so a pair has
/// at most one dead letter and never one older than a successful push.
fn retire_older_dead(tx: &mut Tx<'_>, job: &Job, now: i64) -> Result<()> {
    let older = select(
        tx,
        "WHERE channel = ? AND sku = ? AND id < ? AND status = 'dead' ORDER BY id FOR UPDATE",
        (&job.channel, &job.sku, job.id),
    )?;
    for dead in older {
        mark_superseded(tx, &dead, job.id, now)?;
    }
    Ok(())
}

/// A dead job becomes failed: superseded by job `by`, keeping its reason after that.
fn mark_superseded(tx: &mut Tx<'_>, dead: &Job, by: i64, now: i64) -> Result<()> {
    let reason = job::superseded(by, dead.last_error.as_deref());
    tx.exec_drop(
        "UPDATE {p}jobs SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
        (job::error_text(&reason)?, now, dead.id),
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------------------------

/// Puts a dead or failed job back in line with its attempts reset; see
/// [`crate::ledger::LedgerStore::retry_job`].
pub(super) fn retry(tx: &mut Tx<'_>, id: i64, now: i64) -> Result<Job> {
    let job = require_locked(tx, id)?;
    let newest = || {
        let newer = select(
            tx,
            "WHERE channel = ? AND sku = ? AND id > ? ORDER BY id DESC LIMIT 1 FOR UPDATE",
            (&job.channel, &job.sku, id),
        )?;
        Ok(newer.into_iter().next())
    };
    match job::retry_plan(&job, newest)? {
        RetryPlan::Itself => {
            tx.exec_drop(
                "UPDATE {p}jobs SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?",
                (now, now, id),
            )?;
            relane_job(tx, id)?;
            require(tx, id)
        }
        RetryPlan::Carry { by, retire } => {
            tx.exec_drop(
                "UPDATE {p}jobs SET attempts = 0, next_attempt_at = LEAST(next_attempt_at, ?), updated_at = ?
                 WHERE id = ?",
                (now, now, by),
            )?;
            if retire {
                mark_superseded(tx, &job, by, now)?;
            }
            require(tx, by)
        }
    }
}

/// Retries every dead job (of one channel), newest first; jobs whose pair has a newer job being
/// pushed are skipped. Returns how many left the dead letters.
pub(super) fn retry_all(tx: &mut Tx<'_>, channel: Option<&str>, now: i64) -> Result<usize> {
    let ids: Vec<i64> = tx.exec(
        "SELECT id FROM {p}jobs WHERE status = 'dead' AND (:channel IS NULL OR channel = :channel) ORDER BY id DESC",
        params! { "channel" => channel },
    )?;
    let mut retried = 0;
    for id in ids {
        match retry(tx, id, now) {
            Ok(_) => retried += 1,
            Err(Error::Conflict(_)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(retried)
}

/// Deletes the jobs a [`ClearJobs`] names (channel already validated).
pub(super) fn clear(tx: &mut Tx<'_>, filter: &ClearJobs) -> Result<usize> {
    let (statuses, channel): (&str, Option<&str>) = match filter {
        ClearJobs::Dead { channel } => ("'dead'", channel.as_deref()),
        ClearJobs::Finished { channel } => ("'done', 'failed', 'dead'", channel.as_deref()),
        ClearJobs::Pending { channel } => ("'pending'", Some(channel.as_str())),
    };
    let sql =
        format!("DELETE FROM {{p}}jobs WHERE status IN ({statuses}) AND (:channel IS NULL OR channel = :channel)");
    let deleted = tx.exec_drop(&sql, params! { "channel" => channel })?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}

/// A page of jobs, newest first.
pub(super) fn list(tx: &mut Tx<'_>, query: &JobQuery, limit: u32) -> Result<JobPage> {
    let channel = query.channel.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let mut jobs = select(
        tx,
        "WHERE (:channel IS NULL OR channel = :channel) AND (:status IS NULL OR status = :status) AND id < :before
         ORDER BY id DESC LIMIT :fetch",
        params! {
            "channel" => channel,
            "status" => query.status.map(JobStatus::as_str),
            "before" => query.before.unwrap_or(i64::MAX),
            "fetch" => i64::from(limit) + 1,
        },
    )?;
    let next_before = next_page(&mut jobs, limit).map(|last| last.id);
    Ok(JobPage { jobs, next_before })
}

/// Jobs per status (of one channel).
pub(super) fn counts(tx: &mut Tx<'_>, channel: Option<&str>) -> Result<JobCounts> {
    let rows: Vec<(String, u64, u64)> = tx.exec(
        "SELECT status, COUNT(*), CAST(SUM(attempts > 0) AS SIGNED) FROM {p}jobs
         WHERE (:channel IS NULL OR channel = :channel) GROUP BY status",
        params! { "channel" => channel },
    )?;
    let mut counts = JobCounts::default();
    for (status, count, with_attempts) in rows {
        counts.add(JobStatus::parse(&status)?, count, with_attempts);
    }
    Ok(counts)
}

/// Deletes done and failed (superseded) jobs last changed before `older_than`.
pub(super) fn prune_done(tx: &mut Tx<'_>, older_than: i64) -> Result<usize> {
    let deleted = tx.exec_drop(
        "DELETE FROM {p}jobs WHERE status IN ('done', 'failed') AND updated_at < ?",
        (older_than,),
    )?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}
