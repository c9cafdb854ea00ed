//! Incremental sync, reconciliation and pull through the store (and a fake remote store for
//! reading quantities back).

mod fakes;
mod sync_support;

use std::time::Duration;

use fakes::woocommerce::WooFake;
use inventory_sync::ledger::{
    ChannelInput, ChannelType, DriftQuery, ItemInput, LedgerStore, Location, MovementKind, MovementRequest,
    SqliteLedger, SyncKind, SyncRunQuery,
};
use inventory_sync::stock::AllocationMode;
use inventory_sync::sync::{self, Clock, ManualClock, RunOptions, INCREMENTAL_CURSOR};
use sync_support::{allocations, open_count, woo_channel, Factory, WOO_KEY, WOO_SECRET};

const START_MS: i64 = 1_700_000_000_000;

fn sku(i: usize) -> String {
    format!("E{i:03}")
}

fn ledger(count: usize, now: i64) -> SqliteLedger {
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
    for i in 0..count {
        // Every item is a product of this store, so the local channel is planned for it.
        let input = ItemInput {
            sku: sku(i),
            name: sku(i),
            product_id: Some(1000 + i as i64),
            ..ItemInput::default()
        };
        store.upsert_item(&input, now).unwrap();
        store
            .record(
                &MovementRequest::new(format!("r-{i}"), sku(i), MovementKind::Receive, 10 + i as i64).at("WH1"),
                now,
            )
            .unwrap();
    }
    store
}

fn pending(store: &SqliteLedger, channel: &str) -> u64 {
    store.job_counts(Some(channel)).unwrap().pending
}

fn local_channel() -> ChannelInput {
    ChannelInput::new("local", ChannelType::WooCommerceLocal, "This store")
}

#[test]
fn the_local_channel_is_planned_only_for_items_linked_to_a_store_product() {
    let now = 1_700_000_000;
    let store = ledger(3, now);
    store.save_channel(&local_channel(), now).unwrap();
    store
        .save_channel(&ChannelInput::new("erp", ChannelType::Webhook, "ERP"), now)
        .unwrap();
    // Sold through the ERP only: no product in this store.
    let elsewhere = ItemInput {
        sku: "ERP-ONLY".into(),
        name: "Sold elsewhere".into(),
        ..ItemInput::default()
    };
    store.upsert_item(&elsewhere, now).unwrap();
    store
        .record(
            &MovementRequest::new("r-erp", "ERP-ONLY", MovementKind::Receive, 4).at("WH1"),
            now,
        )
        .unwrap();
    sync::full(&store, now).unwrap();
    assert_eq!(
        store.job_counts(Some("local")).unwrap().pending,
        3,
        "the three store products"
    );
    assert_eq!(store.job_counts(Some("erp")).unwrap().pending, 4, "every SKU");

    // Once linked (the product was made in the store), the next plan includes it.
    store
        .upsert_item(
            &ItemInput {
                product_id: Some(77),
                ..elsewhere
            },
            now + 1,
        )
        .unwrap();
    sync::full(&store, now + 1).unwrap();
    assert_eq!(store.job_counts(Some("local")).unwrap().pending, 4);
}

#[test]
fn each_channel_s_view_of_a_sku_explains_its_number_and_shows_what_is_queued() {
    let now = 1_700_000_000;
    let store = ledger(1, now);
    store.save_channel(&local_channel(), now).unwrap();
    let mut erp = ChannelInput::new("erp", ChannelType::Webhook, "ERP");
    erp.allocation.buffer = 3;
    store.save_channel(&erp, now).unwrap();
    sync::full(&store, now).unwrap();
    let views = inventory_sync::sync::explain::channel_views(&store, &sku(0)).unwrap();
    let summary: Vec<(&str, i64, Option<i64>, Option<i64>)> = views
        .iter()
        .map(|v| (v.channel.as_str(), v.quantity, v.shown, v.queued))
        .collect();
    assert_eq!(summary, [("local", 10, None, Some(10)), ("erp", 7, None, Some(7))]);
    assert_eq!(views[1].explanation, "available 10 (WH1 10) − buffer 3 = 7");
    assert_eq!(views[1].kind, "webhook");
    let unknown = inventory_sync::sync::explain::channel_views(&store, "NOPE").unwrap_err();
    assert_eq!(unknown.kind(), inventory_sync::error::ErrorKind::NotFound);
}

