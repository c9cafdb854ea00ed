//! The sync engine end to end against the loopback fakes: plan, enqueue, run the queue through
//! real adapters, with injected failures, an outage, and echo suppression. Time is a
//! [`ManualClock`], so backoff costs no real time.

mod fakes;
mod sync_support;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use fakes::shopify::ShopifyFake;
use fakes::woocommerce::WooFake;
use fakes::Misbehave;
use inventory_sync::inbound::{Headers, Provider};
use inventory_sync::intake::{self, IntakeOptions};
use inventory_sync::ledger::{
    AllocationSettings, ChannelInput, ChannelType, HistoryQuery, ItemInput, JobStatus, LedgerStore, Location,
    MovementKind, MovementRequest, SqliteLedger, SyncKind, SyncRunQuery,
};
use inventory_sync::stock::AllocationMode;
use inventory_sync::sync::{self, Clock, ManualClock, RunOptions};
use sync_support::{allocations, jobs_with, open_count, shopify_channel, woo_channel, Factory, SHOPIFY_TOKEN};
use sync_support::{WOO_KEY, WOO_SECRET};

const START_MS: i64 = 1_700_000_000_000;
const HOURS_2: Duration = Duration::from_secs(7200);

fn sku(i: usize) -> String {
    format!("S{i:04}")
}

fn factory() -> Factory {
    Factory {
        http: fakes::fast_http(),
    }
}

/// A ledger with locations WH1 and WH2 and `count` items with stock.
fn stocked_ledger(count: usize, now: i64) -> SqliteLedger {
    let store = SqliteLedger::open_in_memory().unwrap();
    for (priority, code) in ["WH1", "WH2"].iter().enumerate() {
        let location = Location {
            code: (*code).into(),
            name: (*code).into(),
            priority: priority as i64,
            active: true,
        };
        store.upsert_location(&location, now).unwrap();
    }
    let mut receipts = Vec::new();
    for i in 0..count {
        let input = ItemInput {
            sku: sku(i),
            name: format!("Item {i}"),
            ..ItemInput::default()
        };
        store.upsert_item(&input, now).unwrap();
        receipts.push(
            MovementRequest::new(
                format!("r1-{i}"),
                sku(i),
                MovementKind::Receive,
                10 + (i as i64 * 7) % 40,
            )
            .at("WH1"),
        );
        if i % 3 == 0 {
            receipts.push(
                MovementRequest::new(format!("r2-{i}"), sku(i), MovementKind::Receive, 1 + (i as i64 % 5)).at("WH2"),
            );
        }
    }
    for chunk in receipts.chunks(1000) {
        for result in store.record_batch(chunk, now).unwrap() {
            result.unwrap();
        }
    }
    store
}

/// What every channel shows for every SKU, by fake.
struct Fakes {
    shops: Vec<(String, ShopifyFake)>,
    woos: Vec<(String, WooFake)>,
}

impl Fakes {
    fn shown(&self, channel: &str, sku: &str) -> Option<i64> {
        if let Some((_, fake)) = self.shops.iter().find(|(k, _)| k == channel) {
            return fake.available(sku);
        }
        self.woos
            .iter()
            .find(|(k, _)| k == channel)
            .and_then(|(_, fake)| fake.stock(sku))
    }

    fn writes(&self, channel: &str, sku: &str) -> Vec<i64> {
        if let Some((_, fake)) = self.shops.iter().find(|(k, _)| k == channel) {
            return fake.writes(sku);
        }
        self.woos
            .iter()
            .find(|(k, _)| k == channel)
            .map(|(_, fake)| fake.writes(sku))
            .unwrap_or_default()
    }

    fn write_calls(&self, channel: &str) -> usize {
        if let Some((_, fake)) = self.shops.iter().find(|(k, _)| k == channel) {
            return fake.mutations().len();
        }
        self.woos
            .iter()
            .find(|(k, _)| k == channel)
            .map_or(0, |(_, fake)| fake.batch_calls().len())
    }
}

