//! Channel adapters: push absolute stock quantities to sales channels over HTTP, look SKUs up
//! there and read quantities back for reconciliation.
//!
//! Every channel sits behind [`Channel`]. Adapters do I/O (through one [`ureq::Agent`] built by
//! [`http::agent`] from an [`http::HttpConfig`]) and nothing else: no ledger access, no clock in
//! their decisions beyond OAuth timestamps and `Retry-After` dates. Wire facts come from
//! `channel-apis.md`; choices it leaves open are documented on the adapter.
//!
//! Failures are classified in one place ([`http::classify_status`], [`http::classify_transport`]):
//! timeouts, connection errors, 429 and 5xx are retryable (with the channel's `Retry-After` when it
//! gave one); any other 4xx is permanent, with a readable reason. Credentials never appear in a
//! message, a [`Failure`], an [`HttpCall`] or `Debug` output ([`Secret`]).

pub mod amazon;
pub mod connect;
pub mod ebay;
pub mod http;
pub mod oauth1;
pub mod oauth2;
pub mod shopify;
pub mod source;
pub mod webhook;
pub mod woocommerce;

use crate::error::Result;

/// Which kind of channel an adapter talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Shopify, through the GraphQL Admin API.
    Shopify,
    /// Another WooCommerce store, through its REST API v3.
    WooCommerceRemote,
    /// eBay, through the Sell Inventory API.
    Ebay,
    /// Amazon, through the Selling Partner API (Listings Items).
    Amazon,
    /// An ERP's or distributor's endpoint taking Standard-Webhooks-signed stock events.
    Webhook,
}

impl ChannelKind {
    /// The channel kind's fixed name (`shopify`, `woocommerce_remote`, `ebay`, `amazon`,
    /// `webhook`), as in `product.md`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Shopify => "shopify",
            ChannelKind::WooCommerceRemote => "woocommerce_remote",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Ebay => "ebay",
            ChannelKind::Amazon => "amazon",
        }
    }
}

/// One absolute quantity to set on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Our SKU.
    pub sku: String,
    /// The absolute quantity the channel should show.
    pub quantity: i64,
    /// The job's idempotency key (stable across retries of the same intended change).
    pub idempotency_key: String,
    /// The channel's id for the SKU when already known (from the listing); looked up otherwise.
    /// Its format is the adapter's (see [`shopify`], [`woocommerce`], [`ebay`] and [`amazon`]).
    pub remote_id: Option<String>,
    /// The quantity the channel last showed, when known; used for compare-and-set where the
    /// channel has it (Shopify's `changeFromQuantity`).
    pub last_known_remote: Option<i64>,
}

/// Why one item (or one request) failed, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Whether trying again later may succeed (timeout, connection error, 429, 5xx, throttling).
    pub retryable: bool,
    /// What went wrong, readable by a store owner; never contains credentials.
    pub reason: String,
    /// Seconds the channel asked us to wait before trying again, when it said so (`Retry-After`,
    /// or a wait computed from Shopify's throttle state).
    pub retry_after: Option<u64>,
    /// The channel's own error code when it gave one (`CHANGE_FROM_QUANTITY_STALE`,
    /// `woocommerce_rest_product_invalid_id`, `429`, …).
    pub code: Option<String>,
}

impl Failure {
    /// A retryable failure.
    pub fn retryable(reason: impl Into<String>) -> Self {
        Failure {
            retryable: true,
            reason: reason.into(),
            retry_after: None,
            code: None,
        }
    }

    /// A permanent failure.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Failure {
            retryable: false,
            reason: reason.into(),
            retry_after: None,
            code: None,
        }
    }

    /// The same failure with the channel's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The crate error for this failure on `channel`.
    pub fn into_error(self, channel: ChannelKind) -> crate::Error {
        crate::Error::Channel {
            channel: channel.as_str().to_string(),
            message: self.reason,
            retryable: self.retryable,
        }
    }
}

/// What happened to one pushed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The channel accepted the quantity.
    Applied {
        /// The channel's id for the SKU (to store in the listing).
        remote_id: String,
        /// The quantity the channel reported after the write, when it did.
        quantity_after: Option<i64>,
        /// When a compare-and-set failed and the item was re-read and retried: the quantity the
        /// channel actually had before our write (it differed from `last_known_remote`), so the
        /// caller can account for the difference as drift or sales there.
        observed_before: Option<i64>,
    },
    /// The channel took the write for asynchronous processing and has not applied it yet
    /// (Amazon's `ACCEPTED`): delivered, but the quantity is not known to show yet. A later read
    /// (reconciliation) confirms it.
    Accepted {
        /// The channel's id for the SKU (to store in the listing).
        remote_id: String,
    },
    /// The item was not applied.
    Failed(Failure),
}

/// The result for one [`Push`], in the order the pushes were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult {
    /// The pushed SKU.
    pub sku: String,
    /// Applied or failed.
    pub outcome: Outcome,
}

