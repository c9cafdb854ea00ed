//! Inbound deliveries: what a provider's (already verified) payload means for the ledger.
//!
//! [`plan`] is pure: the raw body and the relevant headers in, a [`Plan`] out — movements with
//! stable event ids, absolute levels a channel reported, returns that only apply if the sale was
//! recorded, items announced by the sender. Applying a plan to a store is [`crate::intake`]'s job.
//!
//! Stable ids (so a redelivery changes nothing):
//! * `generic`: the payload's `id` / `event_id`, else the SHA-256 of the body;
//! * `woocommerce`: source + product id + `date_modified_gmt` (WooCommerce's delivery id is not
//!   unique: deliveries in the same second share it);
//! * `shopify`: `X-Shopify-Webhook-Id`; order lines are keyed by order and line id, so a
//!   redelivery under a new webhook id still counts each line once;
//! * `erp` (Standard Webhooks): `webhook-id`.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::ledger::{MovementKind, MovementRequest};
use crate::{Error, Result};

/// Largest number of stock lines one delivery may carry.
pub const MAX_LINES: usize = 1000;

/// Who sent a delivery; decides how the body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// The tutorials' events: `inventory.updated`, `inventory.low_stock`, `product.created`.
    Generic,
    /// A WooCommerce store's webhooks (`product.updated`, …).
    WooCommerce,
    /// Shopify webhooks: `inventory_levels/update`, `orders/create`, `orders/cancelled`.
    Shopify,
    /// A warehouse or ERP posting stock (Standard Webhooks).
    Erp,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Provider; 4] = [
        Provider::Generic,
        Provider::WooCommerce,
        Provider::Shopify,
        Provider::Erp,
    ];

    /// The provider's name in routes and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Generic => "generic",
            Provider::WooCommerce => "woocommerce",
            Provider::Shopify => "shopify",
            Provider::Erp => "erp",
        }
    }

    /// Parses a provider name.
    pub fn parse(name: &str) -> Result<Self> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| Error::validation("provider", format!("unknown provider {name:?}")))
    }
}

/// The request headers a plan needs, already lower-cased by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// `(name, value)` pairs, names lower-case.
    pub pairs: Vec<(String, String)>,
}

impl Headers {
    /// Headers from pairs; names are lower-cased.
    pub fn new<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        Headers {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.into()))
                .collect(),
        }
    }

    /// A header's value (case-insensitive name), trimmed; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// How a channel's absolute level report is turned into stock facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelPolicy {
    /// The channel reports no orders to us: a level below what it last showed means units sold
    /// there (a sale movement); equal is an echo of our own push; above is drift.
    SalesFromDecrease,
    /// The channel also reports its orders (the facts): a level report only reveals drift and
    /// never moves stock, so no sale is counted twice.
    DriftOnly,
}

/// An absolute quantity a channel reported for one of its listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelReport {
    /// The channel's key (`woocommerce_remote:<source>`, `shopify:<shop>`).
    pub channel: String,
    /// The SKU, when the payload carries it.
    pub sku: Option<String>,
    /// The channel's own id for the listing, when the payload carries it instead of a SKU.
    pub remote_id: Option<String>,
    /// The quantity the channel now shows.
    pub quantity: i64,
    /// What a difference means.
    pub policy: LevelPolicy,
    /// Event id for the sale movement a decrease becomes.
    pub event_id: String,
}

/// A return that applies only if the sale it reverses was recorded (an order cancelled after we
/// counted it), so a cancellation of an order we never saw adds no stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionalReturn {
    /// The sale movement's event id.
    pub sale_event_id: String,
    /// The return to record when that sale exists.
    pub movement: MovementRequest,
}

/// An item announced by the sender (created only when the owner allows auto-create, or already
/// known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemHint {
    /// The SKU.
    pub sku: String,
    /// The name the sender uses, if any.
    pub name: Option<String>,
    /// The supplier, if any.
    pub supplier: Option<String>,
}

