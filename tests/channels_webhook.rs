//! The webhook channel against the loopback receiver (`tests/fakes/webhook_receiver.rs`), which
//! checks Standard Webhooks signatures with its own HMAC code.

mod fakes;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fakes::webhook_receiver::WebhookReceiver;
use fakes::Misbehave;
use inventory_sync::channels::webhook::{ProductUpdate, Webhook, WebhookConfig};
use inventory_sync::channels::{Channel, ChannelKind, Failure, Outcome, Pacer, Push, PushReport, Secret};
use serde_json::json;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_c2VjcmV0LWtleS1mb3ItdGhlLXRhYmxlLXRlc3Q=";
const NOW: u64 = 1_767_323_045; // 2026-01-02T03:04:05Z

fn fixed_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn config_for(receiver: &WebhookReceiver, secret: &str) -> WebhookConfig {
    let mut config = WebhookConfig::new(receiver.url(), Secret::new(secret));
    config.http = fakes::fast_http();
    config.now = fixed_now;
    config
}

fn adapter(receiver: &WebhookReceiver) -> Webhook {
    Webhook::new(config_for(receiver, SECRET)).expect("adapter")
}

fn push(sku: &str, quantity: i64) -> Push {
    Push {
        sku: sku.into(),
        quantity,
        idempotency_key: format!("job:{sku}:{quantity}"),
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

struct CountingPacer(Arc<AtomicUsize>);

impl Pacer for CountingPacer {
    fn before_call(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn signed_stock_event_is_accepted_and_every_item_applied() {
    let receiver = WebhookReceiver::new(SECRET, NOW);
    let mut webhook = adapter(&receiver);
    assert_eq!(webhook.kind(), ChannelKind::Webhook);
    assert_eq!(webhook.kind().as_str(), "webhook");
    assert_eq!(webhook.max_batch(), 100);
    assert!(!webhook.readable());

    let report = webhook
        .push(&[push("A-1", 12), push("B-2", 0), push("C-3", 7)])
        .expect("push");
    assert_eq!(report.applied(), 3, "{report:?}");
    assert_eq!(
        report.results[1].outcome,
        Outcome::Applied {
            remote_id: "B-2".into(),
            quantity_after: None,
            observed_before: None,
        }
    );
    assert_eq!(report.calls.len(), 1);
    assert_eq!(
        (report.calls[0].method, report.calls[0].path.as_str()),
        ("POST", "/hooks/stock")
    );
    assert_eq!(report.calls[0].status, Some(204));

    let events = receiver.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].timestamp, NOW);
    assert!(events[0].id.starts_with("msg_"), "{}", events[0].id);
    assert_eq!(
        events[0].event,
        json!({
            "type": "stock.updated",
            "timestamp": "2026-01-02T03:04:05Z",
            "data": { "items": [
                { "sku": "A-1", "quantity": 12 },
                { "sku": "B-2", "quantity": 0 },
                { "sku": "C-3", "quantity": 7 },
            ] },
        })
    );
    let attempt = &receiver.attempts()[0];
    assert_eq!(attempt.content_type.as_deref(), Some("application/json"));
    assert!(attempt.signature.as_deref().is_some_and(|s| s.starts_with("v1,")));

    // Not readable; lookups are the identity.
    let skus = vec!["A-1".to_string(), "Z-9".to_string()];
    assert_eq!(webhook.read(&skus).expect("read"), Vec::<(String, i64)>::new());
    assert_eq!(
        webhook.lookup(&skus).expect("lookup"),
        vec![
            ("A-1".to_string(), "A-1".to_string()),
            ("Z-9".to_string(), "Z-9".to_string())
        ]
    );
    assert!(webhook.take_calls().is_empty());
    assert_eq!(webhook.push(&[]).expect("push").calls.len(), 0);
}

#[test]
fn batches_are_configurable_and_each_gets_its_own_id() {
    let receiver = WebhookReceiver::new(SECRET, NOW);
    let mut config = config_for(&receiver, SECRET);
    config.batch_size = 2;
    let mut webhook = Webhook::new(config).expect("adapter");
    assert_eq!(webhook.max_batch(), 2);
    let items: Vec<Push> = (0..5).map(|i| push(&format!("S{i}"), i)).collect();
    let report = webhook.push(&items).expect("push");
    assert_eq!(report.applied(), 5);
    let events = receiver.events();
    let sizes: Vec<usize> = events
        .iter()
        .map(|e| e.event["data"]["items"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    let mut ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert_eq!(receiver.duplicates(), 0);
}

#[test]
fn retried_jobs_carry_the_same_webhook_id_and_the_receiver_dedupes() {
    let receiver = WebhookReceiver::new(SECRET, NOW);
    let mut webhook = adapter(&receiver);
    let jobs = [push("A-1", 5), push("B-2", 6)];

    receiver.misbehave(Misbehave::Status(503, None));
    let first = webhook.push(&jobs).expect("push");
    assert!(failure(&first, "A-1").retryable);
    let second = webhook.push(&jobs).expect("push");
    assert_eq!(second.applied(), 2);
    // A redelivery after success (the runner crashed before recording it) is a duplicate there.
    let third = webhook.push(&jobs).expect("push");
    assert_eq!(third.applied(), 2);

    let ids: Vec<Option<String>> = receiver.attempts().into_iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    assert_eq!(receiver.events().len(), 1);
    assert_eq!(receiver.duplicates(), 1);

    // Other jobs (a newer desired quantity) are another message.
    webhook.push(&[push("A-1", 4), push("B-2", 6)]).expect("push");
    assert_eq!(receiver.events().len(), 2);
    assert_ne!(receiver.events()[1].id, receiver.events()[0].id);
}

#[test]
fn throttling_honours_retry_after_and_stops_the_push() {
    let receiver = WebhookReceiver::new(SECRET, NOW);
    let mut config = config_for(&receiver, SECRET);
    config.batch_size = 1;
    let mut webhook = Webhook::new(config).expect("adapter");
    receiver.misbehave(Misbehave::Status(429, Some("7".into())));
    let report = webhook.push(&[push("A-1", 1), push("B-2", 2)]).expect("push");
    let throttled = failure(&report, "A-1");
    assert!(throttled.retryable);
    assert_eq!(throttled.retry_after, Some(7));
    assert_eq!(throttled.code.as_deref(), Some("429"));
    assert!(
        throttled.reason.starts_with("HTTP 429 Too Many Requests"),
        "{}",
        throttled.reason
    );
    let skipped = failure(&report, "B-2");
    assert!(skipped.retryable);
    assert!(skipped.reason.starts_with("not sent: HTTP 429"), "{}", skipped.reason);
    assert_eq!(report.calls.len(), 1, "the second event is not sent");
    assert!(receiver.events().is_empty());
}

#[test]
fn server_errors_timeouts_and_dropped_connections_are_retryable() {
    let receiver = WebhookReceiver::new(SECRET, NOW);
    let mut webhook = adapter(&receiver);
    for (what, code) in [
        (Misbehave::Status(500, None), "500"),
        (
            Misbehave::Status(502, Some("Tue, 14 Nov 2023 22:13:50 GMT".into())),
            "502",
        ),
        (Misbehave::Drop, "connection"),
    ] {
        receiver.misbehave(what.clone());
        let report = webhook.push(&[push("A-1", 1)]).expect("push");
        let failed = failure(&report, "A-1");
        assert!(failed.retryable, "{what:?}: {failed:?}");
        assert_eq!(failed.code.as_deref(), Some(code), "{what:?}: {failed:?}");
        assert_eq!(report.applied(), 0);
    }
    assert!(receiver.events().is_empty());
    // An HTTP-date in Retry-After is read against the adapter's clock.
    receiver.misbehave(Misbehave::Status(503, Some("Fri, 02 Jan 2026 03:05:05 GMT".into())));
    let report = webhook.push(&[push("A-1", 1)]).expect("push");
    assert_eq!(failure(&report, "A-1").retry_after, Some(60));
    // And the endpoint recovers.
    assert_eq!(webhook.push(&[push("A-1", 1)]).expect("push").applied(), 1);
}

#[test]
fn a_slow_receiver_times_out_retryably() {
    // Alone in its test: the fake serves one connection at a time and is stuck while slow.
    let receiver = WebhookReceiver::new(SECRET, NOW);
    let mut webhook = adapter(&receiver);
    receiver.misbehave(Misbehave::Slow(Duration::from_secs(2)));
    let report = webhook.push(&[push("A-1", 1)]).expect("push");
    let failed = failure(&report, "A-1");
    assert!(failed.retryable, "{failed:?}");
    assert_eq!(failed.code.as_deref(), Some("timeout"));
    assert_eq!(report.calls[0].status, None);
}

#[test]
fn client_errors_are_permanent_with_a_short_sanitized_excerpt() {
    let receiver = WebhookReceiver::new(SECRET, NOW);
    let mut config = config_for(&receiver, SECRET);
    config.batch_size = 1;
    let mut webhook = Webhook::new(config).expect("adapter");
    receiver.misbehave(Misbehave::Status(400, Some("60".into())));
    let report = webhook.push(&[push("A-1", 1), push("B-2", 2)]).expect("push");
    let refused = failure(&report, "A-1");
    assert!(!refused.retryable);
    assert_eq!(refused.retry_after, None);
    assert_eq!(refused.code.as_deref(), Some("400"));
    assert_eq!(
        refused.reason,
        "HTTP 400 Bad Request: rejected: unknown location code WH9"
    );
    // A refused event does not stop the others.
    assert!(report.result("B-2").is_some_and(|r| r.is_applied()), "{report:?}");
    assert_eq!(report.calls.len(), 2);
}

#[test]
fn a_wrong_secret_is_refused_by_the_receiver_and_stops_the_push() {
    let receiver = WebhookReceiver::new(OTHER_SECRET, NOW);
    let mut config = config_for(&receiver, SECRET);
    config.batch_size = 1;
    let mut webhook = Webhook::new(config).expect("adapter");
    let report = webhook.push(&[push("A-1", 1), push("B-2", 2)]).expect("push");
    let refused = failure(&report, "A-1");
    assert!(!refused.retryable);
    assert_eq!(refused.code.as_deref(), Some("401"));
    assert_eq!(
        refused.reason,
        "HTTP 401 Unauthorized: signature: no matching signature"
    );
    assert!(failure(&report, "B-2").reason.starts_with("not sent: HTTP 401"));
    assert_eq!(report.calls.len(), 1);
    assert!(!format!("{report:?}").contains("MfKQ9r8"));
    assert!(receiver.events().is_empty());
}

#[test]
fn during_a_rotation_both_secrets_sign_so_either_receiver_accepts() {
    let old = WebhookReceiver::new(SECRET, NOW);
    let mut config = config_for(&old, OTHER_SECRET);
    config.previous_secret = Some(Secret::new(SECRET));
    let mut webhook = Webhook::new(config).expect("adapter");
    assert_eq!(webhook.push(&[push("A-1", 3)]).expect("push").applied(), 1);
    let signature = old.attempts()[0].signature.clone().unwrap_or_default();
    assert_eq!(signature.split(' ').filter(|s| s.starts_with("v1,")).count(), 2);
    assert_eq!(old.events().len(), 1);

    let new = WebhookReceiver::new(OTHER_SECRET, NOW);
    let mut config = config_for(&new, OTHER_SECRET);
    config.previous_secret = Some(Secret::new(SECRET));
    let mut webhook = Webhook::new(config).expect("adapter");
    assert_eq!(webhook.push(&[push("A-1", 3)]).expect("push").applied(), 1);
    assert_eq!(new.events().len(), 1);
}

#[test]
fn the_timestamp_comes_from_the_configured_clock() {
    // A receiver ten minutes ahead refuses what our (fixed) clock signed: the adapter really
    // uses `now` from its configuration.
    let receiver = WebhookReceiver::new(SECRET, NOW + 600);
    let mut webhook = adapter(&receiver);
    let report = webhook.push(&[push("A-1", 1)]).expect("push");
    assert_eq!(failure(&report, "A-1").code.as_deref(), Some("401"));
    assert_eq!(receiver.attempts()[0].timestamp.as_deref(), Some("1767323045"));
}

#[test]
fn product_updates_are_signed_product_events() {
    let receiver = WebhookReceiver::new(SECRET, NOW);
    let mut webhook = adapter(&receiver);
    let update = |sku: &str, price: &str, supplier: Option<&str>| ProductUpdate {
        sku: sku.into(),
        name: format!("Product {sku}"),
        price: price.into(),
        stock: 4,
        supplier: supplier.map(Into::into),
        idempotency_key: format!("product:{sku}:1"),
    };
    let updates = [
        update("A-1", "12.50", Some("Acme")),
        update("B-2", "12,50", None),
        update("C-3", "3", None),
    ];
    let report = webhook.send_product_updates(&updates).expect("send");
    assert_eq!(report.applied(), 2, "{report:?}");
    let refused = failure(&report, "B-2");
    assert!(!refused.retryable);
    assert_eq!(refused.code.as_deref(), Some("invalid_price"));
    assert_eq!(
        report.result("A-1").map(|r| r.outcome.clone()),
        Some(Outcome::Applied {
            remote_id: "A-1".into(),
            quantity_after: None,
            observed_before: None
        })
    );
    let events = receiver.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].event,
        json!({
            "type": "product.updated",
            "timestamp": "2026-01-02T03:04:05Z",
            "data": { "items": [
                { "sku": "A-1", "name": "Product A-1", "price": "12.50", "stock": 4, "supplier": "Acme" },
                { "sku": "C-3", "name": "Product C-3", "price": "3", "stock": 4, "supplier": null },
            ] },
        })
    );

    // Same classification as stock events; a retry carries the same id.
    receiver.misbehave(Misbehave::Status(429, Some("3".into())));
    let again = [update("D-4", "1.00", None)];
    let report = webhook.send_product_updates(&again).expect("send");
    let throttled = failure(&report, "D-4");
    assert!(throttled.retryable);
    assert_eq!(throttled.retry_after, Some(3));
    assert_eq!(webhook.send_product_updates(&again).expect("send").applied(), 1);
    let attempts = receiver.attempts();
    assert_eq!(attempts[1].id, attempts[2].id);
    assert_ne!(attempts[0].id, attempts[1].id);
    // A product event and a stock event over the same keys are different messages.
    assert_eq!(receiver.events().len(), 2);
}

#[test]
fn the_pacer_is_called_before_every_request() {
    let receiver = WebhookReceiver::new(SECRET, NOW);
    let count = Arc::new(AtomicUsize::new(0));
    let mut config = config_for(&receiver, SECRET);
    config.batch_size = 2;
    let mut webhook = Webhook::new(config)
        .expect("adapter")
        .with_pacer(Box::new(CountingPacer(count.clone())));
    let items: Vec<Push> = (0..5).map(|i| push(&format!("S{i}"), i)).collect();
    let report = webhook.push(&items).expect("push");
    assert_eq!(report.calls.len(), 3);
    assert_eq!(count.load(Ordering::SeqCst), 3);
    webhook
        .send_product_updates(&[ProductUpdate {
            sku: "S1".into(),
            name: "S1".into(),
            price: "1".into(),
            stock: 1,
            supplier: None,
            idempotency_key: "p".into(),
        }])
        .expect("send");
    assert_eq!(count.load(Ordering::SeqCst), 4);
    // Nothing to send, nothing paced.
    webhook.push(&[]).expect("push");
    assert_eq!(count.load(Ordering::SeqCst), 4);
}