#[test]
fn sync_now_for_one_channel_queues_that_channel_only_at_its_share_of_every_channel() {
    let now = 1_700_000_000;
    let store = ledger(2, now);
    // Two partitioned channels share E000's 10 units 1:1; the off channel takes no share.
    for key in ["shop", "erp"] {
        let mut channel = ChannelInput::new(key, ChannelType::Webhook, key);
        channel.allocation.mode = AllocationMode::Partitioned { weight: 1 };
        store.save_channel(&channel, now).unwrap();
    }
    let mut off = ChannelInput::new("off", ChannelType::Webhook, "Off");
    off.enabled = false;
    store.save_channel(&off, now).unwrap();

    let counts = sync::sync_skus_to(&store, &[&sku(0), &sku(1), "NOPE"], "erp", now).unwrap();
    assert_eq!(
        (counts.skus, counts.skipped, counts.planned, counts.enqueued),
        (2, 1, 2, 2)
    );
    assert_eq!(pending(&store, "erp"), 2);
    assert_eq!(pending(&store, "shop"), 0, "another channel got jobs");
    let desired: Vec<i64> = store.open_jobs(&[&sku(0)]).unwrap().iter().map(|j| j.desired).collect();
    assert_eq!(desired, [5], "the erp's share counts the other partitioned channel");

    for refused in ["off", "unknown"] {
        let error = sync::sync_skus_to(&store, &[&sku(0)], refused, now).unwrap_err();
        assert_eq!(error.kind(), inventory_sync::error::ErrorKind::NotFound, "{refused}");
    }
    assert_eq!(pending(&store, "off"), 0);
    // Every channel after all: the erp's jobs are already queued, the shop gets its own.
    let all = sync::sync_skus(&store, &[&sku(0), &sku(1)], None, now).unwrap();
    assert_eq!((all.planned, all.unchanged, all.enqueued), (2, 2, 2));
    assert_eq!(pending(&store, "shop"), 2);
}

#[test]
fn incremental_sync_plans_what_changed_since_its_cursor() {
    let now = 1_700_000_000;
    let store = ledger(10, now);
    store.save_channel(&local_channel(), now).unwrap();
    let full = sync::full(&store, now).unwrap();
    assert_eq!((full.counts.planned, full.counts.enqueued), (10, 10));

    // The first incremental run sees every SKU (cursor 0); their jobs already carry the values.
    let first = sync::incremental(&store, now + 1).unwrap();
    assert_eq!(
        (first.counts.skus, first.counts.planned, first.counts.unchanged),
        (10, 0, 10)
    );
    let cursor = first.cursor.unwrap();
    assert_eq!(store.sync_state(INCREMENTAL_CURSOR).unwrap(), Some(cursor.to_string()));

    for i in [2, 7] {
        store
            .record(
                &MovementRequest::new(format!("sale-{i}"), sku(i), MovementKind::Sale, 3),
                now + 2,
            )
            .unwrap();
    }
    let second = sync::incremental(&store, now + 3).unwrap();
    assert_eq!(
        (second.counts.skus, second.counts.planned, second.counts.enqueued),
        (2, 2, 2)
    );
    assert!(second.cursor.unwrap() > cursor);
    let pending = store.open_jobs(&[&sku(2)]).unwrap();
    assert_eq!(
        pending[0].desired,
        10 + 2 - 3,
        "the pending job now carries the new quantity"
    );

    let third = sync::incremental(&store, now + 4).unwrap();
    assert_eq!((third.counts.skus, third.cursor), (0, second.cursor));
    let runs = store
        .list_sync_runs(&SyncRunQuery {
            kind: Some(SyncKind::Incremental),
            ..SyncRunQuery::default()
        })
        .unwrap();
    assert_eq!(runs.runs.len(), 3);
    assert_eq!(runs.runs[1].counts.planned, 2);

    // The local store's jobs are applied in PHP: the runner does not claim them.
    let clock = ManualClock::at_ms((now + 5) * 1000);
    let report = sync::run_queue(
        &store,
        &Factory {
            http: fakes::fast_http(),
        },
        &RunOptions::new("r"),
        &clock,
    )
    .unwrap();
    assert_eq!((report.pushed, report.failed), (0, 0));
    assert!(report.per_channel.is_empty(), "{report:?}");
    assert_eq!(store.job_counts(Some("local")).unwrap().pending, 10);
}

