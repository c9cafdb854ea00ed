//! eBay through the Sell Inventory API (`channel-apis.md` §3).
//!
//! * Auth: OAuth refresh-token grant at [`EbayConfig::token_url`] (HTTP Basic
//!   `client_id:client_secret`, `grant_type=refresh_token`, [`EbayConfig::scope`]), then
//!   `Authorization: Bearer <user access token>` ([`super::oauth2`]). The token is cached until
//!   shortly before it expires, readable with [`Ebay::cached_token`] so the caller can persist it
//!   across PHP requests and hand it back with [`Ebay::with_cached_token`]. An API call answered
//!   401 gets a new token and is sent again, once.
//! * Identity: inventory items are keyed by our SKU; the quantity buyers see is
//!   min(inventory item quantity, offer `availableQuantity`), so both are set. Offer ids come from
//!   `getOffers` (`GET /sell/inventory/v1/offer?sku=`, one SKU per call — eBay has no bulk form:
//!   `sku` is required and `bulkGetInventoryItem` returns no offers — so a push looks up its
//!   unknown SKUs [`LOOKUP_CONCURRENCY`] at a time, each call paced, and
//!   [`Channel::prepare`] does the same for the queue runner's whole claim ahead of its pushes;
//!   optionally filtered by
//!   [`EbayConfig::marketplace_id`]); only `PUBLISHED` offers are kept (`bulkUpdatePriceQuantity`
//!   works on published offers only). A SKU without a published offer is "not found". Offer ids
//!   are cached per SKU and looked up again once when eBay calls an offer unavailable. The remote
//!   id is `"<sku>|<offer id>[,<offer id>…]"` ([`EbayListing`]).
//! * Writes: `POST /sell/inventory/v1/bulk_update_price_quantity`, one request element per SKU
//!   (`sku`, `shipToLocationAvailability.quantity`, `offers[{offerId, availableQuantity}]`; price is
//!   never sent). Open in `channel-apis.md` §3.5 (the guide says 25 inventory items per call, the
//!   method page "only one SKU per call"): we send up to [`EbayConfig::max_skus_per_call`] SKUs
//!   per call (default [`MAX_REQUESTS`], 25; set it to 1 for the strict reading) and never more
//!   than [`MAX_OFFERS`] offers in total. Each SKU's result comes from the response's
//!   per-offer / per-item `statusCode`s: all 200 → applied, otherwise failed with the first error's
//!   `errorId` as code (retryable when its `statusCode` is 429 or 5xx).
//! * Quantities below zero are sent as 0 (eBay takes no negative quantity).
//! * Reads: `POST /sell/inventory/v1/bulk_get_inventory_item` (≤ 25 SKUs per call, from eBay's
//!   method reference; not in `channel-apis.md`), reporting
//!   `availability.shipToLocationAvailability.quantity`.
//! * Throttling: eBay's throttle status and `Retry-After` are unconfirmed (§3.7); a 429 is
//!   retryable through the shared classifier, with `Retry-After` when present.
//! * No idempotency key and no compare-and-set exist (§3.6): absolute quantities are naturally
//!   idempotent, so `idempotency_key` and `last_known_remote` are not sent.
//! * Pacing: every request, token requests included, waits for the injected [`Pacer`].

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use super::http::{classify_status, shorten, GetWorkers, HttpConfig, Reply, Transport};
use super::oauth2::{CachedToken, Clock, RefreshCredentials, TokenRequest, Tokens};
use super::{stops_push, Channel, ChannelKind, Failure, HttpCall, ItemResult, Outcome, Pacer, Push, PushReport};
use crate::error::{Error, Result};

/// Request elements (SKUs) per `bulkUpdatePriceQuantity` / `bulkGetInventoryItem` call.
pub const MAX_REQUESTS: usize = 25;

/// Offers per `bulkUpdatePriceQuantity` call.
pub const MAX_OFFERS: usize = 25;

/// `getOffers` calls in flight at once when a push looks up several SKUs.
pub const LOOKUP_CONCURRENCY: usize = 8;
// Each wave's connections stay open for the next.
const _: () = assert!(LOOKUP_CONCURRENCY <= super::http::KEPT_CONNECTIONS_PER_HOST);

