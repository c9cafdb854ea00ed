//! Amazon through the Selling Partner API, Listings Items 2021-08-01 (`channel-apis.md` §4).
//!
//! * Auth: Login with Amazon refresh-token exchange at [`AmazonConfig::lwa_url`] (client id and
//!   secret in the form), then `x-amz-access-token: <access token>`; no SigV4 (not required since
//!   2023-10-02). The token is cached like eBay's ([`super::oauth2`]): [`Amazon::cached_token`] /
//!   [`Amazon::with_cached_token`]. SP-API answers an expired or invalid token with **403**
//!   `{"errors":[{"code":"Unauthorized",…}]}` (not 401); that answer, or a 401, gets a new token
//!   and one more try.
//! * Identity: listings are addressed by seller id + SKU, but `patchListingsItem` needs the
//!   listing's `productType`. Open in `channel-apis.md`; decided: when
//!   [`AmazonConfig::product_type`] is set it is used for every SKU whose type is not known
//!   (no look-up); otherwise the type is read with `getListingsItem`
//!   (`includedData=summaries,fulfillmentAvailability`) and cached per SKU. The remote id is
//!   `"<sku>|<productType>"` ([`AmazonListing`]). When a patch is refused with an `ERROR` issue
//!   and the type came from a cache or a stored remote id, the listing is read again once and the
//!   patch resent if its type changed.
//! * Writes: one `PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=…` per SKU
//!   ([`Channel::max_batch`] is 1), a JSON Patch `replace` of `/attributes/fulfillment_availability`
//!   with `[{fulfillment_channel_code: "DEFAULT", quantity}]` (seller-fulfilled stock; negative
//!   quantities are sent as 0). `replace` drops optional fields such as `lead_time_to_ship_max_days`
//!   set in Seller Central; the June 2025 `merge` op would keep them (not used yet).
//!   The answer's `status: ACCEPTED` means queued, not applied: [`Outcome::Accepted`]; a later
//!   read confirms it. Any issue with severity `ERROR` (or status `INVALID`) fails the item
//!   permanently with the issue's code.
//! * Reads: `getListingsItem` per SKU; the `DEFAULT` entry of `fulfillmentAvailability`.
//! * Rate limits: `patchListingsItem` allows 5 requests/s (burst 5) per seller and application,
//!   `getListingsItem` 5/s (burst 10). The adapter owns no clock for pacing: **the caller must pass
//!   a 5 requests/s [`Pacer`]** with [`Amazon::with_pacer`] (the default, [`super::Unpaced`], is
//!   for tests); it is asked before every request, token requests included. A 429 is retryable,
//!   with `Retry-After` when present (SP-API does not document one) and stops the push.
//! * No idempotency key and no compare-and-set exist (§4.7): `idempotency_key` and
//!   `last_known_remote` are not sent; absolute `replace` patches are naturally idempotent.

mod feed;

use std::collections::HashMap;

use serde_json::{json, Value};

use super::http::{classify_status, shorten, HttpConfig, Reply, Transport};
use super::oauth1::encode;
use super::oauth2::{CachedToken, Clock, RefreshCredentials, TokenRequest, Tokens};
use super::{stops_push, Channel, ChannelKind, Failure, Feeds, HttpCall, ItemResult, Outcome, Pacer, Push, PushReport};
use crate::error::{Error, Result};
pub use feed::{
    FEEDS_PER_WINDOW, FEEDS_VERSION, FEED_CONTENT_TYPE, FEED_THRESHOLD, FEED_TYPE, FEED_WINDOW_SECONDS, MAX_FEED_BYTES,
    MAX_FEED_MESSAGES,
};

/// The Listings Items API version in the path.
pub const API_VERSION: &str = "2021-08-01";

/// The Login with Amazon token endpoint.
pub const LWA_URL: &str = "https://api.amazon.com/auth/o2/token";

/// The SP-API host for North America.
pub const NA_ENDPOINT: &str = "https://sellingpartnerapi-na.amazon.com";

/// `patchListingsItem`'s default rate: requests per second (burst 5). The caller's pacer must
/// keep to it.
pub const REQUESTS_PER_SECOND: u32 = 5;

/// The fulfillment channel of seller-fulfilled (MFN) stock.
pub const FULFILLMENT_CHANNEL: &str = "DEFAULT";

