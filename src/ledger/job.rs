//! The outbox: jobs that push one SKU's quantity to one channel, and the claim-based queue they
//! move through. Plain values and pure rules shared by every backend.
//!
//! A [`Job`] says "channel X should show `desired` units of SKU Y". Jobs go through a claim-based
//! queue in the manner of Action Scheduler (`stake_claim`, `mark_complete`, `mark_failure`,
//! `release_claim`):
//!
//! ```text
//!  enqueue ─> pending ──claim──> running ──complete──> done
//!               ▲  ▲               │  │
//!               │  └─retryable─────┘  └─permanent, or attempts ≥ max──> dead ──retry──> pending
//!               │    failure (backoff)                                          (attempts reset)
//!               └── claim expired (crashed runner): claimed again
//! ```
//!
//! * **Coalescing.** At most one pending job per (channel, SKU). Enqueuing again for a pair that
//!   has one replaces its desired quantity (the newest value wins) and keeps its place in line
//!   (`created_at`), its attempts and its next attempt time — a channel that is failing keeps
//!   its backoff. A running job is never modified: a new pending job is created beside it, and it
//!   is not claimed until the running one is finished, so two pushes of one SKU to one channel
//!   never overlap and never land out of order.
//! * **The newest job of a pair wins.** Its id is the highest: a job is only created while the
//!   pair has no pending job, so its desired value is newer than any older job of the pair ever
//!   had. An older job is never put back in line over a newer one: when a running job fails
//!   retryably, is released, or its claim expires while a newer pending job waits, it becomes
//!   **failed** (superseded) and the pending job takes over its attempts, backoff and last error.
//!   `failed` is therefore never claimed: the newer job carries the push.
//! * **Attempts** count claims (push attempts started), so a job that crashes its runner every
//!   time still reaches the limit: a claim that expires on a job at the limit makes it dead.
//!   [`LedgerStore::release_claims`](super::LedgerStore::release_claims) gives the attempt back.
//! * **Idempotency key**: `job:<id>:<created_at>:<revision>:<desired>`, where the revision counts
//!   changes of the desired quantity. Every retry of the same job and value sends the same key;
//!   a new desired value gets a new key (also after A → B → A); `created_at` keeps two sites that
//!   push to one channel account from reusing each other's keys.
//! * **Ordering of claims**: zero-stock and quantity drops (desired below the listing's last
//!   pushed quantity) first, then jobs flagged `priority`, then the rest; oldest first within each.
//! * **Backoff** ([`Backoff`]): exponential from a base, capped, with a jitter derived from the
//!   job id and attempt (no randomness in the core), never shorter than the channel's
//!   `Retry-After` (honoured up to [`MAX_RETRY_AFTER_SECONDS`]).
//! * **Claims are checked on every result**: a completion or failure from a runner that no
//!   longer holds the claim (it expired and another runner took the job, or the job moved on) is
//!   refused with a `Conflict` and writes nothing. A holder whose claim expired unnoticed may still
//!   report, as long as nobody took the job over.
//! * **Admin**: a retry never pushes an old quantity over a newer one — it is carried by the
//!   newer pending job of the pair when there is one, refused when a newer job is running or was
//!   pushed. A pair keeps at most one dead letter: when a newer job is done or dies, older dead
//!   jobs become failed. Pruning removes done and failed jobs only; dead ones wait for an admin.

use super::listing;
use super::rules;
use super::MAX_QUANTITY;
use crate::{Error, Result};

/// Most jobs one [`LedgerStore::enqueue_jobs`](super::LedgerStore::enqueue_jobs) call accepts.
pub const MAX_ENQUEUE: usize = 1000;

/// Most jobs one claim may take.
pub const MAX_CLAIM: u32 = 1000;

/// Longest claim, in seconds (a day).
pub const MAX_CLAIM_SECONDS: u32 = 86_400;

/// Longest runner (claim owner) name, in characters.
pub const MAX_OWNER_CHARS: usize = 100;

/// Longest error text kept on a job, in characters; longer texts are cut (a failure is always
/// recorded, whatever the channel sent back).
pub const MAX_ERROR_CHARS: usize = 2000;

/// The longest `Retry-After` honoured, in seconds (a day): a channel asking for more is retried
/// after a day anyway, so a bogus header cannot freeze a job.
pub const MAX_RETRY_AFTER_SECONDS: u32 = 86_400;

