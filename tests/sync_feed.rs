//! Amazon `JSON_LISTINGS_FEED` through the queue runner, end to end against the loopback fake:
//! which jobs go by feed and which by single patch, settlement from the processing report
//! (refused messages die, the others complete), a feed the channel is slow with (its jobs stay
//! held, a sale meanwhile waits and lands after it), FATAL, CANCELLED, a feed-level issue, a
//! createFeed that got no answer, and a gzip report. Runner time is a [`ManualClock`] moved with
//! the fake's clock.

mod fakes;
mod sync_support;

use std::time::Duration;

use fakes::amazon::{AmazonFake, FeedTwist, MARKETPLACE, START, TOKEN_PATH};
use inventory_sync::channels::amazon::{Amazon, AmazonConfig, FEEDS_PER_WINDOW, MAX_FEED_MESSAGES};
use inventory_sync::channels::oauth2::{Clock as TokenClock, RefreshCredentials};
use inventory_sync::channels::{Channel, Secret};
use inventory_sync::ledger::{
    ChannelConfig, ChannelInput, ChannelType, FeedState, ItemInput, JobStatus, LedgerStore, Location, MovementKind,
    MovementRequest, SqliteLedger,
};
use inventory_sync::sync::feeds::{FEED_CLAIM_SECONDS, UNANSWERED_SECONDS};
use inventory_sync::sync::{self, AdapterFactory, Clock, ManualClock, RunOptions, RunReport};
use inventory_sync::{Error, Result};
use sync_support::{allocations, jobs_with, open_count};

const SELLER: &str = "A2SELLERFEED01";
const CLIENT_ID: &str = "amzn1.application-oa2-client.feeds";
const CLIENT_SECRET: &str = "amzn1.oa2-cs.v1.feeds-secret";
const REFRESH: &str = "Atzr|IwEBIfeeds";
const KEY: &str = "amazon-us";
const TYPE: &str = "LUGGAGE";

fn sku(i: usize) -> String {
    format!("F{i:05}")
}

/// Builds the Amazon adapter from the channel's settings, on the fake's token clock.
struct AmazonFactory {
    clock: TokenClock,
    http: inventory_sync::channels::http::HttpConfig,
}

impl AdapterFactory for AmazonFactory {
    fn adapter(&self, channel: &ChannelConfig) -> Result<Option<Box<dyn Channel>>> {
        let settings = channel.settings_json()?;
        let text = |key: &str| settings.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let endpoint = text("endpoint").ok_or_else(|| Error::validation("settings.endpoint", "is required"))?;
        let credentials =
            RefreshCredentials::new(Secret::new(CLIENT_ID), Secret::new(CLIENT_SECRET), Secret::new(REFRESH));
        let mut config = AmazonConfig::new(endpoint.clone(), SELLER, MARKETPLACE, credentials);
        config.lwa_url = format!("{endpoint}{TOKEN_PATH}");
        config.product_type = text("product_type");
        if let Some(threshold) = settings.get("feed_threshold").and_then(|v| v.as_u64()) {
            config.feed_threshold = threshold as usize;
        }
        config.http = self.http.clone();
        config.now = self.clock.clone();
        Ok(Some(Box::new(Amazon::new(config)?)))
    }
}

/// A ledger with `count` items at WH1 (quantities 5 + i % 40), an Amazon channel on `fake` with
/// every SKU listed there at 0, and the runner's clock at the fake's time.
struct World {
    fake: AmazonFake,
    store: SqliteLedger,
    clock: ManualClock,
    factory: AmazonFactory,
}

impl World {
    fn new(count: usize, product_type: Option<&str>, threshold: u64) -> World {
        let fake = AmazonFake::new(SELLER, CLIENT_ID, CLIENT_SECRET, REFRESH);
        let clock = ManualClock::at_ms(START * 1000);
        let store = SqliteLedger::open_in_memory().unwrap();
        let now = clock.now();
        store
            .upsert_location(
                &Location {
                    code: "WH1".into(),
                    name: "WH1".into(),
                    priority: 0,
                    active: true,
                },
                now,
            )
            .unwrap();
        let mut receipts = Vec::new();
        for i in 0..count {
            store
                .upsert_item(
                    &ItemInput {
                        sku: sku(i),
                        name: format!("Item {i}"),
                        ..ItemInput::default()
                    },
                    now,
                )
                .unwrap();
            receipts.push(
                MovementRequest::new(format!("r-{i}"), sku(i), MovementKind::Receive, 5 + (i as i64 % 40)).at("WH1"),
            );
            fake.add_listing(&sku(i), TYPE, 0);
        }
        for chunk in receipts.chunks(1000) {
            for result in store.record_batch(chunk, now).unwrap() {
                result.unwrap();
            }
        }
        let mut settings = serde_json::json!({ "endpoint": fake.url(), "feed_threshold": threshold });
        if let Some(t) = product_type {
            settings["product_type"] = t.into();
        }
        let mut input = ChannelInput::new(KEY, ChannelType::Amazon, "Amazon US");
        input.settings = settings.to_string();
        input.batch_size = 1;
        store.save_channel(&input, now).unwrap();
        let factory = AmazonFactory {
            clock: fake.clock(),
            http: fakes::fast_http(),
        };
        World {
            fake,
            store,
            clock,
            factory,
        }
    }

