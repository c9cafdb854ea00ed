//! Supplier order routing (the distribution interface): a paid order's lines grouped by each
//! item's supplier, one signed message per supplier through the message outbox, sent with
//! retries and dead letters.
//!
//! ```text
//! route_order(order, lines) ─> one message per supplier, key order:<id>:supplier:<name>
//! send_messages()            ─> POST to the supplier's endpoint, Standard Webhooks signed,
//!                               webhook-id derived from the key (the same on every retry)
//! ```
//!
//! A line whose SKU is unknown or has no supplier is not routed (listed in the report). A
//! supplier without an endpoint gets its message anyway; sending it fails permanently ("no
//! endpoint") so it waits as a dead letter until an admin configures the endpoint and retries.
//! Endpoints live in the sync state (`supplier.<name>`), their secrets sealed by [`Adapters`].

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{Adapters, Clock};
use crate::channels::http::{HttpConfig, Transport};
use crate::channels::webhook::classify;
use crate::channels::Secret;
use crate::ledger::{job, LedgerStore, Message, NewMessage};
use crate::signature::{decode_standard_secret, sign_standard, Secrets};
use crate::{Error, Result};

/// The topic of an order sent to a supplier.
pub const TOPIC_ORDER_PAID: &str = "order.paid";
/// The sync state entry listing the suppliers with an endpoint.
const INDEX_STATE: &str = "supplier.index";
/// The longest supplier name.
const MAX_SUPPLIER_CHARS: usize = 80;

/// One line of a paid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// The order line's id in the store.
    pub line_id: String,
    /// The SKU.
    pub sku: String,
    /// Units ordered (≥ 1).
    pub quantity: i64,
}

/// What routing an order did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteReport {
    /// Per supplier: the message id and whether it was new (false: the order was routed before).
    pub messages: Vec<(String, i64, bool)>,
    /// Lines not routed: (SKU, reason).
    pub unrouted: Vec<(String, String)>,
}

/// Routes order `order_id`'s lines to their suppliers (see the module documentation).
pub fn route_order(store: &dyn LedgerStore, order_id: &str, lines: &[OrderLine], now: i64) -> Result<RouteReport> {
    let order_id = order_id.trim();
    if order_id.is_empty() || order_id.chars().count() > 100 {
        return Err(Error::validation("order_id", "must be 1–100 characters"));
    }
    let mut report = RouteReport::default();
    let mut by_supplier: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        if line.quantity < 1 || line.quantity > crate::ledger::MAX_QUANTITY {
            return Err(Error::validation(
                format!("lines[{i}].quantity"),
                "must be a positive number of units",
            ));
        }
        let Some(item) = store.get_item(line.sku.trim())? else {
            report.unrouted.push((line.sku.clone(), "unknown SKU".into()));
            continue;
        };
        let Some(supplier) = item.supplier.filter(|s| !s.trim().is_empty()) else {
            report
                .unrouted
                .push((line.sku.clone(), "the item has no supplier".into()));
            continue;
        };
        by_supplier.entry(supplier).or_default().push(json!({
            "line_id": line.line_id,
            "sku": item.sku,
            "name": item.name,
            "quantity": line.quantity,
        }));
    }
    for (supplier, lines) in by_supplier {
        let payload = json!({
            "type": TOPIC_ORDER_PAID,
            "order_id": order_id,
            "supplier": supplier,
            "lines": lines,
        });
        let (message, created) = store.enqueue_message(
            &NewMessage {
                destination: supplier.clone(),
                topic: TOPIC_ORDER_PAID.into(),
                key: order_message_key(order_id, &supplier),
                payload: payload.to_string(),
            },
            now,
        )?;
        report.messages.push((supplier, message.id, created));
    }
    Ok(report)
}

/// The unique key of order `order_id`'s message to `supplier`.
pub fn order_message_key(order_id: &str, supplier: &str) -> String {
    format!("order:{order_id}:supplier:{supplier}")
}

/// Where a supplier's messages go.
#[derive(Clone)]
pub struct SupplierEndpoint {
    /// The endpoint URL (http or https).
    pub url: String,
    /// The Standard Webhooks secret (`whsec_…`).
    pub secret: Secret,
}

fn state_name(supplier: &str) -> Result<String> {
    let supplier = supplier.trim();
    if supplier.is_empty() || supplier.chars().count() > MAX_SUPPLIER_CHARS {
        return Err(Error::validation(
            "supplier",
            format!("must be 1–{MAX_SUPPLIER_CHARS} characters"),
        ));
    }
    Ok(format!("supplier.{supplier}"))
}

fn context(supplier: &str) -> String {
    format!("supplier:{}", supplier.trim())
}

fn index(store: &dyn LedgerStore) -> Result<Vec<String>> {
    Ok(store
        .sync_state(INDEX_STATE)?
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default())
}

/// Saves `supplier`'s endpoint: its URL and secret (sealed; a blank secret keeps the stored one).
pub fn save_endpoint(
    store: &dyn LedgerStore,
    adapters: &Adapters,
    supplier: &str,
    url: &str,
    secret: Option<&str>,
    now: i64,
) -> Result<()> {
    let name = state_name(supplier)?;
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::validation(
            "url",
            "must start with https:// (or http:// on this network)",
        ));
    }
    let sealed = match secret.map(str::trim).filter(|s| !s.is_empty()) {
        Some(secret) => {
            decode_standard_secret(secret.as_bytes()).map_err(|e| Error::validation("secret", e.to_string()))?;
            adapters.seal(secret.as_bytes(), &context(supplier))?
        }
        None => stored(store, supplier)?
            .and_then(|v| v["secret"].as_str().map(str::to_string))
            .ok_or_else(|| Error::validation("secret", "is required"))?,
    };
    store.set_sync_state(&name, &json!({ "url": url, "secret": sealed }).to_string(), now)?;
    let mut names = index(store)?;
    if !names.iter().any(|n| n == supplier.trim()) {
        names.push(supplier.trim().to_string());
        names.sort();
        store.set_sync_state(INDEX_STATE, &serde_json::to_string(&names).unwrap_or_default(), now)?;
    }
    Ok(())
}

