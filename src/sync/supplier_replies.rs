//! Supplier replies: a supplier that was sent an order (see [`super::suppliers`]) answers through
//! the inbound API, with an API key limited to that supplier, that it acknowledged the order or
//! shipped some of its lines.
//!
//! ```text
//! accept_reply(supplier, {id, type, order_id, lines, carrier, tracking_number, tracking_url})
//!   ─> the order's message for this supplier must exist (key order:<id>:supplier:<name>)
//!   ─> shipped lines must be lines of that message, at most the units it asked for
//!   ─> logged once in the inbound log (provider "supplier", dedup key "<supplier>/<id>"):
//!      the same reply again is a duplicate and changes nothing
//! ```
//!
//! The store (WooCommerce) turns an accepted reply into an order note; stock a supplier holds
//! travels as movements through the same API, not here.

use std::collections::BTreeMap;

use serde_json::Value;

use super::suppliers::order_message_key;
use crate::ledger::inbound::{InboundEvent, InboundOutcome};
use crate::ledger::{LedgerStore, MAX_QUANTITY};
use crate::{Error, Result};

/// The inbound log's provider for supplier replies.
pub const REPLY_PROVIDER: &str = "supplier";
/// A supplier confirmed it received the order.
pub const TOPIC_ORDER_ACKNOWLEDGED: &str = "order.acknowledged";
/// A supplier shipped lines of the order.
pub const TOPIC_ORDER_SHIPPED: &str = "order.shipped";
/// The longest reply id, carrier and tracking number.
const MAX_ID_CHARS: usize = 200;
const MAX_CARRIER_CHARS: usize = 100;
const MAX_TRACKING_CHARS: usize = 100;
const MAX_URL_CHARS: usize = 500;

/// What a supplier says about an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// It received the order and will fulfil it.
    Acknowledged,
    /// It shipped lines of the order.
    Shipped,
}

impl ReplyKind {
    /// Parses the reply's `type`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim() {
            TOPIC_ORDER_ACKNOWLEDGED => Ok(ReplyKind::Acknowledged),
            TOPIC_ORDER_SHIPPED => Ok(ReplyKind::Shipped),
            other => Err(Error::validation(
                "type",
                format!("expected {TOPIC_ORDER_ACKNOWLEDGED} or {TOPIC_ORDER_SHIPPED}, got {other:?}"),
            )),
        }
    }

    /// The topic it is logged under.
    pub fn topic(self) -> &'static str {
        match self {
            ReplyKind::Acknowledged => TOPIC_ORDER_ACKNOWLEDGED,
            ReplyKind::Shipped => TOPIC_ORDER_SHIPPED,
        }
    }
}

/// A supplier's reply as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierReply {
    /// The supplier's id of this reply: the same id again is a duplicate.
    pub id: String,
    /// What it says.
    pub kind: ReplyKind,
    /// The store's order id, as the order message carried it.
    pub order_id: String,
    /// Shipped lines (SKU, units); empty on a shipment means every line of the message.
    pub lines: Vec<(String, i64)>,
    /// The carrier, for a shipment.
    pub carrier: Option<String>,
    /// The tracking number, for a shipment.
    pub tracking_number: Option<String>,
    /// A tracking page (http or https), for a shipment.
    pub tracking_url: Option<String>,
}

/// What came of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyOutcome {
    /// The reply's id had been received from this supplier before: nothing was done again.
    pub duplicate: bool,
    /// The reply, checked: texts trimmed, the shipped lines spelled out.
    pub reply: SupplierReply,
    /// One line for the order's notes and the inbound log.
    pub summary: String,
}

/// Accepts `supplier`'s reply (see the module documentation). Errors: validation (naming the
/// field) for a malformed reply, a line that is not the supplier's or more units than ordered;
/// not found when the order was never sent to this supplier.
pub fn accept_reply(store: &dyn LedgerStore, supplier: &str, reply: &SupplierReply, now: i64) -> Result<ReplyOutcome> {
    let supplier = supplier.trim();
    if supplier.is_empty() {
        return Err(Error::validation(
            "supplier",
            "a reply needs the supplier it comes from",
        ));
    }
    let id = required("id", &reply.id, MAX_ID_CHARS)?;
    let order_id = required("order_id", &reply.order_id, 100)?;
    let Some(message) = store.find_message(&order_message_key(&order_id, supplier))? else {
        return Err(Error::NotFound {
            what: "order",
            key: format!("{order_id} (never sent to supplier {supplier})"),
        });
    };
    let ordered = ordered_lines(&message.payload)?;
    let mut reply = SupplierReply {
        id,
        order_id,
        carrier: optional("carrier", reply.carrier.as_deref(), MAX_CARRIER_CHARS)?,
        tracking_number: optional("tracking_number", reply.tracking_number.as_deref(), MAX_TRACKING_CHARS)?,
        tracking_url: optional("tracking_url", reply.tracking_url.as_deref(), MAX_URL_CHARS)?,
        ..reply.clone()
    };
    if let Some(url) = &reply.tracking_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.chars().any(char::is_whitespace) {
            return Err(Error::validation("tracking_url", "must be an http or https address"));
        }
    }
    match reply.kind {
        ReplyKind::Acknowledged => {
            if !reply.lines.is_empty()
                || reply.carrier.is_some()
                || reply.tracking_number.is_some()
                || reply.tracking_url.is_some()
            {
                return Err(Error::validation(
                    "type",
                    "an acknowledgement has no lines nor tracking; send order.shipped for a shipment",
                ));
            }
        }
        ReplyKind::Shipped => reply.lines = shipped_lines(&reply.lines, &ordered, supplier, &reply.order_id)?,
    }
    let summary = summary(supplier, &reply);
    let record = store.record_inbound(
        &InboundEvent {
            topic: Some(reply.kind.topic().into()),
            summary: summary.clone(),
            ..InboundEvent::new(
                REPLY_PROVIDER,
                format!("{supplier}/{}", reply.id),
                InboundOutcome::Applied,
            )
        },
        now,
    )?;
    Ok(ReplyOutcome {
        duplicate: record.duplicate,
        reply,
        summary: if record.duplicate { record.summary } else { summary },
    })
}