    fn run(&self, name: &str) -> RunReport {
        sync::run_queue(&self.store, &self.factory, &RunOptions::new(name), &self.clock).unwrap()
    }

    /// Moves both clocks.
    fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
        self.fake.advance(seconds as i64);
    }

    fn allocation(&self, sku: &str) -> i64 {
        allocations(&self.store, sku)[KEY]
    }

    fn feed(&self) -> inventory_sync::ledger::Feed {
        self.store.recent_feeds(Some(KEY), 1).unwrap().remove(0)
    }

    fn patches(&self) -> usize {
        self.fake.patches().len()
    }
}

#[test]
fn a_large_backlog_goes_in_one_feed_and_is_settled_from_the_report() {
    let world = World::new(1200, Some(TYPE), 250);
    let refused = [sku(7), sku(700)];
    for s in &refused {
        world.fake.fail_sku(s, "8541");
    }
    let planned = sync::full(&world.store, world.clock.now()).unwrap();
    assert_eq!(planned.counts.enqueued, 1200);

    let report = world.run("r1");
    let channel = &report.per_channel[KEY];
    assert_eq!((channel.feeds, channel.in_feeds), (1, 1200), "{report:?}");
    assert_eq!(
        (channel.pushed, channel.accepted, channel.dead),
        (1198, 1198, 2),
        "{report:?}"
    );
    assert_eq!(world.patches(), 0, "no single patch for a feed's jobs");
    // createFeedDocument, upload, createFeed, getFeed, getFeedDocument, download (+ the token).
    assert_eq!(
        world
            .fake
            .feed_calls()
            .iter()
            .map(|c| c.split(' ').next().unwrap())
            .collect::<Vec<_>>(),
        ["POST", "PUT", "POST", "GET", "GET", "GET"],
        "{:?}",
        world.fake.feed_calls()
    );
    assert_eq!(channel.calls, 7, "six feed calls and one token request: {report:?}");

    // Every SKU shows its allocation but the two refused ones, whose jobs are dead with the
    // channel's code and message; one write each, nothing twice.
    for i in 0..1200 {
        let s = sku(i);
        if refused.contains(&s) {
            assert_eq!(world.fake.writes(&s), Vec::<i64>::new());
        } else {
            assert_eq!(world.fake.writes(&s), [world.allocation(&s)], "{s}");
        }
    }
    let dead = jobs_with(&world.store, JobStatus::Dead);
    assert_eq!(dead.len(), 2);
    for job in &dead {
        let error = job.last_error.as_deref().unwrap_or_default();
        assert_eq!(error, "Amazon refused the quantity: fake refusal 8541");
    }
    assert_eq!(open_count(&world.store), 0);
    let feed = world.feed();
    assert_eq!(
        (
            feed.state,
            feed.messages,
            feed.applied,
            feed.refused,
            feed.processing_status.as_deref()
        ),
        (FeedState::Done, 1200, 1198, 2, Some("DONE"))
    );
    assert!(feed.remote_id.is_some() && feed.finished_at.is_some());
    // The listings keep the remote id the feed used.
    let listing = world.store.listing(KEY, &sku(1)).unwrap().unwrap();
    assert_eq!(listing.remote_id.as_deref(), Some("F00001|LUGGAGE"));
    assert_eq!(listing.last_pushed_quantity, Some(world.allocation(&sku(1))));

    // The next change of 250 SKUs or fewer goes by single patches.
    let sales: Vec<MovementRequest> = (0..40)
        .map(|i| MovementRequest::new(format!("s-{i}"), sku(i * 3), MovementKind::Sale, 1).at("WH1"))
        .collect();
    for result in world.store.record_batch(&sales, world.clock.now()).unwrap() {
        result.unwrap();
    }
    let changed: Vec<String> = (0..40).map(|i| sku(i * 3)).collect();
    let refs: Vec<&str> = changed.iter().map(String::as_str).collect();
    sync::sync_skus(&world.store, &refs, None, world.clock.now()).unwrap();
    let report = world.run("r2");
    assert_eq!((report.per_channel[KEY].feeds, report.pushed), (0, 40), "{report:?}");
    assert_eq!(world.fake.feeds().len(), 1);
    assert_eq!(world.patches(), 40);
    for s in &changed {
        assert_eq!(world.fake.writes(s).last().copied(), Some(world.allocation(s)), "{s}");
    }
}

