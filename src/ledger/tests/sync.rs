//! What the sync engine keeps through [`LedgerStore`], on every backend: channels, pacing buckets
//! (also across two connections to one store), sync runs, drift, named state and the planner's
//! bulk reads.
//!
//! The tests that make jobs through the jobs methods run on SQLite only until those methods
//! exist on MariaDB (issue 9, step 6); their MariaDB counterparts write the jobs as rows.

use std::collections::BTreeSet;

use super::{fresh_and_reopened, setup, Backend, TestStore, T0};
use crate::error::ErrorKind;
use crate::ledger::{
    ActivityBucket, ActivityQuery, AllocationSettings, ChannelInput, ChannelType, DriftQuery, ItemInput, JobStatus,
    NewDrift, NewJob, RateLimit, RunStatus, SyncCounts, SyncKind, SyncRunQuery,
};
use crate::stock::AllocationMode;
use crate::Error;

fn shopify(key: &str) -> ChannelInput {
    let mut input = ChannelInput::new(key, ChannelType::Shopify, format!("Shop {key}"));
    input.settings = r#"{"base_url": "https://demo.myshopify.com"}"#.into();
    input.credentials = Some("sealed:v1:abc".into());
    input
}

fn field_of(error: Error) -> String {
    match error {
        Error::Validation { field, .. } => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn channels_are_saved_read_updated_and_listed(backend: &dyn Backend) {
    fresh_and_reopened(backend, "sync-channels", |name, ledger| {
        let mut input = shopify("shopify-main");
        input.allocation = AllocationSettings {
            mode: AllocationMode::Partitioned { weight: 3 },
            priority: 2,
            buffer: 1,
            max: Some(50),
            zero_threshold: 2,
            percent: None,
            include_incoming: true,
            include_supplier: false,
            eligible_locations: vec!["WH2".into(), "WH1".into()],
        };
        input.batch_size = 250;
        input.rate = RateLimit {
            per_second: 2.5,
            burst: 4,
        };
        input.min_change = 3;
        input.low_stock_level = 5;
        let saved = ledger.save_channel(&input, T0).unwrap();
        assert_eq!(
            (saved.key.as_str(), saved.kind, saved.enabled, saved.batch_size),
            ("shopify-main", ChannelType::Shopify, true, 250),
            "{name}"
        );
        assert_eq!(saved.allocation, input.allocation, "{name}");
        assert_eq!(
            (saved.rate, saved.min_change, saved.low_stock_level),
            (input.rate, 3, 5)
        );
        assert_eq!(saved.credentials.as_deref(), Some("sealed:v1:abc"));
        assert_eq!(saved.settings_json().unwrap()["base_url"], "https://demo.myshopify.com");
        assert_eq!(ledger.channel("shopify-main").unwrap().as_ref(), Some(&saved));
        assert_eq!(ledger.channel("nope").unwrap(), None);

        // An update keeps the id, created_at and (with None) the credentials.
        let mut update = shopify("shopify-main");
        update.enabled = false;
        update.credentials = None;
        let updated = ledger.save_channel(&update, T0 + 10).unwrap();
        assert_eq!(
            (updated.id, updated.created_at, updated.updated_at),
            (saved.id, T0, T0 + 10)
        );
        assert_eq!(updated.credentials.as_deref(), Some("sealed:v1:abc"), "{name}");
        assert!(!updated.enabled);
        assert_eq!(updated.allocation, AllocationSettings::default());
        // "" removes the credentials.
        update.credentials = Some(String::new());
        assert_eq!(ledger.save_channel(&update, T0 + 11).unwrap().credentials, None);

        let woo = ledger
            .save_channel(
                &ChannelInput::new("woo", ChannelType::WooCommerceLocal, "This store"),
                T0,
            )
            .unwrap();
        assert!(woo.id > saved.id);
        let keys: Vec<String> = ledger.list_channels().unwrap().into_iter().map(|c| c.key).collect();
        assert_eq!(keys, ["shopify-main", "woo"], "{name}");
        let rule = woo.to_rule();
        assert_eq!((rule.channel_id, rule.name.as_str()), (woo.id, "This store"));
    });
}

fn a_bad_channel_is_refused_naming_the_field_and_nothing_is_stored(backend: &dyn Backend) {
    let ledger = super::ledger(backend);
    let mut input = shopify("c");
    input.allocation.eligible_locations = vec!["NOWHERE".into()];
    let error = ledger.save_channel(&input, T0).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    input.allocation.eligible_locations = vec![];
    input.allocation.percent = Some(50);
    input.allocation.buffer = 1;
    assert_eq!(
        field_of(ledger.save_channel(&input, T0).unwrap_err()),
        "allocation.buffer"
    );
    input.allocation = AllocationSettings::default();
    input.batch_size = 0;
    assert_eq!(field_of(ledger.save_channel(&input, T0).unwrap_err()), "batch_size");
    assert!(ledger.list_channels().unwrap().is_empty());
}

fn a_channel_with_jobs_waiting_cannot_be_deleted_and_deleting_forgets_its_listings(backend: &dyn Backend) {
    let ledger = super::ledger(backend);
    ledger.save_channel(&shopify("c"), T0).unwrap();
    ledger.save_channel(&shopify("other"), T0).unwrap();
    ledger.enqueue_jobs(&[NewJob::new("c", "A", 4)], T0).unwrap();
    ledger.enqueue_jobs(&[NewJob::new("other", "A", 4)], T0).unwrap();
    let error = ledger.delete_channel("c").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(error.to_string().contains("1 pending"), "{error}");

    let claimed = ledger.claim_jobs("runner", Some("c"), 10, 60, T0).unwrap();
    let error = ledger.delete_channel("c").unwrap_err();
    assert!(error.to_string().contains("1 running"), "{error}");
    ledger.complete_job(claimed[0].id, "runner", T0 + 1).unwrap();
    assert!(ledger.listing("c", "A").unwrap().is_some());
    ledger.take_pacing_token("c", 1.0, 1, 0).unwrap();

    let deleted = ledger.delete_channel("c").unwrap();
    assert_eq!(deleted.key, "c");
    assert_eq!(ledger.channel("c").unwrap(), None);
    assert_eq!(
        ledger.listing("c", "A").unwrap(),
        None,
        "a re-added channel starts from nothing"
    );
    assert_eq!(ledger.job_counts(Some("c")).unwrap().done, 0);
    // The bucket was forgotten: a fresh one is full again.
    assert_eq!(ledger.take_pacing_token("c", 1.0, 1, 0).unwrap(), 0);
    // Other channels are untouched.
    assert_eq!(ledger.job_counts(Some("other")).unwrap().pending, 1);
    assert_eq!(ledger.delete_channel("c").unwrap_err().kind(), ErrorKind::NotFound);
}

fn the_pacing_bucket_lets_a_burst_through_then_spaces_calls_at_the_rate(backend: &dyn Backend) {
    let ledger = super::ledger(backend);
    // 2 per second, burst 3: three calls go now, then each waits 500 ms more than the previous.
    let waits: Vec<u64> = (0..6)
        .map(|_| ledger.take_pacing_token("ch", 2.0, 3, 10_000).unwrap())
        .collect();
    assert_eq!(waits, [0, 0, 0, 500, 1000, 1500]);
    // Time passes: 2 s refill 4 tokens, paying the debt of 3 → one token is there again.
    assert_eq!(ledger.take_pacing_token("ch", 2.0, 3, 12_000).unwrap(), 0);
    assert_eq!(ledger.take_pacing_token("ch", 2.0, 3, 12_000).unwrap(), 500);
    // A long quiet spell refills only up to the burst.
    let after_quiet: Vec<u64> = (0..4)
        .map(|_| ledger.take_pacing_token("ch", 2.0, 3, 1_000_000).unwrap())
        .collect();
    assert_eq!(after_quiet, [0, 0, 0, 500]);
    // A clock that went back refills nothing.
    assert_eq!(ledger.take_pacing_token("ch", 2.0, 3, 0).unwrap(), 1000);
    // Buckets are per channel; rate 0 is no limit.
    assert_eq!(ledger.take_pacing_token("other", 2.0, 1, 10_000).unwrap(), 0);
    assert_eq!(ledger.take_pacing_token("free", 0.0, 0, 10_000).unwrap(), 0);
    assert_eq!(ledger.take_pacing_token("free", 0.0, 0, 10_000).unwrap(), 0);
    assert_eq!(
        field_of(ledger.take_pacing_token("ch", -1.0, 1, 0).unwrap_err()),
        "rate_per_second"
    );
    assert_eq!(
        field_of(ledger.take_pacing_token(" ", 1.0, 1, 0).unwrap_err()),
        "channel"
    );
}

fn two_connections_to_one_store_share_one_bucket(backend: &dyn Backend) {
    let shared = backend.shared();
    let first = shared.connect();
    let second = shared.connect();
    // 1 per second, burst 2: the two connections alternate, and together they get exactly the
    // burst at once and one more per second after it.
    let mut waits = Vec::new();
    for i in 0..6 {
        let ledger = if i % 2 == 0 { &first } else { &second };
        waits.push(ledger.take_pacing_token("shared", 1.0, 2, 50_000).unwrap());
    }
    assert_eq!(waits, [0, 0, 1000, 2000, 3000, 4000]);

    // From threads at once: every token is handed out once, so the waits are all different.
    let waits = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let ledger = shared.connect();
                for _ in 0..5 {
                    let wait = ledger.take_pacing_token("threads", 10.0, 1, 90_000).unwrap();
                    waits.lock().unwrap().push(wait);
                }
            });
        }
    });
    let mut waits = waits.into_inner().unwrap();
    waits.sort_unstable();
    let expected: Vec<u64> = (0..20).map(|i| i * 100).collect();
    assert_eq!(waits, expected);
}

