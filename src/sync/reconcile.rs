//! Reconciliation: read what readable channels show, compare it with their allocation, record
//! what was seen and the drift, and repair drift by enqueueing the expected quantity.
//!
//! * Channels: every enabled channel whose adapter the factory builds and that is
//!   [`readable`](crate::channels::Channel::readable); the others are listed as skipped.
//! * SKUs: the channel's listings (what we have pushed to it or heard from it), read in chunks of
//!   the adapter's batch size, each read paced like a push.
//! * Every quantity read is recorded on the listing (`record_listing_seen`): it confirms a
//!   delivery the channel only accepted, and the planner reads it.
//! * A listing whose pair has an open job carrying the expected quantity is *in flight*, not
//!   drift: the push on its way sets it.
//! * Drift (another number than the allocation) goes to the drift log with the run's id and is
//!   repaired by a job for the expected quantity. SKUs the channel does not report are counted
//!   as missing (the listing may point at a product deleted there; the next push looks it up).

use std::collections::HashMap;

use super::engine::{enabled_channels, recorded};
use super::runner::{AdapterFactory, StorePacer};
use super::Clock;
use crate::inventory;
use crate::ledger::{job, ChannelConfig, LedgerStore, NewDrift, NewJob, SyncKind, MAX_PAGE};
use crate::stock::{ChannelRule, RuleSet};
use crate::{Error, Result};

/// What a reconciliation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// The sync run it was recorded as.
    pub run_id: i64,
    /// Channels read.
    pub channels: u64,
    /// Channels not read, with why (not readable, no adapter here, adapter or read error).
    pub skipped: Vec<String>,
    /// Listings whose quantity was read.
    pub read: u64,
    /// Listings the channel did not report.
    pub missing: u64,
    /// Listings whose expected quantity is already on its way (an open job).
    pub in_flight: u64,
    /// Listings showing another number than their allocation.
    pub drift: u64,
    /// Repair jobs that created or changed a job in the outbox.
    pub repaired: u64,
    /// HTTP calls made.
    pub calls: u64,
}

/// Reconciles every readable channel once; recorded as a `reconcile` run.
pub fn reconcile(store: &dyn LedgerStore, factory: &dyn AdapterFactory, clock: &dyn Clock) -> Result<ReconcileReport> {
    recorded(
        store,
        SyncKind::Reconcile,
        clock.now(),
        || clock.now(),
        |run_id, counts, problems| {
            let mut report = ReconcileReport {
                run_id,
                ..ReconcileReport::default()
            };
            let channels = enabled_channels(store)?;
            let rules: Vec<ChannelRule> = channels.iter().map(ChannelConfig::to_rule).collect();
            let rule_set = RuleSet::new(&rules)?;
            for (index, config) in channels.iter().enumerate() {
                let mut adapter = match factory.adapter(config) {
                    Ok(Some(adapter)) if adapter.readable() => adapter,
                    Ok(Some(_)) => {
                        report.skipped.push(format!("{}: cannot be read", config.key));
                        continue;
                    }
                    Ok(None) => {
                        report.skipped.push(format!("{}: applied elsewhere", config.key));
                        continue;
                    }
                    Err(error) => {
                        let message = format!("{}: cannot build the adapter: {}", config.key, error.full_message());
                        problems.push(message.clone());
                        report.skipped.push(message);
                        continue;
                    }
                };
                report.channels += 1;
                let mut pacer = StorePacer::new(store, clock, config);
                let chunk_size = adapter.max_batch().max(1);
                let mut after: Option<String> = None;
                'pages: loop {
                    let page = store.channel_listings(&config.key, after.as_deref(), MAX_PAGE)?;
                    let Some(last) = page.last() else { break };
                    after = Some(last.sku.clone());
                    for chunk in page.chunks(chunk_size) {
                        let skus: Vec<String> = chunk.iter().map(|l| l.sku.clone()).collect();
                        pacer.wait_turn()?;
                        let read = adapter.read(&skus);
                        let calls = adapter.take_calls().len();
                        pacer.charge(calls.saturating_sub(1))?;
                        report.calls += calls as u64;
                        let read = match read {
                            Ok(read) => read,
                            Err(error) => {
                                let message = format!("{}: cannot read: {}", config.key, error.full_message());
                                problems.push(message.clone());
                                report.skipped.push(message);
                                break 'pages;
                            }
                        };
                        compare(
                            store,
                            config,
                            index,
                            &rule_set,
                            &skus,
                            &read,
                            run_id,
                            clock.now(),
                            &mut report,
                        )?;
                    }
                    if page.len() < MAX_PAGE as usize {
                        break;
                    }
                }
                factory.release(config, adapter.as_ref());
            }
            counts.drift = report.drift;
            counts.enqueued = report.repaired;
            counts.planned = report.drift;
            counts.skus = report.read;
            counts.skipped = report.missing;
            counts.calls = report.calls;
            Ok(report)
        },
    )
}

/// Compares what one chunk of listings showed with the channel's allocation.
#[allow(clippy::too_many_arguments)] // one chunk of one channel, and where to write
fn compare(
    store: &dyn LedgerStore,
    config: &ChannelConfig,
    index: usize,
    rule_set: &RuleSet<'_>,
    skus: &[String],
    read: &[(String, i64)],
    run_id: i64,
    now: i64,
    report: &mut ReconcileReport,
) -> Result<()> {
    let shown: HashMap<&str, i64> = read.iter().map(|(sku, q)| (sku.as_str(), *q)).collect();
    let refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    let queued: HashMap<String, i64> = store
        .open_jobs(&refs)?
        .into_iter()
        .filter(|j| j.channel == config.key)
        .map(|j| (j.sku, j.desired))
        .collect();
    let mut quantities = Vec::new();
    let mut drift = Vec::new();
    let mut repairs = Vec::new();
    for sku in skus {
        let Some(&remote) = shown.get(sku.as_str()) else {
            report.missing += 1;
            continue;
        };
        report.read += 1;
        store.record_listing_seen(&config.key, sku, remote, now)?;
        let levels = match inventory::stock_levels(store, sku) {
            Ok(levels) => levels,
            Err(Error::NotFound { .. }) => continue,
            Err(error) => return Err(error),
        };
        rule_set.quantities(&levels, 0, &mut quantities)?;
        let expected = quantities.get(index).copied().unwrap_or(0).max(0);
        if queued.get(sku) == Some(&expected) {
            report.in_flight += 1;
            continue;
        }
        if remote == expected {
            continue;
        }
        report.drift += 1;
        drift.push(NewDrift {
            channel: config.key.clone(),
            sku: sku.clone(),
            expected,
            remote,
            repaired: true,
            run_id: Some(run_id),
        });
        repairs.push(NewJob::new(config.key.clone(), sku.clone(), expected));
    }
    for batch in repairs.chunks(job::MAX_ENQUEUE) {
        for job_ref in store.enqueue_jobs(batch, now)? {
            if job_ref.outcome != crate::ledger::Enqueued::Unchanged {
                report.repaired += 1;
            }
        }
    }
    for batch in drift.chunks(job::MAX_ENQUEUE) {
        store.record_drift(batch, now)?;
    }
    Ok(())
}