#[test]
fn skus_without_a_known_product_type_go_by_single_patch_and_the_threshold_counts_feedable_jobs() {
    // No product type configured: nothing is feedable at first, so 300 jobs go by PATCH (each
    // looking its type up); once the types are stored, the next full sync goes in a feed.
    let world = World::new(300, None, 250);
    sync::full(&world.store, world.clock.now()).unwrap();
    let report = world.run("r1");
    assert_eq!((report.per_channel[KEY].feeds, report.pushed), (0, 300), "{report:?}");
    assert_eq!(world.patches(), 300);
    assert!(world.fake.feeds().is_empty());

    let receipts: Vec<MovementRequest> = (0..300)
        .map(|i| MovementRequest::new(format!("more-{i}"), sku(i), MovementKind::Receive, 2).at("WH1"))
        .collect();
    for result in world.store.record_batch(&receipts, world.clock.now()).unwrap() {
        result.unwrap();
    }
    sync::full(&world.store, world.clock.now()).unwrap();
    let report = world.run("r2");
    assert_eq!(
        (report.per_channel[KEY].feeds, report.per_channel[KEY].in_feeds),
        (1, 300),
        "{report:?}"
    );
    assert_eq!(world.patches(), 300, "no more single patches");
    for i in 0..300 {
        let s = sku(i);
        assert_eq!(world.fake.writes(&s).len(), 2);
        assert_eq!(world.fake.writes(&s).last().copied(), Some(world.allocation(&s)));
    }

    // A threshold of 0 never sends a feed.
    let world = World::new(300, Some(TYPE), 0);
    sync::full(&world.store, world.clock.now()).unwrap();
    let report = world.run("r1");
    assert_eq!(
        (report.per_channel[KEY].feeds, report.pushed, world.patches()),
        (0, 300, 300)
    );
}

#[test]
fn a_slow_feed_keeps_its_jobs_and_a_sale_meanwhile_lands_after_it() {
    let world = World::new(400, Some(TYPE), 250);
    world.fake.feed_polls(4);
    sync::full(&world.store, world.clock.now()).unwrap();
    let report = world.run("r1");
    assert_eq!(
        (report.per_channel[KEY].in_feeds, report.pushed),
        (400, 0),
        "{report:?}"
    );
    let feed = world.feed();
    assert_eq!(
        (feed.state, feed.processing_status.as_deref(), feed.polls),
        (FeedState::Submitted, Some("IN_PROGRESS"), 1)
    );
    assert_eq!(feed.next_poll_at, world.clock.now() + 30);

    // A sale of F00009 while Amazon works: a new job waits beside the feed's.
    let s = sku(9);
    let before = world.allocation(&s);
    world
        .store
        .record(
            &MovementRequest::new("sale-9", s.clone(), MovementKind::Sale, 2).at("WH1"),
            world.clock.now(),
        )
        .unwrap();
    sync::sync_skus(&world.store, &[s.as_str()], None, world.clock.now()).unwrap();
    assert_eq!(world.allocation(&s), before - 2);

    // Runs before the poll is due ask nothing and push nothing of it; hours later (past any
    // ordinary claim) the feed's jobs are still its own: extended at every poll.
    let report = world.run("r2");
    assert_eq!(
        (report.pushed, world.patches()),
        (0, 0),
        "the sale waits for the feed: {report:?}"
    );
    assert_eq!(world.feed().polls, 1, "not due yet");
    world.advance(30);
    world.run("r3");
    assert_eq!(world.feed().polls, 2);
    world.advance(u64::from(FEED_CLAIM_SECONDS) - 10);
    world.run("r4");
    let held = world.store.jobs_held_by(&world.feed().owner(), 0, 1000).unwrap();
    assert_eq!(held.len(), 400, "nobody took the feed's jobs");
    assert!(held.iter().all(|j| j.claim_expires_at > Some(world.clock.now())));
    assert_eq!(world.fake.writes(&s), Vec::<i64>::new());

    // The last poll finds it done: settled, then the sale's job goes by PATCH in the same run.
    world.advance(300);
    let report = world.run("r5");
    assert_eq!(world.feed().state, FeedState::Done);
    assert_eq!(report.per_channel[KEY].pushed, 401, "{report:?}");
    assert_eq!(
        world.fake.writes(&s),
        [before, before - 2],
        "the newer value lands after the feed's"
    );
    assert_eq!(open_count(&world.store), 0);
}