fn activity_counts_runs_per_local_day_with_empty_days_filled(backend: &dyn Backend) {
    fresh_and_reopened(backend, "sync-activity", |name, ledger| {
        const DAY: i64 = 86_400;
        // A site at UTC+2: its days start at 22:00 UTC. Day 0 starts at local midnight.
        let offset = 2 * 3_600;
        let day0 = (T0 + offset).div_euclid(DAY) * DAY - offset;
        let run = |kind, at: i64, pushed: u64, error: Option<&str>, ms: u64| {
            let started = ledger.start_sync_run(kind, at).unwrap();
            let counts = SyncCounts {
                pushed,
                failed: u64::from(error.is_some()),
                duration_ms: ms,
                ..SyncCounts::default()
            };
            ledger.finish_sync_run(started.id, &counts, error, at + 1).unwrap();
        };
        run(SyncKind::Queue, day0 + 10, 5, None, 100);
        run(SyncKind::Queue, day0 + DAY - 1, 2, Some("shopify: HTTP 503"), 300); // still day 0, local
        run(SyncKind::Full, day0 + 2 * DAY + 5, 40, None, 1_000);
        ledger.start_sync_run(SyncKind::Queue, day0 + 2 * DAY + 9).unwrap(); // running: counted, no duration
        run(SyncKind::Queue, day0 + 3 * DAY, 1, None, 10); // outside [since, until)

        let query = ActivityQuery {
            since: day0,
            until: day0 + 3 * DAY,
            bucket_seconds: DAY,
            offset_seconds: offset,
            kind: None,
        };
        let days = ledger.sync_activity(&query).unwrap();
        let bucket = |start, runs, done, failed, pushed, push_failures, duration_ms| ActivityBucket {
            start,
            runs,
            done,
            failed,
            pushed,
            push_failures,
            duration_ms,
        };
        assert_eq!(
            days,
            vec![
                bucket(day0, 2, 1, 1, 7, 1, 400),
                bucket(day0 + DAY, 0, 0, 0, 0, 0, 0),
                bucket(day0 + 2 * DAY, 2, 1, 0, 40, 0, 1_000),
            ],
            "{name}"
        );
        let full_only = ledger
            .sync_activity(&ActivityQuery {
                kind: Some(SyncKind::Full),
                ..query.clone()
            })
            .unwrap();
        assert_eq!(
            full_only.iter().map(|b| b.runs).collect::<Vec<_>>(),
            [0, 0, 1],
            "{name}"
        );
        for (bad, field) in [
            (
                ActivityQuery {
                    bucket_seconds: 60,
                    ..query.clone()
                },
                "bucket",
            ),
            (
                ActivityQuery {
                    offset_seconds: 15 * 3_600,
                    ..query.clone()
                },
                "offset",
            ),
            (
                ActivityQuery {
                    until: day0,
                    ..query.clone()
                },
                "until",
            ),
            (
                ActivityQuery {
                    since: 0,
                    until: 3_000 * DAY,
                    ..query.clone()
                },
                "since",
            ),
        ] {
            assert_eq!(field_of(ledger.sync_activity(&bad).unwrap_err()), field, "{name}");
        }
    });
}