/// The scope the Inventory API needs.
pub const INVENTORY_SCOPE: &str = "https://api.ebay.com/oauth/api_scope/sell.inventory";

/// eBay's production API host.
pub const PRODUCTION_URL: &str = "https://api.ebay.com";

/// eBay's sandbox API host.
pub const SANDBOX_URL: &str = "https://api.sandbox.ebay.com";

/// eBay's `errorId` for an offer it does not know (any more).
const OFFER_NOT_AVAILABLE: i64 = 25713;

/// eBay's `errorId` for a SKU it does not know.
const SKU_NOT_AVAILABLE: i64 = 25702;

/// How to reach one eBay seller account.
#[derive(Debug, Clone)]
pub struct EbayConfig {
    /// The API host ([`PRODUCTION_URL`], [`SANDBOX_URL`]; tests: a loopback fake), without
    /// trailing slash; `/sell/inventory/v1/…` is appended.
    pub base_url: String,
    /// The OAuth token endpoint; `<base_url>/identity/v1/oauth2/token` by default.
    pub token_url: String,
    /// Client id, client secret and the seller's refresh token.
    pub credentials: RefreshCredentials,
    /// The scopes asked for with each token, space-separated ([`INVENTORY_SCOPE`]).
    pub scope: String,
    /// When set, only offers on this marketplace (`EBAY_US`, …) are updated.
    pub marketplace_id: Option<String>,
    /// SKUs per `bulkUpdatePriceQuantity` call, 1 to [`MAX_REQUESTS`] (larger values are capped).
    pub max_skus_per_call: usize,
    /// The clock token expiry is read from.
    pub now: Clock,
    /// Timeouts.
    pub http: HttpConfig,
}

impl EbayConfig {
    /// A configuration for the API at `base_url` with the inventory scope, all marketplaces, 25
    /// SKUs per call, the system clock and default timeouts.
    pub fn new(base_url: impl Into<String>, credentials: RefreshCredentials) -> Self {
        let base_url = base_url.into();
        EbayConfig {
            token_url: format!("{}/identity/v1/oauth2/token", base_url.trim_end_matches('/')),
            base_url,
            credentials,
            scope: INVENTORY_SCOPE.to_string(),
            marketplace_id: None,
            max_skus_per_call: MAX_REQUESTS,
            now: Clock::system(),
            http: HttpConfig::default(),
        }
    }
}

/// A SKU's published offers: what the remote id stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbayListing {
    /// The SKU (eBay's inventory item key).
    pub sku: String,
    /// The ids of its published offers, in eBay's order.
    pub offer_ids: Vec<String>,
}

impl EbayListing {
    /// The remote id stored in listings: `"<sku>|<offer id>[,<offer id>…]"`.
    pub fn remote_id(&self) -> String {
        format!("{}|{}", self.sku, self.offer_ids.join(","))
    }

    /// Reads a remote id made by [`EbayListing::remote_id`] (the SKU may contain `|`; offer ids
    /// are alphanumeric, at least one).
    pub fn parse(remote_id: &str) -> Option<Self> {
        let (sku, offers) = remote_id.rsplit_once('|')?;
        let offer_ids: Vec<String> = offers.split(',').map(str::to_string).collect();
        let valid = !sku.is_empty()
            && offer_ids
                .iter()
                .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()));
        valid.then(|| EbayListing {
            sku: sku.to_string(),
            offer_ids,
        })
    }
}

/// One SKU to send.
#[derive(Debug, Clone)]
struct Entry {
    index: usize,
    listing: EbayListing,
    quantity: i64,
}

/// What eBay said about one SKU of a batch.
enum Verdict {
    Applied,
    Failed(Failure),
    /// An offer was not available: look the SKU's offers up again.
    Relookup(Failure),
}

/// The eBay adapter.
pub struct Ebay {
    config: EbayConfig,
    transport: Transport,
    tokens: Tokens,
    offers: HashMap<String, Vec<String>>,
    /// SKUs [`Channel::prepare`] found eBay has no published offer for: the next push of each
    /// reports it without asking again.
    absent: HashSet<String>,
}

impl std::fmt::Debug for Ebay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ebay")
            .field("config", &self.config)
            .field("cached_skus", &self.offers.len())
            .field("token", &self.tokens.cached())
            .finish()
    }
}

