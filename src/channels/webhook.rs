//! The `webhook` channel: stock changes POSTed to an ERP's or distributor's URL as
//! Standard-Webhooks-signed JSON events (`channel-apis.md` §5.3).
//!
//! Wire format (ours; the receiver implements it):
//!
//! ```text
//! POST {url}
//! Content-Type: application/json
//! webhook-id: msg_<uuid-shaped hex>
//! webhook-timestamp: <unix seconds of this attempt>
//! webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">[ v1,<previous secret>]
//!
//! {"type":"stock.updated","timestamp":"2026-01-02T03:04:05Z",
//!  "data":{"items":[{"sku":"A-1","quantity":12},{"sku":"B-2","quantity":0}]}}
//!
//! {"type":"product.updated","timestamp":"2026-01-02T03:04:05Z",
//!  "data":{"items":[{"sku":"A-1","name":"Blue mug","price":"12.50","stock":12,"supplier":"Acme"}]}}
//! ```
//!
//! * `quantity` is the absolute quantity the receiver should show (never a delta), so applying an
//!   event twice is harmless; `price` is a decimal string (`"12.50"`), never a float; `supplier`
//!   may be `null`. `timestamp` is when this attempt was built (RFC 3339, UTC, from
//!   [`WebhookConfig::now`]), the same instant as `webhook-timestamp`.
//! * `webhook-id` is derived from the event type and the idempotency keys of the items the event
//!   carries, in order ([`message_id`]): a retry of the same jobs carries the same id, so the
//!   receiver can drop a redelivery; any other set of jobs gets another id. The signature is
//!   made by [`crate::signature::sign_standard`] with the `whsec_` secret (and the previous one
//!   during a rotation, as a second `v1` entry).
//! * One event carries at most [`WebhookConfig::batch_size`] items (default [`DEFAULT_BATCH`]).
//!   A 2xx answer applies every item of the event (the remote id of a SKU is the SKU itself);
//!   any other answer fails every item of it, classified like every adapter (timeout,
//!   connection error, 429 with `Retry-After`, 5xx: retryable; other statuses permanent, with a
//!   short sanitized excerpt of the body, or its JSON `message`). After a retryable failure or a
//!   401/403 the remaining events are not sent.
//! * The receiver cannot be read: [`Channel::readable`] is false, `read` returns nothing and
//!   `lookup` maps each SKU to itself.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::http::{body_message, classify_status, HttpConfig, Reply, Transport};
use super::{
    derive_idempotency_key, fail_all, stops_push, Channel, ChannelKind, Failure, HttpCall, ItemResult, Outcome, Pacer,
    Push, PushReport, Secret, Unpaced,
};
use crate::error::{Error, Result};
use crate::signature::{decode_standard_secret, sign_standard, Secrets};

/// Items per event unless configured otherwise.
pub const DEFAULT_BATCH: usize = 100;

/// The largest configurable batch (keeps one body well under a megabyte).
pub const MAX_BATCH: usize = 1000;

/// The event type of stock changes.
pub const STOCK_UPDATED: &str = "stock.updated";

/// The event type of product updates.
pub const PRODUCT_UPDATED: &str = "product.updated";

/// Most characters of a refusal's body quoted in a failure reason.
const EXCERPT_CHARS: usize = 120;

/// How to reach one webhook receiver.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The receiver's URL (`https://erp.example/hooks/stock`); http(s) only.
    pub url: String,
    /// The Standard Webhooks secret, `whsec_` + base64.
    pub secret: Secret,
    /// The previous secret during a rotation; events carry a signature under each.
    pub previous_secret: Option<Secret>,
    /// Items per event, 1 to [`MAX_BATCH`].
    pub batch_size: usize,
    /// Timeouts.
    pub http: HttpConfig,
    /// The clock for `webhook-timestamp`, the body's `timestamp` and `Retry-After` dates
    /// (`SystemTime::now` unless a test fixes it).
    pub now: fn() -> SystemTime,
}