/// How to reach one seller on one marketplace.
#[derive(Debug, Clone)]
pub struct AmazonConfig {
    /// The SP-API host ([`NA_ENDPOINT`]; tests: a loopback fake), without trailing slash.
    pub endpoint: String,
    /// The LWA token endpoint ([`LWA_URL`]).
    pub lwa_url: String,
    /// LWA client id and secret, and the seller's refresh token (`Atzr|…`).
    pub credentials: RefreshCredentials,
    /// The selling partner id (`sellerId` in the path).
    pub seller_id: String,
    /// The marketplace (`ATVPDKIKX0DER` for amazon.com).
    pub marketplace_id: String,
    /// The product type for SKUs whose type is not known; `None` looks each one up.
    pub product_type: Option<String>,
    /// Due jobs above which a `JSON_LISTINGS_FEED` is submitted instead of single patches
    /// ([`FEED_THRESHOLD`]); 0 never submits one.
    pub feed_threshold: usize,
    /// The clock token expiry is read from.
    pub now: Clock,
    /// Timeouts.
    pub http: HttpConfig,
}

impl AmazonConfig {
    /// A configuration for `seller_id` on `marketplace_id` at `endpoint`, with the LWA endpoint,
    /// product types looked up, the system clock and default timeouts.
    pub fn new(
        endpoint: impl Into<String>,
        seller_id: impl Into<String>,
        marketplace_id: impl Into<String>,
        credentials: RefreshCredentials,
    ) -> Self {
        AmazonConfig {
            endpoint: endpoint.into(),
            lwa_url: LWA_URL.to_string(),
            credentials,
            seller_id: seller_id.into(),
            marketplace_id: marketplace_id.into(),
            product_type: None,
            feed_threshold: FEED_THRESHOLD,
            now: Clock::system(),
            http: HttpConfig::default(),
        }
    }
}

/// A listing as the adapter addresses it: what the remote id stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmazonListing {
    /// The seller SKU.
    pub sku: String,
    /// The listing's Amazon product type (`LUGGAGE`, `SHIRT`, …).
    pub product_type: String,
}

impl AmazonListing {
    /// The remote id stored in listings: `"<sku>|<productType>"`.
    pub fn remote_id(&self) -> String {
        format!("{}|{}", self.sku, self.product_type)
    }

    /// Reads a remote id made by [`AmazonListing::remote_id`] (the SKU may contain `|`; product
    /// types are upper-case letters, digits and `_`).
    pub fn parse(remote_id: &str) -> Option<Self> {
        let (sku, product_type) = remote_id.rsplit_once('|')?;
        let valid = !sku.is_empty()
            && !product_type.is_empty()
            && product_type
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        valid.then(|| AmazonListing {
            sku: sku.to_string(),
            product_type: product_type.to_string(),
        })
    }
}

/// What `getListingsItem` told about one SKU.
#[derive(Debug, Clone)]
struct Found {
    product_type: Option<String>,
    quantity: Option<i64>,
}

/// Where a product type came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A stored remote id or the cache: may be stale.
    Remembered,
    /// The configuration or a look-up made in this push.
    Current,
}

/// The Amazon adapter.
pub struct Amazon {
    config: AmazonConfig,
    transport: Transport,
    tokens: Tokens,
    product_types: HashMap<String, String>,
}

impl std::fmt::Debug for Amazon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Amazon")
            .field("config", &self.config)
            .field("cached_skus", &self.product_types.len())
            .field("token", &self.tokens.cached())
            .finish()
    }
}

