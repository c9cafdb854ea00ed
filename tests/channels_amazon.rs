//! The Amazon SP-API adapter against the loopback fake (`tests/fakes/amazon.rs`).

mod fakes;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fakes::amazon::{AmazonFake, MARKETPLACE, START, TOKEN_PATH};
use fakes::Misbehave;
use inventory_sync::channels::amazon::{Amazon, AmazonConfig};
use inventory_sync::channels::oauth2::RefreshCredentials;
use inventory_sync::channels::{Channel, ChannelKind, Failure, Outcome, Push, PushReport, Secret};
use serde_json::json;

const SELLER: &str = "A2SELLERFAKE01";
const CLIENT_ID: &str = "amzn1.application-oa2-client.fake0001";
const CLIENT_SECRET: &str = "amzn1.oa2-cs.v1.lwa-secret-1234";
const REFRESH: &str = "Atzr|IwEBIrefresh-token";

fn config(fake: &AmazonFake, secret: &str) -> AmazonConfig {
    let credentials = RefreshCredentials::new(Secret::new(CLIENT_ID), Secret::new(secret), Secret::new(REFRESH));
    let mut config = AmazonConfig::new(fake.url(), SELLER, MARKETPLACE, credentials);
    config.lwa_url = format!("{}{TOKEN_PATH}", fake.url());
    config.http = fakes::fast_http();
    config.now = fake.clock();
    config
}

fn fake() -> AmazonFake {
    AmazonFake::new(SELLER, CLIENT_ID, CLIENT_SECRET, REFRESH)
}

fn adapter(fake: &AmazonFake) -> Amazon {
    Amazon::new(config(fake, CLIENT_SECRET)).expect("adapter")
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

fn known(sku: &str, product_type: &str, quantity: i64) -> Push {
    Push {
        remote_id: Some(format!("{sku}|{product_type}")),
        ..push(sku, quantity)
    }
}

fn failure<'a>(report: &'a PushReport, sku: &str) -> &'a Failure {
    report
        .result(sku)
        .and_then(|r| r.failure())
        .unwrap_or_else(|| panic!("{sku} did not fail: {report:?}"))
}

fn calls(report: &PushReport) -> Vec<String> {
    report
        .calls
        .iter()
        .map(|c| format!("{} {} {:?}", c.method, c.path, c.status))
        .collect()
}

#[test]
fn push_patches_fulfillment_availability_and_records_accepted() {
    let fake = fake();
    fake.add_listing("BAG/RED 1", "LUGGAGE", 1);
    let mut amazon = adapter(&fake);
    assert_eq!(amazon.kind(), ChannelKind::Amazon);
    assert_eq!(amazon.max_batch(), 1);

    let report = amazon.push(&[push("BAG/RED 1", 9)]).expect("push");
    assert_eq!(
        report.results[0].outcome,
        Outcome::Accepted {
            remote_id: "BAG/RED 1|LUGGAGE".into()
        }
    );
    assert!(report.results[0].is_delivered() && !report.results[0].is_applied());
    let item = format!("/listings/2021-08-01/items/{SELLER}/BAG%2FRED%201");
    assert_eq!(
        calls(&report),
        vec![
            format!("POST {TOKEN_PATH} Some(200)"),
            format!("GET {item} Some(200)"),
            format!("PATCH {item} Some(200)"),
        ]
    );
    assert_eq!(fake.quantity("BAG/RED 1"), Some(9));

    let patch = &fake.patches()[0];
    assert_eq!(patch.token.as_deref(), Some("Atza|fake-1"));
    assert_eq!(
        patch.query,
        vec![("marketplaceIds".to_string(), MARKETPLACE.to_string())]
    );
    assert_eq!(
        patch.body,
        json!({ "productType": "LUGGAGE", "patches": [{ "op": "replace", "path": "/attributes/fulfillment_availability",
                "value": [{ "fulfillment_channel_code": "DEFAULT", "quantity": 9 }] }] })
    );

    // Token and product type cached: one PATCH per further push; below zero is sent as 0.
    let report = amazon.push(&[push("BAG/RED 1", -3)]).expect("push");
    assert_eq!(calls(&report), vec![format!("PATCH {item} Some(200)")]);
    assert_eq!(fake.quantity("BAG/RED 1"), Some(0));
}