#[test]
fn fatal_cancelled_and_feed_level_issues_push_again_and_never_leave_an_older_value() {
    // FATAL after half was applied: every job fails retryably, the next feed sets all again.
    let world = World::new(600, Some(TYPE), 250);
    world.fake.twist_next_feed(FeedTwist::Fatal);
    sync::full(&world.store, world.clock.now()).unwrap();
    let report = world.run("r1");
    assert_eq!((report.pushed, report.retried), (0, 600), "{report:?}");
    let feed = world.feed();
    assert_eq!((feed.state, feed.refused), (FeedState::Failed, 600));
    assert!(feed.last_error.as_deref().unwrap_or_default().contains("FATAL"));
    assert_eq!(world.fake.writes(&sku(0)).len(), 1, "the first half was applied");
    assert_eq!(world.fake.writes(&sku(599)).len(), 0);

    // The retry waits for its backoff, then a second feed gets everything.
    world.advance(7200);
    let report = world.run("r2");
    assert_eq!((report.per_channel[KEY].feeds, report.pushed), (1, 600), "{report:?}");
    for i in [0, 299, 300, 599] {
        let s = sku(i);
        let writes = world.fake.writes(&s);
        assert!(!writes.is_empty() && writes.len() <= 2, "{s}: {writes:?}");
        assert!(
            writes.iter().all(|w| *w == world.allocation(&s)),
            "only the one value: {writes:?}"
        );
    }

    // CANCELLED: nothing was applied; the jobs are released (attempts given back) and the same
    // run sends them again, in a new feed.
    let world = World::new(300, Some(TYPE), 250);
    world.fake.twist_next_feed(FeedTwist::Cancel);
    world.fake.feed_polls(2);
    sync::full(&world.store, world.clock.now()).unwrap();
    world.run("r1");
    let first = world.feed();
    assert_eq!(first.state, FeedState::Submitted);
    world.fake.feed_polls(0);
    world.advance(30);
    let report = world.run("r2");
    assert_eq!(
        world.store.get_feed(first.id).unwrap().unwrap().state,
        FeedState::Cancelled
    );
    assert_eq!(
        (report.per_channel[KEY].feeds, report.pushed, report.failed),
        (1, 300, 0),
        "{report:?}"
    );
    assert_eq!(world.fake.feeds().len(), 2);
    assert_eq!(world.patches(), 0);
    assert_eq!(world.fake.writes(&sku(3)), [world.allocation(&sku(3))]);
    let done = jobs_with(&world.store, JobStatus::Done);
    assert!(
        done.iter().all(|j| j.attempts == 1),
        "the cancelled feed's attempt was given back"
    );

    // An ERROR issue naming no message: the whole feed is in doubt, every job retried.
    let world = World::new(300, Some(TYPE), 250);
    world.fake.twist_next_feed(FeedTwist::FeedIssue);
    sync::full(&world.store, world.clock.now()).unwrap();
    let report = world.run("r1");
    assert_eq!((report.pushed, report.retried), (0, 300), "{report:?}");
    assert!(world
        .feed()
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("problem with the whole feed"));
    world.advance(7200);
    world.run("r2");
    assert_eq!(open_count(&world.store), 0);
}

