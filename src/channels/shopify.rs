//! Shopify through the GraphQL Admin API (`channel-apis.md` §1).
//!
//! * Every call is `POST {base}/admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`.
//! * SKU → (`InventoryItem` GID, `Location` GID) by `productVariants(query: "sku:…")`, keeping only
//!   exact `sku` matches (the search matches text), cached; an item Shopify calls invalid or not
//!   stocked is looked up again once. The remote id is `"<inventory item gid>|<location gid>"`.
//!   The location is [`ShopifyConfig::location_id`] when set, else the item's only location (an
//!   item stocked at several locations with none configured is a permanent failure).
//! * Writes are `inventorySetQuantities` with `name: "available"`, `reason: "correction"`, a
//!   `referenceDocumentUri`, at most [`MAX_QUANTITIES`] quantities per call, and
//!   `@idempotent(key:)` derived from the batch's job keys (whether the key is mandatory for this
//!   mutation is unconfirmed; it is sent anyway).
//! * Compare-and-set, pinned to API version [`API_VERSION`] (`2026-01`): every quantity carries
//!   `changeFromQuantity` — the last value we saw there when known, else an explicit `null` (no
//!   check; the 2026-04 form, accepted in 2026-01 where the field is optional). The deprecated
//!   `compareQuantity` / `ignoreCompareQuantity` are never sent, so versions before 2026-01 are
//!   refused at construction. On `CHANGE_FROM_QUANTITY_STALE` the item is re-read and retried
//!   once with the value found, which is reported in [`Outcome::Applied::observed_before`].
//! * Atomicity of a mutation with `userErrors` is unconfirmed: when Shopify returns no
//!   `inventoryAdjustmentGroup`, nothing is taken as applied and the items without an error of
//!   their own are sent again once; with a group, they are taken as applied.
//! * Throttling: `extensions.cost.throttleStatus` is read from every answer and exposed by
//!   [`Shopify::throttle_status`]; a `THROTTLED` error (HTTP 200 or 429: unconfirmed which) is
//!   retryable with the wait computed from the requested cost and the restore rate.

use std::collections::HashMap;
use std::time::SystemTime;

use serde_json::{json, Value};

use super::http::{classify_status, shorten, HttpConfig, Transport};
use super::{
    derive_idempotency_key, stops_push, Channel, ChannelKind, Failure, HttpCall, ItemResult, Outcome, Pacer, Push,
    PushReport, Secret,
};
use crate::error::{Error, Result};

/// The Admin API version this adapter is written for.
pub const API_VERSION: &str = "2026-01";

/// Shopify's limit on every GraphQL input array (`quantities` included).
pub const MAX_QUANTITIES: usize = 250;

/// SKUs per lookup query (`sku:"A" OR sku:"B" …`), and variants per page.
const SKUS_PER_LOOKUP: usize = 25;
const VARIANTS_PER_PAGE: usize = 50;

/// Pages followed for one lookup query before giving up (a very fuzzy match).
const MAX_LOOKUP_PAGES: usize = 20;

const LOOKUP_QUERY: &str = "query VariantsBySku($query: String!, $first: Int!, $after: String) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes { sku inventoryItem { id inventoryLevels(first: 10) { nodes { location { id } quantities(names: [\"available\"]) { name quantity } } } } }
    pageInfo { hasNextPage endCursor }
  }
}";

/// How to reach one Shopify store.
#[derive(Debug, Clone)]
pub struct ShopifyConfig {
    /// `https://<shop>.myshopify.com` (tests: a loopback fake), without trailing slash.
    pub base_url: String,
    /// The Admin API access token.
    pub access_token: Secret,
    /// The Admin API version in the URL; `2026-01` or later.
    pub api_version: String,
    /// The Shopify `Location` GID to set quantities at; `None` means the item's only location.
    pub location_id: Option<String>,
    /// Prefix of each batch's `referenceDocumentUri` (the batch's idempotency key is appended).
    pub reference_prefix: String,
    /// Timeouts.
    pub http: HttpConfig,
}