fn activity_per_calendar_month_at_the_site_s_offset(backend: &dyn Backend) {
    fresh_and_reopened(backend, "sync-activity-months", |name, ledger| {
        // 2024 (a leap year) at UTC+1: January 31 23:30 local is still January; Feb 29 exists.
        let offset = 3_600;
        let local = |m: u32, d: u32, h: i64| {
            let days = [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335][(m - 1) as usize] + i64::from(d) - 1;
            1_704_067_200 + days * 86_400 + h * 3_600 - offset // 2024-01-01T00:00Z = 1704067200
        };
        let run = |at: i64| {
            let started = ledger.start_sync_run(SyncKind::Queue, at).unwrap();
            ledger
                .finish_sync_run(started.id, &SyncCounts::default(), None, at + 1)
                .unwrap();
        };
        run(local(1, 31, 23) + 1_800);
        run(local(2, 29, 12));
        run(local(3, 1, 0));
        let months = ledger
            .sync_activity(&ActivityQuery {
                since: local(1, 1, 0),
                until: local(4, 1, 0),
                bucket_seconds: crate::ledger::run::MONTH,
                offset_seconds: offset,
                kind: None,
            })
            .unwrap();
        let got: Vec<(i64, u64)> = months.iter().map(|b| (b.start, b.runs)).collect();
        assert_eq!(
            got,
            vec![(local(1, 1, 0), 1), (local(2, 1, 0), 1), (local(3, 1, 0), 1)],
            "{name}"
        );
    });
}