/// Where a job is in the queue. The string forms (`as_str`, `parse`) are what PHP, REST and the
/// admin filters use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for its next attempt time: new, or retrying after a retryable failure (then
    /// `attempts` > 0 and `last_error` says why).
    Pending,
    /// Claimed by a runner until `claim_expires_at`.
    Running,
    /// Pushed; the listing records the quantity.
    Done,
    /// Stopped because a newer pending job of the same channel and SKU took over its push (after
    /// a retryable failure, a release or an expired claim). Never claimed.
    Failed,
    /// Given up: a permanent failure, or the attempt limit. Waits for an admin's retry.
    Dead,
}

impl JobStatus {
    /// Every status, in a fixed order.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Pending,
        JobStatus::Running,
        JobStatus::Done,
        JobStatus::Failed,
        JobStatus::Dead,
    ];

    /// The status's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Dead => "dead",
        }
    }

    /// Parses a status name (trimmed, case-insensitive).
    pub fn parse(text: &str) -> Result<Self> {
        let wanted = text.trim().to_ascii_lowercase();
        JobStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
                Error::validation(
                    "status",
                    format!("unknown status {text:?}; expected one of {}", names.join(", ")),
                )
            })
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A quantity to push: what a caller enqueues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The channel key (see [`listing`]), 1–200 characters.
    pub channel: String,
    /// The SKU; it must exist.
    pub sku: String,
    /// The quantity the channel should show, 0–[`MAX_QUANTITY`].
    pub desired: i64,
    /// Pushed before ordinary jobs (after zero-stock and drops), e.g. an owner's "push now".
    /// Once set on a pending job, it stays set when the job is coalesced.
    pub priority: bool,
}

impl NewJob {
    /// An ordinary (not priority) job.
    pub fn new(channel: impl Into<String>, sku: impl Into<String>, desired: i64) -> Self {
        NewJob {
            channel: channel.into(),
            sku: sku.into(),
            desired,
            priority: false,
        }
    }

    /// The job checked and normalised (texts trimmed), or a validation error naming the field,
    /// prefixed with `prefix` (`jobs[3].`) so a batch can say which entry is wrong.
    pub(crate) fn validated(&self, prefix: &str) -> Result<NewJob> {
        let named = |error: Error| match error {
            Error::Validation { field, message } => Error::validation(format!("{prefix}{field}"), message),
            other => other,
        };
        Ok(NewJob {
            channel: listing::channel(&self.channel).map_err(named)?,
            sku: rules::sku("sku", &self.sku).map_err(named)?,
            desired: rules::in_range("desired", self.desired, 0, MAX_QUANTITY).map_err(named)?,
            priority: self.priority,
        })
    }
}

/// What enqueuing did for one [`NewJob`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// A new pending job was created (none was pending for the pair).
    Created,
    /// The pair's pending job now carries the new desired quantity (and a new idempotency key).
    Replaced,
    /// The pair's pending job already carried this quantity; nothing changed but, perhaps, its
    /// priority flag.
    Unchanged,
}

/// The pending job that carries an enqueued quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef {
    /// The job's id.
    pub id: i64,
    /// What enqueuing did.
    pub outcome: Enqueued,
    /// The key the push will send.
    pub idempotency_key: String,
}

/// A pushed job to complete ([`crate::ledger::LedgerStore::complete_pushed`]), with the remote
/// id the channel gave its SKU when that is new to the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The job's id.
    pub id: i64,
    /// The channel's id for the SKU, to record on the listing; `None` keeps the one it has.
    pub remote_id: Option<String>,
}

impl Completion {
    /// A completion that leaves the listing's remote id as it is.
    pub fn of(id: i64) -> Self {
        Completion { id, remote_id: None }
    }
}

/// One job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Queue position: increases with every job created; the paging cursor.
    pub id: i64,
    /// The channel key.
    pub channel: String,
    /// The SKU.
    pub sku: String,
    /// The quantity the channel should show.
    pub desired: i64,
    /// Where the job is.
    pub status: JobStatus,
    /// Whether it was flagged to go before ordinary jobs.
    pub priority: bool,
    /// Push attempts started (claims), reset by an admin's retry.
    pub attempts: u32,
    /// How many times coalescing replaced the desired quantity; part of the idempotency key.
    pub revision: u32,
    /// When it may be claimed (unix seconds); later than `created_at` while backing off.
    pub next_attempt_at: i64,
    /// The runner holding it; set exactly while running.
    pub claim_owner: Option<String>,
    /// When the claim lapses (unix seconds); set exactly while running.
    pub claim_expires_at: Option<i64>,
    /// Why the last attempt failed (kept after a retry, for the record).
    pub last_error: Option<String>,
    /// What the push sends as its idempotency key: the same for every retry of this job and
    /// value, new for a new desired value.
    pub idempotency_key: String,
    /// When it was created (unix seconds); claims take the oldest first.
    pub created_at: i64,
    /// When it last changed (unix seconds).
    pub updated_at: i64,
}

