//! The queue runner: claims jobs channel by channel, pushes them through the channel's adapter in
//! the channel's batch size, and records each result in the outbox.
//!
//! * **Which channels.** Every enabled channel whose [`AdapterFactory`] builds an adapter. A
//!   factory that answers `None` (e.g. `woocommerce_local`, applied in PHP) leaves the channel's
//!   jobs unclaimed for whoever applies them; a factory error is reported on the run and the
//!   channel's jobs wait.
//! * **Round robin.** One batch per channel in turn, so a channel with a large backlog does not
//!   use up the time budget of the others.
//! * **Batches.** At most the channel's `batch_size`, never more than the adapter's
//!   [`Channel::max_batch`]. A claim is a write transaction, so a channel with small batches
//!   claims several batches' worth at once (about [`CLAIM_AHEAD_JOBS`] jobs, whole batches) and
//!   pushes them a batch per turn. On a channel without a rate limit each claim is first
//!   handed to [`Channel::prepare`] (eBay looks up the offers of the whole claim at once
//!   rather than one batch's at a time); its calls are counted with the run's. Each [`Push`]
//!   carries the job's idempotency key, the listing's remote id and what the channel last showed
//!   (for compare-and-set).
//! * **Results.** Applied → `complete_pushed`: the batch's pushed jobs completed in one
//!   transaction, which records each pushed quantity and each remote id new to a listing.
//!   [`Outcome::Accepted`] (queued for asynchronous processing, Amazon) counts as delivered and
//!   completes the job; reconciliation reads the channel later and
//!   confirms it or repairs it. A retryable failure → `fail_job` with the channel's
//!   `Retry-After` (backoff in the store); a permanent one → dead with the readable reason.
//! * **A channel that is down** (every item of a batch failed retryably) is left for the rest of
//!   the run: its other jobs keep their place and attempts, and the next run tries one batch again.
//! * **Never twice after success.** A job is completed right after its push, under its claim;
//!   a completed job is never claimed again. A runner that stops between the push and the
//!   completion (a crash) leaves a claim that expires after `claim_seconds`; the next run pushes
//!   the job again with the same idempotency key (Shopify answers a repeated key from its cache;
//!   an absolute quantity set twice is harmless elsewhere).
//! * **Budget and limit.** A batch is pushed (and jobs claimed) only while the time left exceeds
//!   the longest batch seen in this run; no more jobs are claimed than the job limit allows;
//!   claims not pushed are released at the end (their attempts given back), also when the run
//!   fails.
//! * **Pacing.** Each channel's calls go through a [`StorePacer`]: one token from the channel's
//!   bucket in the store (shared by every process) before each write, and one for every other
//!   call the adapter made (lookups, a retried item) charged after it, so the next batch waits for
//!   them. The adapters take no pacer yet; when they do (`with_pacer`), the factory can hand them
//!   a pacer and the runner stops pacing writes itself.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use super::engine::{enabled_channels, recorded};
use super::plan::shown;
use super::Clock;
use crate::channels::{Channel, Failure, Outcome, Pacer, Push, PushReport};
use crate::ledger::{job, ChannelConfig, Completion, Job, JobStatus, LedgerStore, Listing, RateLimit, SyncKind};
use crate::{Error, Result};

/// Builds the adapter that pushes to a channel.
pub trait AdapterFactory {
    /// The adapter for `channel` (its settings and sealed credentials are on it), or `None` when
    /// the channel is applied elsewhere (`woocommerce_local`: in PHP) and its jobs must not be
    /// claimed here. An error (bad settings, credentials that cannot be opened) is reported on
    /// the run; the channel's jobs wait.
    fn adapter(&self, channel: &ChannelConfig) -> Result<Option<Box<dyn Channel>>>;

    /// Called once a run is done with the adapter it got for `channel` (to persist what should
    /// outlive the request, such as an OAuth access token). Failing to keep it costs a token
    /// request next time, nothing more, so it reports nothing.
    fn release(&self, _channel: &ChannelConfig, _adapter: &dyn Channel) {}
}

