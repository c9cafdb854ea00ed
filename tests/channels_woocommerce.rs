//! The remote WooCommerce adapter against the loopback fake (`tests/fakes/woocommerce.rs`).

mod fakes;

use std::time::{Duration, Instant};

use fakes::woocommerce::WooFake;
use fakes::Misbehave;
use inventory_sync::channels::oauth1::SignatureMethod;
use inventory_sync::channels::woocommerce::{WooCommerce, WooCommerceConfig};
use inventory_sync::channels::{Channel, ChannelKind, Failure, Outcome, Push, PushReport, Secret};

const KEY: &str = "ck_test_key";
const SECRET: &str = "cs_test_secret";

fn adapter_with(fake: &WooFake, secret: &str, method: SignatureMethod) -> WooCommerce {
    let mut config = WooCommerceConfig::new(fake.url(), Secret::new(KEY), Secret::new(secret));
    config.http = fakes::fast_http();
    config.signature_method = method;
    WooCommerce::new(config).expect("adapter")
}

fn adapter(fake: &WooFake) -> WooCommerce {
    adapter_with(fake, SECRET, SignatureMethod::HmacSha256)
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

fn failure<'a>(report: &'a PushReport, sku: &str) -> &'a Failure {
    report
        .result(sku)
        .and_then(|r| r.failure())
        .unwrap_or_else(|| panic!("{sku} did not fail: {report:?}"))
}

#[test]
fn push_products_and_variations_with_oauth_signed_requests() {
    let fake = WooFake::new(KEY, SECRET);
    let simple = fake.add_product("SIMPLE", 1);
    let (parent, variations) = fake.add_variable("SHIRT", &[("SHIRT-S", 1), ("SHIRT-M", 2)]);
    for method in [SignatureMethod::HmacSha256, SignatureMethod::HmacSha1] {
        let mut woo = adapter_with(&fake, SECRET, method);
        assert_eq!(woo.kind(), ChannelKind::WooCommerceRemote);
        assert_eq!(woo.max_batch(), 100);
        let report = woo
            .push(&[push("SHIRT-M", 7), push("SIMPLE", 5), push("SHIRT-S", 6)])
            .expect("push");
        assert_eq!(report.applied(), 3, "{report:?}");
        assert_eq!(
            report.result("SHIRT-M").map(|r| r.outcome.clone()),
            Some(Outcome::Applied {
                remote_id: format!("{parent}/{}", variations[1]),
                quantity_after: Some(7),
                observed_before: None,
            })
        );
        assert_eq!(
            report.result("SIMPLE").map(|r| r.outcome.clone()),
            Some(Outcome::Applied {
                remote_id: simple.to_string(),
                quantity_after: Some(5),
                observed_before: None,
            })
        );
        let paths: Vec<&str> = report.calls.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "/wp-json/wc/v3/products".to_string(),
                "/wp-json/wc/v3/products/batch".to_string(),
                format!("/wp-json/wc/v3/products/{parent}/variations/batch"),
            ]
        );
    }
    assert_eq!(
        (fake.stock("SIMPLE"), fake.stock("SHIRT-S"), fake.stock("SHIRT-M")),
        (Some(5), Some(6), Some(7))
    );
    let batch = &fake.batch_calls()[0];
    assert_eq!(
        batch.body["update"][0],
        serde_json::json!({"id": simple, "manage_stock": true, "stock_quantity": 5})
    );
    assert!(batch.query.iter().any(|(k, v)| k == "oauth_consumer_key" && v == KEY));
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.query.iter().all(|(_, v)| !v.contains(SECRET))));
}

#[test]
fn lookup_and_read_include_variations() {
    let fake = WooFake::new(KEY, SECRET);
    let id = fake.add_product("A,B", 4); // a SKU with a comma is asked for alone
    let (parent, variations) = fake.add_variable("P", &[("P-1", 3)]);
    let mut woo = adapter(&fake);
    let skus = vec!["P-1".to_string(), "A,B".to_string(), "NOPE".to_string()];
    assert_eq!(
        woo.lookup(&skus).expect("lookup"),
        vec![
            ("P-1".to_string(), format!("{parent}/{}", variations[0])),
            ("A,B".to_string(), id.to_string()),
        ]
    );
    assert_eq!(
        woo.read(&skus).expect("read"),
        vec![("P-1".to_string(), 3), ("A,B".to_string(), 4)]
    );
    let report = woo.push(&[push("NOPE", 1)]).expect("push");
    assert!(!failure(&report, "NOPE").retryable);
}