fn weeks_start_on_monday_at_local_midnight(backend: &dyn Backend) {
    fresh_and_reopened(backend, "sync-activity-weeks", |name, ledger| {
        // 2024-01-01 was a Monday; the site is at UTC−3.
        let offset = -3 * 3_600;
        let monday = 1_704_067_200 - offset;
        let run = |at: i64| {
            let started = ledger.start_sync_run(SyncKind::Queue, at).unwrap();
            ledger
                .finish_sync_run(started.id, &SyncCounts::default(), None, at + 1)
                .unwrap();
        };
        run(monday - 60); // Sunday 23:59 local: the week before
        run(monday + 6 * 86_400 + 86_399); // Sunday 23:59:59 local: this week
        run(monday + 7 * 86_400); // next Monday 00:00
        let weeks = ledger
            .sync_activity(&ActivityQuery {
                since: monday - 7 * 86_400,
                until: monday + 14 * 86_400,
                bucket_seconds: 604_800,
                offset_seconds: offset,
                kind: None,
            })
            .unwrap();
        let got: Vec<(i64, u64)> = weeks.iter().map(|b| (b.start, b.runs)).collect();
        assert_eq!(
            got,
            vec![(monday - 7 * 86_400, 1), (monday, 1), (monday + 7 * 86_400, 1)],
            "{name}"
        );
    });
}

fn activity_by_hour_of_day_and_the_most_frequent_errors(backend: &dyn Backend) {
    fresh_and_reopened(backend, "sync-activity-hours", |name, ledger| {
        const HOUR: i64 = 3_600;
        let offset = -5 * HOUR; // UTC−5: local hour = UTC hour − 5
        let day0 = (T0 + offset).div_euclid(24 * HOUR) * 24 * HOUR - offset;
        let run = |at: i64, error: Option<&str>| {
            let started = ledger.start_sync_run(SyncKind::Queue, at).unwrap();
            ledger
                .finish_sync_run(started.id, &SyncCounts::default(), error, at + 1)
                .unwrap();
        };
        run(day0 + 3 * HOUR + 5, Some("shopify: HTTP 503"));
        run(day0 + 24 * HOUR + 3 * HOUR + 9, Some("shopify: HTTP 503")); // 03:00 the next day too
        run(day0 + 3 * HOUR + 60, None);
        run(day0 + 14 * HOUR, Some("ebay: token refused"));
        let query = ActivityQuery {
            since: day0,
            until: day0 + 2 * 24 * HOUR,
            bucket_seconds: HOUR,
            offset_seconds: offset,
            kind: None,
        };
        let hours = ledger.sync_activity_by_hour(&query).unwrap();
        assert_eq!(hours.len(), 24, "{name}");
        assert_eq!((hours[3].start, hours[3].runs, hours[3].failed), (3, 3, 2), "{name}");
        assert_eq!((hours[14].runs, hours[14].failed), (1, 1), "{name}");
        assert_eq!(hours.iter().map(|h| h.runs).sum::<u64>(), 4, "{name}");
        assert_eq!(
            field_of(
                ledger
                    .sync_activity_by_hour(&ActivityQuery {
                        bucket_seconds: 86_400,
                        ..query.clone()
                    })
                    .unwrap_err()
            ),
            "bucket"
        );

        let errors = ledger.sync_errors(day0, 10).unwrap();
        assert_eq!(
            errors,
            vec![
                ("shopify: HTTP 503".to_string(), 2, day0 + 24 * HOUR + 3 * HOUR + 9),
                ("ebay: token refused".to_string(), 1, day0 + 14 * HOUR),
            ],
            "{name}"
        );
        assert_eq!(ledger.sync_errors(day0, 1).unwrap().len(), 1, "{name}");
        assert_eq!(field_of(ledger.sync_errors(day0, 0).unwrap_err()), "limit", "{name}");
    });
}