impl ItemResult {
    /// Whether the item was applied.
    pub fn is_applied(&self) -> bool {
        matches!(self.outcome, Outcome::Applied { .. })
    }

    /// Whether the channel took the item: applied, or accepted for later processing.
    pub fn is_delivered(&self) -> bool {
        !matches!(self.outcome, Outcome::Failed(_))
    }

    /// The failure, when the item failed.
    pub fn failure(&self) -> Option<&Failure> {
        match &self.outcome {
            Outcome::Failed(failure) => Some(failure),
            Outcome::Applied { .. } | Outcome::Accepted { .. } => None,
        }
    }
}

/// One HTTP call an adapter made, for logs and tests. The URL is recorded without its query
/// string (OAuth parameters travel there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// `GET`, `POST`, `PUT` or `PATCH`.
    pub method: &'static str,
    /// The path of the URL, without query string.
    pub path: String,
    /// The HTTP status, or `None` when no response arrived (timeout, dropped connection).
    pub status: Option<u16>,
}

/// What a [`Channel::push`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    /// One result per pushed item, in input order.
    pub results: Vec<ItemResult>,
    /// Every HTTP call made, lookups included, in order.
    pub calls: Vec<HttpCall>,
}

impl PushReport {
    /// How many items were applied.
    pub fn applied(&self) -> usize {
        self.results.iter().filter(|r| r.is_applied()).count()
    }

    /// The result for `sku` (the first, if the SKU was pushed twice).
    pub fn result(&self, sku: &str) -> Option<&ItemResult> {
        self.results.iter().find(|r| r.sku == sku)
    }
}

/// A sales channel that takes absolute quantities.
///
/// `push` reports per item: a failure of a whole request (429, timeout, 401) becomes a failure of
/// each item it carried, so the caller has one place to look. `lookup` and `read` fail as a whole
/// with [`crate::Error::Channel`] (`is_retryable()` tells whether to try again).
pub trait Channel {
    /// The channel's kind.
    fn kind(&self) -> ChannelKind;

    /// The largest number of items one write request may carry.
    fn max_batch(&self) -> usize;

    /// Sets absolute quantities, in batches of at most [`Channel::max_batch`] items, looking up
    /// remote ids that are not given.
    fn push(&mut self, items: &[Push]) -> Result<PushReport>;

    /// Gets ready for pushes of these items soon: the queue runner passes the pushes of the jobs
    /// it has just claimed (several batches' worth). An adapter that looks remote ids up one SKU
    /// per call (eBay's `getOffers`) may look up those it lacks now, many at once, and keep them
    /// for the pushes; a failure is left for the push to meet again and report. Its calls are
    /// reported by [`Channel::take_calls`]. Nothing by default.
    fn prepare(&mut self, _items: &[Push]) {}

    /// Finds the channel's id for each SKU; SKUs the channel does not have are left out.
    fn lookup(&mut self, skus: &[String]) -> Result<Vec<(String, String)>>;

    /// Whether [`Channel::read`] can report remote quantities (a signed-webhook receiver cannot);
    /// reconciliation skips channels that cannot be read.
    fn readable(&self) -> bool {
        true
    }

    /// Reads the channel's current quantity for each SKU; SKUs the channel does not have (or
    /// does not track stock for) are left out.
    fn read(&mut self, skus: &[String]) -> Result<Vec<(String, i64)>>;

    /// The HTTP calls made by `lookup` and `read` since the last call to this method (push
    /// reports its own in [`PushReport::calls`]).
    fn take_calls(&mut self) -> Vec<HttpCall>;

    /// The OAuth access token the adapter holds (eBay, Amazon), to persist across PHP requests
    /// so each request does not ask for a new one. `None` for channels without one.
    fn access_token(&self) -> Option<oauth2::CachedToken> {
        None
    }

    /// Starts the adapter from a token persisted earlier; used while fresh. Ignored by channels
    /// without one.
    fn resume_token(&mut self, _token: oauth2::CachedToken) {}

    /// The channel's bulk submissions ([`Feeds`]), when it has them and they are switched on.
    fn feeds(&mut self) -> Option<&mut dyn Feeds> {
        None
    }
}

/// What the channel says of a submitted feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedStatus {
    /// Waiting or being processed (`IN_QUEUE`, `IN_PROGRESS`): its status word.
    Working(String),
    /// Processed; the results are in this document.
    Done {
        /// The result document to read with [`Feeds::feed_results`].
        result_document: String,
    },
    /// Processing stopped on an error: some, none or all of it may have been applied.
    Fatal,
    /// Cancelled before processing: nothing was applied.
    Cancelled,
}

impl FeedStatus {
    /// Whether the channel is done with the feed (done, fatal or cancelled).
    pub fn is_final(&self) -> bool {
        !matches!(self, FeedStatus::Working(_))
    }
}