/// Which jobs an admin clears (deletes). Running jobs are never cleared: their runner finishes
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClearJobs {
    /// The dead letters (status dead), of one channel or of all.
    Dead {
        /// Only this channel.
        channel: Option<String>,
    },
    /// Everything finished: done, failed and dead, of one channel or of all.
    Finished {
        /// Only this channel.
        channel: Option<String>,
    },
    /// Every pending job of one channel (for a channel being disconnected or re-synced from
    /// scratch). A channel is required: emptying every channel's queue at once is never meant.
    Pending {
        /// The channel.
        channel: String,
    },
}

/// Which jobs to show: newest first, before a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobQuery {
    /// Only this channel.
    pub channel: Option<String>,
    /// Only this status.
    pub status: Option<JobStatus>,
    /// Only jobs with an id below this (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Page size, 1–[`MAX_PAGE`](super::MAX_PAGE).
    pub limit: u32,
}

impl Default for JobQuery {
    fn default() -> Self {
        JobQuery {
            channel: None,
            status: None,
            before: None,
            limit: 50,
        }
    }
}

/// A page of jobs, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPage {
    /// The jobs.
    pub jobs: Vec<Job>,
    /// Pass as [`JobQuery::before`] for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// How many jobs are in each status, for the dashboard's queue cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobCounts {
    /// Waiting (including those retrying).
    pub pending: u64,
    /// Of the pending, those that failed at least once and are backing off.
    pub retrying: u64,
    /// Claimed by a runner.
    pub running: u64,
    /// Pushed.
    pub done: u64,
    /// Superseded by a newer job of the same channel and SKU.
    pub failed: u64,
    /// Given up, waiting for an admin.
    pub dead: u64,
}

impl JobCounts {
    /// The count of one status.
    pub fn of(&self, status: JobStatus) -> u64 {
        match status {
            JobStatus::Pending => self.pending,
            JobStatus::Running => self.running,
            JobStatus::Done => self.done,
            JobStatus::Failed => self.failed,
            JobStatus::Dead => self.dead,
        }
    }
}

/// How retries back off and when they stop; a setting of the store (see `SqliteOptions`).
///
/// The delay before retry `n` (the job's attempts after the failure) is `base × 2^(n−1)`, capped
/// at `cap`, then jittered into `[⌈d/2⌉, d]` by a hash of the job id and `n` — so runners that
/// failed together spread out, and the same failure always waits the same time. With the
/// jitter's range, delays never shrink from one attempt to the next until the cap is reached
/// (then they vary within `[⌈cap/2⌉, cap]`). A channel's `Retry-After` wins when it is longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the first retry, in seconds (≥ 1). Default 30.
    pub base_seconds: u32,
    /// The longest delay, in seconds (≥ base). Default 3600.
    pub cap_seconds: u32,
    /// Attempts after which a failing job is dead (≥ 1). Default 8.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_seconds: 30,
            cap_seconds: 3600,
            max_attempts: 8,
        }
    }
}

impl Backoff {
    /// The settings checked, or a validation error naming the field.
    pub fn validated(self) -> Result<Backoff> {
        if self.base_seconds == 0 {
            return Err(Error::validation("backoff.base_seconds", "must be at least 1"));
        }
        if self.cap_seconds < self.base_seconds {
            return Err(Error::validation(
                "backoff.cap_seconds",
                format!("must be at least base_seconds ({})", self.base_seconds),
            ));
        }
        if self.max_attempts == 0 {
            return Err(Error::validation("backoff.max_attempts", "must be at least 1"));
        }
        Ok(self)
    }

    /// The exponential delay before retry `attempt` (≥ 1), capped, without jitter.
    pub fn ceiling_seconds(&self, attempt: u32) -> u32 {
        let doublings = attempt.saturating_sub(1).min(32);
        let delay = u64::from(self.base_seconds).saturating_mul(1u64 << doublings);
        u32::try_from(delay.min(u64::from(self.cap_seconds))).unwrap_or(self.cap_seconds)
    }