impl Amazon {
    /// An adapter for one seller and marketplace; refuses URLs that are not http(s) and empty
    /// seller or marketplace ids.
    pub fn new(config: AmazonConfig) -> Result<Self> {
        for (field, url) in [("endpoint", &config.endpoint), ("lwa_url", &config.lwa_url)] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Error::validation(field, "must start with https:// or http://"));
            }
        }
        for (field, value) in [
            ("seller_id", &config.seller_id),
            ("marketplace_id", &config.marketplace_id),
        ] {
            if value.trim().is_empty() {
                return Err(Error::validation(field, "must not be empty"));
            }
        }
        Ok(Amazon {
            transport: Transport::new(&config.http),
            config,
            tokens: Tokens::default(),
            product_types: HashMap::new(),
        })
    }

    /// The same adapter with `pacer` asked before every HTTP request it sends, token requests
    /// included. Pass one that allows [`REQUESTS_PER_SECOND`] (5/s) for this seller.
    pub fn with_pacer(mut self, pacer: Box<dyn Pacer>) -> Self {
        self.transport.set_pacer(pacer);
        self
    }

    /// The same adapter starting from an access token persisted earlier (see
    /// [`Amazon::cached_token`]); it is used while fresh.
    pub fn with_cached_token(mut self, token: CachedToken) -> Self {
        self.tokens.set(token);
        self
    }

    /// The access token currently cached, to persist across PHP requests.
    pub fn cached_token(&self) -> Option<CachedToken> {
        self.tokens.cached()
    }

    fn item_url(&self, sku: &str, included: Option<&str>) -> String {
        let mut url = format!(
            "{}/listings/{API_VERSION}/items/{}/{}?marketplaceIds={}",
            self.config.endpoint.trim_end_matches('/'),
            encode(&self.config.seller_id),
            encode(sku),
            encode(&self.config.marketplace_id)
        );
        if let Some(included) = included {
            url.push_str("&includedData=");
            url.push_str(&encode(included));
        }
        url
    }

    /// Sends one authorized request; a token refusal gets a new token and one more try.
    fn call(&mut self, method: &'static str, url: &str, body: Option<&Value>) -> std::result::Result<Reply, Failure> {
        let text = body.map(Value::to_string);
        let mut refreshed = false;
        loop {
            let request = TokenRequest {
                service: "Login with Amazon",
                url: &self.config.lwa_url,
                basic_auth: false,
                credentials: &self.config.credentials,
                scope: None,
            };
            let now = self.config.now.now();
            let token = self.tokens.access_token(&mut self.transport, now, &request)?;
            let mut headers = vec![("x-amz-access-token", token.expose()), ("Accept", "application/json")];
            if text.is_some() {
                headers.push(("Content-Type", "application/json"));
            }
            let reply = self
                .transport
                .send(method, url, &headers, text.as_deref().map(str::as_bytes))?;
            if is_token_refusal(&reply) && !refreshed {
                self.tokens.forget();
                refreshed = true;
                continue;
            }
            return Ok(reply);
        }
    }

    /// Classifies a non-2xx reply (SP-API's `errors[0].code` becomes the code for 4xx other
    /// than 401/403/429); a 2xx JSON body is returned parsed.
    fn check(&self, reply: &Reply) -> std::result::Result<Value, Failure> {
        if let Some(mut failure) = classify_status(
            reply.status,
            reply.retry_after.as_deref(),
            &reply.body,
            self.config.now.system_time(),
        ) {
            if !failure.retryable && !matches!(reply.status, 401 | 403) {
                if let Some(code) = first_error_code(&reply.body) {
                    failure.code = Some(code);
                }
            }
            return Err(failure);
        }
        serde_json::from_str(&reply.body)
            .map_err(|_| Failure::retryable("Amazon answered with something that is not JSON").with_code("response"))
    }

    /// `getListingsItem` with summaries and fulfillment availability; `None` when the listing
    /// does not exist on this marketplace.
    fn get_item(&mut self, sku: &str) -> std::result::Result<Option<Found>, Failure> {
        let url = self.item_url(sku, Some("summaries,fulfillmentAvailability"));
        let reply = self.call("GET", &url, None)?;
        if reply.status == 404 {
            self.product_types.remove(sku);
            return Ok(None);
        }
        let answer = self.check(&reply)?;
        let summaries = answer["summaries"].as_array().cloned().unwrap_or_default();
        let product_type = summaries
            .iter()
            .find(|s| s["marketplaceId"].as_str() == Some(self.config.marketplace_id.as_str()))
            .or(summaries.first())
            .and_then(|s| s["productType"].as_str())
            .map(str::to_string);
        match &product_type {
            Some(t) => self.product_types.insert(sku.to_string(), t.clone()),
            None => self.product_types.remove(sku),
        };
        let quantity = answer["fulfillmentAvailability"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["fulfillmentChannelCode"] == FULFILLMENT_CHANNEL)
            .and_then(|f| f["quantity"].as_i64());
        Ok(Some(Found { product_type, quantity }))
    }

    /// The listing for `push`, and where its product type came from.
    fn listing(&mut self, push: &Push) -> std::result::Result<(AmazonListing, Source), Failure> {
        let remembered = push
            .remote_id
            .as_deref()
            .and_then(AmazonListing::parse)
            .filter(|l| l.sku == push.sku)
            .or_else(|| {
                self.product_types.get(&push.sku).map(|t| AmazonListing {
                    sku: push.sku.clone(),
                    product_type: t.clone(),
                })
            });
        if let Some(listing) = remembered {
            return Ok((listing, Source::Remembered));
        }
        if let Some(product_type) = &self.config.product_type {
            let listing = AmazonListing {
                sku: push.sku.clone(),
                product_type: product_type.clone(),
            };
            return Ok((listing, Source::Current));
        }
        self.looked_up(&push.sku).map(|l| (l, Source::Current))
    }

    /// The listing as `getListingsItem` describes it now.
    fn looked_up(&mut self, sku: &str) -> std::result::Result<AmazonListing, Failure> {
        match self.get_item(sku)? {
            Some(Found {
                product_type: Some(product_type),
                ..
            }) => Ok(AmazonListing {
                sku: sku.to_string(),
                product_type,
            }),
            Some(_) => Err(Failure::permanent(format!(
                "Amazon's listing for SKU {sku} has no product type on this marketplace"
            ))
            .with_code("NO_PRODUCT_TYPE")),
            None => Err(
                Failure::permanent(format!("SKU {sku} has no listing on this Amazon marketplace"))
                    .with_code("NOT_FOUND"),
            ),
        }
    }

    /// One `patchListingsItem`: accepted, or a failure.
    fn patch(&mut self, listing: &AmazonListing, quantity: i64) -> std::result::Result<Outcome, Failure> {
        let body = json!({
            "productType": listing.product_type,
            "patches": [{
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{ "fulfillment_channel_code": FULFILLMENT_CHANNEL, "quantity": quantity.max(0) }],
            }],
        });
        let url = self.item_url(&listing.sku, None);
        let reply = self.call("PATCH", &url, Some(&body))?;
        if reply.status == 404 {
            self.product_types.remove(&listing.sku);
        }
        let answer = self.check(&reply)?;
        let errors: Vec<&Value> = answer["issues"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["severity"] == "ERROR")
            .collect();
        if let Some(issue) = errors.first() {
            let code = issue["code"].as_str().unwrap_or("ERROR");
            let message = shorten(issue["message"].as_str().unwrap_or("refused"));
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more issues)", n - 1),
            };
            return Ok(Outcome::Failed(
                Failure::permanent(format!("Amazon refused the quantity: {message}{more}")).with_code(code),
            ));
        }
        match answer["status"].as_str() {
            Some("ACCEPTED" | "VALID") => Ok(Outcome::Accepted {
                remote_id: listing.remote_id(),
            }),
            Some("INVALID") => Ok(Outcome::Failed(
                Failure::permanent("Amazon called the submission invalid without naming an issue").with_code("INVALID"),
            )),
            _ => Err(Failure::retryable("Amazon's answer has no submission status").with_code("response")),
        }
    }

    /// Pushes one item: look-up when needed, patch, and one more look-up and patch when a
    /// remembered product type may be stale.
    fn push_one(&mut self, push: &Push) -> std::result::Result<Outcome, Failure> {
        let (listing, source) = self.listing(push)?;
        let outcome = self.patch(&listing, push.quantity)?;
        let refused = matches!(&outcome, Outcome::Failed(f) if !f.retryable);
        if !(refused && source == Source::Remembered && self.config.product_type.is_none()) {
            return Ok(outcome);
        }
        match self.looked_up(&push.sku) {
            Ok(current) if current.product_type != listing.product_type => self.patch(&current, push.quantity),
            Ok(_) => Ok(outcome),
            Err(failure) => Err(failure),
        }
    }
}