#[test]
fn a_configured_product_type_needs_no_lookup() {
    let fake = fake();
    fake.add_listing("A", "SHIRT", 1);
    fake.add_listing("B", "SHIRT", 1);
    let mut config = config(&fake, CLIENT_SECRET);
    config.product_type = Some("SHIRT".into());
    let mut amazon = Amazon::new(config).expect("adapter");
    let report = amazon.push(&[push("A", 4), push("B", 5)]).expect("push");
    assert_eq!(report.results.iter().filter(|r| r.is_delivered()).count(), 2);
    assert_eq!(fake.gets(), 0);
    assert_eq!(fake.patches().len(), 2);
    assert_eq!((fake.quantity("A"), fake.quantity("B")), (Some(4), Some(5)));
}

#[test]
fn accepted_is_not_applied_until_amazon_processes_it() {
    let fake = fake();
    fake.add_listing("A", "LUGGAGE", 2);
    fake.defer(true);
    let mut amazon = adapter(&fake);
    let report = amazon.push(&[known("A", "LUGGAGE", 6)]).expect("push");
    assert!(matches!(report.results[0].outcome, Outcome::Accepted { .. }));
    let skus = vec!["A".to_string()];
    assert_eq!(amazon.read(&skus).expect("read"), vec![("A".to_string(), 2)]);
    fake.process();
    assert_eq!(amazon.read(&skus).expect("read"), vec![("A".to_string(), 6)]);
}

#[test]
fn lookup_and_read_use_get_listings_item() {
    let fake = fake();
    fake.add_listing("A", "LUGGAGE", 3);
    fake.add_listing("B", "SHOES", 0);
    let mut amazon = adapter(&fake);
    let skus: Vec<String> = ["A", "MISSING", "B"].map(String::from).to_vec();
    assert_eq!(
        amazon.lookup(&skus).expect("lookup"),
        vec![
            ("A".to_string(), "A|LUGGAGE".to_string()),
            ("B".to_string(), "B|SHOES".to_string())
        ]
    );
    assert_eq!(
        amazon.read(&skus).expect("read"),
        vec![("A".to_string(), 3), ("B".to_string(), 0)]
    );
    let get = fake.requests().into_iter().find(|r| r.method == "GET").expect("a get");
    assert!(get.query.contains(&(
        "includedData".to_string(),
        "summaries,fulfillmentAvailability".to_string()
    )));
    assert_eq!(amazon.take_calls().len(), 7, "a token and one call per SKU, twice");
    let report = amazon.push(&[push("MISSING", 1)]).expect("push");
    let f = failure(&report, "MISSING");
    assert!(!f.retryable && f.code.as_deref() == Some("NOT_FOUND"), "{f:?}");
}

#[test]
fn the_token_is_cached_refreshed_near_expiry_and_persisted() {
    let fake = fake();
    fake.add_listing("A", "LUGGAGE", 0);
    let mut amazon = adapter(&fake);
    for quantity in 1..=5 {
        let report = amazon.push(&[known("A", "LUGGAGE", quantity)]).expect("push");
        assert!(report.results[0].is_delivered(), "{report:?}");
    }
    assert_eq!(fake.token_requests(), 1, "one LWA exchange for many pushes");
    let token = amazon.cached_token().expect("token");
    assert_eq!(token.expires_at, START + 3600);

    fake.advance(3600 - 61);
    amazon.push(&[known("A", "LUGGAGE", 6)]).expect("push");
    assert_eq!(fake.token_requests(), 1);
    fake.advance(1);
    let report = amazon.push(&[known("A", "LUGGAGE", 7)]).expect("push");
    assert_eq!(report.calls[0].path, TOKEN_PATH);
    assert_eq!(fake.token_requests(), 2);

    let saved = amazon.cached_token().expect("token");
    let mut next = adapter(&fake).with_cached_token(saved);
    assert_eq!(next.push(&[known("A", "LUGGAGE", 8)]).expect("push").calls.len(), 1);
    assert_eq!(fake.token_requests(), 2);
    assert_eq!(fake.quantity("A"), Some(8));
}

