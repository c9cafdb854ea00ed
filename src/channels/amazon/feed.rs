//! Amazon's Feeds API 2021-06-30 with `JSON_LISTINGS_FEED` (`channel-apis.md` §4.5): up to
//! [`MAX_FEED_MESSAGES`] quantities in one submission, where `patchListingsItem` takes one SKU
//! per call at 5 calls/s.
//!
//! * Submit: `createFeedDocument` (`POST /feeds/2021-06-30/documents`, content type
//!   [`FEED_CONTENT_TYPE`]) → a document id and a pre-signed upload URL; `PUT` the feed there
//!   with that content type and **without** the access token (the URL carries its own
//!   authorization); `createFeed` (`POST /feeds/2021-06-30/feeds`, `feedType` [`FEED_TYPE`], the
//!   marketplace, `inputFeedDocumentId`) → **202** `{feedId}`. A `createFeed` that got no answer
//!   (timeout, dropped connection, 5xx) may have created the feed: [`SubmitFailure::maybe_created`].
//! * The feed: `{header: {sellerId, version: "2.0", issueLocale}, messages: [{messageId, sku,
//!   operationType: "PATCH", productType, patches}]}`, each patch the same `replace` of
//!   `/attributes/fulfillment_availability` as a single push. A message needs the listing's
//!   product type, so SKUs whose type is not known (no stored remote id, no cached or configured
//!   type) are not feedable: they go by `patchListingsItem`, which looks the type up.
//! * Status: `getFeed` → `processingStatus` `IN_QUEUE` / `IN_PROGRESS` (working), `DONE` (read
//!   the result document), `FATAL` ("some, none, or all" of it may have been applied) or
//!   `CANCELLED` (nothing applied).
//! * Results: `getFeedDocument` → the document's pre-signed URL and `compressionAlgorithm`
//!   (`GZIP` or absent); the report is the Listings Feed Processing Report v2:
//!   `{header, issues: [{messageId?, code, severity, message}], summary: {messagesProcessed,
//!   messagesAccepted, messagesInvalid, errors, warnings}}`. An `ERROR` issue on a message
//!   refuses that message (permanently, with its code); an `ERROR` issue without a message id
//!   puts the whole feed in doubt. "Accepted" means being applied: like a single push's
//!   `ACCEPTED`, delivered but not yet confirmed.
//! * Orphans: `getFeeds` (`feedTypes`, `marketplaceIds`, `createdSince`, pages of 100 through
//!   `nextToken`) lists the feeds created since a moment, to find one whose creation went
//!   unanswered.
//! * Quotas (per seller and application): `createFeed` 0.0083/s (burst 15), `createFeedDocument`
//!   0.5/s, `getFeed` 2/s, `getFeedDocument` 0.0222/s; every call here waits for the adapter's
//!   pacer (5/s), and the sync layer starts at most [`FEEDS_PER_WINDOW`] feeds per
//!   [`FEED_WINDOW_SECONDS`].

use std::io::Read;

use serde_json::{json, Value};

use super::{encode, Amazon, AmazonListing, FULFILLMENT_CHANNEL};
use crate::channels::http::shorten;
use crate::channels::webhook::rfc3339;
use crate::channels::{Failure, FeedResults, FeedStatus, Feeds, Push, SubmitFailure};

/// The Feeds API version in the path.
pub const FEEDS_VERSION: &str = "2021-06-30";

/// The feed type for listings updates in JSON.
pub const FEED_TYPE: &str = "JSON_LISTINGS_FEED";

/// The feed document's content type.
pub const FEED_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

/// Messages one `JSON_LISTINGS_FEED` may carry.
pub const MAX_FEED_MESSAGES: usize = 25_000;

/// Bytes of messages one feed may carry: under Amazon's 10 MiB per feed, with room for the
/// header.
pub const MAX_FEED_BYTES: usize = 9 * 1024 * 1024;

/// Due jobs above which a feed is submitted (what one 50 s run can patch at 5/s).
pub const FEED_THRESHOLD: usize = 250;

/// Feeds the sync layer starts per channel in [`FEED_WINDOW_SECONDS`] (SP-API suggests no more
/// than 5 listings feeds per 5 minutes).
pub const FEEDS_PER_WINDOW: u32 = 5;

/// See [`FEEDS_PER_WINDOW`].
pub const FEED_WINDOW_SECONDS: i64 = 300;