/// What a delivery asks of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The provider.
    pub provider: Provider,
    /// The key under which the delivery is logged once (see the module docs).
    pub dedup_key: String,
    /// The event or topic name (`inventory.updated`, `product.updated`, `orders/create`, …).
    pub topic: String,
    /// Movements to record.
    pub movements: Vec<MovementRequest>,
    /// Absolute levels reported by a channel.
    pub levels: Vec<LevelReport>,
    /// Returns that depend on an earlier sale.
    pub conditional_returns: Vec<ConditionalReturn>,
    /// Items the sender named.
    pub items: Vec<ItemHint>,
    /// Lines that could not be used (no SKU, not stock-managed, …), with the reason.
    pub skipped: Vec<String>,
    /// True when the delivery is informational only (e.g. `inventory.low_stock`).
    pub informational: bool,
}

impl Plan {
    fn new(provider: Provider, dedup_key: String, topic: String) -> Self {
        Plan {
            provider,
            dedup_key,
            topic,
            movements: Vec::new(),
            levels: Vec::new(),
            conditional_returns: Vec::new(),
            items: Vec::new(),
            skipped: Vec::new(),
            informational: false,
        }
    }

    /// Every SKU the plan touches directly (movements, SKU-keyed levels, items), first-seen order.
    pub fn skus(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |sku: &str| {
            if !out.iter().any(|s| s == sku) {
                out.push(sku.to_string());
            }
        };
        for item in &self.items {
            add(&item.sku);
        }
        for m in &self.movements {
            add(&m.sku);
        }
        for l in &self.levels {
            if let Some(sku) = &l.sku {
                add(sku);
            }
        }
        for r in &self.conditional_returns {
            add(&r.movement.sku);
        }
        out
    }
}

/// Reads a verified delivery.
///
/// Errors are `Validation` errors naming the offending field (`items[2].quantity`): the caller
/// answers 400 and changes nothing.
pub fn plan(provider: Provider, body: &[u8], headers: &Headers) -> Result<Plan> {
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| Error::validation("body", format!("not valid JSON: {e}")))?;
    let object = payload
        .as_object()
        .ok_or_else(|| Error::validation("body", "must be a JSON object"))?;
    match provider {
        Provider::Generic => plan_generic(object, body),
        Provider::WooCommerce => plan_woocommerce(object, headers),
        Provider::Shopify => plan_shopify(object, headers),
        Provider::Erp => plan_erp(object, headers),
    }
}

// --- field readers -------------------------------------------------------------------------------

fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}

fn name(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn text(object: &Map<String, Value>, path: &str, key: &str) -> Result<Option<String>> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        // Ids are often numbers (Shopify, WooCommerce): accept them as text.
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(Error::validation(name(path, key), "must be a string")),
    }
}

fn required_text(object: &Map<String, Value>, path: &str, key: &str) -> Result<String> {
    text(object, path, key)?.ok_or_else(|| Error::validation(name(path, key), "is required"))
}

fn integer(object: &Map<String, Value>, path: &str, key: &str) -> Result<Option<i64>> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| Error::validation(name(path, key), "must be a whole number")),
        Some(_) => Err(Error::validation(name(path, key), "must be a number")),
    }
}

fn quantity(object: &Map<String, Value>, path: &str, key: &str, allow_zero: bool) -> Result<i64> {
    let q = integer(object, path, key)?.ok_or_else(|| Error::validation(name(path, key), "is required"))?;
    let min = i64::from(!allow_zero);
    if !(min..=crate::ledger::MAX_QUANTITY).contains(&q) {
        return Err(Error::validation(
            name(path, key),
            format!("must be between {min} and {}, got {q}", crate::ledger::MAX_QUANTITY),
        ));
    }
    Ok(q)
}

fn list<'a>(object: &'a Map<String, Value>, path: &str, key: &str) -> Result<Option<&'a Vec<Value>>> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::Array(items)) if items.len() > MAX_LINES => Err(Error::validation(
            name(path, key),
            format!("at most {MAX_LINES} lines per delivery, got {}", items.len()),
        )),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(Error::validation(name(path, key), "must be a list")),
    }
}