    /// Seconds to wait before retry `attempt` of job `job_id`: the jittered exponential delay,
    /// or the channel's `retry_after` (up to [`MAX_RETRY_AFTER_SECONDS`]) when that is longer.
    pub fn delay_seconds(&self, job_id: i64, attempt: u32, retry_after: Option<u32>) -> u32 {
        let ceiling = self.ceiling_seconds(attempt);
        let floor = ceiling - ceiling / 2;
        let span = u64::from(ceiling - floor) + 1;
        let hash = splitmix64((job_id as u64) ^ (u64::from(attempt) << 48));
        // `hash % span` < span ≤ ceiling, so the sum stays within `ceiling`.
        let jittered = floor + u32::try_from(hash % span).unwrap_or(0);
        let honoured = retry_after.unwrap_or(0).min(MAX_RETRY_AFTER_SECONDS);
        jittered.max(honoured).max(1)
    }
}

/// SplitMix64's finaliser: a well-spread 64-bit hash of `x`, for deterministic jitter.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The idempotency key of a job's push (see the module documentation).
pub(crate) fn idempotency_key(id: i64, created_at: i64, revision: u32, desired: i64) -> String {
    format!("job:{id}:{created_at}:{revision}:{desired}")
}

/// A runner's name: trimmed, 1–100 characters, single line.
pub(crate) fn owner(value: &str) -> Result<String> {
    rules::required("owner", value, MAX_OWNER_CHARS)
}

/// A batch to enqueue, checked: at most [`MAX_ENQUEUE`] jobs, each validated (errors name the
/// entry, `jobs[3].desired`).
pub(crate) fn validated_batch(jobs: &[NewJob]) -> Result<Vec<NewJob>> {
    if jobs.len() > MAX_ENQUEUE {
        return Err(Error::validation(
            "jobs",
            format!("at most {MAX_ENQUEUE} jobs per call, got {}", jobs.len()),
        ));
    }
    jobs.iter()
        .enumerate()
        .map(|(i, new)| new.validated(&format!("jobs[{i}].")))
        .collect()
}

/// The remote ids of a pushed batch, checked (errors name the entry,
/// `completions[3].remote_id`), in order.
pub(crate) fn remote_ids(completions: &[Completion]) -> Result<Vec<Option<String>>> {
    completions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            listing::remote_id(c.remote_id.as_deref()).map_err(|error| match error {
                Error::Validation { field, message } => Error::validation(format!("completions[{i}].{field}"), message),
                other => other,
            })
        })
        .collect()
}

impl ClearJobs {
    /// The filter with its channel checked and normalised.
    pub(crate) fn validated(&self) -> Result<ClearJobs> {
        Ok(match self {
            ClearJobs::Dead { channel } => ClearJobs::Dead {
                channel: channel.as_deref().map(listing::channel).transpose()?,
            },
            ClearJobs::Finished { channel } => ClearJobs::Finished {
                channel: channel.as_deref().map(listing::channel).transpose()?,
            },
            ClearJobs::Pending { channel } => ClearJobs::Pending {
                channel: listing::channel(channel)?,
            },
        })
    }
}

/// A claim's size and length, checked.
pub(crate) fn claim_limits(limit: u32, claim_seconds: u32) -> Result<()> {
    if !(1..=MAX_CLAIM).contains(&limit) {
        return Err(Error::validation(
            "limit",
            format!("must be between 1 and {MAX_CLAIM}, got {limit}"),
        ));
    }
    if !(1..=MAX_CLAIM_SECONDS).contains(&claim_seconds) {
        return Err(Error::validation(
            "claim_seconds",
            format!("must be between 1 and {MAX_CLAIM_SECONDS}, got {claim_seconds}"),
        ));
    }
    Ok(())
}

/// A failure's text as kept: control characters (but line breaks and tabs) become spaces,
/// whole API keys are cut to their prefix, and the text is cut to [`MAX_ERROR_CHARS`]. Empty is
/// refused: a failure always says why.
pub(crate) fn error_text(value: &str) -> Result<String> {
    let cleaned: String = value
        .trim()
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let cleaned = super::access::redact_keys(cleaned.trim()).into_owned();
    if cleaned.is_empty() {
        return Err(Error::validation("error", "is required: say why the push failed"));
    }
    if cleaned.chars().count() <= MAX_ERROR_CHARS {
        return Ok(cleaned);
    }
    let mut cut: String = cleaned.chars().take(MAX_ERROR_CHARS - 1).collect();
    cut.push('…');
    Ok(cut)
}

// ---------------------------------------------------------------------------------------------
// The queue's decisions, shared by every backend: a backend reads the rows inside its write
// transaction, asks these functions what happens, and writes it.
// ---------------------------------------------------------------------------------------------