#[test]
fn two_hundred_fifty_skus_take_three_batches_of_at_most_100() {
    let fake = WooFake::new(KEY, SECRET);
    let items: Vec<Push> = (0..250)
        .map(|i| {
            let id = fake.add_product(&format!("W{i:03}"), 0);
            let mut p = push(&format!("W{i:03}"), i);
            p.remote_id = Some(id.to_string());
            p
        })
        .collect();
    let mut woo = adapter(&fake);
    let report = woo.push(&items).expect("push");
    assert_eq!(report.applied(), 250);
    let sizes: Vec<usize> = fake
        .batch_calls()
        .iter()
        .map(|r| r.body["update"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(report.calls.len(), 3);
}

#[test]
fn wrong_secret_is_a_permanent_failure() {
    let fake = WooFake::new(KEY, SECRET);
    fake.add_product("A", 1);
    let mut woo = adapter_with(&fake, "cs_wrong", SignatureMethod::HmacSha256);
    let report = woo.push(&[push("A", 2)]).expect("push");
    let f = failure(&report, "A");
    assert!(!f.retryable);
    assert_eq!(
        f.reason,
        "HTTP 401 Unauthorized: Invalid signature - provided signature does not match."
    );
    let error = woo.read(&["A".to_string()]).expect_err("401");
    assert!(!error.is_retryable());
    assert!(!format!("{error:?} {woo:?}").contains("cs_wrong"));
    assert_eq!(fake.stock("A"), Some(1));
}

#[test]
fn failure_classes() {
    type Check = fn(&Failure) -> bool;
    let cases: Vec<(Misbehave, Check)> = vec![
        (Misbehave::Status(429, Some("12".into())), |f| {
            f.retryable && f.retry_after == Some(12)
        }),
        (Misbehave::Status(503, None), |f| f.retryable),
        (Misbehave::Status(500, None), |f| f.retryable),
        (Misbehave::Slow(Duration::from_millis(1500)), |f| {
            f.retryable && f.code.as_deref() == Some("timeout")
        }),
        (Misbehave::Drop, |f| f.retryable),
        (Misbehave::Status(400, None), |f| {
            !f.retryable && f.reason == "HTTP 400 Bad Request: fake status 400"
        }),
        (Misbehave::Status(403, None), |f| !f.retryable),
    ];
    for (what, check) in cases {
        let fake = WooFake::new(KEY, SECRET);
        let id = fake.add_product("A", 1);
        let mut p = push("A", 2);
        p.remote_id = Some(id.to_string());
        fake.misbehave(what.clone());
        let mut woo = adapter(&fake);
        let started = Instant::now();
        let report = woo.push(&[p]).expect("push");
        assert!(started.elapsed() < Duration::from_secs(3), "{what:?} took too long");
        let f = failure(&report, "A");
        assert!(check(f), "{what:?}: {f:?}");
    }
}

#[test]
fn a_retryable_failure_stops_the_remaining_batches() {
    let fake = WooFake::new(KEY, SECRET);
    let items: Vec<Push> = (0..150)
        .map(|i| {
            let id = fake.add_product(&format!("W{i:03}"), 0);
            let mut p = push(&format!("W{i:03}"), 1);
            p.remote_id = Some(id.to_string());
            p
        })
        .collect();
    fake.misbehave(Misbehave::Status(429, Some("30".into())));
    let mut woo = adapter(&fake);
    let report = woo.push(&items).expect("push");
    assert_eq!(report.calls.len(), 1);
    let last = failure(&report, "W149");
    assert!(last.retryable && last.retry_after == Some(30));
    assert!(last.reason.starts_with("not sent: HTTP 429"), "{}", last.reason);
}

#[test]
fn partial_batch_failures_are_per_item() {
    let fake = WooFake::new(KEY, SECRET);
    for sku in ["A", "B", "C", "D"] {
        fake.add_product(sku, 0);
    }
    fake.fail_sku("B", "woocommerce_rest_cannot_edit", 403);
    fake.fail_sku("C", "db_error", 500);
    let mut woo = adapter(&fake);
    let report = woo
        .push(&[push("A", 1), push("B", 2), push("C", 3), push("D", 4)])
        .expect("push");
    assert!(report.result("A").is_some_and(|r| r.is_applied()));
    assert!(report.result("D").is_some_and(|r| r.is_applied()));
    let b = failure(&report, "B");
    assert!(!b.retryable && b.code.as_deref() == Some("woocommerce_rest_cannot_edit"));
    assert!(failure(&report, "C").retryable);
    assert_eq!(
        (fake.stock("A"), fake.stock("B"), fake.stock("D")),
        (Some(1), Some(0), Some(4))
    );
}

#[test]
fn an_invalid_id_is_looked_up_again() {
    let fake = WooFake::new(KEY, SECRET);
    fake.add_product("A", 1);
    let mut woo = adapter(&fake);
    woo.lookup(&["A".to_string()]).expect("lookup");
    let new_id = fake.recreate("A");
    let report = woo.push(&[push("A", 8)]).expect("push");
    assert_eq!(
        report.results[0].outcome,
        Outcome::Applied {
            remote_id: new_id.to_string(),
            quantity_after: Some(8),
            observed_before: None,
        }
    );
}

#[test]
fn a_store_with_a_lower_batch_limit_answers_413_which_is_permanent() {
    let fake = WooFake::new(KEY, SECRET);
    fake.set_batch_limit(1);
    let a = fake.add_product("A", 0);
    let b = fake.add_product("B", 0);
    let mut woo = adapter(&fake);
    let mut pa = push("A", 1);
    pa.remote_id = Some(a.to_string());
    let mut pb = push("B", 1);
    pb.remote_id = Some(b.to_string());
    let report = woo.push(&[pa, pb]).expect("push");
    let f = failure(&report, "A");
    assert!(!f.retryable);
    assert_eq!(
        f.reason,
        "HTTP 413 Payload Too Large: Unable to accept more than 1 items for this request."
    );
}

#[test]
fn the_pacer_is_asked_once_per_http_call() {
    let fake = WooFake::new(KEY, SECRET);
    fake.add_product("A", 1);
    fake.add_variable("P", &[("P-1", 1)]);
    let (pacer, count) = fakes::counting_pacer();
    let mut woo = adapter(&fake).with_pacer(pacer);
    let report = woo.push(&[push("A", 2), push("P-1", 3)]).expect("push");
    assert_eq!(report.applied(), 2, "{report:?}");
    assert_eq!(report.calls.len(), 3, "one look-up, two batches");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), report.calls.len());
    woo.read(&["A".to_string()]).expect("read");
    woo.lookup(&["P-1".to_string()]).expect("lookup");
    let more = woo.take_calls();
    assert_eq!(more.len(), 2);
    assert_eq!(
        count.load(std::sync::atomic::Ordering::SeqCst),
        report.calls.len() + more.len()
    );
    assert_eq!(fake.requests().len(), count.load(std::sync::atomic::Ordering::SeqCst));
}