fn entry<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| Error::validation(path, "must be an object"))
}

fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn header(headers: &Headers, name: &str) -> Result<String> {
    headers
        .get(name)
        .map(str::to_string)
        .ok_or_else(|| Error::validation(name, "header is required"))
}

// --- generic -------------------------------------------------------------------------------------

fn plan_generic(object: &Map<String, Value>, body: &[u8]) -> Result<Plan> {
    let event = required_text(object, "", "event")?;
    let id = match text(object, "", "id")? {
        Some(id) => id,
        None => text(object, "", "event_id")?.unwrap_or_else(|| body_hash(body)),
    };
    let mut plan = Plan::new(Provider::Generic, id.clone(), event.clone());
    match event.as_str() {
        "inventory.updated" => {
            // One SKU at the top level, or a list of lines; quantities are absolute counts.
            let lines: Vec<(String, &Map<String, Value>)> = match list(object, "", "items")? {
                Some(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Ok((format!("items[{i}]"), entry(v, &format!("items[{i}]"))?)))
                    .collect::<Result<_>>()?,
                None => vec![(String::new(), object)],
            };
            for (index, (path, line)) in lines.into_iter().enumerate() {
                let sku = required_text(line, &path, "sku")?;
                let mut m = MovementRequest::new(
                    format!("generic:{id}:{index}"),
                    sku,
                    MovementKind::Adjustment,
                    quantity(line, &path, "quantity", true)?,
                )
                .with_origin("generic");
                if let Some(location) = text(line, &path, "location")? {
                    m = m.at(location);
                }
                if let Some(reference) = text(line, &path, "reference")? {
                    m = m.with_reference(reference);
                }
                plan.movements.push(m);
            }
        }
        "inventory.low_stock" => {
            required_text(object, "", "sku")?;
            plan.informational = true;
        }
        "product.created" => plan.items.push(ItemHint {
            sku: required_text(object, "", "sku")?,
            name: text(object, "", "name")?,
            supplier: text(object, "", "supplier")?,
        }),
        other => {
            return Err(Error::validation(
                "event",
                format!("unknown event {other:?} (expected inventory.updated, inventory.low_stock or product.created)"),
            ))
        }
    }
    Ok(plan)
}

// --- WooCommerce ---------------------------------------------------------------------------------

fn plan_woocommerce(object: &Map<String, Value>, headers: &Headers) -> Result<Plan> {
    let source = header(headers, "x-wc-webhook-source")?;
    let topic = header(headers, "x-wc-webhook-topic")?;
    let id = required_text(object, "", "id")?;
    let modified = text(object, "", "date_modified_gmt")?.unwrap_or_default();
    let dedup_key = format!("{source}|{topic}|{id}|{modified}");
    let mut plan = Plan::new(Provider::WooCommerce, dedup_key, topic.clone());
    if !topic.starts_with("product.") || topic == "product.deleted" {
        // Orders, coupons and customers of another store are not stock facts for us.
        plan.informational = true;
        return Ok(plan);
    }
    let Some(sku) = text(object, "", "sku")? else {
        plan.skipped.push(format!("product {id}: no SKU"));
        return Ok(plan);
    };
    if object.get("manage_stock") != Some(&Value::Bool(true)) {
        plan.skipped.push(format!("{sku}: stock not managed by that store"));
        return Ok(plan);
    }
    let Some(level) = integer(object, "", "stock_quantity")? else {
        plan.skipped.push(format!("{sku}: no stock quantity"));
        return Ok(plan);
    };
    plan.items.push(ItemHint {
        sku: sku.clone(),
        name: text(object, "", "name")?,
        supplier: None,
    });
    plan.levels.push(LevelReport {
        channel: format!("woocommerce_remote:{source}"),
        sku: Some(sku),
        remote_id: Some(id),
        quantity: level,
        policy: LevelPolicy::SalesFromDecrease,
        event_id: format!("woocommerce:{}", plan.dedup_key),
    });
    Ok(plan)
}