/// Whether SP-API refused the access token: 401, or 403 with the code `Unauthorized`.
fn is_token_refusal(reply: &Reply) -> bool {
    reply.status == 401 || (reply.status == 403 && first_error_code(&reply.body).as_deref() == Some("Unauthorized"))
}

/// The first `errors[].code` of an SP-API error body.
fn first_error_code(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    Some(value["errors"].as_array()?.first()?["code"].as_str()?.to_string())
}

impl Channel for Amazon {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Amazon
    }

    fn max_batch(&self) -> usize {
        1
    }

    fn push(&mut self, items: &[Push]) -> Result<PushReport> {
        self.transport.take_calls();
        self.tokens.begin();
        let mut stopped: Option<Failure> = None;
        let mut results = Vec::with_capacity(items.len());
        for push in items {
            let outcome = match &stopped {
                Some(failure) => {
                    let mut failure = failure.clone();
                    failure.reason = format!("not sent: {}", failure.reason.trim_start_matches("not sent: "));
                    Outcome::Failed(failure)
                }
                None => match self.push_one(push) {
                    Ok(outcome) => outcome,
                    Err(failure) => {
                        if stops_push(&failure) {
                            stopped = Some(failure.clone());
                        }
                        Outcome::Failed(failure)
                    }
                },
            };
            results.push(ItemResult {
                sku: push.sku.clone(),
                outcome,
            });
        }
        Ok(PushReport {
            results,
            calls: self.transport.take_calls(),
        })
    }

    fn lookup(&mut self, skus: &[String]) -> Result<Vec<(String, String)>> {
        self.tokens.begin();
        let mut found = Vec::new();
        for sku in skus {
            match self.get_item(sku).map_err(|f| f.into_error(ChannelKind::Amazon))? {
                Some(Found {
                    product_type: Some(product_type),
                    ..
                }) => found.push((
                    sku.clone(),
                    AmazonListing {
                        sku: sku.clone(),
                        product_type,
                    }
                    .remote_id(),
                )),
                _ => continue,
            }
        }
        Ok(found)
    }

    fn read(&mut self, skus: &[String]) -> Result<Vec<(String, i64)>> {
        self.tokens.begin();
        let mut found = Vec::new();
        for sku in skus {
            if let Some(Found {
                quantity: Some(quantity),
                ..
            }) = self.get_item(sku).map_err(|f| f.into_error(ChannelKind::Amazon))?
            {
                found.push((sku.clone(), quantity));
            }
        }
        Ok(found)
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

    fn feeds(&mut self) -> Option<&mut dyn Feeds> {
        (self.config.feed_threshold > 0).then_some(self as &mut dyn Feeds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::Secret;

    #[test]
    fn remote_ids_round_trip() {
        let listing = AmazonListing {
            sku: "MY|SKU 1".into(),
            product_type: "LUGGAGE".into(),
        };
        assert_eq!(listing.remote_id(), "MY|SKU 1|LUGGAGE");
        assert_eq!(AmazonListing::parse(&listing.remote_id()), Some(listing));
        for bad in ["", "SKU", "SKU|", "|LUGGAGE", "SKU|luggage", "SKU|A-B"] {
            assert_eq!(AmazonListing::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn token_refusals_are_recognised() {
        let reply = |status, body: &str| Reply {
            status,
            retry_after: None,
            body: body.to_string(),
        };
        let unauthorized = r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":"The access token you provided has expired."}]}"#;
        assert!(is_token_refusal(&reply(403, unauthorized)));
        assert!(is_token_refusal(&reply(401, "")));
        assert!(!is_token_refusal(&reply(
            403,
            r#"{"errors":[{"code":"AccessDenied","message":"x"}]}"#
        )));
        assert!(!is_token_refusal(&reply(400, unauthorized)));
    }

    #[test]
    fn configuration_is_checked_and_debug_hides_credentials() {
        let credentials = || {
            RefreshCredentials::new(
                Secret::new("amzn1.application-oa2-client.x"),
                Secret::new("lwa-secret"),
                Secret::new("Atzr|refresh"),
            )
        };
        let config = AmazonConfig::new(NA_ENDPOINT, " ", "ATVPDKIKX0DER", credentials());
        assert_eq!(
            Amazon::new(config).err().map(|e| e.to_string()).as_deref(),
            Some("seller_id: must not be empty")
        );
        let config = AmazonConfig::new(NA_ENDPOINT, "A1SELLER", "ATVPDKIKX0DER", credentials());
        let debug = format!("{:?}", Amazon::new(config).ok());
        for secret in ["oa2-client.x", "lwa-secret", "Atzr|refresh"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}