#[test]
fn a_403_unauthorized_gets_a_new_token_once() {
    let fake = fake();
    fake.add_listing("A", "LUGGAGE", 0);
    let mut amazon = adapter(&fake);
    amazon.push(&[known("A", "LUGGAGE", 1)]).expect("push");
    fake.revoke_tokens();
    let report = amazon.push(&[known("A", "LUGGAGE", 2)]).expect("push");
    assert!(report.results[0].is_delivered(), "{report:?}");
    let item = format!("/listings/2021-08-01/items/{SELLER}/A");
    assert_eq!(
        calls(&report),
        vec![
            format!("PATCH {item} Some(403)"),
            format!("POST {TOKEN_PATH} Some(200)"),
            format!("PATCH {item} Some(200)"),
        ]
    );
    assert_eq!(fake.quantity("A"), Some(2));
}

#[test]
fn a_wrong_client_secret_is_a_readable_permanent_failure_without_the_secret() {
    let fake = fake();
    fake.add_listing("A", "LUGGAGE", 1);
    fake.add_listing("B", "LUGGAGE", 1);
    let wrong = "amzn1.oa2-cs.v1.wrong-secret";
    let mut amazon = Amazon::new(config(&fake, wrong)).expect("adapter");
    let report = amazon
        .push(&[known("A", "LUGGAGE", 2), known("B", "LUGGAGE", 2)])
        .expect("push");
    for sku in ["A", "B"] {
        let f = failure(&report, sku);
        assert!(!f.retryable);
        assert_eq!(
            f.reason,
            "Login with Amazon refused the token request: HTTP 401: Client authentication failed (invalid_client)"
        );
    }
    assert_eq!(report.calls.len(), 1);
    let error = amazon.read(&["A".to_string()]).expect_err("refused");
    assert!(!error.is_retryable());
    let everything = format!("{report:?} {error:?} {amazon:?}");
    for secret in [wrong, CLIENT_SECRET, REFRESH] {
        assert!(!everything.contains(secret), "{everything}");
    }
    assert_eq!(fake.quantity("A"), Some(1));
}