/// Runs the queue until nothing is open (moving the clock 2 h between runs so every backoff
/// has passed), at most `runs` times; returns how many runs it took.
fn drain(store: &SqliteLedger, clock: &ManualClock, runs: usize, label: &str) -> usize {
    for run in 1..=runs {
        let options = RunOptions::new(format!("{label}-{run}"));
        sync::run_queue(store, &factory(), &options, clock).unwrap();
        if open_count(store) == 0 {
            return run;
        }
        clock.advance(HOURS_2);
    }
    panic!(
        "{label}: jobs still open after {runs} runs: {:?}",
        store.job_counts(None).unwrap()
    );
}

#[test]
fn two_thousand_skus_reach_four_channels_through_failures_without_a_double_push() {
    const COUNT: usize = 2000;
    let clock = ManualClock::at_ms(START_MS);
    let store = stocked_ledger(COUNT, clock.now());
    let fakes = Fakes {
        shops: vec![
            ("shop-a".into(), ShopifyFake::new(SHOPIFY_TOKEN)),
            ("shop-b".into(), ShopifyFake::new(SHOPIFY_TOKEN)),
        ],
        woos: vec![
            ("woo-a".into(), WooFake::new(WOO_KEY, WOO_SECRET)),
            ("woo-b".into(), WooFake::new(WOO_KEY, WOO_SECRET)),
        ],
    };
    for i in 0..COUNT {
        for (_, fake) in &fakes.shops {
            fake.add_variant(&sku(i), 0);
        }
        for (_, fake) in &fakes.woos {
            fake.add_product(&sku(i), 0);
        }
    }
    // Shared with a buffer; two partitioned 2:1; shared at 50% with a minimum change.
    let mut shop_a = shopify_channel("shop-a", &fakes.shops[0].1.url());
    shop_a.allocation.buffer = 2;
    let mut shop_b = shopify_channel("shop-b", &fakes.shops[1].1.url());
    shop_b.allocation = AllocationSettings {
        mode: AllocationMode::Partitioned { weight: 2 },
        max: Some(30),
        ..AllocationSettings::default()
    };
    let mut woo_a = woo_channel("woo-a", &fakes.woos[0].1.url());
    woo_a.allocation.mode = AllocationMode::Partitioned { weight: 1 };
    let mut woo_b = woo_channel("woo-b", &fakes.woos[1].1.url());
    woo_b.allocation.percent = Some(50);
    woo_b.min_change = 3;
    woo_b.low_stock_level = 5;
    for input in [&shop_a, &shop_b, &woo_a, &woo_b] {
        store.save_channel(input, clock.now()).unwrap();
    }

    let full = sync::full(&store, clock.now()).unwrap();
    assert_eq!(
        (
            full.counts.skus,
            full.counts.planned,
            full.counts.first_pushes,
            full.counts.enqueued
        ),
        (2000, 8000, 8000, 8000)
    );

    // Failures: 429 with Retry-After then 503 on shop-a, a dropped connection on shop-b, a 502 on
    // woo-b, retryable per-item failures on woo-a, a permanent per-item refusal on shop-a (the
    // mutation applies nothing, the others are sent again).
    fakes.shops[0].1.misbehave(Misbehave::Status(429, Some("120".into())));
    fakes.shops[0].1.misbehave(Misbehave::Status(503, None));
    fakes.shops[1].1.misbehave(Misbehave::Drop);
    fakes.woos[1].1.misbehave(Misbehave::Status(502, None));
    let flaky: Vec<String> = (0..5).map(|i| sku(100 + i * 37)).collect();
    for s in &flaky {
        fakes.woos[0].1.fail_sku(s, "woocommerce_rest_cannot_edit", 500);
    }
    let refused = sku(5);
    fakes.shops[0].1.fail_sku(&refused, "INVALID_QUANTITY");

    let first = sync::run_queue(&store, &factory(), &RunOptions::new("first"), &clock).unwrap();
    assert!(first.failed > 0 && first.pushed > 0, "{first:?}");
    let retry_after_job = jobs_with(&store, JobStatus::Pending)
        .into_iter()
        .find(|j| j.channel == "shop-a" && j.attempts == 1)
        .expect("shop-a's first batch waits after the 429");
    assert!(
        retry_after_job.next_attempt_at >= clock.now() + 120,
        "Retry-After honoured: {retry_after_job:?}"
    );

    // Sales and receipts while the queue drains: 300 SKUs change, some twice.
    clock.advance(HOURS_2);
    let mut changes = Vec::new();
    for i in (0..COUNT).step_by(6).take(300) {
        changes
            .push(MovementRequest::new(format!("sale-{i}"), sku(i), MovementKind::Sale, 1 + (i as i64 % 4)).at("WH1"));
        if i % 2 == 0 {
            changes.push(MovementRequest::new(format!("recv-{i}"), sku(i), MovementKind::Receive, 3).at("WH2"));
        }
    }
    for result in store.record_batch(&changes, clock.now()).unwrap() {
        result.unwrap();
    }
    let changed: Vec<String> = (0..COUNT).step_by(6).take(300).map(sku).collect();
    let refs: Vec<&str> = changed.iter().map(String::as_str).collect();
    let planned = sync::sync_skus(&store, &refs, None, clock.now()).unwrap();
    assert_eq!(planned.skus, 300);
    assert!(
        planned.planned > 0 && planned.held_back > 0,
        "woo-b's minimum change holds small changes back: {planned:?}"
    );

    sync::run_queue(&store, &factory(), &RunOptions::new("second"), &clock).unwrap();
    for s in &flaky {
        fakes.woos[0].1.unfail_sku(s);
    }
    clock.advance(HOURS_2);
    drain(&store, &clock, 20, "drain");

    // The permanent refusal is a dead letter with a readable reason; nothing else died.
    let dead = jobs_with(&store, JobStatus::Dead);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        (dead[0].channel.as_str(), dead[0].sku.as_str()),
        ("shop-a", refused.as_str())
    );
    assert!(dead[0]
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("fake refusal INVALID_QUANTITY"));
    // Fixed there, retried by the owner: it drains too.
    fakes.shops[0].1.unfail_sku(&refused);
    assert_eq!(store.retry_all(Some("shop-a"), clock.now()).unwrap(), 1);
    drain(&store, &clock, 3, "after-retry");

    // Every channel shows its allocation; woo-b may show a held-back value within its minimum
    // change, never when at or below its low-stock level.
    for i in 0..COUNT {
        let s = sku(i);
        for (channel, expected) in allocations(&store, &s) {
            let shown = fakes.shown(&channel, &s).unwrap();
            if channel == "woo-b" && shown != expected {
                // Held back by the minimum change: a small difference, and never more than the
                // allocation once that is at the low-stock level or 0.
                assert!(
                    (shown - expected).abs() < 3,
                    "{channel} {s}: shows {shown}, allocation {expected}"
                );
                assert!(
                    !(shown > expected && expected <= 5),
                    "{channel} {s}: shows {shown}, allocation {expected}"
                );
            } else {
                assert_eq!(shown, expected, "{channel} {s}");
            }
        }
    }

    // No job was pushed twice after its success: every applied write is one completed job, and
    // no pair got the same value twice in a row.
    let mut done: HashMap<(String, String), usize> = HashMap::new();
    for job in jobs_with(&store, JobStatus::Done) {
        *done.entry((job.channel, job.sku)).or_default() += 1;
    }
    let mut writes_total = 0;
    for i in 0..COUNT {
        let s = sku(i);
        for channel in ["shop-a", "shop-b", "woo-a", "woo-b"] {
            let writes = fakes.writes(channel, &s);
            writes_total += writes.len();
            assert_eq!(
                writes.len(),
                done.get(&(channel.to_owned(), s.clone())).copied().unwrap_or(0),
                "{channel} {s}: {writes:?}"
            );
            assert!(
                writes.windows(2).all(|w| w[0] != w[1]),
                "{channel} {s}: pushed twice: {writes:?}"
            );
        }
    }
    assert!(writes_total >= 8000);

    // Write requests against the minimum: ceil(jobs / batch) per channel, plus a few for the
    // failed batches and the SKUs that changed later.
    let mut report = BTreeMap::new();
    for (channel, batch) in [("shop-a", 250usize), ("shop-b", 250), ("woo-a", 100), ("woo-b", 100)] {
        let jobs_done = done
            .iter()
            .filter(|((c, _), _)| c == channel)
            .map(|(_, n)| n)
            .sum::<usize>();
        let minimum = jobs_done.div_ceil(batch);
        let calls = fakes.write_calls(channel);
        report.insert(channel, (jobs_done, minimum, calls));
        assert!(
            calls >= minimum && calls <= minimum + 8,
            "{channel}: {calls} write calls for {jobs_done} jobs (minimum {minimum})"
        );
    }
    println!("write calls per channel (jobs done, minimum, actual): {report:?}");

    // Every run was recorded.
    let runs = store
        .list_sync_runs(&SyncRunQuery {
            kind: Some(SyncKind::Queue),
            limit: 100,
            ..SyncRunQuery::default()
        })
        .unwrap();
    let pushed: u64 = runs.runs.iter().map(|r| r.counts.pushed).sum();
    assert_eq!(pushed as usize, done.values().sum::<usize>());
}