fn runs_are_started_finished_and_listed_newest_first(backend: &dyn Backend) {
    fresh_and_reopened(backend, "sync-runs", |name, ledger| {
        let full = ledger.start_sync_run(SyncKind::Full, T0).unwrap();
        assert_eq!(
            (full.status, full.finished_at, full.counts),
            (RunStatus::Running, None, SyncCounts::default())
        );
        let counts = SyncCounts {
            skus: 10,
            planned: 4,
            enqueued: 3,
            duration_ms: 120,
            ..SyncCounts::default()
        };
        let done = ledger.finish_sync_run(full.id, &counts, None, T0 + 1).unwrap();
        assert_eq!(
            (done.status, done.counts, done.finished_at),
            (RunStatus::Done, counts, Some(T0 + 1))
        );
        let again = ledger.finish_sync_run(full.id, &counts, None, T0 + 2).unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Conflict, "{name}");

        let queue = ledger.start_sync_run(SyncKind::Queue, T0 + 5).unwrap();
        let failed = ledger
            .finish_sync_run(
                queue.id,
                &SyncCounts::default(),
                Some(" channel x: HTTP 503\u{0} "),
                T0 + 6,
            )
            .unwrap();
        assert_eq!(
            (failed.status, failed.error.as_deref()),
            (RunStatus::Failed, Some("channel x: HTTP 503"))
        );
        let open = ledger.start_sync_run(SyncKind::Queue, T0 + 7).unwrap();

        let all = ledger.list_sync_runs(&SyncRunQuery::default()).unwrap();
        let ids: Vec<i64> = all.runs.iter().map(|r| r.id).collect();
        assert_eq!(ids, [open.id, queue.id, full.id], "{name}");
        let queues = ledger
            .list_sync_runs(&SyncRunQuery {
                kind: Some(SyncKind::Queue),
                limit: 1,
                ..SyncRunQuery::default()
            })
            .unwrap();
        assert_eq!((queues.runs[0].id, queues.next_before), (open.id, Some(open.id)));
        let second = ledger
            .list_sync_runs(&SyncRunQuery {
                kind: Some(SyncKind::Queue),
                before: queues.next_before,
                limit: 1,
                ..SyncRunQuery::default()
            })
            .unwrap();
        assert_eq!((second.runs[0].id, second.next_before), (queue.id, None));
        let failed_only = ledger
            .list_sync_runs(&SyncRunQuery {
                status: Some(RunStatus::Failed),
                ..SyncRunQuery::default()
            })
            .unwrap();
        assert_eq!(failed_only.runs.len(), 1);

        // Pruning keeps running runs and newer ones.
        assert_eq!(ledger.prune_sync_runs(T0 + 100).unwrap(), 2);
        let left: Vec<i64> = ledger
            .list_sync_runs(&SyncRunQuery::default())
            .unwrap()
            .runs
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(left, [open.id]);
        assert_eq!(
            ledger.finish_sync_run(9999, &counts, None, T0).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    });
}

fn drift_is_recorded_listed_and_pruned(backend: &dyn Backend) {
    let ledger = super::ledger(backend);
    let drift = |sku: &str, remote: i64| NewDrift {
        channel: "shop".into(),
        sku: sku.into(),
        expected: 4,
        remote,
        repaired: true,
        run_id: Some(7),
    };
    assert_eq!(ledger.record_drift(&[drift("A", 6), drift("B", -1)], T0).unwrap(), 2);
    assert_eq!(
        field_of(
            ledger
                .record_drift(
                    &[
                        drift("A", 1),
                        NewDrift {
                            expected: -1,
                            ..drift("B", 1)
                        }
                    ],
                    T0
                )
                .unwrap_err()
        ),
        "drift[1].expected"
    );
    let page = ledger.list_drift(&DriftQuery::default()).unwrap();
    let got: Vec<(String, i64, i64, bool, Option<i64>)> = page
        .records
        .iter()
        .map(|r| (r.sku.clone(), r.expected, r.remote, r.repaired, r.run_id))
        .collect();
    assert_eq!(
        got,
        [("B".into(), 4, -1, true, Some(7)), ("A".into(), 4, 6, true, Some(7))],
        "newest first; the refused batch added nothing"
    );
    let only_a = ledger
        .list_drift(&DriftQuery {
            sku: Some("A".into()),
            ..DriftQuery::default()
        })
        .unwrap();
    assert_eq!(only_a.records.len(), 1);
    assert_eq!(ledger.prune_drift(T0 + 1).unwrap(), 2);
    assert!(ledger.list_drift(&DriftQuery::default()).unwrap().records.is_empty());
}

fn named_state_is_kept(backend: &dyn Backend) {
    fresh_and_reopened(backend, "sync-state", |name, ledger| {
        assert_eq!(ledger.sync_state("incremental.cursor").unwrap(), None, "{name}");
        ledger.set_sync_state("incremental.cursor", "41", T0).unwrap();
        ledger.set_sync_state(" incremental.cursor ", "42", T0 + 1).unwrap();
        assert_eq!(ledger.sync_state("incremental.cursor").unwrap().as_deref(), Some("42"));
        assert_eq!(field_of(ledger.set_sync_state("", "1", T0).unwrap_err()), "name");
    });
}

