//! What channels report in: the inbound events log and listings through [`LedgerStore`], on
//! every backend.

use super::{fresh_and_reopened, ledger, Backend, T0};
use crate::error::ErrorKind;
use crate::ledger::{InboundEvent, InboundOutcome, InboundQuery, InboundRecord, Listing, MAX_PAGE, MAX_QUANTITY};
use crate::Error;

fn inbound(provider: &str, dedup_key: &str, outcome: InboundOutcome) -> InboundEvent {
    InboundEvent::new(provider, dedup_key, outcome)
}

fn an_inbound_event_is_logged_once_per_dedup_key(backend: &dyn Backend) {
    fresh_and_reopened(backend, "inbound-dedup", |name, ledger| {
        let first = InboundEvent {
            topic: Some("inventory_levels/update".into()),
            summary: "2 movements recorded, 1 unknown SKU".into(),
            recorded: 2,
            replayed: 0,
            failed: 1,
            unknown_skus: vec!["NOPE-1".into()],
            ..inbound(
                "shopify",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
                InboundOutcome::Partial,
            )
        };
        let redelivered = InboundEvent {
            summary: "second delivery".into(),
            recorded: 0,
            replayed: 2,
            ..inbound(
                " shopify ",
                " b54557e4-bdd9-4b37-8a5f-bf7d70bcd043 ",
                InboundOutcome::Duplicate,
            )
        };
        // (event, now, duplicate?, which earlier step's record it must equal)
        let steps: Vec<(InboundEvent, i64, bool, Option<usize>)> = vec![
            (first.clone(), T0, false, None),
            (redelivered, T0 + 5, true, Some(0)),
            (first.clone(), T0 + 6, true, Some(0)),
            // The same key from another provider is another delivery.
            (
                inbound("woocommerce", &first.dedup_key, InboundOutcome::Ignored),
                T0 + 7,
                false,
                None,
            ),
            // Keys are case-sensitive.
            (
                inbound("shopify", &first.dedup_key.to_uppercase(), InboundOutcome::Applied),
                T0 + 8,
                false,
                None,
            ),
        ];
        let mut records: Vec<InboundRecord> = Vec::new();
        for (i, (event, now, duplicate, same_as)) in steps.into_iter().enumerate() {
            let before = ledger.dump();
            let record = ledger.record_inbound(&event, now).unwrap();
            assert_eq!(record.duplicate, duplicate, "{name}: step {i}");
            match same_as {
                Some(earlier) => {
                    assert_eq!(
                        record,
                        InboundRecord {
                            duplicate: true,
                            ..records[earlier].clone()
                        },
                        "{name}: step {i}"
                    );
                    assert_eq!(ledger.dump(), before, "{name}: step {i}: a duplicate changes nothing");
                }
                None => {
                    let valid = event.validated().unwrap();
                    assert_eq!(
                        (
                            record.provider.as_str(),
                            record.dedup_key.as_str(),
                            record.outcome,
                            record.received_at
                        ),
                        (valid.provider.as_str(), valid.dedup_key.as_str(), valid.outcome, now),
                        "{name}: step {i}"
                    );
                }
            }
            records.push(record);
        }
        let stored = &records[0];
        assert_eq!(
            (
                stored.topic.as_deref(),
                stored.summary.as_str(),
                stored.recorded,
                stored.replayed,
                stored.failed,
                stored.unknown_skus.as_slice()
            ),
            (
                Some("inventory_levels/update"),
                "2 movements recorded, 1 unknown SKU",
                2,
                0,
                1,
                ["NOPE-1".to_owned()].as_slice()
            ),
            "{name}"
        );
        let found = ledger.find_inbound(" shopify", &first.dedup_key).unwrap();
        assert_eq!(
            found,
            Some(InboundRecord {
                duplicate: false,
                ..stored.clone()
            }),
            "{name}"
        );
        assert_eq!(ledger.find_inbound("erp", &first.dedup_key).unwrap(), None, "{name}");

        let before = ledger.dump();
        let error = ledger
            .record_inbound(&inbound("Shopify!", "k", InboundOutcome::Applied), T0)
            .unwrap_err();
        assert!(
            matches!(&error, Error::Validation { field, .. } if field == "provider"),
            "{name}: {error}"
        );
        assert_eq!(ledger.dump(), before, "{name}");
    });
}

