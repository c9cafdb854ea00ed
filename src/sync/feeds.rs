//! Feeds in a queue run: for a channel with bulk submissions ([`Feeds`], Amazon's
//! `JSON_LISTINGS_FEED`), each run first tends the channel's feeds, then pushes what is left one
//! batch at a time as usual ([`super::runner`]).
//!
//! * **Poll and settle.** Each live feed whose poll is due is asked about. Still working → its
//!   claims are extended ([`FEED_CLAIM_SECONDS`]) and the next poll waits twice as long (30 s up
//!   to 5 min). Done → the report settles every job the feed still holds, in chunks of
//!   [`SETTLE_CHUNK`] (one write transaction each): a refused message's job dies with the
//!   channel's code and message, every other job completes as delivered (accepted: the channel
//!   is applying it; reconciliation confirms), its remote id stored. A problem with the whole
//!   feed, or fewer messages processed than sent → every job fails retryably. Fatal ("some,
//!   none or all" applied) → every job fails retryably, so newer values are pushed again.
//!   Cancelled → every job is released (nothing was applied). A feed still working after
//!   [`GIVE_UP_SECONDS`] → its jobs fail retryably and reconciliation confirms the quantities.
//! * **Submit.** When more than the adapter's threshold of feedable jobs are due (and the
//!   channel's feed quota allows), up to one feed's worth are claimed, handed to the feed's
//!   owner `feed:<id>` in one transaction *before* anything is sent, and submitted; the feed is
//!   polled once at once (a fast channel settles in the same run). Jobs the channel cannot take
//!   in a feed (listing details unknown), and any left over, are released for single pushes.
//! * **Crashes.** Jobs stay held by the feed until its fate is known, so an older quantity never
//!   lands after a newer one: a sale meanwhile makes a pending job of the pair that waits. A
//!   submission that got no answer, or a runner that died during it, leaves the feed
//!   `submitting`; after [`UNANSWERED_SECONDS`] the channel's feeds created since are listed:
//!   none unknown to us → the jobs are released; one still working → wait; all finished → the
//!   jobs fail retryably (pushed again, after whatever that feed applied). A run that dies while
//!   settling leaves the rest held; the next run settles them from the same report (a job is
//!   completed once: completion checks the claim).

use super::runner::{count_calls, fail_job, pushes_for, Lane, RunOptions, RunReport};
use super::Clock;
use crate::channels::{Failure, FeedResults, FeedStatus, Feeds};
use crate::ledger::{job, Completion, Feed, FeedState, FeedUpdate, Job, LedgerStore};
use crate::{Error, Result};

/// How long a feed's jobs stay claimed between polls.
pub const FEED_CLAIM_SECONDS: u32 = 6 * 3600;

/// The first wait between polls, doubled each time up to [`MAX_POLL_SECONDS`].
pub const FIRST_POLL_SECONDS: i64 = 30;

/// The longest wait between polls.
pub const MAX_POLL_SECONDS: i64 = 300;

/// A feed left `submitting` this long lost its submitter (crash, or no answer).
pub const UNANSWERED_SECONDS: i64 = 600;

/// A feed the channel is still working on after this long is given up (its jobs retried).
pub const GIVE_UP_SECONDS: i64 = 72 * 3600;

/// Jobs settled per write transaction.
pub const SETTLE_CHUNK: u32 = 1000;

/// Tends `lane`'s feeds when its adapter has them: see the module documentation.
pub(super) fn tend(
    store: &dyn LedgerStore,
    lane: &mut Lane<'_>,
    owner: &str,
    options: &RunOptions,
    clock: &dyn Clock,
    report: &mut RunReport,
) -> Result<()> {
    let key = lane.config.key.clone();
    if lane.adapter.feeds().is_none() {
        return Ok(());
    }
    for feed in store.live_feeds(Some(&key))? {
        if feed.next_poll_at <= clock.now() {
            let result = tend_one(store, lane, feed, clock, report);
            count_calls(lane, &key, report)?;
            result?;
        }
    }
    // Feed after feed while full ones go out (and the quota allows): a large backlog, such as a
    // full sync, leaves in this run rather than one feed per run and the rest one by one.
    loop {
        let result = submit(store, lane, owner, options, clock, report);
        count_calls(lane, &key, report)?;
        if !result? {
            return Ok(());
        }
    }
}

