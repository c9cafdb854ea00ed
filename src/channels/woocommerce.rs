//! Another WooCommerce store as a channel, through its REST API v3 (`channel-apis.md` §2).
//!
//! * Auth: HTTP Basic (consumer key / secret) when the base URL is `https://`; OAuth 1.0a
//!   one-legged query-string signing ([`super::oauth1`], HMAC-SHA256 by default) when it is
//!   `http://` — WooCommerce only tries Basic under `is_ssl()`.
//! * Lookup: `GET products?sku=A,B,…` (exact `sku` matches kept). The list includes variations,
//!   recognised by a non-zero `parent_id`. The remote id is `"<id>"` for a product and
//!   `"<parent id>/<id>"` for a variation.
//! * Writes: `POST products/batch` and `POST products/<parent>/variations/batch` with
//!   `{"update": [{"id", "manage_stock": true, "stock_quantity"}]}`, at most [`MAX_BATCH`] items
//!   per request (WooCommerce's default limit; over it the whole request is a 413). Batches are not
//!   atomic: an item answered with an `error` object fails alone, classified by its
//!   `data.status`; an invalid id is looked up again once.
//! * No idempotency key and no compare-and-set exist (NOT FOUND in core): an absolute
//!   `stock_quantity` is naturally idempotent, so `idempotency_key` and `last_known_remote` are
//!   not sent.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::http::{classify_status, shorten, HttpConfig, Transport};
use super::oauth1::{self, OneLegged, SignatureMethod};
use super::{
    fail_all, stops_push, Channel, ChannelKind, Failure, HttpCall, ItemResult, Outcome, Pacer, Push, PushReport, Secret,
};
use crate::error::{Error, Result};

/// WooCommerce's default batch limit (create + update + delete together).
pub const MAX_BATCH: usize = 100;

/// SKUs per lookup request (keeps the URL short); results per page.
const SKUS_PER_LOOKUP: usize = 50;
const PER_PAGE: usize = 100;

/// How to reach a remote WooCommerce store.
#[derive(Debug, Clone)]
pub struct WooCommerceConfig {
    /// The store's URL as its REST index reports it (`https://shop.example`), without trailing
    /// slash; `/wp-json/wc/v3/…` is appended.
    pub base_url: String,
    /// The consumer key (`ck_…`).
    pub consumer_key: Secret,
    /// The consumer secret (`cs_…`).
    pub consumer_secret: Secret,
    /// The OAuth 1.0a signature method used over plain HTTP.
    pub signature_method: SignatureMethod,
    /// Timeouts.
    pub http: HttpConfig,
}

impl WooCommerceConfig {
    /// A configuration with HMAC-SHA256 signing and default timeouts.
    pub fn new(base_url: impl Into<String>, consumer_key: Secret, consumer_secret: Secret) -> Self {
        WooCommerceConfig {
            base_url: base_url.into(),
            consumer_key,
            consumer_secret,
            signature_method: SignatureMethod::HmacSha256,
            http: HttpConfig::default(),
        }
    }
}

/// A product or variation on the remote store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WooItem {
    /// The product's (or variation's) id.
    pub id: u64,
    /// The parent product's id, for a variation.
    pub parent_id: Option<u64>,
}

impl WooItem {
    /// The remote id stored in listings: `"<id>"` or `"<parent>/<id>"`.
    pub fn remote_id(&self) -> String {
        match self.parent_id {
            Some(parent) => format!("{parent}/{}", self.id),
            None => self.id.to_string(),
        }
    }

    /// Reads a remote id made by [`WooItem::remote_id`].
    pub fn parse(remote_id: &str) -> Option<Self> {
        match remote_id.split_once('/') {
            Some((parent, id)) => Some(WooItem {
                id: id.parse().ok()?,
                parent_id: Some(parent.parse().ok()?),
            }),
            None => Some(WooItem {
                id: remote_id.parse().ok()?,
                parent_id: None,
            }),
        }
    }
}

/// What a lookup found for one SKU.
#[derive(Debug, Clone)]
struct Found {
    item: WooItem,
    stock: Option<i64>,
}

/// The remote WooCommerce adapter.
pub struct WooCommerce {
    config: WooCommerceConfig,
    transport: Transport,
    cache: HashMap<String, WooItem>,
    nonce_seed: std::collections::hash_map::RandomState,
    nonce_counter: AtomicU64,
}

impl std::fmt::Debug for WooCommerce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WooCommerce")
            .field("config", &self.config)
            .field("cached_skus", &self.cache.len())
            .finish()
    }
}

/// How an item is sent.
#[derive(Debug, Clone)]
struct Entry {
    index: usize,
    item: WooItem,
    quantity: i64,
}