#[test]
fn a_channel_that_is_down_keeps_its_jobs_with_backoff_and_the_others_go_on() {
    const COUNT: usize = 300;
    let clock = ManualClock::at_ms(START_MS);
    let store = stocked_ledger(COUNT, clock.now());
    let up = ShopifyFake::new(SHOPIFY_TOKEN);
    let down = WooFake::new(WOO_KEY, WOO_SECRET);
    for i in 0..COUNT {
        up.add_variant(&sku(i), 0);
        down.add_product(&sku(i), 0);
    }
    store
        .save_channel(&shopify_channel("up", &up.url()), clock.now())
        .unwrap();
    store
        .save_channel(&woo_channel("down", &down.url()), clock.now())
        .unwrap();
    sync::full(&store, clock.now()).unwrap();

    down.set_outage(Some(Misbehave::Status(503, None)));
    let first = sync::run_queue(&store, &factory(), &RunOptions::new("outage-1"), &clock).unwrap();
    assert_eq!(first.per_channel["up"].pushed, COUNT as u64);
    let down_report = &first.per_channel["down"];
    assert_eq!(
        (down_report.pushed, down_report.failed, down_report.batches),
        (0, 100, 1),
        "{down_report:?}"
    );
    assert!(down_report.error.as_deref().unwrap_or_default().contains("unavailable"));
    // The failed batch backs off; the rest of the backlog keeps its place, untried.
    let pending = jobs_with(&store, JobStatus::Pending);
    assert_eq!(pending.len(), COUNT);
    assert_eq!(pending.iter().filter(|j| j.attempts == 1).count(), 100);
    assert!(pending
        .iter()
        .filter(|j| j.attempts == 1)
        .all(|j| j.next_attempt_at > clock.now() && j.last_error.as_deref().unwrap_or_default().contains("503")));

    // More runs while it stays down: it dies for nothing, loses nothing, and a sale still
    // reaches the channel that is up.
    down.set_outage(Some(Misbehave::Drop));
    for run in 2..=4 {
        clock.advance(HOURS_2);
        store
            .record(
                &MovementRequest::new(format!("sale-{run}"), sku(run), MovementKind::Sale, 1).at("WH1"),
                clock.now(),
            )
            .unwrap();
        sync::sync_skus(&store, &[&sku(run)], None, clock.now()).unwrap();
        let report = sync::run_queue(&store, &factory(), &RunOptions::new(format!("outage-{run}")), &clock).unwrap();
        assert_eq!(report.per_channel["up"].pushed, 1, "run {run}");
        assert_eq!(report.per_channel["down"].pushed, 0);
        assert_eq!(store.job_counts(Some("down")).unwrap().dead, 0);
        assert_eq!(store.job_counts(Some("down")).unwrap().pending, COUNT as u64);
    }
    for i in 0..COUNT {
        let s = sku(i);
        assert_eq!(up.available(&s), Some(allocations(&store, &s)["up"]), "{s}");
        assert_eq!(down.stock(&s), Some(0), "nothing reached the channel that is down");
    }

    // It comes back: the backlog drains, with the latest quantities.
    down.set_outage(None);
    clock.advance(HOURS_2);
    let runs = drain(&store, &clock, 3, "back");
    assert_eq!(runs, 1, "one run drains 300 jobs in batches of 100");
    for i in 0..COUNT {
        let s = sku(i);
        let expected = allocations(&store, &s);
        assert_eq!(down.stock(&s), Some(expected["down"]), "{s}");
        assert_eq!(down.writes(&s).len(), 1, "{s}: one write, the latest value");
    }
}