fn required(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            format!("must be 1–{max} characters, no control characters"),
        ));
    }
    Ok(value.to_string())
}

fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => required(field, value, max).map(Some),
    }
}

/// SKU → units of the order message's lines (a SKU on two lines adds up).
fn ordered_lines(payload: &str) -> Result<BTreeMap<String, i64>> {
    let payload: Value =
        serde_json::from_str(payload).map_err(|e| Error::ledger("an order message's payload is not JSON", e))?;
    let mut lines = BTreeMap::new();
    for line in payload["lines"].as_array().into_iter().flatten() {
        if let (Some(sku), Some(quantity)) = (line["sku"].as_str(), line["quantity"].as_i64()) {
            *lines.entry(sku.to_string()).or_insert(0) += quantity;
        }
    }
    Ok(lines)
}

/// The shipped lines checked against what was ordered, merged per SKU in the order given; none
/// given means every ordered line in full.
fn shipped_lines(
    lines: &[(String, i64)],
    ordered: &BTreeMap<String, i64>,
    supplier: &str,
    order_id: &str,
) -> Result<Vec<(String, i64)>> {
    if lines.is_empty() {
        return Ok(ordered.iter().map(|(sku, quantity)| (sku.clone(), *quantity)).collect());
    }
    let mut shipped: Vec<(String, i64)> = Vec::new();
    for (i, (sku, quantity)) in lines.iter().enumerate() {
        let sku = sku.trim();
        let Some(&asked) = ordered.get(sku) else {
            return Err(Error::validation(
                format!("lines[{i}].sku"),
                format!("order {order_id} sent to {supplier} has no line with SKU {sku:?}"),
            ));
        };
        if *quantity < 1 || *quantity > MAX_QUANTITY {
            return Err(Error::validation(
                format!("lines[{i}].quantity"),
                "must be a positive number of units",
            ));
        }
        match shipped.iter_mut().find(|(s, _)| s == sku) {
            Some((_, total)) => *total += quantity,
            None => shipped.push((sku.to_string(), *quantity)),
        }
        let total = shipped.iter().find(|(s, _)| s == sku).map_or(0, |(_, q)| *q);
        if total > asked {
            return Err(Error::validation(
                format!("lines[{i}].quantity"),
                format!("{total} units of {sku} shipped, the order asked {supplier} for {asked}"),
            ));
        }
    }
    Ok(shipped)
}