impl WooCommerce {
    /// An adapter for one remote store; refuses a base URL that is not http(s).
    pub fn new(config: WooCommerceConfig) -> Result<Self> {
        if !(config.base_url.starts_with("https://") || config.base_url.starts_with("http://")) {
            return Err(Error::validation("base_url", "must start with https:// or http://"));
        }
        Ok(WooCommerce {
            transport: Transport::new(&config.http),
            config,
            cache: HashMap::new(),
            nonce_seed: std::collections::hash_map::RandomState::new(),
            nonce_counter: AtomicU64::new(0),
        })
    }

    /// The same adapter with `pacer` asked before every HTTP request it sends (the default is
    /// [`super::Unpaced`]).
    pub fn with_pacer(mut self, pacer: Box<dyn Pacer>) -> Self {
        self.transport.set_pacer(pacer);
        self
    }

    fn is_https(&self) -> bool {
        self.config.base_url.starts_with("https://")
    }

    /// A nonce unique per request: a per-adapter random seed hashed with a counter and the time.
    fn nonce(&self) -> String {
        let mut hasher = self.nonce_seed.build_hasher();
        hasher.write_u64(self.nonce_counter.fetch_add(1, Ordering::Relaxed));
        hasher.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        format!("{:016x}{:08x}", hasher.finish(), std::process::id())
    }

    /// Sends one authenticated request to `wc/v3/{path}`.
    fn call(
        &mut self,
        method: &'static str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> std::result::Result<Value, Failure> {
        let base = format!("{}/wp-json/wc/v3/{path}", self.config.base_url.trim_end_matches('/'));
        let mut headers: Vec<(&str, String)> = vec![("Accept", "application/json".into())];
        let url = if self.is_https() {
            let credentials = format!(
                "{}:{}",
                self.config.consumer_key.expose(),
                self.config.consumer_secret.expose()
            );
            headers.push(("Authorization", format!("Basic {}", STANDARD.encode(credentials))));
            let encoded: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{}={}", oauth1::encode(k), oauth1::encode(v)))
                .collect();
            if encoded.is_empty() {
                base
            } else {
                format!("{base}?{}", encoded.join("&"))
            }
        } else {
            let nonce = self.nonce();
            let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let signed = oauth1::signed_query(
                method,
                &base,
                query,
                OneLegged {
                    consumer_key: self.config.consumer_key.expose(),
                    consumer_secret: self.config.consumer_secret.expose(),
                    timestamp,
                    nonce: &nonce,
                    method: self.config.signature_method,
                },
            );
            format!("{base}?{signed}")
        };
        let text = body.map(Value::to_string);
        if text.is_some() {
            headers.push(("Content-Type", "application/json".into()));
        }
        let header_refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = self
            .transport
            .send(method, &url, &header_refs, text.as_deref().map(str::as_bytes))?;
        if let Some(failure) = classify_status(
            reply.status,
            reply.retry_after.as_deref(),
            &reply.body,
            SystemTime::now(),
        ) {
            return Err(failure);
        }
        serde_json::from_str(&reply.body)
            .map_err(|_| Failure::retryable("the store answered with something that is not JSON").with_code("response"))
    }

    /// Exact SKU matches for `skus`.
    fn fetch(&mut self, skus: &[String]) -> std::result::Result<HashMap<String, Found>, Failure> {
        let mut unique: Vec<&String> = skus.iter().collect();
        unique.sort();
        unique.dedup();
        // A SKU containing a comma would be split by WooCommerce; it is asked for alone (the
        // whole string is matched as a SKU too).
        let (alone, listable): (Vec<&String>, Vec<&String>) = unique.into_iter().partition(|s| s.contains(','));
        let mut queries: Vec<Vec<&String>> = listable.chunks(SKUS_PER_LOOKUP).map(<[&String]>::to_vec).collect();
        queries.extend(alone.into_iter().map(|s| vec![s]));
        let mut found = HashMap::new();
        for chunk in queries {
            let joined = chunk.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
            let query = vec![
                ("sku".to_string(), joined),
                ("per_page".to_string(), PER_PAGE.to_string()),
            ];
            let list = self.call("GET", "products", &query, None)?;
            for product in list.as_array().into_iter().flatten() {
                let (Some(sku), Some(id)) = (product["sku"].as_str(), product["id"].as_u64()) else {
                    continue;
                };
                if !chunk.iter().any(|wanted| wanted.as_str() == sku) {
                    continue;
                }
                let parent_id = product["parent_id"].as_u64().filter(|&p| p != 0);
                let stock = if product["manage_stock"] == true {
                    product["stock_quantity"].as_i64()
                } else {
                    None
                };
                found.insert(
                    sku.to_string(),
                    Found {
                        item: WooItem { id, parent_id },
                        stock,
                    },
                );
            }
        }
        for sku in skus {
            match found.get(sku) {
                Some(f) => self.cache.insert(sku.clone(), f.item.clone()),
                None => self.cache.remove(sku),
            };
        }
        Ok(found)
    }