#[test]
fn a_sale_reported_by_one_channel_reaches_the_others_but_is_not_written_back() {
    const COUNT: usize = 20;
    let clock = ManualClock::at_ms(START_MS);
    let store = stocked_ledger(COUNT, clock.now());
    let origin = WooFake::new(WOO_KEY, WOO_SECRET);
    let others = (
        ShopifyFake::new(SHOPIFY_TOKEN),
        ShopifyFake::new(SHOPIFY_TOKEN),
        WooFake::new(WOO_KEY, WOO_SECRET),
    );
    let mut product_ids = Vec::new();
    for i in 0..COUNT {
        product_ids.push(origin.add_product(&sku(i), 0));
        others.0.add_variant(&sku(i), 0);
        others.1.add_variant(&sku(i), 0);
        others.2.add_product(&sku(i), 0);
    }
    // The key the intake files that store's reports under.
    let source = format!("{}/", origin.url());
    let a = format!("woocommerce_remote:{source}");
    store
        .save_channel(&woo_channel(&a, &origin.url()), clock.now())
        .unwrap();
    store
        .save_channel(&shopify_channel("b", &others.0.url()), clock.now())
        .unwrap();
    store
        .save_channel(&shopify_channel("c", &others.1.url()), clock.now())
        .unwrap();
    store
        .save_channel(&woo_channel("d", &others.2.url()), clock.now())
        .unwrap();
    sync::full(&store, clock.now()).unwrap();
    drain(&store, &clock, 2, "initial");

    // A sale on A: A shows one less and tells us so.
    let target = sku(3);
    let before = allocations(&store, &target)[&a];
    origin.set_stock(&target, before - 1);
    let body = serde_json::json!({
        "id": product_ids[3], "sku": target, "name": "Item 3", "manage_stock": true,
        "stock_quantity": before - 1, "date_modified_gmt": "2023-11-14T22:20:00"
    })
    .to_string();
    let headers = Headers::new([
        ("X-WC-Webhook-Source", source.as_str()),
        ("X-WC-Webhook-Topic", "product.updated"),
    ]);
    clock.advance(Duration::from_secs(60));
    let intake = intake::ingest(
        &store,
        Provider::WooCommerce,
        body.as_bytes(),
        &headers,
        IntakeOptions::default(),
        clock.now(),
    )
    .unwrap();
    assert_eq!(intake.recorded, 1, "the decrease is a sale: {intake:?}");
    let newest = store
        .history(&HistoryQuery {
            sku: Some(target.clone()),
            limit: 1,
            ..HistoryQuery::default()
        })
        .unwrap();
    assert_eq!(
        (newest.movements[0].kind, newest.movements[0].origin.as_deref()),
        (MovementKind::Sale, Some(a.as_str()))
    );

    let planned = sync::sync_skus(&store, &[&target], Some(&a), clock.now()).unwrap();
    assert_eq!((planned.planned, planned.echoes), (3, 1), "{planned:?}");
    let open: Vec<String> = store
        .open_jobs(&[&target])
        .unwrap()
        .into_iter()
        .map(|j| j.channel)
        .collect();
    assert_eq!(open, ["b", "c", "d"]);

    let writes_to_a = origin.writes(&target).len();
    drain(&store, &clock, 2, "after-sale");
    let expected = allocations(&store, &target);
    assert_eq!(expected[&a], before - 1);
    assert_eq!(origin.stock(&target), Some(before - 1));
    assert_eq!(origin.writes(&target).len(), writes_to_a, "nothing written back to A");
    assert_eq!(others.0.available(&target), Some(expected["b"]));
    assert_eq!(others.1.available(&target), Some(expected["c"]));
    assert_eq!(others.2.stock(&target), Some(expected["d"]));
    assert_eq!(expected["b"], before - 1);
}