fn summary(supplier: &str, reply: &SupplierReply) -> String {
    match reply.kind {
        ReplyKind::Acknowledged => format!("{supplier} acknowledged order {}.", reply.order_id),
        ReplyKind::Shipped => {
            let lines: Vec<String> = reply.lines.iter().map(|(sku, q)| format!("{q} × {sku}")).collect();
            let tracking = match (&reply.carrier, &reply.tracking_number) {
                (Some(carrier), Some(number)) => format!(" ({carrier}, tracking {number})"),
                (Some(carrier), None) => format!(" ({carrier})"),
                (None, Some(number)) => format!(" (tracking {number})"),
                (None, None) => String::new(),
            };
            format!(
                "{supplier} shipped order {}: {}{tracking}.",
                reply.order_id,
                lines.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{ItemInput, SqliteLedger};
    use crate::sync::suppliers::{route_order, OrderLine};

    fn store() -> SqliteLedger {
        let store = SqliteLedger::open_in_memory().unwrap();
        for (sku, supplier) in [("TEE", "Threadworks"), ("CAP", "Threadworks"), ("MUG", "Kiln")] {
            store
                .upsert_item(
                    &ItemInput {
                        sku: sku.into(),
                        name: sku.into(),
                        supplier: Some(supplier.into()),
                        ..ItemInput::default()
                    },
                    1,
                )
                .unwrap();
        }
        let line = |id: &str, sku: &str, quantity| OrderLine {
            line_id: id.into(),
            sku: sku.into(),
            quantity,
        };
        route_order(
            &store,
            "1001",
            &[line("1", "TEE", 2), line("2", "CAP", 1), line("3", "MUG", 4)],
            100,
        )
        .unwrap();
        store
    }

    fn shipped(lines: &[(&str, i64)]) -> SupplierReply {
        SupplierReply {
            id: "ship-1".into(),
            kind: ReplyKind::Shipped,
            order_id: "1001".into(),
            lines: lines.iter().map(|(s, q)| (s.to_string(), *q)).collect(),
            carrier: Some("DHL".into()),
            tracking_number: Some("00340434".into()),
            tracking_url: Some("https://track.example/00340434".into()),
        }
    }

    #[test]
    fn a_shipment_is_accepted_once_and_spelled_out() {
        let store = store();
        let first = accept_reply(&store, "Threadworks", &shipped(&[("TEE", 1), ("TEE", 1)]), 200).unwrap();
        assert!(!first.duplicate);
        assert_eq!(first.reply.lines, vec![("TEE".to_string(), 2)]);
        assert_eq!(
            first.summary,
            "Threadworks shipped order 1001: 2 × TEE (DHL, tracking 00340434)."
        );
        let again = accept_reply(&store, "Threadworks", &shipped(&[("TEE", 2)]), 300).unwrap();
        assert!(again.duplicate);
        assert_eq!(again.summary, first.summary, "the first delivery is the one that acted");
        // Another supplier may use the same reply id: ids are per supplier.
        let kiln = accept_reply(&store, "Kiln", &shipped(&[]), 300).unwrap();
        assert!(!kiln.duplicate);
        assert_eq!(
            kiln.reply.lines,
            vec![("MUG".to_string(), 4)],
            "no lines: every line of its message"
        );
    }

    #[test]
    fn replies_about_other_suppliers_lines_or_unknown_orders_are_refused() {
        let store = store();
        let err = accept_reply(&store, "Kiln", &shipped(&[("TEE", 1)]), 200).unwrap_err();
        assert_eq!(
            err.to_string(),
            "lines[0].sku: order 1001 sent to Kiln has no line with SKU \"TEE\""
        );
        let err = accept_reply(&store, "Threadworks", &shipped(&[("TEE", 2), ("TEE", 1)]), 200).unwrap_err();
        assert_eq!(
            err.to_string(),
            "lines[1].quantity: 3 units of TEE shipped, the order asked Threadworks for 2"
        );
        let err = accept_reply(&store, "Capital Caps", &shipped(&[]), 200).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::NotFound);
        let unknown_order = SupplierReply {
            order_id: "999".into(),
            ..shipped(&[])
        };
        assert_eq!(
            accept_reply(&store, "Threadworks", &unknown_order, 200)
                .unwrap_err()
                .kind(),
            crate::error::ErrorKind::NotFound
        );
        let ack_with_lines = SupplierReply {
            kind: ReplyKind::Acknowledged,
            ..shipped(&[("TEE", 1)])
        };
        assert!(accept_reply(&store, "Threadworks", &ack_with_lines, 200)
            .unwrap_err()
            .to_string()
            .starts_with("type: "));
        let bad_url = SupplierReply {
            tracking_url: Some("javascript:alert(1)".into()),
            ..shipped(&[])
        };
        assert!(accept_reply(&store, "Threadworks", &bad_url, 200)
            .unwrap_err()
            .to_string()
            .starts_with("tracking_url: "));
        // Nothing refused was logged: the good shipment is still new.
        assert!(
            !accept_reply(&store, "Threadworks", &shipped(&[]), 200)
                .unwrap()
                .duplicate
        );
    }

    #[test]
    fn an_acknowledgement_is_logged_under_its_topic() {
        let store = store();
        let ack = SupplierReply {
            id: "ack-1".into(),
            kind: ReplyKind::Acknowledged,
            order_id: " 1001 ".into(),
            lines: vec![],
            carrier: None,
            tracking_number: Some("  ".into()),
            tracking_url: None,
        };
        let outcome = accept_reply(&store, "Threadworks", &ack, 200).unwrap();
        assert_eq!(outcome.summary, "Threadworks acknowledged order 1001.");
        let logged = store
            .find_inbound(REPLY_PROVIDER, "Threadworks/ack-1")
            .unwrap()
            .expect("logged");
        assert_eq!(logged.topic.as_deref(), Some(TOPIC_ORDER_ACKNOWLEDGED));
        assert_eq!(
            ReplyKind::parse("order.cancelled").unwrap_err().to_string(),
            "type: expected order.acknowledged or order.shipped, got \"order.cancelled\""
        );
    }
}