/// How a queue run behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// The runner's name, unique to this run (claims are held under it), 1–100 characters.
    pub owner: String,
    /// How long the run may take; no batch is claimed once the time left is shorter than the
    /// longest batch so far.
    pub budget: Duration,
    /// The most jobs one run claims.
    pub job_limit: u32,
    /// How long a claim lasts; longer than a batch can take (a crashed runner's jobs are claimed
    /// again after it).
    pub claim_seconds: u32,
}

impl RunOptions {
    /// A WP-Cron-sized run: 50 s budget, 10,000 jobs, 5-minute claims.
    pub fn new(owner: impl Into<String>) -> Self {
        RunOptions {
            owner: owner.into(),
            budget: Duration::from_secs(50),
            job_limit: 10_000,
            claim_seconds: 300,
        }
    }
}

/// What one channel got in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelReport {
    /// Jobs delivered (applied or accepted) and completed.
    pub pushed: u64,
    /// Of those, accepted for asynchronous processing.
    pub accepted: u64,
    /// Jobs whose push failed.
    pub failed: u64,
    /// Of those, back in line with backoff (or handed to a newer job of their pair).
    pub retried: u64,
    /// Of those, dead (permanent failure or attempt limit).
    pub dead: u64,
    /// Results not recorded because the claim had been taken over (the claim expired).
    pub lost_claims: u64,
    /// Push requests (batches) sent.
    pub batches: u64,
    /// Feeds submitted ([`super::feeds`]).
    pub feeds: u64,
    /// Jobs handed to those feeds (settled in this run or a later one).
    pub in_feeds: u64,
    /// HTTP calls made.
    pub calls: u64,
    /// Why the channel was not pushed to, or stopped early, if so.
    pub error: Option<String>,
}

/// What a queue run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// The sync run it was recorded as.
    pub run_id: i64,
    /// Jobs delivered (applied or accepted) and completed.
    pub pushed: u64,
    /// Jobs whose push failed (retried + dead).
    pub failed: u64,
    /// Failed jobs back in line.
    pub retried: u64,
    /// Failed jobs given up.
    pub dead: u64,
    /// Delivered jobs the channel only accepted for later processing.
    pub accepted: u64,
    /// HTTP calls made.
    pub calls: u64,
    /// Time taken by the clock, in milliseconds.
    pub elapsed_ms: u64,
    /// Per channel key.
    pub per_channel: BTreeMap<String, ChannelReport>,
}

/// Paces one channel's calls through its token bucket in the store
/// ([`LedgerStore::take_pacing_token`]), so every runner process shares the channel's rate.
pub struct StorePacer<'a, S: ?Sized> {
    store: &'a S,
    clock: &'a dyn Clock,
    channel: String,
    rate: RateLimit,
}

impl<'a, S: LedgerStore + ?Sized> StorePacer<'a, S> {
    /// A pacer for `channel` at its configured rate.
    pub fn new(store: &'a S, clock: &'a dyn Clock, channel: &ChannelConfig) -> Self {
        StorePacer {
            store,
            clock,
            channel: channel.key.clone(),
            rate: channel.rate,
        }
    }

    /// Takes a token, sleeping until it is due; returns how long it slept, in milliseconds.
    pub fn wait_turn(&mut self) -> Result<u64> {
        if !self.rate.is_limited() {
            return Ok(0);
        }
        let wait = self.store.take_pacing_token(
            &self.channel,
            self.rate.per_second,
            self.rate.burst,
            self.clock.now_ms(),
        )?;
        if wait > 0 {
            self.clock.sleep(Duration::from_millis(wait));
        }
        Ok(wait)
    }

    /// Takes `calls` tokens without waiting, for calls already made: the next turn waits for them.
    pub fn charge(&mut self, calls: usize) -> Result<()> {
        if !self.rate.is_limited() {
            return Ok(());
        }
        for _ in 0..calls {
            self.store.take_pacing_token(
                &self.channel,
                self.rate.per_second,
                self.rate.burst,
                self.clock.now_ms(),
            )?;
        }
        Ok(())
    }
}