fn the_planner_reads_listings_and_open_jobs_of_many_skus_at_once(backend: &dyn Backend) {
    let ledger = backend.open();
    setup(&*ledger);
    // Enough SKUs to need several IN lists.
    let skus: Vec<String> = (0..1200).map(|i| format!("S{i:04}")).collect();
    for sku in &skus {
        ledger.upsert_item(&super::item(sku, sku), T0).unwrap();
    }
    for sku in skus.iter().step_by(3) {
        ledger.record_listing_pushed("shop", sku, 5, T0).unwrap();
        ledger.record_listing_seen("woo", sku, 2, T0).unwrap();
    }
    let jobs: Vec<NewJob> = skus
        .iter()
        .step_by(2)
        .map(|sku| NewJob::new("shop", sku.clone(), 1))
        .collect();
    for chunk in jobs.chunks(1000) {
        ledger.enqueue_jobs(chunk, T0).unwrap();
    }
    let claimed = ledger.claim_jobs("runner", None, 10, 60, T0).unwrap();
    ledger.complete_job(claimed[0].id, "runner", T0).unwrap();

    let asked: Vec<&str> = skus.iter().map(String::as_str).chain(["UNKNOWN"]).collect();
    let listings = ledger.listings_of(&asked).unwrap();
    // Every third SKU on two channels; the completed job was a drop on one of them (drops are
    // claimed first), so it added no listing.
    assert_eq!(listings.len(), 400 * 2);
    assert!(listings
        .windows(2)
        .all(|w| (&w[0].sku, &w[0].channel) < (&w[1].sku, &w[1].channel)));
    let open = ledger.open_jobs(&asked).unwrap();
    assert_eq!(open.len(), 600 - 1);
    assert!(open
        .iter()
        .all(|j| matches!(j.status, JobStatus::Pending | JobStatus::Running)));
    assert_eq!(open.iter().filter(|j| j.status == JobStatus::Running).count(), 9);
    assert!(ledger.open_jobs(&[]).unwrap().is_empty());

    // Channels on either side of the others in key order (each table is read channel by channel).
    for channel in ["a-first", "zz-last"] {
        ledger.enqueue_jobs(&[NewJob::new(channel, "S0001", 4)], T0).unwrap();
        ledger.record_listing_seen(channel, "S0001", 4, T0).unwrap();
    }
    let listings = ledger.listings_of(&["S0001", "S0000"]).unwrap();
    let found: Vec<(&str, &str)> = listings.iter().map(|l| (l.sku.as_str(), l.channel.as_str())).collect();
    assert_eq!(
        found,
        [
            ("S0000", "shop"),
            ("S0000", "woo"),
            ("S0001", "a-first"),
            ("S0001", "zz-last")
        ]
    );
    let open = ledger.open_jobs(&["S0001"]).unwrap();
    let channels: Vec<&str> = open.iter().map(|j| j.channel.as_str()).collect();
    assert_eq!(channels, ["a-first", "zz-last"]);
}

/// Jobs written as rows, as the jobs methods would leave them (those are not on every backend
/// yet): (channel, SKU, desired, status); a running job is claimed by `runner` until T0 + 60.
/// Returns nothing: tests find the jobs through the reads under test.
fn insert_jobs(ledger: &dyn TestStore, jobs: &[(&str, &str, i64, &str)]) {
    for (n, chunk) in jobs.chunks(100).enumerate() {
        let rows: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, (channel, sku, desired, status))| {
                let (owner, expires) = if *status == "running" {
                    ("'runner'".to_owned(), (T0 + 60).to_string())
                } else {
                    ("NULL".to_owned(), "NULL".to_owned())
                };
                format!(
                    "('{channel}', '{sku}', {desired}, '{status}', 0, 1, 0, {T0}, {owner}, {expires}, 'raw-{n}-{i}', \
                     {T0}, {T0})"
                )
            })
            .collect();
        ledger.execute_raw(&format!(
            "INSERT INTO jobs (channel, sku, desired, status, priority, attempts, revision, next_attempt_at,
                               claim_owner, claim_expires_at, idempotency_key, created_at, updated_at)
             VALUES {}",
            rows.join(", ")
        ));
    }
}