#[test]
fn reconciliation_records_what_channels_show_and_repairs_drift() {
    const COUNT: usize = 30;
    let clock = ManualClock::at_ms(START_MS);
    let store = ledger(COUNT, clock.now());
    let fake = WooFake::new(WOO_KEY, WOO_SECRET);
    for i in 0..COUNT {
        fake.add_product(&sku(i), 0);
    }
    store
        .save_channel(&woo_channel("woo", &fake.url()), clock.now())
        .unwrap();
    store.save_channel(&local_channel(), clock.now()).unwrap();
    sync::full(&store, clock.now()).unwrap();
    sync::run_queue(
        &store,
        &Factory {
            http: fakes::fast_http(),
        },
        &RunOptions::new("r1"),
        &clock,
    )
    .unwrap();
    assert_eq!(store.job_counts(Some("woo")).unwrap().done, COUNT as u64);

    // Someone edits the remote store by hand; meanwhile a sale is on its way to it.
    clock.advance(Duration::from_secs(600));
    fake.set_stock(&sku(3), 99);
    store
        .record(
            &MovementRequest::new("sale-5", sku(5), MovementKind::Sale, 2),
            clock.now(),
        )
        .unwrap();
    sync::sync_skus(&store, &[&sku(5)], None, clock.now()).unwrap();

    let factory = Factory {
        http: fakes::fast_http(),
    };
    let report = sync::reconcile(&store, &factory, &clock).unwrap();
    assert_eq!(
        (
            report.channels,
            report.read,
            report.missing,
            report.drift,
            report.repaired,
            report.in_flight
        ),
        (1, COUNT as u64, 0, 1, 1, 1),
        "{report:?}"
    );
    assert_eq!(report.skipped, ["local: applied elsewhere"]);
    assert!(report.calls >= 1);
    let expected = allocations(&store, &sku(3))["woo"];
    let drift = store.list_drift(&DriftQuery::default()).unwrap().records;
    assert_eq!(drift.len(), 1);
    assert_eq!(
        (
            drift[0].channel.as_str(),
            drift[0].sku.as_str(),
            drift[0].expected,
            drift[0].remote,
            drift[0].repaired
        ),
        ("woo", sku(3).as_str(), expected, 99, true)
    );
    assert_eq!(drift[0].run_id, Some(report.run_id));
    let listing = store.listing("woo", &sku(3)).unwrap().unwrap();
    assert_eq!(listing.last_seen_quantity, Some(99));
    let run = &store
        .list_sync_runs(&SyncRunQuery {
            kind: Some(SyncKind::Reconcile),
            ..SyncRunQuery::default()
        })
        .unwrap()
        .runs[0];
    assert_eq!((run.counts.drift, run.counts.enqueued), (1, 1));

    // The repair goes out with the next queue run.
    clock.advance(Duration::from_secs(60));
    sync::run_queue(&store, &factory, &RunOptions::new("r2"), &clock).unwrap();
    assert_eq!(store.job_counts(Some("woo")).unwrap().pending, 0);
    for i in 0..COUNT {
        assert_eq!(
            fake.stock(&sku(i)),
            Some(allocations(&store, &sku(i))["woo"]),
            "{}",
            sku(i)
        );
    }
    // Reconciling again finds nothing.
    clock.advance(Duration::from_secs(60));
    let again = sync::reconcile(&store, &factory, &clock).unwrap();
    assert_eq!((again.drift, again.in_flight), (0, 0), "{again:?}");

    // A store that cannot be reached is reported, and nothing is changed.
    fake.set_outage(Some(fakes::Misbehave::Status(503, None)));
    let down = sync::reconcile(&store, &factory, &clock).unwrap();
    assert_eq!((down.read, down.drift), (0, 0));
    assert!(
        down.skipped.iter().any(|s| s.starts_with("woo: cannot read")),
        "{down:?}"
    );
    let run = &store.list_sync_runs(&SyncRunQuery::default()).unwrap().runs[0];
    assert_eq!(run.status, inventory_sync::ledger::RunStatus::Failed);
    assert!(
        run.error.as_deref().unwrap_or_default().contains("woo: cannot read"),
        "{run:?}"
    );
    assert_eq!(open_count(&store), store.job_counts(Some("local")).unwrap().pending);
}

