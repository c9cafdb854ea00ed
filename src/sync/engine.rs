//! Planning at scale: allocations for the SKUs that changed (or for all of them), the listings and
//! open jobs of those SKUs read in bulk, [`plan`](super::plan) per SKU, and the jobs enqueued in
//! batches.
//!
//! * [`sync_skus`] — right after movements (a webhook, an order, an adjustment): the SKUs they
//!   touched, with the channel they came from for echo suppression. It records no sync run: it
//!   runs inside every inbound change, and the inbound events log already records those.
//! * [`incremental`] — every few minutes: the SKUs with movements after the cursor kept in the
//!   store's sync state ([`INCREMENTAL_CURSOR`]); the cursor moves only after their jobs were
//!   enqueued, so a failed run is simply done again (enqueuing coalesces). Two runs at once are
//!   harmless: the slower may set an older cursor, and the next run re-plans a little more.
//! * [`full`] — daily or on demand: every SKU, from one consistent read of the catalogue
//!   ([`crate::inventory::allocate_all`]).
//!
//! The supplier's stock is not in the ledger yet: rules that include it get 0.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::plan::{self, Target, Verdict};
use crate::inventory;
use crate::ledger::{job, ChannelConfig, ChannelType, Enqueued, LedgerStore, NewJob, SyncCounts, SyncKind};
use crate::stock::{ChannelRule, RuleSet};
use crate::{Error, Result};

/// The sync state name of the incremental sync's cursor (the last movement id planned).
pub const INCREMENTAL_CURSOR: &str = "incremental.cursor";

/// SKUs planned together (one bulk read of listings and open jobs).
const SKUS_PER_CHUNK: usize = 500;

/// What planning did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanCounts {
    /// SKUs planned.
    pub skus: u64,
    /// SKUs skipped because the ledger does not know them.
    pub skipped: u64,
    /// Jobs planned (first pushes + changes).
    pub planned: u64,
    /// Of those, first pushes.
    pub first_pushes: u64,
    /// Channels left alone because they have (or are about to get) their allocation.
    pub unchanged: u64,
    /// Origin channels not written back with their own number.
    pub echoes: u64,
    /// Changes held back by a channel's minimum change.
    pub held_back: u64,
    /// Planned jobs that created or changed a job in the outbox.
    pub enqueued: u64,
}

impl PlanCounts {
    fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::FirstPush => {
                self.planned += 1;
                self.first_pushes += 1;
            }
            Verdict::Changed => self.planned += 1,
            Verdict::Unchanged => self.unchanged += 1,
            Verdict::Echo => self.echoes += 1,
            Verdict::HeldBack => self.held_back += 1,
        }
    }

    fn fill(&self, counts: &mut SyncCounts) {
        counts.skus = self.skus;
        counts.skipped = self.skipped;
        counts.planned = self.planned;
        counts.enqueued = self.enqueued;
    }
}

/// What a recorded sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// The sync run it was recorded as.
    pub run_id: i64,
    /// What planning did.
    pub counts: PlanCounts,
    /// The incremental sync's cursor after the run (`None` for a full sync).
    pub cursor: Option<i64>,
}

/// The enabled channels, in the order they were added.
pub(crate) fn enabled_channels(store: &dyn LedgerStore) -> Result<Vec<ChannelConfig>> {
    Ok(store.list_channels()?.into_iter().filter(|c| c.enabled).collect())
}

/// Runs `work` as a recorded sync run of `kind`: the run is finished with the counts `work`
/// filled in, and failed with its error if it failed (the error is returned too) or with the
/// problems it noted on the way (a channel that could not be built, …).
pub(crate) fn recorded<T>(
    store: &dyn LedgerStore,
    kind: SyncKind,
    now: i64,
    finished_at: impl FnOnce() -> i64,
    work: impl FnOnce(i64, &mut SyncCounts, &mut Vec<String>) -> Result<T>,
) -> Result<T> {
    let started = Instant::now();
    let run = store.start_sync_run(kind, now)?;
    let mut counts = SyncCounts::default();
    let mut problems = Vec::new();
    let result = work(run.id, &mut counts, &mut problems);
    counts.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let Err(error) = &result {
        problems.push(error.full_message());
    }
    let error = (!problems.is_empty()).then(|| problems.join("; "));
    store.finish_sync_run(run.id, &counts, error.as_deref(), finished_at())?;
    result
}