/// What enqueuing a (validated) job does to its pair, given the pair's pending job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnqueuePlan {
    /// The pending job already carries this quantity; `raise_priority` when the new entry sets
    /// the priority flag the job lacks (the only change then).
    Unchanged { raise_priority: bool },
    /// The pending job takes the new quantity (newest wins) under a new revision and key; it
    /// keeps its place in line, attempts and backoff.
    Replace { revision: u32, key: String },
    /// The pair has no pending job: create one.
    Create,
}

/// What enqueuing `new` does, given the pair's pending job.
pub(crate) fn enqueue_plan(pending: Option<&Job>, new: &NewJob) -> EnqueuePlan {
    match pending {
        None => EnqueuePlan::Create,
        Some(pending) if pending.desired == new.desired => EnqueuePlan::Unchanged {
            raise_priority: new.priority && !pending.priority,
        },
        Some(pending) => {
            let revision = pending.revision.saturating_add(1);
            EnqueuePlan::Replace {
                revision,
                key: idempotency_key(pending.id, pending.created_at, revision, new.desired),
            }
        }
    }
}

/// Whether `owner` holds the claim of `job` (an expired claim still counts while nobody took it
/// over); if not, a conflict saying why the result cannot be recorded.
pub(crate) fn check_claimed(job: &Job, owner: &str) -> Result<()> {
    let id = job.id;
    match (job.status, job.claim_owner.as_deref()) {
        (JobStatus::Running, Some(holder)) if holder == owner => Ok(()),
        (JobStatus::Running, Some(holder)) => Err(Error::Conflict(format!(
            "job #{id} is claimed by {holder} until {}, not by {owner}: the claim of {owner} expired and was taken \
             over, so its result is not recorded",
            job.claim_expires_at.unwrap_or_default()
        ))),
        (status, _) => Err(Error::Conflict(format!(
            "job #{id} is {status}, not claimed by {owner}: its claim ended (expired, released or superseded), \
             so the result is not recorded"
        ))),
    }
}

/// What becomes of a running job whose claim expired without a result (its runner stopped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expired {
    /// A newer pending job of the pair takes over: this one fails with `reason`, and the newer
    /// one takes its attempts and `error` as its last error.
    Supersede { reason: String, error: String },
    /// It used up its attempts: dead, with `reason`.
    Kill { reason: String },
    /// Left running: the claim takes it again.
    Reclaim,
}

/// The fate of `job`, whose claim expired, given the pair's newer pending job.
pub(crate) fn settle_expired(job: &Job, newer: Option<&Job>, backoff: &Backoff) -> Expired {
    let what = format!(
        "the claim of {} expired at {} without a result (did the runner stop?)",
        job.claim_owner.as_deref().unwrap_or_default(),
        job.claim_expires_at.unwrap_or_default()
    );
    match newer {
        Some(newer) => Expired::Supersede {
            reason: superseded(newer.id, Some(&what)),
            error: what,
        },
        None if job.attempts >= backoff.max_attempts => Expired::Kill {
            reason: format!("gave up after {} attempts: {what}", job.attempts),
        },
        None => Expired::Reclaim,
    }
}

/// What a failed push of a claimed job leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// Dead, with this reason (a permanent failure, or the attempt limit).
    Dead(String),
    /// Back in line at `next_attempt_at` — or, when the pair has a newer pending job, failed
    /// (superseded) with the newer job taking over attempts, backoff and error.
    Retry { next_attempt_at: i64 },
}

/// The outcome of a failed push of `job` (`error` already cleaned).
pub(crate) fn after_failure(
    job: &Job,
    error: &str,
    retryable: bool,
    retry_after: Option<u32>,
    backoff: &Backoff,
    now: i64,
) -> AfterFailure {
    if !retryable {
        AfterFailure::Dead(error.to_owned())
    } else if job.attempts >= backoff.max_attempts {
        AfterFailure::Dead(format!("gave up after {} attempts: {error}", job.attempts))
    } else {
        let delay = backoff.delay_seconds(job.id, job.attempts, retry_after);
        AfterFailure::Retry {
            next_attempt_at: now.saturating_add(i64::from(delay)),
        }
    }
}

/// The reason a job superseded by job `by` keeps, after `why` if given.
pub(crate) fn superseded(by: i64, why: Option<&str>) -> String {
    match why {
        Some(why) => format!("superseded by job #{by}: {why}"),
        None => format!("superseded by job #{by}"),
    }
}

