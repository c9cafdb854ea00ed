//! The eBay adapter against the loopback fake (`tests/fakes/ebay.rs`).

mod fakes;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fakes::ebay::{EbayFake, SCOPE, START, TOKEN_PATH};
use fakes::Misbehave;
use inventory_sync::channels::ebay::{Ebay, EbayConfig, LOOKUP_CONCURRENCY};
use inventory_sync::channels::oauth2::{CachedToken, RefreshCredentials};
use inventory_sync::channels::{Channel, ChannelKind, Failure, Outcome, Push, PushReport, Secret};
use serde_json::json;

const CLIENT_ID: &str = "Shop-Inventor-PRD-1234567";
const CLIENT_SECRET: &str = "PRD-cert-secret-98765";
const REFRESH: &str = "v^1.1#i^1#r^1#refresh-token";

fn config(fake: &EbayFake, secret: &str) -> EbayConfig {
    let credentials = RefreshCredentials::new(Secret::new(CLIENT_ID), Secret::new(secret), Secret::new(REFRESH));
    let mut config = EbayConfig::new(fake.url(), credentials);
    config.http = fakes::fast_http();
    config.now = fake.clock();
    config
}

fn adapter(fake: &EbayFake) -> Ebay {
    Ebay::new(config(fake, CLIENT_SECRET)).expect("adapter")
}

fn push(sku: &str, quantity: i64) -> Push {
    Push {
        sku: sku.into(),
        quantity,
        idempotency_key: format!("job-{sku}-{quantity}"),
        remote_id: None,
        last_known_remote: None,
    }
}

fn known(sku: &str, quantity: i64, offers: &[String]) -> Push {
    Push {
        remote_id: Some(format!("{sku}|{}", offers.join(","))),
        ..push(sku, quantity)
    }
}

/// `count` items `{prefix}00`, `{prefix}01`, … on the fake (none in stock, one offer each), to be
/// pushed at `quantity`, their offers not known to the adapter yet (so they are looked up).
fn new_items(fake: &EbayFake, prefix: &str, count: i64, quantity: i64) -> Vec<Push> {
    (0..count)
        .map(|i| {
            let sku = format!("{prefix}{i:02}");
            fake.add_item(&sku, 0, 1);
            push(&sku, quantity)
        })
        .collect()
}

/// `count` items as [`new_items`] makes them, each pushed at `quantity(i)` with its offer
/// known (no look-up).
fn known_items(fake: &EbayFake, prefix: &str, count: i64, quantity: impl Fn(i64) -> i64) -> Vec<Push> {
    (0..count)
        .map(|i| {
            let sku = format!("{prefix}{i:02}");
            let offers = fake.add_item(&sku, 0, 1);
            known(&sku, quantity(i), &offers)
        })
        .collect()
}

fn failure<'a>(report: &'a PushReport, sku: &str) -> &'a Failure {
    report
        .result(sku)
        .and_then(|r| r.failure())
        .unwrap_or_else(|| panic!("{sku} did not fail: {report:?}"))
}

fn paths(report: &PushReport) -> Vec<String> {
    report
        .calls
        .iter()
        .map(|c| format!("{} {} {:?}", c.method, c.path, c.status))
        .collect()
}

#[test]
fn calls_reuse_their_connections() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let pushes = new_items(&fake, "S", 25, 4);
    let mut ebay = adapter(&fake);
    let report = ebay.push(&pushes).expect("push");
    assert_eq!(report.applied(), 25, "{report:?}");
    // A token, 25 look-ups in waves of 8, one update: the first wave's connections (the token's
    // among them) stay open for the rest, as with eBay's own servers.
    assert_eq!(report.calls.len(), 27);
    assert!(
        fake.connections() <= LOOKUP_CONCURRENCY as u64,
        "{} connections for 27 calls",
        fake.connections()
    );
    let opened = fake.connections();
    let again: Vec<Push> = report
        .results
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Applied { remote_id, .. } => Push {
                remote_id: Some(remote_id.clone()),
                ..push(&r.sku, 3)
            },
            other => panic!("{}: {other:?}", r.sku),
        })
        .collect();
    let report = ebay.push(&again).expect("push");
    assert_eq!((report.applied(), report.calls.len()), (25, 1));
    assert_eq!(fake.connections(), opened, "the next push needed no new connection");
    assert_eq!(fake.quantity("S07"), Some(3));
}