fn several_connections_log_one_delivery_once(backend: &dyn Backend) {
    const THREADS: usize = 4;
    let shared = backend.shared();
    drop(shared.connect());
    let barrier = std::sync::Barrier::new(THREADS);
    let firsts: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (shared, barrier) = (&shared, &barrier);
                scope.spawn(move || {
                    let ledger = shared.connect();
                    barrier.wait();
                    (0..20)
                        .filter(|n| {
                            let event = InboundEvent {
                                summary: format!("thread {t}"),
                                ..inbound("generic", &format!("delivery-{n}"), InboundOutcome::Applied)
                            };
                            !ledger.record_inbound(&event, T0).unwrap().duplicate
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        firsts.iter().sum::<usize>(),
        20,
        "each delivery is logged once: {firsts:?}"
    );
}

fn the_inbound_log_pages_with_filters_and_prunes(backend: &dyn Backend) {
    fresh_and_reopened(backend, "inbound-log", |name, ledger| {
        let providers = ["generic", "shopify", "woocommerce"];
        for i in 0..30 {
            let outcome = InboundOutcome::ALL[i % 5];
            ledger
                .record_inbound(&inbound(providers[i % 3], &format!("d{i}"), outcome), T0 + i as i64)
                .unwrap();
        }
        let pages = |provider: Option<&str>, outcome: Option<InboundOutcome>, limit: u32| {
            let mut sizes = Vec::new();
            let mut seen = Vec::new();
            let mut before = None;
            loop {
                let query = InboundQuery {
                    provider: provider.map(str::to_owned),
                    outcome,
                    before,
                    limit,
                };
                let page = ledger.list_inbound(&query).unwrap();
                sizes.push(page.records.len());
                for record in &page.records {
                    assert!(provider.is_none_or(|p| record.provider == p), "{record:?}");
                    assert!(outcome.is_none_or(|o| record.outcome == o), "{record:?}");
                    assert!(!record.duplicate);
                }
                seen.extend(page.records.iter().map(|r| r.id));
                match page.next_before {
                    Some(cursor) => before = Some(cursor),
                    None => break,
                }
            }
            assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first: {seen:?}");
            sizes
        };
        let cases = [
            (None, None, 12, vec![12, 12, 6]),
            (None, None, MAX_PAGE, vec![30]),
            (Some("shopify"), None, 4, vec![4, 4, 2]),
            (None, Some(InboundOutcome::Rejected), 5, vec![5, 1]),
            // i ≡ 0 (mod 3) and i ≡ 0 (mod 5): i = 0, 15.
            (Some("generic"), Some(InboundOutcome::Applied), 1, vec![1, 1]),
            (Some("erp"), None, 10, vec![0]),
        ];
        for (provider, outcome, limit, sizes) in cases {
            assert_eq!(
                pages(provider, outcome, limit),
                sizes,
                "{name}: {provider:?} {outcome:?} by {limit}"
            );
        }
        assert!(ledger
            .list_inbound(&InboundQuery {
                limit: MAX_PAGE + 1,
                ..InboundQuery::default()
            })
            .is_err());

        assert_eq!(ledger.prune_inbound(T0 + 12).unwrap(), 12, "{name}");
        assert_eq!(pages(None, None, 100), [18], "{name}");
        // A pruned key is forgotten: the same delivery is logged afresh, with a new id.
        let again = ledger
            .record_inbound(&inbound("generic", "d0", InboundOutcome::Applied), T0 + 40)
            .unwrap();
        assert_eq!((again.duplicate, again.id), (false, 31), "{name}");
        let kept = ledger
            .record_inbound(&inbound("generic", "d12", InboundOutcome::Ignored), T0 + 41)
            .unwrap();
        assert!(kept.duplicate, "{name}");
    });
}

// ---------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------

const SHOP: &str = "woocommerce_remote:https://shop.example/";
const SHOPIFY: &str = "shopify:mystore.myshopify.com";

/// A listing's (remote id, pushed quantity and time, seen quantity and time).
type State<'a> = (Option<&'a str>, Option<i64>, Option<i64>, Option<i64>, Option<i64>);

fn state(listing: &Listing) -> State<'_> {
    (
        listing.remote_id.as_deref(),
        listing.last_pushed_quantity,
        listing.last_pushed_at,
        listing.last_seen_quantity,
        listing.last_seen_at,
    )
}

enum Write {
    RemoteId(Option<&'static str>),
    Pushed(i64),
    Seen(i64),
}

fn listings_round_trip(backend: &dyn Backend) {
    fresh_and_reopened(backend, "listings", |name, ledger| {
        use Write::*;
        // (channel, sku, write, now, expected state of that listing afterwards)
        let steps: Vec<(&str, &str, Write, i64, State<'static>)> = vec![
            (SHOP, "A", Pushed(7), T0, (None, Some(7), Some(T0), None, None)),
            (
                SHOP,
                "A",
                RemoteId(Some("101")),
                T0 + 1,
                (Some("101"), Some(7), Some(T0), None, None),
            ),
            (
                SHOP,
                "A",
                Seen(5),
                T0 + 2,
                (Some("101"), Some(7), Some(T0), Some(5), Some(T0 + 2)),
            ),
            (
                SHOP,
                " A ",
                Pushed(0),
                T0 + 3,
                (Some("101"), Some(0), Some(T0 + 3), Some(5), Some(T0 + 2)),
            ),
            (
                SHOP,
                "A",
                Seen(-2),
                T0 + 4,
                (Some("101"), Some(0), Some(T0 + 3), Some(-2), Some(T0 + 4)),
            ),
            // Another channel's listing of the same SKU is separate.
            (
                SHOPIFY,
                "A",
                RemoteId(Some("101")),
                T0 + 5,
                (Some("101"), None, None, None, None),
            ),
            // A remote id moves to the SKU the remote side now says it carries.
            (
                SHOP,
                "B",
                RemoteId(Some(" 101 ")),
                T0 + 6,
                (Some("101"), None, None, None, None),
            ),
            (SHOP, "B", RemoteId(Some("")), T0 + 7, (None, None, None, None, None)),
            (
                SHOP,
                "B",
                RemoteId(Some("102")),
                T0 + 8,
                (Some("102"), None, None, None, None),
            ),
            (SHOP, "B", RemoteId(None), T0 + 9, (None, None, None, None, None)),
        ];
        for (i, (channel, sku, write, now, want)) in steps.into_iter().enumerate() {
            let listing = match write {
                RemoteId(remote_id) => ledger.upsert_listing_remote_id(channel, sku, remote_id, now),
                Pushed(quantity) => ledger.record_listing_pushed(channel, sku, quantity, now),
                Seen(quantity) => ledger.record_listing_seen(channel, sku, quantity, now),
            }
            .unwrap();
            assert_eq!(state(&listing), want, "{name}: step {i}");
            assert_eq!(
                (listing.channel.as_str(), listing.sku.as_str()),
                (channel, sku.trim()),
                "{name}: step {i}"
            );
            assert_eq!(listing.updated_at, now, "{name}: step {i}");
            assert_eq!(ledger.listing(channel, sku).unwrap(), Some(listing), "{name}: step {i}");
        }
        let a = ledger.listing(SHOP, "A").unwrap().unwrap();
        assert_eq!(
            state(&a),
            (None, Some(0), Some(T0 + 3), Some(-2), Some(T0 + 4)),
            "{name}: 101 moved to B"
        );
        assert_eq!((a.created_at, a.updated_at), (T0, T0 + 6), "{name}");
        assert_eq!(ledger.listing(SHOPIFY, "B").unwrap(), None, "{name}");
        assert_eq!(ledger.listing(SHOP, "Z").unwrap(), None, "{name}");

        // Look-ups by remote id, per channel.
        ledger
            .upsert_listing_remote_id(SHOP, "A", Some("555"), T0 + 10)
            .unwrap();
        let lookups = [
            (SHOP, "555", Some("A")),
            (SHOPIFY, "101", Some("A")),
            (SHOP, "101", None),
            (SHOPIFY, "555", None),
        ];
        for (channel, remote_id, sku) in lookups {
            let found = ledger.listing_by_remote_id(channel, remote_id).unwrap();
            assert_eq!(
                found.as_ref().map(|l| l.sku.as_str()),
                sku,
                "{name}: {channel} {remote_id}"
            );
        }
    });
}

/// Connections giving one remote id to different SKUs at once, round after round: every write
/// succeeds, and the last round's id ends on exactly one listing (each SKU's own earlier ids were
/// replaced by its later ones).
fn connections_giving_one_remote_id_to_several_skus_leave_it_on_one(backend: &dyn Backend) {
    const SKUS: [&str; 4] = ["A", "B", "C", "D"];
    const ROUNDS: usize = 20;
    let shared = backend.shared();
    {
        let ledger = shared.connect();
        super::setup(&*ledger);
        for sku in ["C", "D"] {
            ledger.upsert_item(&super::item(sku, sku), T0).unwrap();
        }
    }
    let barrier = std::sync::Barrier::new(SKUS.len());
    std::thread::scope(|scope| {
        for sku in SKUS {
            let (shared, barrier) = (&shared, &barrier);
            scope.spawn(move || {
                let ledger = shared.connect();
                for round in 0..ROUNDS {
                    barrier.wait();
                    let remote_id = format!("r{round}");
                    let listing = ledger
                        .upsert_listing_remote_id(SHOP, sku, Some(&remote_id), T0 + round as i64)
                        .unwrap();
                    assert_eq!(listing.sku, sku);
                }
            });
        }
    });
    let ledger = shared.connect();
    let last = format!("r{}", ROUNDS - 1);
    assert_eq!(
        ledger.query_i64("SELECT COUNT(*) FROM listings WHERE remote_id IS NOT NULL"),
        1
    );
    let holder = ledger.listing_by_remote_id(SHOP, &last).unwrap().unwrap();
    assert_eq!(
        ledger.listing(SHOP, &holder.sku).unwrap().unwrap().remote_id,
        Some(last)
    );
}

fn listing_writes_refuse_bad_input_and_change_nothing(backend: &dyn Backend) {
    let ledger = ledger(backend);
    ledger.record_listing_pushed(SHOP, "A", 3, T0).unwrap();
    let before = ledger.dump();
    let cases: Vec<(crate::Result<Listing>, ErrorKind, &str)> = vec![
        (
            ledger.record_listing_pushed(SHOP, "Z", 1, T0),
            ErrorKind::NotFound,
            "unknown sku: Z",
        ),
        (
            ledger.record_listing_seen(SHOP, "a", 1, T0),
            ErrorKind::NotFound,
            "unknown sku: a",
        ),
        (
            ledger.upsert_listing_remote_id(SHOP, "Z", Some("1"), T0),
            ErrorKind::NotFound,
            "unknown sku",
        ),
        (
            ledger.record_listing_pushed(SHOP, "A", -1, T0),
            ErrorKind::Validation,
            "quantity",
        ),
        (
            ledger.record_listing_seen(SHOP, "A", MAX_QUANTITY + 1, T0),
            ErrorKind::Validation,
            "quantity",
        ),
        (
            ledger.record_listing_pushed(" ", "A", 1, T0),
            ErrorKind::Validation,
            "channel",
        ),
        (
            ledger.record_listing_pushed(SHOP, "", 1, T0),
            ErrorKind::Validation,
            "sku",
        ),
        (
            ledger.upsert_listing_remote_id(SHOP, "A", Some(&"r".repeat(201)), T0),
            ErrorKind::Validation,
            "remote_id",
        ),
    ];
    for (i, (result, kind, text)) in cases.into_iter().enumerate() {
        let error = result.unwrap_err();
        assert_eq!(error.kind(), kind, "case {i}: {error}");
        assert!(error.to_string().contains(text), "case {i}: {error} lacks {text:?}");
    }
    assert_eq!(ledger.dump(), before);
}

store_tests!([sqlite, mariadb]:
    an_inbound_event_is_logged_once_per_dedup_key,
    several_connections_log_one_delivery_once,
    the_inbound_log_pages_with_filters_and_prunes,
    listings_round_trip,
    listing_writes_refuse_bad_input_and_change_nothing,
    connections_giving_one_remote_id_to_several_skus_leave_it_on_one,
);

mod api_requests {
    use super::super::{fresh_and_reopened, Backend, T0};
    use crate::error::ErrorKind;
    use crate::ledger::requests::LATENCY_BUCKETS;
    use crate::ledger::{ActivityQuery, ApiRequest};

    fn request(route: &str, method: &str, status: u16, ms: u64) -> ApiRequest {
        ApiRequest {
            route: route.into(),
            method: method.into(),
            status,
            duration_us: ms * 1_000,
        }
    }

    fn days(since: i64, count: i64) -> ActivityQuery {
        ActivityQuery {
            since,
            until: since + count * 86_400,
            bucket_seconds: 86_400,
            offset_seconds: 0,
            kind: None,
        }
    }

    fn requests_are_counted_per_hour_and_route_and_read_per_day_and_route(backend: &dyn Backend) {
        fresh_and_reopened(backend, "api-requests", |name, ledger| {
            let day = T0 - T0.rem_euclid(86_400);
            let movements = "/inventory-sync/v1/movements";
            let stock = "/inventory-sync/v1/stock/{sku}";
            for (i, status) in [201, 201, 200, 400, 401, 500].iter().enumerate() {
                ledger
                    .record_api_request(&request(movements, "post", *status, 20 + i as u64), day + 60 * i as i64)
                    .unwrap();
            }
            for _ in 0..3 {
                ledger
                    .record_api_request(&request(stock, "GET", 200, 3), day + 3 * 3_600)
                    .unwrap();
            }
            // The next day, one slow request.
            ledger
                .record_api_request(&request(stock, "GET", 200, 900), day + 86_400 + 5)
                .unwrap();

            let buckets = ledger.api_activity(&days(day, 3)).unwrap();
            let summary: Vec<(i64, u64, u64, u64)> = buckets
                .iter()
                .map(|b| (b.start, b.stats.requests, b.stats.client_errors, b.stats.server_errors))
                .collect();
            assert_eq!(
                summary,
                [(day, 9, 2, 1), (day + 86_400, 1, 0, 0), (day + 2 * 86_400, 0, 0, 0)],
                "{name}"
            );
            let first = &buckets[0].stats;
            assert_eq!(first.total_us, (20 + 21 + 22 + 23 + 24 + 25 + 3 * 3) * 1_000, "{name}");
            assert_eq!(first.max_us, 25_000, "{name}");
            assert_eq!(first.histogram.iter().sum::<u64>(), 9, "{name}");
            assert_eq!(
                (first.histogram[0], first.histogram[2]),
                (3, 6),
                "{name}: ≤ 5 ms and ≤ 25 ms"
            );
            assert_eq!(first.percentile_ms(95.0), Some(25.0), "{name}");
            assert_eq!(buckets[1].stats.percentile_ms(95.0), Some(900.0), "{name}");

            let routes = ledger.api_routes(day, day + 2 * 86_400).unwrap();
            let summary: Vec<(&str, &str, u64)> = routes
                .iter()
                .map(|r| (r.route.as_str(), r.method.as_str(), r.stats.requests))
                .collect();
            assert_eq!(
                summary,
                [(movements, "POST", 6), (stock, "GET", 4)],
                "{name}: busiest first"
            );
            let only_first_day = ledger.api_routes(day, day + 86_400).unwrap();
            assert_eq!(only_first_day[1].stats.requests, 3, "{name}");

            // Pruning drops whole hours that ended before the cut.
            assert_eq!(ledger.prune_api_requests(day + 86_400).unwrap(), 2, "{name}");
            let left = ledger.api_activity(&days(day, 2)).unwrap();
            assert_eq!((left[0].stats.requests, left[1].stats.requests), (0, 1), "{name}");
        });
    }

    fn bad_requests_and_queries_are_refused_and_change_nothing(backend: &dyn Backend) {
        let ledger = super::super::ledger(backend);
        let day = T0 - T0.rem_euclid(86_400);
        for bad in [
            request("", "GET", 200, 1),
            request("/r", "BREW", 200, 1),
            request("/r", "GET", 42, 1),
            request("/r", "GET", 200, 86_400_001),
        ] {
            let error = ledger.record_api_request(&bad, day).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Validation, "{bad:?}");
        }
        assert_eq!(ledger.api_activity(&days(day, 1)).unwrap()[0].stats.requests, 0);
        assert_eq!(ledger.api_routes(day, day).unwrap_err().kind(), ErrorKind::Validation);
        let backwards = ActivityQuery {
            until: day - 1,
            ..days(day, 1)
        };
        assert_eq!(
            ledger.api_activity(&backwards).unwrap_err().kind(),
            ErrorKind::Validation
        );
    }

    fn every_latency_bucket_has_its_column(backend: &dyn Backend) {
        let ledger = super::super::ledger(backend);
        let day = T0 - T0.rem_euclid(86_400);
        let durations_ms = [1, 6, 11, 26, 51, 101, 251, 501, 1_001, 2_501, 5_001, 10_001];
        assert_eq!(durations_ms.len(), LATENCY_BUCKETS);
        for ms in durations_ms {
            ledger.record_api_request(&request("/r", "GET", 200, ms), day).unwrap();
        }
        let stats = &ledger.api_activity(&days(day, 1)).unwrap()[0].stats;
        assert_eq!(stats.histogram, [1; LATENCY_BUCKETS]);
    }

    fn workers_counting_at_once_lose_no_request(backend: &dyn Backend) {
        let shared = backend.shared();
        drop(shared.connect());
        let day = T0 - T0.rem_euclid(86_400);
        std::thread::scope(|scope| {
            for worker in 0..4 {
                let shared = &shared;
                scope.spawn(move || {
                    let ledger = shared.connect();
                    for i in 0..50 {
                        let status = if (worker + i) % 10 == 0 { 429 } else { 200 };
                        ledger
                            .record_api_request(&request("/r", "POST", status, 10), day + i)
                            .unwrap();
                    }
                });
            }
        });
        let stats = &shared.connect().api_activity(&days(day, 1)).unwrap()[0].stats;
        assert_eq!((stats.requests, stats.client_errors), (200, 20));
    }

    store_tests!([sqlite, mariadb]:
        requests_are_counted_per_hour_and_route_and_read_per_day_and_route,
        bad_requests_and_queries_are_refused_and_change_nothing,
        every_latency_bucket_has_its_column,
        workers_counting_at_once_lose_no_request,
    );
}