fn feeds_of<'l>(lane: &'l mut Lane<'_>) -> Result<&'l mut dyn Feeds> {
    lane.adapter.feeds().ok_or_else(|| Error::Ledger {
        message: "the channel's adapter stopped offering feeds".into(),
        source: None,
    })
}

/// Polls (or resolves) one live feed.
fn tend_one(
    store: &dyn LedgerStore,
    lane: &mut Lane<'_>,
    feed: Feed,
    clock: &dyn Clock,
    report: &mut RunReport,
) -> Result<()> {
    let now = clock.now();
    match (feed.state, feed.remote_id.clone()) {
        (FeedState::Submitted, Some(remote_id)) => poll(store, lane, &feed, &remote_id, clock, report),
        _ if now.saturating_sub(feed.created_at) < UNANSWERED_SECONDS => Ok(()),
        _ => resolve_unanswered(store, lane, &feed, clock, report),
    }
}

/// Asks the channel about a submitted feed and acts on the answer.
fn poll(
    store: &dyn LedgerStore,
    lane: &mut Lane<'_>,
    feed: &Feed,
    remote_id: &str,
    clock: &dyn Clock,
    report: &mut RunReport,
) -> Result<()> {
    let now = clock.now();
    let wait = FIRST_POLL_SECONDS
        .saturating_mul(1_i64 << feed.polls.min(8))
        .min(MAX_POLL_SECONDS);
    let later = |failure: Failure| -> Result<()> {
        // The channel could not be asked (or its report read): ask again later; the jobs stay
        // held.
        store.extend_claims(&feed.owner(), FEED_CLAIM_SECONDS, now)?;
        store.update_feed(
            feed.id,
            &FeedUpdate {
                next_poll_at: Some(now.saturating_add(wait)),
                polled: true,
                last_error: Some(failure.reason),
                ..FeedUpdate::default()
            },
            now,
        )?;
        Ok(())
    };
    match feeds_of(lane)?.feed_status(remote_id) {
        Err(failure) => later(failure),
        Ok(FeedStatus::Done { result_document }) => match feeds_of(lane)?.feed_results(&result_document) {
            Ok(results) => settle(store, lane, feed, &results, clock, report),
            Err(failure) => later(failure),
        },
        Ok(FeedStatus::Fatal) => fail_all(
            store,
            feed,
            "the channel stopped processing the feed (FATAL): some, none or all of it may have been applied; its \
             quantities will be pushed again",
            "FATAL",
            FeedState::Failed,
            clock,
            report,
        ),
        Ok(FeedStatus::Cancelled) => release(
            store,
            feed,
            FeedUpdate {
                state: Some(FeedState::Cancelled),
                processing_status: Some("CANCELLED".into()),
                polled: true,
                last_error: Some("the feed was cancelled on the channel; its jobs were released".into()),
                ..FeedUpdate::default()
            },
            now,
        ),
        Ok(FeedStatus::Working(word))
            if feed
                .submitted_at
                .is_some_and(|at| now.saturating_sub(at) >= GIVE_UP_SECONDS) =>
        {
            fail_all(
                store,
                feed,
                "the channel did not finish the feed in 72 hours; its quantities will be pushed again",
                &word,
                FeedState::Failed,
                clock,
                report,
            )
        }
        Ok(FeedStatus::Working(word)) => {
            store.extend_claims(&feed.owner(), FEED_CLAIM_SECONDS, now)?;
            store.update_feed(
                feed.id,
                &FeedUpdate {
                    processing_status: Some(word),
                    next_poll_at: Some(now.saturating_add(wait)),
                    polled: true,
                    ..FeedUpdate::default()
                },
                now,
            )?;
            Ok(())
        }
    }
}