impl WebhookConfig {
    /// A configuration with [`DEFAULT_BATCH`] items per event, no previous secret, default
    /// timeouts and the system clock.
    pub fn new(url: impl Into<String>, secret: Secret) -> Self {
        WebhookConfig {
            url: url.into(),
            secret,
            previous_secret: None,
            batch_size: DEFAULT_BATCH,
            http: HttpConfig::default(),
            now: SystemTime::now,
        }
    }
}

/// A product's sellable facts, sent as a `product.updated` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductUpdate {
    /// Our SKU.
    pub sku: String,
    /// The product's name.
    pub name: String,
    /// The price as a decimal string with a dot (`"12.50"`), never a float.
    pub price: String,
    /// The stock to show (absolute).
    pub stock: i64,
    /// The supplier's name, when known.
    pub supplier: Option<String>,
    /// The job's idempotency key (stable across retries of the same update); it feeds the
    /// event's `webhook-id`.
    pub idempotency_key: String,
}

/// `webhook-id` for an event of `event_type` carrying the items with idempotency `keys` (in
/// order): `msg_` + a UUID-shaped hex digest. Stable across retries; no `.` (Standard Webhooks
/// signs `id.timestamp.body`).
pub fn message_id<'a>(event_type: &'a str, keys: impl IntoIterator<Item = &'a str>) -> String {
    format!(
        "msg_{}",
        derive_idempotency_key(std::iter::once(event_type).chain(keys))
    )
}

#[derive(Serialize)]
struct Event<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: Data<T>,
}

#[derive(Serialize)]
struct Data<T: Serialize> {
    items: Vec<T>,
}

#[derive(Serialize)]
struct StockItem<'a> {
    sku: &'a str,
    quantity: i64,
}

#[derive(Serialize)]
struct ProductItem<'a> {
    sku: &'a str,
    name: &'a str,
    price: &'a str,
    stock: i64,
    supplier: Option<&'a str>,
}

/// The webhook adapter.
pub struct Webhook {
    config: WebhookConfig,
    transport: Transport,
    pacer: Box<dyn Pacer>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// An adapter for one receiver. Refuses a URL that is not http(s), a secret that is not
    /// `whsec_` + base64 (the message never quotes it) and a batch size outside 1 to
    /// [`MAX_BATCH`].
    pub fn new(config: WebhookConfig) -> Result<Self> {
        if !(config.url.starts_with("https://") || config.url.starts_with("http://")) {
            return Err(Error::validation("url", "must start with https:// or http://"));
        }
        for (field, secret) in std::iter::once(("secret", &config.secret))
            .chain(config.previous_secret.as_ref().map(|s| ("previous_secret", s)))
        {
            decode_standard_secret(secret.expose().as_bytes()).map_err(|e| Error::validation(field, e.to_string()))?;
        }
        if !(1..=MAX_BATCH).contains(&config.batch_size) {
            return Err(Error::validation(
                "batch_size",
                format!("must be between 1 and {MAX_BATCH}"),
            ));
        }
        Ok(Webhook {
            transport: Transport::new(&config.http),
            config,
            pacer: Box::new(Unpaced),
        })
    }

    /// The same adapter, calling `pacer` before every request.
    pub fn with_pacer(mut self, pacer: Box<dyn Pacer>) -> Self {
        self.pacer = pacer;
        self
    }