impl ShopifyConfig {
    /// A configuration with the pinned version, no fixed location and default timeouts.
    pub fn new(base_url: impl Into<String>, access_token: Secret) -> Self {
        ShopifyConfig {
            base_url: base_url.into(),
            access_token,
            api_version: API_VERSION.to_string(),
            location_id: None,
            reference_prefix: "gid://inventory-sync/StockSync".to_string(),
            http: HttpConfig::default(),
        }
    }
}

/// Shopify's leaky-bucket state, as reported in `extensions.cost.throttleStatus`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleStatus {
    /// Bucket size in cost points.
    pub maximum_available: f64,
    /// Points available now.
    pub currently_available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
}

impl ThrottleStatus {
    /// Whole seconds until `cost` points are available (0 if they are now).
    pub fn wait_for(&self, cost: f64) -> u64 {
        let missing = cost - self.currently_available;
        if missing <= 0.0 {
            return 0;
        }
        if self.restore_rate <= 0.0 {
            return 60;
        }
        // Bounded: a cost is at most a few thousand points.
        (missing / self.restore_rate).ceil().clamp(1.0, 3600.0) as u64
    }
}

/// Where a SKU's stock lives in Shopify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopifyItem {
    /// `gid://shopify/InventoryItem/…`.
    pub inventory_item_id: String,
    /// `gid://shopify/Location/…`.
    pub location_id: String,
}

impl ShopifyItem {
    /// The remote id stored in listings: `"<inventory item gid>|<location gid>"`.
    pub fn remote_id(&self) -> String {
        format!("{}|{}", self.inventory_item_id, self.location_id)
    }

    /// Reads a remote id made by [`ShopifyItem::remote_id`].
    pub fn parse(remote_id: &str) -> Option<Self> {
        let (item, location) = remote_id.split_once('|')?;
        (item.starts_with("gid://") && location.starts_with("gid://")).then(|| ShopifyItem {
            inventory_item_id: item.to_string(),
            location_id: location.to_string(),
        })
    }
}

/// One inventory level found by a lookup.
#[derive(Debug, Clone)]
struct Level {
    location_id: String,
    available: Option<i64>,
}

/// One exact SKU match found by a lookup.
#[derive(Debug, Clone)]
struct Variant {
    inventory_item_id: String,
    levels: Vec<Level>,
}

/// One quantity in a mutation.
#[derive(Debug, Clone)]
struct Entry {
    index: usize,
    item: ShopifyItem,
    quantity: i64,
    change_from: Option<i64>,
    key: String,
    observed_before: Option<i64>,
}

/// What a mutation said about one entry.
enum Verdict {
    Applied(Option<i64>),
    Failed(Failure),
    Stale(Failure),
    Relookup(Failure),
    Untouched,
}

/// The Shopify adapter.
pub struct Shopify {
    config: ShopifyConfig,
    transport: Transport,
    cache: HashMap<String, ShopifyItem>,
    throttle: Option<ThrottleStatus>,
}

impl std::fmt::Debug for Shopify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shopify")
            .field("config", &self.config)
            .field("cached_skus", &self.cache.len())
            .field("throttle", &self.throttle)
            .finish()
    }
}

impl Shopify {
    /// An adapter for one store. Refuses an API version before `2026-01` (no `changeFromQuantity`)
    /// or a base URL that is not http(s).
    pub fn new(config: ShopifyConfig) -> Result<Self> {
        if config.api_version.as_str() < API_VERSION {
            return Err(Error::validation(
                "api_version",
                format!("Shopify API version {} is older than {API_VERSION}", config.api_version),
            ));
        }
        if !(config.base_url.starts_with("https://") || config.base_url.starts_with("http://")) {
            return Err(Error::validation("base_url", "must start with https:// or http://"));
        }
        Ok(Shopify {
            transport: Transport::new(&config.http),
            config,
            cache: HashMap::new(),
            throttle: None,
        })
    }