// --- Shopify -------------------------------------------------------------------------------------

fn plan_shopify(object: &Map<String, Value>, headers: &Headers) -> Result<Plan> {
    let webhook_id = header(headers, "x-shopify-webhook-id")?;
    let topic = header(headers, "x-shopify-topic")?;
    let shop = header(headers, "x-shopify-shop-domain")?;
    let channel = format!("shopify:{shop}");
    let mut plan = Plan::new(Provider::Shopify, webhook_id.clone(), topic.clone());
    match topic.as_str() {
        "inventory_levels/update" => plan.levels.push(LevelReport {
            channel,
            sku: None,
            remote_id: Some(required_text(object, "", "inventory_item_id")?),
            quantity: integer(object, "", "available")?.ok_or_else(|| Error::validation("available", "is required"))?,
            policy: LevelPolicy::DriftOnly,
            event_id: format!("shopify:{shop}:level:{webhook_id}"),
        }),
        "orders/create" | "orders/cancelled" => {
            let order = required_text(object, "", "id")?;
            let order_name = text(object, "", "name")?.unwrap_or_else(|| order.clone());
            let lines =
                list(object, "", "line_items")?.ok_or_else(|| Error::validation("line_items", "is required"))?;
            for (i, value) in lines.iter().enumerate() {
                let path = format!("line_items[{i}]");
                let line = entry(value, &path)?;
                let line_id = required_text(line, &path, "id")?;
                let Some(sku) = text(line, &path, "sku")? else {
                    plan.skipped.push(format!("order {order_name} line {line_id}: no SKU"));
                    continue;
                };
                let q = quantity(line, &path, "quantity", false)?;
                let sale_id = format!("shopify:{shop}:order:{order}:line:{line_id}");
                if topic == "orders/create" {
                    plan.movements.push(
                        MovementRequest::new(sale_id, sku, MovementKind::Sale, q)
                            .with_origin(channel.clone())
                            .with_reference(format!("order {order_name}")),
                    );
                } else {
                    plan.conditional_returns.push(ConditionalReturn {
                        movement: MovementRequest::new(
                            format!("shopify:{shop}:cancel:{order}:line:{line_id}"),
                            sku,
                            MovementKind::Return,
                            q,
                        )
                        .with_origin(channel.clone())
                        .with_reference(format!("order {order_name} cancelled")),
                        sale_event_id: sale_id,
                    });
                }
            }
        }
        _ => plan.informational = true,
    }
    Ok(plan)
}

// --- ERP / warehouse (Standard Webhooks) ---------------------------------------------------------