#[test]
fn push_sets_item_and_offer_quantities_after_one_token_and_lookups() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let a = fake.add_item("A", 1, 2);
    let b = fake.add_item("B", 1, 1);
    let mut ebay = adapter(&fake);
    assert_eq!(ebay.kind(), ChannelKind::Ebay);
    assert_eq!(ebay.max_batch(), 25);

    let report = ebay.push(&[push("A", 7), push("B", 3)]).expect("push");
    assert_eq!(report.applied(), 2, "{report:?}");
    assert_eq!(
        report.result("A").map(|r| r.outcome.clone()),
        Some(Outcome::Applied {
            remote_id: format!("A|{}", a.join(",")),
            quantity_after: None,
            observed_before: None,
        })
    );
    assert_eq!(
        paths(&report),
        vec![
            format!("POST {TOKEN_PATH} Some(200)"),
            "GET /sell/inventory/v1/offer Some(200)".to_string(),
            "GET /sell/inventory/v1/offer Some(200)".to_string(),
            "POST /sell/inventory/v1/bulk_update_price_quantity Some(200)".to_string(),
        ]
    );
    assert_eq!((fake.quantity("A"), fake.offer_quantities("A")), (Some(7), vec![7, 7]));
    assert_eq!((fake.quantity("B"), fake.offer_quantities("B")), (Some(3), vec![3]));

    let update = &fake.bulk_updates()[0];
    assert_eq!(
        update.body,
        json!({ "requests": [
            { "sku": "A", "shipToLocationAvailability": { "quantity": 7 },
              "offers": [{ "offerId": a[0], "availableQuantity": 7 }, { "offerId": a[1], "availableQuantity": 7 }] },
            { "sku": "B", "shipToLocationAvailability": { "quantity": 3 },
              "offers": [{ "offerId": b[0], "availableQuantity": 3 }] },
        ] })
    );
    assert_eq!(update.authorization.as_deref(), Some("Bearer v^1.1#i^1#fake-1"));

    // Cached token and offers: the next push is one call; a negative quantity is sent as 0.
    let report = ebay.push(&[push("A", -2)]).expect("push");
    assert_eq!(report.applied(), 1, "{report:?}");
    assert_eq!(report.calls.len(), 1);
    assert_eq!(fake.quantity("A"), Some(0));
    assert_eq!(fake.token_requests().len(), 1);
}

#[test]
fn the_token_request_is_a_basic_authenticated_refresh_grant_with_the_scope() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    fake.add_item("A", 1, 1);
    let mut ebay = adapter(&fake);
    ebay.lookup(&["A".to_string()]).expect("lookup");
    let token = &fake.token_requests()[0];
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(token.authorization.as_deref(), Some(format!("Basic {basic}").as_str()));
    // The fake refuses any other grant, refresh token or scope; the adapter got a token.
    assert_eq!(
        ebay.cached_token().map(|t| t.expires_at),
        Some(START + 7200),
        "expiry counts from the injected clock"
    );
    assert_eq!(SCOPE, inventory_sync::channels::ebay::INVENTORY_SCOPE);
}