/// Plans `skus` (after movements) against every enabled channel and enqueues what they need;
/// `origin` is the channel key the change came from, if any (echo suppression). Unknown SKUs are
/// skipped and counted; duplicates are planned once. Records no sync run (see the module
/// documentation).
pub fn sync_skus(store: &dyn LedgerStore, skus: &[&str], origin: Option<&str>, now: i64) -> Result<PlanCounts> {
    plan_skus(store, skus, origin, None, now)
}

/// Plans `skus` for one enabled channel only ("sync now" for a channel). The allocation is still
/// worked out over every enabled channel (a partitioned channel's share depends on the others);
/// only `channel`'s jobs are enqueued. Unknown or disabled channel: not found.
pub fn sync_skus_to(store: &dyn LedgerStore, skus: &[&str], channel: &str, now: i64) -> Result<PlanCounts> {
    if !enabled_channels(store)?.iter().any(|c| c.key == channel) {
        return Err(Error::NotFound {
            what: "channel",
            key: channel.to_owned(),
        });
    }
    plan_skus(store, skus, None, Some(channel), now)
}

fn plan_skus(
    store: &dyn LedgerStore,
    skus: &[&str],
    origin: Option<&str>,
    only: Option<&str>,
    now: i64,
) -> Result<PlanCounts> {
    plan_skus_observed(store, skus, Audience { origin, only }, now, &mut |_| Ok(()))
}

/// [`plan_skus`], with `between` called after a chunk's stock was read and before its jobs are
/// enqueued (where another request's movement and plan can slip in; the tests put one there).
///
/// Two requests that change one SKU at the same time each plan it after their own movement, and
/// the later enqueue sets the pending job's quantity. When the request that read the stock first
/// enqueues last, the job would carry the older quantity until the next incremental sync. So
/// after enqueueing, the chunk's stock is read again and the SKUs whose allocation changed are
/// planned again (their pending jobs coalesce), until it holds still: the last enqueue of a SKU
/// is then always one whose stock was read after the last movement committed. The counts are
/// those of the first plan.
fn plan_skus_observed(
    store: &dyn LedgerStore,
    skus: &[&str],
    audience: Audience<'_>,
    now: i64,
    between: &mut dyn FnMut(&[String]) -> Result<()>,
) -> Result<PlanCounts> {
    let mut skus: Vec<&str> = skus.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    skus.sort_unstable();
    skus.dedup();
    let channels = enabled_channels(store)?;
    let mut counts = PlanCounts::default();
    if channels.is_empty() {
        counts.skus = skus.len() as u64;
        return Ok(counts);
    }
    let rules: Vec<ChannelRule> = channels.iter().map(ChannelConfig::to_rule).collect();
    let rule_set = RuleSet::new(&rules)?;
    let width = rules.len();
    for chunk in skus.chunks(SKUS_PER_CHUNK) {
        let (mut names, mut allocations) = allocate(store, &rule_set, width, chunk, &mut counts.skipped)?;
        between(&names)?;
        plan_chunk(store, &channels, &names, &allocations, audience, &mut counts, now)?;
        for _ in 0..REPLAN_ROUNDS {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let (again, again_allocations) = allocate(store, &rule_set, width, &refs, &mut 0)?;
            let (mut changed, mut changed_allocations) = (Vec::new(), Vec::new());
            let planned: HashMap<&str, &[i64]> = names
                .iter()
                .map(String::as_str)
                .zip(allocations.chunks(width))
                .collect();
            for (name, quantities) in again.iter().zip(again_allocations.chunks(width)) {
                if planned.get(name.as_str()) != Some(&quantities) {
                    changed.push(name.clone());
                    changed_allocations.extend_from_slice(quantities);
                }
            }
            if changed.is_empty() {
                break;
            }
            plan_chunk(
                store,
                &channels,
                &changed,
                &changed_allocations,
                audience,
                &mut PlanCounts::default(),
                now,
            )?;
            (names, allocations) = (changed, changed_allocations);
        }
    }
    Ok(counts)
}

/// Rounds of planning SKUs again whose stock changed while they were planned
/// ([`plan_skus_observed`]); past them the SKU is changing so fast that the requests changing it
/// plan it after us anyway.
const REPLAN_ROUNDS: usize = 4;