/// The largest result document read (a report of 25,000 refused messages is about 5 MB).
const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

/// Pages of `getFeeds` followed.
const MAX_LIST_PAGES: usize = 10;

impl Amazon {
    fn feeds_url(&self, rest: &str) -> String {
        format!(
            "{}/feeds/{FEEDS_VERSION}/{rest}",
            self.config.endpoint.trim_end_matches('/')
        )
    }

    /// The product type a feed message for `push` can use, without a look-up.
    fn known_listing(&self, push: &Push) -> Option<AmazonListing> {
        push.remote_id
            .as_deref()
            .and_then(AmazonListing::parse)
            .filter(|l| l.sku == push.sku)
            .or_else(|| {
                let product_type = self
                    .product_types
                    .get(&push.sku)
                    .or(self.config.product_type.as_ref())?;
                Some(AmazonListing {
                    sku: push.sku.clone(),
                    product_type: product_type.clone(),
                })
            })
    }

    /// A JSON answer of a Feeds API call, classified like the Listings calls.
    fn feeds_call(&mut self, method: &'static str, url: &str, body: Option<&Value>) -> Result<Value, Failure> {
        let reply = self.call(method, url, body)?;
        self.check(&reply)
    }
}

/// A `processingStatus` as a [`FeedStatus`].
fn status_of(feed: &Value) -> Result<FeedStatus, Failure> {
    match feed["processingStatus"].as_str() {
        Some(working @ ("IN_QUEUE" | "IN_PROGRESS")) => Ok(FeedStatus::Working(working.to_string())),
        Some("DONE") => match feed["resultFeedDocumentId"].as_str() {
            Some(document) if !document.is_empty() => Ok(FeedStatus::Done {
                result_document: document.to_string(),
            }),
            _ => Err(Failure::retryable("Amazon called the feed DONE without a result document").with_code("response")),
        },
        Some("FATAL") => Ok(FeedStatus::Fatal),
        Some("CANCELLED") => Ok(FeedStatus::Cancelled),
        Some(other) => Err(Failure::retryable(format!(
            "Amazon gave the feed an unknown processing status {}",
            shorten(other)
        ))
        .with_code("response")),
        None => Err(Failure::retryable("Amazon's feed answer has no processing status").with_code("response")),
    }
}

/// Reads a Listings Feed Processing Report (v2).
pub(crate) fn read_report(report: &Value) -> Result<FeedResults, Failure> {
    if !report.is_object() || !report["issues"].is_array() && !report["summary"].is_object() {
        return Err(
            Failure::retryable("Amazon's processing report is not a listings feed report").with_code("response"),
        );
    }
    let mut results = FeedResults {
        processed: report["summary"]["messagesProcessed"].as_u64(),
        ..FeedResults::default()
    };
    for issue in report["issues"].as_array().into_iter().flatten() {
        if issue["severity"] != "ERROR" {
            continue;
        }
        let code = issue["code"].as_str().unwrap_or("ERROR");
        let message = shorten(issue["message"].as_str().unwrap_or("refused"));
        match issue["messageId"].as_u64().and_then(|id| u32::try_from(id).ok()) {
            Some(id) => {
                results.refused.entry(id).or_insert_with(|| {
                    Failure::permanent(format!("Amazon refused the quantity: {message}")).with_code(code)
                });
            }
            None => {
                results.problem.get_or_insert_with(|| {
                    Failure::retryable(format!("Amazon reported a problem with the whole feed: {message}"))
                        .with_code(code)
                });
            }
        }
    }
    Ok(results)
}

impl Feeds for Amazon {
    fn feed_threshold(&self) -> usize {
        self.config.feed_threshold
    }

    fn max_feed_messages(&self) -> usize {
        MAX_FEED_MESSAGES
    }

    fn feed_quota(&self) -> (u32, i64) {
        (FEEDS_PER_WINDOW, FEED_WINDOW_SECONDS)
    }

    fn max_feed_bytes(&self) -> usize {
        MAX_FEED_BYTES
    }