/// Settles every job `feed` still holds from its report.
fn settle(
    store: &dyn LedgerStore,
    lane: &mut Lane<'_>,
    feed: &Feed,
    results: &FeedResults,
    clock: &dyn Clock,
    report: &mut RunReport,
) -> Result<()> {
    if let Some(problem) = &results.problem {
        let reason = format!("{}; its quantities will be pushed again", problem.reason);
        return fail_all(store, feed, &reason, "DONE", FeedState::Failed, clock, report);
    }
    if let Some(processed) = results.processed.filter(|p| *p < u64::from(feed.messages)) {
        let reason = format!(
            "the channel processed {processed} of the feed's {} messages; its quantities will be pushed again",
            feed.messages
        );
        return fail_all(store, feed, &reason, "DONE", FeedState::Failed, clock, report);
    }
    let owner = feed.owner();
    let key = lane.config.key.clone();
    let (mut applied, mut refused) = (0_u32, 0_u32);
    let mut after = 0;
    loop {
        let page = store.jobs_held_by(&owner, after, SETTLE_CHUNK)?;
        let chunk = &page[..];
        let Some(last) = chunk.last() else { break };
        after = last.id;
        let now = clock.now();
        let (pushes, listings) = pushes_for(store, &key, chunk)?;
        let feeds = feeds_of(lane)?;
        let mut completions = Vec::new();
        let mut failures: Vec<(&Job, &Failure)> = Vec::new();
        for (job, push) in chunk.iter().zip(&pushes) {
            match u32::try_from(job.id).ok().and_then(|id| results.refused.get(&id)) {
                Some(failure) => failures.push((job, failure)),
                None => {
                    let known = listings.get(&job.sku).and_then(|l| l.remote_id.as_deref());
                    let remote_id = feeds.feed_remote_id(push).filter(|id| Some(id.as_str()) != known);
                    completions.push(Completion { id: job.id, remote_id });
                }
            }
        }
        let channel = report.per_channel.entry(key.clone()).or_default();
        for completed in store.complete_pushed(&completions, &owner, now)? {
            match completed {
                Ok(_) => {
                    applied += 1;
                    channel.pushed += 1;
                    channel.accepted += 1;
                    report.pushed += 1;
                    report.accepted += 1;
                }
                Err(Error::Conflict(_)) => channel.lost_claims += 1,
                Err(error) => return Err(error),
            }
        }
        for (job, failure) in failures {
            refused += 1;
            record_failure(store, job, &owner, failure, &key, clock, report)?;
        }
    }
    store.update_feed(
        feed.id,
        &FeedUpdate {
            state: Some(FeedState::Done),
            processing_status: Some("DONE".into()),
            polled: true,
            applied,
            refused,
            ..FeedUpdate::default()
        },
        clock.now(),
    )?;
    Ok(())
}

/// Gives back every job `feed` holds (due again, attempts returned) and ends it with `update`.
fn release(store: &dyn LedgerStore, feed: &Feed, update: FeedUpdate, now: i64) -> Result<()> {
    store.release_claims(&feed.owner(), now)?;
    store.update_feed(feed.id, &update, now)?;
    Ok(())
}

/// Calls `f` with every job `owner` holds, by id, a page of [`SETTLE_CHUNK`] at a time.
fn each_held(store: &dyn LedgerStore, owner: &str, mut f: impl FnMut(&Job) -> Result<()>) -> Result<()> {
    let mut after = 0;
    loop {
        let page = store.jobs_held_by(owner, after, SETTLE_CHUNK)?;
        let Some(last) = page.last() else { return Ok(()) };
        after = last.id;
        for job in &page {
            f(job)?;
        }
    }
}

/// Records one job's failure under the feed's claim.
fn record_failure(
    store: &dyn LedgerStore,
    job: &Job,
    owner: &str,
    failure: &Failure,
    key: &str,
    clock: &dyn Clock,
    report: &mut RunReport,
) -> Result<()> {
    fail_job(store, job, owner, failure, &failure.reason, key, clock.now(), report)
}

/// Fails every job `feed` holds retryably with `reason`, and ends the feed in `state`.
fn fail_all(
    store: &dyn LedgerStore,
    feed: &Feed,
    reason: &str,
    processing_status: &str,
    state: FeedState,
    clock: &dyn Clock,
    report: &mut RunReport,
) -> Result<()> {
    let owner = feed.owner();
    let failure = Failure::retryable(reason);
    let mut refused = 0_u32;
    each_held(store, &owner, |job| {
        refused += 1;
        record_failure(store, job, &owner, &failure, &feed.channel, clock, report)
    })?;
    store.update_feed(
        feed.id,
        &FeedUpdate {
            state: Some(state),
            processing_status: Some(processing_status.to_string()),
            polled: true,
            refused,
            last_error: Some(reason.to_string()),
            ..FeedUpdate::default()
        },
        clock.now(),
    )?;
    Ok(())
}