/// The allocation of each of `skus` that exists, in order: their names and, per name, `width`
/// quantities (one per rule). Unknown SKUs are counted in `skipped`.
fn allocate(
    store: &dyn LedgerStore,
    rule_set: &RuleSet,
    width: usize,
    skus: &[&str],
    skipped: &mut u64,
) -> Result<(Vec<String>, Vec<i64>)> {
    let mut names = Vec::with_capacity(skus.len());
    let mut allocations = Vec::with_capacity(skus.len() * width);
    let mut quantities = Vec::with_capacity(width);
    for sku in skus {
        let levels = match inventory::stock_levels(store, sku) {
            Ok(levels) => levels,
            Err(Error::NotFound { .. }) => {
                *skipped += 1;
                continue;
            }
            Err(error) => return Err(error),
        };
        rule_set.quantities(&levels, 0, &mut quantities)?;
        names.push((*sku).to_owned());
        allocations.extend_from_slice(&quantities);
    }
    Ok((names, allocations))
}

/// Plans the SKUs with movements since the cursor, then moves the cursor; recorded as an
/// `incremental` run.
pub fn incremental(store: &dyn LedgerStore, now: i64) -> Result<SyncReport> {
    recorded(
        store,
        SyncKind::Incremental,
        now,
        || now,
        |run_id, sync_counts, _| {
            // An unreadable cursor re-plans everything: harmless, enqueuing coalesces.
            let cursor = store
                .sync_state(INCREMENTAL_CURSOR)?
                .and_then(|text| text.trim().parse::<i64>().ok())
                .unwrap_or(0);
            let changed = store.skus_changed_since(cursor)?;
            let skus: Vec<&str> = changed.skus.iter().map(String::as_str).collect();
            let counts = sync_skus(store, &skus, None, now)?;
            counts.fill(sync_counts);
            store.set_sync_state(INCREMENTAL_CURSOR, &changed.cursor.to_string(), now)?;
            Ok(SyncReport {
                run_id,
                counts,
                cursor: Some(changed.cursor),
            })
        },
    )
}

/// Plans every SKU of the ledger against every enabled channel; recorded as a `full` run.
pub fn full(store: &dyn LedgerStore, now: i64) -> Result<SyncReport> {
    recorded(
        store,
        SyncKind::Full,
        now,
        || now,
        |run_id, sync_counts, _| {
            let channels = enabled_channels(store)?;
            let mut counts = PlanCounts::default();
            if !channels.is_empty() {
                let rules: Vec<ChannelRule> = channels.iter().map(ChannelConfig::to_rule).collect();
                let rule_set = RuleSet::new(&rules)?;
                // One consistent read of the whole catalogue, kept compact: the SKUs and a flat
                // array of their quantities (one per channel).
                let mut names: Vec<String> = Vec::new();
                let mut allocations: Vec<i64> = Vec::new();
                inventory::allocate_all(
                    store,
                    &rule_set,
                    |_| 0,
                    |sku, quantities| {
                        names.push(sku.to_owned());
                        allocations.extend_from_slice(quantities);
                        Ok(())
                    },
                )?;
                let width = rules.len();
                for (chunk, quantities) in names
                    .chunks(SKUS_PER_CHUNK)
                    .zip(allocations.chunks(SKUS_PER_CHUNK * width))
                {
                    plan_chunk(
                        store,
                        &channels,
                        chunk,
                        quantities,
                        Audience::default(),
                        &mut counts,
                        now,
                    )?;
                }
            }
            counts.fill(sync_counts);
            Ok(SyncReport {
                run_id,
                counts,
                cursor: None,
            })
        },
    )
}

/// Plans SKUs whose allocations are known (`allocations`: one per channel per SKU, in order)
/// and enqueues the jobs they need.
/// Which channels a planning pass is for: every enabled one but the change's `origin` (not
/// written back), or `only` one.
#[derive(Debug, Clone, Copy, Default)]
struct Audience<'a> {
    origin: Option<&'a str>,
    only: Option<&'a str>,
}