    /// Sends product updates as `product.updated` events, in batches like [`Channel::push`],
    /// with the same signing and failure classification. An update with an empty SKU or a price
    /// that is not a plain decimal (`12`, `12.5`, `12.50`) fails permanently and is not sent.
    pub fn send_product_updates(&mut self, updates: &[ProductUpdate]) -> Result<PushReport> {
        self.transport.take_calls();
        let mut results: Vec<Option<Outcome>> = vec![None; updates.len()];
        let mut valid = Vec::new();
        for (index, update) in updates.iter().enumerate() {
            let refusal = if update.sku.trim().is_empty() {
                Some(Failure::permanent("the SKU is empty").with_code("invalid_sku"))
            } else if !is_decimal(&update.price) {
                Some(
                    Failure::permanent(format!(
                        "price {:?} of SKU {} is not a decimal like 12.50",
                        super::http::shorten(&update.price),
                        update.sku
                    ))
                    .with_code("invalid_price"),
                )
            } else {
                None
            };
            match refusal {
                Some(failure) => results[index] = Some(Outcome::Failed(failure)),
                None => valid.push(index),
            }
        }
        let mut stopped: Option<Failure> = None;
        for batch in valid.chunks(self.config.batch_size) {
            let outcome = match &stopped {
                Some(failure) => Err(not_sent(failure)),
                None => {
                    let items: Vec<ProductItem<'_>> = batch
                        .iter()
                        .map(|&i| {
                            let u = &updates[i];
                            ProductItem {
                                sku: &u.sku,
                                name: &u.name,
                                price: u.price.trim(),
                                stock: u.stock,
                                supplier: u.supplier.as_deref(),
                            }
                        })
                        .collect();
                    let keys = batch.iter().map(|&i| updates[i].idempotency_key.as_str());
                    self.deliver(PRODUCT_UPDATED, keys, items)
                }
            };
            if let Err(failure) = &outcome {
                if stopped.is_none() && stops_push(failure) {
                    stopped = Some(failure.clone());
                }
            }
            for &index in batch {
                results[index] = Some(match &outcome {
                    Ok(()) => applied(&updates[index].sku),
                    Err(failure) => Outcome::Failed(failure.clone()),
                });
            }
        }
        Ok(PushReport {
            results: updates
                .iter()
                .zip(results)
                .map(|(update, outcome)| ItemResult {
                    sku: update.sku.clone(),
                    outcome: outcome.unwrap_or_else(|| Outcome::Failed(Failure::retryable("not attempted"))),
                })
                .collect(),
            calls: self.transport.take_calls(),
        })
    }

    /// Signs and sends one event; `Ok` on 2xx.
    fn deliver<'a, T: Serialize>(
        &mut self,
        event_type: &'a str,
        keys: impl IntoIterator<Item = &'a str>,
        items: Vec<T>,
    ) -> std::result::Result<(), Failure> {
        let now = (self.config.now)();
        let seconds = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let id = message_id(event_type, keys);
        let body = serde_json::to_vec(&Event {
            kind: event_type,
            timestamp: rfc3339(seconds),
            data: Data { items },
        })
        .map_err(|_| Failure::permanent("the event could not be encoded as JSON").with_code("encode"))?;
        let previous = self.config.previous_secret.as_ref().map(|s| s.expose().as_bytes());
        let headers = sign_standard(
            id.as_bytes(),
            seconds,
            &body,
            Secrets::new(self.config.secret.expose().as_bytes(), previous),
        )
        .map_err(|e| Failure::permanent(format!("the event could not be signed: {e}")).with_code("config"))?;
        self.pacer.before_call();
        let reply = self.transport.send(
            "POST",
            &self.config.url,
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
                ("webhook-id", &headers.id),
                ("webhook-timestamp", &headers.timestamp),
                ("webhook-signature", &headers.signature),
            ],
            Some(&body),
        )?;
        match classify(&reply, now) {
            None => Ok(()),
            Some(failure) => Err(failure),
        }
    }
}