/// A feed left `submitting` past [`UNANSWERED_SECONDS`]: finds out whether the channel has it.
fn resolve_unanswered(
    store: &dyn LedgerStore,
    lane: &mut Lane<'_>,
    feed: &Feed,
    clock: &dyn Clock,
    report: &mut RunReport,
) -> Result<()> {
    let now = clock.now();
    let listed = feeds_of(lane)?.feeds_since(feed.created_at.saturating_sub(60));
    let listed = match listed {
        Ok(listed) => listed,
        Err(failure) => {
            store.extend_claims(&feed.owner(), FEED_CLAIM_SECONDS, now)?;
            store.update_feed(
                feed.id,
                &FeedUpdate {
                    next_poll_at: Some(now.saturating_add(MAX_POLL_SECONDS)),
                    last_error: Some(format!("could not list the channel's feeds: {}", failure.reason)),
                    ..FeedUpdate::default()
                },
                now,
            )?;
            return Ok(());
        }
    };
    let known: Vec<String> = store
        .recent_feeds(Some(&feed.channel), 1000)?
        .into_iter()
        .filter_map(|f| f.remote_id)
        .collect();
    let suspects: Vec<&(String, FeedStatus)> = listed.iter().filter(|(id, _)| !known.contains(id)).collect();
    if suspects.is_empty() {
        return release(
            store,
            feed,
            FeedUpdate {
                state: Some(FeedState::Abandoned),
                last_error: Some("the submission never reached the channel; its jobs were released".into()),
                ..FeedUpdate::default()
            },
            now,
        );
    }
    if suspects.iter().any(|(_, status)| !status.is_final()) {
        store.extend_claims(&feed.owner(), FEED_CLAIM_SECONDS, now)?;
        store.update_feed(
            feed.id,
            &FeedUpdate {
                next_poll_at: Some(now.saturating_add(FIRST_POLL_SECONDS)),
                last_error: Some(format!(
                    "the submission got no answer; waiting for {} feed(s) the channel is still working on",
                    suspects.len()
                )),
                ..FeedUpdate::default()
            },
            now,
        )?;
        return Ok(());
    }
    fail_all(
        store,
        feed,
        "the submission got no answer and the channel's feeds since then have finished; its quantities will be \
         pushed again",
        "UNKNOWN",
        FeedState::Abandoned,
        clock,
        report,
    )
}

/// Submits one new feed when enough feedable jobs are due. True when a full feed went out (so
/// more may be due).
fn submit(
    store: &dyn LedgerStore,
    lane: &mut Lane<'_>,
    owner: &str,
    options: &RunOptions,
    clock: &dyn Clock,
    report: &mut RunReport,
) -> Result<bool> {
    let key = lane.config.key.clone();
    let (threshold, max_messages, max_bytes, (quota, window)) = {
        let feeds = feeds_of(lane)?;
        (
            feeds.feed_threshold(),
            feeds.max_feed_messages(),
            feeds.max_feed_bytes(),
            feeds.feed_quota(),
        )
    };
    if threshold == 0 || store.feeds_started_since(&key, clock.now().saturating_sub(window))? >= quota {
        return Ok(false);
    }
    // Claim up to one feed's worth (the run's own claims: released below unless handed over).
    let mut draft = Draft::default();
    let result = draft
        .fill(store, lane, owner, options, clock, max_messages, max_bytes)
        .and_then(|()| hand_over_and_submit(store, lane, owner, &mut draft, threshold, clock, report));
    // Whatever was not handed over goes back in line for single pushes.
    store.release_claims(owner, clock.now())?;
    Ok(result? && draft.full)
}

/// A feed being put together: its messages joined by commas in one buffer (a feed can be
/// megabytes), and the ids of their jobs.
#[derive(Default)]
struct Draft {
    messages: String,
    ids: Vec<i64>,
    /// Jobs claimed for it (some may not go in a feed).
    claimed: usize,
    /// Whether it reached the channel's most messages or bytes (more may be due).
    full: bool,
}