impl Ebay {
    /// An adapter for one seller account; refuses URLs that are not http(s).
    pub fn new(config: EbayConfig) -> Result<Self> {
        for (field, url) in [("base_url", &config.base_url), ("token_url", &config.token_url)] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Error::validation(field, "must start with https:// or http://"));
            }
        }
        Ok(Ebay {
            transport: Transport::new(&config.http),
            config,
            tokens: Tokens::default(),
            offers: HashMap::new(),
            absent: HashSet::new(),
        })
    }

    /// The same adapter with `pacer` asked before every HTTP request it sends, token requests
    /// included (the default is [`super::Unpaced`]).
    pub fn with_pacer(mut self, pacer: Box<dyn Pacer>) -> Self {
        self.transport.set_pacer(pacer);
        self
    }

    /// The same adapter starting from an access token persisted earlier (see
    /// [`Ebay::cached_token`]); it is used while fresh.
    pub fn with_cached_token(mut self, token: CachedToken) -> Self {
        self.tokens.set(token);
        self
    }

    /// The access token currently cached, to persist across PHP requests.
    pub fn cached_token(&self) -> Option<CachedToken> {
        self.tokens.cached()
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/sell/inventory/v1/{path}",
            self.config.base_url.trim_end_matches('/')
        )
    }

    /// Sends one authorized API request; a 401 gets a new token and one more try.
    fn call(&mut self, method: &'static str, url: &str, body: Option<&Value>) -> std::result::Result<Reply, Failure> {
        let text = body.map(Value::to_string);
        let mut refreshed = false;
        loop {
            let request = TokenRequest {
                service: "eBay",
                url: &self.config.token_url,
                basic_auth: true,
                credentials: &self.config.credentials,
                scope: Some(&self.config.scope),
            };
            let now = self.config.now.now();
            let token = self.tokens.access_token(&mut self.transport, now, &request)?;
            let bearer = format!("Bearer {}", token.expose());
            let mut headers = vec![("Authorization", bearer.as_str()), ("Accept", "application/json")];
            if text.is_some() {
                headers.push(("Content-Type", "application/json"));
            }
            let reply = self
                .transport
                .send(method, url, &headers, text.as_deref().map(str::as_bytes))?;
            if reply.status == 401 && !refreshed {
                self.tokens.forget();
                refreshed = true;
                continue;
            }
            return Ok(reply);
        }
    }

    /// Classifies a non-2xx reply (the code is the HTTP status; eBay's message is quoted); a 2xx
    /// JSON body is returned parsed.
    fn check(&self, reply: &Reply) -> std::result::Result<Value, Failure> {
        if let Some(failure) = classify_status(
            reply.status,
            reply.retry_after.as_deref(),
            &reply.body,
            self.config.now.system_time(),
        ) {
            return Err(failure);
        }
        serde_json::from_str(&reply.body)
            .map_err(|_| Failure::retryable("eBay answered with something that is not JSON").with_code("response"))
    }

    fn offers_url(&self, sku: &str) -> String {
        let mut url = format!("{}?sku={}", self.url("offer"), super::oauth1::encode(sku));
        if let Some(marketplace) = &self.config.marketplace_id {
            url.push_str(&format!("&marketplace_id={}", super::oauth1::encode(marketplace)));
        }
        url
    }

    /// The offers of a push's SKU without asking eBay: from its remote id (when it is this SKU's)
    /// or the cache.
    fn known_listing(&self, push: &Push) -> Option<EbayListing> {
        push.remote_id
            .as_deref()
            .and_then(EbayListing::parse)
            .filter(|l| l.sku == push.sku)
            .or_else(|| {
                self.offers.get(&push.sku).map(|ids| EbayListing {
                    sku: push.sku.clone(),
                    offer_ids: ids.clone(),
                })
            })
    }

    /// The published offers of `sku`: `None` when eBay has no such SKU or no published offer.
    fn get_offers(&mut self, sku: &str) -> std::result::Result<Option<EbayListing>, Failure> {
        let url = self.offers_url(sku);
        let reply = self.call("GET", &url, None)?;
        self.offers_from(sku, &reply)
    }

    /// The offers of each SKU in `skus` (no repeats), looked up [`LOOKUP_CONCURRENCY`] at a time
    /// (eBay's `getOffers` takes one SKU per call): one result per SKU, in order. After a wave
    /// with a failure that stops the push, the rest are not looked up (and left out). A 401 gets
    /// a new token and that SKU one more sequential try.
    fn get_offers_all(&mut self, skus: &[&str]) -> Vec<(String, std::result::Result<Option<EbayListing>, Failure>)> {
        let mut found = Vec::with_capacity(skus.len());
        if skus.len() < 2 {
            for sku in skus {
                found.push((sku.to_string(), self.get_offers(sku)));
            }
            return found;
        }
        // The same threads make every wave's calls.
        let agent = self.transport.agent().clone();
        std::thread::scope(|scope| {
            let workers = GetWorkers::start(scope, &agent, LOOKUP_CONCURRENCY.min(skus.len()));
            for wave in skus.chunks(LOOKUP_CONCURRENCY) {
                let request = TokenRequest {
                    service: "eBay",
                    url: &self.config.token_url,
                    basic_auth: true,
                    credentials: &self.config.credentials,
                    scope: Some(&self.config.scope),
                };
                let now = self.config.now.now();
                let bearer = match self.tokens.access_token(&mut self.transport, now, &request) {
                    Ok(token) => format!("Bearer {}", token.expose()),
                    Err(failure) => {
                        found.extend(wave.iter().map(|sku| (sku.to_string(), Err(failure.clone()))));
                        break;
                    }
                };
                let urls: Vec<String> = wave.iter().map(|sku| self.offers_url(sku)).collect();
                let headers = [("Authorization", bearer.as_str()), ("Accept", "application/json")];
                let replies = self.transport.get_wave(&workers, &urls, &headers);
                let mut stop = false;
                for (sku, reply) in wave.iter().zip(replies) {
                    let result = match reply {
                        Ok(reply) if reply.status == 401 => {
                            // The token was refused: a new one (once, shared by the wave's other
                            // refusals), then this SKU again.
                            if self
                                .tokens
                                .cached()
                                .is_some_and(|t| bearer.ends_with(t.access_token.expose()))
                            {
                                self.tokens.forget();
                            }
                            self.get_offers(sku)
                        }
                        Ok(reply) => self.offers_from(sku, &reply),
                        Err(failure) => Err(failure),
                    };
                    stop |= result.as_ref().err().is_some_and(stops_push);
                    found.push((sku.to_string(), result));
                }
                if stop {
                    break;
                }
            }
        });
        found
    }

    /// What a `getOffers` reply says about `sku` (the cache updated).
    fn offers_from(&mut self, sku: &str, reply: &Reply) -> std::result::Result<Option<EbayListing>, Failure> {
        let not_found = reply.status == 404
            || (reply.status == 400
                && matches!(
                    first_error_id(&reply.body),
                    Some(SKU_NOT_AVAILABLE | OFFER_NOT_AVAILABLE)
                ));
        if not_found {
            self.offers.remove(sku);
            return Ok(None);
        }
        let answer = self.check(reply)?;
        let offer_ids: Vec<String> = answer["offers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["sku"].as_str().is_none_or(|s| s == sku) && o["status"] == "PUBLISHED")
            .filter(|o| {
                self.config
                    .marketplace_id
                    .as_deref()
                    .is_none_or(|m| o["marketplaceId"].as_str().is_none_or(|id| id == m))
            })
            .filter_map(|o| o["offerId"].as_str().map(str::to_string))
            .collect();
        if offer_ids.is_empty() {
            self.offers.remove(sku);
            return Ok(None);
        }
        self.offers.insert(sku.to_string(), offer_ids.clone());
        Ok(Some(EbayListing {
            sku: sku.to_string(),
            offer_ids,
        }))
    }

    /// Looks up each SKU's offers; stops at the first failure.
    fn resolve(&mut self, skus: &[String]) -> std::result::Result<HashMap<String, EbayListing>, Failure> {
        let mut unique: Vec<&String> = skus.iter().collect();
        unique.sort();
        unique.dedup();
        let mut found = HashMap::new();
        for sku in unique {
            if let Some(listing) = self.get_offers(sku)? {
                found.insert(sku.clone(), listing);
            }
        }
        Ok(found)
    }

    /// Splits `entries` into calls of at most `max_skus_per_call` SKUs and [`MAX_OFFERS`] offers,
    /// a SKU at most once per call.
    fn batches(&self, entries: Vec<Entry>) -> Vec<Vec<Entry>> {
        let max_skus = self.config.max_skus_per_call.clamp(1, MAX_REQUESTS);
        let mut batches: Vec<Vec<Entry>> = Vec::new();
        let mut current: Vec<Entry> = Vec::new();
        let mut offers = 0;
        for entry in entries {
            let full = current.len() >= max_skus
                || offers + entry.listing.offer_ids.len() > MAX_OFFERS
                || current.iter().any(|e| e.listing.sku == entry.listing.sku);
            if full && !current.is_empty() {
                batches.push(std::mem::take(&mut current));
                offers = 0;
            }
            offers += entry.listing.offer_ids.len();
            current.push(entry);
        }
        if !current.is_empty() {
            batches.push(current);
        }
        batches
    }

    /// One `bulkUpdatePriceQuantity` call; a verdict per entry.
    fn update(&mut self, batch: &[Entry]) -> std::result::Result<Vec<Verdict>, Failure> {
        let requests: Vec<Value> = batch
            .iter()
            .map(|e| {
                let quantity = e.quantity.max(0);
                let offers: Vec<Value> = e
                    .listing
                    .offer_ids
                    .iter()
                    .map(|id| json!({ "offerId": id, "availableQuantity": quantity }))
                    .collect();
                json!({
                    "sku": e.listing.sku,
                    "shipToLocationAvailability": { "quantity": quantity },
                    "offers": offers,
                })
            })
            .collect();
        let url = self.url("bulk_update_price_quantity");
        let reply = self.call("POST", &url, Some(&json!({ "requests": requests })))?;
        let answer = self.check(&reply)?;
        let responses = answer["responses"].as_array().cloned().unwrap_or_default();
        Ok(batch
            .iter()
            .map(|entry| {
                let mine: Vec<&Value> = responses
                    .iter()
                    .filter(|r| r["sku"].as_str() == Some(entry.listing.sku.as_str()))
                    .collect();
                if mine.is_empty() {
                    return Verdict::Failed(
                        Failure::retryable(format!("eBay's answer did not mention SKU {}", entry.listing.sku))
                            .with_code("response"),
                    );
                }
                match mine.iter().find(|r| r["statusCode"].as_u64() != Some(200)) {
                    None => Verdict::Applied,
                    Some(refused) => item_verdict(refused),
                }
            })
            .collect())
    }

    /// Sends `entries`; fills `results`. Returns the entries with an unavailable offer (for
    /// one more look-up), when `relookup` is allowed.
    fn send_round(
        &mut self,
        entries: Vec<Entry>,
        relookup: bool,
        results: &mut [Option<Outcome>],
        stopped: &mut Option<Failure>,
    ) -> Vec<Entry> {
        let mut again = Vec::new();
        for batch in self.batches(entries) {
            if let Some(failure) = stopped.as_ref() {
                let failure = not_sent(failure);
                for entry in &batch {
                    results[entry.index] = Some(Outcome::Failed(failure.clone()));
                }
                continue;
            }
            match self.update(&batch) {
                Err(failure) => {
                    for entry in &batch {
                        results[entry.index] = Some(Outcome::Failed(failure.clone()));
                    }
                    if stops_push(&failure) {
                        *stopped = Some(failure);
                    }
                }
                Ok(verdicts) => {
                    for (entry, verdict) in batch.into_iter().zip(verdicts) {
                        results[entry.index] = Some(match verdict {
                            Verdict::Applied => Outcome::Applied {
                                remote_id: entry.listing.remote_id(),
                                quantity_after: None,
                                observed_before: None,
                            },
                            Verdict::Failed(f) => Outcome::Failed(f),
                            Verdict::Relookup(f) => {
                                if relookup {
                                    again.push(entry.clone());
                                }
                                Outcome::Failed(f)
                            }
                        });
                    }
                }
            }
        }
        again
    }
}