impl Channel for Webhook {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Webhook
    }

    fn max_batch(&self) -> usize {
        self.config.batch_size
    }

    fn push(&mut self, items: &[Push]) -> Result<PushReport> {
        self.transport.take_calls();
        let mut results = Vec::with_capacity(items.len());
        let mut stopped: Option<Failure> = None;
        for batch in items.chunks(self.config.batch_size) {
            if let Some(failure) = &stopped {
                results.extend(fail_all(batch, &not_sent(failure)));
                continue;
            }
            let stock: Vec<StockItem<'_>> = batch
                .iter()
                .map(|p| StockItem {
                    sku: &p.sku,
                    quantity: p.quantity,
                })
                .collect();
            let keys = batch.iter().map(|p| p.idempotency_key.as_str());
            match self.deliver(STOCK_UPDATED, keys, stock) {
                Ok(()) => results.extend(batch.iter().map(|p| ItemResult {
                    sku: p.sku.clone(),
                    outcome: applied(&p.sku),
                })),
                Err(failure) => {
                    results.extend(fail_all(batch, &failure));
                    if stops_push(&failure) {
                        stopped = Some(failure);
                    }
                }
            }
        }
        Ok(PushReport {
            results,
            calls: self.transport.take_calls(),
        })
    }

    fn lookup(&mut self, skus: &[String]) -> Result<Vec<(String, String)>> {
        Ok(skus.iter().map(|sku| (sku.clone(), sku.clone())).collect())
    }

    fn readable(&self) -> bool {
        false
    }

    fn read(&mut self, _skus: &[String]) -> Result<Vec<(String, i64)>> {
        Ok(Vec::new())
    }

    fn take_calls(&mut self) -> Vec<HttpCall> {
        self.transport.take_calls()
    }
}

fn applied(sku: &str) -> Outcome {
    Outcome::Applied {
        remote_id: sku.to_string(),
        quantity_after: None,
        observed_before: None,
    }
}

/// The failure given to items after the push stopped.
fn not_sent(failure: &Failure) -> Failure {
    let mut failure = failure.clone();
    failure.reason = format!("not sent: {}", failure.reason.trim_start_matches("not sent: "));
    failure
}

/// Classifies a receiver's answer: the shared classifier, plus a short excerpt of a body that is
/// not the JSON `message` shape, and a hint for `410 Gone`.
pub(crate) fn classify(reply: &Reply, now: SystemTime) -> Option<Failure> {
    let mut failure = classify_status(reply.status, reply.retry_after.as_deref(), &reply.body, now)?;
    if body_message(&reply.body).is_none() {
        if let Some(excerpt) = excerpt(&reply.body) {
            failure.reason.push_str(": ");
            failure.reason.push_str(&excerpt);
        }
    }
    // The shared classifier names common statuses only; drop the gap it leaves for the others.
    let bare = format!("HTTP {} ", reply.status);
    if let Some(rest) = failure.reason.strip_prefix(&bare) {
        if rest.is_empty() || rest.starts_with(':') {
            let name = if reply.status == 410 { " Gone" } else { "" };
            failure.reason = format!("HTTP {}{name}{rest}", reply.status);
        }
    }
    if reply.status == 410 {
        failure
            .reason
            .push_str(" (the receiver says this endpoint is gone; check the URL)");
    }
    Some(failure)
}

/// At most [`EXCERPT_CHARS`] characters of a body on one line, whitespace collapsed; nothing for
/// an empty body or an HTML page (its markup says nothing an owner can use).
pub(crate) fn excerpt(body: &str) -> Option<String> {
    let trimmed = body.trim();
    if trimmed.is_empty() || trimmed.starts_with('<') {
        return None;
    }
    let mut text = String::new();
    let mut count = 0;
    for word in trimmed.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        for c in (!text.is_empty()).then_some(' ').into_iter().chain(word.chars()) {
            if count == EXCERPT_CHARS {
                text.push('…');
                return Some(text);
            }
            text.push(c);
            count += 1;
        }
    }
    Some(text)
}