impl<S: LedgerStore + Sync + ?Sized> Pacer for StorePacer<'_, S> {
    /// Waits for a token. When the store cannot be asked, waits one interval at the configured
    /// rate instead: slower is safe, faster is not.
    fn before_call(&mut self) {
        if self.wait_turn().is_err() && self.rate.is_limited() {
            let interval_ms = (1000.0 / self.rate.per_second).ceil().min(60_000.0) as u64;
            self.clock.sleep(Duration::from_millis(interval_ms));
        }
    }
}

/// One channel being pushed to in this run.
pub(super) struct Lane<'a> {
    pub(super) config: ChannelConfig,
    pub(super) adapter: Box<dyn Channel>,
    pub(super) pacer: StorePacer<'a, dyn LedgerStore + 'a>,
    batch: u32,
    /// Claimed, not yet pushed: the next batches, in claim order.
    claimed: VecDeque<Job>,
    finished: bool,
}

/// About how many jobs a channel claims at once: whole batches, at least one (eBay's 25 → 8
/// batches, remote WooCommerce's 100 → 2, Shopify's 250 → 1).
pub const CLAIM_AHEAD_JOBS: u32 = 200;

/// How many jobs a lane pushing `batch` at a time claims at once.
fn claim_size(batch: u32) -> u32 {
    let batch = batch.max(1);
    ((CLAIM_AHEAD_JOBS / batch).max(1) * batch).min(job::MAX_CLAIM)
}

/// Runs the queue once: see the module documentation. Recorded as a `queue` run; returns what
/// was pushed. Store errors stop the run (claims not pushed are released) and are returned.
pub fn run_queue(
    store: &dyn LedgerStore,
    factory: &dyn AdapterFactory,
    options: &RunOptions,
    clock: &dyn Clock,
) -> Result<RunReport> {
    let owner = job::owner(&options.owner)?;
    job::claim_limits(1, options.claim_seconds)?;
    let started_ms = clock.now_ms();
    recorded(
        store,
        SyncKind::Queue,
        clock.now(),
        || clock.now(),
        |run_id, counts, problems| {
            let mut report = RunReport {
                run_id,
                ..RunReport::default()
            };
            let mut lanes = Vec::new();
            for config in enabled_channels(store)? {
                match factory.adapter(&config) {
                    Ok(Some(adapter)) => {
                        let batch = config
                            .batch_size
                            .min(u32::try_from(adapter.max_batch()).unwrap_or(u32::MAX))
                            .clamp(1, job::MAX_CLAIM);
                        lanes.push(Lane {
                            pacer: StorePacer::new(store, clock, &config),
                            config,
                            adapter,
                            batch,
                            claimed: VecDeque::new(),
                            finished: false,
                        });
                    }
                    Ok(None) => {}
                    Err(error) => {
                        let message = format!("cannot build the adapter: {}", error.full_message());
                        problems.push(format!("{}: {message}", config.key));
                        counts.skipped += 1;
                        report.per_channel.entry(config.key.clone()).or_default().error = Some(message);
                    }
                }
            }
            let driven = drive(store, &mut lanes, options, &owner, clock, started_ms, &mut report);
            for lane in &lanes {
                factory.release(&lane.config, lane.adapter.as_ref());
            }
            // Whatever happened, nothing stays claimed by this run.
            let released = store.release_claims(&owner, clock.now());
            report.elapsed_ms = u64::try_from(clock.now_ms().saturating_sub(started_ms)).unwrap_or(0);
            counts.pushed = report.pushed;
            counts.failed = report.failed;
            counts.retried = report.retried;
            counts.dead = report.dead;
            counts.calls = report.calls;
            driven?;
            released?;
            Ok(report)
        },
    )
}