#[test]
fn lookup_returns_published_offers_and_read_reports_item_quantities() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let a = fake.add_item_with(
        "A",
        4,
        &[
            ("EBAY_US", "PUBLISHED"),
            ("EBAY_DE", "UNPUBLISHED"),
            ("EBAY_GB", "PUBLISHED"),
        ],
    );
    fake.add_item_with("DRAFT", 2, &[("EBAY_US", "UNPUBLISHED")]);
    fake.add_item("NO-OFFERS", 5, 0);
    let mut ebay = adapter(&fake);
    let skus: Vec<String> = ["A", "DRAFT", "NO-OFFERS", "MISSING"].map(String::from).to_vec();
    assert_eq!(
        ebay.lookup(&skus).expect("lookup"),
        vec![("A".to_string(), format!("A|{},{}", a[0], a[2]))]
    );
    assert_eq!(ebay.take_calls().len(), 5, "a token and one getOffers per SKU");
    assert_eq!(
        ebay.read(&skus).expect("read"),
        vec![
            ("A".to_string(), 4),
            ("DRAFT".to_string(), 2),
            ("NO-OFFERS".to_string(), 5)
        ]
    );
    let report = ebay.push(&[push("DRAFT", 1), push("MISSING", 1)]).expect("push");
    for sku in ["DRAFT", "MISSING"] {
        let f = failure(&report, sku);
        assert!(!f.retryable && f.code.as_deref() == Some("NOT_FOUND"), "{f:?}");
    }

    // Only one marketplace when configured.
    let mut config = config(&fake, CLIENT_SECRET);
    config.marketplace_id = Some("EBAY_GB".into());
    let mut gb = Ebay::new(config).expect("adapter");
    assert_eq!(
        gb.lookup(&["A".to_string()]).expect("lookup"),
        vec![("A".to_string(), format!("A|{}", a[2]))]
    );
}

#[test]
fn reads_take_at_most_25_skus_per_call() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let skus: Vec<String> = (0..30).map(|i| format!("R{i:02}")).collect();
    for (i, sku) in skus.iter().enumerate() {
        fake.add_item(sku, i as i64, 1);
    }
    let mut ebay = adapter(&fake);
    let read = ebay.read(&skus).expect("read");
    assert_eq!(read.len(), 30);
    assert_eq!(read[29], ("R29".to_string(), 29));
    let sizes: Vec<usize> = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/bulk_get_inventory_item"))
        .map(|r| r.body["requests"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, vec![25, 5]);
}

