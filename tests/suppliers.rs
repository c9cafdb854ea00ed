//! Supplier order routing end to end against two loopback receivers that check Standard Webhooks
//! signatures: a paid order with lines from two suppliers reaches each supplier once, also when
//! one of them is down for a while; routing the same order again sends nothing; a supplier
//! without an endpoint waits as a dead letter until an admin configures it and retries.

mod fakes;

use std::time::Duration;

use fakes::webhook_receiver::WebhookReceiver;
use fakes::{fast_http, Misbehave};
use inventory_sync::crypto::CredentialKey;
use inventory_sync::ledger::{
    ItemInput, LedgerStore, Location, MessageQuery, MessageStatus, MovementKind, MovementRequest, SqliteLedger,
};
use inventory_sync::sync::suppliers::{self, OrderLine};
use inventory_sync::sync::{Adapters, Clock, ManualClock};

const SECRET_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_B: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const NOW: i64 = 1_790_000_000;

fn store() -> SqliteLedger {
    let store = SqliteLedger::open_in_memory().unwrap();
    store
        .upsert_location(
            &Location {
                code: "MAIN".into(),
                name: "Main".into(),
                priority: 0,
                active: true,
            },
            NOW,
        )
        .unwrap();
    for (sku, supplier) in [
        ("APPLE", Some("Orchard")),
        ("PEAR", Some("Orchard")),
        ("MANGO", Some("Tropics")),
        ("BAG", None),
    ] {
        store
            .upsert_item(
                &ItemInput {
                    sku: sku.into(),
                    name: format!("{sku} crate"),
                    supplier: supplier.map(str::to_string),
                    ..ItemInput::default()
                },
                NOW,
            )
            .unwrap();
        store
            .record(
                &MovementRequest::new(format!("open-{sku}"), sku, MovementKind::Receive, 10),
                NOW,
            )
            .unwrap();
    }
    store
}

fn adapters() -> Adapters {
    Adapters::new(
        Some(CredentialKey::derive(b"supplier-test-site-secret-material").unwrap()),
        fast_http(),
    )
}

fn lines() -> Vec<OrderLine> {
    [
        ("1", "APPLE", 2),
        ("2", "MANGO", 1),
        ("3", "PEAR", 5),
        ("4", "BAG", 1),
        ("5", "GHOST", 1),
    ]
    .into_iter()
    .map(|(id, sku, quantity)| OrderLine {
        line_id: id.into(),
        sku: sku.into(),
        quantity,
    })
    .collect()
}