fn drive(
    store: &dyn LedgerStore,
    lanes: &mut [Lane<'_>],
    options: &RunOptions,
    owner: &str,
    clock: &dyn Clock,
    started_ms: i64,
    report: &mut RunReport,
) -> Result<()> {
    let budget_ms = i64::try_from(options.budget.as_millis()).unwrap_or(i64::MAX);
    let mut remaining = options.job_limit;
    let mut slowest_ms: i64 = 0;
    for lane in lanes.iter_mut() {
        super::feeds::tend(store, lane, owner, options, clock, report)?;
    }
    loop {
        let mut progressed = false;
        for lane in lanes.iter_mut().filter(|lane| !lane.finished) {
            let elapsed = clock.now_ms().saturating_sub(started_ms);
            if elapsed.saturating_add(slowest_ms) >= budget_ms {
                return Ok(());
            }
            if lane.claimed.is_empty() {
                let limit = claim_size(lane.batch).min(remaining);
                let jobs = match limit {
                    0 => Vec::new(),
                    _ => store.claim_jobs(owner, Some(&lane.config.key), limit, options.claim_seconds, clock.now())?,
                };
                if jobs.is_empty() {
                    lane.finished = true;
                    continue;
                }
                remaining = remaining.saturating_sub(u32::try_from(jobs.len()).unwrap_or(u32::MAX));
                lane.claimed.extend(jobs);
                prepare(store, lane, report)?;
            }
            let take = lane.claimed.len().min(lane.batch as usize);
            let jobs: Vec<Job> = lane.claimed.drain(..take).collect();
            let batch_started = clock.now_ms();
            push_batch(store, lane, &jobs, owner, clock, report)?;
            slowest_ms = slowest_ms.max(clock.now_ms().saturating_sub(batch_started));
            progressed = true;
        }
        if !progressed {
            return Ok(());
        }
    }
}

/// The pushes of `jobs` on channel `key` (remote id and last shown quantity from each listing),
/// and those listings by SKU.
pub(super) fn pushes_for(
    store: &dyn LedgerStore,
    key: &str,
    jobs: &[Job],
) -> Result<(Vec<Push>, HashMap<String, Listing>)> {
    let skus: Vec<&str> = jobs.iter().map(|j| j.sku.as_str()).collect();
    let listings: HashMap<String, Listing> = store
        .listings_of(&skus)?
        .into_iter()
        .filter(|l| l.channel == key)
        .map(|l| (l.sku.clone(), l))
        .collect();
    let pushes = jobs
        .iter()
        .map(|job| {
            let listing = listings.get(&job.sku);
            Push {
                sku: job.sku.clone(),
                quantity: job.desired,
                idempotency_key: job.idempotency_key.clone(),
                remote_id: listing.and_then(|l| l.remote_id.clone()),
                last_known_remote: listing.and_then(shown),
            }
        })
        .collect();
    Ok((pushes, listings))
}

/// Lets the adapter get ready for the jobs just claimed ([`Channel::prepare`]: eBay looks up the
/// offers of the whole claim at once instead of batch by batch), and counts its calls. Not on a
/// rate-limited channel, whose calls are better spread over its pushes one turn at a time.
fn prepare(store: &dyn LedgerStore, lane: &mut Lane<'_>, report: &mut RunReport) -> Result<()> {
    if lane.config.rate.is_limited() {
        return Ok(());
    }
    let key = lane.config.key.clone();
    let (pushes, _) = pushes_for(store, &key, lane.claimed.make_contiguous())?;
    lane.adapter.prepare(&pushes);
    count_calls(lane, &key, report)
}

/// Counts the adapter's calls since the last count in the run's report and charges the pacer.
pub(super) fn count_calls(lane: &mut Lane<'_>, key: &str, report: &mut RunReport) -> Result<()> {
    let calls = lane.adapter.take_calls().len();
    let channel = report.per_channel.entry(key.to_string()).or_default();
    channel.calls += calls as u64;
    report.calls += calls as u64;
    lane.pacer.charge(calls)
}

/// Pushes one claimed batch and records every result.
fn push_batch(
    store: &dyn LedgerStore,
    lane: &mut Lane<'_>,
    jobs: &[Job],
    owner: &str,
    clock: &dyn Clock,
    report: &mut RunReport,
) -> Result<()> {
    let key = lane.config.key.clone();
    let (pushes, listings) = pushes_for(store, &key, jobs)?;
    lane.pacer.wait_turn()?;
    let pushed = match lane.adapter.push(&pushes) {
        Ok(pushed) => pushed,
        // The adapters report HTTP failures per item; an error here failed the whole push.
        Err(error) => {
            let failure = Failure {
                retryable: error.is_retryable(),
                reason: error.full_message(),
                retry_after: None,
                code: None,
            };
            PushReport {
                results: Vec::new(),
                calls: Vec::new(),
            }
            .with_failure_for_all(&pushes, &failure)
        }
    };
    lane.pacer.charge(pushed.calls.len().saturating_sub(1))?;
    let channel = report.per_channel.entry(key.clone()).or_default();
    channel.batches += 1;
    channel.calls += pushed.calls.len() as u64;
    report.calls += pushed.calls.len() as u64;

    let now = clock.now();
    // Results come in input order; a missing one is a retryable failure.
    let outcomes: Vec<Outcome> = jobs
        .iter()
        .enumerate()
        .map(|(index, job)| {
            pushed
                .results
                .get(index)
                .filter(|result| result.sku == job.sku)
                .map(|result| result.outcome.clone())
                .unwrap_or_else(|| Outcome::Failed(Failure::retryable("the adapter gave no result for this item")))
        })
        .collect();
    // The pushed jobs are completed together, with the remote ids new to their listings, in one
    // write transaction.
    let completions: Vec<Completion> = jobs
        .iter()
        .zip(&outcomes)
        .filter_map(|(job, outcome)| match outcome {
            Outcome::Applied { remote_id, .. } | Outcome::Accepted { remote_id } => {
                let known = listings.get(&job.sku).and_then(|l| l.remote_id.as_deref());
                let new = (!remote_id.is_empty() && known != Some(remote_id.as_str())).then(|| remote_id.clone());
                Some(Completion {
                    id: job.id,
                    remote_id: new,
                })
            }
            Outcome::Failed(_) => None,
        })
        .collect();
    let mut completions = store.complete_pushed(&completions, owner, now)?.into_iter();
    let mut retryable_failures = 0usize;
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let channel = report.per_channel.entry(key.clone()).or_default();
        let accepted = matches!(outcome, Outcome::Accepted { .. });
        match outcome {
            Outcome::Applied { .. } | Outcome::Accepted { .. } => {
                let completed = completions.next().unwrap_or_else(|| {
                    Err(Error::Ledger {
                        message: format!("the store gave no completion result for job #{}", job.id),
                        source: None,
                    })
                });
                match completed {
                    Ok(_) => {
                        channel.pushed += 1;
                        report.pushed += 1;
                        if accepted {
                            channel.accepted += 1;
                            report.accepted += 1;
                        }
                    }
                    Err(Error::Conflict(_)) => channel.lost_claims += 1,
                    Err(error) => return Err(error),
                }
            }
            Outcome::Failed(failure) => {
                if failure.retryable {
                    retryable_failures += 1;
                }
                let reason = if failure.reason.trim().is_empty() {
                    "the channel refused the quantity without a reason"
                } else {
                    failure.reason.as_str()
                };
                fail_job(store, job, owner, &failure, reason, &key, now, report)?;
            }
        }
    }
    if retryable_failures == jobs.len() {
        lane.finished = true;
        let channel = report.per_channel.entry(key).or_default();
        channel.error = Some("the channel is unavailable; its other jobs wait for the next run".into());
    }
    Ok(())
}