#[test]
fn test_connection_asks_for_a_few_skus_and_reports_refused_credentials() {
    let store = stocked_ledger(8, START_MS / 1000);
    let shop = ShopifyFake::new(SHOPIFY_TOKEN);
    shop.add_variant(&sku(0), 3);
    shop.add_variant(&sku(2), 3);
    store.save_channel(&shopify_channel("shop", &shop.url()), 1).unwrap();
    let report = sync::probe::test_connection(&store, &factory(), "shop").unwrap();
    assert_eq!(report.verdict, sync::probe::Verdict::Connected);
    assert_eq!(
        report.asked,
        (0..5).map(sku).collect::<Vec<_>>(),
        "the ledger's first SKUs"
    );
    let found: Vec<&str> = report.found.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(found, [sku(0), sku(2)]);
    assert_eq!(report.message, "connected: 2 of 5 SKUs asked for are listed there");
    assert_eq!(shop.mutations().len(), 0, "a test writes nothing");
    assert_eq!(shop.lookups(), 1, "one lookup call for the five SKUs");

    shop.misbehave(Misbehave::Status(401, None));
    let refused = sync::probe::test_connection(&store, &factory(), "shop").unwrap();
    assert_eq!(refused.verdict, sync::probe::Verdict::Failed);
    assert!(refused.message.contains("401"), "{}", refused.message);
    assert!(!refused.message.contains(SHOPIFY_TOKEN), "no credential in the message");

    let missing = sync::probe::test_connection(&store, &factory(), "nope").unwrap_err();
    assert_eq!(missing.kind(), inventory_sync::error::ErrorKind::NotFound);
}