fn stored(store: &dyn LedgerStore, supplier: &str) -> Result<Option<Value>> {
    Ok(store
        .sync_state(&state_name(supplier)?)?
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .filter(Value::is_object))
}

/// `supplier`'s endpoint with its secret opened, if one is configured.
pub fn endpoint(store: &dyn LedgerStore, adapters: &Adapters, supplier: &str) -> Result<Option<SupplierEndpoint>> {
    let Some(value) = stored(store, supplier)? else {
        return Ok(None);
    };
    let secret = adapters.open(value["secret"].as_str().unwrap_or_default(), &context(supplier))?;
    Ok(Some(SupplierEndpoint {
        url: value["url"].as_str().unwrap_or_default().to_string(),
        secret: Secret::new(String::from_utf8(secret).map_err(|_| Error::validation("secret", "is not text"))?),
    }))
}

/// Every configured endpoint: (supplier, URL, masked secret or `None` when it cannot be opened).
pub fn endpoints(store: &dyn LedgerStore, adapters: &Adapters) -> Result<Vec<(String, String, Option<String>)>> {
    let mut out = Vec::new();
    for name in index(store)? {
        if let Some(value) = stored(store, &name)? {
            let masked = adapters
                .open(value["secret"].as_str().unwrap_or_default(), &context(&name))
                .ok()
                .map(|plain| crate::crypto::mask(&String::from_utf8_lossy(&plain)));
            out.push((name, value["url"].as_str().unwrap_or_default().to_string(), masked));
        }
    }
    Ok(out)
}

/// What one sending run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Messages delivered.
    pub sent: u64,
    /// Messages back in line after a retryable failure.
    pub retried: u64,
    /// Messages given up (refused, no endpoint, out of attempts).
    pub dead: u64,
    /// HTTP calls made.
    pub calls: u64,
}

/// The `webhook-id` of a message: derived from its key, the same on every attempt.
pub fn message_id(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("msg_{}", hex::encode(&digest[..16]))
}

/// Sends up to `limit` due messages for `owner`, each to its supplier's endpoint.
pub fn send_messages(
    store: &dyn LedgerStore,
    adapters: &Adapters,
    http: &HttpConfig,
    owner: &str,
    limit: u32,
    clock: &dyn Clock,
) -> Result<SendReport> {
    let claim_seconds = u32::try_from(http.overall_timeout.as_secs())
        .unwrap_or(300)
        .saturating_mul(2)
        .max(60);
    let claimed = store.claim_messages(owner, limit.clamp(1, job::MAX_CLAIM), claim_seconds, clock.now())?;
    let mut transport = Transport::new(http);
    let mut report = SendReport::default();
    for message in claimed {
        let outcome = deliver(store, adapters, &mut transport, &message, clock);
        report.calls += transport.take_calls().len() as u64;
        match outcome {
            Ok(()) => {
                store.complete_message(message.id, owner, clock.now())?;
                report.sent += 1;
            }
            Err((reason, retryable, retry_after)) => {
                let failed = store.fail_message(message.id, owner, &reason, retryable, retry_after, clock.now())?;
                if failed.status == crate::ledger::MessageStatus::Dead {
                    report.dead += 1;
                } else {
                    report.retried += 1;
                }
            }
        }
    }
    Ok(report)
}

type Refusal = (String, bool, Option<u32>);

fn deliver(
    store: &dyn LedgerStore,
    adapters: &Adapters,
    transport: &mut Transport,
    message: &Message,
    clock: &dyn Clock,
) -> std::result::Result<(), Refusal> {
    let endpoint = match endpoint(store, adapters, &message.destination) {
        Ok(Some(endpoint)) => endpoint,
        Ok(None) => {
            return Err((
                format!("no endpoint is configured for supplier {}", message.destination),
                false,
                None,
            ))
        }
        Err(e) => {
            return Err((
                format!("the endpoint cannot be used: {}", e.full_message()),
                false,
                None,
            ))
        }
    };
    let seconds = u64::try_from(clock.now()).unwrap_or(0);
    let id = message_id(&message.key);
    let headers = sign_standard(
        id.as_bytes(),
        seconds,
        message.payload.as_bytes(),
        Secrets::new(endpoint.secret.expose().as_bytes(), None),
    )
    .map_err(|e| (format!("the message could not be signed: {e}"), false, None))?;
    let reply = transport
        .send(
            "POST",
            &endpoint.url,
            &[
                ("Content-Type", "application/json"),
                ("webhook-id", &headers.id),
                ("webhook-timestamp", &headers.timestamp),
                ("webhook-signature", &headers.signature),
            ],
            Some(message.payload.as_bytes()),
        )
        .map_err(|f| {
            (
                f.reason,
                f.retryable,
                f.retry_after.map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
            )
        })?;
    let now = UNIX_EPOCH + Duration::from_secs(seconds);
    match classify(&reply, now) {
        None => Ok(()),
        Some(f) => Err((
            f.reason,
            f.retryable,
            f.retry_after.map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
        )),
    }
}