/// Records that `job` failed (`reason`; retryable or not, the channel's `Retry-After`) under
/// `owner`'s claim, and counts it on the run's report: retried or dead, or a lost claim.
#[allow(clippy::too_many_arguments)] // the job, its failure and where to count it
pub(super) fn fail_job(
    store: &dyn LedgerStore,
    job: &Job,
    owner: &str,
    failure: &Failure,
    reason: &str,
    key: &str,
    now: i64,
    report: &mut RunReport,
) -> Result<()> {
    let retry_after = failure.retry_after.map(|s| u32::try_from(s).unwrap_or(u32::MAX));
    let channel = report.per_channel.entry(key.to_string()).or_default();
    match store.fail_job(job.id, owner, reason, failure.retryable, retry_after, now) {
        Ok(after) => {
            channel.failed += 1;
            report.failed += 1;
            if after.status == JobStatus::Dead {
                channel.dead += 1;
                report.dead += 1;
            } else {
                channel.retried += 1;
                report.retried += 1;
            }
            Ok(())
        }
        Err(Error::Conflict(_)) => {
            channel.lost_claims += 1;
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// A push that failed as a whole, as per-item failures.
trait FailAll {
    fn with_failure_for_all(self, pushes: &[Push], failure: &Failure) -> PushReport;
}

impl FailAll for PushReport {
    fn with_failure_for_all(mut self, pushes: &[Push], failure: &Failure) -> PushReport {
        self.results = pushes
            .iter()
            .map(|push| crate::channels::ItemResult {
                sku: push.sku.clone(),
                outcome: Outcome::Failed(failure.clone()),
            })
            .collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::channels::{ChannelKind, HttpCall, ItemResult};
    use crate::ledger::{ChannelInput, ChannelType, ItemInput, NewJob, SqliteLedger};
    use crate::sync::ManualClock;

    const T0_MS: i64 = 1_700_000_000_000;

    /// What [`Channel::prepare`] was given, call by call: each item's SKU and remote id.
    type Prepared = Rc<RefCell<Vec<Vec<(String, Option<String>)>>>>;

    /// An in-memory channel: SKUs starting with `X` are refused for good, `Y` are accepted for
    /// later processing, the rest applied. Records the batches it was given.
    struct Scripted {
        batches: Rc<RefCell<Vec<Vec<String>>>>,
        prepared: Prepared,
        /// One look-up per prepared item without a remote id, until taken.
        calls: Vec<HttpCall>,
    }

    impl Channel for Scripted {
        fn kind(&self) -> ChannelKind {
            ChannelKind::Shopify
        }
        fn max_batch(&self) -> usize {
            3
        }
        fn push(&mut self, items: &[Push]) -> Result<PushReport> {
            self.batches
                .borrow_mut()
                .push(items.iter().map(|p| p.sku.clone()).collect());
            let results = items
                .iter()
                .map(|p| ItemResult {
                    sku: p.sku.clone(),
                    outcome: match p.sku.chars().next() {
                        Some('X') => Outcome::Failed(Failure::permanent(format!("{} is not sold here", p.sku))),
                        Some('Y') => Outcome::Accepted {
                            remote_id: format!("r-{}", p.sku),
                        },
                        _ => Outcome::Applied {
                            remote_id: format!("r-{}", p.sku),
                            quantity_after: Some(p.quantity),
                            observed_before: None,
                        },
                    },
                })
                .collect();
            let call = HttpCall {
                method: "POST",
                path: "/push".into(),
                status: Some(200),
            };
            Ok(PushReport {
                results,
                calls: vec![call.clone(), call],
            })
        }
        fn prepare(&mut self, items: &[Push]) {
            self.prepared
                .borrow_mut()
                .push(items.iter().map(|p| (p.sku.clone(), p.remote_id.clone())).collect());
            for _ in items.iter().filter(|p| p.remote_id.is_none()) {
                self.calls.push(HttpCall {
                    method: "GET",
                    path: "/lookup".into(),
                    status: Some(200),
                });
            }
        }
        fn lookup(&mut self, _: &[String]) -> Result<Vec<(String, String)>> {
            Ok(Vec::new())
        }
        fn read(&mut self, _: &[String]) -> Result<Vec<(String, i64)>> {
            Ok(Vec::new())
        }
        fn take_calls(&mut self) -> Vec<HttpCall> {
            std::mem::take(&mut self.calls)
        }
    }

    #[derive(Default)]
    struct Factory {
        batches: Rc<RefCell<Vec<Vec<String>>>>,
        prepared: Prepared,
    }

    impl AdapterFactory for Factory {
        fn adapter(&self, channel: &ChannelConfig) -> Result<Option<Box<dyn Channel>>> {
            match channel.kind {
                ChannelType::WooCommerceLocal => Ok(None),
                ChannelType::Webhook => Err(Error::validation("settings.url", "is required")),
                _ => Ok(Some(Box::new(Scripted {
                    batches: self.batches.clone(),
                    prepared: self.prepared.clone(),
                    calls: Vec::new(),
                }))),
            }
        }
    }

    fn setup(skus: &[&str]) -> SqliteLedger {
        let store = SqliteLedger::open_in_memory().unwrap();
        let mut paced = ChannelInput::new("paced", ChannelType::Shopify, "Paced");
        paced.batch_size = 10; // the adapter allows 3
        paced.rate = RateLimit {
            per_second: 2.0,
            burst: 1,
        };
        store.save_channel(&paced, 1_700_000_000).unwrap();
        store
            .save_channel(
                &ChannelInput::new("local", ChannelType::WooCommerceLocal, "Here"),
                1_700_000_000,
            )
            .unwrap();
        store
            .save_channel(&ChannelInput::new("broken", ChannelType::Webhook, "ERP"), 1_700_000_000)
            .unwrap();
        for sku in skus {
            let item = ItemInput {
                sku: (*sku).into(),
                name: (*sku).into(),
                ..ItemInput::default()
            };
            store.upsert_item(&item, 1_700_000_000).unwrap();
            for channel in ["paced", "local", "broken"] {
                store
                    .enqueue_jobs(&[NewJob::new(channel, *sku, 5)], 1_700_000_000)
                    .unwrap();
            }
        }
        store
    }

    #[test]
    fn a_run_pushes_in_adapter_batches_paced_and_records_every_outcome() {
        let store = setup(&["A", "B", "C", "D", "X1", "Y1", "Y2"]);
        let batches = Rc::new(RefCell::new(Vec::new()));
        let clock = ManualClock::at_ms(T0_MS);
        let report = run_queue(
            &store,
            &Factory {
                batches: batches.clone(),
                ..Factory::default()
            },
            &RunOptions::new("unit"),
            &clock,
        )
        .unwrap();
        assert_eq!(
            batches.borrow().len(),
            3,
            "7 jobs in batches of at most 3: {:?}",
            batches.borrow()
        );
        assert!(batches.borrow().iter().all(|b| b.len() <= 3));
        assert_eq!(
            (report.pushed, report.accepted, report.failed, report.dead, report.calls),
            (6, 2, 1, 1, 6)
        );
        let dead = store.list_jobs(&crate::ledger::JobQuery {
            status: Some(JobStatus::Dead),
            ..Default::default()
        });
        assert_eq!(dead.unwrap().jobs[0].last_error.as_deref(), Some("X1 is not sold here"));
        assert_eq!(
            store.listing("paced", "Y1").unwrap().unwrap().remote_id.as_deref(),
            Some("r-Y1")
        );
        // 2 per second, burst 1, two calls per batch: the clock was slept on between batches.
        assert!(clock.now_ms() - T0_MS >= 1500, "{}", clock.now_ms() - T0_MS);
        // The local store's jobs were not claimed; the channel without an adapter is the
        // run's error, and its jobs wait.
        assert_eq!(store.job_counts(Some("local")).unwrap().pending, 7);
        assert_eq!(store.job_counts(Some("broken")).unwrap().pending, 7);
        assert!(report.per_channel["broken"].error.is_some());
        let run = &store.list_sync_runs(&Default::default()).unwrap().runs[0];
        assert_eq!((run.kind, run.counts.pushed), (SyncKind::Queue, 6));
        assert!(run
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("broken: cannot build the adapter"));
    }

    #[test]
    fn a_run_keeps_to_its_job_limit_and_its_budget() {
        let store = setup(&["A", "B", "C", "D", "E"]);
        let batches = Rc::new(RefCell::new(Vec::new()));
        let factory = Factory {
            batches: batches.clone(),
            ..Factory::default()
        };
        let clock = ManualClock::at_ms(T0_MS);
        let mut options = RunOptions::new("limited");
        options.job_limit = 4;
        let report = run_queue(&store, &factory, &options, &clock).unwrap();
        assert_eq!(report.pushed, 4);
        assert_eq!(store.job_counts(Some("paced")).unwrap().pending, 1);
        assert_eq!(store.job_counts(None).unwrap().running, 0, "nothing stays claimed");

        // Budget 400 ms: the first batch takes its token at once, the second waits 500 ms for
        // one, so a third batch no longer fits and is not claimed.
        let store = setup(&["A", "B", "C", "D", "E", "F", "G", "H"]);
        let mut options = RunOptions::new("short");
        options.budget = Duration::from_millis(400);
        let report = run_queue(&store, &factory, &options, &clock).unwrap();
        assert_eq!(report.pushed, 6, "two batches, then the budget is short");
        assert_eq!(store.job_counts(Some("paced")).unwrap().pending, 2);
        // All 8 were claimed at once (batches of 3 claim ahead); the 2 left over went back as
        // they were, their claim's attempt given back.
        let left = store
            .list_jobs(&crate::ledger::JobQuery {
                channel: Some("paced".into()),
                status: Some(JobStatus::Pending),
                ..Default::default()
            })
            .unwrap()
            .jobs;
        assert_eq!(left.len(), 2);
        assert!(
            left.iter().all(|job| job.attempts == 0 && job.claim_owner.is_none()),
            "{left:?}"
        );
    }

    #[test]
    fn an_unpaced_lane_prepares_each_claim_and_its_calls_are_counted() {
        let store = setup(&["A", "B", "C", "D", "E"]);
        let mut free = ChannelInput::new("free", ChannelType::Shopify, "Unpaced");
        free.batch_size = 3;
        store.save_channel(&free, 1_700_000_000).unwrap();
        for sku in ["A", "B", "C", "D", "E"] {
            store
                .enqueue_jobs(&[NewJob::new("free", sku, 5)], 1_700_000_000)
                .unwrap();
        }
        store
            .upsert_listing_remote_id("free", "B", Some("known-B"), 1_700_000_000)
            .unwrap();
        let factory = Factory::default();
        let clock = ManualClock::at_ms(T0_MS);
        let report = run_queue(&store, &factory, &RunOptions::new("prepare"), &clock).unwrap();
        // The paced lane is never prepared; the unpaced one once, for its whole claim (5 jobs
        // in batches of 3: one claim of both batches), with the remote ids its listings know.
        let prepared = factory.prepared.borrow();
        assert_eq!(prepared.len(), 1, "{prepared:?}");
        let expected: Vec<(String, Option<String>)> = ["A", "B", "C", "D", "E"]
            .iter()
            .map(|sku| (sku.to_string(), (*sku == "B").then(|| "known-B".to_string())))
            .collect();
        assert_eq!(prepared[0], expected);
        assert_eq!(factory.batches.borrow().len(), 4, "2 batches per lane");
        // Its 4 look-ups are counted with the pushes' 2 calls per batch.
        assert_eq!(report.per_channel["free"].calls, 4 + 2 * 2);
        assert_eq!(report.per_channel["paced"].calls, 2 * 2);
        assert_eq!(report.calls, 4 + 4 * 2);
        assert_eq!(report.per_channel["free"].pushed, 5);
    }

    #[test]
    fn a_lane_claims_whole_batches_about_claim_ahead_jobs_at_once() {
        assert_eq!(claim_size(25), 200, "eBay: 8 calls' worth");
        assert_eq!(claim_size(100), 200, "remote WooCommerce: 2");
        assert_eq!(claim_size(250), 250, "Shopify: 1");
        assert_eq!(claim_size(3), 198);
        assert_eq!(claim_size(1), CLAIM_AHEAD_JOBS);
        assert_eq!(claim_size(0), CLAIM_AHEAD_JOBS, "a batch is at least 1");
        assert_eq!(claim_size(1000), 1000);
        assert_eq!(claim_size(5000), job::MAX_CLAIM, "never above the largest claim");
    }
}