fn plan_erp(object: &Map<String, Value>, headers: &Headers) -> Result<Plan> {
    let id = header(headers, "webhook-id")?;
    let kind = required_text(object, "", "type")?;
    let mut plan = Plan::new(Provider::Erp, id.clone(), kind.clone());
    let movement_kind = match kind.as_str() {
        // Absolute counts: the warehouse is the truth about what is on its shelves.
        "stock.updated" => MovementKind::Adjustment,
        "stock.received" => MovementKind::Receive,
        "stock.incoming" => MovementKind::Incoming,
        other => {
            return Err(Error::validation(
                "type",
                format!("unknown type {other:?} (expected stock.updated, stock.received or stock.incoming)"),
            ))
        }
    };
    let data = match field(object, "data") {
        Some(Value::Object(data)) => data,
        Some(_) => return Err(Error::validation("data", "must be an object")),
        None => return Err(Error::validation("data", "is required")),
    };
    let items = list(data, "data", "items")?.ok_or_else(|| Error::validation("data.items", "is required"))?;
    for (i, value) in items.iter().enumerate() {
        let path = format!("data.items[{i}]");
        let line = entry(value, &path)?;
        let q = quantity(line, &path, "quantity", movement_kind.is_absolute())?;
        let mut m = MovementRequest::new(
            format!("erp:{id}:{i}"),
            required_text(line, &path, "sku")?,
            movement_kind,
            q,
        )
        .with_origin("erp");
        if let Some(location) = text(line, &path, "location")? {
            m = m.at(location);
        }
        if let Some(reference) = text(line, &path, "reference")? {
            m = m.with_reference(reference);
        }
        plan.movements.push(m);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        Headers::new(pairs.iter().map(|(k, v)| (*k, v.to_string())))
    }

    fn ok(provider: Provider, body: &str, h: &[(&str, &str)]) -> Plan {
        match plan(provider, body.as_bytes(), &headers(h)) {
            Ok(p) => p,
            Err(e) => panic!("{provider:?} {body}: {e}"),
        }
    }

    fn refused(provider: Provider, body: &str, h: &[(&str, &str)], message: &str) {
        match plan(provider, body.as_bytes(), &headers(h)) {
            Ok(p) => panic!("expected refusal for {body}, got {p:?}"),
            Err(e) => assert!(e.to_string().contains(message), "{body}: {e} lacks {message}"),
        }
    }

    #[test]
    fn generic_inventory_updated_is_an_absolute_count() {
        let p = ok(
            Provider::Generic,
            r#"{"event":"inventory.updated","id":"evt-1","sku":"A","quantity":12,"location":"WH2"}"#,
            &[],
        );
        assert_eq!(p.dedup_key, "evt-1");
        assert_eq!(
            p.movements,
            vec![
                MovementRequest::new("generic:evt-1:0", "A", MovementKind::Adjustment, 12)
                    .at("WH2")
                    .with_origin("generic")
            ]
        );
        let many = ok(
            Provider::Generic,
            r#"{"event":"inventory.updated","event_id":"e2","items":[{"sku":"A","quantity":0},{"sku":"B","quantity":4}]}"#,
            &[],
        );
        assert_eq!(
            many.movements
                .iter()
                .map(|m| (m.event_id.as_str(), m.sku.as_str(), m.quantity))
                .collect::<Vec<_>>(),
            vec![("generic:e2:0", "A", Some(0)), ("generic:e2:1", "B", Some(4))]
        );
        assert_eq!(many.skus(), vec!["A", "B"]);
    }

    #[test]
    fn generic_without_id_is_keyed_by_the_body() {
        let body = r#"{"event":"inventory.updated","sku":"A","quantity":1}"#;
        let a = ok(Provider::Generic, body, &[]);
        let b = ok(Provider::Generic, body, &[]);
        assert_eq!(a.dedup_key, b.dedup_key);
        assert_eq!(a.dedup_key.len(), 64);
        let other = ok(
            Provider::Generic,
            r#"{"event":"inventory.updated","sku":"A","quantity":2}"#,
            &[],
        );
        assert_ne!(a.dedup_key, other.dedup_key);
    }

    #[test]
    fn generic_other_events() {
        let low = ok(
            Provider::Generic,
            r#"{"event":"inventory.low_stock","sku":"A","quantity":2}"#,
            &[],
        );
        assert!(low.informational && low.movements.is_empty());
        let created = ok(
            Provider::Generic,
            r#"{"event":"product.created","sku":"NEW-1","name":"New thing","supplier":"ACME"}"#,
            &[],
        );
        assert_eq!(
            created.items,
            vec![ItemHint {
                sku: "NEW-1".into(),
                name: Some("New thing".into()),
                supplier: Some("ACME".into())
            }]
        );
    }

    #[test]
    fn bad_payloads_name_the_field() {
        for (body, message) in [
            ("not json", "body: not valid JSON"),
            ("[1,2]", "body: must be a JSON object"),
            (r#"{"sku":"A"}"#, "event: is required"),
            (r#"{"event":"inventory.exploded"}"#, "event: unknown event"),
            (r#"{"event":"inventory.updated","quantity":3}"#, "sku: is required"),
            (
                r#"{"event":"inventory.updated","sku":"A","quantity":-3}"#,
                "quantity: must be between 0",
            ),
            (
                r#"{"event":"inventory.updated","sku":"A","quantity":1.5}"#,
                "quantity: must be a whole number",
            ),
            (
                r#"{"event":"inventory.updated","sku":"A","quantity":"3"}"#,
                "quantity: must be a number",
            ),
            (
                r#"{"event":"inventory.updated","sku":"A","quantity":99999999999}"#,
                "quantity: must be between",
            ),
            (
                r#"{"event":"inventory.updated","items":[{"sku":"A","quantity":1},7]}"#,
                "items[1]: must be an object",
            ),
            (
                r#"{"event":"inventory.updated","items":[{"sku":["A"],"quantity":1}]}"#,
                "items[0].sku: must be a string",
            ),
        ] {
            refused(Provider::Generic, body, &[], message);
        }
    }

    const WC: &[(&str, &str)] = &[
        ("X-WC-Webhook-Source", "https://other.example/"),
        ("X-WC-Webhook-Topic", "product.updated"),
    ];

    #[test]
    fn woocommerce_product_updated_is_a_level_report_keyed_by_modification() {
        let body = r#"{"id":42,"sku":"TEE","name":"Tee","manage_stock":true,"stock_quantity":7,"date_modified_gmt":"2026-11-20T10:00:00"}"#;
        let p = ok(Provider::WooCommerce, body, WC);
        assert_eq!(
            p.dedup_key,
            "https://other.example/|product.updated|42|2026-11-20T10:00:00"
        );
        assert_eq!(
            p.levels,
            vec![LevelReport {
                channel: "woocommerce_remote:https://other.example/".into(),
                sku: Some("TEE".into()),
                remote_id: Some("42".into()),
                quantity: 7,
                policy: LevelPolicy::SalesFromDecrease,
                event_id: "woocommerce:https://other.example/|product.updated|42|2026-11-20T10:00:00".into(),
            }]
        );
        let later = body.replace("10:00:00", "10:05:00");
        assert_ne!(ok(Provider::WooCommerce, &later, WC).dedup_key, p.dedup_key);
    }

    #[test]
    fn woocommerce_products_without_sku_or_managed_stock_are_skipped() {
        let no_sku = ok(
            Provider::WooCommerce,
            r#"{"id":1,"sku":"","manage_stock":true,"stock_quantity":3}"#,
            WC,
        );
        assert!(no_sku.levels.is_empty() && no_sku.skipped == vec!["product 1: no SKU".to_string()]);
        let unmanaged = ok(Provider::WooCommerce, r#"{"id":1,"sku":"A","manage_stock":false}"#, WC);
        assert!(unmanaged.levels.is_empty() && unmanaged.skipped.len() == 1);
        let order = ok(
            Provider::WooCommerce,
            r#"{"id":9}"#,
            &[
                ("X-WC-Webhook-Source", "https://o/"),
                ("X-WC-Webhook-Topic", "order.created"),
            ],
        );
        assert!(order.informational);
        refused(
            Provider::WooCommerce,
            r#"{"id":1}"#,
            &[("X-WC-Webhook-Topic", "product.updated")],
            "x-wc-webhook-source",
        );
    }

    const SHOPIFY_ORDER: &[(&str, &str)] = &[
        ("X-Shopify-Webhook-Id", "wh-1"),
        ("X-Shopify-Topic", "orders/create"),
        ("X-Shopify-Shop-Domain", "demo.myshopify.com"),
    ];

    #[test]
    fn shopify_orders_are_sales_per_line_and_cancellations_conditional_returns() {
        let body = r##"{"id":1001,"name":"#1001","line_items":[{"id":1,"sku":"A","quantity":2},{"id":2,"sku":null,"quantity":1},{"id":3,"sku":"B","quantity":1}]}"##;
        let p = ok(Provider::Shopify, body, SHOPIFY_ORDER);
        assert_eq!(
            p.movements
                .iter()
                .map(|m| (m.event_id.as_str(), m.sku.as_str(), m.kind, m.quantity))
                .collect::<Vec<_>>(),
            vec![
                (
                    "shopify:demo.myshopify.com:order:1001:line:1",
                    "A",
                    MovementKind::Sale,
                    Some(2)
                ),
                (
                    "shopify:demo.myshopify.com:order:1001:line:3",
                    "B",
                    MovementKind::Sale,
                    Some(1)
                ),
            ]
        );
        assert_eq!(p.skipped, vec!["order #1001 line 2: no SKU".to_string()]);
        let cancelled = ok(
            Provider::Shopify,
            body,
            &[
                ("X-Shopify-Webhook-Id", "wh-2"),
                ("X-Shopify-Topic", "orders/cancelled"),
                ("X-Shopify-Shop-Domain", "demo.myshopify.com"),
            ],
        );
        assert!(cancelled.movements.is_empty());
        assert_eq!(
            cancelled.conditional_returns[0].sale_event_id,
            "shopify:demo.myshopify.com:order:1001:line:1"
        );
        assert_eq!(cancelled.conditional_returns[0].movement.kind, MovementKind::Return);
    }

    #[test]
    fn shopify_level_updates_only_reveal_drift() {
        let p = ok(
            Provider::Shopify,
            r#"{"inventory_item_id":808950810,"location_id":905684977,"available":6,"updated_at":"2026-11-20T10:00:00Z"}"#,
            &[
                ("X-Shopify-Webhook-Id", "wh-3"),
                ("X-Shopify-Topic", "inventory_levels/update"),
                ("X-Shopify-Shop-Domain", "demo.myshopify.com"),
            ],
        );
        assert_eq!(p.levels[0].remote_id.as_deref(), Some("808950810"));
        assert_eq!(p.levels[0].policy, LevelPolicy::DriftOnly);
        assert!(p.movements.is_empty());
    }

    #[test]
    fn erp_posts_counts_receipts_and_incoming() {
        let h = [("webhook-id", "msg_1")];
        let p = ok(
            Provider::Erp,
            r#"{"type":"stock.updated","data":{"items":[{"sku":"A","location":"WH1","quantity":0},{"sku":"B","quantity":5}]}}"#,
            &h,
        );
        assert_eq!(p.dedup_key, "msg_1");
        assert_eq!(
            p.movements
                .iter()
                .map(|m| (m.event_id.as_str(), m.kind, m.quantity))
                .collect::<Vec<_>>(),
            vec![
                ("erp:msg_1:0", MovementKind::Adjustment, Some(0)),
                ("erp:msg_1:1", MovementKind::Adjustment, Some(5))
            ]
        );
        let received = ok(
            Provider::Erp,
            r#"{"type":"stock.received","data":{"items":[{"sku":"A","quantity":3}]}}"#,
            &h,
        );
        assert_eq!(received.movements[0].kind, MovementKind::Receive);
        refused(
            Provider::Erp,
            r#"{"type":"stock.received","data":{"items":[{"sku":"A","quantity":0}]}}"#,
            &h,
            "data.items[0].quantity",
        );
        refused(
            Provider::Erp,
            r#"{"type":"stock.teleported","data":{"items":[]}}"#,
            &h,
            "type: unknown type",
        );
        refused(Provider::Erp, r#"{"type":"stock.updated"}"#, &h, "data: is required");
        refused(
            Provider::Erp,
            r#"{"type":"stock.updated","data":{"items":[]}}"#,
            &[],
            "webhook-id",
        );
    }

    #[test]
    fn too_many_lines_are_refused() {
        let lines: Vec<String> = (0..=MAX_LINES)
            .map(|i| format!(r#"{{"sku":"S{i}","quantity":1}}"#))
            .collect();
        let body = format!(r#"{{"event":"inventory.updated","items":[{}]}}"#, lines.join(","));
        refused(Provider::Generic, &body, &[], "at most 1000 lines");
    }

    #[test]
    fn providers_round_trip() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()).map_err(|e| e.to_string()), Ok(p));
        }
        assert!(Provider::parse("ebay").is_err());
    }
}