#[test]
fn a_paid_order_reaches_each_supplier_once_also_through_an_outage() {
    let store = store();
    let adapters = adapters();
    let orchard = WebhookReceiver::new(SECRET_A, NOW as u64);
    let tropics = WebhookReceiver::new(SECRET_B, NOW as u64);
    suppliers::save_endpoint(&store, &adapters, "Orchard", &orchard.url(), Some(SECRET_A), NOW).unwrap();
    suppliers::save_endpoint(&store, &adapters, "Tropics", &tropics.url(), Some(SECRET_B), NOW).unwrap();
    // Tropics is down for its first two attempts.
    tropics.misbehave(Misbehave::Status(503, None));
    tropics.misbehave(Misbehave::Status(503, None));

    let routed = suppliers::route_order(&store, "1001", &lines(), NOW).unwrap();
    let names: Vec<&str> = routed.messages.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(names, ["Orchard", "Tropics"]);
    assert!(routed.messages.iter().all(|(_, _, created)| *created));
    assert_eq!(
        routed.unrouted,
        [
            ("BAG".to_string(), "the item has no supplier".to_string()),
            ("GHOST".to_string(), "unknown SKU".to_string())
        ]
    );
    // The hook fires again (a status flip, a duplicate event): nothing new is queued.
    let again = suppliers::route_order(&store, "1001", &lines(), NOW).unwrap();
    assert!(again.messages.iter().all(|(_, _, created)| !*created));

    let clock = ManualClock::at_ms(NOW * 1000);
    let first = suppliers::send_messages(&store, &adapters, &fast_http(), "sender-1", 50, &clock).unwrap();
    assert_eq!((first.sent, first.retried, first.dead), (1, 1, 0));
    // Backoff: ≤ 30 s, then ≤ 60 s (the receiver accepts timestamps within 5 minutes of its clock).
    for _ in 0..4 {
        clock.advance(Duration::from_secs(60));
        suppliers::send_messages(&store, &adapters, &fast_http(), "sender-2", 50, &clock).unwrap();
    }

    let orchard_events = orchard.events();
    assert_eq!(orchard_events.len(), 1, "Orchard got the order once");
    let event = &orchard_events[0].event;
    assert_eq!(event["order_id"], "1001");
    let skus: Vec<&str> = event["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["APPLE", "PEAR"]);
    assert_eq!(event["lines"][1]["quantity"], 5);
    let tropics_events = tropics.events();
    assert_eq!(tropics_events.len(), 1, "Tropics got it once, after the outage");
    assert_eq!(tropics_events[0].event["lines"][0]["sku"], "MANGO");
    assert_eq!(tropics.attempts().len(), 3, "two refused attempts, then the delivery");
    assert_eq!(tropics.duplicates(), 0);
    let done = store
        .list_messages(&MessageQuery {
            status: Some(MessageStatus::Done),
            ..MessageQuery::default()
        })
        .unwrap();
    assert_eq!(done.messages.len(), 2);
    let tropics_message = done.messages.iter().find(|m| m.destination == "Tropics").unwrap();
    assert_eq!(tropics_message.attempts, 3);
    assert!(tropics_message
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("503"));

    // Retention: delivered messages older than the cut-off go, younger ones stay.
    assert_eq!(store.prune_done_messages(NOW).unwrap(), 0);
    assert_eq!(store.prune_done_messages(clock.now() + 1).unwrap(), 2);
    assert!(store
        .list_messages(&MessageQuery::default())
        .unwrap()
        .messages
        .is_empty());
}

#[test]
fn a_supplier_without_an_endpoint_waits_as_a_dead_letter_until_configured_and_retried() {
    let store = store();
    let adapters = adapters();
    let clock = ManualClock::at_ms(NOW * 1000);
    let routed = suppliers::route_order(
        &store,
        "2002",
        &[OrderLine {
            line_id: "9".into(),
            sku: "MANGO".into(),
            quantity: 3,
        }],
        NOW,
    )
    .unwrap();
    let id = routed.messages[0].1;
    let report = suppliers::send_messages(&store, &adapters, &fast_http(), "sender", 10, &clock).unwrap();
    assert_eq!((report.sent, report.dead, report.calls), (0, 1, 0));
    let dead = store
        .list_messages(&MessageQuery {
            status: Some(MessageStatus::Dead),
            ..MessageQuery::default()
        })
        .unwrap();
    assert_eq!(
        dead.messages[0].last_error.as_deref(),
        Some("no endpoint is configured for supplier Tropics")
    );

    let tropics = WebhookReceiver::new(SECRET_B, NOW as u64);
    suppliers::save_endpoint(
        &store,
        &adapters,
        "Tropics",
        &tropics.url(),
        Some(SECRET_B),
        clock.now(),
    )
    .unwrap();
    // A pending message cannot be retried; a dead one can.
    assert_eq!(
        store.retry_message(id, clock.now()).unwrap().status,
        MessageStatus::Pending
    );
    assert!(store.retry_message(id, clock.now()).is_err());
    let report = suppliers::send_messages(&store, &adapters, &fast_http(), "sender", 10, &clock).unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(tropics.events().len(), 1);
}

#[test]
fn a_refused_message_is_dead_with_the_reason_and_bad_endpoints_are_refused() {
    let store = store();
    let adapters = adapters();
    let orchard = WebhookReceiver::new(SECRET_A, NOW as u64);
    // The endpoint holds another secret than the receiver: 401, a permanent failure.
    suppliers::save_endpoint(&store, &adapters, "Orchard", &orchard.url(), Some(SECRET_B), NOW).unwrap();
    suppliers::route_order(
        &store,
        "3003",
        &[OrderLine {
            line_id: "1".into(),
            sku: "APPLE".into(),
            quantity: 1,
        }],
        NOW,
    )
    .unwrap();
    let clock = ManualClock::at_ms(NOW * 1000);
    let report = suppliers::send_messages(&store, &adapters, &fast_http(), "sender", 10, &clock).unwrap();
    assert_eq!(report.dead, 1);
    assert!(orchard.events().is_empty());
    // A dead letter waits for an admin: retention never deletes it.
    assert_eq!(store.prune_done_messages(clock.now() + 3600).unwrap(), 0);
    assert_eq!(store.list_messages(&MessageQuery::default()).unwrap().messages.len(), 1);
    let listed = suppliers::endpoints(&store, &adapters).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].2.as_deref(),
        Some("••••b7oD"),
        "the secret is only shown masked"
    );

    assert!(suppliers::save_endpoint(&store, &adapters, "Orchard", "ftp://x", Some(SECRET_A), NOW).is_err());
    assert!(suppliers::save_endpoint(&store, &adapters, "Orchard", &orchard.url(), Some("not-a-secret"), NOW).is_err());
    assert!(suppliers::save_endpoint(&store, &adapters, "New", &orchard.url(), None, NOW).is_err());
    let bad_quantity = suppliers::route_order(
        &store,
        "3004",
        &[OrderLine {
            line_id: "1".into(),
            sku: "APPLE".into(),
            quantity: 0,
        }],
        NOW,
    );
    assert!(bad_quantity.unwrap_err().full_message().contains("lines[0].quantity"));
}