/// The reason a job released by `owner` unpushed keeps when job `by` takes over.
pub(crate) fn released(owner: &str, by: i64) -> String {
    format!("released by {owner} before it was pushed; superseded by job #{by}")
}

/// How an admin's retry of a dead or failed job goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryPlan {
    /// The job itself goes back in line (pending, due now, attempts reset).
    Itself,
    /// The pair's newer pending job `by` carries the retry (attempts reset, due now); `retire`
    /// when the retried job is dead and becomes failed (superseded by it).
    Carry { by: i64, retire: bool },
}

/// How retrying `job` goes; `newest` reads the newest job of its pair after it, if any.
/// Conflicts: a job that is not dead or failed, a newer job running, done or dead, a failed job
/// whose newer job is gone.
pub(crate) fn retry_plan(job: &Job, newest: impl FnOnce() -> Result<Option<Job>>) -> Result<RetryPlan> {
    let id = job.id;
    if !matches!(job.status, JobStatus::Dead | JobStatus::Failed) {
        return Err(Error::Conflict(format!(
            "job #{id} is {}; only dead or failed jobs can be retried",
            job.status
        )));
    }
    match newest()? {
        // A failed job was superseded: with its newer job gone (cleared or pruned), its quantity
        // is out of date and must not be pushed over what came after.
        None if job.status == JobStatus::Failed => Err(Error::Conflict(format!(
            "job #{id} was superseded and its quantity is out of date; enqueue the current quantity instead"
        ))),
        None => Ok(RetryPlan::Itself),
        Some(newer) if newer.status == JobStatus::Pending => Ok(RetryPlan::Carry {
            by: newer.id,
            retire: job.status == JobStatus::Dead,
        }),
        Some(newer) => Err(Error::Conflict(format!(
            "job #{id} cannot be retried: job #{} ({}) carries a newer quantity for {} {}",
            newer.id, newer.status, job.channel, job.sku
        ))),
    }
}