/// Whether `price` is a plain non-negative decimal: digits, optionally a dot and digits.
fn is_decimal(price: &str) -> bool {
    let price = price.trim();
    let (whole, fraction) = price.split_once('.').unwrap_or((price, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// `seconds` since the epoch as RFC 3339 UTC (`2026-01-02T03:04:05Z`).
pub fn rfc3339(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm, unsigned form).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        fn check(seconds: u64, expected: &str) {
            assert_eq!(rfc3339(seconds), expected, "{seconds}");
        }
        check(0, "1970-01-01T00:00:00Z");
        check(951_782_400, "2000-02-29T00:00:00Z");
        check(1_700_000_000, "2023-11-14T22:13:20Z");
        check(1_767_323_045, "2026-01-02T03:04:05Z");
        check(4_107_542_399, "2100-02-28T23:59:59Z");
    }

    #[test]
    fn message_ids_are_stable_per_event_type_and_keys() {
        let a = message_id(STOCK_UPDATED, ["job:1", "job:2"]);
        assert!(a.starts_with("msg_") && !a.contains('.'), "{a}");
        assert_eq!(a, message_id(STOCK_UPDATED, ["job:1", "job:2"]));
        assert_ne!(a, message_id(PRODUCT_UPDATED, ["job:1", "job:2"]));
        assert_ne!(a, message_id(STOCK_UPDATED, ["job:2", "job:1"]));
        assert_ne!(a, message_id(STOCK_UPDATED, ["job:1"]));
    }

    #[test]
    fn prices_must_be_plain_decimals() {
        for ok in ["0", "12", "12.5", "12.50", " 3.99 "] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", ".5", "12.", "-1", "1,50", "1e3", "12.5.0", "NaN", "€12"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn excerpts_are_short_single_line_and_skip_html() {
        assert_eq!(excerpt(""), None);
        assert_eq!(excerpt("  <html><body>Bad</body></html>"), None);
        assert_eq!(excerpt("bad\r\n\tsku\u{0}  list").as_deref(), Some("bad sku list"));
        let long = excerpt(&"word ".repeat(100)).unwrap_or_default();
        assert_eq!(long.chars().count(), EXCERPT_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn refusals_quote_an_excerpt_or_the_json_message() {
        let now = UNIX_EPOCH;
        let reply = |status: u16, body: &str| Reply {
            status,
            retry_after: None,
            body: body.to_string(),
        };
        let check = |status: u16, body: &str, expected: &str| {
            let reason = classify(&reply(status, body), now).map(|f| f.reason);
            assert_eq!(reason.as_deref(), Some(expected));
        };
        assert!(classify(&reply(204, "whatever"), now).is_none());
        check(400, "unknown sku\nXYZ", "HTTP 400 Bad Request: unknown sku XYZ");
        check(
            422,
            r#"{"message":"price missing"}"#,
            "HTTP 422 Unprocessable Entity: price missing",
        );
        check(404, "<html>nope</html>", "HTTP 404 Not Found");
        check(
            410,
            "",
            "HTTP 410 Gone (the receiver says this endpoint is gone; check the URL)",
        );
        check(418, "teapot", "HTTP 418: teapot");
    }

    #[test]
    fn bad_configuration_is_refused_without_quoting_the_secret() {
        let check = |config: WebhookConfig, expected: &str| {
            let error = Webhook::new(config).err().map(|e| e.to_string());
            assert_eq!(error.as_deref(), Some(expected));
        };
        let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        check(
            WebhookConfig::new("ftp://erp.example", secret.clone()),
            "url: must start with https:// or http://",
        );
        check(
            WebhookConfig::new("https://erp.example", Secret::new("whsec_not base64!")),
            "secret: the configured secret is invalid: expected whsec_ followed by base64",
        );
        let mut config = WebhookConfig::new("https://erp.example", secret.clone());
        config.batch_size = 0;
        check(config, "batch_size: must be between 1 and 1000");
        let webhook = Webhook::new(WebhookConfig::new("https://erp.example", secret)).ok();
        let debug = format!("{webhook:?}");
        assert!(debug.contains("Webhook") && !debug.contains("MfKQ9r8"), "{debug}");
    }
}