#[test]
fn sixty_skus_take_exactly_three_calls_of_at_most_25() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let items = known_items(&fake, "E", 60, |i| i);
    let mut ebay = adapter(&fake);
    let report = ebay.push(&items).expect("push");
    assert_eq!(report.applied(), 60, "{report:?}");
    let sizes: Vec<usize> = fake
        .bulk_updates()
        .iter()
        .map(|r| r.body["requests"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, vec![25, 25, 10]);
    assert_eq!(report.calls.len(), 4, "one token request and three updates");
    assert_eq!(fake.quantity("E59"), Some(59));

    // Offers count too: SKUs with 10 offers go three to a call (30 would exceed 25).
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let items: Vec<Push> = (0..5)
        .map(|i| {
            let sku = format!("M{i}");
            let offers = fake.add_item(&sku, 0, 10);
            known(&sku, 1, &offers)
        })
        .collect();
    let report = adapter(&fake).push(&items).expect("push");
    assert_eq!(report.applied(), 5, "{report:?}");
    let sizes: Vec<usize> = fake
        .bulk_updates()
        .iter()
        .map(|r| r.body["requests"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);

    // The strict reading of the method page: one SKU per call.
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let items: Vec<Push> = ["S1", "S2", "S3"]
        .iter()
        .map(|sku| {
            let offers = fake.add_item(sku, 0, 1);
            known(sku, 2, &offers)
        })
        .collect();
    let mut config = config(&fake, CLIENT_SECRET);
    config.max_skus_per_call = 1;
    let mut strict = Ebay::new(config).expect("adapter");
    assert_eq!(strict.max_batch(), 1);
    assert_eq!(strict.push(&items).expect("push").applied(), 3);
    assert_eq!(fake.bulk_updates().len(), 3);
}

#[test]
fn the_fake_refuses_more_than_25_items_and_unknown_fields() {
    // The batch-limit tests above mean something only if the fake really refuses.
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let mut ebay = adapter(&fake);
    ebay.read(&["X".to_string()]).expect("a token");
    let token = ebay.cached_token().expect("token");
    let agent = inventory_sync::channels::http::agent(&fakes::fast_http());
    let send = |body: serde_json::Value| {
        let mut response = agent
            .post(format!("{}/sell/inventory/v1/bulk_update_price_quantity", fake.url()))
            .header("Authorization", format!("Bearer {}", token.access_token.expose()))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .expect("answer");
        let status = response.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("json");
        (status, body["errors"][0]["errorId"].as_i64())
    };
    let requests: Vec<_> = (0..26)
        .map(|i| json!({ "sku": format!("S{i}"), "shipToLocationAvailability": { "quantity": 1 } }))
        .collect();
    assert_eq!(send(json!({ "requests": requests })), (400, Some(25709)));
    assert_eq!(
        send(json!({ "requests": [{ "sku": "S", "shipToLocationAvailability": { "qty": 1 } }] })),
        (400, Some(2004))
    );
}

#[test]
fn the_token_is_cached_refreshed_near_expiry_and_can_be_persisted() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let offers = fake.add_item("A", 0, 1);
    let mut ebay = adapter(&fake);
    for quantity in 1..=5 {
        assert_eq!(ebay.push(&[known("A", quantity, &offers)]).expect("push").applied(), 1);
    }
    assert_eq!(fake.token_requests().len(), 1, "one token for many pushes");

    // Fresh until 60 s before expiry; then a new one is requested before the call.
    fake.advance(7200 - 61);
    ebay.push(&[known("A", 6, &offers)]).expect("push");
    assert_eq!(fake.token_requests().len(), 1);
    fake.advance(1);
    let report = ebay.push(&[known("A", 7, &offers)]).expect("push");
    assert_eq!(report.applied(), 1);
    assert_eq!(report.calls[0].path, TOKEN_PATH);
    assert_eq!(fake.token_requests().len(), 2);

    // Persisted across PHP requests: a new adapter reuses the token.
    let saved: CachedToken = ebay.cached_token().expect("token");
    assert_eq!(saved.expires_at, START + 7200 - 60 + 7200);
    let mut next = adapter(&fake).with_cached_token(saved.clone());
    let report = next.push(&[known("A", 8, &offers)]).expect("push");
    assert_eq!(report.calls.len(), 1, "{report:?}");
    assert_eq!(fake.token_requests().len(), 2);
    assert_eq!(next.cached_token(), Some(saved));
}

#[test]
fn a_401_gets_a_new_token_once() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let offers = fake.add_item("A", 0, 1);
    let mut ebay = adapter(&fake);
    ebay.push(&[known("A", 1, &offers)]).expect("push");
    fake.revoke_tokens();
    let report = ebay.push(&[known("A", 2, &offers)]).expect("push");
    assert_eq!(report.applied(), 1, "{report:?}");
    assert_eq!(
        paths(&report),
        vec![
            "POST /sell/inventory/v1/bulk_update_price_quantity Some(401)".to_string(),
            format!("POST {TOKEN_PATH} Some(200)"),
            "POST /sell/inventory/v1/bulk_update_price_quantity Some(200)".to_string(),
        ]
    );

    // A second 401 right after the refresh is final: permanent, and the push stops.
    fake.misbehave(Misbehave::Status(401, None));
    fake.misbehave(Misbehave::Status(401, None));
    let b = fake.add_item("B", 0, 1);
    let report = ebay.push(&[known("A", 3, &offers), known("B", 3, &b)]).expect("push");
    let f = failure(&report, "A");
    assert!(!f.retryable && f.code.as_deref() == Some("401"), "{f:?}");
    assert_eq!(report.calls.len(), 3, "{:?}", paths(&report));
    assert_eq!(fake.token_requests().len(), 3);
}