impl JobCounts {
    /// Adds the `count` jobs of `status`, `with_attempts` of them having been tried (what a
    /// `GROUP BY status` gives).
    pub(crate) fn add(&mut self, status: JobStatus, count: u64, with_attempts: u64) {
        match status {
            JobStatus::Pending => {
                self.pending += count;
                self.retrying += with_attempts;
            }
            JobStatus::Running => self.running += count,
            JobStatus::Done => self.done += count,
            JobStatus::Failed => self.failed += count,
            JobStatus::Dead => self.dead += count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_and_print() {
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.as_str()).unwrap(), status);
            assert_eq!(status.to_string(), status.as_str());
        }
        assert_eq!(JobStatus::parse(" Dead ").unwrap(), JobStatus::Dead);
        assert!(matches!(
            JobStatus::parse("lost").unwrap_err(),
            Error::Validation { field, .. } if field == "status"
        ));
    }

    #[test]
    fn new_jobs_are_checked_and_name_the_entry() {
        let ok = NewJob::new(" shopify:demo.myshopify.com ", " A ", 0)
            .validated("")
            .unwrap();
        assert_eq!(ok, NewJob::new("shopify:demo.myshopify.com", "A", 0));
        let cases: Vec<(NewJob, &str)> = vec![
            (NewJob::new("", "A", 1), "jobs[2].channel"),
            (NewJob::new("c".repeat(201), "A", 1), "jobs[2].channel"),
            (NewJob::new("shopify:x", " ", 1), "jobs[2].sku"),
            (NewJob::new("shopify:x", "A", -1), "jobs[2].desired"),
            (NewJob::new("shopify:x", "A", MAX_QUANTITY + 1), "jobs[2].desired"),
        ];
        for (job, field) in cases {
            match job.validated("jobs[2].") {
                Err(Error::Validation { field: got, .. }) => assert_eq!(got, field, "{job:?}"),
                other => panic!("{job:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn claim_inputs_are_checked() {
        let field_of = |result: Result<()>| match result {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let cases: Vec<(Result<()>, &str)> = vec![
            (claim_limits(0, 60), "limit"),
            (claim_limits(MAX_CLAIM + 1, 60), "limit"),
            (claim_limits(1, 0), "claim_seconds"),
            (claim_limits(1, MAX_CLAIM_SECONDS + 1), "claim_seconds"),
            (owner("").map(drop), "owner"),
            (owner(&"o".repeat(MAX_OWNER_CHARS + 1)).map(drop), "owner"),
            (error_text(" \u{7} ").map(drop), "error"),
            (
                Backoff {
                    base_seconds: 0,
                    ..Backoff::default()
                }
                .validated()
                .map(drop),
                "backoff.base_seconds",
            ),
            (
                Backoff {
                    cap_seconds: 10,
                    base_seconds: 11,
                    max_attempts: 1,
                }
                .validated()
                .map(drop),
                "backoff.cap_seconds",
            ),
            (
                Backoff {
                    max_attempts: 0,
                    ..Backoff::default()
                }
                .validated()
                .map(drop),
                "backoff.max_attempts",
            ),
        ];
        for (result, field) in cases {
            assert_eq!(field_of(result), field);
        }
        assert!(claim_limits(MAX_CLAIM, MAX_CLAIM_SECONDS).is_ok());
        assert_eq!(owner(" runner-1 ").unwrap(), "runner-1");
    }

    #[test]
    fn error_texts_are_cleaned_and_cut() {
        assert_eq!(error_text(" HTTP 503\r\nretry\u{0} ").unwrap(), "HTTP 503 \nretry");
        let long = error_text(&"x".repeat(MAX_ERROR_CHARS + 50)).unwrap();
        assert_eq!(long.chars().count(), MAX_ERROR_CHARS);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn idempotency_keys_change_with_the_value_only() {
        let key = idempotency_key(7, 1_700_000_000, 0, 5);
        assert_eq!(key, "job:7:1700000000:0:5");
        assert_eq!(
            idempotency_key(7, 1_700_000_000, 0, 5),
            key,
            "a retry sends the same key"
        );
        assert_ne!(
            idempotency_key(7, 1_700_000_000, 1, 5),
            key,
            "a new revision gets a new key"
        );
        assert_ne!(idempotency_key(8, 1_700_000_000, 0, 5), key);
    }

    fn stored(id: i64, status: JobStatus, attempts: u32) -> Job {
        Job {
            id,
            channel: "shopify:x".into(),
            sku: "A".into(),
            desired: 5,
            status,
            priority: false,
            attempts,
            revision: 0,
            next_attempt_at: 100,
            claim_owner: (status == JobStatus::Running).then(|| "r1".to_owned()),
            claim_expires_at: (status == JobStatus::Running).then_some(160),
            last_error: None,
            idempotency_key: idempotency_key(id, 100, 0, 5),
            created_at: 100,
            updated_at: 100,
        }
    }

    #[test]
    fn the_queue_s_decisions() {
        use JobStatus::*;
        let backoff = Backoff {
            max_attempts: 3,
            ..Backoff::default()
        };
        // Enqueuing: create, unchanged (maybe raising the priority), or a new revision and key.
        let pending = stored(7, Pending, 1);
        assert_eq!(
            enqueue_plan(None, &NewJob::new("shopify:x", "A", 5)),
            EnqueuePlan::Create
        );
        let same = NewJob {
            priority: true,
            ..NewJob::new("shopify:x", "A", 5)
        };
        assert_eq!(
            enqueue_plan(Some(&pending), &same),
            EnqueuePlan::Unchanged { raise_priority: true }
        );
        assert_eq!(
            enqueue_plan(Some(&pending), &NewJob::new("shopify:x", "A", 2)),
            EnqueuePlan::Replace {
                revision: 1,
                key: "job:7:100:1:2".into()
            }
        );
        // Claims are checked on every result.
        let running = stored(8, Running, 2);
        assert!(check_claimed(&running, "r1").is_ok());
        for (job, owner, text) in [(&running, "r2", "claimed by r1"), (&pending, "r1", "is pending")] {
            match check_claimed(job, owner) {
                Err(Error::Conflict(message)) => assert!(message.contains(text), "{message}"),
                other => panic!("{other:?}"),
            }
        }
        // An expired claim: superseded by a newer pending job, dead at the limit, else claimed again.
        match settle_expired(&running, Some(&pending), &backoff) {
            Expired::Supersede { reason, error } => {
                assert!(
                    reason.starts_with("superseded by job #7: the claim of r1 expired at 160"),
                    "{reason}"
                );
                assert!(error.starts_with("the claim of r1"), "{error}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(settle_expired(&running, None, &backoff), Expired::Reclaim);
        let worn = stored(8, Running, 3);
        assert!(matches!(
            settle_expired(&worn, None, &backoff),
            Expired::Kill { reason } if reason.starts_with("gave up after 3 attempts: the claim of r1")
        ));
        // A failure: dead when permanent or at the limit, else back off.
        assert_eq!(
            after_failure(&running, "gone", false, None, &backoff, 1000),
            AfterFailure::Dead("gone".into())
        );
        assert_eq!(
            after_failure(&worn, "HTTP 503", true, None, &backoff, 1000),
            AfterFailure::Dead("gave up after 3 attempts: HTTP 503".into())
        );
        assert_eq!(
            after_failure(&running, "HTTP 503", true, Some(600), &backoff, 1000),
            AfterFailure::Retry { next_attempt_at: 1600 }
        );
        // An admin's retry.
        let dead = stored(3, Dead, 3);
        let failed = stored(4, Failed, 1);
        let none = || Ok(None);
        assert_eq!(retry_plan(&dead, none).unwrap(), RetryPlan::Itself);
        assert_eq!(
            retry_plan(&dead, || Ok(Some(pending.clone()))).unwrap(),
            RetryPlan::Carry { by: 7, retire: true }
        );
        assert_eq!(
            retry_plan(&failed, || Ok(Some(pending.clone()))).unwrap(),
            RetryPlan::Carry { by: 7, retire: false }
        );
        for (job, newest) in [(&failed, None), (&dead, Some(running.clone())), (&pending, None)] {
            let refused = retry_plan(job, || Ok(newest));
            assert!(matches!(refused, Err(Error::Conflict(_))), "{job:?}: {refused:?}");
        }
        let mut counts = JobCounts::default();
        counts.add(Pending, 4, 1);
        counts.add(Dead, 2, 2);
        assert_eq!(
            (counts.pending, counts.retrying, counts.dead, counts.of(Dead)),
            (4, 1, 2, 2)
        );
    }

    /// (settings, job id, attempt, retry_after, expected delay range inclusive).
    type Case = (Backoff, i64, u32, Option<u32>, (u32, u32));

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let b = Backoff::default(); // 30 s, capped at 3600 s
        let cases: Vec<Case> = vec![
            (b, 1, 1, None, (15, 30)),
            (b, 1, 2, None, (30, 60)),
            (b, 1, 3, None, (60, 120)),
            (b, 1, 7, None, (960, 1920)),
            (b, 1, 8, None, (1800, 3600)),
            (b, 1, 40, None, (1800, 3600)),
            (b, 1, u32::MAX, None, (1800, 3600)),
            // Retry-After wins when longer, up to a day.
            (b, 1, 1, Some(600), (600, 600)),
            (b, 1, 1, Some(5), (15, 30)),
            (
                b,
                1,
                1,
                Some(u32::MAX),
                (MAX_RETRY_AFTER_SECONDS, MAX_RETRY_AFTER_SECONDS),
            ),
            // The smallest settings never wait zero seconds.
            (
                Backoff {
                    base_seconds: 1,
                    cap_seconds: 1,
                    max_attempts: 1,
                },
                9,
                1,
                None,
                (1, 1),
            ),
            (
                Backoff {
                    base_seconds: u32::MAX,
                    cap_seconds: u32::MAX,
                    max_attempts: 1,
                },
                9,
                33,
                None,
                (u32::MAX - u32::MAX / 2, u32::MAX),
            ),
        ];
        for (settings, id, attempt, retry_after, (low, high)) in cases {
            let delay = settings.delay_seconds(id, attempt, retry_after);
            assert!(
                (low..=high).contains(&delay),
                "{settings:?} job {id} attempt {attempt} retry_after {retry_after:?}: {delay} not in {low}..={high}"
            );
        }
    }

    #[test]
    fn backoff_jitter_is_deterministic_spread_and_never_shrinks() {
        let b = Backoff::default();
        let mut first_delays = std::collections::BTreeSet::new();
        for id in 1..=200 {
            let delays: Vec<u32> = (1..=12).map(|n| b.delay_seconds(id, n, None)).collect();
            let again: Vec<u32> = (1..=12).map(|n| b.delay_seconds(id, n, None)).collect();
            assert_eq!(delays, again, "job {id}: the same failure waits the same time");
            // Below the cap (30 s doubled up to 1920 s: the first seven), delays never shrink.
            assert!(delays[..7].windows(2).all(|w| w[0] <= w[1]), "job {id}: {delays:?}");
            assert!(
                delays[7..].iter().all(|d| (1800..=3600).contains(d)),
                "job {id}: {delays:?}"
            );
            first_delays.insert(delays[0]);
        }
        assert!(
            first_delays.len() >= 10,
            "jobs that failed together spread out: {first_delays:?}"
        );
    }
}