#[test]
fn a_create_feed_without_an_answer_is_found_or_released_and_reports_may_be_gzip() {
    // The connection drops after Amazon created the feed: the feed stays `submitting`, its jobs
    // held; 10 minutes on, getFeeds shows a feed we do not know, finished: the jobs are pushed
    // again (after whatever that feed applied).
    let world = World::new(300, Some(TYPE), 250);
    world.fake.twist_next_feed(FeedTwist::DropAnswer);
    sync::full(&world.store, world.clock.now()).unwrap();
    let report = world.run("r1");
    assert_eq!(report.pushed, 0, "{report:?}");
    let feed = world.feed();
    assert_eq!((feed.state, feed.remote_id.as_deref()), (FeedState::Submitting, None));
    assert!(feed.last_error.as_deref().unwrap_or_default().contains("got no answer"));
    assert_eq!(world.store.jobs_held_by(&feed.owner(), 0, 1000).unwrap().len(), 300);
    world.run("r2");
    assert_eq!(world.feed().state, FeedState::Submitting, "not before 10 minutes");
    world.advance(UNANSWERED_SECONDS as u64);
    let report = world.run("r3");
    let orphan = world.store.get_feed(feed.id).unwrap().unwrap();
    assert_eq!(orphan.state, FeedState::Abandoned);
    assert_eq!(report.retried, 300, "{report:?}");
    world.advance(7200);
    world.fake.gzip_reports(true);
    let report = world.run("r4");
    assert_eq!(
        (report.per_channel[KEY].feeds, report.pushed),
        (1, 300),
        "a gzip report settles too: {report:?}"
    );
    for i in [0, 150, 299] {
        let s = sku(i);
        assert_eq!(world.fake.writes(&s), [world.allocation(&s); 2], "{s}");
    }
    assert_eq!(world.fake.feeds().len(), 2);

    // A submission that never reached Amazon (createFeedDocument refused with 500 after the
    // claims were handed over) fails retryably at once; nothing is left held.
    let world = World::new(300, Some(TYPE), 250);
    world.fake.misbehave(fakes::Misbehave::Status(500, None));
    sync::full(&world.store, world.clock.now()).unwrap();
    let report = world.run("r1");
    assert_eq!(report.retried, 300, "{report:?}");
    assert_eq!(world.feed().state, FeedState::Failed);
    assert!(world.fake.feeds().is_empty());
}

#[test]
fn at_most_five_feeds_start_in_five_minutes_then_single_patches_take_over() {
    // Six groups of 300 SKUs planned one group per run: five feeds, then the quota sends the
    // sixth group by single patch; five minutes on, feeds start again.
    let world = World::new(2100, Some(TYPE), 250);
    world.fake.feed_polls(1_000); // Amazon takes its time: every feed stays live.
    let group = |g: usize| -> Vec<String> { (g * 300..(g + 1) * 300).map(sku).collect() };
    let mut feeds = Vec::new();
    for g in 0..6 {
        let skus = group(g);
        let refs: Vec<&str> = skus.iter().map(String::as_str).collect();
        sync::sync_skus(&world.store, &refs, None, world.clock.now()).unwrap();
        let report = world.run(&format!("g{g}"));
        feeds.push(report.per_channel[KEY].feeds);
        world.advance(10);
    }
    assert_eq!(feeds, [1, 1, 1, 1, 1, 0]);
    assert_eq!(FEEDS_PER_WINDOW, 5);
    assert_eq!(world.fake.feeds().len(), 5);
    assert_eq!(world.patches(), 300, "the sixth group went by single patch");
    assert_eq!(world.store.live_feeds(Some(KEY)).unwrap().len(), 5);
    world.advance(300);
    let skus = group(6);
    let refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    sync::sync_skus(&world.store, &refs, None, world.clock.now()).unwrap();
    assert_eq!(world.run("g6").per_channel[KEY].feeds, 1);
    assert_eq!(MAX_FEED_MESSAGES, 25_000);
}

#[test]
fn a_backlog_of_several_feeds_goes_out_in_full_feeds_in_one_run() {
    // A full sync of two feeds' worth and 300 more: one run submits 25,000 + 25,000 + 300
    // messages (within the quota of five), none by single patch; nothing is left for the next.
    let count = 2 * MAX_FEED_MESSAGES + 300;
    let mut world = World::new(count, Some(TYPE), 250);
    // A 25,000-message feed takes the fake (unoptimised in a debug build) longer than the fast
    // timeouts the failure tests use.
    world.factory.http = inventory_sync::channels::http::HttpConfig::default();
    sync::full(&world.store, world.clock.now()).unwrap();
    let report = world.run("full");
    let channel = &report.per_channel[KEY];
    assert_eq!(channel.feeds, 3, "{channel:?}");
    assert_eq!(
        world.fake.feeds().iter().map(|f| f.messages).collect::<Vec<_>>(),
        [MAX_FEED_MESSAGES, MAX_FEED_MESSAGES, 300]
    );
    assert_eq!(world.patches(), 0);
    assert_eq!((channel.pushed, channel.accepted), (count as u64, count as u64));
    assert_eq!(open_count(&world.store), 0);
    for i in [0, MAX_FEED_MESSAGES - 1, MAX_FEED_MESSAGES, count - 1] {
        assert_eq!(
            world.fake.quantity(&sku(i)),
            Some(world.allocation(&sku(i))),
            "{}",
            sku(i)
        );
    }
    let next = world.run("next");
    assert_eq!((next.pushed, next.per_channel.get(KEY).map_or(0, |c| c.feeds)), (0, 0));
}