/// The first `errorId` of an eBay error body.
fn first_error_id(body: &str) -> Option<i64> {
    let value: Value = serde_json::from_str(body).ok()?;
    value["errors"].as_array()?.first()?["errorId"].as_i64()
}

/// The verdict for a response element whose `statusCode` is not 200.
fn item_verdict(response: &Value) -> Verdict {
    let status = response["statusCode"].as_u64().unwrap_or(0);
    let error = response["errors"].as_array().and_then(|e| e.first());
    let error_id = error.and_then(|e| e["errorId"].as_i64());
    let message = error
        .and_then(|e| e["message"].as_str().or(e["longMessage"].as_str()))
        .map_or_else(|| "no reason given".to_string(), shorten);
    let target = match response["offerId"].as_str() {
        Some(offer) => format!("offer {offer}"),
        None => "the inventory item".to_string(),
    };
    let reason = format!("eBay refused the quantity for {target} ({status}): {message}");
    let retryable = status == 429 || status >= 500;
    let failure = Failure {
        retryable,
        reason,
        retry_after: None,
        code: Some(error_id.map_or_else(|| status.to_string(), |id| id.to_string())),
    };
    if error_id == Some(OFFER_NOT_AVAILABLE) || (status == 404 && response["offerId"].is_string()) {
        Verdict::Relookup(failure)
    } else {
        Verdict::Failed(failure)
    }
}

