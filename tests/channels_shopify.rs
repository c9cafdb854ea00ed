//! The Shopify adapter against the loopback fake (`tests/fakes/shopify.rs`).

mod fakes;

use std::time::{Duration, Instant};

use fakes::shopify::{ShopifyFake, DEFAULT_LOCATION};
use fakes::Misbehave;
use inventory_sync::channels::shopify::{Shopify, ShopifyConfig};
use inventory_sync::channels::{Channel, ChannelKind, Failure, Outcome, Push, PushReport, Secret};

const TOKEN: &str = "shpat_test_token";

fn adapter(fake: &ShopifyFake, token: &str) -> Shopify {
    let mut config = ShopifyConfig::new(fake.url(), Secret::new(token));
    config.http = fakes::fast_http();
    Shopify::new(config).expect("adapter")
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
fn push_looks_up_sets_available_and_sends_idempotency_key() {
    let fake = ShopifyFake::new(TOKEN);
    let item = fake.add_variant("A-1", 3);
    fake.add_variant("A-10", 4); // a text match for "A-1", never written
    let mut shopify = adapter(&fake, TOKEN);
    assert_eq!(shopify.kind(), ChannelKind::Shopify);
    assert_eq!(shopify.max_batch(), 250);

    let report = shopify.push(&[push("A-1", 9)]).expect("push");
    assert_eq!(report.applied(), 1, "{report:?}");
    assert_eq!(
        report.results[0].outcome,
        Outcome::Applied {
            remote_id: format!("{item}|{DEFAULT_LOCATION}"),
            quantity_after: Some(9),
            observed_before: None,
        }
    );
    assert_eq!((fake.available("A-1"), fake.available("A-10")), (Some(9), Some(4)));
    assert_eq!(report.calls.len(), 2);
    assert!(report
        .calls
        .iter()
        .all(|c| c.path == "/admin/api/2026-01/graphql.json" && c.status == Some(200)));

    let mutation = &fake.mutations()[0];
    assert_eq!(mutation.token.as_deref(), Some(TOKEN));
    let query = mutation.body["query"].as_str().unwrap_or_default();
    assert!(query.contains("@idempotent(key: \""), "{query}");
    let input = &mutation.body["variables"]["input"];
    assert_eq!(input["name"], "available");
    assert_eq!(input["reason"], "correction");
    assert!(input["referenceDocumentUri"]
        .as_str()
        .unwrap_or_default()
        .starts_with("gid://inventory-sync/StockSync/"));
    let quantity = &input["quantities"][0];
    assert_eq!(quantity["changeFromQuantity"], serde_json::Value::Null);
    assert!(quantity
        .as_object()
        .is_some_and(|q| q.contains_key("changeFromQuantity")));

    // Cached: the second push makes no lookup; the same jobs give the same key.
    let again = shopify.push(&[push("A-1", 9)]).expect("push");
    assert_eq!(again.calls.len(), 1);
    let keys: Vec<String> = fake
        .mutations()
        .iter()
        .map(|m| {
            m.body["query"]
                .as_str()
                .unwrap_or_default()
                .split("key: \"")
                .nth(1)
                .unwrap_or_default()[..36]
                .to_string()
        })
        .collect();
    assert_eq!(keys[0], keys[1]);
}

#[test]
fn lookup_and_read_keep_exact_matches_only() {
    let fake = ShopifyFake::new(TOKEN);
    let a = fake.add_variant("SKU\"1", 5);
    fake.add_variant("SKU\"10", 6);
    let mut shopify = adapter(&fake, TOKEN);
    let skus = vec!["SKU\"1".to_string(), "MISSING".to_string()];
    assert_eq!(
        shopify.lookup(&skus).expect("lookup"),
        vec![("SKU\"1".to_string(), format!("{a}|{DEFAULT_LOCATION}"))]
    );
    assert_eq!(shopify.read(&skus).expect("read"), vec![("SKU\"1".to_string(), 5)]);
    let report = shopify.push(&[push("MISSING", 1)]).expect("push");
    assert!(!failure(&report, "MISSING").retryable);
}

#[test]
fn six_hundred_skus_take_three_mutations_of_at_most_250() {
    let fake = ShopifyFake::new(TOKEN);
    let mut items = Vec::new();
    for i in 0..600 {
        let item = fake.add_variant(&format!("S{i:04}"), 0);
        let mut p = push(&format!("S{i:04}"), i);
        p.remote_id = Some(format!("{item}|{DEFAULT_LOCATION}"));
        items.push(p);
    }
    let mut shopify = adapter(&fake, TOKEN);
    let report = shopify.push(&items).expect("push");
    assert_eq!(report.applied(), 600);
    let sizes: Vec<usize> = fake
        .mutations()
        .iter()
        .map(|m| {
            m.body["variables"]["input"]["quantities"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .collect();
    assert_eq!(sizes, vec![250, 250, 100]);
    assert_eq!(fake.available("S0599"), Some(599));
}

#[test]
fn wrong_token_is_a_permanent_failure_and_stops_the_push() {
    let fake = ShopifyFake::new(TOKEN);
    let item = fake.add_variant("A", 1);
    let mut shopify = adapter(&fake, "shpat_wrong");
    let mut p = push("A", 2);
    p.remote_id = Some(format!("{item}|{DEFAULT_LOCATION}"));
    let report = shopify.push(&[p]).expect("push");
    let f = failure(&report, "A");
    assert!(!f.retryable);
    assert!(f.reason.starts_with("HTTP 401 Unauthorized"), "{}", f.reason);
    assert!(!f.reason.contains("shpat_wrong"));
    let error = shopify.lookup(&["A".to_string()]).expect_err("401");
    assert!(!error.is_retryable());
    assert!(!format!("{error:?}").contains("shpat_wrong"));
}

fn one_item(fake: &ShopifyFake) -> Push {
    let item = fake.add_variant("A", 1);
    let mut p = push("A", 2);
    p.remote_id = Some(format!("{item}|{DEFAULT_LOCATION}"));
    p
}

#[test]
fn failure_classes() {
    type Check = fn(&Failure) -> bool;
    let cases: Vec<(Misbehave, Check)> = vec![
        (Misbehave::Status(429, Some("7".into())), |f| {
            f.retryable && f.retry_after == Some(7)
        }),
        (Misbehave::Status(503, None), |f| f.retryable && f.retry_after.is_none()),
        (Misbehave::Status(500, Some("2".into())), |f| {
            f.retryable && f.retry_after == Some(2)
        }),
        (Misbehave::Slow(Duration::from_millis(1500)), |f| {
            f.retryable && f.code.as_deref() == Some("timeout")
        }),
        (Misbehave::Drop, |f| f.retryable),
        (Misbehave::Status(400, None), |f| {
            !f.retryable && f.reason.starts_with("HTTP 400 Bad Request")
        }),
        (Misbehave::Status(404, None), |f| !f.retryable),
    ];
    for (what, check) in cases {
        let fake = ShopifyFake::new(TOKEN);
        let p = one_item(&fake);
        fake.misbehave(what.clone());
        let mut shopify = adapter(&fake, TOKEN);
        let started = Instant::now();
        let report = shopify.push(&[p]).expect("push");
        assert!(started.elapsed() < Duration::from_secs(3), "{what:?} took too long");
        let f = failure(&report, "A");
        assert!(check(f), "{what:?}: {f:?}");
        assert_eq!(fake.available("A"), Some(1), "{what:?}");
    }
}

#[test]
fn throttled_is_retryable_with_a_computed_wait_and_the_state_is_exposed() {
    let fake = ShopifyFake::new(TOKEN);
    let p = one_item(&fake);
    fake.set_throttle(2000.0, 50.0, 100.0);
    fake.misbehave(Misbehave::Throttled);
    let mut shopify = adapter(&fake, TOKEN);
    let report = shopify.push(std::slice::from_ref(&p)).expect("push");
    let f = failure(&report, "A");
    assert!(f.retryable);
    assert_eq!(f.code.as_deref(), Some("THROTTLED"));
    assert_eq!(f.retry_after, Some(10)); // (1000 requested - 50 available) / 100 per second
    let status = shopify.throttle_status().expect("throttle status");
    assert_eq!((status.currently_available, status.restore_rate), (50.0, 100.0));

    let report = shopify.push(&[p]).expect("push");
    assert_eq!(report.applied(), 1);
}

#[test]
fn stale_compare_rereads_and_retries_once() {
    let fake = ShopifyFake::new(TOKEN);
    fake.add_variant("A", 10);
    fake.add_variant("B", 10);
    let mut shopify = adapter(&fake, TOKEN);
    shopify.lookup(&["A".to_string(), "B".to_string()]).expect("lookup");
    fake.set_available("A", 7); // three sold on Shopify since we last looked

    let mut a = push("A", 12);
    a.last_known_remote = Some(10);
    let mut b = push("B", 4);
    b.last_known_remote = Some(10);
    let report = shopify.push(&[a, b]).expect("push");
    assert_eq!(report.applied(), 2, "{report:?}");
    match &report.result("A").expect("A").outcome {
        Outcome::Applied { observed_before, .. } => assert_eq!(*observed_before, Some(7)),
        other => panic!("{other:?}"),
    }
    assert_eq!((fake.available("A"), fake.available("B")), (Some(12), Some(4)));
    let mutations = fake.mutations();
    assert_eq!(mutations.len(), 2);
    // The retry carries the value just read, under a new idempotency key.
    let retried = &mutations[1].body["variables"]["input"]["quantities"];
    assert_eq!(retried.as_array().map(Vec::len), Some(2));
    assert_eq!(retried[0]["changeFromQuantity"], 7);
    let key = |i: usize| {
        mutations[i].body["query"]
            .as_str()
            .unwrap_or_default()
            .split("key: \"")
            .nth(1)
            .map(|k| k[..36].to_string())
    };
    assert_ne!(key(0), key(1));
}

#[test]
fn partial_failures_map_user_errors_to_items() {
    let fake = ShopifyFake::new(TOKEN);
    for sku in ["A", "B", "C"] {
        fake.add_variant(sku, 0);
    }
    fake.fail_sku("B", "INVALID_QUANTITY_TOO_HIGH");
    let mut shopify = adapter(&fake, TOKEN);
    let report = shopify.push(&[push("A", 1), push("B", 2), push("C", 3)]).expect("push");
    assert!(report.result("A").is_some_and(|r| r.is_applied()));
    assert!(report.result("C").is_some_and(|r| r.is_applied()));
    let f = failure(&report, "B");
    assert!(!f.retryable);
    assert_eq!(f.code.as_deref(), Some("INVALID_QUANTITY_TOO_HIGH"));
    assert_eq!(
        (fake.available("A"), fake.available("B"), fake.available("C")),
        (Some(1), Some(0), Some(3))
    );
}

#[test]
fn an_invalid_cached_item_is_looked_up_again() {
    let fake = ShopifyFake::new(TOKEN);
    fake.add_variant("A", 1);
    let mut shopify = adapter(&fake, TOKEN);
    shopify.lookup(&["A".to_string()]).expect("lookup");
    let new_item = fake.recreate("A");
    let report = shopify.push(&[push("A", 5)]).expect("push");
    assert_eq!(
        report.results[0].outcome,
        Outcome::Applied {
            remote_id: format!("{new_item}|{DEFAULT_LOCATION}"),
            quantity_after: Some(5),
            observed_before: None,
        }
    );
    assert_eq!(fake.available("A"), Some(5));
}

#[test]
fn several_locations_need_a_configured_one() {
    let fake = ShopifyFake::new(TOKEN);
    let other = "gid://shopify/Location/2";
    fake.add_variant_at("A", &[(DEFAULT_LOCATION, 1), (other, 2)]);
    let mut shopify = adapter(&fake, TOKEN);
    let report = shopify.push(&[push("A", 5)]).expect("push");
    assert_eq!(failure(&report, "A").code.as_deref(), Some("LOCATION_NOT_CHOSEN"));

    let mut config = ShopifyConfig::new(fake.url(), Secret::new(TOKEN));
    config.http = fakes::fast_http();
    config.location_id = Some(other.into());
    let mut shopify = Shopify::new(config).expect("adapter");
    assert_eq!(
        shopify.read(&["A".to_string()]).expect("read"),
        vec![("A".to_string(), 2)]
    );
    let report = shopify.push(&[push("A", 5)]).expect("push");
    assert_eq!(report.applied(), 1);
}

#[test]
fn the_fake_is_strict_about_array_size_and_field_names() {
    let fake = ShopifyFake::new(TOKEN);
    let post = |variables: serde_json::Value| -> serde_json::Value {
        let body = serde_json::json!({
            "query": "mutation M($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }",
            "variables": variables,
        });
        let agent = inventory_sync::channels::http::agent(&fakes::fast_http());
        let mut response = agent
            .post(format!("{}/admin/api/2026-01/graphql.json", fake.url()))
            .header("X-Shopify-Access-Token", TOKEN)
            .send(body.to_string())
            .expect("answer");
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("json")
    };
    let quantity = serde_json::json!({"inventoryItemId": "gid://shopify/InventoryItem/1",
        "locationId": DEFAULT_LOCATION, "quantity": 1, "changeFromQuantity": null});
    let too_many = post(
        serde_json::json!({"input": {"name": "available", "reason": "correction",
        "quantities": vec![quantity.clone(); 251]}}),
    );
    assert_eq!(too_many["errors"][0]["extensions"]["code"], "MAX_INPUT_SIZE_EXCEEDED");
    assert!(too_many.get("data").is_none());
    let unknown = post(
        serde_json::json!({"input": {"name": "available", "reason": "correction",
        "quantities": [quantity], "compareQty": 1}}),
    );
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "INVALID_VARIABLE");
}

#[test]
fn the_pacer_is_asked_once_per_http_call() {
    let fake = ShopifyFake::new(TOKEN);
    fake.add_variant("A", 1);
    fake.add_variant("B", 1);
    let (pacer, count) = fakes::counting_pacer();
    let mut shopify = adapter(&fake, TOKEN).with_pacer(pacer);
    let report = shopify.push(&[push("A", 2), push("B", 3)]).expect("push");
    assert_eq!(report.applied(), 2, "{report:?}");
    assert_eq!(report.calls.len(), 2, "one look-up, one mutation");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), report.calls.len());
    shopify.read(&["A".to_string()]).expect("read");
    shopify.lookup(&["B".to_string()]).expect("lookup");
    let more = shopify.take_calls();
    assert_eq!(more.len(), 2);
    assert_eq!(
        count.load(std::sync::atomic::Ordering::SeqCst),
        report.calls.len() + more.len()
    );
    assert_eq!(fake.requests().len(), count.load(std::sync::atomic::Ordering::SeqCst));
}