    /// Sends `entries` grouped by parent, ≤ 100 per request. Returns the entries whose id the
    /// store called invalid (when `relookup` is allowed).
    fn send_round(
        &mut self,
        entries: Vec<Entry>,
        relookup: bool,
        items: &[Push],
        results: &mut [Option<Outcome>],
        stopped: &mut Option<Failure>,
    ) -> Vec<Entry> {
        let mut invalid = Vec::new();
        let mut groups: BTreeMap<Option<u64>, Vec<Entry>> = BTreeMap::new();
        for entry in entries {
            groups.entry(entry.item.parent_id).or_default().push(entry);
        }
        for (parent, group) in groups {
            let path = match parent {
                Some(parent) => format!("products/{parent}/variations/batch"),
                None => "products/batch".to_string(),
            };
            for batch in group.chunks(MAX_BATCH) {
                if let Some(failure) = stopped.as_ref() {
                    let mut failure = failure.clone();
                    failure.reason = format!("not sent: {}", failure.reason.trim_start_matches("not sent: "));
                    for (result, entry) in fail_all(batch.iter().map(|e| &items[e.index]), &failure)
                        .into_iter()
                        .zip(batch)
                    {
                        results[entry.index] = Some(result.outcome);
                    }
                    continue;
                }
                let update: Vec<Value> = batch
                    .iter()
                    .map(|e| json!({ "id": e.item.id, "manage_stock": true, "stock_quantity": e.quantity }))
                    .collect();
                match self.call("POST", &path, &[], Some(&json!({ "update": update }))) {
                    Err(failure) => {
                        for entry in batch {
                            results[entry.index] = Some(Outcome::Failed(failure.clone()));
                        }
                        if stops_push(&failure) {
                            *stopped = Some(failure);
                        }
                    }
                    Ok(answer) => {
                        let answered = answer["update"].as_array().cloned().unwrap_or_default();
                        for (position, entry) in batch.iter().enumerate() {
                            let element = answered
                                .iter()
                                .find(|a| a["id"].as_u64() == Some(entry.item.id))
                                .or_else(|| answered.get(position).filter(|a| a["id"].as_u64().is_none()));
                            let outcome = match element {
                                None => Outcome::Failed(
                                    Failure::retryable("the store's batch answer did not mention this item")
                                        .with_code("response"),
                                ),
                                Some(element) if element.get("error").is_some() => {
                                    let failure = item_failure(&element["error"]);
                                    if relookup && is_invalid_id(&failure) {
                                        invalid.push(entry.clone());
                                    }
                                    Outcome::Failed(failure)
                                }
                                Some(element) => Outcome::Applied {
                                    remote_id: entry.item.remote_id(),
                                    quantity_after: element["stock_quantity"].as_i64(),
                                    observed_before: None,
                                },
                            };
                            results[entry.index] = Some(outcome);
                        }
                    }
                }
            }
        }
        invalid
    }
}

/// A per-item `error` object of a batch answer, classified by its `data.status`.
fn item_failure(error: &Value) -> Failure {
    let code = error["code"].as_str().unwrap_or("error");
    let message = shorten(error["message"].as_str().unwrap_or("refused"));
    let status = error["data"]["status"].as_u64().unwrap_or(400);
    let reason = format!("the store refused the item ({status}): {message}");
    let failure = if status == 429 || status >= 500 {
        Failure::retryable(reason)
    } else {
        Failure::permanent(reason)
    };
    failure.with_code(code)
}

fn is_invalid_id(failure: &Failure) -> bool {
    failure
        .code
        .as_deref()
        .is_some_and(|c| c.contains("invalid_id") || c.contains("invalid_product_id"))
}