#[test]
fn a_wrong_client_secret_is_a_readable_permanent_failure_without_the_secret() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let a = fake.add_item("A", 1, 1);
    let b = fake.add_item("B", 1, 1);
    let wrong = "PRD-wrong-secret-000";
    let mut ebay = Ebay::new(config(&fake, wrong)).expect("adapter");
    let report = ebay.push(&[known("A", 2, &a), known("B", 2, &b)]).expect("push");
    for sku in ["A", "B"] {
        let f = failure(&report, sku);
        assert!(!f.retryable);
        assert_eq!(
            f.reason,
            "eBay refused the token request: HTTP 401: client authentication failed (invalid_client)"
        );
        assert_eq!(f.code.as_deref(), Some("invalid_client"));
    }
    assert_eq!(report.calls.len(), 1, "one token request, not one per batch");
    let error = ebay.lookup(&["A".to_string()]).expect_err("refused");
    assert!(!error.is_retryable());
    let everything = format!("{report:?} {error:?} {ebay:?}");
    for secret in [wrong, CLIENT_SECRET, REFRESH] {
        assert!(!everything.contains(secret), "{everything}");
    }
    assert_eq!(fake.quantity("A"), Some(1));
}

#[test]
fn a_token_endpoint_outage_is_retryable() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let a = fake.add_item("A", 1, 1);
    fake.misbehave_token(Misbehave::Status(503, Some("20".into())));
    let mut ebay = adapter(&fake);
    let report = ebay.push(&[known("A", 2, &a)]).expect("push");
    let f = failure(&report, "A");
    assert!(f.retryable && f.retry_after == Some(20), "{f:?}");
    assert!(
        f.reason.starts_with("eBay refused the token request: HTTP 503"),
        "{}",
        f.reason
    );
    assert_eq!(ebay.push(&[known("A", 2, &a)]).expect("push").applied(), 1);
}

#[test]
fn failure_classes() {
    type Check = fn(&Failure) -> bool;
    let cases: Vec<(Misbehave, Check)> = vec![
        (Misbehave::Status(429, Some("12".into())), |f| {
            f.retryable && f.retry_after == Some(12) && f.code.as_deref() == Some("429")
        }),
        (Misbehave::Status(429, None), |f| f.retryable && f.retry_after.is_none()),
        (Misbehave::Status(503, None), |f| f.retryable),
        (Misbehave::Status(500, None), |f| f.retryable),
        (Misbehave::Slow(Duration::from_millis(1500)), |f| {
            f.retryable && f.code.as_deref() == Some("timeout")
        }),
        (Misbehave::Drop, |f| {
            f.retryable && f.code.as_deref() == Some("connection")
        }),
        (Misbehave::Status(400, None), |f| {
            !f.retryable && f.reason == "HTTP 400 Bad Request: fake status 400"
        }),
        (Misbehave::Status(403, None), |f| !f.retryable),
    ];
    for (what, check) in cases {
        let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
        let offers = fake.add_item("A", 1, 1);
        fake.misbehave(what.clone());
        let mut ebay = adapter(&fake);
        let started = Instant::now();
        let report = ebay.push(&[known("A", 2, &offers)]).expect("push");
        assert!(started.elapsed() < Duration::from_secs(3), "{what:?} took too long");
        let f = failure(&report, "A");
        assert!(check(f), "{what:?}: {f:?}");
        assert_eq!(fake.quantity("A"), Some(1));
    }
}

#[test]
fn a_retryable_failure_stops_the_remaining_batches() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let items = known_items(&fake, "E", 60, |_| 1);
    fake.misbehave(Misbehave::Status(429, Some("30".into())));
    let mut ebay = adapter(&fake);
    let report = ebay.push(&items).expect("push");
    assert_eq!(fake.bulk_updates().len(), 1);
    let last = failure(&report, "E59");
    assert!(last.retryable && last.retry_after == Some(30));
    assert!(last.reason.starts_with("not sent: HTTP 429"), "{}", last.reason);
    assert_eq!(report.applied(), 0);
}