    fn feed_message(&self, message_id: u32, push: &Push) -> Option<String> {
        if message_id == 0 || message_id > i32::MAX as u32 {
            return None;
        }
        let listing = self.known_listing(push)?;
        Some(
            json!({
                "messageId": message_id,
                "sku": listing.sku,
                "operationType": "PATCH",
                "productType": listing.product_type,
                "patches": [{
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{ "fulfillment_channel_code": FULFILLMENT_CHANNEL, "quantity": push.quantity.max(0) }],
                }],
            })
            .to_string(),
        )
    }

    fn feed_remote_id(&self, push: &Push) -> Option<String> {
        self.known_listing(push).map(|l| l.remote_id())
    }

    fn submit_feed(&mut self, messages: String) -> Result<String, SubmitFailure> {
        let not_created = |failure: Failure| SubmitFailure {
            failure,
            maybe_created: false,
        };
        self.tokens.begin();
        let header = json!({ "sellerId": self.config.seller_id, "version": "2.0", "issueLocale": "en_US" });
        // The messages' own buffer becomes the document: the header goes in front, in place.
        let mut body = messages;
        body.insert_str(0, &format!("{{\"header\":{header},\"messages\":["));
        body.push_str("]}");

        let url = self.feeds_url("documents");
        let document = self
            .feeds_call("POST", &url, Some(&json!({ "contentType": FEED_CONTENT_TYPE })))
            .map_err(not_created)?;
        let (Some(document_id), Some(upload_url)) = (document["feedDocumentId"].as_str(), document["url"].as_str())
        else {
            return Err(not_created(
                Failure::retryable("Amazon's feed document answer has no id or upload URL").with_code("response"),
            ));
        };
        let document_id = document_id.to_string();
        let upload = self
            .transport
            .send(
                "PUT",
                upload_url,
                &[("Content-Type", FEED_CONTENT_TYPE)],
                Some(body.as_bytes()),
            )
            .map_err(not_created)?;
        if !(200..300).contains(&upload.status) {
            let failure = crate::channels::http::classify_status(
                upload.status,
                upload.retry_after.as_deref(),
                &upload.body,
                self.config.now.system_time(),
            )
            .unwrap_or_else(|| Failure::retryable(format!("the feed upload got HTTP {}", upload.status)));
            return Err(not_created(Failure {
                reason: format!("the feed upload failed: {}", failure.reason),
                ..failure
            }));
        }

        let url = self.feeds_url("feeds");
        let request = json!({
            "feedType": FEED_TYPE,
            "marketplaceIds": [self.config.marketplace_id],
            "inputFeedDocumentId": document_id,
        });
        let reply = self
            .call("POST", &url, Some(&request))
            .map_err(|failure| SubmitFailure {
                // No answer: the feed may exist.
                maybe_created: failure.code.as_deref() != Some("401") && failure.code.as_deref() != Some("403"),
                failure,
            })?;
        let answer = self.check(&reply).map_err(|failure| SubmitFailure {
            maybe_created: reply.status >= 500,
            failure,
        })?;
        match answer["feedId"].as_str() {
            Some(id) if !id.is_empty() => Ok(id.to_string()),
            _ => Err(SubmitFailure {
                failure: Failure::retryable("Amazon's createFeed answer has no feed id").with_code("response"),
                maybe_created: true,
            }),
        }
    }

    fn feed_status(&mut self, feed_id: &str) -> Result<FeedStatus, Failure> {
        self.tokens.begin();
        let url = self.feeds_url(&format!("feeds/{}", encode(feed_id)));
        let feed = self.feeds_call("GET", &url, None)?;
        status_of(&feed)
    }

    fn feed_results(&mut self, result_document: &str) -> Result<FeedResults, Failure> {
        self.tokens.begin();
        let url = self.feeds_url(&format!("documents/{}", encode(result_document)));
        let document = self.feeds_call("GET", &url, None)?;
        let Some(download_url) = document["url"].as_str() else {
            return Err(Failure::retryable("Amazon's result document answer has no URL").with_code("response"));
        };
        let (status, bytes) = self.transport.download(download_url, MAX_REPORT_BYTES)?;
        if !(200..300).contains(&status) {
            return Err(
                Failure::retryable(format!("the processing report download got HTTP {status}"))
                    .with_code(status.to_string()),
            );
        }
        let text = match document["compressionAlgorithm"].as_str() {
            None => bytes,
            Some("GZIP") => {
                let mut inflated = Vec::new();
                flate2::read::GzDecoder::new(bytes.as_slice())
                    .take(MAX_REPORT_BYTES)
                    .read_to_end(&mut inflated)
                    .map_err(|_| {
                        Failure::retryable("Amazon's processing report is not valid gzip").with_code("response")
                    })?;
                inflated
            }
            Some(other) => {
                return Err(Failure::retryable(format!(
                    "Amazon's processing report uses an unknown compression {}",
                    shorten(other)
                ))
                .with_code("response"))
            }
        };
        let report: Value = serde_json::from_slice(&text)
            .map_err(|_| Failure::retryable("Amazon's processing report is not JSON").with_code("response"))?;
        read_report(&report)
    }

    fn feeds_since(&mut self, since: i64) -> Result<Vec<(String, FeedStatus)>, Failure> {
        self.tokens.begin();
        let mut url = self.feeds_url(&format!(
            "feeds?feedTypes={FEED_TYPE}&marketplaceIds={}&pageSize=100&createdSince={}",
            encode(&self.config.marketplace_id),
            encode(&rfc3339(u64::try_from(since).unwrap_or(0)))
        ));
        let mut found = Vec::new();
        for _ in 0..MAX_LIST_PAGES {
            let page = self.feeds_call("GET", &url, None)?;
            for feed in page["feeds"].as_array().into_iter().flatten() {
                let Some(id) = feed["feedId"].as_str() else { continue };
                // A feed whose status cannot be read counts as still working: never assumed over.
                let status = status_of(feed).unwrap_or_else(|_| FeedStatus::Working("UNKNOWN".into()));
                found.push((id.to_string(), status));
            }
            match page["nextToken"].as_str() {
                Some(token) if !token.is_empty() => {
                    url = self.feeds_url(&format!("feeds?nextToken={}", encode(token)));
                }
                _ => return Ok(found),
            }
        }
        Err(Failure::retryable("Amazon listed more feeds than this adapter follows").with_code("response"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_name_refused_messages_and_whole_feed_problems() {
        let report = json!({
            "header": { "sellerId": "A1", "version": "2.0", "feedId": "1" },
            "issues": [
                { "messageId": 2, "code": "4000003", "severity": "ERROR", "message": "wrong type" },
                { "messageId": 2, "code": "99", "severity": "ERROR", "message": "second" },
                { "messageId": 3, "code": "18", "severity": "WARNING", "message": "only a warning" }
            ],
            "summary": { "errors": 2, "warnings": 1, "messagesProcessed": 3, "messagesAccepted": 2, "messagesInvalid": 1 }
        });
        let results = read_report(&report).unwrap();
        assert_eq!(results.processed, Some(3));
        assert_eq!(results.refused.len(), 1);
        let refused = &results.refused[&2];
        assert!(!refused.retryable);
        assert_eq!(refused.code.as_deref(), Some("4000003"));
        assert!(refused.reason.contains("wrong type"), "{}", refused.reason);
        assert_eq!(results.problem, None);

        let whole = json!({ "issues": [{ "code": "FEED_FORMAT", "severity": "ERROR", "message": "bad header" }],
                            "summary": { "messagesProcessed": 0 } });
        let results = read_report(&whole).unwrap();
        assert!(results
            .problem
            .as_ref()
            .is_some_and(|p| p.retryable && p.reason.contains("bad header")));
        assert!(read_report(&json!(["not", "a", "report"])).is_err());
        assert!(read_report(&json!({ "something": "else" })).is_err());
    }

    #[test]
    fn processing_statuses() {
        assert_eq!(
            status_of(&json!({ "processingStatus": "IN_QUEUE" })).unwrap(),
            FeedStatus::Working("IN_QUEUE".into())
        );
        assert_eq!(
            status_of(&json!({ "processingStatus": "DONE", "resultFeedDocumentId": "d1" })).unwrap(),
            FeedStatus::Done {
                result_document: "d1".into()
            }
        );
        assert!(
            status_of(&json!({ "processingStatus": "DONE" })).is_err(),
            "DONE without a document"
        );
        assert_eq!(
            status_of(&json!({ "processingStatus": "FATAL" })).unwrap(),
            FeedStatus::Fatal
        );
        assert_eq!(
            status_of(&json!({ "processingStatus": "CANCELLED" })).unwrap(),
            FeedStatus::Cancelled
        );
        assert!(status_of(&json!({ "processingStatus": "LOST" })).unwrap_err().retryable);
        assert!(status_of(&json!({})).is_err());
    }
}