fn deleting_a_channel_waits_for_its_open_jobs_and_takes_only_its_finished_ones(backend: &dyn Backend) {
    let ledger = super::ledger(backend);
    ledger.save_channel(&shopify("c"), T0).unwrap();
    ledger.save_channel(&shopify("other"), T0).unwrap();
    insert_jobs(
        &*ledger,
        &[
            ("c", "A", 4, "pending"),
            ("c", "B", 1, "done"),
            ("c", "B", 2, "failed"),
            ("c", "B", 3, "dead"),
            ("other", "A", 4, "pending"),
            ("other", "B", 4, "done"),
        ],
    );
    let error = ledger.delete_channel("c").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(error.to_string().contains("1 pending and 0 running"), "{error}");
    ledger.execute_raw(
        "UPDATE jobs SET status = 'running', claim_owner = 'runner', claim_expires_at = 1
         WHERE channel = 'c' AND status = 'pending'",
    );
    let error = ledger.delete_channel("c").unwrap_err();
    assert!(error.to_string().contains("0 pending and 1 running"), "{error}");
    assert!(ledger.channel("c").unwrap().is_some(), "a refusal deletes nothing");
    ledger.execute_raw(
        "UPDATE jobs SET status = 'done', claim_owner = NULL, claim_expires_at = NULL WHERE channel = 'c'
           AND status = 'running'",
    );
    ledger.record_listing_pushed("c", "A", 4, T0).unwrap();
    ledger.record_listing_pushed("other", "A", 4, T0).unwrap();
    assert_eq!(ledger.take_pacing_token("c", 1.0, 1, 0).unwrap(), 0);
    assert_eq!(ledger.take_pacing_token("other", 1.0, 1, 0).unwrap(), 0);

    let deleted = ledger.delete_channel(" c ").unwrap();
    assert_eq!(deleted.key, "c");
    assert_eq!(ledger.channel("c").unwrap(), None);
    assert_eq!(ledger.query_i64("SELECT COUNT(*) FROM jobs WHERE channel = 'c'"), 0);
    assert_eq!(ledger.listing("c", "A").unwrap(), None);
    assert_eq!(ledger.take_pacing_token("c", 1.0, 1, 0).unwrap(), 0, "a fresh bucket");
    // The other channel keeps its jobs, listing and (empty) bucket.
    assert_eq!(ledger.query_i64("SELECT COUNT(*) FROM jobs WHERE channel = 'other'"), 2);
    assert!(ledger.listing("other", "A").unwrap().is_some());
    assert_eq!(ledger.take_pacing_token("other", 1.0, 1, 0).unwrap(), 1000);
    assert_eq!(ledger.delete_channel("c").unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(field_of(ledger.delete_channel(" ").unwrap_err()), "key");
}

fn connections_finishing_one_run_at_once_finish_it_once(backend: &dyn Backend) {
    const CONNECTIONS: u64 = 4;
    let shared = backend.shared();
    let run = shared.connect().start_sync_run(SyncKind::Queue, T0).unwrap();
    let barrier = std::sync::Barrier::new(CONNECTIONS as usize);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CONNECTIONS)
            .map(|i| {
                let (shared, barrier) = (&shared, &barrier);
                scope.spawn(move || {
                    let ledger = shared.connect();
                    let counts = SyncCounts {
                        pushed: i,
                        ..SyncCounts::default()
                    };
                    barrier.wait();
                    ledger.finish_sync_run(run.id, &counts, None, T0 + 1)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let finished: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(finished.len(), 1, "{results:?}");
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    }
    let stored = shared.connect().list_sync_runs(&SyncRunQuery::default()).unwrap().runs;
    assert_eq!(stored, [finished[0].clone()], "the run as its one finisher wrote it");
}

fn long_errors_that_differ_only_at_the_end_are_counted_apart(backend: &dyn Backend) {
    let ledger = super::ledger(backend);
    // Past the 1024 bytes a server may compare texts on when grouping.
    let start = "shopify: HTTP 400: ".to_owned() + &"x".repeat(1_500);
    for (at, error) in [(T0, "a"), (T0 + 1, "b"), (T0 + 2, "b")] {
        let run = ledger.start_sync_run(SyncKind::Queue, at).unwrap();
        let text = format!("{start} {error}");
        ledger
            .finish_sync_run(run.id, &SyncCounts::default(), Some(&text), at)
            .unwrap();
    }
    let errors = ledger.sync_errors(T0, 10).unwrap();
    assert_eq!(
        errors,
        vec![(format!("{start} b"), 2, T0 + 2), (format!("{start} a"), 1, T0)]
    );
}

fn the_planner_reads_listings_open_jobs_and_linked_items_of_many_skus(backend: &dyn Backend) {
    let ledger = super::ledger(backend);
    // Enough SKUs to need several IN lists; every fifth linked to a store product.
    let skus: Vec<String> = (0..1200).map(|i| format!("S{i:04}")).collect();
    for (i, sku) in skus.iter().enumerate() {
        let item = ItemInput {
            product_id: (i % 5 == 0).then_some(i as i64 + 1),
            ..super::item(sku, sku)
        };
        ledger.upsert_item(&item, T0).unwrap();
    }
    for (i, sku) in skus.iter().enumerate().step_by(3) {
        ledger.record_listing_pushed("shop", sku, 5, T0).unwrap();
        ledger.record_listing_seen("woo", sku, 2, T0).unwrap();
        if i % 6 == 0 {
            ledger
                .upsert_listing_remote_id("shop", sku, Some(&format!("r-{sku}")), T0)
                .unwrap();
        }
    }
    // Every second SKU waits on "shop"; every tenth is also being pushed there; finished jobs
    // on "woo" are not open.
    let mut jobs = Vec::new();
    for (i, sku) in skus.iter().enumerate() {
        if i % 2 == 0 {
            jobs.push(("shop", sku.as_str(), 1, "pending"));
        }
        if i % 10 == 0 {
            jobs.push(("shop", sku.as_str(), 2, "running"));
        }
        if i % 4 == 0 {
            jobs.push(("woo", sku.as_str(), 3, ["done", "failed", "dead"][i % 3]));
        }
    }
    insert_jobs(&*ledger, &jobs);

    let asked: Vec<&str> = skus.iter().map(String::as_str).chain(["UNKNOWN"]).collect();
    let listings = ledger.listings_of(&asked).unwrap();
    assert_eq!(listings.len(), 400 * 2);
    assert!(listings
        .windows(2)
        .all(|w| (&w[0].sku, &w[0].channel) < (&w[1].sku, &w[1].channel)));
    let remote_ids = listings.iter().filter(|l| l.remote_id.is_some()).count();
    assert_eq!(remote_ids, 200);

    let open = ledger.open_jobs(&asked).unwrap();
    assert_eq!(open.len(), 600 + 120);
    assert!(open.windows(2).all(|w| w[0].id < w[1].id), "by id");
    assert!(open.iter().all(|j| j.channel == "shop"));
    assert_eq!(open.iter().filter(|j| j.status == JobStatus::Running).count(), 120);
    assert_eq!(open.iter().filter(|j| j.status == JobStatus::Pending).count(), 600);
    let running = open.iter().find(|j| j.status == JobStatus::Running).unwrap();
    assert_eq!(
        (running.desired, running.claim_owner.as_deref(), running.attempts),
        (2, Some("runner"), 1)
    );

    let linked: BTreeSet<String> = ledger.linked_skus(&asked).unwrap().into_iter().collect();
    let expected: BTreeSet<String> = skus.iter().step_by(5).cloned().collect();
    assert_eq!(linked, expected);
    assert!(ledger.listings_of(&[]).unwrap().is_empty());
    assert!(ledger.open_jobs(&[]).unwrap().is_empty());
    assert!(ledger.linked_skus(&[]).unwrap().is_empty());

    // A channel's listings and the unmapped items, a page at a time, by SKU.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = ledger.channel_listings("shop", after.as_deref(), 150).unwrap();
        assert!(page.len() <= 150);
        let Some(last) = page.last() else { break };
        after = Some(last.sku.clone());
        paged.extend(page.into_iter().map(|l| l.sku));
    }
    let expected: Vec<String> = skus.iter().step_by(3).cloned().collect();
    assert_eq!(paged, expected);
    assert!(ledger.channel_listings("nowhere", None, 10).unwrap().is_empty());
    let mut unmapped = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = ledger.unmapped_skus(" shop ", after.as_deref(), 400).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.clone());
        unmapped.extend(page);
    }
    // A and B (set up) and every SKU but every sixth, which has a remote id on "shop".
    let expected: Vec<String> = ["A", "B"]
        .into_iter()
        .map(str::to_owned)
        .chain(
            skus.iter()
                .enumerate()
                .filter(|(i, _)| i % 6 != 0)
                .map(|(_, s)| s.clone()),
        )
        .collect();
    assert_eq!(unmapped, expected);
    assert_eq!(ledger.unmapped_skus("woo", Some("S1198"), 10).unwrap(), ["S1199"]);
    assert_eq!(field_of(ledger.channel_listings("shop", None, 0).unwrap_err()), "limit");
    assert_eq!(field_of(ledger.unmapped_skus(" ", None, 1).unwrap_err()), "channel");
}

store_tests!([sqlite, mariadb]:
    channels_are_saved_read_updated_and_listed,
    a_bad_channel_is_refused_naming_the_field_and_nothing_is_stored,
    deleting_a_channel_waits_for_its_open_jobs_and_takes_only_its_finished_ones,
    the_pacing_bucket_lets_a_burst_through_then_spaces_calls_at_the_rate,
    two_connections_to_one_store_share_one_bucket,
    activity_counts_runs_per_local_day_with_empty_days_filled,
    activity_per_calendar_month_at_the_site_s_offset,
    weeks_start_on_monday_at_local_midnight,
    activity_by_hour_of_day_and_the_most_frequent_errors,
    runs_are_started_finished_and_listed_newest_first,
    connections_finishing_one_run_at_once_finish_it_once,
    long_errors_that_differ_only_at_the_end_are_counted_apart,
    drift_is_recorded_listed_and_pruned,
    named_state_is_kept,
    the_planner_reads_listings_open_jobs_and_linked_items_of_many_skus,
    a_channel_with_jobs_waiting_cannot_be_deleted_and_deleting_forgets_its_listings,
    the_planner_reads_listings_and_open_jobs_of_many_skus_at_once,
);