/// A processed feed's results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedResults {
    /// Messages refused (an `ERROR` issue), by message id, with the first error.
    pub refused: std::collections::HashMap<u32, Failure>,
    /// A problem with the feed as a whole (an issue naming no message): every message is then
    /// in doubt.
    pub problem: Option<Failure>,
    /// How many messages the channel says it processed, when it says so.
    pub processed: Option<u64>,
}

/// Why a feed submission failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitFailure {
    /// What went wrong.
    pub failure: Failure,
    /// Whether the channel may have created the feed anyway (the create call got no answer).
    pub maybe_created: bool,
}

/// Bulk submissions a channel processes asynchronously (Amazon's `JSON_LISTINGS_FEED`): one
/// submission carries thousands of quantities, and its results come later, per message.
pub trait Feeds {
    /// Below this many due jobs single pushes are used (a feed can wait in the channel's queue
    /// for minutes); 0 never submits a feed.
    fn feed_threshold(&self) -> usize;

    /// Most messages one feed may carry.
    fn max_feed_messages(&self) -> usize;

    /// How many feeds may be started in how many seconds.
    fn feed_quota(&self) -> (u32, i64);

    /// Most bytes of messages one feed may carry.
    fn max_feed_bytes(&self) -> usize;

    /// `push` as one feed message under `message_id` (unique in the feed, 1–2³¹−1), or `None`
    /// when it cannot go in a feed (what the channel needs of the listing is not known).
    fn feed_message(&self, message_id: u32, push: &Push) -> Option<String>;

    /// The remote id to store for a pushed item once its message is applied.
    fn feed_remote_id(&self, push: &Push) -> Option<String>;

    /// Submits one feed of `messages`: those made by [`Feeds::feed_message`], joined by commas
    /// (one buffer, so that a feed of 25,000 messages is not held twice); returns the channel's
    /// feed id.
    fn submit_feed(&mut self, messages: String) -> std::result::Result<String, SubmitFailure>;

    /// Where the channel is with feed `feed_id`.
    fn feed_status(&mut self, feed_id: &str) -> std::result::Result<FeedStatus, Failure>;

    /// The results in a processed feed's result document.
    fn feed_results(&mut self, result_document: &str) -> std::result::Result<FeedResults, Failure>;

    /// The channel's feeds (of our type) created at or after `since` (unix seconds), with their
    /// status: to find a feed whose creation went unanswered.
    fn feeds_since(&mut self, since: i64) -> std::result::Result<Vec<(String, FeedStatus)>, Failure>;
}

/// Paces the HTTP calls made to one channel. Adapters call [`Pacer::before_call`] before every
/// request they send (lookups, reads and writes alike); it returns once the call may be made
/// (a token bucket whose state the sync layer keeps in the ledger store, so it holds across PHP
/// requests). Adapters own no clock for pacing.
pub trait Pacer: Send {
    /// Blocks until one more call may be made.
    fn before_call(&mut self);
}

/// No pacing: every call may be made at once (tests, channels without a rate limit).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unpaced;

impl Pacer for Unpaced {
    fn before_call(&mut self) {}
}

/// A credential (access token, consumer secret). Its `Debug` output is redacted, and it has no
/// `Display`, so it cannot end up in a log or an error by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A failure for every item in `items` (a request that carried them all failed).
fn fail_all<'a>(items: impl IntoIterator<Item = &'a Push>, failure: &Failure) -> Vec<ItemResult> {
    items
        .into_iter()
        .map(|p| ItemResult {
            sku: p.sku.clone(),
            outcome: Outcome::Failed(failure.clone()),
        })
        .collect()
}

/// Whether a request-level failure should stop the rest of a push: the channel is unavailable or
/// asked us to slow down (retryable), or refused our credentials (further calls would fail too).
fn stops_push(failure: &Failure) -> bool {
    failure.retryable || matches!(failure.code.as_deref(), Some("401" | "403"))
}

/// Deterministic idempotency key for a request carrying the jobs with `keys`: a UUID-shaped hex
/// string from SHA-256 over the keys (in order). Retrying the same jobs gives the same key; a
/// different set of jobs gives a different key.
pub fn derive_idempotency_key<'a>(keys: impl IntoIterator<Item = &'a str>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for key in keys {
        hasher.update((key.len() as u64).to_be_bytes());
        hasher.update(key.as_bytes());
    }
    let hex = hex::encode(&hasher.finalize()[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let secret = Secret::new("cs_topsecret");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(secret.expose(), "cs_topsecret");
    }

    #[test]
    fn idempotency_keys_are_stable_and_distinct() {
        let a = derive_idempotency_key(["job-1", "job-2"]);
        assert_eq!(a, derive_idempotency_key(["job-1", "job-2"]));
        assert_ne!(a, derive_idempotency_key(["job-1"]));
        assert_ne!(a, derive_idempotency_key(["job-1job-2"]));
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn failures_become_channel_errors() {
        let error = Failure::retryable("HTTP 503").into_error(ChannelKind::Shopify);
        assert!(error.is_retryable());
        assert_eq!(error.to_string(), "channel shopify: HTTP 503");
    }
}