impl Draft {
    /// Claims due jobs a chunk at a time and turns each chunk into messages at once: only the
    /// messages and the ids are kept, never a whole feed's jobs.
    #[allow(clippy::too_many_arguments)] // the run's parts, passed through
    fn fill(
        &mut self,
        store: &dyn LedgerStore,
        lane: &mut Lane<'_>,
        owner: &str,
        options: &RunOptions,
        clock: &dyn Clock,
        max_messages: usize,
        max_bytes: usize,
    ) -> Result<()> {
        let key = lane.config.key.clone();
        while !self.full {
            let want =
                u32::try_from((max_messages - self.claimed).min(job::MAX_CLAIM as usize)).unwrap_or(job::MAX_CLAIM);
            let chunk = store.claim_jobs(owner, Some(&key), want, options.claim_seconds, clock.now())?;
            self.claimed += chunk.len();
            self.full = self.claimed >= max_messages;
            let (pushes, _) = pushes_for(store, &key, &chunk)?;
            let feeds = feeds_of(lane)?;
            for (job, push) in chunk.iter().zip(&pushes) {
                let Some(message) = u32::try_from(job.id).ok().and_then(|id| feeds.feed_message(id, push)) else {
                    continue;
                };
                if self.messages.len() + message.len() + 1 > max_bytes {
                    self.full = true;
                    break;
                }
                if !self.messages.is_empty() {
                    self.messages.push(',');
                }
                self.messages.push_str(&message);
                self.ids.push(job.id);
            }
            if chunk.len() < want as usize {
                break;
            }
        }
        Ok(())
    }
}

/// Hands the draft's jobs to a new feed and submits it, when it has more than `threshold`
/// messages. True when the feed went out.
fn hand_over_and_submit(
    store: &dyn LedgerStore,
    lane: &mut Lane<'_>,
    owner: &str,
    draft: &mut Draft,
    threshold: usize,
    clock: &dyn Clock,
    report: &mut RunReport,
) -> Result<bool> {
    if draft.claimed <= threshold || draft.ids.len() <= threshold {
        return Ok(false);
    }
    let key = lane.config.key.clone();
    let ids = std::mem::take(&mut draft.ids);
    let messages = std::mem::take(&mut draft.messages);
    let now = clock.now();
    let feed = store.begin_feed(&key, &ids, owner, FEED_CLAIM_SECONDS, now)?;
    if feed.messages as usize != ids.len() {
        // Some claims were lost on the way (expired and taken): their messages must not go out
        // under this feed. Give the rest back and try again next run.
        return release(
            store,
            &feed,
            FeedUpdate {
                state: Some(FeedState::Abandoned),
                last_error: Some("claims were lost before the submission; its jobs were released".into()),
                ..FeedUpdate::default()
            },
            now,
        )
        .map(|()| false);
    }
    lane.pacer.wait_turn()?;
    let submitted = feeds_of(lane)?.submit_feed(messages);
    let channel = report.per_channel.entry(key.clone()).or_default();
    match submitted {
        Ok(remote_id) => {
            channel.feeds += 1;
            channel.in_feeds += ids.len() as u64;
            let feed = store.update_feed(
                feed.id,
                &FeedUpdate {
                    state: Some(FeedState::Submitted),
                    remote_id: Some(remote_id.clone()),
                    next_poll_at: Some(clock.now()),
                    ..FeedUpdate::default()
                },
                clock.now(),
            )?;
            // One poll at once: a channel that is quick settles in this run.
            poll(store, lane, &feed, &remote_id, clock, report).map(|()| true)
        }
        Err(submit) if submit.maybe_created => {
            store.update_feed(
                feed.id,
                &FeedUpdate {
                    next_poll_at: Some(now.saturating_add(UNANSWERED_SECONDS)),
                    last_error: Some(format!(
                        "the submission got no answer ({}); the channel is asked in 10 minutes whether it has the feed",
                        submit.failure.reason
                    )),
                    ..FeedUpdate::default()
                },
                clock.now(),
            )?;
            Ok(false)
        }
        Err(submit) => {
            let owner = feed.owner();
            each_held(store, &owner, |job| {
                record_failure(store, job, &owner, &submit.failure, &key, clock, report)
            })?;
            store.update_feed(
                feed.id,
                &FeedUpdate {
                    state: Some(FeedState::Failed),
                    refused: feed.messages,
                    last_error: Some(submit.failure.reason.clone()),
                    ..FeedUpdate::default()
                },
                clock.now(),
            )?;
            Ok(false)
        }
    }
}