    /// The same adapter with `pacer` asked before every HTTP request it sends (the default is
    /// [`super::Unpaced`]).
    pub fn with_pacer(mut self, pacer: Box<dyn Pacer>) -> Self {
        self.transport.set_pacer(pacer);
        self
    }

    /// The throttle state from the latest answer, so the caller can pace its pushes.
    pub fn throttle_status(&self) -> Option<ThrottleStatus> {
        self.throttle
    }

    fn endpoint(&self) -> String {
        format!(
            "{}/admin/api/{}/graphql.json",
            self.config.base_url.trim_end_matches('/'),
            self.config.api_version
        )
    }

    /// One GraphQL call; returns `data` or a classified failure.
    fn graphql(&mut self, query: &str, variables: Value) -> std::result::Result<Value, Failure> {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let url = self.endpoint();
        let token = self.config.access_token.clone();
        let reply = self.transport.send(
            "POST",
            &url,
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
                ("X-Shopify-Access-Token", token.expose()),
            ],
            Some(body.as_bytes()),
        )?;
        let parsed: Option<Value> = serde_json::from_str(&reply.body).ok();
        let requested_cost = parsed.as_ref().and_then(|v| self.read_cost(v));
        let throttled = parsed.as_ref().is_some_and(is_throttled);
        if throttled || (reply.status == 429 && reply.retry_after.is_none()) {
            let wait = match (self.throttle, requested_cost) {
                (Some(status), Some(cost)) => status.wait_for(cost).max(1),
                _ => 1,
            };
            let mut failure =
                Failure::retryable("Shopify throttled the request (query cost bucket empty)").with_code("THROTTLED");
            failure.retry_after = Some(wait);
            return Err(failure);
        }
        if let Some(failure) = classify_status(
            reply.status,
            reply.retry_after.as_deref(),
            &reply.body,
            SystemTime::now(),
        ) {
            return Err(failure);
        }
        let Some(parsed) = parsed else {
            return Err(Failure::retryable("Shopify answered with something that is not JSON").with_code("response"));
        };
        if let Some(error) = parsed["errors"].as_array().and_then(|e| e.first()) {
            let code = error["extensions"]["code"].as_str().unwrap_or("GRAPHQL_ERROR");
            let message = error["message"].as_str().unwrap_or("unknown error");
            return Err(
                Failure::permanent(format!("Shopify refused the request: {}", shorten(message))).with_code(code),
            );
        }
        Ok(parsed["data"].clone())
    }

    /// Records the throttle state; returns the requested cost.
    fn read_cost(&mut self, value: &Value) -> Option<f64> {
        let cost = &value["extensions"]["cost"];
        let status = &cost["throttleStatus"];
        if let (Some(maximum), Some(current), Some(rate)) = (
            status["maximumAvailable"].as_f64(),
            status["currentlyAvailable"].as_f64(),
            status["restoreRate"].as_f64(),
        ) {
            self.throttle = Some(ThrottleStatus {
                maximum_available: maximum,
                currently_available: current,
                restore_rate: rate,
            });
        }
        cost["requestedQueryCost"].as_f64()
    }

    /// Exact SKU matches for `skus`, with their levels.
    fn fetch(&mut self, skus: &[String]) -> std::result::Result<HashMap<String, Vec<Variant>>, Failure> {
        let mut found: HashMap<String, Vec<Variant>> = HashMap::new();
        let mut unique: Vec<&String> = skus.iter().collect();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(SKUS_PER_LOOKUP) {
            let query = chunk
                .iter()
                .map(|sku| format!("sku:\"{}\"", sku.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect::<Vec<_>>()
                .join(" OR ");
            let mut after: Option<String> = None;
            for _ in 0..MAX_LOOKUP_PAGES {
                let data = self.graphql(
                    LOOKUP_QUERY,
                    json!({ "query": query, "first": VARIANTS_PER_PAGE, "after": after }),
                )?;
                let connection = &data["productVariants"];
                for node in connection["nodes"].as_array().into_iter().flatten() {
                    let Some(sku) = node["sku"].as_str() else { continue };
                    if !chunk.iter().any(|wanted| wanted.as_str() == sku) {
                        continue; // a text match, not this SKU
                    }
                    let Some(item_id) = node["inventoryItem"]["id"].as_str() else {
                        continue;
                    };
                    let levels = node["inventoryItem"]["inventoryLevels"]["nodes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|level| {
                            Some(Level {
                                location_id: level["location"]["id"].as_str()?.to_string(),
                                available: level["quantities"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .find(|q| q["name"] == "available")
                                    .and_then(|q| q["quantity"].as_i64()),
                            })
                        })
                        .collect();
                    found.entry(sku.to_string()).or_default().push(Variant {
                        inventory_item_id: item_id.to_string(),
                        levels,
                    });
                }
                let page = &connection["pageInfo"];
                match (page["hasNextPage"].as_bool(), page["endCursor"].as_str()) {
                    (Some(true), Some(cursor)) => after = Some(cursor.to_string()),
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    /// The item and level to use for `sku` among the lookup's matches.
    fn choose(
        &self,
        sku: &str,
        variants: Option<&Vec<Variant>>,
    ) -> std::result::Result<(ShopifyItem, Option<i64>), Failure> {
        let variants = match variants.map(Vec::as_slice) {
            None | Some([]) => {
                return Err(Failure::permanent(format!("SKU {sku} was not found on Shopify")).with_code("NOT_FOUND"))
            }
            Some([one]) => one,
            Some(many) => {
                return Err(Failure::permanent(format!(
                    "SKU {sku} matches {} Shopify variants; make it unique there",
                    many.len()
                ))
                .with_code("AMBIGUOUS_SKU"))
            }
        };
        let level = match &self.config.location_id {
            Some(location) => variants.levels.iter().find(|l| &l.location_id == location),
            None if variants.levels.len() == 1 => variants.levels.first(),
            None => {
                return Err(Failure::permanent(format!(
                    "SKU {sku} is stocked at {} Shopify locations; configure which one to sync",
                    variants.levels.len()
                ))
                .with_code("LOCATION_NOT_CHOSEN"))
            }
        };
        let Some(level) = level else {
            return Err(
                Failure::permanent(format!("SKU {sku} is not stocked at the configured Shopify location"))
                    .with_code("ITEM_NOT_STOCKED_AT_LOCATION"),
            );
        };
        Ok((
            ShopifyItem {
                inventory_item_id: variants.inventory_item_id.clone(),
                location_id: level.location_id.clone(),
            },
            level.available,
        ))
    }

    /// Looks `skus` up, refreshing the cache; per SKU the item and its available quantity.
    #[allow(clippy::type_complexity)]
    fn resolve(
        &mut self,
        skus: &[String],
    ) -> std::result::Result<HashMap<String, std::result::Result<(ShopifyItem, Option<i64>), Failure>>, Failure> {
        let found = self.fetch(skus)?;
        let mut out = HashMap::new();
        for sku in skus {
            let choice = self.choose(sku, found.get(sku));
            match &choice {
                Ok((item, _)) => {
                    self.cache.insert(sku.clone(), item.clone());
                }
                Err(_) => {
                    self.cache.remove(sku);
                }
            }
            out.insert(sku.clone(), choice);
        }
        Ok(out)
    }

    /// One `inventorySetQuantities` call for `entries` (≤ 250); a verdict per entry.
    fn set(&mut self, entries: &[Entry], round: &str) -> std::result::Result<Vec<Verdict>, Failure> {
        let key = derive_idempotency_key(std::iter::once(round).chain(entries.iter().map(|e| e.key.as_str())));
        let quantities: Vec<Value> = entries
            .iter()
            .map(|e| {
                json!({
                    "inventoryItemId": e.item.inventory_item_id,
                    "locationId": e.item.location_id,
                    "quantity": e.quantity,
                    "changeFromQuantity": e.change_from,
                })
            })
            .collect();
        let input = json!({
            "name": "available",
            "reason": "correction",
            "referenceDocumentUri": format!("{}/{key}", self.config.reference_prefix),
            "quantities": quantities,
        });
        // The key is hex and dashes only, so it can stand in the document as a literal.
        let mutation = format!(
            "mutation SetAvailable($input: InventorySetQuantitiesInput!) {{
  inventorySetQuantities(input: $input) @idempotent(key: \"{key}\") {{
    inventoryAdjustmentGroup {{ reason referenceDocumentUri changes {{ name delta quantityAfterChange item {{ id }} location {{ id }} }} }}
    userErrors {{ code field message }}
  }}
}}"
        );
        let data = self.graphql(&mutation, json!({ "input": input }))?;
        let payload = &data["inventorySetQuantities"];
        let group = &payload["inventoryAdjustmentGroup"];
        let mut errors: Vec<Option<Failure>> = vec![None; entries.len()];
        let mut whole: Option<Failure> = None;
        for error in payload["userErrors"].as_array().into_iter().flatten() {
            let code = error["code"].as_str().unwrap_or("USER_ERROR");
            let message = shorten(error["message"].as_str().unwrap_or("refused"));
            let index = error["field"]
                .as_array()
                .filter(|f| f.len() >= 3 && f[1] == "quantities")
                .and_then(|f| {
                    f[2].as_str()
                        .and_then(|s| s.parse::<usize>().ok())
                        .or(f[2].as_u64().map(|n| n as usize))
                });
            let retryable = code == "IDEMPOTENCY_CONCURRENT_REQUEST";
            let failure = Failure {
                retryable,
                reason: format!("Shopify refused the quantity: {message}"),
                retry_after: None,
                code: Some(code.to_string()),
            };
            match index {
                Some(i) if i < entries.len() => errors[i] = Some(failure),
                _ => whole = Some(failure),
            }
        }
        let mut after: HashMap<(String, String), i64> = HashMap::new();
        for change in group["changes"].as_array().into_iter().flatten() {
            if change["name"] != "available" {
                continue;
            }
            if let (Some(item), Some(location), Some(quantity)) = (
                change["item"]["id"].as_str(),
                change["location"]["id"].as_str(),
                change["quantityAfterChange"].as_i64(),
            ) {
                after.insert((item.to_string(), location.to_string()), quantity);
            }
        }
        let applied = !group.is_null();
        Ok(entries
            .iter()
            .zip(errors)
            .map(|(entry, error)| match (error, &whole) {
                (Some(f), _) => match f.code.as_deref() {
                    Some("CHANGE_FROM_QUANTITY_STALE" | "COMPARE_QUANTITY_STALE") => Verdict::Stale(f),
                    Some("INVALID_INVENTORY_ITEM" | "INVALID_LOCATION" | "ITEM_NOT_STOCKED_AT_LOCATION") => {
                        Verdict::Relookup(f)
                    }
                    _ => Verdict::Failed(f),
                },
                (None, Some(f)) => Verdict::Failed(f.clone()),
                (None, None) if applied => Verdict::Applied(
                    after
                        .get(&(entry.item.inventory_item_id.clone(), entry.item.location_id.clone()))
                        .copied(),
                ),
                (None, None) => Verdict::Untouched,
            })
            .collect())
    }

    /// Sends `entries` in batches; fills `results`. In the first round, stale, invalid and
    /// untouched entries come back for one more try.
    fn send_round(
        &mut self,
        entries: Vec<Entry>,
        round: &str,
        last_round: bool,
        results: &mut [Option<Outcome>],
        stopped: &mut Option<Failure>,
        items: &[Push],
    ) -> (Vec<Entry>, Vec<Entry>, Vec<Entry>) {
        let (mut stale, mut relookup, mut again) = (Vec::new(), Vec::new(), Vec::new());
        for batch in entries.chunks(MAX_QUANTITIES) {
            if let Some(failure) = stopped.as_ref() {
                let mut failure = failure.clone();
                failure.reason = format!("not sent: {}", failure.reason.trim_start_matches("not sent: "));
                for entry in batch {
                    results[entry.index] = Some(Outcome::Failed(failure.clone()));
                }
                continue;
            }
            match self.set(batch, round) {
                Err(failure) => {
                    for entry in batch {
                        results[entry.index] = Some(Outcome::Failed(failure.clone()));
                    }
                    if stops_push(&failure) {
                        *stopped = Some(failure);
                    }
                }
                Ok(verdicts) => {
                    for (entry, verdict) in batch.iter().zip(verdicts) {
                        let outcome = match verdict {
                            Verdict::Applied(quantity_after) => Outcome::Applied {
                                remote_id: entry.item.remote_id(),
                                quantity_after,
                                observed_before: entry.observed_before,
                            },
                            Verdict::Failed(f) => Outcome::Failed(f),
                            Verdict::Stale(mut f) if last_round => {
                                f.retryable = true;
                                f.reason = format!("{} (the quantity changed again on Shopify)", f.reason);
                                Outcome::Failed(f)
                            }
                            Verdict::Relookup(f) if last_round => Outcome::Failed(f),
                            Verdict::Untouched if last_round => Outcome::Failed(
                                Failure::retryable(format!(
                                    "SKU {} was not applied because Shopify refused another item of the batch",
                                    items[entry.index].sku
                                ))
                                .with_code("NOT_APPLIED"),
                            ),
                            Verdict::Stale(f) => {
                                results[entry.index] = Some(Outcome::Failed(f));
                                stale.push(entry.clone());
                                continue;
                            }
                            Verdict::Relookup(f) => {
                                results[entry.index] = Some(Outcome::Failed(f));
                                relookup.push(entry.clone());
                                continue;
                            }
                            Verdict::Untouched => {
                                again.push(entry.clone());
                                continue;
                            }
                        };
                        results[entry.index] = Some(outcome);
                    }
                }
            }
        }
        (stale, relookup, again)
    }
}

fn is_throttled(value: &Value) -> bool {
    value["errors"].as_array().into_iter().flatten().any(|e| {
        e["extensions"]["code"] == "THROTTLED"
            || e["message"]
                .as_str()
                .is_some_and(|m| m.eq_ignore_ascii_case("throttled"))
    })
}

impl Channel for Shopify {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Shopify
    }

    fn max_batch(&self) -> usize {
        MAX_QUANTITIES
    }

    fn push(&mut self, items: &[Push]) -> Result<PushReport> {
        self.transport.take_calls();
        let mut results: Vec<Option<Outcome>> = vec![None; items.len()];
        let mut stopped: Option<Failure> = None;

        // Remote ids: given, cached, or looked up (all missing SKUs together).
        let mut entries = Vec::new();
        let mut missing: Vec<usize> = Vec::new();
        for (index, push) in items.iter().enumerate() {
            let item = push
                .remote_id
                .as_deref()
                .and_then(ShopifyItem::parse)
                .or_else(|| self.cache.get(&push.sku).cloned());
            match item {
                Some(item) => entries.push(entry(index, push, item)),
                None => missing.push(index),
            }
        }
        if !missing.is_empty() {
            let skus: Vec<String> = missing.iter().map(|&i| items[i].sku.clone()).collect();
            match self.resolve(&skus) {
                Ok(found) => {
                    for &index in &missing {
                        match found.get(&items[index].sku) {
                            Some(Ok((item, _))) => entries.push(entry(index, &items[index], item.clone())),
                            Some(Err(failure)) => results[index] = Some(Outcome::Failed(failure.clone())),
                            None => {}
                        }
                    }
                }
                Err(failure) => {
                    for &index in &missing {
                        results[index] = Some(Outcome::Failed(failure.clone()));
                    }
                    if stops_push(&failure) {
                        stopped = Some(failure);
                    }
                }
            }
            entries.sort_by_key(|e| e.index);
        }

        let (stale, relookup, again) = self.send_round(entries, "set", false, &mut results, &mut stopped, items);

        // Second and last round: re-read stale items, look invalid ones up again, resend the rest.
        let mut retry = again;
        let reread: Vec<&Entry> = stale.iter().chain(relookup.iter()).collect();
        if !reread.is_empty() && stopped.is_none() {
            let skus: Vec<String> = reread.iter().map(|e| items[e.index].sku.clone()).collect();
            match self.resolve(&skus) {
                Ok(found) => {
                    for old in reread {
                        let was_stale = stale.iter().any(|s| s.index == old.index);
                        match found.get(&items[old.index].sku) {
                            Some(Ok((item, available))) if was_stale || *item != old.item => {
                                let mut next = old.clone();
                                next.item = item.clone();
                                if was_stale {
                                    next.change_from = *available;
                                    next.observed_before = *available;
                                }
                                retry.push(next);
                            }
                            Some(Err(failure)) => results[old.index] = Some(Outcome::Failed(failure.clone())),
                            _ => {} // same item again: the first refusal stands
                        }
                    }
                }
                Err(failure) => {
                    for old in reread {
                        results[old.index] = Some(Outcome::Failed(failure.clone()));
                    }
                }
            }
        }
        if !retry.is_empty() {
            retry.sort_by_key(|e| e.index);
            self.send_round(retry, "retry", true, &mut results, &mut stopped, items);
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
        let found = self.resolve(skus).map_err(|f| f.into_error(ChannelKind::Shopify))?;
        Ok(skus
            .iter()
            .filter_map(|sku| match found.get(sku) {
                Some(Ok((item, _))) => Some((sku.clone(), item.remote_id())),
                _ => None,
            })
            .collect())
    }

    fn read(&mut self, skus: &[String]) -> Result<Vec<(String, i64)>> {
        let found = self.resolve(skus).map_err(|f| f.into_error(ChannelKind::Shopify))?;
        Ok(skus
            .iter()
            .filter_map(|sku| match found.get(sku) {
                Some(Ok((_, Some(available)))) => Some((sku.clone(), *available)),
                _ => None,
            })
            .collect())
    }

    fn take_calls(&mut self) -> Vec<HttpCall> {
        self.transport.take_calls()
    }
}

fn entry(index: usize, push: &Push, item: ShopifyItem) -> Entry {
    Entry {
        index,
        item,
        quantity: push.quantity,
        change_from: push.last_known_remote,
        key: push.idempotency_key.clone(),
        observed_before: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_ids_round_trip() {
        let item = ShopifyItem {
            inventory_item_id: "gid://shopify/InventoryItem/1".into(),
            location_id: "gid://shopify/Location/2".into(),
        };
        assert_eq!(
            item.remote_id(),
            "gid://shopify/InventoryItem/1|gid://shopify/Location/2"
        );
        assert_eq!(ShopifyItem::parse(&item.remote_id()), Some(item));
        assert_eq!(ShopifyItem::parse("123"), None);
        assert_eq!(ShopifyItem::parse("1|2"), None);
    }

    #[test]
    fn throttle_wait_is_computed_from_cost_and_restore_rate() {
        let status = ThrottleStatus {
            maximum_available: 2000.0,
            currently_available: 50.0,
            restore_rate: 100.0,
        };
        assert_eq!(status.wait_for(1000.0), 10);
        assert_eq!(status.wait_for(40.0), 0);
        assert_eq!(status.wait_for(51.0), 1);
    }

    #[test]
    fn old_api_versions_are_refused() {
        let mut config = ShopifyConfig::new("https://x.myshopify.com", Secret::new("shpat_x"));
        config.api_version = "2025-10".into();
        let error = Shopify::new(config).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("api_version: Shopify API version 2025-10 is older than 2026-01")
        );
        let config = ShopifyConfig::new("https://x.myshopify.com", Secret::new("shpat_secret"));
        let debug = format!("{:?}", Shopify::new(config).ok());
        assert!(!debug.contains("shpat_secret"), "{debug}");
    }
}