#[test]
fn failure_classes() {
    type Check = fn(&Failure) -> bool;
    let cases: Vec<(Misbehave, Check)> = vec![
        (Misbehave::Status(429, Some("7".into())), |f| {
            f.retryable
                && f.retry_after == Some(7)
                && f.reason == "HTTP 429 Too Many Requests: You exceeded your quota for the requested resource."
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
        (Misbehave::Status(404, None), |f| !f.retryable),
    ];
    for (what, check) in cases {
        let fake = fake();
        fake.add_listing("A", "LUGGAGE", 1);
        fake.misbehave(what.clone());
        let mut amazon = adapter(&fake);
        let started = Instant::now();
        let report = amazon.push(&[known("A", "LUGGAGE", 2)]).expect("push");
        assert!(started.elapsed() < Duration::from_secs(3), "{what:?} took too long");
        let f = failure(&report, "A");
        assert!(check(f), "{what:?}: {f:?}");
        assert_eq!(fake.quantity("A"), Some(1));
    }
}

#[test]
fn a_429_stops_the_rest_of_the_push() {
    let fake = fake();
    let items: Vec<Push> = (0..4)
        .map(|i| {
            let sku = format!("S{i}");
            fake.add_listing(&sku, "LUGGAGE", 0);
            known(&sku, "LUGGAGE", 3)
        })
        .collect();
    let mut amazon = adapter(&fake);
    amazon.read(&["S0".to_string()]).expect("token");
    fake.misbehave(Misbehave::Status(429, Some("2".into())));
    let report = amazon.push(&items).expect("push");
    assert_eq!(report.calls.len(), 1);
    let last = failure(&report, "S3");
    assert!(last.retryable && last.retry_after == Some(2));
    assert!(last.reason.starts_with("not sent: HTTP 429"), "{}", last.reason);
}

#[test]
fn an_error_issue_fails_only_its_item() {
    let fake = fake();
    for sku in ["A", "B", "C"] {
        fake.add_listing(sku, "LUGGAGE", 0);
    }
    fake.fail_sku("B", "90000900");
    let mut amazon = adapter(&fake);
    let report = amazon
        .push(&[
            known("A", "LUGGAGE", 4),
            known("B", "LUGGAGE", 4),
            known("C", "LUGGAGE", 4),
        ])
        .expect("push");
    let b = failure(&report, "B");
    assert!(!b.retryable && b.code.as_deref() == Some("90000900"), "{b:?}");
    assert_eq!(b.reason, "Amazon refused the quantity: fake refusal 90000900");
    assert!(report.result("A").is_some_and(|r| r.is_delivered()));
    assert!(report.result("C").is_some_and(|r| r.is_delivered()));
    assert_eq!(["A", "B", "C"].map(|s| fake.quantity(s)), [Some(4), Some(0), Some(4)]);
}

#[test]
fn a_stale_product_type_is_looked_up_again_once() {
    let fake = fake();
    fake.add_listing("A", "SHOES", 0);
    let mut amazon = adapter(&fake);
    let report = amazon.push(&[known("A", "LUGGAGE", 5)]).expect("push");
    assert_eq!(
        report.results[0].outcome,
        Outcome::Accepted {
            remote_id: "A|SHOES".into()
        }
    );
    let statuses: Vec<(&str, Option<u16>)> = report.calls.iter().map(|c| (c.method, c.status)).collect();
    assert_eq!(
        statuses,
        vec![
            ("POST", Some(200)),
            ("PATCH", Some(200)),
            ("GET", Some(200)),
            ("PATCH", Some(200))
        ]
    );
    assert_eq!(fake.quantity("A"), Some(5));

    // The looked-up type is refused too: one look-up only, the refusal stands.
    fake.fail_sku("A", "4000001");
    let report = amazon.push(&[known("A", "LUGGAGE", 6)]).expect("push");
    assert_eq!(failure(&report, "A").code.as_deref(), Some("4000001"));
    assert_eq!(report.calls.len(), 3, "patch, look-up, patch");
}

#[test]
fn the_pacer_is_asked_once_per_http_call() {
    let fake = fake();
    fake.add_listing("A", "LUGGAGE", 0);
    fake.add_listing("B", "LUGGAGE", 0);
    let (pacer, count) = fakes::counting_pacer();
    let mut amazon = adapter(&fake).with_pacer(pacer);
    let report = amazon
        .push(&[push("A", 1), push("B", 2), push("MISSING", 3)])
        .expect("push");
    assert_eq!(report.calls.len(), 6, "token, three look-ups, two patches");
    assert_eq!(count.load(Ordering::SeqCst), report.calls.len());
    fake.revoke_tokens();
    amazon.read(&["A".to_string()]).expect("read");
    amazon.lookup(&["B".to_string()]).expect("lookup");
    let more = amazon.take_calls();
    assert_eq!(more.len(), 4, "a 403, a token, the read again, the lookup");
    assert_eq!(count.load(Ordering::SeqCst), report.calls.len() + more.len());
    assert_eq!(fake.requests().len(), count.load(Ordering::SeqCst));
}