/// A request-level failure repeated for items that were not sent because of it.
fn not_sent(failure: &Failure) -> Failure {
    let mut failure = failure.clone();
    failure.reason = format!("not sent: {}", failure.reason.trim_start_matches("not sent: "));
    failure
}

fn not_found(sku: &str) -> Failure {
    Failure::permanent(format!("SKU {sku} has no published offer on eBay")).with_code("NOT_FOUND")
}

impl Channel for Ebay {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Ebay
    }

    fn max_batch(&self) -> usize {
        self.config.max_skus_per_call.clamp(1, MAX_REQUESTS)
    }

    fn push(&mut self, items: &[Push]) -> Result<PushReport> {
        self.transport.take_calls();
        self.tokens.begin();
        let mut results: Vec<Option<Outcome>> = vec![None; items.len()];
        let mut stopped: Option<Failure> = None;

        // Offer ids: given (for this SKU), cached, or looked up (several at once, then read in
        // item order as if they had been looked up one at a time).
        let known: Vec<Option<EbayListing>> = items.iter().map(|push| self.known_listing(push)).collect();
        let mut missing: Vec<&str> = Vec::new();
        let mut looked_up: HashMap<String, std::result::Result<Option<EbayListing>, Failure>> = HashMap::new();
        for (push, known) in items.iter().zip(&known) {
            if known.is_some() || looked_up.contains_key(&push.sku) || missing.contains(&push.sku.as_str()) {
                continue;
            }
            if self.absent.remove(&push.sku) {
                looked_up.insert(push.sku.clone(), Ok(None));
            } else {
                missing.push(&push.sku);
            }
        }
        looked_up.extend(self.get_offers_all(&missing));
        let mut entries = Vec::new();
        for (index, (push, known)) in items.iter().zip(known).enumerate() {
            let listing = match known {
                Some(listing) => listing,
                None if stopped.is_some() => {
                    results[index] = stopped.as_ref().map(|f| Outcome::Failed(not_sent(f)));
                    continue;
                }
                None => match looked_up.remove(&push.sku).unwrap_or_else(|| {
                    // A SKU repeated in the push: found by the first look-up, or looked up again.
                    match self.offers.get(&push.sku) {
                        Some(ids) => Ok(Some(EbayListing {
                            sku: push.sku.clone(),
                            offer_ids: ids.clone(),
                        })),
                        None => self.get_offers(&push.sku),
                    }
                }) {
                    Ok(Some(listing)) => listing,
                    Ok(None) => {
                        results[index] = Some(Outcome::Failed(not_found(&push.sku)));
                        continue;
                    }
                    Err(failure) => {
                        results[index] = Some(Outcome::Failed(failure.clone()));
                        if stops_push(&failure) {
                            stopped = Some(failure);
                        }
                        continue;
                    }
                },
            };
            if listing.offer_ids.len() > MAX_OFFERS {
                results[index] = Some(Outcome::Failed(
                    Failure::permanent(format!(
                        "SKU {} has {} published offers; eBay updates at most {MAX_OFFERS} per call",
                        push.sku,
                        listing.offer_ids.len()
                    ))
                    .with_code("TOO_MANY_OFFERS"),
                ));
                continue;
            }
            entries.push(Entry {
                index,
                listing,
                quantity: push.quantity,
            });
        }

        let again = self.send_round(entries, true, &mut results, &mut stopped);

        // An unavailable offer: look the SKU up again once and resend if its offers changed.
        let mut retry = Vec::new();
        for old in again {
            if stopped.is_some() {
                break;
            }
            match self.get_offers(&old.listing.sku) {
                Ok(Some(listing)) if listing != old.listing => retry.push(Entry { listing, ..old }),
                Ok(Some(_)) => {} // the same offers: the refusal stands
                Ok(None) => results[old.index] = Some(Outcome::Failed(not_found(&old.listing.sku))),
                Err(failure) => {
                    results[old.index] = Some(Outcome::Failed(failure.clone()));
                    if stops_push(&failure) {
                        stopped = Some(failure);
                    }
                }
            }
        }
        if !retry.is_empty() {
            self.send_round(retry, false, &mut results, &mut stopped);
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

    /// Looks up the offers of the SKUs with no known remote id that are not cached yet,
    /// [`LOOKUP_CONCURRENCY`] at a time, for the pushes to come (a push on its own looks up at
    /// most one batch). What is found is cached; a SKU without published offers is remembered
    /// for its next push; after a failure the rest are left for their pushes.
    fn prepare(&mut self, items: &[Push]) {
        self.tokens.begin();
        let mut seen = HashSet::new();
        let missing: Vec<&str> = items
            .iter()
            .filter(|push| self.known_listing(push).is_none() && !self.absent.contains(&push.sku))
            .map(|push| push.sku.as_str())
            .filter(|sku| seen.insert(*sku))
            .collect();
        for (sku, found) in self.get_offers_all(&missing) {
            // Found offers are cached by the look-up itself.
            if let Ok(None) = found {
                self.absent.insert(sku);
            }
        }
    }

    fn lookup(&mut self, skus: &[String]) -> Result<Vec<(String, String)>> {
        self.tokens.begin();
        let found = self.resolve(skus).map_err(|f| f.into_error(ChannelKind::Ebay))?;
        Ok(skus
            .iter()
            .filter_map(|sku| Some((sku.clone(), found.get(sku)?.remote_id())))
            .collect())
    }

    fn read(&mut self, skus: &[String]) -> Result<Vec<(String, i64)>> {
        self.tokens.begin();
        let mut unique: Vec<&String> = skus.iter().collect();
        unique.sort();
        unique.dedup();
        let mut found: HashMap<String, i64> = HashMap::new();
        let url = self.url("bulk_get_inventory_item");
        for chunk in unique.chunks(MAX_REQUESTS) {
            let requests: Vec<Value> = chunk.iter().map(|sku| json!({ "sku": sku })).collect();
            let answer = self
                .call("POST", &url, Some(&json!({ "requests": requests })))
                .and_then(|reply| self.check(&reply))
                .map_err(|f| f.into_error(ChannelKind::Ebay))?;
            for response in answer["responses"].as_array().into_iter().flatten() {
                if response["statusCode"].as_u64() != Some(200) {
                    continue;
                }
                let item = &response["inventoryItem"];
                let sku = response["sku"].as_str().or(item["sku"].as_str());
                let quantity = item["availability"]["shipToLocationAvailability"]["quantity"].as_i64();
                if let (Some(sku), Some(quantity)) = (sku, quantity) {
                    if chunk.iter().any(|wanted| wanted.as_str() == sku) {
                        found.insert(sku.to_string(), quantity);
                    }
                }
            }
        }
        Ok(skus
            .iter()
            .filter_map(|sku| Some((sku.clone(), *found.get(sku)?)))
            .collect())
    }

    fn take_calls(&mut self) -> Vec<HttpCall> {
        self.transport.take_calls()
    }

    fn access_token(&self) -> Option<CachedToken> {
        self.cached_token()
    }

    fn resume_token(&mut self, token: CachedToken) {
        self.tokens.set(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::Secret;

    #[test]
    fn remote_ids_round_trip() {
        let listing = EbayListing {
            sku: "A|B-1".into(),
            offer_ids: vec!["1234".into(), "5678".into()],
        };
        assert_eq!(listing.remote_id(), "A|B-1|1234,5678");
        assert_eq!(EbayListing::parse(&listing.remote_id()), Some(listing));
        for bad in ["", "A", "A|", "|1", "A|1,", "A|1,2 3"] {
            assert_eq!(EbayListing::parse(bad), None, "{bad}");
        }
    }

    fn entry(index: usize, sku: &str, offers: usize) -> Entry {
        Entry {
            index,
            listing: EbayListing {
                sku: sku.into(),
                offer_ids: (0..offers).map(|i| format!("{index}{i}")).collect(),
            },
            quantity: 1,
        }
    }

    fn adapter(max_skus: usize) -> Ebay {
        let credentials = RefreshCredentials::new(Secret::new("id"), Secret::new("secret"), Secret::new("rt"));
        let mut config = EbayConfig::new(PRODUCTION_URL, credentials);
        config.max_skus_per_call = max_skus;
        Ebay::new(config).expect("valid config")
    }

    fn sizes(ebay: &Ebay, entries: Vec<Entry>) -> Vec<usize> {
        ebay.batches(entries).iter().map(Vec::len).collect()
    }

    #[test]
    fn batches_respect_skus_offers_and_duplicates() {
        let one_offer: Vec<Entry> = (0..60).map(|i| entry(i, &format!("S{i}"), 1)).collect();
        assert_eq!(sizes(&adapter(25), one_offer.clone()), vec![25, 25, 10]);
        assert_eq!(sizes(&adapter(1), one_offer[..3].to_vec()), vec![1, 1, 1]);
        assert_eq!(sizes(&adapter(99), one_offer[..30].to_vec()), vec![25, 5]);
        let three_offers: Vec<Entry> = (0..10).map(|i| entry(i, &format!("S{i}"), 3)).collect();
        assert_eq!(sizes(&adapter(25), three_offers), vec![8, 2]);
        let no_offers: Vec<Entry> = (0..30).map(|i| entry(i, &format!("S{i}"), 0)).collect();
        assert_eq!(sizes(&adapter(25), no_offers), vec![25, 5]);
        let twice = vec![entry(0, "A", 1), entry(1, "B", 1), entry(2, "A", 1)];
        assert_eq!(sizes(&adapter(25), twice), vec![2, 1]);
    }

    #[test]
    fn item_errors_are_classified() {
        let check = |response: Value, expected: (&str, bool, bool)| {
            let (failure, relookup) = match item_verdict(&response) {
                Verdict::Failed(f) => (f, false),
                Verdict::Relookup(f) => (f, true),
                Verdict::Applied => panic!("applied"),
            };
            assert_eq!(
                (failure.code.as_deref().unwrap_or_default(), failure.retryable, relookup),
                expected,
                "{response}"
            );
        };
        check(
            json!({"statusCode": 400, "sku": "A", "offerId": "1", "errors": [{"errorId": 25713, "message": "This Offer is not available."}]}),
            ("25713", false, true),
        );
        check(
            json!({"statusCode": 500, "sku": "A", "errors": [{"errorId": 25001, "message": "A system error has occurred."}]}),
            ("25001", true, false),
        );
        check(
            json!({"statusCode": 404, "sku": "A", "offerId": "9"}),
            ("404", false, true),
        );
        check(json!({"statusCode": 400, "sku": "A"}), ("400", false, false));
    }

    #[test]
    fn debug_output_hides_credentials() {
        let credentials = RefreshCredentials::new(
            Secret::new("client-id-x"),
            Secret::new("client-secret-y"),
            Secret::new("refresh-z"),
        );
        let ebay = Ebay::new(EbayConfig::new(PRODUCTION_URL, credentials))
            .map(|e| {
                e.with_cached_token(CachedToken {
                    access_token: Secret::new("v^1.1#token"),
                    expires_at: 1,
                })
            })
            .ok();
        let debug = format!("{ebay:?}");
        for secret in ["client-id-x", "client-secret-y", "refresh-z", "v^1.1#token"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}