#[test]
fn a_pull_applies_a_source_once_and_plans_what_changed() {
    let now = 1_700_000_000;
    let store = ledger(3, now);
    store.save_channel(&local_channel(), now).unwrap();
    sync::full(&store, now).unwrap();
    let level = |s: &str, l: &str, q: i64| (s.to_owned(), l.to_owned(), q);
    let levels = vec![
        level(&sku(0), "WH1", 20),
        level(&sku(1), "WH1", 11), // what the ledger has
        level("UNKNOWN", "WH1", 5),
        level(&sku(2), "NOWHERE", 3),
        level(&sku(0), "WH2", 4),
    ];
    let first = sync::pull(&store, "erp", "p1", &levels, now + 1).unwrap();
    assert_eq!(
        (first.recorded, first.unchanged, first.replayed),
        (2, 1, 0),
        "{first:?}"
    );
    assert_eq!(first.unknown_skus, ["UNKNOWN"]);
    assert_eq!(first.failed.len(), 1);
    assert_eq!(
        (first.failed[0].0.as_str(), first.failed[0].1.as_str()),
        (sku(2).as_str(), "NOWHERE")
    );
    assert_eq!((first.plan.skus, first.plan.planned), (1, 1));
    assert_eq!(store.stock(&sku(0)).unwrap().on_hand, 24);
    assert_eq!(store.open_jobs(&[&sku(0)]).unwrap()[0].desired, 24);

    // The same data again records nothing new.
    let again = sync::pull(&store, "erp", "p1", &levels, now + 2).unwrap();
    assert_eq!((again.recorded, again.unchanged, again.replayed), (0, 3, 0));
    // A retry of the same pull after stock moved replays instead of recording twice…
    store
        .record(
            &MovementRequest::new("sale-x", sku(0), MovementKind::Sale, 1).at("WH1"),
            now + 3,
        )
        .unwrap();
    let retry = sync::pull(&store, "erp", "p1", &levels, now + 4).unwrap();
    assert_eq!((retry.recorded, retry.replayed), (0, 1));
    assert_eq!(store.stock(&sku(0)).unwrap().on_hand, 23);
    // …while the next pull sets the source's number again.
    let next = sync::pull(&store, "erp", "p2", &levels, now + 5).unwrap();
    assert_eq!(next.recorded, 1);
    assert_eq!(store.stock(&sku(0)).unwrap().on_hand, 24);
    let movement = &store
        .history(&inventory_sync::ledger::HistoryQuery {
            sku: Some(sku(0)),
            limit: 1,
            ..Default::default()
        })
        .unwrap()
        .movements[0];
    assert_eq!(
        (movement.kind, movement.origin.as_deref(), movement.event_id.as_str()),
        (
            MovementKind::Adjustment,
            Some("erp"),
            format!("pull:erp:p2:{}:WH1:20", sku(0)).as_str()
        )
    );
    let runs = store
        .list_sync_runs(&SyncRunQuery {
            kind: Some(SyncKind::Pull),
            ..SyncRunQuery::default()
        })
        .unwrap();
    assert_eq!(runs.runs.len(), 4);
    assert_eq!(runs.runs[3].counts.skipped, 2, "the unknown SKU and the refused level");
    assert!(sync::pull(&store, " ", "p", &levels, now).is_err());
}