#[test]
fn a_partial_batch_failure_leaves_the_others_applied() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let offers: Vec<Vec<String>> = ["A", "B", "C", "D"].iter().map(|s| fake.add_item(s, 0, 1)).collect();
    fake.fail_sku("B", 25604, 400);
    fake.fail_sku("C", 25001, 500);
    let mut ebay = adapter(&fake);
    let items: Vec<Push> = ["A", "B", "C", "D"]
        .iter()
        .zip(&offers)
        .map(|(sku, o)| known(sku, 5, o))
        .collect();
    let report = ebay.push(&items).expect("push");
    assert_eq!(fake.bulk_updates().len(), 1);
    assert!(report.result("A").is_some_and(|r| r.is_applied()));
    assert!(report.result("D").is_some_and(|r| r.is_applied()));
    let b = failure(&report, "B");
    assert!(!b.retryable && b.code.as_deref() == Some("25604"), "{b:?}");
    assert_eq!(
        b.reason,
        format!(
            "eBay refused the quantity for offer {} (400): fake refusal 25604",
            offers[1][0]
        )
    );
    let c = failure(&report, "C");
    assert!(c.retryable && c.code.as_deref() == Some("25001"), "{c:?}");
    assert_eq!(
        ["A", "B", "C", "D"].map(|s| fake.quantity(s)),
        [Some(5), Some(0), Some(0), Some(5)]
    );
}

#[test]
fn an_unavailable_offer_is_looked_up_again_once() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    fake.add_item("A", 1, 1);
    let mut ebay = adapter(&fake);
    ebay.lookup(&["A".to_string()]).expect("lookup");
    let relisted = fake.relist("A");
    let report = ebay.push(&[push("A", 8)]).expect("push");
    assert_eq!(
        report.results[0].outcome,
        Outcome::Applied {
            remote_id: format!("A|{}", relisted[0]),
            quantity_after: None,
            observed_before: None,
        }
    );
    assert_eq!(
        paths(&report),
        vec![
            "POST /sell/inventory/v1/bulk_update_price_quantity Some(207)".to_string(),
            "GET /sell/inventory/v1/offer Some(200)".to_string(),
            "POST /sell/inventory/v1/bulk_update_price_quantity Some(200)".to_string(),
        ]
    );
    assert_eq!(fake.offer_quantities("A"), vec![8]);

    // A stale stored remote id is corrected by the one look-up.
    let report = ebay.push(&[known("A", 9, &["123".to_string()])]).expect("push");
    assert!(report.result("A").is_some_and(|r| r.is_applied()), "{report:?}");
    assert_eq!(report.calls.len(), 3);

    // Still unavailable after the look-up found the same offers: the refusal stands.
    fake.fail_sku("A", 25713, 404);
    let report = ebay.push(&[push("A", 9)]).expect("push");
    let f = failure(&report, "A");
    assert_eq!(f.code.as_deref(), Some("25713"));
    assert_eq!(report.calls.len(), 2, "one update and one look-up, no second update");
}

#[test]
fn the_pacer_is_asked_once_per_http_call() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    for sku in ["A", "B", "C"] {
        fake.add_item(sku, 0, 1);
    }
    let (pacer, count) = fakes::counting_pacer();
    let mut ebay = adapter(&fake).with_pacer(pacer);
    fake.revoke_tokens();
    let report = ebay
        .push(&[push("A", 1), push("B", 1), push("MISSING", 1)])
        .expect("push");
    assert_eq!(report.calls.len(), 5, "token, three look-ups, one update");
    assert_eq!(count.load(Ordering::SeqCst), report.calls.len());
    fake.revoke_tokens(); // the read gets a 401, a new token and a second try
    ebay.read(&["A".to_string(), "C".to_string()]).expect("read");
    ebay.lookup(&["C".to_string()]).expect("lookup");
    let calls = ebay.take_calls();
    assert_eq!(calls.len(), 4);
    assert_eq!(count.load(Ordering::SeqCst), report.calls.len() + calls.len());
    assert_eq!(fake.requests().len(), count.load(Ordering::SeqCst));
}