impl Channel for WooCommerce {
    fn kind(&self) -> ChannelKind {
        ChannelKind::WooCommerceRemote
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    fn push(&mut self, items: &[Push]) -> Result<PushReport> {
        self.transport.take_calls();
        let mut results: Vec<Option<Outcome>> = vec![None; items.len()];
        let mut stopped: Option<Failure> = None;
        let mut entries = Vec::new();
        let mut missing = Vec::new();
        for (index, push) in items.iter().enumerate() {
            let item = push
                .remote_id
                .as_deref()
                .and_then(WooItem::parse)
                .or_else(|| self.cache.get(&push.sku).cloned());
            match item {
                Some(item) => entries.push(Entry {
                    index,
                    item,
                    quantity: push.quantity,
                }),
                None => missing.push(index),
            }
        }
        if !missing.is_empty() {
            let skus: Vec<String> = missing.iter().map(|&i| items[i].sku.clone()).collect();
            match self.fetch(&skus) {
                Ok(found) => {
                    for index in missing {
                        match found.get(&items[index].sku) {
                            Some(f) => entries.push(Entry {
                                index,
                                item: f.item.clone(),
                                quantity: items[index].quantity,
                            }),
                            None => {
                                results[index] = Some(Outcome::Failed(
                                    Failure::permanent(format!(
                                        "SKU {} was not found on the remote store",
                                        items[index].sku
                                    ))
                                    .with_code("not_found"),
                                ))
                            }
                        }
                    }
                }
                Err(failure) => {
                    for index in missing {
                        results[index] = Some(Outcome::Failed(failure.clone()));
                    }
                    if stops_push(&failure) {
                        stopped = Some(failure);
                    }
                }
            }
            entries.sort_by_key(|e| e.index);
        }

        let invalid = self.send_round(entries, true, items, &mut results, &mut stopped);
        if !invalid.is_empty() && stopped.is_none() {
            let skus: Vec<String> = invalid.iter().map(|e| items[e.index].sku.clone()).collect();
            match self.fetch(&skus) {
                Ok(found) => {
                    let retry: Vec<Entry> = invalid
                        .into_iter()
                        .filter_map(|old| {
                            let f = found.get(&items[old.index].sku)?;
                            (f.item != old.item).then(|| Entry {
                                item: f.item.clone(),
                                ..old
                            })
                        })
                        .collect();
                    if !retry.is_empty() {
                        self.send_round(retry, false, items, &mut results, &mut stopped);
                    }
                }
                Err(failure) => {
                    for old in invalid {
                        results[old.index] = Some(Outcome::Failed(failure.clone()));
                    }
                }
            }
        }

        let results = items
            .iter()
            .zip(results)
            .map(|(push, outcome)| ItemResult {
                sku: push.sku.clone(),
                outcome: outcome.unwrap_or_else(|| Outcome::Failed(Failure::retryable("not attempted"))),
            })
            .collect();
        Ok(PushReport {
            results,
            calls: self.transport.take_calls(),
        })
    }

    fn lookup(&mut self, skus: &[String]) -> Result<Vec<(String, String)>> {
        let found = self
            .fetch(skus)
            .map_err(|f| f.into_error(ChannelKind::WooCommerceRemote))?;
        Ok(skus
            .iter()
            .filter_map(|sku| Some((sku.clone(), found.get(sku)?.item.remote_id())))
            .collect())
    }

    fn read(&mut self, skus: &[String]) -> Result<Vec<(String, i64)>> {
        let found = self
            .fetch(skus)
            .map_err(|f| f.into_error(ChannelKind::WooCommerceRemote))?;
        Ok(skus
            .iter()
            .filter_map(|sku| Some((sku.clone(), found.get(sku)?.stock?)))
            .collect())
    }

    fn take_calls(&mut self) -> Vec<HttpCall> {
        self.transport.take_calls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_ids_round_trip() {
        for (text, item) in [
            (
                "12",
                WooItem {
                    id: 12,
                    parent_id: None,
                },
            ),
            (
                "7/12",
                WooItem {
                    id: 12,
                    parent_id: Some(7),
                },
            ),
        ] {
            assert_eq!(item.remote_id(), text);
            assert_eq!(WooItem::parse(text), Some(item));
        }
        assert_eq!(WooItem::parse("gid://x"), None);
        assert_eq!(WooItem::parse("a/1"), None);
    }

    #[test]
    fn item_errors_are_classified_by_status() {
        let cases = [
            (
                json!({"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {"status": 400}}),
                false,
            ),
            (
                json!({"code": "db_error", "message": "Lock wait timeout", "data": {"status": 500}}),
                true,
            ),
            (json!({"code": "x"}), false),
        ];
        for (error, retryable) in cases {
            assert_eq!(item_failure(&error).retryable, retryable, "{error}");
        }
        assert!(is_invalid_id(&item_failure(&cases_first())));
    }

    fn cases_first() -> Value {
        json!({"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {"status": 400}})
    }

    #[test]
    fn debug_output_hides_credentials() {
        let config = WooCommerceConfig::new("https://shop.example", Secret::new("ck_abc"), Secret::new("cs_def"));
        let debug = format!("{:?}", WooCommerce::new(config).ok());
        assert!(!debug.contains("ck_abc") && !debug.contains("cs_def"), "{debug}");
    }
}