#[test]
fn auto_map_keeps_the_remote_ids_the_channel_lists_for_unmapped_skus() {
    let store = stocked_ledger(8, START_MS / 1000);
    let shop = ShopifyFake::new(SHOPIFY_TOKEN);
    let tee = shop.add_variant(&sku(1), 3);
    let mug = shop.add_variant(&sku(6), 3);
    store.save_channel(&shopify_channel("shop", &shop.url()), 1).unwrap();
    assert_eq!(store.unmapped_skus("shop", None, 100).unwrap().len(), 8);

    // A limit of 5: the first five SKUs, one of them listed; more remain.
    let first = sync::probe::auto_map(&store, &factory(), "shop", 5, 10).unwrap();
    assert_eq!((first.asked, first.mapped, first.more), (5, 1, true));
    assert_eq!(first.missing, [sku(0), sku(2), sku(3), sku(4)]);
    let second = sync::probe::auto_map(&store, &factory(), "shop", 100, 11).unwrap();
    assert_eq!(
        (second.asked, second.mapped, second.more),
        (7, 1, false),
        "the mapped one is not asked again"
    );
    let remote = |s: usize| store.listing("shop", &sku(s)).unwrap().unwrap().remote_id.unwrap();
    assert!(remote(1).starts_with(&tee), "{} for {tee}", remote(1));
    assert!(remote(6).starts_with(&mug), "{} for {mug}", remote(6));
    let unmapped = store.unmapped_skus("shop", None, 100).unwrap();
    assert_eq!(unmapped, [0, 2, 3, 4, 5, 7].map(sku));
    assert_eq!(shop.mutations().len(), 0, "mapping writes nothing to the channel");

    let local = ChannelInput::new("here", ChannelType::WooCommerceLocal, "This store");
    store.save_channel(&local, 12).unwrap();
    let refused = sync::probe::auto_map(&store, &factory(), "here", 10, 13).unwrap_err();
    assert!(refused.to_string().contains("this store's own products"), "{refused}");
    assert_eq!(
        sync::probe::auto_map(&store, &factory(), "nope", 10, 13)
            .unwrap_err()
            .kind(),
        inventory_sync::error::ErrorKind::NotFound
    );
}