#[test]
fn unknown_skus_are_looked_up_several_at_a_time_and_answered_in_order() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let skus: Vec<String> = (0..25).map(|i| format!("L{i:02}")).collect();
    let offers: Vec<Vec<String>> = skus.iter().map(|sku| fake.add_item(sku, 0, 1)).collect();
    // One SKU without any offer, one given twice, one with its offers known.
    let mut items: Vec<Push> = skus.iter().enumerate().map(|(i, sku)| push(sku, i as i64)).collect();
    items[3] = push("NOPE", 1);
    items[20] = known(&skus[20], 20, &offers[20]);
    items.push(push(&skus[5], 55));
    let (pacer, count) = fakes::counting_pacer();
    let mut ebay = adapter(&fake).with_pacer(pacer);
    let report = ebay.push(&items).expect("push");

    assert_eq!(report.results.len(), items.len());
    for (result, item) in report.results.iter().zip(&items) {
        assert_eq!(result.sku, item.sku, "results in item order");
    }
    assert_eq!(failure(&report, "NOPE").code.as_deref(), Some("NOT_FOUND"));
    assert_eq!(report.applied(), 25, "{report:?}");
    let lookups = 24; // 25 SKUs less the known one; the repeated SKU is looked up once
    let expected: Vec<String> = std::iter::once(format!("POST {TOKEN_PATH} Some(200)"))
        .chain((0..lookups).map(|i| {
            let status = if i == 3 { 400 } else { 200 };
            format!("GET /sell/inventory/v1/offer Some({status})")
        }))
        // 25 entries, L05 twice: a SKU goes once per call, so two calls.
        .chain(std::iter::repeat_n(
            "POST /sell/inventory/v1/bulk_update_price_quantity Some(200)".to_string(),
            2,
        ))
        .collect();
    assert_eq!(paths(&report), expected);
    assert_eq!(count.load(Ordering::SeqCst), report.calls.len(), "every call paced");
    assert_eq!(fake.requests().len(), report.calls.len());
    let looked_up: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .filter_map(|r| r.query.iter().find(|(k, _)| k == "sku").map(|(_, v)| v.clone()))
        .collect();
    let mut sorted = looked_up.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), lookups, "each unknown SKU looked up once: {looked_up:?}");
    for (i, sku) in skus.iter().enumerate() {
        match i {
            3 => assert_eq!(fake.quantity(sku), Some(0)),
            // The second push of L05 in the same push came later: it stands.
            5 => assert_eq!((fake.quantity(sku), fake.offer_quantities(sku)[0]), (Some(55), 55)),
            _ => assert_eq!(
                (fake.quantity(sku), fake.offer_quantities(sku)),
                (Some(i as i64), vec![i as i64; offers[i].len()])
            ),
        }
    }
    // Found offers are remembered: another push of those SKUs makes no look-up.
    let report = ebay.push(&[push(&skus[0], 9), push(&skus[24], 9)]).expect("push");
    assert_eq!(report.calls.len(), 1, "{:?}", paths(&report));
}

#[test]
fn a_throttled_look_up_stops_the_push_after_its_wave() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let items = new_items(&fake, "T", 20, 4);
    let mut ebay = adapter(&fake);
    ebay.lookup(&["T00".to_string()]).expect("a token first");
    let requests_before = fake.requests().len();
    fake.misbehave(Misbehave::Status(429, Some("7".into())));
    let report = ebay.push(&items).expect("push");
    // T00 is known (looked up before); the first wave of 8 look-ups went out, one was refused,
    // and nothing else was sent.
    assert_eq!(fake.requests().len() - requests_before, 8, "{:?}", paths(&report));
    assert!(fake.bulk_updates().is_empty());
    assert_eq!(report.applied(), 0);
    let failures: Vec<&Failure> = items.iter().map(|i| failure(&report, &i.sku)).collect();
    assert!(
        failures.iter().all(|f| f.retryable && f.retry_after == Some(7)),
        "{failures:?}"
    );
    let throttled: Vec<&&Failure> = failures.iter().filter(|f| f.reason.starts_with("HTTP 429")).collect();
    assert_eq!(throttled.len(), 1, "{failures:?}");
    assert!(failures
        .iter()
        .filter(|f| !f.reason.starts_with("HTTP 429"))
        .all(|f| f.reason.starts_with("not sent: HTTP 429")));
}