fn plan_chunk(
    store: &dyn LedgerStore,
    channels: &[ChannelConfig],
    skus: &[String],
    allocations: &[i64],
    audience: Audience<'_>,
    counts: &mut PlanCounts,
    now: i64,
) -> Result<()> {
    let Audience { origin, only } = audience;
    let refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    let listings = store.listings_of(&refs)?;
    let listed: HashMap<(&str, &str), &crate::ledger::Listing> = listings
        .iter()
        .map(|l| ((l.channel.as_str(), l.sku.as_str()), l))
        .collect();
    let open = store.open_jobs(&refs)?;
    // Jobs come by id: the newest open job of a pair is the last one seen.
    let queued: HashMap<(&str, &str), i64> = open
        .iter()
        .map(|j| ((j.channel.as_str(), j.sku.as_str()), j.desired))
        .collect();
    // This store's own channel shows only items linked to one of its products: a SKU sold
    // elsewhere only has nothing there to write to.
    let linked: HashSet<String> = if channels.iter().any(|c| c.kind == ChannelType::WooCommerceLocal) {
        store.linked_skus(&refs)?.into_iter().collect()
    } else {
        HashSet::new()
    };
    let width = channels.len();
    let mut new_jobs: Vec<NewJob> = Vec::new();
    let mut targets = Vec::with_capacity(width);
    for (i, sku) in skus.iter().enumerate() {
        targets.clear();
        for (c, channel) in channels.iter().enumerate() {
            if only.is_some_and(|key| key != channel.key) {
                continue;
            }
            if channel.kind == ChannelType::WooCommerceLocal && !linked.contains(sku) {
                continue;
            }
            let pair = (channel.key.as_str(), sku.as_str());
            targets.push(Target {
                channel: &channel.key,
                allocation: allocations.get(i * width + c).copied().unwrap_or(0),
                min_change: channel.min_change,
                low_stock_level: channel.low_stock_level,
                listing: listed.get(&pair).copied(),
                queued: queued.get(&pair).copied(),
            });
        }
        let decisions = plan::plan(&targets, origin);
        for decision in &decisions {
            counts.add(decision.verdict);
        }
        new_jobs.extend(plan::jobs(sku, &decisions));
        counts.skus += 1;
    }
    for batch in new_jobs.chunks(job::MAX_ENQUEUE) {
        for job_ref in store.enqueue_jobs(batch, now)? {
            if job_ref.outcome != Enqueued::Unchanged {
                counts.enqueued += 1;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{ChannelInput, ChannelType, ItemInput, Location, MovementKind, MovementRequest, SqliteLedger};

    const T0: i64 = 1_700_000_000;

    /// A ledger with SKU A (10 on hand, a product of this store) and the store's own channel.
    fn store() -> SqliteLedger {
        let store = SqliteLedger::open_in_memory().unwrap();
        let location = Location {
            code: "WH1".into(),
            name: "Main".into(),
            priority: 0,
            active: true,
        };
        store.upsert_location(&location, T0).unwrap();
        let item = ItemInput {
            sku: "A".into(),
            name: "A".into(),
            product_id: Some(1),
            ..ItemInput::default()
        };
        store.upsert_item(&item, T0).unwrap();
        store
            .record(&MovementRequest::new("r1", "A", MovementKind::Receive, 10), T0)
            .unwrap();
        store
            .save_channel(
                &ChannelInput::new("local", ChannelType::WooCommerceLocal, "This store"),
                T0,
            )
            .unwrap();
        store
    }

    fn queued(store: &SqliteLedger) -> Vec<i64> {
        store.open_jobs(&["A"]).unwrap().iter().map(|j| j.desired).collect()
    }

    #[test]
    fn a_plan_overtaken_by_a_later_movement_s_plan_still_leaves_the_latest_quantity_queued() {
        let store = store();
        let mut other = 0;
        // Between this plan's read (10) and its enqueue, another request receives 5 and plans
        // (15, enqueued first): this plan's enqueue of 10 would leave the job a step behind.
        let counts = plan_skus_observed(&store, &["A"], Audience::default(), T0, &mut |names| {
            assert_eq!(names, ["A"]);
            other += 1;
            store.record(&MovementRequest::new("r2", "A", MovementKind::Receive, 5), T0)?;
            let theirs = sync_skus(&store, &["A"], None, T0)?;
            assert_eq!((theirs.enqueued, queued(&store)), (1, vec![15]));
            Ok(())
        })
        .unwrap();
        assert_eq!(other, 1);
        assert_eq!(
            counts.enqueued, 1,
            "the first plan's count: it coalesced into their job"
        );
        assert_eq!(queued(&store), vec![15], "the job carries the stock as it is now");
    }

    #[test]
    fn a_plan_nobody_overtook_is_enqueued_once() {
        let store = store();
        let counts = plan_skus_observed(&store, &["A", "GONE"], Audience::default(), T0, &mut |_| Ok(())).unwrap();
        assert_eq!((counts.skus, counts.skipped, counts.enqueued), (1, 1, 1));
        assert_eq!(queued(&store), vec![10]);
    }
}