#[test]
fn look_ups_refused_for_a_stale_token_get_one_new_token() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let items = new_items(&fake, "R", 6, 6);
    let mut ebay = adapter(&fake);
    ebay.lookup(&["R00".to_string()]).expect("a token first");
    fake.revoke_tokens();
    let report = ebay.push(&items[1..]).expect("push");
    assert_eq!(report.applied(), 5, "{report:?}");
    assert_eq!(fake.token_requests().len(), 2, "one new token for the whole wave");
    let statuses: Vec<Option<u16>> = report.calls.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == Some(401)).count(),
        5,
        "{:?}",
        paths(&report)
    );
    assert_eq!(fake.quantity("R05"), Some(6));
}

#[test]
fn prepare_looks_up_a_whole_claim_so_its_pushes_only_write() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let mut items = new_items(&fake, "P", 60, 7);
    items.push(push("GONE", 3)); // no such SKU on eBay
    let offers = fake.add_item("KNOWN", 0, 1);
    items.push(known("KNOWN", 4, &offers)); // its offers are known: not looked up
    let (pacer, count) = fakes::counting_pacer();
    let mut ebay = adapter(&fake).with_pacer(pacer);

    ebay.prepare(&items);
    let calls = ebay.take_calls();
    let lookups = calls.iter().filter(|c| c.method == "GET").count();
    assert_eq!(lookups, 61, "each SKU without known offers once: {calls:?}");
    assert_eq!(calls.len(), 62, "and one token: {calls:?}");
    assert_eq!(count.load(Ordering::SeqCst), 62, "every call paced");
    assert!(fake.bulk_updates().is_empty(), "prepare writes nothing");

    // The pushes, batch by batch, only write; the SKU eBay does not have is reported without
    // asking again.
    let mut applied = 0;
    for batch in items.chunks(25) {
        let report = ebay.push(batch).expect("push");
        assert!(
            paths(&report)
                .iter()
                .all(|p| p.starts_with("POST /sell/inventory/v1/bulk_update")),
            "{:?}",
            paths(&report)
        );
        applied += report.applied();
        if let Some(result) = report.result("GONE") {
            assert_eq!(result.failure().and_then(|f| f.code.as_deref()), Some("NOT_FOUND"));
        }
    }
    assert_eq!(applied, 61);
    assert_eq!(fake.requests().iter().filter(|r| r.method == "GET").count(), 61);
    for item in &items[..60] {
        assert_eq!(fake.quantity(&item.sku), Some(7), "{}", item.sku);
    }
    assert_eq!(fake.quantity("KNOWN"), Some(4));

    // Remembered only for the next push: a later push of GONE asks again.
    fake.add_item("GONE", 0, 1);
    let report = ebay.push(&[push("GONE", 3)]).expect("push");
    assert_eq!(report.applied(), 1, "{report:?}");
    assert_eq!(fake.quantity("GONE"), Some(3));
}

#[test]
fn a_failed_prepare_leaves_the_look_ups_to_the_pushes() {
    let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let items = new_items(&fake, "F", 30, 5);
    let mut ebay = adapter(&fake);
    ebay.lookup(&["F00".to_string()]).expect("a token first");
    ebay.take_calls();
    fake.misbehave(Misbehave::Status(503, None));
    ebay.prepare(&items);
    // The first wave went out (one refused), then prepare stopped.
    let calls = ebay.take_calls();
    assert_eq!(calls.len(), LOOKUP_CONCURRENCY, "{calls:?}");
    assert_eq!(calls.iter().filter(|c| c.status == Some(503)).count(), 1);
    // The pushes look up what prepare did not find, and every item is applied.
    let mut applied = 0;
    let mut lookups = 0;
    for batch in items.chunks(25) {
        let report = ebay.push(batch).expect("push");
        applied += report.applied();
        lookups += report.calls.iter().filter(|c| c.method == "GET").count();
    }
    assert_eq!(applied, 30);
    // F00 was looked up before; the first wave found all but the refused one.
    assert_eq!(
        lookups,
        30 - 1 - (LOOKUP_CONCURRENCY - 1),
        "the refused one and those never asked"
    );
    for item in &items {
        assert_eq!(fake.quantity(&item.sku), Some(5), "{}", item.sku);
    }
}
